// HU → mineral density: the calibration of one study, with the points it was fitted on, the fit's
import Foundation
// uncertainty and a QC verdict. Every calibration method ends in HU = σ·ρ + β, so ρ = (HU − β)/σ.

public enum CalibrationMethod: String, Codable, Sendable {
    /// Rods of a phantom scanned with the patient.
    case synchronousPhantom = "synchronous-phantom"
    /// A scanner profile from a separate phantom scan on the same scanner and protocol.
    case asynchronousProfile = "asynchronous-profile"
    /// Reference tissues of the patient (phantomless).
    case internalTissues = "internal-tissues"
    /// No calibration: HU only; densities are not reported.
    case none
}

/// One point of the fit: a rod (or tissue) with its measured HU and known density.
public struct CalibrationPoint: Codable, Sendable, Equatable {
    public var name: String
    public var density_mgcm3: Double
    public var meanHU: Double
    /// Spread of the voxel values inside the ROI (noise).
    public var sdHU: Double
    public var voxels: Int
    /// ROI centre in patient coordinates (LPS mm) and radius, for rods.
    public var center: [Double]?
    public var radius_mm: Double?
    /// Measured minus fitted, in density units.
    public var residual_mgcm3: Double
}

public struct CalibrationQC: Codable, Sendable, Equatable {
    public var passed: Bool
    /// Plain-word problems; empty when passed.
    public var problems: [String]
}

public struct DensityCalibration: Codable, Sendable, Equatable {
    public var method: CalibrationMethod
    public var equivalent: MineralEquivalent?
    /// Phantom id (synchronous), profile name (asynchronous) or tissue set (internal).
    public var reference: String?
    /// σ, HU per mg/cm³, and β, HU at zero density.
    public var slope_HU_per_mgcm3: Double?
    public var intercept_HU: Double?
    public var slopeSE: Double?
    public var interceptSE: Double?
    public var rSquared: Double?
    public var rmsResidual_mgcm3: Double?
    public var maxAbsResidual_mgcm3: Double?
    public var points: [CalibrationPoint]
    public var qc: CalibrationQC
    /// How the points were matched to the definition and other remarks.
    public var notes: [String]
    /// The study's internal reference tissues (air, fat…), recorded whatever the method, for drift monitoring.
    public var referenceTissues: ReferenceTissues?
    /// Intravenous contrast: tags, opacified vessel, phase and threshold corrections.
    public var contrast: ContrastAssessment?

    /// HU only: every density-based output says so.
    public static func none(reason: String) -> DensityCalibration {
        DensityCalibration(method: .none, equivalent: nil, reference: nil, slope_HU_per_mgcm3: nil, intercept_HU: nil,
                           slopeSE: nil, interceptSE: nil, rSquared: nil, rmsResidual_mgcm3: nil, maxAbsResidual_mgcm3: nil,
                           points: [], qc: CalibrationQC(passed: false, problems: [reason]), notes: [], referenceTissues: nil, contrast: nil)
    }

    /// Density (mg/cm³) of a HU value; nil without a calibration.
    public func density(hu: Double) -> Double? {
        guard let s = slope_HU_per_mgcm3, let b = intercept_HU, s != 0 else { return nil }
        return (hu - b) / s
    }
}

/// Least squares of y on x with standard errors (ordinary regression, n − 2 degrees of freedom).
struct LineFit {
    var slope: Double
    var intercept: Double
    var slopeSE: Double
    var interceptSE: Double
    var rSquared: Double
    var residuals: [Double]

    init?(x: [Double], y: [Double]) {
        let n = Double(x.count)
        guard x.count >= 2, x.count == y.count else { return nil }
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxx = 0.0, sxy = 0.0, syy = 0.0
        for (a, b) in zip(x, y) { sxx += (a - mx) * (a - mx); sxy += (a - mx) * (b - my); syy += (b - my) * (b - my) }
        guard sxx > 0 else { return nil }
        let b = sxy / sxx, a = my - b * mx
        slope = b
        intercept = a
        let res = zip(x, y).map { $1 - (a + b * $0) }
        residuals = res
        let sse = res.reduce(0) { $0 + $1 * $1 }
        rSquared = syy > 0 ? 1 - sse / syy : 1
        let s2 = x.count > 2 ? sse / (n - 2) : 0
        slopeSE = (s2 / sxx).squareRoot()
        interceptSE = (s2 * (1 / n + mx * mx / sxx)).squareRoot()
    }
}

