// Phantomless (internal) calibration, pre-calibrated: the study's own reference tissues (air and
// subcutaneous fat) are given the mineral-equivalent densities those tissues had on a phantom scan
// of the same scanner model and kVp, and the line through them is the study's calibration.
// Engelke 2023 (ct-core.md §2.2): pre-calibrated phantomless methods came within 0.1–2.4 mg/cm³ of
// phantom calibration, the uncalibrated physics method within 12.6 ± 13.2 mg/cm³.
import Foundation

/// A tissue's mineral-equivalent density under a phantom calibration.
public struct TissueEquivalent: Codable, Sendable, Equatable {
    public var tissue: String
    public var density_mgcm3: Double
    public var meanHU: Double

    public init(tissue: String, density_mgcm3: Double, meanHU: Double) {
        self.tissue = tissue
        self.density_mgcm3 = density_mgcm3
        self.meanHU = meanHU
    }
}

public enum InternalCalibration {
    /// The equivalents of a study's tissues under a (phantom) calibration: what a profile stores.
    public static func equivalents(_ tissues: ReferenceTissues, under c: DensityCalibration) -> [TissueEquivalent]? {
        let samples = [tissues.air, tissues.subcutaneousFat].compactMap { $0 }.filter(\.withinQCWindow)
        let out = samples.compactMap { t in c.density(hu: t.meanHU).map { TissueEquivalent(tissue: t.tissue, density_mgcm3: $0, meanHU: t.meanHU) } }
        return out.count >= 2 ? out : nil
    }

    /// The study's line through its tissues at the reference equivalents.
    public static func calibrate(_ tissues: ReferenceTissues, reference: [TissueEquivalent], profile: String,
                                 equivalent: MineralEquivalent?) -> DensityCalibration {
        var problems: [String] = []
        var x: [Double] = [], y: [Double] = [], points: [CalibrationPoint] = []
        for t in [tissues.air, tissues.subcutaneousFat].compactMap({ $0 }) {
            guard let ref = reference.first(where: { $0.tissue == t.tissue }) else { continue }
            if !t.withinQCWindow {
                problems.append(String(format: "%@ reads %.1f HU, outside its QC window %.0f…%.0f HU (scanner drift, contrast or a misplaced ROI)",
                                       t.tissue, t.meanHU, t.qcWindowHU[0], t.qcWindowHU[1]))
            }
            x.append(ref.density_mgcm3); y.append(t.meanHU)
            points.append(CalibrationPoint(name: t.tissue, density_mgcm3: ref.density_mgcm3, meanHU: t.meanHU, sdHU: t.sdHU, voxels: t.voxels,
                                           center: nil, radius_mm: nil, residual_mgcm3: 0))
        }
        guard points.count >= 2, let line = LineFit(x: x, y: y), line.slope > 0 else {
            var c = DensityCalibration.none(reason: "phantomless calibration needs air and subcutaneous fat in the scan and in profile '\(profile)'; found \(points.map(\.name).joined(separator: ", "))")
            c.referenceTissues = tissues
            return c
        }
        for i in points.indices { points[i].residual_mgcm3 = line.residuals[i] / line.slope }
        return DensityCalibration(method: .internalTissues, equivalent: equivalent, reference: profile,
                                  slope_HU_per_mgcm3: line.slope, intercept_HU: line.intercept, slopeSE: nil, interceptSE: nil,
                                  rSquared: nil, rmsResidual_mgcm3: nil, maxAbsResidual_mgcm3: nil, points: points,
                                  qc: CalibrationQC(passed: problems.isEmpty, problems: problems),
                                  notes: ["two-point line through air and subcutaneous fat at the equivalents of profile '\(profile)' (pre-calibrated phantomless, ct-core.md §2.2); no residuals with two points",
                                          "expected accuracy about ±5 % (issue 3 target), poorer than a phantom; bone far above fat is an extrapolation"],
                                  referenceTissues: tissues, contrast: nil)
    }
}
