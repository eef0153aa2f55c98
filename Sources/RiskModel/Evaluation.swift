import Foundation

/// Players of the explanation: related features explained together (age terms together, the falls
/// history with the fall count, a prior fracture with its recency, corticosteroids with the dose).
enum ExplanationGroup {
    static func of(feature: String) -> String {
        switch feature {
        case "height", "weight", "bmi": return "bmi"
        case "falls_history", "falls_count_12m": return "falls"
        case "prior_fracture", "prior_fracture_years_ago": return "prior_fracture"
        case "corticosteroids", "glucocorticoid_dose": return "glucocorticoids"
        default: return feature
        }
    }

    static func modality(_ group: String) -> Modality {
        switch group {
        case "age", "bmi": return .clinical
        case "falls", "prior_fracture": return .falls
        case "glucocorticoids": return .medication
        default: return FeatureSchema.definition(group)?.modality ?? .other
        }
    }
}

/// The model evaluated for one patient: every log-hazard piece, by explanation group.
struct Evaluation {
    var age: Double
    /// Constant log-hazard (or log-odds) contributions by group.
    var contributions: [String: Double] = [:]
    /// Time-limited log-hazard pieces: (group, δ, remaining duration in years).
    var timeLimited: [(group: String, delta: Double, years: Double)] = []
    /// Terms present in the model but not applied, with the reason.
    var notUsed: [(term: String, reason: String)] = []
    /// Features absent from the input, with how they were handled.
    var missing: [(feature: String, handling: String)] = []
    /// The BMI the baseline used and how it was obtained.
    var bmiUsed: Double?
    var bmiSource: String?

    /// Summed in key order: a dictionary's order changes between runs, and the last digits of a
    /// floating-point sum with it (same input must give the same bytes).
    var linearPredictor: Double { contributions.keys.sorted().reduce(0) { $0 + contributions[$1]! } }
}

/// Evaluates a model: features → log-hazard pieces → probabilities.
struct Evaluator {
    let model: ModelDefinition
    /// H0 at whole years (index = year; H0(0) = 0), or nil for logistic models; built once.
    let hazardTable: [Double]?

    init(model: ModelDefinition) {
        self.model = model
        switch model.baseline {
        case .qfracture2012HipWomen:
            hazardTable = [0] + QFracture2012.baselineSurvival.map { -log($0) }
        case .cox(let s):
            let years = s.keys.compactMap(Int.init).sorted()
            // Years without a value stay NaN and are refused when asked for.
            var table = [Double](repeating: .nan, count: (years.last ?? 0) + 1)
            table[0] = 0
            for y in years { if let v = s[String(y)] { table[y] = -log(v) } }
            hazardTable = table
        case .logistic:
            hazardTable = nil
        }
    }

    /// Fills derived features (BMI from height and weight; falls, fracture and corticosteroid flags
    /// implied by their counts, dates and doses) and checks the population.
    func normalised(_ input: PatientFeatures) throws(RiskError) -> PatientFeatures {
        var f = input
        if let sex = f["sex"], sex == 2 {
            throw .outsidePopulation("men: the model is built for women (the QFracture-2012 female hip equation)")
        }
        guard let age = f["age"] else { throw .invalidInput("age is required") }
        if case .qfracture2012HipWomen = model.baseline, !QFracture2012.ageRange.contains(Int(age.rounded(.down))) {
            throw .outsidePopulation("age \(age): the QFracture-2012 hip equation is validated for women aged 30–100")
        }
        if f["bmi"] == nil, let h = f["height"], let w = f["weight"] {
            try f.set("bmi", w / ((h / 100) * (h / 100)))
        }
        if let n = f["falls_count_12m"], n >= 1 { try f.set("falls_history", 1) }
        if f["prior_fracture_years_ago"] != nil { try f.set("prior_fracture", 1) }
        if let d = f["glucocorticoid_dose"], d > 0 { try f.set("corticosteroids", 1) }
        return f
    }

