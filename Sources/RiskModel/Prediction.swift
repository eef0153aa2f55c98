import Foundation

/// What `osteoct risk` reports for one patient.
public struct RiskResult: Codable, Sendable {
    public struct Model: Codable, Sendable {
        public var id: String
        public var version: String
        public var name: String
        public var validationStatus: String
        public var disclaimer: String
    }
    public struct Probability: Codable, Sendable {
        public var years: Int
        public var percent: Double
        /// 95 % interval (2.5th and 97.5th percentiles of the Monte Carlo draws), when computed.
        public var lower95: Double?
        public var upper95: Double?
    }
    public struct Category: Codable, Sendable {
        public var level: String
        public var reasons: [String]
    }
    public struct RelativeRisk: Codable, Sendable {
        public var horizonYears: Int
        public var sameAgeNoRiskFactorsPercent: Double
        public var ratio: Double
        public var reference: String
    }
    public struct LogHazardContribution: Codable, Sendable {
        public var group: String
        public var modality: String
        public var logHazard: Double
        /// Present when the piece applies only for part of the horizon (imminent risk).
        public var firstYearsOnly: Double?
    }
    public struct ShapleyValue: Codable, Sendable {
        public var group: String
        public var modality: String
        /// Change in the probability (percentage points) this group accounts for.
        public var percentagePoints: Double
    }
    public struct Shapley: Codable, Sendable {
        public var horizonYears: Int
        public var baselinePercent: Double
        public var percent: Double
        public var method: String
        public var values: [ShapleyValue]
        public var byModality: [String: Double]
    }
    public struct Note: Codable, Sendable {
        public var item: String
        public var detail: String
    }
    public struct WhatIfResult: Codable, Sendable {
        public var id: String
        public var label: String
        public var percent: Double
        public var changePercentagePoints: Double
        public var horizonYears: Int
        public var source: String
    }

    public var model: Model
    public var probabilities: [Probability]
    public var category: Category
    public var relativeRisk: RelativeRisk
    /// On the log-hazard scale, relative to QFracture's centre (a woman of ≈ 51.3 years, BMI 25.9, no risk factors).
    public var logHazardContributions: [LogHazardContribution]
    public var shapley: Shapley
    public var notUsed: [Note]
    public var missing: [Note]
    public var whatIf: [WhatIfResult]
    public var bmiUsed: Double?
    public var bmiSource: String?
}

/// Options of one prediction.
public struct PredictionOptions: Sendable {
    /// Monte Carlo draws for the 95 % interval; 0 = no interval.
    public var intervalDraws: Int = 2000
    public var seed: UInt64 = 1
    public init(intervalDraws: Int = 2000, seed: UInt64 = 1) {
        self.intervalDraws = intervalDraws
        self.seed = seed
    }
}

public struct RiskPredictor: Sendable {
    public let model: ModelDefinition

    public init(model: ModelDefinition) {
        self.model = model
    }

    /// Players above this count are explained by modality (still exact), as 2^k coalitions grow fast.
    static let maxShapleyPlayers = 20

