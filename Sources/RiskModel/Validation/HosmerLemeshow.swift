import Foundation

/// The Hosmer–Lemeshow Ĉ goodness-of-fit test.
public struct HosmerLemeshowResult: Sendable, Equatable, Codable {
    /// Ĉ = Σₖ (Oₖ − nₖp̄ₖ)² / (nₖp̄ₖ(1 − p̄ₖ)).
    public let statistic: Double
    /// Number of groups − 2.
    public let degreesOfFreedom: Int
    /// P(χ²(df) ≥ Ĉ).
    public let p: Double
    public let groups: [CalibrationGroup]
}

public enum HosmerLemeshow {
    /// Hosmer–Lemeshow Ĉ over `groups` quantile groups of predicted risk (deciles by default),
    /// referred to χ² with (groups − 2) degrees of freedom (the development-data convention).
    ///
    /// Grouping: subjects sorted by prediction; group k ends at rank ⌊n·k/g⌋, extended past ties so
    /// equal predictions share a group; so with many ties fewer than g groups may result, and the df
    /// uses the number actually formed. At least 3 groups are needed.
    public static func test(outcome: [Double], predicted: [Double], groups g: Int = 10) throws(FitError) -> HosmerLemeshowResult {
        try Calibration.check(outcome: outcome, predicted: predicted, open: false)
        guard g >= 3 else { throw .invalidArgument("Hosmer–Lemeshow needs at least 3 groups, got \(g)") }
        let groups = RiskGroups.summarize(
            outcome: outcome, predicted: predicted, groups: RiskGroups.quantileGroups(predicted, groups: g))
        guard groups.count >= 3 else {
            throw .invalidArgument("only \(groups.count) distinct risk groups could be formed (too many tied predictions); Hosmer–Lemeshow needs at least 3")
        }
        var c = 0.0
        for grp in groups {
            let n = Double(grp.count)
            let pbar = grp.meanPredicted
            let v = n * pbar * (1 - pbar)
            guard v > 0 else {
                throw .invalidArgument("a risk group has mean prediction \(pbar) (0 or 1); Ĉ is undefined — use fewer groups")
            }
            let d = Double(grp.events) - n * pbar
            c += d * d / v
        }
        let df = groups.count - 2
        return HosmerLemeshowResult(
            statistic: c, degreesOfFreedom: df,
            p: StatisticalFunctions.chiSquareSurvival(c, degreesOfFreedom: Double(df)), groups: groups)
    }
}
