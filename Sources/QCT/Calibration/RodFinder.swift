// Finds the rods of a calibration phantom in a CT volume without being told where they are.
// Rods run along the table (z) through the whole scan, so over the central slices each rod pixel
// only varies by noise; the finder works on the per-pixel mean and standard deviation along z:
// a rod is a uniform, z-stable disk whose surrounding annulus (tube wall and pad) is z-stable and
// the same all round, and which differs from that annulus. Phantom rods lie in a row; among the
// candidates the finder takes the n in the best-scoring straight row. Limits: an axial series,
// rods covering the central 80 % of the slices.
public import Imaging
import Foundation

public struct FoundRod: Sendable, Equatable {
    /// Pixel centre (column, row) and world centre (LPS mm, at the middle slice).
    public var column: Double
    public var row: Double
    public var center: Vec3
    public var radius_mm: Double
    /// Mean HU and voxel SD inside the measurement disk over the slices used.
    public var meanHU: Double
    public var sdHU: Double
    public var voxels: Int
    /// |annulus − disk| / noise of the z-mean: how clearly the rod stands out.
    public var score: Double
}

public struct RodSearch: Sendable {
    public var rods: [FoundRod]
    /// Noise of one voxel (HU), estimated from the z-variation of the quietest pixels.
    public var noiseSD_HU: Double
    public var slicesUsed: Range<Int>
    public var notes: [String]
}

public enum RodFinder {
    /// Fraction of slices used, centred (the ends may lie beyond the phantom pad).
    static let sliceFraction = 0.8
    /// Radii searched when the phantom definition does not give one (mm).
    static let searchRadii: [Double] = Array(stride(from: 3.0, through: 15.0, by: 1.0))
    /// Width of the annulus outside the rod that must differ from it (mm): takes in a tube wall of
    /// ≈ 1–2 mm plus blur, and stays inside a thin pad (a 30 mm pad leaves ≈ 4 mm around an 18 mm rod).
    static let annulusWidth = 2.5

    /// Per-pixel statistics along z over the central slices.
    struct ZStats {
        var nx: Int, ny: Int
        var mean: [Double]
        var sd: [Double]
        /// False where any slice holds the padding value (outside the reconstructed field of view).
        var valid: [Bool]
        var slices: Range<Int>
    }

    static func zStats(_ v: Volume<Int16>, padding: Int16?, fraction: Double = sliceFraction) -> ZStats {
        let nx = v.size.x, ny = v.size.y, nz = v.size.z
        let used = max(1, Int((Double(nz) * fraction).rounded()))
        let k0 = (nz - used) / 2
        let slices = k0..<(k0 + used)
        var mean = [Double](repeating: 0, count: nx * ny)
        var sd = [Double](repeating: 0, count: nx * ny)
        var valid = [Bool](repeating: true, count: nx * ny)
        let pad = padding.map(Int32.init) ?? Int32.min
        mean.withUnsafeMutableBufferPointer { mb in
            sd.withUnsafeMutableBufferPointer { sb in
                valid.withUnsafeMutableBufferPointer { vb in
                    let m = SharedMutableBuffer(mb), s = SharedMutableBuffer(sb), ok = SharedMutableBuffer(vb)
                    v.voxels.withUnsafeBufferPointer { vox in
                        let voxels = UnsafeBufferPointerBox(vox)
                        Parallel.forChunks(ny, minChunk: 8) { rows in
                            var sum = [Double](repeating: 0, count: nx * rows.count)
                            var sq = [Double](repeating: 0, count: nx * rows.count)
                            var bad = [Bool](repeating: false, count: nx * rows.count)
                            for k in slices {
                                for (r, j) in rows.enumerated() {
                                    let base = nx * (j + ny * k)
                                    for i in 0..<nx {
                                        let h = Int32(voxels.buffer[base + i])
                                        if h == pad { bad[r * nx + i] = true }
                                        let d = Double(h)
                                        sum[r * nx + i] += d
                                        sq[r * nx + i] += d * d
                                    }
                                }
                            }
                            let n = Double(slices.count)
                            for (r, j) in rows.enumerated() {
                                for i in 0..<nx {
                                    let mu = sum[r * nx + i] / n
                                    m[j * nx + i] = mu
                                    s[j * nx + i] = max(0, sq[r * nx + i] / n - mu * mu).squareRoot()
                                    ok[j * nx + i] = !bad[r * nx + i]
                                }
                            }
                        }
                    }
                }
            }
        }
        return ZStats(nx: nx, ny: ny, mean: mean, sd: sd, valid: valid, slices: slices)
    }

