// Neck and shaft axes of a segmented proximal femur.
//  - Neck axis: from the head centre toward the centroid of the femur between 1.2 and 1.8 head
//    radii from it — the neck, short of the greater trochanter (≈ 50 mm out in the phantom; a
//    shell of 1.2–1.8 r ends at ≈ 40 mm for a 22 mm head). On the standard phantom this was within
//    0.5° of truth, where a principal-axis fit of the same voxels was not (the shell is as wide as
//    it is long).
//  - Shaft axis: a line through the per-slice centroids of the lowest 25 mm of the femur in the
//    scan (the subtrochanteric shaft when the scan reaches ≥ 25 mm below the lesser trochanter).
//  - Neck–shaft angle: between the neck toward the head and the shaft toward the knee (3-D).
//  - Narrow neck: the smallest cross-section of the mask perpendicular to the neck axis between
//    0.8 and 2.2 head radii from the head centre (1 mm slabs every 0.5 mm, within 25 mm of the
//    axis, 5-sample moving average). Its area is the mask's (boundary at 175 HU), not yet the
//    density-weighted HSA area of issue 4.
//  - Greater trochanter tip: the highest point of the femur more than two head radii from the head
//    centre (past the head and neck; the tip lies level with the head centre or up to 10 mm below,
//    phantom-anatomy.md §1).
//  - Lesser trochanter apex: 35–75 mm below the head centre (the apex is ≈ 45–60 mm below it, §1),
//    on the medial side of the shaft axis (toward the head): per slice the point farthest from that
//    axis, and of those the highest local maximum with a dip (≥ 1 mm) above it.
public import Imaging
import Foundation

public struct FemurAxes: Codable, Sendable, Equatable {
    /// Unit direction head centre → neck–shaft junction (LPS).
    public var neckAxisDirection: [Double]
    /// A point on the shaft axis and its unit direction toward the head (proximal), LPS.
    public var shaftAxisPoint: [Double]
    public var shaftAxisDirection: [Double]
    public var neckShaftAngle_deg: Double
    public var shaftLengthUsed_mm: Double
    /// Narrow neck: distance from the head centre along the neck axis, centre point (LPS) and mask area.
    public var narrowNeckDistance_mm: Double?
    public var narrowNeckCenter: [Double]?
    public var narrowNeckMaskArea_mm2: Double?
    /// Greater trochanter tip and lesser trochanter apex (LPS mm).
    public var greaterTrochanterTip: [Double]?
    public var lesserTrochanterApex: [Double]?
}

public enum FemurAxisFinder {
    static let neckShell = 1.2...1.8
    static let shaftLength = 25.0

