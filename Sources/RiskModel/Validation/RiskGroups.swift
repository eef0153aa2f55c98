import Foundation

/// One group of subjects with similar predicted risk (for calibration plots and Hosmer–Lemeshow).
public struct CalibrationGroup: Sendable, Equatable, Codable {
    public let count: Int
    /// Observed events.
    public let events: Int
    /// Sum of predicted probabilities (expected events).
    public let expected: Double
    public let meanPredicted: Double
    /// events / count.
    public let observedRate: Double
    /// Wilson 95 % interval of the observed rate.
    public let observedLower: Double
    public let observedUpper: Double
    /// Smallest and largest prediction in the group.
    public let minPredicted: Double
    public let maxPredicted: Double
}

/// Quantile groups of predicted risk.
enum RiskGroups {
    /// Splits subjects sorted by prediction into `g` groups of (nearly) equal size: group k ends at
    /// rank ⌊n·k/g⌋, moved up past any ties so that equal predictions are always in the same group
    /// (groups that become empty are dropped, so fewer than g may result). Deterministic and
    /// independent of input order. Returns the subjects' indices per group, lowest risk first.
    static func quantileGroups(_ predicted: [Double], groups g: Int) -> [[Int]] {
        let n = predicted.count
        let order = predicted.indices.sorted { predicted[$0] < predicted[$1] || (predicted[$0] == predicted[$1] && $0 < $1) }
        var result: [[Int]] = []
        var start = 0
        for k in 1...g {
            var end = k == g ? n : (n * k) / g
            if end <= start { continue }
            while end < n && predicted[order[end]] == predicted[order[end - 1]] { end += 1 }
            result.append(Array(order[start..<end]))
            start = end
            if start >= n { break }
        }
        return result
    }

    static func summarize(outcome: [Double], predicted: [Double], groups: [[Int]]) -> [CalibrationGroup] {
        groups.map { idx in
            var events = 0
            var sum = 0.0
            var lo = Double.infinity, hi = -Double.infinity
            for i in idx {
                if outcome[i] == 1 { events += 1 }
                sum += predicted[i]
                lo = Swift.min(lo, predicted[i])
                hi = Swift.max(hi, predicted[i])
            }
            let n = Double(idx.count)
            let rate = Double(events) / n
            let (wl, wu) = wilson(events: Double(events), n: n, z: 1.959963984540054)
            return CalibrationGroup(
                count: idx.count, events: events, expected: sum, meanPredicted: sum / n, observedRate: rate,
                observedLower: wl, observedUpper: wu, minPredicted: lo, maxPredicted: hi)
        }
    }

    /// Wilson score interval for a binomial proportion.
    static func wilson(events x: Double, n: Double, z: Double) -> (Double, Double) {
        let p = x / n
        let z2 = z * z
        let centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        let half = z / (1 + z2 / n) * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot()
        return (Swift.max(0, centre - half), Swift.min(1, centre + half))
    }
}
