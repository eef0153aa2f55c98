// Body composition on the axial slice through the femoral-head centres: the hip muscles (gluteal,
// hip-flexor, adductor and pelvic-wall muscles together, per side), their attenuation, intermuscular
// fat, subcutaneous fat, and the fat inside the pelvis.
//
// HU windows as at L3 (ct-core.md §5): muscle −29…150, adipose −190…−30. Where each pixel lies decides
// what it is:
//  - subcutaneous boundary along rays from the body's centre, as at L3 (skin, then the first fat run);
//  - bone: the femur masks, HU > 175 (the femur segmentation's bone threshold) with holes up to 15 cm²
//    filled (marrow of the acetabulum and femoral head), grown by one pixel so that its partial-volume
//    rim is not counted as muscle;
//  - the pelvic cavity: adipose pieces inside the subcutaneous boundary of ≥ 3 cm² whose centre lies
//    within 60 mm of the mid-line, with everything they enclose (bladder, rectum, pelvic organs);
//  - muscle: the muscle window inside the subcutaneous boundary, outside bone and the cavity;
//    intermuscular fat: adipose there.
// The gluteal group alone is not separated: at this level the gluteal, obturator and thigh muscles
// touch along fascial planes a classical threshold method does not see. A label map given with
// `--labels` (TotalSegmentator gluteus ids 80–85) measures the gluteal group by its own masks.
// No published cut-off applies to this slice; the values are reported as covariates.
public import Imaging
import Foundation

public struct HipBodyCompositionResult: Codable, Sendable, Equatable {
    public var level: String
    public var sliceIndex: Int
    public var z_mm: Double
    public var skeletalMuscleArea_cm2: Double
    public var leftMuscleArea_cm2: Double
    public var rightMuscleArea_cm2: Double
    public var muscleMeanHU: Double
    public var intermuscularFatArea_cm2: Double
    public var subcutaneousFatArea_cm2: Double
    public var subcutaneousFatMeanHU: Double?
    public var pelvicFatArea_cm2: Double
    public var method: String
    public var notes: [String]
}

public enum HipBodyCompositionAnalyzer {
    static let boneHU = 175.0
    static let boneHoleArea_cm2 = 15.0
    static let cavityFatArea_cm2 = 3.0
    static let cavityMidline_mm = 60.0
    public static let methodText = "single axial slice through the femoral-head centres; muscle −29…150 HU, adipose −190…−30 HU; subcutaneous fat outside the boundary found along rays from the body centre (skin, then the first fat run); bone (femur masks, > 175 HU with marrow filled, grown 1 pixel) and the pelvic cavity (adipose pieces ≥ 3 cm² centred within 60 mm of the mid-line, with what they enclose) excluded; muscle = the muscle window elsewhere inside the boundary (gluteal, hip-flexor, adductor and pelvic-wall muscles together), intermuscular fat = adipose there"

    /// Label values in labels.nii.gz for this slice's tissues.
    public static let labelValues: [String: UInt8] = ["skeletal muscle (femoral-head slice)": 54, "intermuscular fat (femoral-head slice)": 55,
                                                      "subcutaneous fat (femoral-head slice)": 56, "pelvic fat (femoral-head slice)": 57]

