public import Foundation

/// A versioned risk model file: the baseline, the added terms with their effect sizes and sources,
/// the rules that keep correlated measures from being counted twice, the category thresholds,
/// the what-if scenarios and the model card.
public struct ModelDefinition: Codable, Sendable, Equatable {
    public static let schemaID = "osteoct.riskmodel/1"

    public var schema: String
    public var id: String
    public var version: String
    public var name: String
    public var outcome: String
    public var baseline: Baseline
    public var terms: [Term]
    public var hierarchies: [Hierarchy]
    public var categories: CategoryRules
    public var whatIf: [WhatIf]
    public var card: ModelCard
    /// Horizons reported, years.
    public var horizons: [Int]
    /// Added to every linear predictor: set by `osteoct model recalibrate` to match local incidence.
    public var recalibration: Recalibrated?

    public struct Recalibrated: Codable, Sendable, Equatable {
        public var logHazardShift: Double
        public var note: String
        public init(logHazardShift: Double, note: String) {
            self.logHazardShift = logHazardShift
            self.note = note
        }
    }

    public enum Baseline: Codable, Sendable, Equatable {
        /// The QFracture-2012 hip (women) equation; the added terms multiply its hazard.
        case qfracture2012HipWomen
        /// A fitted Cox model: baseline survival S0(t) at whole years for covariates at their centres.
        case cox(survival: [String: Double])
        /// A fitted logistic model: probability = logistic(intercept + Σ terms); no horizons.
        case logistic(intercept: Double, horizonYears: Int)

        enum CodingKeys: String, CodingKey { case kind, survival, intercept, horizonYears }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            switch try c.decode(String.self, forKey: .kind) {
            case "qfracture-2012-hip-women": self = .qfracture2012HipWomen
            case "cox": self = .cox(survival: try c.decode([String: Double].self, forKey: .survival))
            case "logistic":
                self = .logistic(
                    intercept: try c.decode(Double.self, forKey: .intercept),
                    horizonYears: try c.decode(Int.self, forKey: .horizonYears))
            case let k:
                throw DecodingError.dataCorruptedError(
                    forKey: .kind, in: c, debugDescription: "unknown baseline kind '\(k)' (qfracture-2012-hip-women, cox, logistic)")
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            switch self {
            case .qfracture2012HipWomen:
                try c.encode("qfracture-2012-hip-women", forKey: .kind)
            case .cox(let s):
                try c.encode("cox", forKey: .kind)
                try c.encode(s, forKey: .survival)
            case .logistic(let i, let h):
                try c.encode("logistic", forKey: .kind)
                try c.encode(i, forKey: .intercept)
                try c.encode(h, forKey: .horizonYears)
            }
        }
    }

    /// One added term: coefficient × transform(feature value).
    public struct Term: Codable, Sendable, Equatable {
        public var id: String
        public var feature: String
        public var label: String
        /// log hazard ratio (Cox, QFracture) or log odds ratio (logistic) per unit of the transform.
        public var coefficient: Double
        /// Standard error of the coefficient (for the uncertainty interval); nil = fixed.
        public var se: Double?
        public var transform: Transform
        /// The term applies only in the first `durationYears` of follow-up (imminent risk).
        public var durationYears: Double?
        /// The duration counts from the event the feature dates (e.g. years since a fracture): the
        /// term applies for `durationYears − value` more years.
        public var durationCountsFromFeature: Bool?
        /// Where the effect size comes from; `evidence` tags it: V verified, S secondary, A assumption.
        public var source: String
        public var evidence: String
    }

    public enum Transform: Codable, Sendable, Equatable {
        /// (x − centre)/scale. A negative scale makes lower values riskier ("per SD decrease").
        case linear(centre: Double, scale: Double)
        /// Like `linear`, centred on an age-expected value: centre = intercept + slope·(age − refAge).
        case ageRelative(intercept: Double, slope: Double, referenceAge: Double, scale: Double, byAge: [AgeBand]?)
        /// max(0, threshold − x)/scale: only values below the threshold count.
        case below(threshold: Double, scale: Double)
        /// 1 when x ≤ threshold, else 0.
        case atOrBelow(threshold: Double)
        /// Value per category or count, by key ("0", "1", "2", "3" …; the largest key covers larger values).
        case levels([String: Double])
        /// x itself (booleans, fitted covariates).
        case identity