    func qfractureInputs(_ f: PatientFeatures) -> QFractureInputs {
        var x = QFractureInputs(age: Int((f["age"] ?? 0).rounded(.down)), bmi: f["bmi"])
        x.ethnicity = Int(f["ethnicity"] ?? 1)
        x.smoking = Int(f["smoking"] ?? 0)
        x.alcohol = Int(f["alcohol"] ?? 0)
        func flag(_ id: String) -> Bool { (f[id] ?? 0) >= 0.5 }
        x.antidepressant = flag("antidepressant")
        x.anyCancer = flag("any_cancer")
        x.asthmaCOPD = flag("asthma_copd")
        x.corticosteroids = flag("corticosteroids")
        x.cvd = flag("cvd")
        x.dementia = flag("dementia")
        x.endocrine = flag("endocrine")
        x.epilepsy = flag("epilepsy")
        x.falls = flag("falls_history")
        x.priorFracture = flag("prior_fracture")
        x.hrtOestrogenOnly = flag("hrt_oestrogen_only")
        x.liver = flag("liver")
        x.parkinsons = flag("parkinsons")
        x.raSLE = flag("ra_sle")
        x.renal = flag("renal")
        x.type1Diabetes = flag("type1_diabetes")
        x.type2Diabetes = flag("type2_diabetes")
        x.treatedHypertension = flag("treated_hypertension")
        return x
    }

    /// QFracture term name → feature id (for grouping and missing lists).
    static let qfractureFeature: [String: String] = [
        "age": "age", "bmi": "bmi", "ethnicity": "ethnicity", "smoking": "smoking", "alcohol": "alcohol",
        "antidepressant": "antidepressant", "anycancer": "any_cancer", "asthmacopd": "asthma_copd",
        "corticosteroids": "corticosteroids", "cvd": "cvd", "dementia": "dementia", "endocrine": "endocrine",
        "epilepsy2": "epilepsy", "falls": "falls_history", "fracture4": "prior_fracture", "hrt_oest": "hrt_oestrogen_only",
        "liver": "liver", "parkinsons": "parkinsons", "ra_sle": "ra_sle", "renal": "renal", "type1": "type1_diabetes",
        "type2": "type2_diabetes",
    ]

    /// Evaluates with optional coefficient overrides (Monte Carlo) by term id.
    func evaluate(_ f: PatientFeatures, coefficients: [String: Double]? = nil) throws(RiskError) -> Evaluation {
        let age = f["age"] ?? 0
        var e = Evaluation(age: age)
        if case .qfracture2012HipWomen = model.baseline {
            let x = qfractureInputs(f)
            for t in try QFracture2012.terms(x) {
                let feature = Self.qfractureFeature[t.name] ?? t.name
                let group = t.name == "age" ? "age" : ExplanationGroup.of(feature: feature)
                e.contributions[group, default: 0] += t.value
            }
            e.bmiUsed = QFracture2012.effectiveBMI(x)
            if f["bmi"] != nil {
                e.bmiSource = (f["bmi"] ?? 0) == e.bmiUsed ? "given" : "given, clamped into 20–40"
            } else {
                e.bmiSource = "imputed from age and record (ClinRisk BMI predictor)"
            }
        }
        // Hierarchies: only the first available term of each group is used.
        var skipped: [String: String] = [:]
        for h in model.hierarchies {
            var chosen: String?
            for id in h.order {
                guard let term = model.terms.first(where: { $0.id == id }) else { continue }
                if chosen == nil {
                    if f[term.feature] != nil { chosen = id }
                } else if f[term.feature] != nil {
                    skipped[id] = "not used: \(chosen ?? "") measures the same thing (\(h.group) hierarchy)"
                }
            }
        }
        for term in model.terms {
            if let reason = skipped[term.id] {
                e.notUsed.append((term.id, reason))
                continue
            }
            guard let x = f[term.feature] else { continue }
            let beta = coefficients?[term.id] ?? term.coefficient
            let value = beta * term.transform.apply(x, age: age)
            // Raw covariates of fitted models ("x:NAME") are their own group.
            let group = term.feature.hasPrefix("x:") ? term.id : ExplanationGroup.of(feature: term.feature)
            if let d = term.durationYears {
                let remaining = term.durationCountsFromFeature == true ? max(0, d - x) : d
                if remaining > 0, value != 0 {
                    e.timeLimited.append((group, value, remaining))
                } else {
                    e.contributions[group, default: 0] += 0  // listed, with no effect (expired or zero)
                }
            } else {
                e.contributions[group, default: 0] += value
            }
        }
        if let r = model.recalibration { e.contributions["recalibration", default: 0] += r.logHazardShift }
        // Missing features the model could have used.
        var used = Set(model.terms.map(\.feature))
        if case .qfracture2012HipWomen = model.baseline { used.formUnion(Self.qfractureFeature.values) }
        for id in used.sorted() where f[id] == nil {
            guard let def = FeatureSchema.definition(id) else { continue }
            if id == "bmi", e.bmiSource != nil { e.missing.append((id, e.bmiSource ?? "")); continue }
            e.missing.append((id, def.missing))
        }
        return e
    }

