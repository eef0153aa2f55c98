import Foundation

/// Harrell's concordance index with its pair counts.
public struct ConcordanceResult: Sendable, Equatable, Codable {
    /// (concordant + ½·tiedRisk) / comparablePairs.
    public let index: Double
    public let concordant: Int
    public let discordant: Int
    /// Comparable pairs whose risk scores are equal (each counts ½).
    public let tiedRisk: Int
    public let comparablePairs: Int
}

/// Concordance for censored survival data.
public enum Concordance {
    /// Harrell's C for right-censored data, O(n log n).
    ///
    /// `risk` is a risk score: **higher means an earlier event** (a Cox linear predictor; pass the
    /// negative of a predicted survival time). A pair (i, j) is comparable when subject i had an
    /// event and j was still under observation afterwards: tⱼ > tᵢ, or tⱼ = tᵢ with j censored
    /// (a subject censored at an event time is taken to outlive it). Pairs in which both had an
    /// event at the same time, or the shorter time is censored, are not comparable. A comparable
    /// pair is concordant when riskᵢ > riskⱼ, discordant when riskᵢ < riskⱼ, and counts ½ when the
    /// risks are equal. These are the conventions of lifelines' `concordance_index` and
    /// scikit-survival's `concordance_index_censored`.
    public static func harrell(time: [Double], event: [Double], risk: [Double]) throws(FitError) -> ConcordanceResult {
        try FitInputCheck.sameLength("event indicator", event.count, expected: time.count)
        try FitInputCheck.sameLength("risk scores", risk.count, expected: time.count)
        try FitInputCheck.finite("time", time)
        try FitInputCheck.finite("risk scores", risk)
        try FitInputCheck.binary("event indicator", event)
        let result = harrellUnchecked(time: time, event: event, risk: risk)
        guard result.comparablePairs > 0 else {
            throw .degenerateOutcome("no comparable pairs (no event is followed by a longer observed time)")
        }
        return result
    }

    /// As `harrell` for inputs already checked; index is NaN when no pair is comparable.
    static func harrellUnchecked(time: [Double], event: [Double], risk: [Double]) -> ConcordanceResult {
        let n = time.count
        // Ranks of the risk scores (equal scores share a rank).
        let byRisk = risk.indices.sorted { risk[$0] < risk[$1] }
        var rank = [Int](repeating: 0, count: n)
        var m = 0
        for (k, i) in byRisk.enumerated() {
            if k > 0 && risk[i] != risk[byRisk[k - 1]] { m += 1 }
            rank[i] = m
        }
        var tree = FenwickCounts(size: m + 1)
        let byTime = time.indices.sorted { time[$0] > time[$1] }
        var concordant = 0, discordant = 0, tied = 0
        var start = 0
        while start < n {
            var end = start + 1
            while end < n && time[byTime[end]] == time[byTime[start]] { end += 1 }
            let group = byTime[start..<end]
            // Censored at this time: at risk for events at the same time.
            for i in group where event[i] != 1 { tree.add(rank[i]) }
            for i in group where event[i] == 1 {
                let less = tree.prefixCount(rank[i])  // ranks < rank[i]
                let equal = tree.count(at: rank[i])
                let greater = tree.total - less - equal
                concordant += less
                tied += equal
                discordant += greater
            }
            for i in group where event[i] == 1 { tree.add(rank[i]) }
            start = end
        }
        let comparable = concordant + discordant + tied
        let index = comparable > 0 ? (Double(concordant) + 0.5 * Double(tied)) / Double(comparable) : .nan
        return ConcordanceResult(index: index, concordant: concordant, discordant: discordant, tiedRisk: tied, comparablePairs: comparable)
    }
}

/// Counts of inserted ranks with O(log n) prefix sums (binary indexed tree).
struct FenwickCounts {
    private var tree: [Int]
    private var single: [Int]
    private(set) var total = 0

    init(size: Int) {
        tree = [Int](repeating: 0, count: size + 1)
        single = [Int](repeating: 0, count: size)
    }

    mutating func add(_ rank: Int) {
        single[rank] += 1
        total += 1
        var i = rank + 1
        while i < tree.count {
            tree[i] += 1
            i += i & (-i)
        }
    }

    /// Number of inserted ranks strictly below `rank`.
    func prefixCount(_ rank: Int) -> Int {
        var s = 0
        var i = rank
        while i > 0 {
            s += tree[i]
            i -= i & (-i)
        }
        return s
    }

    func count(at rank: Int) -> Int { single[rank] }
}
