import Foundation

/// Area under the ROC curve with its DeLong standard error and confidence interval.
public struct AUCResult: Sendable, Equatable, Codable {
    /// P(score of a case > score of a control), ties counting ½ (equals the Mann–Whitney U / (n₁n₀)).
    public let auc: Double
    /// DeLong et al. (1988) standard error from the structural components (placement values).
    public let standardError: Double
    /// Wald interval auc ± z·SE on the AUC scale, clipped to [0, 1] (as pROC's DeLong interval).
    public let lower: Double
    public let upper: Double
    /// Confidence level of the interval (0.95 by default).
    public let level: Double
    /// Number of cases (outcome 1) and controls (outcome 0).
    public let cases: Int
    public let controls: Int
}

/// DeLong comparison of two correlated AUCs measured on the same subjects.
public struct AUCComparison: Sendable, Equatable, Codable {
    public let aucA: Double
    public let aucB: Double
    /// aucB − aucA.
    public let difference: Double
    public let standardError: Double
    public let z: Double
    /// Two-sided p-value of H₀: the AUCs are equal.
    public let p: Double
}

/// One point of an empirical ROC curve: calling "positive" every score ≥ threshold.
public struct ROCPoint: Sendable, Equatable, Codable {
    /// The score threshold (+∞ for the first point, where nobody is called positive).
    public let threshold: Double
    /// 1 − specificity.
    public let falsePositiveRate: Double
    /// Sensitivity.
    public let truePositiveRate: Double
}

/// ROC analysis of a binary outcome (1 = case) against a score (higher = more likely a case).
public enum ROC {
    /// AUC with DeLong's variance, computed in O(n log n): each case's placement value is the
    /// fraction of controls it outranks (ties ½), each control's the fraction of cases that
    /// outrank it; Var(AUC) = s²(case placements)/n₁ + s²(control placements)/n₀ with n − 1
    /// denominators (DeLong, DeLong & Clarke-Pearson, Biometrics 1988;44:837–845).
    /// Needs at least two cases and two controls.
    public static func auc(outcome: [Double], score: [Double], level: Double = 0.95) throws(FitError) -> AUCResult {
        try checkInputs(outcome: outcome, score: score)
        guard level > 0, level < 1 else { throw .invalidArgument("confidence level must be in (0, 1), got \(level)") }
        let (v10, v01) = placementValues(outcome: outcome, score: score)
        guard v10.count >= 2, v01.count >= 2 else {
            throw .tooFewObservations(what: "DeLong AUC variance (cases and controls each)", needed: 2, got: Swift.min(v10.count, v01.count))
        }
        let a = mean(v10)
        let variance = sampleVariance(v10, mean: a) / Double(v10.count) + sampleVariance(v01, mean: a) / Double(v01.count)
        let se = variance.squareRoot()
        let k = StatisticalFunctions.twoSidedCritical(level: level)
        return AUCResult(
            auc: a, standardError: se, lower: Swift.max(0, a - k * se), upper: Swift.min(1, a + k * se),
            level: level, cases: v10.count, controls: v01.count)
    }

