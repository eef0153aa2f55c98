// Lumbar trabecular attenuation and density: the L1 HU screening measure (Pickhardt) and the ACR
// QCT categories on L1–L2.
//
// ROI, per vertebral body and slice: the oval core of the body — points at least 45 % of the deepest
// inscribed distance (and ≥ 4 mm; the blurred shell reaches ≈ 2 mm in) from the body's edge, so that a
// bump of pedicle left on the mask does not pull the ROI toward the cortex — and in front of the body's
// centroid (the basivertebral vein reaches from the back wall to about the middle: on the phantom's
// dense young spine it pulled an ROI reaching 10 % behind the centroid down by 10 HU). The basivertebral vein
// enters the back of the body at mid-height; the oval stays in front of it (Pickhardt 2013 places the
// ROI in the anterior trabecular bone for this reason). Slabs: the central 5 mm of L1 for the HU
// measure (the published method reads one mid-body slice; 5 mm averages the noise of thin slices),
// the central 10 mm of each body for vBMD (the ACR/ISCD mid-vertebral slab).
//
// Thresholds (ct-core.md §2.4):
//  - L1 HU, 120 kVp, unenhanced (Pickhardt 2013, Ann Intern Med; 1,867 adults): ≤ 100 HU, PPV ≥ 68 %
//    for osteoporosis; > 160 HU, 90 % sensitive (osteoporosis unlikely); between, indeterminate.
//    With contrast both thresholds are raised by the phase offset (+20 arterial, +14.75 portal venous;
//    TotalSegmentator's spine report).
//  - ACR/ISCD QCT, mean trabecular vBMD of two lumbar vertebrae (here L1 and L2): > 120 mg/cm³ normal,
//    80–120 low bone density, < 80 osteoporosis (K2HPO4-equivalent values from QCT phantoms; with a
//    hydroxyapatite calibration the category is not given).
public import Imaging
import Foundation

public struct VertebralDensity: Codable, Sendable, Equatable {
    public var level: String
    public var meanHU: Double
    public var sdHU: Double
    public var voxels: Int
    /// Mean ROI area per slice.
    public var roiArea_mm2: Double
    public var slab_mm: Double
    public var vBMD_mgcm3: Double?
}

public struct L1Attenuation: Codable, Sendable, Equatable {
    public var meanHU: Double
    public var voxels: Int
    public var roiArea_mm2: Double
    public var slab_mm: Double
    /// [osteoporosis-likely ceiling, normal floor] after the contrast offset.
    public var thresholds_HU: [Double]
    public var contrastOffset_HU: Double
    /// "osteoporosis-likely" (≤ 100), "indeterminate", "normal-likely" (> 160).
    public var category: String
    public var source: String
}

public struct SpineDensitometry: Codable, Sendable, Equatable {
    public var calibration: String
    public var levels: [VertebralDensity]
    public var l1: L1Attenuation?
    /// Mean of L1 and L2 trabecular vBMD, and its ACR category.
    public var l1l2vBMD_mgcm3: Double?
    public var acrCategory: String?
    public var roi: String
    public var notes: [String]
}

public enum SpineDensitometer {
    static let edgeClearance_mm = 4.0
    static let coreFraction = 0.45
    public static let roiDefinition = "oval core of the body's trabecular bone: points at least 45 % of the deepest inscribed distance (and ≥ 4 mm) from the body's edge, in front of its centroid (the basivertebral vein enters from behind); central 5 mm of L1 for the HU measure, central 10 mm of each body for vBMD"