    public func predict(_ input: PatientFeatures, options: PredictionOptions = PredictionOptions()) throws(RiskError) -> RiskResult {
        let ev = Evaluator(model: model)
        let f = try ev.normalised(input)
        let e = try ev.evaluate(f)
        let horizon = model.horizons.max() ?? 10
        var probabilities: [RiskResult.Probability] = []
        for t in model.horizons.sorted() {
            probabilities.append(.init(years: t, percent: 100 * (try ev.probability(e, years: t)), lower95: nil, upper95: nil))
        }
        if options.intervalDraws > 0 {
            let intervals = try interval(ev, f, draws: options.intervalDraws, seed: options.seed)
            for i in probabilities.indices {
                probabilities[i].lower95 = intervals[probabilities[i].years]?.0
                probabilities[i].upper95 = intervals[probabilities[i].years]?.1
            }
        }
        let p = try ev.probability(e, years: horizon)
        let ref = try ev.evaluate(try ev.referenceFeatures(age: e.age))
        let pRef = try ev.probability(ref, years: horizon)
        let shapley = try explain(ev, e, ref, horizon: horizon)
        return RiskResult(
            model: .init(id: model.id, version: model.version, name: model.name, validationStatus: model.card.validationStatus,
                         disclaimer: model.card.disclaimer),
            probabilities: probabilities,
            category: category(f, tenYearPercent: probabilities.first { $0.years == 10 }?.percent ?? 100 * p),
            relativeRisk: .init(
                horizonYears: horizon, sameAgeNoRiskFactorsPercent: 100 * pRef, ratio: pRef > 0 ? p / pRef : .infinity,
                reference: "a woman of the same age with no risk factors: BMI 25, White, non-smoker, no alcohol, no conditions, CT and serum measures at the values expected for her age"),
            logHazardContributions: logHazard(e),
            shapley: shapley,
            notUsed: e.notUsed.map { .init(item: $0.term, detail: $0.reason) },
            missing: e.missing.map { .init(item: $0.feature, detail: $0.handling) },
            whatIf: try whatIfs(ev, f, horizon: horizon, current: p),
            bmiUsed: e.bmiUsed, bmiSource: e.bmiSource)
    }

    func logHazard(_ e: Evaluation) -> [RiskResult.LogHazardContribution] {
        var out = e.contributions.map {
            RiskResult.LogHazardContribution(
                group: $0.key, modality: ExplanationGroup.modality($0.key).rawValue, logHazard: $0.value, firstYearsOnly: nil)
        }
        for p in e.timeLimited {
            out.append(.init(group: p.group, modality: ExplanationGroup.modality(p.group).rawValue, logHazard: p.delta, firstYearsOnly: p.years))
        }
        return out.sorted { (abs($0.logHazard), $1.group) > (abs($1.logHazard), $0.group) }
    }

    // MARK: category

    func category(_ f: PatientFeatures, tenYearPercent: Double) -> RiskResult.Category {
        let c = model.categories
        var reasons: [String] = []
        if tenYearPercent >= c.highRisk10yPercent {
            reasons.append(String(format: "10-year hip-fracture probability %.1f %% ≥ %.1f %% (%@)", tenYearPercent, c.highRisk10yPercent, c.highRisk10ySource))
        }
        if let limit = c.lowStrengthNewton, let s = f["fe_strength_sideways_fall"], s <= limit {
            reasons.append(String(format: "femoral strength %.0f N ≤ %.0f N (%@)", s, limit, c.lowStrengthSource ?? ""))
        }
        if let limit = c.tScore, let t = f["ctxa_fn_tscore"], t <= limit {
            reasons.append(String(format: "CTXA femoral-neck T-score %.1f ≤ %.1f (%@)", t, limit, c.tScoreSource ?? ""))
        }
        if !reasons.isEmpty { return .init(level: "high", reasons: reasons) }
        if let mid = c.intermediate10yPercent, tenYearPercent >= mid {
            return .init(level: "intermediate", reasons: [String(format: "10-year probability %.1f %% ≥ %.1f %% (%@)", tenYearPercent, mid, c.intermediateSource ?? "")])
        }
        return .init(level: c.intermediate10yPercent == nil ? "not high" : "low", reasons: [
            String(format: "10-year probability %.1f %% < %.1f %%; no CT criterion met", tenYearPercent, c.intermediate10yPercent ?? c.highRisk10yPercent)
        ])
    }

    // MARK: exact Shapley values