    /// Summed-area table for box means.
    struct Integral {
        let nx: Int, ny: Int
        var t: [Double]
        init(_ a: [Double], nx: Int, ny: Int) {
            self.nx = nx; self.ny = ny
            t = [Double](repeating: 0, count: (nx + 1) * (ny + 1))
            for j in 0..<ny {
                var row = 0.0
                for i in 0..<nx {
                    row += a[j * nx + i]
                    t[(j + 1) * (nx + 1) + i + 1] = t[j * (nx + 1) + i + 1] + row
                }
            }
        }
        /// Sum over columns i0...i1, rows j0...j1 (inclusive).
        func sum(_ i0: Int, _ j0: Int, _ i1: Int, _ j1: Int) -> Double {
            t[(j1 + 1) * (nx + 1) + i1 + 1] - t[j0 * (nx + 1) + i1 + 1] - t[(j1 + 1) * (nx + 1) + i0] + t[j0 * (nx + 1) + i0]
        }
    }

    /// Candidate rods of one radius (mm), before choosing the row.
    static func candidates(_ z: ZStats, spacing: Double, radius: Double, noise: Double,
                           meanSum: Integral, meanSq: Integral, sdSum: Integral) -> [RodCandidate] {
        let nx = z.nx, ny = z.ny
        let margin = max(1.5 * spacing, 1.5)
        let inner = max(spacing, radius - margin)
        let h = max(1, Int((inner / 2.0.squareRoot() / spacing).rounded(.down)))
        let ringOuter = radius + annulusWidth
        let reach = Int((ringOuter / spacing).rounded(.up)) + 1
        guard nx > 2 * reach, ny > 2 * reach else { return [] }
        let sigmaMean = noise / Double(max(1, z.slices.count)).squareRoot()
        let zStableLimit = 1.5 * noise + 2
        let uniformLimit = max(3 * sigmaMean, 5)
        let contrastLimit = max(6 * sigmaMean, 8)
        // Annulus samples: 4 radii × 16 angles, grouped into 8 sectors.
        let radii = (0..<4).map { radius + annulusWidth * (Double($0) + 0.5) / 4 }
        let angles = (0..<16).map { Double($0) * .pi / 8 }
        func bilinear(_ a: [Double], _ x: Double, _ y: Double) -> Double {
            let i = Int(x.rounded(.down)), j = Int(y.rounded(.down))
            let fx = x - Double(i), fy = y - Double(j)
            let p = a[j * nx + i], q = a[j * nx + i + 1], r = a[(j + 1) * nx + i], s = a[(j + 1) * nx + i + 1]
            return (p * (1 - fx) + q * fx) * (1 - fy) + (r * (1 - fx) + s * fx) * fy
        }
        var out: [RodCandidate] = []
        // Coarse pixels: also try centres half a pixel off, or a rod between pixel centres looks lopsided.
        let step = spacing > 1 ? 0.5 : 1.0
        let hh = Double(h)
        var cy = Double(reach)
        while cy < Double(ny - reach - 1) {
            defer { cy += step }
            var cx = Double(reach)
            while cx < Double(nx - reach - 1) {
                defer { cx += step }
                let i0 = Int((cx - hh).rounded(.up)), i1 = Int((cx + hh).rounded(.down))
                let j0 = Int((cy - hh).rounded(.up)), j1 = Int((cy + hh).rounded(.down))
                guard z.valid[Int(cy) * nx + Int(cx)] else { continue }
                let boxN = Double((i1 - i0 + 1) * (j1 - j0 + 1))
                let sMean = sdSum.sum(i0, j0, i1, j1) / boxN
                guard sMean <= zStableLimit else { continue }
                let mu = meanSum.sum(i0, j0, i1, j1) / boxN
                let varM = meanSq.sum(i0, j0, i1, j1) / boxN - mu * mu
                guard max(0, varM).squareRoot() <= uniformLimit else { continue }
                // Each ring of the annulus on its own: a rod can match the average of its tube wall
                // and the pad (e.g. 65 HU between a 120 HU wall and 0 HU resin) but not both.
                var sectors = [[Double]](repeating: [Double](repeating: 0, count: 8), count: radii.count)
                var ringSD = 0.0
                var allValid = true
                for (a, angle) in angles.enumerated() {
                    for (q, rr) in radii.enumerated() {
                        let x = cx + rr / spacing * cos(angle), y = cy + rr / spacing * sin(angle)
                        let ii = Int(x.rounded()), jj = Int(y.rounded())
                        if !z.valid[jj * nx + ii] { allValid = false }
                        sectors[q][a / 2] += bilinear(z.mean, x, y) / 2
                        ringSD += bilinear(z.sd, x, y)
                    }
                }
                guard allValid else { continue }
                ringSD /= Double(angles.count * radii.count)
                guard ringSD <= zStableLimit else { continue }
                var contrast = 0.0
                for ring in sectors {
                    let c = ring.reduce(0, +) / 8 - mu
                    let spread = (ring.max() ?? 0) - (ring.min() ?? 0)
                    if abs(c) > abs(contrast), spread <= 0.5 * abs(c) + 4 * sigmaMean + 5 { contrast = c }
                }
                guard abs(contrast) >= contrastLimit else { continue }
                out.append(RodCandidate(c: cx, r: cy, radius: radius, score: abs(contrast) / max(sigmaMean, 0.5)))
            }
        }
        return out
    }

