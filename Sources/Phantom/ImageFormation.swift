// Image formation after the partial-volume voxels: Gaussian PSF blur (separable, in-plane and z),
// metal streaks (MetalArtifacts.swift), Gaussian white noise from a per-slice seeded generator, rounding
// and clamping to the 12-bit range, and padding outside the scan field of view.
import Dispatch

enum ImageFormation {
    /// σ = FWHM / (2·√(2·ln 2)).
    static let fwhmToSigma = 1 / 2.354_820_045_030_949

    /// Normalised, truncated (±3σ, at least ±1) Gaussian kernel in voxel units; nil when negligible.
    static func kernel(fwhm: Double, spacing: Double) -> [Float]? {
        let sigma = fwhm * fwhmToSigma / spacing
        guard sigma > 0.05 else { return nil }
        let r = max(1, Int((3 * sigma).rounded(.up)))
        var w = [Double](repeating: 0, count: 2 * r + 1)
        var sum = 0.0
        for i in -r...r {
            let v = M.exp(-0.5 * Double(i * i) / (sigma * sigma))
            w[i + r] = v
            sum += v
        }
        return w.map { Float($0 / sum) }
    }

    /// Blurs `buf` (nx·ny·nz, x fastest) in place; edges replicate the border voxel.
    static func blur(_ buf: SharedPointer<Float>, nx: Int, ny: Int, nz: Int, kx: [Float]?, ky: [Float]?, kz: [Float]?) {
        if kx != nil || ky != nil {
            DispatchQueue.concurrentPerform(iterations: nz) { k in
                let base = buf.p + nx * ny * k
                let line = UnsafeMutablePointer<Float>.allocate(capacity: max(nx, ny))
                defer { line.deallocate() }
                if let kx {
                    for j in 0..<ny {
                        let row = base + nx * j
                        for i in 0..<nx { line[i] = row[i] }
                        convolve(src: line, n: nx, stride: 1, dst: row, kernel: kx)
                    }
                }
                if let ky {
                    for i in 0..<nx {
                        for j in 0..<ny { line[j] = base[i + nx * j] }
                        convolve(src: line, n: ny, stride: nx, dst: base + i, kernel: ky)
                    }
                }
            }
        }
        if let kz, nz > 1 {
            DispatchQueue.concurrentPerform(iterations: ny) { j in
                // One x–z sheet at a time: rows are contiguous in x.
                let sheet = UnsafeMutablePointer<Float>.allocate(capacity: nx * nz)
                let line = UnsafeMutablePointer<Float>.allocate(capacity: nz)
                defer { sheet.deallocate(); line.deallocate() }
                for k in 0..<nz {
                    let row = buf.p + nx * (j + ny * k)
                    for i in 0..<nx { sheet[i + nx * k] = row[i] }
                }
                for i in 0..<nx {
                    for k in 0..<nz { line[k] = sheet[i + nx * k] }
                    convolve(src: line, n: nz, stride: nx * ny, dst: buf.p + i + nx * j, kernel: kz)
                }
            }
        }
    }

    @inline(__always)
    static func convolve(src: UnsafeMutablePointer<Float>, n: Int, stride: Int, dst: UnsafeMutablePointer<Float>, kernel: [Float]) {
        let r = kernel.count / 2
        kernel.withUnsafeBufferPointer { kp in
            for i in 0..<n {
                var acc: Float = 0
                if i >= r && i + r < n {
                    for m in 0..<kp.count { acc += kp[m] * src[i + m - r] }
                } else {
                    for m in 0..<kp.count {
                        let idx = min(n - 1, max(0, i + m - r))
                        acc += kp[m] * src[idx]
                    }
                }
                dst[i * stride] = acc
            }
        }
    }

    /// Adds noise, rounds, clamps to the 12-bit range and writes Int16; pixels whose label is the
    /// padding label get the padding value. Each slice draws from its own generator seeded by
    /// (seed, slice index), in raster order, one draw per voxel (padding included), so voxels never
    /// depend on threads or on the field of view.
    static func quantize(_ buf: SharedPointer<Float>, labels: SharedPointer<UInt8>, out: SharedPointer<Int16>,
                         nx: Int, ny: Int, nz: Int, sigma: Double, seed: UInt64, paddingLabel: UInt8,
                         paddingHU: Int16, minHU: Double, maxHU: Double) {
        DispatchQueue.concurrentPerform(iterations: nz) { k in
            var rng = Xoshiro256StarStar(seed: seed, stream: UInt64(k))
            let n = nx * ny
            let off = n * k
            for i in 0..<n {
                let g = sigma > 0 ? sigma * rng.gaussian() : 0
                if labels.p[off + i] == paddingLabel {
                    out.p[off + i] = paddingHU
                    continue
                }
                let v = (Double(buf.p[off + i]) + g).rounded()
                out.p[off + i] = Int16(clamp(v, minHU, maxHU))
            }
        }
    }
}