    /// Exact Shapley values of p (probability at `horizon`) against the same-age woman without risk
    /// factors, by enumerating all coalitions of the groups whose value differs from hers. A group's
    /// pieces are added to the log-hazard together; groups absent from a coalition keep the reference.
    func explain(_ ev: Evaluator, _ e: Evaluation, _ ref: Evaluation, horizon: Int) throws(RiskError) -> RiskResult.Shapley {
        // Each player: a constant log-hazard difference and optional time-limited pieces.
        var players: [(group: String, delta: Double, limited: [(delta: Double, years: Double)])] = []
        let groups = Set(e.contributions.keys).union(ref.contributions.keys).union(e.timeLimited.map(\.group))
        for g in groups.sorted() where g != "age" {
            let d = (e.contributions[g] ?? 0) - (ref.contributions[g] ?? 0)
            let limited = e.timeLimited.filter { $0.group == g }.map { ($0.delta, $0.years) }
            if d != 0 || !limited.isEmpty { players.append((g, d, limited)) }
        }
        let base = ref.linearPredictor + (e.contributions["age"] ?? 0) - (ref.contributions["age"] ?? 0)
        let pRef = try ev.probability(a: base, timeLimited: [], years: horizon)
        let pFull = try ev.probability(e, years: horizon)
        var method = "exact: all 2^\(players.count) coalitions of the \(players.count) factors that differ from the reference woman"
        var units = players.map { [$0] }
        if players.count > Self.maxShapleyPlayers {
            // Too many for 2^k: exact Shapley over modalities (their sum is still exact).
            let byModality = Dictionary(grouping: players) { ExplanationGroup.modality($0.group).rawValue }
            units = byModality.keys.sorted().compactMap { byModality[$0] }
            method = "exact over modalities (\(players.count) factors are too many to enumerate individually)"
        }
        let k = units.count
        let deltas = units.map { $0.reduce(0) { $0 + $1.delta } }
        let limited = units.map { $0.flatMap(\.limited) }
        // v(mask) for all coalitions.
        var v = [Double](repeating: 0, count: 1 << k)
        for mask in 0..<(1 << k) {
            var a = base
            var pieces: [(delta: Double, years: Double)] = []
            for i in 0..<k where mask & (1 << i) != 0 {
                a += deltas[i]
                pieces += limited[i]
            }
            v[mask] = try ev.probability(a: a, timeLimited: pieces, years: horizon)
        }
        // Shapley weights |S|!(k−|S|−1)!/k!.
        var weight = [Double](repeating: 0, count: max(k, 1))
        for s in 0..<k { weight[s] = factorial(s) * factorial(k - s - 1) / factorial(k) }
        var phi = [Double](repeating: 0, count: k)
        for i in 0..<k {
            let bit = 1 << i
            var sum = 0.0
            for mask in 0..<(1 << k) where mask & bit == 0 {
                sum += weight[mask.nonzeroBitCount] * (v[mask | bit] - v[mask])
            }
            phi[i] = sum
        }
        var values: [RiskResult.ShapleyValue] = []
        var byModality: [String: Double] = [:]
        for i in 0..<k {
            let name = units[i].count == 1 ? units[i][0].group : ExplanationGroup.modality(units[i][0].group).rawValue
            let modality = ExplanationGroup.modality(units[i][0].group).rawValue
            values.append(.init(group: name, modality: modality, percentagePoints: 100 * phi[i]))
            byModality[modality, default: 0] += 100 * phi[i]
        }
        values.sort { (abs($0.percentagePoints), $1.group) > (abs($1.percentagePoints), $0.group) }
        return .init(horizonYears: horizon, baselinePercent: 100 * pRef, percent: 100 * pFull, method: method, values: values, byModality: byModality)
    }

    // MARK: uncertainty