        public struct AgeBand: Codable, Sendable, Equatable {
            public var fromAge: Double
            public var centre: Double
        }

        enum CodingKeys: String, CodingKey { case kind, centre, scale, intercept, slope, referenceAge, threshold, levels, byAge }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            switch try c.decode(String.self, forKey: .kind) {
            case "linear": self = .linear(centre: try c.decode(Double.self, forKey: .centre), scale: try c.decode(Double.self, forKey: .scale))
            case "age-relative":
                self = .ageRelative(
                    intercept: try c.decode(Double.self, forKey: .intercept), slope: try c.decode(Double.self, forKey: .slope),
                    referenceAge: try c.decode(Double.self, forKey: .referenceAge), scale: try c.decode(Double.self, forKey: .scale),
                    byAge: try c.decodeIfPresent([AgeBand].self, forKey: .byAge))
            case "below": self = .below(threshold: try c.decode(Double.self, forKey: .threshold), scale: try c.decode(Double.self, forKey: .scale))
            case "at-or-below": self = .atOrBelow(threshold: try c.decode(Double.self, forKey: .threshold))
            case "levels": self = .levels(try c.decode([String: Double].self, forKey: .levels))
            case "identity": self = .identity
            case let k:
                throw DecodingError.dataCorruptedError(
                    forKey: .kind, in: c, debugDescription: "unknown transform '\(k)' (linear, age-relative, below, at-or-below, levels, identity)")
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            switch self {
            case .linear(let centre, let scale):
                try c.encode("linear", forKey: .kind); try c.encode(centre, forKey: .centre); try c.encode(scale, forKey: .scale)
            case .ageRelative(let i, let s, let r, let sc, let bands):
                try c.encode("age-relative", forKey: .kind); try c.encode(i, forKey: .intercept); try c.encode(s, forKey: .slope)
                try c.encode(r, forKey: .referenceAge); try c.encode(sc, forKey: .scale); try c.encodeIfPresent(bands, forKey: .byAge)
            case .below(let t, let sc):
                try c.encode("below", forKey: .kind); try c.encode(t, forKey: .threshold); try c.encode(sc, forKey: .scale)
            case .atOrBelow(let t):
                try c.encode("at-or-below", forKey: .kind); try c.encode(t, forKey: .threshold)
            case .levels(let l):
                try c.encode("levels", forKey: .kind); try c.encode(l, forKey: .levels)
            case .identity:
                try c.encode("identity", forKey: .kind)
            }
        }

        /// The transformed value; `age` is needed for age-relative transforms.
        func apply(_ x: Double, age: Double) -> Double {
            switch self {
            case .linear(let centre, let scale): return (x - centre) / scale
            case .ageRelative(let i, let s, let r, let scale, let bands): return (x - expected(age: age, i, s, r, bands)) / scale
            case .below(let t, let scale): return max(0, t - x) / scale
            case .atOrBelow(let t): return x <= t ? 1 : 0
            case .levels(let l):
                let keys = l.keys.compactMap(Double.init).sorted()
                guard let key = keys.last(where: { $0 <= x }) ?? keys.first else { return 0 }
                return l[key == key.rounded() ? String(Int(key)) : String(key)] ?? 0
            case .identity: return x
            }
        }

        /// The value of x at which the term is 0 for this age (the "no risk factor" reference), if any.
        func neutralValue(age: Double) -> Double? {
            switch self {
            case .linear(let centre, _): return centre
            case .ageRelative(let i, let s, let r, _, let bands): return expected(age: age, i, s, r, bands)
            case .below(let t, _), .atOrBelow(let t): return t + 1e-9
            case .levels(let l): return l.first(where: { $0.value == 0 }).flatMap { Double($0.key) }
            case .identity: return 0
            }
        }