    // MARK: probabilities

    /// Cumulative baseline hazard H0(t) = −ln S0(t), linear between whole years, H0(0) = 0.
    func baselineHazard(_ t: Double) throws(RiskError) -> Double {
        guard let table = hazardTable else { throw .invalidModel("a logistic model has no baseline hazard") }
        if t <= 0 { return 0 }
        let lo = Int(t.rounded(.down))
        func h(_ year: Int) throws(RiskError) -> Double {
            guard year < table.count, !table[year].isNaN else {
                let known = table.indices.filter { !table[$0].isNaN && $0 > 0 }.map(String.init).joined(separator: ", ")
                throw .outOfRange(feature: "horizon", value: "\(year)", valid: "years with a baseline survival in the model (\(known))")
            }
            return table[year]
        }
        if Double(lo) == t { return try h(lo) }
        let hl = try h(lo), hh = try h(lo + 1)
        return hl + (t - Double(lo)) * (hh - hl)
    }

    /// Probability (fraction) of the outcome within `years`, from a constant log-hazard `a`, extra
    /// time-limited pieces, and an optional extra hazard ratio (what-if treatment).
    func probability(a: Double, timeLimited: [(delta: Double, years: Double)], years: Int, extraLogHR: Double = 0) throws(RiskError) -> Double {
        if case .logistic(let intercept, let horizon) = model.baseline {
            guard years == horizon else {
                throw .outOfRange(feature: "horizon", value: "\(years)", valid: "\(horizon) years (the logistic model's only horizon)")
            }
            let z = intercept + a + extraLogHR + timeLimited.reduce(0) { $0 + $1.delta }
            return 1 / (1 + exp(-z))
        }
        return try survivalProbability(a: a + extraLogHR, timeLimited: timeLimited, at: Double(years))
    }

    /// 1 − S(t) for a proportional-hazards baseline at any time t (years): in each stretch between
    /// the ends of the time-limited pieces the hazard is multiplied by exp(Σ δ still running).
    func survivalProbability(a: Double, timeLimited: [(delta: Double, years: Double)], at t: Double) throws(RiskError) -> Double {
        var breaks = Set<Double>([0, t])
        for p in timeLimited where p.years < t { breaks.insert(p.years) }
        let points = breaks.sorted()
        var cumulative = 0.0
        for i in 0..<(points.count - 1) {
            let s0 = points[i], s1 = points[i + 1]
            let running = timeLimited.filter { $0.years > s0 }.reduce(0) { $0 + $1.delta }
            cumulative += exp(running) * (try baselineHazard(s1) - baselineHazard(s0))
        }
        return 1 - exp(-exp(a) * cumulative)
    }

    func probability(_ e: Evaluation, years: Int, extraLogHR: Double = 0) throws(RiskError) -> Double {
        try probability(
            a: e.linearPredictor, timeLimited: e.timeLimited.map { ($0.delta, $0.years) }, years: years, extraLogHR: extraLogHR)
    }

    /// The same-age woman without risk factors: age kept, everything else at its reference value.
    func referenceFeatures(age: Double) throws(RiskError) -> PatientFeatures {
        var r = PatientFeatures()
        try r.set("age", age)
        try r.set("bmi", FeatureSchema.definition("bmi")?.reference ?? 25)
        return r
    }
}