    /// Noise of one voxel: the 10th percentile of the z-SD over pixels that are not air or padding
    /// (the quietest tissue or pad is pure noise).
    static func noiseEstimate(_ z: ZStats) -> Double {
        var s: [Double] = []
        s.reserveCapacity(z.sd.count / 2)
        for p in 0..<z.sd.count where z.valid[p] && z.mean[p] > -900 { s.append(z.sd[p]) }
        guard !s.isEmpty else { return 10 }
        s.sort()
        return max(0.5, s[s.count / 10])
    }

    /// The z statistics of one volume and the candidates found per radius, shared by the searches
    /// for several phantom definitions.
    public final class Prepared {
        let volume: Volume<Int16>
        let z: ZStats
        let noise: Double
        let meanSum: Integral, meanSq: Integral, sdSum: Integral
        var byRadius: [Double: [RodCandidate]] = [:]

        public init(_ v: Volume<Int16>, padding: Int16?) throws(QCTError) {
            let d = v.geometry.direction
            guard abs(d.c2.z) > 0.95 else {
                throw .notMeasurable("the calibration-phantom search needs an axial series (slices across the table); this one is not axial")
            }
            let sx = v.geometry.spacing.x, sy = v.geometry.spacing.y
            guard abs(sx - sy) <= 0.02 * sx else {
                throw .notMeasurable("the calibration-phantom search needs square pixels (here \(sx) × \(sy) mm)")
            }
            guard v.size.z >= 3 else { throw .notMeasurable("a calibration phantom cannot be found in fewer than 3 slices") }
            volume = v
            z = zStats(v, padding: padding)
            noise = noiseEstimate(z)
            meanSum = Integral(z.mean, nx: z.nx, ny: z.ny)
            meanSq = Integral(z.mean.map { $0 * $0 }, nx: z.nx, ny: z.ny)
            sdSum = Integral(z.sd, nx: z.nx, ny: z.ny)
        }

        func candidates(radius: Double) -> [RodCandidate] {
            if let c = byRadius[radius] { return c }
            let c = RodFinder.candidates(z, spacing: volume.geometry.spacing.x, radius: radius, noise: noise,
                                         meanSum: meanSum, meanSq: meanSq, sdSum: sdSum)
            byRadius[radius] = c
            return c
        }
    }

