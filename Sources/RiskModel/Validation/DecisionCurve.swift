import Foundation

/// Net benefit at one threshold probability.
public struct NetBenefitPoint: Sendable, Equatable, Codable {
    /// Threshold probability pₜ: treat when the predicted risk is ≥ pₜ.
    public let threshold: Double
    /// TP/n − FP/n · pₜ/(1 − pₜ) for the model.
    public let model: Double
    /// π − (1 − π) · pₜ/(1 − pₜ): treat everyone (π = prevalence).
    public let treatAll: Double
    /// Treat no one: always 0.
    public let treatNone: Double
    public let truePositives: Int
    public let falsePositives: Int
}

/// Decision-curve analysis (Vickers & Elkin, Med Decis Making 2006;26:565–574).
public enum DecisionCurve {
    /// Net benefit of the model, of treating all and of treating none at each threshold
    /// (each strictly between 0 and 1). A subject counts as treated when prediction ≥ threshold.
    public static func netBenefit(outcome: [Double], predicted: [Double], thresholds: [Double]) throws(FitError) -> [NetBenefitPoint] {
        try FitInputCheck.sameLength("predicted probabilities", predicted.count, expected: outcome.count)
        try FitInputCheck.finite("predicted probabilities", predicted)
        try FitInputCheck.binary("outcome", outcome)
        try FitInputCheck.probabilities(predicted, open: false)
        guard !outcome.isEmpty else { throw .tooFewObservations(what: "net benefit", needed: 1, got: 0) }
        for t in thresholds where !(t > 0 && t < 1) {
            throw .invalidArgument("threshold probabilities must be strictly between 0 and 1, got \(t)")
        }
        let n = Double(outcome.count)
        let prevalence = outcome.reduce(0, +) / n
        // Sort once; count cases and controls at or above each threshold by binary search.
        let order = predicted.indices.sorted { predicted[$0] < predicted[$1] }
        let sorted = order.map { predicted[$0] }
        var casesAbove = [Int](repeating: 0, count: order.count + 1)  // cases among sorted[k...]
        for k in stride(from: order.count - 1, through: 0, by: -1) {
            casesAbove[k] = casesAbove[k + 1] + (outcome[order[k]] == 1 ? 1 : 0)
        }
        return thresholds.map { t in
            var lo = 0, hi = sorted.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if sorted[mid] < t { lo = mid + 1 } else { hi = mid }
            }
            let tp = casesAbove[lo]
            let fp = (sorted.count - lo) - tp
            let odds = t / (1 - t)
            return NetBenefitPoint(
                threshold: t, model: Double(tp) / n - Double(fp) / n * odds,
                treatAll: prevalence - (1 - prevalence) * odds, treatNone: 0, truePositives: tp, falsePositives: fp)
        }
    }
}