    /// `labels`: the combined label map holding the vertebral bodies (SpineSegmenter).
    public static func measure(_ v: Volume<Int16>, labels: [UInt8], levels spine: SpineLevels, calibration: DensityCalibration) -> SpineDensitometry? {
        guard labels.count == v.voxels.count, spine.confidence != "none" else { return nil }
        let nx = v.size.x, ny = v.size.y, plane = nx * ny
        let g = v.geometry, sx = g.spacing.x, sy = g.spacing.y, dz = abs(g.spacing.z)
        let calibrated = calibration.method != .none && calibration.slope_HU_per_mgcm3 != nil
        var notes: [String] = []
        func roiStats(_ b: VertebralBody, slab: Double) -> (n: Int, mean: Double, sd: Double, area: Double, slices: Int)? {
            let zc = (b.zRange_mm[0] + b.zRange_mm[1]) / 2
            var s = 0.0, s2 = 0.0, n = 0, slices = 0
            for k in 0..<v.size.z {
                let z = g.world(0, 0, Double(k)).z
                guard abs(z - zc) <= slab / 2 + 1e-6 else { continue }
                // The body's pixels in this slice and their bounding frame.
                var px: [Int] = []
                for q in 0..<plane where labels[q + plane * k] == UInt8(b.labelValue) { px.append(q) }
                guard px.count >= 50 else { continue }
                let xs = px.map { g.world(Double($0 % nx), Double($0 / nx), Double(k)) }
                let cy = xs.reduce(0.0) { $0 + $1.y } / Double(xs.count)
                guard let ymin = xs.map(\.y).min(), let ymax = xs.map(\.y).max() else { continue }
                let depth = ymax - ymin
                // Distance to the body's edge, on its bounding window.
                let i0 = px.map { $0 % nx }.min()! - 1, i1 = px.map { $0 % nx }.max()! + 1
                let j0 = px.map { $0 / nx }.min()! - 1, j1 = px.map { $0 / nx }.max()! + 1
                let w = i1 - i0 + 1, h = j1 - j0 + 1
                var m = [Bool](repeating: false, count: w * h)
                for q in px { m[(q % nx - i0) + w * (q / nx - j0)] = true }
                // Holes (noisy pixels under the edge threshold) are body too: only the outside counts.
                let d = SpineSegmenter.distance(SpineSegmenter.fillHoles(m, w: w, h: h), w: w, h: h, sx: sx, sy: sy)
                // The core of the body: at least 45 % of the deepest inscribed distance from its edge (and ≥ 4 mm),
                // in front of the centroid plus 10 % of the depth (anterior is −y, LPS).
                let dmax = d.max() ?? 0
                let clearance = max(edgeClearance_mm, coreFraction * dmax)
                var any = false
                for (q, p) in zip(px, xs) {
                    guard d[(q % nx - i0) + w * (q / nx - j0)] >= clearance, p.y <= cy else { continue }
                    let hu = Double(v.voxels[q + plane * k])
                    s += hu; s2 += hu * hu; n += 1; any = true
                }
                if any { slices += 1 }
            }
            guard n >= 20, slices > 0 else { return nil }
            let mean = s / Double(n)
            return (n, mean, max(0, (s2 - s * mean) / Double(max(1, n - 1))).squareRoot(), Double(n) * sx * sy / Double(slices), slices)
        }
        var levels: [VertebralDensity] = []
        for b in spine.bodies {
            guard let level = b.level else { continue }
            guard b.complete else { notes.append("\(level): cut by the field of view, not measured"); continue }
            guard let r = roiStats(b, slab: 10) else { notes.append("\(level): too few trabecular voxels for the ROI"); continue }
            levels.append(VertebralDensity(level: level, meanHU: r.mean, sdHU: r.sd, voxels: r.n, roiArea_mm2: r.area, slab_mm: Double(r.slices) * dz,
                                           vBMD_mgcm3: calibrated ? calibration.density(hu: r.mean) : nil))
        }
        var l1: L1Attenuation?
        if let b = spine.bodies.first(where: { $0.level == "L1" && $0.complete }), let r = roiStats(b, slab: 5) {
            let offset = calibration.contrast?.l1ThresholdOffset_HU ?? 0
            let lo = 100 + offset, hi = 160 + offset
            l1 = L1Attenuation(meanHU: r.mean, voxels: r.n, roiArea_mm2: r.area, slab_mm: Double(r.slices) * dz, thresholds_HU: [lo, hi],
                               contrastOffset_HU: offset,
                               category: r.mean <= lo ? "osteoporosis-likely" : r.mean > hi ? "normal-likely" : "indeterminate",
                               source: "Pickhardt 2013, Ann Intern Med (1,867 adults): L1 ≤ 100 HU PPV ≥ 68 % for osteoporosis; 160 HU 90 % sensitive; contrast offsets from TotalSegmentator")
        } else {
            notes.append("L1 not in the field of view, cut by it, or its level not assigned: no L1 HU")
        }
        var l1l2: Double?, acr: String?
        if let a = levels.first(where: { $0.level == "L1" })?.vBMD_mgcm3, let b = levels.first(where: { $0.level == "L2" })?.vBMD_mgcm3 {
            let m = (a + b) / 2
            l1l2 = m
            if calibration.equivalent == .hydroxyapatite {
                notes.append("ACR categories are defined on K2HPO4-equivalent QCT: not given for a hydroxyapatite calibration")
            } else {
                acr = m > 120 ? "normal" : m >= 80 ? "low-bone-density" : "osteoporosis"
            }
        }
        if !calibrated { notes.append("no density calibration: HU only, no vBMD or ACR category") }
        if spine.confidence != "high" { notes.append("level count confidence \(spine.confidence): " + spine.flags.joined(separator: ", ")) }
        return SpineDensitometry(calibration: calibration.method.rawValue, levels: levels, l1: l1, l1l2vBMD_mgcm3: l1l2, acrCategory: acr,
                                 roi: roiDefinition, notes: notes)
    }
}
