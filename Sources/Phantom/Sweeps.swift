// Shapes swept along z for the soft-tissue envelope: piecewise-linear profiles of z, a convex axial
// cross-section with varying semi-axes (ZSweep), and a circular tube with a moving centre (ZTube).
import Imaging

/// Piecewise-linear function of z, constant beyond its ends. At most 12 points, stored as plain fields:
/// it is evaluated for most voxels near the body outline, and fields (unlike arrays or SIMD vectors) cost
/// neither reference counting nor generic dispatch in unoptimised builds.
struct Profile: Sendable {
    static let capacity = 12
    private let z0, z1, z2, z3, z4, z5, z6, z7, z8, z9, z10, z11: Double
    private let v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11: Double
    let count: Int

    /// Points beyond the 12th are ignored (all profiles here are short constant tables).
    init(z: [Double], v: [Double]) {
        let n = max(1, min(Profile.capacity, min(z.count, v.count)))
        func zz(_ i: Int) -> Double { i < n ? z[i] : z[n - 1] + Double(i - n + 1) }
        func vv(_ i: Int) -> Double { i < n ? v[i] : v[n - 1] }
        z0 = zz(0); v0 = vv(0)
        z1 = zz(1); v1 = vv(1)
        z2 = zz(2); v2 = vv(2)
        z3 = zz(3); v3 = vv(3)
        z4 = zz(4); v4 = vv(4)
        z5 = zz(5); v5 = vv(5)
        z6 = zz(6); v6 = vv(6)
        z7 = zz(7); v7 = vv(7)
        z8 = zz(8); v8 = vv(8)
        z9 = zz(9); v9 = vv(9)
        z10 = zz(10); v10 = vv(10)
        z11 = zz(11); v11 = vv(11)
        count = n
    }
    var z: [Double] { Array([z0, z1, z2, z3, z4, z5, z6, z7, z8, z9, z10, z11].prefix(count)) }
    var v: [Double] { Array([v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11].prefix(count)) }

    func at(_ x: Double) -> Double {
        if x <= z0 { return v0 }
        if count == 1 || x <= z1 { return count == 1 ? v0 : v0 + (v1 - v0) * (x - z0) / (z1 - z0) }
        if count == 2 || x <= z2 { return count == 2 ? v1 : v1 + (v2 - v1) * (x - z1) / (z2 - z1) }
        if count == 3 || x <= z3 { return count == 3 ? v2 : v2 + (v3 - v2) * (x - z2) / (z3 - z2) }
        if count == 4 || x <= z4 { return count == 4 ? v3 : v3 + (v4 - v3) * (x - z3) / (z4 - z3) }
        if count == 5 || x <= z5 { return count == 5 ? v4 : v4 + (v5 - v4) * (x - z4) / (z5 - z4) }
        if count == 6 || x <= z6 { return count == 6 ? v5 : v5 + (v6 - v5) * (x - z5) / (z6 - z5) }
        if count == 7 || x <= z7 { return count == 7 ? v6 : v6 + (v7 - v6) * (x - z6) / (z7 - z6) }
        if count == 8 || x <= z8 { return count == 8 ? v7 : v7 + (v8 - v7) * (x - z7) / (z8 - z7) }
        if count == 9 || x <= z9 { return count == 9 ? v8 : v8 + (v9 - v8) * (x - z8) / (z9 - z8) }
        if count == 10 || x <= z10 { return count == 10 ? v9 : v9 + (v10 - v9) * (x - z9) / (z10 - z9) }
        if count == 11 || x <= z11 { return count == 11 ? v10 : v10 + (v11 - v10) * (x - z10) / (z11 - z10) }
        return v11
    }
    var maxSlope: Double {
        let zz = z, vv = v
        var m = 0.0
        for i in 1..<max(1, count) { m = max(m, abs(vv[i] - vv[i - 1]) / (zz[i] - zz[i - 1])) }
        return m
    }
    func scaled(_ k: Double) -> Profile { Profile(z: z, v: v.map { $0 * k }) }
    func adding(_ o: Profile) -> Profile { Profile(z: z, v: zip(v, o.v).map { $0 + $1 }) }
}

/// A circular tube whose centre and radius vary with z (piecewise linear), between z0 and z1.
struct ZTube: Sendable {
    let cx: Profile
    let cy: Profile
    let r: Profile
    let z0: Double
    let z1: Double

