// Internal reference tissues of a study: air in front of the patient and subcutaneous fat of the
// anterior body wall, found by classical rules (no segmentation model). Their HU are recorded for
// every study — a per-scanner drift monitor can be built on them — and they carry the phantomless
// calibration (air plus hip adipose tissue is the internal reference pair of the commercial
// Biomechanical CT for the hip, ct-core.md §2.2 C).
//
// Rules: the central 80 % of slices in slabs of ≈ 20 mm; on each slab's mean image, every column
// of the central half of the body is walked from the front: the first pixel above −500 HU is the
// skin (Bonelab's skin threshold −400 is similar, §6); air is the band 10–30 mm in front of it;
// subcutaneous fat is the first run of −190…−30 HU (the adipose window, ct-core.md §5) under the
// skin, trimmed by 1.5 mm (or a pixel) at both ends against partial volume.
public import Imaging
import Foundation

public struct TissueSample: Codable, Sendable, Equatable {
    public var tissue: String
    public var meanHU: Double
    public var sdHU: Double
    public var voxels: Int
    /// How the ROI was drawn.
    public var roi: String
    /// Michalski 2020 QC window (ct-core.md §2.2 B step 5) and whether the mean lies in it.
    public var qcWindowHU: [Double]
    public var withinQCWindow: Bool
}

public struct ReferenceTissues: Codable, Sendable, Equatable {
    public var air: TissueSample?
    public var subcutaneousFat: TissueSample?
    /// Why a tissue is absent, and what is not measured yet.
    public var notes: [String]
}

public enum ReferenceTissueFinder {
    static let skinThreshold = -500.0
    static let adiposeWindow = -190.0 ... -30.0
    /// QC windows (Michalski 2020 via Ogo, ct-core.md §2.2 B): air −1000 (−30/+20), adipose −100 ± 30.
    static let airQC = [-1030.0, -980.0]
    static let fatQC = [-130.0, -70.0]
    static let slabThickness = 20.0
    static let airBand = 10.0 ... 30.0

    public static func measure(_ v: Volume<Int16>, padding: Int16?) -> ReferenceTissues {
        var notes = ["muscle and blood (aorta) references wait for the muscle and vessel segmentation; not measured"]
        let nx = v.size.x, ny = v.size.y, nz = v.size.z
        let d = v.geometry.direction
        guard abs(d.c2.z) > 0.95, abs(d.c1.y) > 0.95 else {
            notes.append("reference tissues need an axial series with rows running front to back; none measured")
            return ReferenceTissues(air: nil, subcutaneousFat: nil, notes: notes)
        }
        // Walk from the patient's front: row 0 is anterior when the column direction points posterior (+y in LPS).
        let frontToBack = d.c1.y > 0
        let sp = v.geometry.spacing.y
        let used = max(1, Int((Double(nz) * 0.8).rounded()))
        let k0 = (nz - used) / 2
        let perSlab = max(1, Int((slabThickness / v.geometry.spacing.z).rounded()))
        var air: [Double] = [], fat: [Double] = []
        var slab = k0
        while slab < k0 + used {
            let slices = slab..<min(slab + perSlab, k0 + used)
            slab = slices.upperBound
            let (mean, valid) = slabMean(v, slices: slices, padding: padding)
            func row(_ t: Int) -> Int { frontToBack ? t : ny - 1 - t }
            // Skin row per column (distance from the front edge), then the body's width.
            var skin = [Int?](repeating: nil, count: nx)
            for i in 0..<nx {
                for t in 0..<ny {
                    let p = row(t) * nx + i
                    if !valid[p] { continue }
                    if mean[p] > skinThreshold { skin[i] = t; break }
                }
            }
            let body = skin.indices.filter { skin[$0] != nil }
            guard let first = body.first, let last = body.last, last - first >= 10 else { continue }
            let c0 = first + (last - first) / 4, c1 = last - (last - first) / 4
            let trim = max(1, Int((1.5 / sp).rounded(.up)))
            for i in c0...c1 {
                guard let s = skin[i] else { continue }
                // Air band in front of the skin, all of it valid and air-like on the mean image.
                let a0 = s - Int((airBand.upperBound / sp).rounded()), a1 = s - Int((airBand.lowerBound / sp).rounded())
                if a0 >= 0 {
                    let band = (a0...a1).map { row($0) * nx + i }
                    if band.allSatisfy({ valid[$0] && mean[$0] < -900 }) {
                        for p in band { for k in slices { air.append(Double(v.voxels[p + nx * ny * k])) } }
                    }
                }
                // First adipose run under the skin.
                var t = s
                while t < ny, !adiposeWindow.contains(mean[row(t) * nx + i]) { t += 1; if t - s > Int(15 / sp) { break } }
                guard t < ny, adiposeWindow.contains(mean[row(t) * nx + i]) else { continue }
                var e = t
                while e + 1 < ny, adiposeWindow.contains(mean[row(e + 1) * nx + i]) { e += 1 }
                let lo = t + trim, hi = e - trim
                guard hi >= lo else { continue }
                for tt in lo...hi {
                    let p = row(tt) * nx + i
                    for k in slices { fat.append(Double(v.voxels[p + nx * ny * k])) }
                }
            }
        }
        func sample(_ name: String, _ values: [Double], roi: String, qc: [Double]) -> TissueSample? {
            guard values.count >= 50 else { return nil }
            let m = values.reduce(0, +) / Double(values.count)
            let sd = (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count)).squareRoot()
            return TissueSample(tissue: name, meanHU: m, sdHU: sd, voxels: values.count, roi: roi, qcWindowHU: qc,
                                withinQCWindow: (qc[0]...qc[1]).contains(m))
        }
        let a = sample("air", air, roi: "band 10–30 mm in front of the skin over the central half of the body, central 80 % of slices", qc: airQC)
        let f = sample("subcutaneous_fat", fat, roi: "anterior subcutaneous fat (−190…−30 HU run under the skin, 1.5 mm trimmed) over the central half of the body, central 80 % of slices", qc: fatQC)
        if a == nil { notes.append("no air in front of the patient (the field of view ends at the skin?)") }
        if f == nil { notes.append("no anterior subcutaneous fat found (very thin patient or the body wall outside the field of view)") }
        return ReferenceTissues(air: a, subcutaneousFat: f, notes: notes)
    }
}

/// Mean image of a run of slices, and where any slice holds the padding value (outside the field of view).
func slabMean(_ v: Volume<Int16>, slices: Range<Int>, padding: Int16?) -> (mean: [Double], valid: [Bool]) {
    let plane = v.size.x * v.size.y
    var mean = [Double](repeating: 0, count: plane)
    var valid = [Bool](repeating: true, count: plane)
    for k in slices {
        for p in 0..<plane {
            let h = v.voxels[p + plane * k]
            if h == padding { valid[p] = false }
            mean[p] += Double(h)
        }
    }
    for p in 0..<plane { mean[p] /= Double(max(1, slices.count)) }
    return (mean, valid)
}
