// Small numeric helpers: libm wrappers (so other files need no platform import), smooth ramps,
// and the deterministic random-number generators used for image noise.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#elseif canImport(Musl)
import Musl
#endif
import Imaging

/// libm functions under one name, so that the geometry files stay free of platform imports.
enum M {
    @inline(__always) static func sin(_ x: Double) -> Double { c_sin(x) }
    @inline(__always) static func cos(_ x: Double) -> Double { c_cos(x) }
    @inline(__always) static func atan2(_ y: Double, _ x: Double) -> Double { c_atan2(y, x) }
    @inline(__always) static func acos(_ x: Double) -> Double { c_acos(Swift.min(1, Swift.max(-1, x))) }
    @inline(__always) static func exp(_ x: Double) -> Double { c_exp(x) }
    @inline(__always) static func log(_ x: Double) -> Double { c_log(x) }
    @inline(__always) static func pow(_ x: Double, _ y: Double) -> Double { c_pow(x, y) }
    static let pi = Double.pi
    @inline(__always) static func rad(_ deg: Double) -> Double { deg * Double.pi / 180 }
    @inline(__always) static func deg(_ rad: Double) -> Double { rad * 180 / Double.pi }
}

// The C functions under distinct names (avoids recursion into M.sin etc.).
@inline(__always) private func c_sin(_ x: Double) -> Double { sin(x) }
@inline(__always) private func c_cos(_ x: Double) -> Double { cos(x) }
@inline(__always) private func c_atan2(_ y: Double, _ x: Double) -> Double { atan2(y, x) }
@inline(__always) private func c_acos(_ x: Double) -> Double { acos(x) }
@inline(__always) private func c_exp(_ x: Double) -> Double { exp(x) }
@inline(__always) private func c_log(_ x: Double) -> Double { log(x) }
@inline(__always) private func c_pow(_ x: Double, _ y: Double) -> Double { pow(x, y) }

@inline(__always) func clamp(_ x: Double, _ lo: Double, _ hi: Double) -> Double { Swift.min(hi, Swift.max(lo, x)) }
@inline(__always) func mix(_ a: Double, _ b: Double, _ t: Double) -> Double { a + (b - a) * t }
/// 0 below `a`, 1 above `b`, C¹ cubic in between (a ≠ b; a > b gives a falling ramp).
@inline(__always) func smoothstep(_ a: Double, _ b: Double, _ x: Double) -> Double {
    let t = clamp((x - a) / (b - a), 0, 1)
    return t * t * (3 - 2 * t)
}

// MARK: - Deterministic random numbers

// SplitMix64 (Imaging) derives independent seeds.

/// xoshiro256** (Blackman & Vigna 2018), seeded through SplitMix64. One stream per slice, seeded from
/// (seed, slice index), so the noise never depends on thread scheduling.
struct Xoshiro256StarStar {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64
    private var spare: Double?

    init(seed: UInt64, stream: UInt64) {
        var sm = SplitMix64(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        // Discard one output so that streams k and seed-derived values do not line up trivially.
        _ = sm.next()
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
    }

    @inline(__always) private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    mutating func next() -> UInt64 {
        let result = Xoshiro256StarStar.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = Xoshiro256StarStar.rotl(s3, 45)
        return result
    }

    /// Uniform in the open interval (0, 1): 53 random bits, offset by half a step.
    mutating func uniform() -> Double { (Double(next() >> 11) + 0.5) * 0x1.0p-53 }

    /// Standard normal by the Box–Muller transform; both values of each pair are used, in order.
    mutating func gaussian() -> Double {
        if let g = spare { spare = nil; return g }
        let u1 = uniform(), u2 = uniform()
        let r = (-2 * M.log(u1)).squareRoot()
        let a = 2 * Double.pi * u2
        spare = r * M.sin(a)
        return r * M.cos(a)
    }
}