    /// DeLong's test for two scores on the same subjects: the covariance of the two AUCs comes
    /// from the covariances of their placement values.
    public static func compare(outcome: [Double], scoreA: [Double], scoreB: [Double]) throws(FitError) -> AUCComparison {
        try checkInputs(outcome: outcome, score: scoreA)
        try checkInputs(outcome: outcome, score: scoreB)
        let (a10, a01) = placementValues(outcome: outcome, score: scoreA)
        let (b10, b01) = placementValues(outcome: outcome, score: scoreB)
        guard a10.count >= 2, a01.count >= 2 else {
            throw .tooFewObservations(what: "DeLong comparison (cases and controls each)", needed: 2, got: Swift.min(a10.count, a01.count))
        }
        let aucA = mean(a10), aucB = mean(b10)
        func cov(_ x: [Double], _ mx: Double, _ y: [Double], _ my: Double) -> Double {
            var s = 0.0
            for i in x.indices { s += (x[i] - mx) * (y[i] - my) }
            return s / Double(x.count - 1)
        }
        let n1 = Double(a10.count), n0 = Double(a01.count)
        let varA = cov(a10, aucA, a10, aucA) / n1 + cov(a01, aucA, a01, aucA) / n0
        let varB = cov(b10, aucB, b10, aucB) / n1 + cov(b01, aucB, b01, aucB) / n0
        let covAB = cov(a10, aucA, b10, aucB) / n1 + cov(a01, aucA, b01, aucB) / n0
        let se = Swift.max(0, varA + varB - 2 * covAB).squareRoot()
        let diff = aucB - aucA
        let z = se > 0 ? diff / se : (diff == 0 ? 0 : .infinity)
        return AUCComparison(aucA: aucA, aucB: aucB, difference: diff, standardError: se, z: z, p: StatisticalFunctions.twoSidedNormalP(z))
    }

    /// The empirical ROC curve from (0, 0) to (1, 1), one point per distinct score (ties move
    /// diagonally).
    public static func curve(outcome: [Double], score: [Double]) throws(FitError) -> [ROCPoint] {
        try checkInputs(outcome: outcome, score: score)
        let n1 = outcome.reduce(0, +)
        let n0 = Double(outcome.count) - n1
        let order = score.indices.sorted { score[$0] > score[$1] }
        var points = [ROCPoint(threshold: .infinity, falsePositiveRate: 0, truePositiveRate: 0)]
        var tp = 0.0, fp = 0.0
        var k = 0
        while k < order.count {
            let s = score[order[k]]
            while k < order.count && score[order[k]] == s {
                if outcome[order[k]] == 1 { tp += 1 } else { fp += 1 }
                k += 1
            }
            points.append(ROCPoint(threshold: s, falsePositiveRate: fp / n0, truePositiveRate: tp / n1))
        }
        return points
    }

    static func checkInputs(outcome: [Double], score: [Double]) throws(FitError) {
        try FitInputCheck.sameLength("scores", score.count, expected: outcome.count)
        try FitInputCheck.finite("scores", score)
        try FitInputCheck.binaryWithBoth("outcome", outcome)
    }

    /// Placement values: for each case, the fraction of controls with a lower score (+½ per tie);
    /// for each control, the fraction of cases with a higher score (+½ per tie). Cases and
    /// controls in input order.
    static func placementValues(outcome: [Double], score: [Double]) -> (cases: [Double], controls: [Double]) {
        var caseScores: [Double] = []
        var controlScores: [Double] = []
        for (y, s) in zip(outcome, score) {
            if y == 1 { caseScores.append(s) } else { controlScores.append(s) }
        }
        let sortedCases = caseScores.sorted()
        let sortedControls = controlScores.sorted()
        let n1 = Double(caseScores.count), n0 = Double(controlScores.count)
        let v10 = caseScores.map { s -> Double in
            let below = lowerBound(sortedControls, s)
            let equal = upperBound(sortedControls, s) - below
            return (Double(below) + 0.5 * Double(equal)) / n0
        }
        let v01 = controlScores.map { s -> Double in
            let atOrBelow = upperBound(sortedCases, s)
            let equal = atOrBelow - lowerBound(sortedCases, s)
            return (Double(sortedCases.count - atOrBelow) + 0.5 * Double(equal)) / n1
        }
        return (v10, v01)
    }

    /// First index whose value is ≥ x.
    private static func lowerBound(_ a: [Double], _ x: Double) -> Int {
        var lo = 0, hi = a.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if a[mid] < x { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// First index whose value is > x.
    private static func upperBound(_ a: [Double], _ x: Double) -> Int {
        var lo = 0, hi = a.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if a[mid] <= x { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private static func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }

    private static func sampleVariance(_ v: [Double], mean m: Double) -> Double {
        var s = 0.0
        for x in v { s += (x - m) * (x - m) }
        return s / Double(v.count - 1)
    }
}
