import Foundation

/// A synthetic cohort drawn from a model, so fitting and validation code can be checked against
/// known truth: covariates with realistic correlations, event times from the model's own survival,
/// random censoring.
public struct SimulatedCohort: Sendable {
    /// Column names: features, then "time" (years) and "event" (1 hip fracture, 0 censored).
    public var columns: [String]
    /// Values; NaN where the feature is absent for that woman (written as an empty CSV field).
    public var rows: [[Double]]

    /// CSV text (header + rows), numbers with up to 6 decimals; deterministic.
    public var csv: String {
        var s = columns.joined(separator: ",") + "\n"
        for r in rows {
            s += r.map { v in
                v.isNaN ? "" : v == v.rounded() && abs(v) < 1e9 ? String(Int(v)) : String(format: "%.6f", v)
            }.joined(separator: ",")
            s += "\n"
        }
        return s
    }
}

public enum CohortSimulator {
    /// Draws `n` women aged 50–90 and their outcome over up to `followUpYears` (censoring uniform
    /// between half and all of it). Covariate distributions are illustrative (stated below), not a
    /// description of any real population; their correlations are what matters for testing:
    /// BMI falls with age, bone density falls with age and rises with BMI, L1 HU follows the
    /// femoral-neck T-score, falls and fractures are commoner with age.
    public static func simulate(
        _ model: ModelDefinition, n: Int, seed: UInt64, followUpYears: Int = 10
    ) throws(RiskError) -> SimulatedCohort {
        guard n >= 1, n <= 10_000_000 else { throw .outOfRange(feature: "n", value: "\(n)", valid: "1…10,000,000") }
        guard (1...18).contains(followUpYears) else { throw .outOfRange(feature: "followUpYears", value: "\(followUpYears)", valid: "1…18") }
        let ev = Evaluator(model: model)
        var used = Set(model.terms.map(\.feature).filter { !$0.hasPrefix("x:") })
        if case .qfracture2012HipWomen = model.baseline { used.formUnion(Evaluator.qfractureFeature.values) }
        used.insert("age")
        let raw = model.terms.map(\.feature).filter { $0.hasPrefix("x:") }
        let featureColumns = used.sorted()
        var rng = SeededRandom(state: seed)
        var rows: [[Double]] = []
        rows.reserveCapacity(n)
        for _ in 0..<n {
            var f = PatientFeatures()
            let age = (50 + 40 * rng.uniform()).rounded(.down)
            try f.set("age", age)
            func bernoulli(_ id: String, _ p: Double) throws(RiskError) {
                if used.contains(id) { try f.set(id, rng.uniform() < p ? 1 : 0) }
            }
            let ageFactor = (age - 50) / 40  // 0…1
            var q = QFractureInputs(age: Int(age))
            let bmi = min(45, max(16, QFracture2012.imputedBMI(q) + 4.5 * rng.normal()))
            if used.contains("bmi") { try f.set("bmi", bmi) }
            if used.contains("smoking") { try f.set("smoking", pick([0.6, 0.25, 0.06, 0.05, 0.04], rng.uniform())) }
            if used.contains("alcohol") { try f.set("alcohol", pick([0.35, 0.3, 0.2, 0.1, 0.03, 0.02], rng.uniform())) }
            // Illustrative prevalences, rising with age where clinically expected.
            try bernoulli("falls_history", 0.15 + 0.2 * ageFactor)
            try bernoulli("prior_fracture", 0.08 + 0.15 * ageFactor)
            try bernoulli("dementia", 0.01 + 0.12 * ageFactor * ageFactor)
            try bernoulli("type2_diabetes", 0.12)
            try bernoulli("type1_diabetes", 0.005)
            try bernoulli("cvd", 0.1 + 0.2 * ageFactor)
            try bernoulli("corticosteroids", 0.05)
            try bernoulli("antidepressant", 0.15)
            try bernoulli("ra_sle", 0.02)
            try bernoulli("any_cancer", 0.06 + 0.08 * ageFactor)
            try bernoulli("asthma_copd", 0.12)
            try bernoulli("renal", 0.03 + 0.1 * ageFactor)
            try bernoulli("parkinsons", 0.005 + 0.02 * ageFactor)
            try bernoulli("liver", 0.01)
            try bernoulli("epilepsy", 0.015)
            try bernoulli("endocrine", 0.02)
            try bernoulli("hrt_oestrogen_only", 0.03)
            if used.contains("falls_count_12m"), (f["falls_history"] ?? 0) == 1 || rng.uniform() < 0.1 {
                try f.set("falls_count_12m", pick([0, 0.6, 0.25, 0.15], rng.uniform()))
            }
            if used.contains("prior_fracture_years_ago"), (f["prior_fracture"] ?? 0) == 1 {
                try f.set("prior_fracture_years_ago", 15 * rng.uniform() * rng.uniform())
            }
            if used.contains("glucocorticoid_dose"), (f["corticosteroids"] ?? 0) == 1 {
                try f.set("glucocorticoid_dose", 1 + 14 * rng.uniform())
            }
            // Bone: a latent density z (SD units, age-adjusted) drives T-score, L1 HU, femur HU and FE strength.
            q.bmi = bmi
            let latent = 0.12 * (bmi - 26) + rng.normal()
            let tExpected = -0.1 - 0.062 * max(0, age - 40)  // ≈ NHANES III decade means used in the default model
            if used.contains("ctxa_fn_tscore") { try f.set("ctxa_fn_tscore", max(-6, tExpected + 0.9 * latent)) }
            if used.contains("l1_hu") { try f.set("l1_hu", max(-50, 226 - 2.5 * (age - 25) + 42 * (0.7 * latent + 0.7 * rng.normal()))) }
            if used.contains("femur_trabecular_hu") { try f.set("femur_trabecular_hu", max(-50, 150 - 1.5 * (age - 50) + 35 * (0.8 * latent + 0.6 * rng.normal()))) }
            if used.contains("fe_strength_sideways_fall") {
                try f.set("fe_strength_sideways_fall", max(500, 3951 + 1659 * (0.8 * latent + 0.6 * rng.normal()) + 40 * (79 - age)))
            }
            if used.contains("muscle_attenuation") { try f.set("muscle_attenuation", 42 - 0.35 * (age - 40) + 6.6 * rng.normal()) }
            if used.contains("muscle_area") { try f.set("muscle_area", max(40, 120 - 0.5 * (age - 40) + 16 * rng.normal())) }
            if used.contains("visceral_fat_area") { try f.set("visceral_fat_area", max(10, 100 + 8 * (bmi - 26) + 40 * rng.normal())) }
            if used.contains("vitamin_d_25oh") { try f.set("vitamin_d_25oh", min(250, max(5, 55 * exp(0.45 * rng.normal())))) }
            if used.contains("ctx") { try f.set("ctx", min(3, max(0.05, 0.45 + 0.2 * rng.normal()))) }
            if used.contains("p1np") { try f.set("p1np", min(300, max(5, 55 + 25 * rng.normal()))) }
            // Raw covariates of fitted models: standard normal, correlated 0.3 with the previous one.
            var previous = 0.0
            var rawValues: [Double] = []
            for _ in raw {
                let x = 0.3 * previous + (1 - 0.09).squareRoot() * rng.normal()
                rawValues.append(x)
                previous = x
            }
            // Outcome from the model: S(t) = 1 − p(t); draw U and find the event time by bisection.
            let e = try ev.evaluate(try ev.normalised(f), coefficients: nil)
            let shift = zip(model.terms.filter { $0.feature.hasPrefix("x:") }, rawValues).reduce(0) { $0 + $1.0.coefficient * $1.1 }
            let u = rng.uniform()
            let censor = Double(followUpYears) * (0.5 + 0.5 * rng.uniform())
            let pEnd = try ev.probability(a: e.linearPredictor + shift, timeLimited: e.timeLimited.map { ($0.delta, $0.years) }, years: followUpYears)
            var time = censor
            var event = 0.0
            if u < pEnd {
                var lo = 0.0, hi = Double(followUpYears)
                for _ in 0..<50 {
                    let mid = (lo + hi) / 2
                    let p = try ev.survivalProbability(
                        a: e.linearPredictor + shift, timeLimited: e.timeLimited.map { ($0.delta, $0.years) }, at: mid)
                    if p < u { lo = mid } else { hi = mid }
                }
                if hi <= censor {
                    time = hi
                    event = 1
                }
            }
            rows.append(featureColumns.map { f[$0] ?? .nan } + rawValues + [time, event])
        }
        return SimulatedCohort(columns: featureColumns + raw.map { String($0.dropFirst(2)) } + ["time", "event"], rows: rows)
    }

    /// Index drawn from cumulative probabilities `p` (which need not sum exactly to 1).
    static func pick(_ p: [Double], _ u: Double) -> Double {
        var acc = 0.0
        for (i, w) in p.enumerated() {
            acc += w
            if u < acc { return Double(i) }
        }
        return Double(p.count - 1)
    }
}