    func shape() -> Shape {
        let me = self
        let slope = cx.maxSlope + cy.maxSlope + r.maxSlope
        let k = 1 / (1 + slope * slope).squareRoot()
        var lo = Vec3(1e9, 1e9, z0), hi = Vec3(-1e9, -1e9, z1)
        for z in cx.z + cy.z + r.z + [z0, z1] {
            let zz = clamp(z, z0, z1)
            let rr = r.at(zz)
            lo = Vec3(min(lo.x, cx.at(zz) - rr), min(lo.y, cy.at(zz) - rr), z0)
            hi = Vec3(max(hi.x, cx.at(zz) + rr), max(hi.y, cy.at(zz) + rr), z1)
        }
        return Shape(bounds: Box(lo: lo, hi: hi)) { p in
            let zz = clamp(p.z, me.z0, me.z1)
            let dx = p.x - me.cx.at(zz), dy = p.y - me.cy.at(zz)
            let radial = ((dx * dx + dy * dy).squareRoot() - me.r.at(zz)) * k
            return max(radial, max(me.z0 - p.z, p.z - me.z1))
        }
    }
}

/// An axial cross-section swept along z between z0 and z1: a rounded-rectangle-like convex shape with
/// half-width A, front half-depth Bant and back half-depth Bpost around (xc, yc). Its gauge is the mean of
/// the Euclidean and the 4-norm gauges of (x/A, y/B): convex, between an ellipse and a squircle
/// (≈ superellipse exponent 2.6), and cheap (square roots only).
struct ZSweep: Sendable {
    let xc: Double
    let A: Profile
    let Bant: Profile
    let Bpost: Profile
    let yc: Profile
    let z0: Double
    let z1: Double

    @inline(__always) static func gauge(_ x: Double, _ y: Double) -> Double {
        let x2 = x * x, y2 = y * y
        return 0.5 * ((x2 + y2).squareRoot() + (x2 * x2 + y2 * y2).squareRoot().squareRoot())
    }

    func shape() -> Shape {
        let me = self
        let slope = max(A.maxSlope, max(Bant.maxSlope, Bpost.maxSlope)) + yc.maxSlope
        let k = 1 / (1 + slope * slope).squareRoot()
        var maxA = 0.0, minY = 1e9, maxY = -1e9
        // Profiles are piecewise linear: extremes lie at their control points or the ends.
        for z in A.z + Bant.z + Bpost.z + yc.z + [z0, z1] {
            let zz = clamp(z, z0, z1)
            maxA = max(maxA, A.at(zz))
            minY = min(minY, yc.at(zz) - Bant.at(zz)); maxY = max(maxY, yc.at(zz) + Bpost.at(zz))
        }
        let bounds = Box(lo: Vec3(xc - maxA - 1, minY - 1, z0), hi: Vec3(xc + maxA + 1, maxY + 1, z1))
        return Shape(bounds: bounds) { p in
            let zz = clamp(p.z, me.z0, me.z1)
            let a = me.A.at(zz), c = me.yc.at(zz)
            let dy = p.y - c
            let ba = me.Bant.at(zz), bp = me.Bpost.at(zz)
            let g = ZSweep.gauge((p.x - me.xc) / a, dy / (dy < 0 ? ba : bp))
            // Both gauges have gradients of length ≤ 1/min(a, b), so ρ = min(a, b) keeps f 1-Lipschitz.
            let rho = min(a, min(ba, bp))
            let radial = (g - 1) * rho * k
            let axial = max(me.z0 - p.z, p.z - me.z1)
            return max(radial, axial)
        }
    }

    /// Area of the cross-section at z (mm²): ½∮ r(θ)² dθ with r = 1/gauge (numerical, 720 steps).
    func area(at z: Double) -> Double {
        let a = A.at(z), ba = Bant.at(z), bp = Bpost.at(z)
        let n = 720
        var sum = 0.0
        for i in 0..<n {
            let th = 2 * Double.pi * (Double(i) + 0.5) / Double(n)
            let cx = M.cos(th), cy = M.sin(th)
            let g = ZSweep.gauge(cx / a, cy / (cy < 0 ? ba : bp))
            sum += 1 / (g * g)
        }
        return 0.5 * sum * 2 * Double.pi / Double(n)
    }
}