        private func expected(age: Double, _ i: Double, _ s: Double, _ r: Double, _ bands: [AgeBand]?) -> Double {
            if let bands, let band = bands.sorted(by: { $0.fromAge < $1.fromAge }).last(where: { age >= $0.fromAge }) ?? bands.first {
                return band.centre
            }
            return i + s * (age - r)
        }
    }

    /// Correlated measures of the same thing: only the first available term in `order` is used.
    public struct Hierarchy: Codable, Sendable, Equatable {
        public var group: String
        public var order: [String]
        public var why: String
    }

    public struct CategoryRules: Codable, Sendable, Equatable {
        /// High when the 10-year probability is at least this (%).
        public var highRisk10yPercent: Double
        public var highRisk10ySource: String
        /// High when FE sideways-fall strength is at or below this (N).
        public var lowStrengthNewton: Double?
        public var lowStrengthSource: String?
        /// High when the CTXA femoral-neck T-score is at or below this.
        public var tScore: Double?
        public var tScoreSource: String?
        /// Intermediate when the 10-year probability is at least this (%); nil: only high / not high.
        public var intermediate10yPercent: Double?
        public var intermediateSource: String?
    }

    /// A modifiable scenario: set features, or apply a stated relative risk.
    public struct WhatIf: Codable, Sendable, Equatable {
        public var id: String
        public var label: String
        /// Feature values to set (canonical units); features to remove from the record.
        public var set: [String: Double]?
        public var remove: [String]?
        /// Multiply the hazard by this (a treatment effect).
        public var hazardRatio: Double?
        /// Applies only when this feature is present and meets `whenAbove`/`whenBelow`.
        public var when: String?
        public var whenAbove: Double?
        public var whenBelow: Double?
        public var source: String
    }

    public struct ModelCard: Codable, Sendable, Equatable {
        public var intendedUse: String
        public var population: String
        public var sources: [String]
        public var assumptions: [String]
        public var limitations: [String]
        public var validationStatus: String
        public var disclaimer: String
    }

    /// Reads and checks a model file.
    public static func load(_ data: Data) throws(RiskError) -> ModelDefinition {
        let m: ModelDefinition
        do { m = try JSONDecoder().decode(ModelDefinition.self, from: data) } catch {
            throw .invalidModel("\(error)")
        }
        try m.validate()
        return m
    }

    public func validate() throws(RiskError) {
        guard schema == Self.schemaID else { throw .invalidModel("schema '\(schema)', expected '\(Self.schemaID)'") }
        var ids = Set<String>()
        for t in terms {
            guard ids.insert(t.id).inserted else { throw .invalidModel("term id '\(t.id)' appears twice") }
            guard FeatureSchema.definition(t.feature) != nil || t.feature.hasPrefix("x:") else {
                throw .invalidModel("term '\(t.id)' uses unknown feature '\(t.feature)'")
            }
            guard t.coefficient.isFinite, t.se.map({ $0.isFinite && $0 >= 0 }) ?? true else {
                throw .invalidModel("term '\(t.id)' has a non-finite coefficient or SE")
            }
            switch t.transform {
            case .linear(_, let s), .ageRelative(_, _, _, let s, _), .below(_, let s):
                guard s != 0, s.isFinite else { throw .invalidModel("term '\(t.id)' has a zero scale") }
            default: break
            }
        }
        for h in hierarchies {
            for id in h.order where !ids.contains(id) {
                throw .invalidModel("hierarchy '\(h.group)' names unknown term '\(id)'")
            }
        }
        if case .cox(let s) = baseline {
            for (k, v) in s {
                guard Int(k) != nil, v > 0, v <= 1 else { throw .invalidModel("baseline survival '\(k)': \(v) must be in (0, 1] at whole years") }
            }
        }
        guard !horizons.isEmpty, horizons.allSatisfy({ $0 >= 1 && $0 <= 18 }) else {
            throw .invalidModel("horizons must be whole years 1…18")
        }
    }

    /// Deterministic JSON (sorted keys).
    public func encoded() throws(RiskError) -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do { return try e.encode(self) } catch { throw .invalidModel("cannot encode: \(error)") }
    }
}
