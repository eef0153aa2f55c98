import Foundation

/// Net reclassification improvement of a new model over an old one.
public struct NRIResult: Sendable, Equatable, Codable {
    /// P(up | event) − P(down | event).
    public let events: Double
    /// P(down | non-event) − P(up | non-event).
    public let nonEvents: Double
    /// events + nonEvents.
    public let total: Double
    public let eventsUp: Double
    public let eventsDown: Double
    public let nonEventsUp: Double
    public let nonEventsDown: Double
    /// Pencina et al. (Stat Med 2008;27:157–172) standard error under H₀ (McNemar form):
    /// √((p↑,e + p↓,e)/n_e + (p↑,ne + p↓,ne)/n_ne).
    public let standardError: Double
    public let z: Double
    public let p: Double
}

/// Integrated discrimination improvement of a new model over an old one.
public struct IDIResult: Sendable, Equatable, Codable {
    /// eventsChange − nonEventsChange.
    public let idi: Double
    /// Mean(new − old) among events.
    public let eventsChange: Double
    /// Mean(new − old) among non-events.
    public let nonEventsChange: Double
    /// √(s²_e/n_e + s²_ne/n_ne) with s the SD of the paired differences in each group (Pencina 2008).
    public let standardError: Double
    public let z: Double
    public let p: Double
}

/// NRI and IDI (definitions: shared/reference/risk-model.md §4.3). Inputs: binary outcome, the
/// old model's and the new model's predicted probabilities for the same subjects.
public enum Reclassification {
    /// Categorical NRI with risk categories cut at `cutoffs` (ascending, inside (0, 1)): a
    /// prediction p is in category k = number of cut-offs ≤ p, so p equal to a cut-off belongs to the
    /// higher category. "Up" means a higher category under the new model.
    public static func categoricalNRI(
        outcome: [Double], old: [Double], new: [Double], cutoffs: [Double]
    ) throws(FitError) -> NRIResult {
        try check(outcome: outcome, old: old, new: new)
        guard !cutoffs.isEmpty else { throw .invalidArgument("categorical NRI needs at least one cut-off") }
        for (i, c) in cutoffs.enumerated() {
            guard c > 0, c < 1 else { throw .invalidArgument("cut-offs must be strictly between 0 and 1, got \(c)") }
            if i > 0 && c <= cutoffs[i - 1] { throw .invalidArgument("cut-offs must be strictly increasing") }
        }
        func category(_ p: Double) -> Int { cutoffs.reduce(0) { $0 + (p >= $1 ? 1 : 0) } }
        return nri(outcome: outcome) { i in
            let a = category(old[i]), b = category(new[i])
            return b > a ? 1 : (b < a ? -1 : 0)
        }
    }

    /// Continuous (category-free) NRI: "up" is any increase of the predicted risk.
    public static func continuousNRI(outcome: [Double], old: [Double], new: [Double]) throws(FitError) -> NRIResult {
        try check(outcome: outcome, old: old, new: new)
        return nri(outcome: outcome) { i in new[i] > old[i] ? 1 : (new[i] < old[i] ? -1 : 0) }
    }

    /// Integrated discrimination improvement.
    public static func idi(outcome: [Double], old: [Double], new: [Double]) throws(FitError) -> IDIResult {
        try check(outcome: outcome, old: old, new: new)
        var de: [Double] = [], dn: [Double] = []
        for i in outcome.indices {
            let d = new[i] - old[i]
            if outcome[i] == 1 { de.append(d) } else { dn.append(d) }
        }
        guard de.count >= 2, dn.count >= 2 else {
            throw .tooFewObservations(what: "IDI standard error (events and non-events each)", needed: 2, got: Swift.min(de.count, dn.count))
        }
        func meanVar(_ v: [Double]) -> (Double, Double) {
            let m = v.reduce(0, +) / Double(v.count)
            let s = v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count - 1)
            return (m, s)
        }
        let (me, ve) = meanVar(de)
        let (mn, vn) = meanVar(dn)
        let idi = me - mn
        let se = (ve / Double(de.count) + vn / Double(dn.count)).squareRoot()
        let z = se > 0 ? idi / se : (idi == 0 ? 0 : .infinity)
        return IDIResult(idi: idi, eventsChange: me, nonEventsChange: mn, standardError: se, z: z, p: StatisticalFunctions.twoSidedNormalP(z))
    }

    private static func check(outcome: [Double], old: [Double], new: [Double]) throws(FitError) {
        try FitInputCheck.sameLength("old model's predictions", old.count, expected: outcome.count)
        try FitInputCheck.sameLength("new model's predictions", new.count, expected: outcome.count)
        try FitInputCheck.finite("old model's predictions", old)
        try FitInputCheck.finite("new model's predictions", new)
        try FitInputCheck.probabilities(old, open: false)
        try FitInputCheck.probabilities(new, open: false)
        try FitInputCheck.binaryWithBoth("outcome", outcome)
    }

    /// `move(i)` is +1 (up), −1 (down) or 0.
    private static func nri(outcome: [Double], move: (Int) -> Int) -> NRIResult {
        var eUp = 0.0, eDown = 0.0, nUp = 0.0, nDown = 0.0, ne = 0.0, nn = 0.0
        for i in outcome.indices {
            let m = move(i)
            if outcome[i] == 1 {
                ne += 1
                if m > 0 { eUp += 1 } else if m < 0 { eDown += 1 }
            } else {
                nn += 1
                if m > 0 { nUp += 1 } else if m < 0 { nDown += 1 }
            }
        }
        let pue = eUp / ne, pde = eDown / ne, pun = nUp / nn, pdn = nDown / nn
        let ev = pue - pde, nev = pdn - pun
        let total = ev + nev
        let se = ((pue + pde) / ne + (pun + pdn) / nn).squareRoot()
        let z = se > 0 ? total / se : 0
        return NRIResult(
            events: ev, nonEvents: nev, total: total, eventsUp: pue, eventsDown: pde, nonEventsUp: pun,
            nonEventsDown: pdn, standardError: se, z: z, p: StatisticalFunctions.twoSidedNormalP(z))
    }
}
