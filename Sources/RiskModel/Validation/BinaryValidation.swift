import Foundation

/// The usual validation of predicted probabilities against a binary outcome, in one report.
public struct BinaryValidationReport: Sendable, Equatable, Codable {
    public let observations: Int
    public let events: Int
    /// Discrimination: AUC with DeLong 95 % CI.
    public let auc: AUCResult
    /// O/E, calibration-in-the-large, calibration slope, Brier and scaled Brier.
    public let calibration: CalibrationSummary
    /// Hosmer–Lemeshow Ĉ with its groups (also the points of a calibration plot).
    public let hosmerLemeshow: HosmerLemeshowResult
    /// Decision curve at the requested thresholds.
    public let netBenefit: [NetBenefitPoint]
}

public enum BinaryValidation {
    /// Default decision-curve thresholds: 0.01, 0.02, …, 0.99.
    public static let defaultThresholds: [Double] = (1...99).map { Double($0) / 100 }

    /// Computes every metric of `BinaryValidationReport`. Predictions must be strictly between 0 and 1.
    public static func evaluate(
        outcome: [Double], predicted: [Double], groups: Int = 10, thresholds: [Double] = defaultThresholds
    ) throws(FitError) -> BinaryValidationReport {
        try Calibration.check(outcome: outcome, predicted: predicted, open: true)
        return BinaryValidationReport(
            observations: outcome.count, events: Int(outcome.reduce(0, +)),
            auc: try ROC.auc(outcome: outcome, score: predicted),
            calibration: try Calibration.summary(outcome: outcome, predicted: predicted),
            hosmerLemeshow: try HosmerLemeshow.test(outcome: outcome, predicted: predicted, groups: groups),
            netBenefit: try DecisionCurve.netBenefit(outcome: outcome, predicted: predicted, thresholds: thresholds))
    }
}