    /// 95 % intervals per horizon by seeded Monte Carlo over the added terms' coefficient SEs and
    /// the measurement SDs of the features.
    func interval(_ ev: Evaluator, _ f: PatientFeatures, draws: Int, seed: UInt64) throws(RiskError) -> [Int: (Double, Double)] {
        // Only the added terms change between draws (QFracture's coefficients are fixed and its
        // inputs carry no measurement SD): evaluate once, then redraw just those terms.
        let e0 = try ev.evaluate(f)
        let skipped = Set(e0.notUsed.map(\.term))
        let active = model.terms.filter { !skipped.contains($0.id) && f[$0.feature] != nil }
        func value(_ t: ModelDefinition.Term, beta: Double, x: Double) -> (constant: Double, limited: (Double, Double)?) {
            let v = beta * t.transform.apply(x, age: e0.age)
            guard let d = t.durationYears else { return (v, nil) }
            let remaining = t.durationCountsFromFeature == true ? max(0, d - x) : d
            return (0, remaining > 0 && v != 0 ? (v, remaining) : nil)
        }
        var base = e0.linearPredictor
        for t in active { base -= value(t, beta: t.coefficient, x: f[t.feature] ?? 0).constant }
        var rng = SeededRandom(state: seed)
        let horizons = model.horizons
        var samples = [[Double]](repeating: [], count: horizons.count)
        for i in samples.indices { samples[i].reserveCapacity(draws) }
        for _ in 0..<draws {
            var a = base
            var limited: [(delta: Double, years: Double)] = []
            for t in active {
                var x = f[t.feature] ?? 0
                if let sd = f.sd[t.feature], sd > 0, let def = FeatureSchema.definition(t.feature) {
                    x += sd * rng.normal()
                    if let lo = def.minimum, let hi = def.maximum { x = min(hi, max(lo, x)) }
                }
                let beta = (t.se ?? 0) > 0 ? t.coefficient + (t.se ?? 0) * rng.normal() : t.coefficient
                let v = value(t, beta: beta, x: x)
                a += v.constant
                if let l = v.limited { limited.append((l.0, l.1)) }
            }
            for (i, h) in horizons.enumerated() { samples[i].append(100 * (try ev.probability(a: a, timeLimited: limited, years: h))) }
        }
        var out: [Int: (Double, Double)] = [:]
        for (i, h) in horizons.enumerated() {
            let sorted = samples[i].sorted()
            out[h] = (quantile(sorted, 0.025), quantile(sorted, 0.975))
        }
        return out
    }

    // MARK: what-if

    func whatIfs(_ ev: Evaluator, _ f: PatientFeatures, horizon: Int, current: Double) throws(RiskError) -> [RiskResult.WhatIfResult] {
        var out: [RiskResult.WhatIfResult] = []
        var seen = Set<String>()
        for w in model.whatIf {
            if let feature = w.when {
                guard let x = f[feature] else { continue }
                if let a = w.whenAbove, !(x > a) { continue }
                if let b = w.whenBelow, !(x < b) { continue }
            }
            var g = f
            for id in w.remove ?? [] { g.remove(id) }
            for (id, v) in (w.set ?? [:]).sorted(by: { $0.key < $1.key }) { try g.set(id, v) }
            guard seen.insert(w.id).inserted else { continue }
            let e = try ev.evaluate(try ev.normalised(g))
            let p = try ev.probability(e, years: horizon, extraLogHR: w.hazardRatio.map { log($0) } ?? 0)
            out.append(.init(id: w.id, label: w.label, percent: 100 * p, changePercentagePoints: 100 * (p - current), horizonYears: horizon, source: w.source))
        }
        return out
    }
}

func factorial(_ n: Int) -> Double { n <= 1 ? 1 : (2...n).reduce(1.0) { $0 * Double($1) } }

func quantile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let pos = q * Double(sorted.count - 1)
    let lo = Int(pos.rounded(.down)), hi = min(sorted.count - 1, lo + 1)
    return sorted[lo] + (pos - Double(lo)) * (sorted[hi] - sorted[lo])
}

/// Seeded SplitMix64 stream with uniform and standard-normal (Box–Muller) draws, so intervals,
/// simulations and tests are reproducible. (RiskModel imports no other module, hence its own.)
struct SeededRandom {
    var state: UInt64
    private var spare: Double?
    init(state: UInt64) { self.state = state }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    mutating func uniform() -> Double { (Double(next() >> 11) + 0.5) / 9_007_199_254_740_992 }

    mutating func normal() -> Double {
        if let s = spare {
            spare = nil
            return s
        }
        let u1 = uniform(), u2 = uniform()
        let r = (-2 * log(u1)).squareRoot()
        spare = r * sin(2 * .pi * u2)
        return r * cos(2 * .pi * u2)
    }
}