    /// `labels`: the combined label map (non-zero inside the body; femora `FemurMask.Side.label`).
    /// `headCentres`: the fitted femoral-head centres (mm); the slice is at their mean height.
    /// `midlineX`: the body's mid-line (mm). Returns the result and the tissue label of each classified pixel.
    public static func measure(_ v: Volume<Int16>, labels: [UInt8], headCentres: [Vec3], midlineX: Double)
        -> (HipBodyCompositionResult, [(index: Int, label: UInt8)])? {
        guard labels.count == v.voxels.count, !headCentres.isEmpty else { return nil }
        let g = v.geometry, nx = v.size.x, ny = v.size.y, plane = nx * ny
        let zc = headCentres.map(\.z).reduce(0, +) / Double(headCentres.count)
        let c0 = headCentres[0]
        guard let kf = g.index(of: Vec3(c0.x, c0.y, zc))?.z else { return nil }
        let k = Int(kf.rounded())
        guard k >= 0, k < v.size.z else { return nil }
        let sx = g.spacing.x, sy = g.spacing.y, px_cm2 = sx * sy / 100
        var notes: [String] = []
        if headCentres.count == 1 { notes.append("one femoral head found: the slice is at its centre") }
        @inline(__always) func hu(_ q: Int) -> Double { Double(v.voxels[q + plane * k]) }
        @inline(__always) func inBody(_ q: Int) -> Bool { labels[q + plane * k] != 0 }
        var cx = 0.0, cy = 0.0, n = 0.0
        for j in 0..<ny { for i in 0..<nx where inBody(i + nx * j) { cx += Double(i); cy += Double(j); n += 1 } }
        guard n > 0 else { return nil }
        cx /= n; cy /= n
        let sat = BodyCompositionAnalyzer.subcutaneousBoundary(hu: { i, j in hu(i + nx * j) },
                                                               inBody: { i, j in i >= 0 && j >= 0 && i < nx && j < ny && inBody(i + nx * j) },
                                                               cx: cx, cy: cy, sx: sx, sy: sy)
        func insideSAT(_ i: Int, _ j: Int) -> Bool {
            let dx = (Double(i) - cx) * sx, dy = (Double(j) - cy) * sy
            var th = atan2(dy, dx)
            if th < 0 { th += 2 * .pi }
            let rays = sat.count
            let a = Int((th / (2 * .pi) * Double(rays)).rounded()) % rays
            return (dx * dx + dy * dy).squareRoot() <= sat[a]
        }
        // Bone with its marrow, grown by one pixel.
        var bone = [Bool](repeating: false, count: plane)
        let femurLabels: Set<UInt8> = [FemurMask.Side.left.label, FemurMask.Side.right.label]
        for q in 0..<plane where inBody(q) { bone[q] = femurLabels.contains(labels[q + plane * k]) || hu(q) > boneHU }
        let maxHole = Int(boneHoleArea_cm2 / px_cm2)
        for piece in SpineSegmenter.pieces(bone.map { !$0 }, w: nx, h: ny) where piece.count <= maxHole {
            if !piece.contains(where: { $0 % nx == 0 || $0 % nx == nx - 1 || $0 / nx == 0 || $0 / nx == ny - 1 }) {
                for q in piece { bone[q] = true }
            }
        }
        var grown = bone
        for q in 0..<plane where bone[q] {
            let i = q % nx, j = q / nx
            for (ok, nb) in [(i > 0, q - 1), (i < nx - 1, q + 1), (j > 0, q - nx), (j < ny - 1, q + nx)] where ok { grown[nb] = true }
        }
        // The pelvic cavity: mid-line fat pieces inside the boundary and all they enclose.
        var innerFat = [Bool](repeating: false, count: plane)
        for j in 0..<ny { for i in 0..<nx {
            let q = i + nx * j
            innerFat[q] = inBody(q) && !grown[q] && BodyCompositionAnalyzer.fatHU.contains(hu(q)) && insideSAT(i, j)
        } }
        var cavity = [Bool](repeating: false, count: plane)
        let minFat = Int(cavityFatArea_cm2 / px_cm2)
        for piece in SpineSegmenter.pieces(innerFat, w: nx, h: ny) where piece.count >= minFat {
            let mx = piece.reduce(0.0) { $0 + Double($1 % nx) } / Double(piece.count)
            let my = piece.reduce(0.0) { $0 + Double($1 / nx) } / Double(piece.count)
            guard (g.world(mx, my, Double(k)).x - midlineX).magnitude <= cavityMidline_mm else { continue }
            for q in piece { cavity[q] = true }
        }
        // Enclosed: pieces of the rest of the slice that reach neither the body's outside nor the image edge.
        for piece in SpineSegmenter.pieces(cavity.map { !$0 }, w: nx, h: ny) where !piece.contains(where: { q in
            !inBody(q) || q % nx == 0 || q % nx == nx - 1 || q / nx == 0 || q / nx == ny - 1
        }) {
            for q in piece { cavity[q] = true }
        }
        var tissue: [(index: Int, label: UInt8)] = []
        var muscleL = 0, muscleR = 0, muscleSum = 0.0, imat = 0, satN = 0, satSum = 0.0, pelvic = 0
        for j in 0..<ny { for i in 0..<nx {
            let q = i + nx * j
            guard inBody(q), !grown[q] else { continue }
            let h = hu(q)
            var label: UInt8 = 0
            if !insideSAT(i, j) {
                if BodyCompositionAnalyzer.fatHU.contains(h) { satN += 1; satSum += h; label = 56 }
            } else if cavity[q] {
                if BodyCompositionAnalyzer.fatHU.contains(h) { pelvic += 1; label = 57 }
            } else if BodyCompositionAnalyzer.muscleHU.contains(h) {
                // Patient's left is +x (LPS).
                if g.world(Double(i), Double(j), Double(k)).x >= midlineX { muscleL += 1 } else { muscleR += 1 }
                muscleSum += h; label = 54
            } else if BodyCompositionAnalyzer.fatHU.contains(h) {
                imat += 1; label = 55
            }
            if label != 0 && labels[q + plane * k] <= 1 { tissue.append((q + plane * k, label)) }
        } }
        let muscle = muscleL + muscleR
        guard muscle > 0 else { return nil }
        if pelvic == 0 { notes.append("no pelvic fat found at this level: all soft tissue inside the subcutaneous fat was classed by HU alone") }
        notes.append("femoral vessels (≈ 40 HU without contrast) lie in the muscle window and are counted with the muscle")
        return (HipBodyCompositionResult(level: "femoral heads", sliceIndex: k, z_mm: g.world(0, 0, Double(k)).z,
                                         skeletalMuscleArea_cm2: Double(muscle) * px_cm2, leftMuscleArea_cm2: Double(muscleL) * px_cm2,
                                         rightMuscleArea_cm2: Double(muscleR) * px_cm2, muscleMeanHU: muscleSum / Double(muscle),
                                         intermuscularFatArea_cm2: Double(imat) * px_cm2, subcutaneousFatArea_cm2: Double(satN) * px_cm2,
                                         subcutaneousFatMeanHU: satN > 0 ? satSum / Double(satN) : nil, pelvicFatArea_cm2: Double(pelvic) * px_cm2,
                                         method: methodText, notes: notes), tissue)
    }
}
