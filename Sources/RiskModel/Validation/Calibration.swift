import Foundation

/// Calibration of predicted probabilities against a binary outcome.
public struct CalibrationSummary: Sendable, Equatable, Codable {
    public let observations: Int
    public let observedEvents: Int
    /// Σ pᵢ.
    public let expectedEvents: Double
    /// Observed / expected events (ideal 1).
    public let observedToExpected: Double
    /// Calibration-in-the-large: intercept a of logit P(y = 1) = a + offset(logit p) (ideal 0;
    /// a > 0 means the predictions are too low on average).
    public let calibrationInTheLarge: FittedCoefficient
    /// Calibration slope b of logit P(y = 1) = a + b·logit p (ideal 1; b < 1 means predictions too
    /// extreme, typical of overfitting).
    public let calibrationSlope: FittedCoefficient
    /// The intercept a of the slope model (not the calibration-in-the-large).
    public let slopeModelIntercept: FittedCoefficient
    /// (1/n) Σ (pᵢ − yᵢ)².
    public let brier: Double
    /// 1 − Brier / (ȳ(1 − ȳ)) (1 perfect, 0 no better than predicting the prevalence for everyone).
    public let scaledBrier: Double
}

/// Calibration metrics for predicted probabilities (definitions: shared/reference/risk-model.md §4.3).
public enum Calibration {
    /// Everything in `CalibrationSummary`. Predictions must lie strictly between 0 and 1 (the
    /// intercept and slope use logit p).
    public static func summary(outcome: [Double], predicted: [Double]) throws(FitError) -> CalibrationSummary {
        try check(outcome: outcome, predicted: predicted, open: true)
        let citl = try calibrationInTheLarge(outcome: outcome, predicted: predicted)
        let (a, b) = try calibrationSlope(outcome: outcome, predicted: predicted)
        let (brier, scaled) = try brierScore(outcome: outcome, predicted: predicted)
        let expected = predicted.reduce(0, +)
        let observed = outcome.reduce(0, +)
        return CalibrationSummary(
            observations: outcome.count, observedEvents: Int(observed), expectedEvents: expected,
            observedToExpected: observed / expected, calibrationInTheLarge: citl, calibrationSlope: b,
            slopeModelIntercept: a, brier: brier, scaledBrier: scaled)
    }

    /// Observed / expected number of events, Σyᵢ / Σpᵢ.
    public static func observedToExpected(outcome: [Double], predicted: [Double]) throws(FitError) -> Double {
        try check(outcome: outcome, predicted: predicted, open: false)
        let e = predicted.reduce(0, +)
        guard e > 0 else { throw .invalidArgument("all predicted probabilities are 0; O/E is undefined") }
        return outcome.reduce(0, +) / e
    }

    /// Brier score and scaled Brier score 1 − Brier/(ȳ(1 − ȳ)).
    public static func brierScore(outcome: [Double], predicted: [Double]) throws(FitError) -> (brier: Double, scaled: Double) {
        try check(outcome: outcome, predicted: predicted, open: false)
        var s = 0.0
        for (y, p) in zip(outcome, predicted) { s += (p - y) * (p - y) }
        let n = Double(outcome.count)
        let brier = s / n
        let ybar = outcome.reduce(0, +) / n
        return (brier, 1 - brier / (ybar * (1 - ybar)))
    }

    /// Calibration-in-the-large: the intercept of a logistic model with logit(p) as offset.
    public static func calibrationInTheLarge(outcome: [Double], predicted: [Double]) throws(FitError) -> FittedCoefficient {
        try check(outcome: outcome, predicted: predicted, open: true)
        let lp = predicted.map(StatisticalFunctions.logit)
        let fit = try LogisticRegression.fit(outcome: outcome, covariates: [], names: [], options: LogisticFitOptions(offset: lp))
        return fit.coefficients[0]
    }

    /// Calibration slope: logistic regression of the outcome on logit(p); returns (intercept, slope).
    public static func calibrationSlope(
        outcome: [Double], predicted: [Double]
    ) throws(FitError) -> (intercept: FittedCoefficient, slope: FittedCoefficient) {
        try check(outcome: outcome, predicted: predicted, open: true)
        let lp = predicted.map(StatisticalFunctions.logit)
        let fit = try LogisticRegression.fit(outcome: outcome, covariates: [lp], names: ["logit(predicted)"])
        return (fit.coefficients[0], fit.coefficients[1])
    }

    /// Observed against predicted in quantile groups of predicted risk (deciles by default; equal
    /// predictions are kept in one group, see `HosmerLemeshow`), for calibration plots.
    public static func groups(outcome: [Double], predicted: [Double], count g: Int = 10) throws(FitError) -> [CalibrationGroup] {
        try check(outcome: outcome, predicted: predicted, open: false)
        guard g >= 1 else { throw .invalidArgument("number of groups must be ≥ 1, got \(g)") }
        return RiskGroups.summarize(outcome: outcome, predicted: predicted, groups: RiskGroups.quantileGroups(predicted, groups: g))
    }

    static func check(outcome: [Double], predicted: [Double], open: Bool) throws(FitError) {
        try FitInputCheck.sameLength("predicted probabilities", predicted.count, expected: outcome.count)
        try FitInputCheck.finite("predicted probabilities", predicted)
        try FitInputCheck.binaryWithBoth("outcome", outcome)
        try FitInputCheck.probabilities(predicted, open: open)
    }
}
