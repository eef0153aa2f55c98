import Foundation

/// Result of shifting a survival model's linear predictor to a target mean risk.
public struct BaselineRecalibration: Sendable, Equatable, Codable {
    /// δ added to every linear predictor.
    public let shift: Double
    /// The baseline survival S0(t) at the horizon, as given.
    public let baselineSurvival: Double
    /// S0(t)^exp(δ): the baseline survival that gives the same predictions without the shift
    /// (1 − S0'^exp(lp) = 1 − S0^exp(lp + δ)).
    public let recalibratedBaselineSurvival: Double
    public let targetMeanRisk: Double
    /// Mean predicted risk after the shift (equals the target to ~1e-12).
    public let achievedMeanRisk: Double
    /// Mean predicted risk before the shift.
    public let originalMeanRisk: Double
    public let iterations: Int
}

/// Logistic recalibration of an existing model's linear predictor from outcome data.
public struct LogisticRecalibration: Sendable, Equatable, Codable {
    public enum Method: String, Sendable, Codable, CaseIterable {
        /// New lp = a + lp (only the intercept is re-estimated; calibration-in-the-large).
        case intercept
        /// New lp = a + b·lp (logistic recalibration; b is the calibration slope).
        case interceptAndSlope
    }

    public let method: Method
    public let intercept: FittedCoefficient
    /// The slope b; nil for `.intercept` (b = 1).
    public let slope: FittedCoefficient?

    /// The recalibrated linear predictor (log-odds).
    public func linearPredictor(_ lp: Double) -> Double { intercept.coef + (slope?.coef ?? 1) * lp }

    /// The recalibrated probability for an original linear predictor (log-odds).
    public func probability(linearPredictor lp: Double) -> Double { StatisticalFunctions.expit(linearPredictor(lp)) }

    /// The recalibrated probability for an original probability in (0, 1).
    public func probability(_ p: Double) -> Double { probability(linearPredictor: StatisticalFunctions.logit(p)) }
}

public enum Recalibration {
    /// Finds the shift δ of the linear predictor such that the mean predicted risk at the horizon
    /// equals a target (e.g. the local incidence): mean over i of 1 − S0(t)^exp(lpᵢ + δ) = target.
    ///
    /// Method: the mean risk is continuous and strictly increasing in δ, from 0 (δ → −∞) to 1
    /// (δ → +∞), so the root is unique. It is bracketed by doubling an interval around 0 (up to
    /// |δ| ≤ 1024), then found by Newton's method safeguarded with bisection (a Newton step that
    /// leaves the bracket is replaced by the midpoint), to |mean − target| ≤ 1e-13 or a bracket
    /// narrower than 1e-13·(1 + |δ|).
    ///
    /// - Parameters:
    ///   - linearPredictors: each person's linear predictor on the scale S0 refers to (for a
    ///     `CoxFit`, the centred `linearPredictor`).
    ///   - baselineSurvival: S0(t) at the horizon, strictly between 0 and 1.
    ///   - targetMeanRisk: strictly between 0 and 1.
    public static func shiftToMeanRisk(
        linearPredictors lp: [Double], baselineSurvival s0: Double, targetMeanRisk target: Double
    ) throws(FitError) -> BaselineRecalibration {
        guard !lp.isEmpty else { throw .tooFewObservations(what: "recalibration", needed: 1, got: 0) }
        try FitInputCheck.finite("linear predictors", lp)
        guard s0 > 0, s0 < 1 else { throw .invalidArgument("baseline survival must be strictly between 0 and 1, got \(s0)") }
        guard target > 0, target < 1 else { throw .invalidArgument("target mean risk must be strictly between 0 and 1, got \(target)") }
        let h = -log(s0)
        let n = Double(lp.count)
        // f(δ) = mean risk − target, and f'(δ).
        func evaluate(_ delta: Double) -> (f: Double, df: Double) {
            var s = 0.0, ds = 0.0
            for x in lp {
                let hx = h * exp(x + delta)
                s += -expm1(-hx)
                ds += hx * exp(-hx)
            }
            return (s / n - target, ds / n)
        }
        let original = evaluate(0).f + target
        var lo = -1.0, hi = 1.0
        var flo = evaluate(lo).f, fhi = evaluate(hi).f
        let unreachable = FitError.invalidArgument(
            "target mean risk \(target) cannot be reached by shifting the linear predictor by at most 1024")
        while flo > 0 {
            guard lo > -1024 else { throw unreachable }
            lo *= 2
            flo = evaluate(lo).f
        }
        while fhi < 0 {
            guard hi < 1024 else { throw unreachable }
            hi *= 2
            fhi = evaluate(hi).f
        }
        var delta = flo == 0 ? lo : (fhi == 0 ? hi : 0.5 * (lo + hi))
        var iterations = 0
        var current = evaluate(delta)
        while abs(current.f) > 1e-13 && hi - lo > 1e-13 * (1 + abs(delta)) && iterations < 500 {
            iterations += 1
            if current.f > 0 { hi = delta } else { lo = delta }
            var next = current.df > 0 ? delta - current.f / current.df : .nan
            if !(next > lo && next < hi) { next = 0.5 * (lo + hi) }
            delta = next
            current = evaluate(delta)
        }
        return BaselineRecalibration(
            shift: delta, baselineSurvival: s0, recalibratedBaselineSurvival: pow(s0, exp(delta)),
            targetMeanRisk: target, achievedMeanRisk: current.f + target, originalMeanRisk: original,
            iterations: iterations)
    }

    /// Re-estimates the intercept (and optionally the slope) of an existing model's linear
    /// predictor (log-odds) by logistic regression on observed 0/1 outcomes.
    public static func logistic(
        outcome: [Double], linearPredictor lp: [Double], method: LogisticRecalibration.Method = .intercept
    ) throws(FitError) -> LogisticRecalibration {
        try FitInputCheck.sameLength("linear predictors", lp.count, expected: outcome.count)
        try FitInputCheck.finite("linear predictors", lp)
        switch method {
        case .intercept:
            let fit = try LogisticRegression.fit(outcome: outcome, covariates: [], names: [], options: LogisticFitOptions(offset: lp))
            return LogisticRecalibration(method: method, intercept: fit.coefficients[0], slope: nil)
        case .interceptAndSlope:
            let fit = try LogisticRegression.fit(outcome: outcome, covariates: [lp], names: ["linear predictor"])
            return LogisticRecalibration(method: method, intercept: fit.coefficients[0], slope: fit.coefficients[1])
        }
    }
}