    public static func axes(_ labels: Volume<UInt8>, value: UInt8, head: FemoralHeadFit, within: VoxelBox? = nil) -> FemurAxes? {
        let nx = labels.size.x, ny = labels.size.y, plane = nx * ny
        let g = labels.geometry
        let c = Vec3(head.center[0], head.center[1], head.center[2])
        let r = head.radius_mm
        var neckSum = Vec3.zero, neckN = 0.0
        var points: [Vec3] = []
        let box = within ?? VoxelBox(labels.size)
        for k in box.k {
            for j in box.j {
                for i in box.i where labels.voxels[i + nx * j + plane * k] == value {
                    let p = g.world(Double(i), Double(j), Double(k))
                    points.append(p)
                    let d = (p - c).length
                    if neckShell.contains(d / r) { neckSum = neckSum + p; neckN += 1 }
                }
            }
        }
        guard neckN > 20, let zMin = points.map(\.z).min() else { return nil }
        let neck = (neckSum / neckN - c).normalized
        // Per-slice centroids of the lowest 25 mm (slices by world z, rounded to 0.01 mm).
        var slices: [Int: (sum: Vec3, n: Double)] = [:]
        for p in points where p.z < zMin + shaftLength {
            let key = Int((p.z * 100).rounded())
            let e = slices[key, default: (.zero, 0)]
            slices[key] = (e.sum + p, e.n + 1)
        }
        let cents = slices.keys.sorted().map { slices[$0]!.sum / slices[$0]!.n }
        guard cents.count >= 3 else { return nil }
        let (mean, dir) = principalAxis(cents)
        let shaft = dir.z >= 0 ? dir : -dir
        let nsa = acos(max(-1, min(1, neck.dot(shaft)))) * 180 / .pi
        var result = FemurAxes(neckAxisDirection: neck.array, shaftAxisPoint: mean.array, shaftAxisDirection: shaft.array,
                               neckShaftAngle_deg: nsa, shaftLengthUsed_mm: (cents.last!.z - cents.first!.z))
        // Narrow neck: slab areas along the axis.
        let voxel = g.spacing.x * g.spacing.y * g.spacing.z
        let steps = Array(stride(from: 0.8 * r, through: 2.2 * r, by: 0.5))
        var counts = [Double](repeating: 0, count: steps.count)
        for p in points {
            let d = p - c
            let a = d.dot(neck)
            guard a > steps[0] - 0.5, a < steps[steps.count - 1] + 0.5, (d - neck * a).length < 25 else { continue }
            // Every slab [s − 0.5, s + 0.5) that holds this voxel.
            let lo = max(0, Int(((a - 0.5 - steps[0]) / 0.5).rounded(.up))), hi = min(steps.count - 1, Int(((a + 0.5 - steps[0]) / 0.5).rounded(.down)))
            if lo <= hi { for q in lo...hi where abs(a - steps[q]) < 0.5 { counts[q] += 1 } }
        }
        let area = counts.map { $0 * voxel / 1.0 }
        if area.count >= 5 {
            var best: (i: Int, a: Double)?
            for i in 2..<(area.count - 2) {
                let m = area[(i - 2)...(i + 2)].reduce(0, +) / 5
                if best == nil || m < best!.a { best = (i, m) }
            }
            if let best, best.a > 0 {
                result.narrowNeckDistance_mm = steps[best.i]
                result.narrowNeckCenter = (c + neck * steps[best.i]).array
                result.narrowNeckMaskArea_mm2 = best.a
            }
        }
        // Greater trochanter tip.
        let far = points.filter { ($0 - c).length > 2 * r }
        if let top = far.map(\.z).max() {
            let tip = far.filter { $0.z >= top - 0.01 }
            result.greaterTrochanterTip = (tip.reduce(Vec3.zero, +) / Double(tip.count)).array
        }
        // Lesser trochanter apex.
        let toHead0 = (c - mean) - shaft * (c - mean).dot(shaft)
        if toHead0.length > 0 {
            let toHead = toHead0.normalized
            // Per slice height: the medial point farthest from the shaft axis.
            var profile: [Double: (Vec3, Double)] = [:]
            for p in points where p.z < c.z - 35 && p.z > c.z - 75 {
                let d = p - mean
                let radial = d - shaft * d.dot(shaft)
                guard radial.dot(toHead) > 0 else { continue }
                let z = (p.z * 1000).rounded() / 1000
                if profile[z] == nil || radial.length > profile[z]!.1 { profile[z] = (p, radial.length) }
            }
            // The apex is a bump of that profile with a dip above it (the concavity between the lesser
            // trochanter and the calcar): the highest such local maximum. With thick slices the blurred
            // underside of the neck reaches the top of the band and can stand out farther than the apex;
            // the overall farthest point is used only when the profile has no bump.
            let rows = profile.sorted { $0.key < $1.key }.map(\.value)
            var best: (Vec3, Double)?
            for i in rows.indices {
                let m = rows[i].1
                guard i > 0, i < rows.count - 1, m >= rows[i - 1].1, m >= rows[i + 1].1 else { continue }
                guard rows[(i + 1)...].contains(where: { $0.1 < m - 1 }) else { continue }
                if best == nil || m > best!.1 { best = rows[i] }
            }
            if best == nil { best = rows.max { $0.1 < $1.1 } }
            result.lesserTrochanterApex = best?.0.array
        }
        return result
    }

    /// Mean and first principal direction of points (power iteration on the 3 × 3 scatter matrix).
    static func principalAxis(_ p: [Vec3]) -> (Vec3, Vec3) {
        let m = p.reduce(Vec3.zero, +) / Double(p.count)
        var s = [[Double]](repeating: [0, 0, 0], count: 3)
        for q in p {
            let d = (q - m).array
            for a in 0..<3 { for b in 0..<3 { s[a][b] += d[a] * d[b] } }
        }
        var v = Vec3(0, 0, 1)
        for _ in 0..<100 {
            let w = Vec3(s[0][0] * v.x + s[0][1] * v.y + s[0][2] * v.z, s[1][0] * v.x + s[1][1] * v.y + s[1][2] * v.z,
                         s[2][0] * v.x + s[2][1] * v.y + s[2][2] * v.z)
            guard w.length > 0 else { break }
            v = w.normalized
        }
        return (m, v)
    }
}