    /// Finds `count` rods (of `radius` mm, or of any radius 3–15 mm when nil) lying in a row.
    public static func find(in p: Prepared, count: Int, radius: Double?) throws(QCTError) -> RodSearch {
        let v = p.volume, z = p.z, noise = p.noise
        let sx = v.geometry.spacing.x
        var cands: [RodCandidate] = []
        for r in radius.map({ [$0] }) ?? searchRadii { cands += p.candidates(radius: r) }
        // Non-maximum suppression: the best candidate within two radii wins.
        cands.sort { ($0.score, $1.r, $1.c) > ($1.score, $0.r, $0.c) }
        var kept: [RodCandidate] = []
        for c in cands where kept.count < 12 {
            let close = kept.contains { k in
                let dx = (k.c - c.c) * sx, dy = (k.r - c.r) * sx
                return (dx * dx + dy * dy).squareRoot() < 2 * max(k.radius, c.radius)
            }
            if !close { kept.append(c) }
        }
        guard kept.count >= count else {
            throw .notMeasurable(kept.isEmpty
                ? "no calibration phantom rods found: no uniform, z-constant disks that differ from their surroundings"
                : "found \(kept.count) rod-like disks, the phantom has \(count) rods: is the phantom fully in the field of view and the right one named?")
        }
        // The best-scoring subset of `count` candidates lying in a row of similar radii.
        var best: (score: Double, set: [Int])?
        for set in combinations(kept.count, count) {
            let pts = set.map { (kept[$0].c * sx, kept[$0].r * sx) }
            let radii = set.map { kept[$0].radius }
            guard (radii.max()! - radii.min()!) <= 2 else { continue }
            guard rowDeviation(pts) <= max(radii.min()!, 5) else { continue }
            let s = set.reduce(0) { $0 + kept[$1].score }
            if best == nil || s > best!.score { best = (s, set) }
        }
        guard let chosen = best else {
            throw .notMeasurable("found \(kept.count) rod-like disks but no \(count) of them in a row: the phantom may be partly outside the field of view")
        }
        let k = z.slices.lowerBound + z.slices.count / 2
        let rods = chosen.set.map { idx -> FoundRod in
            let c = kept[idx]
            // A searched radius may be 1–2 mm too large: measure well inside it.
            let rMeasure = radius ?? c.radius
            let inner = radius.map { $0 - max(1.5 * sx, 1.5) } ?? 0.7 * c.radius
            let (m, s, n) = diskStats(v, column: c.c, row: c.r, radius: max(sx, inner), slices: z.slices)
            return FoundRod(column: c.c, row: c.r, center: v.geometry.world(c.c, c.r, Double(k)),
                            radius_mm: rMeasure, meanHU: m, sdHU: s, voxels: n, score: c.score)
        }
        return RodSearch(rods: rods, noiseSD_HU: noise, slicesUsed: z.slices,
                         notes: ["rods measured in disks \(String(format: "%.1f", max(1.5 * sx, 1.5))) mm inside their edge over slices \(z.slices.lowerBound)–\(z.slices.upperBound - 1)"])
    }

    /// Largest perpendicular distance of points from their principal line (mm).
    static func rowDeviation(_ p: [(Double, Double)]) -> Double {
        let n = Double(p.count)
        let mx = p.reduce(0) { $0 + $1.0 } / n, my = p.reduce(0) { $0 + $1.1 } / n
        var sxx = 0.0, sxy = 0.0, syy = 0.0
        for (x, y) in p { sxx += (x - mx) * (x - mx); sxy += (x - mx) * (y - my); syy += (y - my) * (y - my) }
        let theta = 0.5 * atan2(2 * sxy, sxx - syy)
        let nx = -sin(theta), ny = cos(theta)
        return p.map { abs(($0.0 - mx) * nx + ($0.1 - my) * ny) }.max() ?? 0
    }

    /// Mean, SD and count of the voxels within `radius` mm of a pixel centre over the slices.
    static func diskStats(_ v: Volume<Int16>, column: Double, row: Double, radius: Double, slices: Range<Int>) -> (Double, Double, Int) {
        let sp = v.geometry.spacing.x
        let reach = Int((radius / sp).rounded(.up)) + 1
        let ci = Int(column.rounded()), cj = Int(row.rounded())
        var sum = 0.0, sq = 0.0, n = 0
        for k in slices {
            for dj in -reach...reach {
                for di in -reach...reach {
                    let i = ci + di, j = cj + dj
                    let dx = (Double(i) - column) * sp, dy = (Double(j) - row) * sp
                    guard dx * dx + dy * dy <= radius * radius else { continue }
                    guard v.contains(i, j, k) else { continue }
                    let h = Double(v[i, j, k])
                    sum += h; sq += h * h; n += 1
                }
            }
        }
        guard n > 0 else { return (0, 0, 0) }
        let m = sum / Double(n)
        return (m, max(0, sq / Double(n) - m * m).squareRoot(), n)
    }

    /// All k-subsets of 0..<n, in lexicographic order.
    static func combinations(_ n: Int, _ k: Int) -> [[Int]] {
        guard k <= n, k > 0 else { return [] }
        var out: [[Int]] = []
        var idx = Array(0..<k)
        while true {
            out.append(idx)
            var i = k - 1
            while i >= 0 && idx[i] == n - k + i { i -= 1 }
            if i < 0 { return out }
            idx[i] += 1
            for j in (i + 1)..<k { idx[j] = idx[j - 1] + 1 }
        }
    }
}

/// A rod-like disk before the row is chosen: centre (column, row; half pixels on coarse grids),
/// radius (mm) and how clearly it stands out.
struct RodCandidate {
    var c: Double
    var r: Double
    var radius: Double
    var score: Double
}

/// A read-only buffer that may cross into parallel workers (the volume outlives them).
struct UnsafeBufferPointerBox<T>: @unchecked Sendable {
    let buffer: UnsafeBufferPointer<T>
    init(_ b: UnsafeBufferPointer<T>) { buffer = b }
}
