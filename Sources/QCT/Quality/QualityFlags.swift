// Quality flags: a machine code and plain words for everything that limits how far a study's
// numbers can be trusted. A flagged number is still reported when meaningful, and marked.
public import Imaging
import Foundation

public struct QualityFlag: Codable, Sendable, Equatable {
    /// Stable machine code, e.g. "metal-left", "slice-thickness".
    public var code: String
    /// "warning": numbers reported with the flag; "exclude": the named part is not measured.
    public var severity: String
    public var message: String

    public init(code: String, severity: String, message: String) {
        self.code = code
        self.severity = severity
        self.message = message
    }
}

public enum QualityChecks {
    /// Issue 3: hip analysis wants slices of at most 3 mm.
    static let maxSliceThickness = 3.0
    /// Voxel noise judged from the SD inside subcutaneous fat (homogeneous): above 35 HU numbers get
    /// noisy (our choice; routine abdominal CT is ≈ 10–25 HU, the phantom's default 14–22 HU).
    static let highNoiseSD = 35.0
    /// Metal: voxels ≥ 2500 HU (cortical bone at 120 kVp stays below ≈ 2000 HU; implants saturate
    /// the scale, phantom-anatomy.md §7) filling at least 0.5 cm³ on one side (our choice).
    static let metalHU: Int16 = 2500
    static let metalVolume_cm3 = 0.5

    /// Flags from the acquisition, the calibration, the reference tissues, contrast and metal.
    public static func assess(_ v: Volume<Int16>, body: BodyMask?, calibration: DensityCalibration, sliceThickness: Double?) -> [QualityFlag] {
        var flags: [QualityFlag] = []
        let thickness = sliceThickness ?? v.geometry.spacing.z
        if thickness > maxSliceThickness + 1e-6 {
            flags.append(.init(code: "slice-thickness", severity: "warning",
                               message: String(format: "slices are %.1f mm thick (> %.0f mm): partial volume blurs thin cortex and small regions", thickness, maxSliceThickness)))
        }
        switch calibration.method {
        case .none:
            flags.append(.init(code: "no-calibration", severity: "warning", message: "no density calibration: HU only; " + calibration.qc.problems.joined(separator: "; ")))
        default:
            if !calibration.qc.passed {
                flags.append(.init(code: "calibration-qc", severity: "warning", message: "calibration QC failed: " + calibration.qc.problems.joined(separator: "; ")))
            }
        }
        if let t = calibration.referenceTissues {
            if let fat = t.subcutaneousFat, fat.sdHU > highNoiseSD {
                flags.append(.init(code: "high-noise", severity: "warning",
                                   message: String(format: "voxel noise about %.0f HU (SD in subcutaneous fat; > %.0f HU)", fat.sdHU, highNoiseSD)))
            }
            for s in [t.air, t.subcutaneousFat].compactMap({ $0 }) where !s.withinQCWindow {
                flags.append(.init(code: "reference-tissue-\(s.tissue)", severity: "warning",
                                   message: String(format: "%@ reads %.0f HU, outside %.0f…%.0f HU: scanner calibration drift or a misplaced ROI", s.tissue, s.meanHU, s.qcWindowHU[0], s.qcWindowHU[1])))
            }
        }
        if let c = calibration.contrast, c.flagged {
            flags.append(.init(code: "contrast-\(c.phase.rawValue)", severity: "warning",
                               message: "intravenous contrast (\(c.phase.rawValue)): trabecular HU and densities read high; L1 thresholds raised by \(c.l1ThresholdOffset_HU) HU"))
        }
        flags += metal(v, body: body)
        return flags
    }

    /// Metal per side of the body (patient's left is +x in LPS). A side with metal is excluded from
    /// measurement (a prosthesis replaces the bone and its artefacts corrupt the rest).
    static func metal(_ v: Volume<Int16>, body: BodyMask?) -> [QualityFlag] {
        let nx = v.size.x, ny = v.size.y, plane = nx * ny
        let midX = body?.midlineX ?? v.geometry.world(Double(nx - 1) / 2, 0, 0).x
        var left = 0, right = 0
        for (q, h) in v.voxels.enumerated() where h >= metalHU {
            if let body, body.mask.voxels[q] == 0 { continue }
            let i = q % nx, j = (q / nx) % ny, k = q / plane
            if v.geometry.world(Double(i), Double(j), Double(k)).x >= midX { left += 1 } else { right += 1 }
        }
        let voxel_cm3 = v.geometry.spacing.x * v.geometry.spacing.y * v.geometry.spacing.z / 1000
        var out: [QualityFlag] = []
        for (side, n) in [("left", left), ("right", right)] where Double(n) * voxel_cm3 >= metalVolume_cm3 {
            out.append(.init(code: "metal-\(side)", severity: "exclude",
                             message: String(format: "metal on the %@ side (%.1f cm³ at ≥ %d HU: prosthesis or fixation): that hip is not measured", side, Double(n) * voxel_cm3, Int(metalHU))))
        }
        return out
    }
}