/// QC limits of a phantom fit. Our choice (no published limit found): a certified phantom on a
/// working scanner fits a straight line almost exactly, so R² below 0.99 or a rod more than
/// 5 mg/cm³ (or 3 % of the rod range) off the line means a wrong rod, an air bubble, a mismatched
/// certificate or a partly scanned phantom.
enum CalibrationQCLimits {
    static let minRSquared = 0.99
    static let maxResidualAbsolute = 5.0
    static let maxResidualFraction = 0.03
    /// HU per mg/cm³ a real phantom can give: ≈ 1.3 for K2HPO4 at 120 kVp (phantom-anatomy.md §8);
    /// 80–140 kVp, kernels and hydroxyapatite move it well within 0.6–2.2 (our window). Outside it the
    /// rods were matched to the wrong certificate (a two-rod fit always passes the line tests).
    static let plausibleSlope = 0.6...2.2
}

enum PhantomFit {
    /// Fits measured rod HU to the definition's rods (same order) by the definition's equations.
    static func fit(_ def: CalibrationPhantomDefinition, hu: [Double], sd: [Double], voxels: [Int],
                    centers: [[Double]?], radius: Double?, notes: [String]) -> DensityCalibration? {
        let rho = def.rods.map(\.density_mgcm3)
        // Mindways: the dependent variable is HU − ρ_water; the line is shifted afterwards.
        let y: [Double]
        switch def.equations {
        case .linear: y = hu
        case .mindwaysWaterCorrected: y = zip(hu, def.rods).map { $0 - ($1.waterDensity_mgcm3 ?? 0) }
        }
        guard let line = LineFit(x: rho, y: y), line.slope != 0 else { return nil }
        var slope = line.slope, intercept = line.intercept
        if def.equations == .mindwaysWaterCorrected {
            slope -= 0.2174
            intercept += 999.6
        }
        let residualDensity = line.residuals.map { $0 / line.slope }
        let points = def.rods.indices.map { i in
            CalibrationPoint(name: def.rods[i].name, density_mgcm3: rho[i], meanHU: hu[i], sdHU: sd[i], voxels: voxels[i],
                             center: centers[i], radius_mm: radius, residual_mgcm3: residualDensity[i])
        }
        let rms = (residualDensity.reduce(0) { $0 + $1 * $1 } / Double(residualDensity.count)).squareRoot()
        let maxAbs = residualDensity.map(abs).max() ?? 0
        var problems: [String] = []
        if line.slope <= 0 {
            problems.append("HU falls as density rises: the rods are not where the definition says or the phantom is not '\(def.id)'")
        }
        if line.rSquared < CalibrationQCLimits.minRSquared {
            problems.append(String(format: "the rods do not lie on a line (R² %.4f < %.2f): check the phantom definition and the rods' images", line.rSquared, CalibrationQCLimits.minRSquared))
        }
        if line.slope > 0 && !CalibrationQCLimits.plausibleSlope.contains(slope) {
            problems.append(String(format: "slope %.3f HU per mg/cm³ is outside what a calibration phantom gives (%.1f–%.1f): the rods found do not match '%@' (partly scanned phantom, or another phantom)",
                                   slope, CalibrationQCLimits.plausibleSlope.lowerBound, CalibrationQCLimits.plausibleSlope.upperBound, def.id))
        }
        let span = (rho.max() ?? 0) - (rho.min() ?? 0)
        let limit = max(CalibrationQCLimits.maxResidualAbsolute, CalibrationQCLimits.maxResidualFraction * span)
        if maxAbs > limit {
            let worst = points.max { abs($0.residual_mgcm3) < abs($1.residual_mgcm3) }!
            problems.append(String(format: "rod %@ is %.1f mg/cm³ off the line (limit %.1f): air bubble, wrong certificate or rod cut by the scan", worst.name, worst.residual_mgcm3, limit))
        }
        return DensityCalibration(method: .synchronousPhantom, equivalent: def.equivalent, reference: def.id,
                                  slope_HU_per_mgcm3: slope, intercept_HU: intercept, slopeSE: line.slopeSE, interceptSE: line.interceptSE,
                                  rSquared: line.rSquared, rmsResidual_mgcm3: rms, maxAbsResidual_mgcm3: maxAbs, points: points,
                                  qc: CalibrationQC(passed: problems.isEmpty, problems: problems), notes: notes, referenceTissues: nil, contrast: nil)
    }
}
