import Foundation
import Testing

@testable import RiskModel

@Suite("Multimodal prediction, explanations, intervals")
struct PredictionTests {
    let model: ModelDefinition
    let predictor: RiskPredictor

    init() throws {
        model = try ModelDefinition.defaultModel()
        predictor = RiskPredictor(model: model)
    }

    func features(_ pairs: [String: Double]) throws -> PatientFeatures {
        var f = PatientFeatures()
        for (k, v) in pairs.sorted(by: { $0.key < $1.key }) { try f.set(k, v) }
        return f
    }

    @Test("the default model loads, validates and survives an encode/decode round trip")
    func defaultModel() throws {
        let again = try ModelDefinition.load(try model.encoded())
        #expect(again == model)
        #expect(model.terms.count == 13)
        #expect(model.card.disclaimer.contains("not endorsed by ClinRisk"))
    }

    @Test("with clinical inputs only, the probabilities are the QFracture-2012 equation's")
    func clinicalOnly() throws {
        let f = try features(["age": 70, "bmi": 25, "falls_history": 1])
        let r = try predictor.predict(f, options: PredictionOptions(intervalDraws: 0))
        var x = QFractureInputs(age: 70, bmi: 25)
        x.falls = true
        for p in r.probabilities {
            #expect(abs(p.percent - (try QFracture2012.risk(x, years: p.years))) < 1e-12)
        }
        #expect(abs(r.probabilities.first { $0.years == 10 }!.percent - 3.3131) < 0.00005)  // reference regression point
    }

    @Test("Shapley values sum to p − p_reference to 1e-12 and match the two-player closed form")
    func shapleyExact() throws {
        let f = try features([
            "age": 78, "bmi": 21, "smoking": 3, "falls_count_12m": 2, "dementia": 1, "vitamin_d_25oh": 30,
            "ctxa_fn_tscore": -3.1, "muscle_attenuation": 18, "prior_fracture_years_ago": 1,
        ])
        let r = try predictor.predict(f, options: PredictionOptions(intervalDraws: 0))
        let sum = r.shapley.values.reduce(0) { $0 + $1.percentagePoints }
        #expect(abs(sum - (r.shapley.percent - r.shapley.baselinePercent)) < 1e-10)  // percentage points: 1e-12 as a fraction
        #expect(r.shapley.values.count == 8)
        // Two players: φ1 = ½[(v1 − v0) + (v12 − v2)].
        let two = try predictor.predict(try features(["age": 70, "bmi": 25, "dementia": 1, "type2_diabetes": 1]), options: PredictionOptions(intervalDraws: 0))
        var x0 = QFractureInputs(age: 70, bmi: 25)
        let v0 = try QFracture2012.risk(x0, years: 10)
        x0.dementia = true
        let v1 = try QFracture2012.risk(x0, years: 10)
        x0.type2Diabetes = true
        let v12 = try QFracture2012.risk(x0, years: 10)
        x0.dementia = false
        let v2 = try QFracture2012.risk(x0, years: 10)
        let phiDementia = 0.5 * ((v1 - v0) + (v12 - v2))
        let got = try #require(two.shapley.values.first { $0.group == "dementia" })
        #expect(abs(got.percentagePoints - phiDementia) < 1e-12)
        #expect(abs(two.relativeRisk.sameAgeNoRiskFactorsPercent - v0) < 1e-12)
        #expect(abs(two.relativeRisk.ratio - v12 / v0) < 1e-12)
    }

    @Test("the CT-bone hierarchy uses only the most direct measure and lists the others as not used")
    func hierarchy() throws {
        let f = try features(["age": 75, "bmi": 24, "fe_strength_sideways_fall": 2600, "ctxa_fn_tscore": -2.7, "l1_hu": 80])
        let r = try predictor.predict(f, options: PredictionOptions(intervalDraws: 0))
        #expect(Set(r.notUsed.map(\.item)) == ["ct_fn_tscore", "ct_l1_hu"])
        let fe = try #require(r.logHazardContributions.first { $0.group == "fe_strength_sideways_fall" })
        #expect(abs(fe.logHazard - log(2.88) * (3951 - 2600) / 1659) < 1e-12)
        #expect(r.category.level == "high")
        #expect(r.category.reasons.contains { $0.contains("femoral strength 2600 N") })
        #expect(r.category.reasons.contains { $0.contains("T-score -2.7") })
    }

    @Test("fall count: one fall is the baseline's falls term; two add ln(1.74/1.49)")
    func fallCount() throws {
        let one = try predictor.predict(try features(["age": 70, "bmi": 25, "falls_count_12m": 1]), options: PredictionOptions(intervalDraws: 0))
        var x = QFractureInputs(age: 70, bmi: 25)
        x.falls = true
        #expect(abs(one.probabilities.last!.percent - (try QFracture2012.risk(x, years: 10))) < 1e-12)
        let two = try predictor.predict(try features(["age": 70, "bmi": 25, "falls_count_12m": 2]), options: PredictionOptions(intervalDraws: 0))
        let a = try QFracture2012.linearPredictor(x) + log(1.74 / 1.49)
        #expect(abs(two.probabilities.last!.percent - 100 * (1 - pow(QFracture2012.baselineSurvival[9], exp(a)))) < 1e-10)
    }

    @Test("a fracture 6 months ago adds ln(2.7/1.86) to the hazard for the next 1.5 years only")
    func imminentRisk() throws {
        let r = try predictor.predict(try features(["age": 70, "bmi": 25, "prior_fracture_years_ago": 0.5]), options: PredictionOptions(intervalDraws: 0))
        var x = QFractureInputs(age: 70, bmi: 25)
        x.priorFracture = true
        let a = try QFracture2012.linearPredictor(x)
        let s = QFracture2012.baselineSurvival
        let h1 = -log(s[0]), h2 = -log(s[1]), h10 = -log(s[9])
        let h15 = h1 + 0.5 * (h2 - h1)  // linear between whole years
        let cumulative = exp(log(2.7 / 1.86)) * h15 + (h10 - h15)
        let expected = 100 * (1 - exp(-exp(a) * cumulative))
        #expect(abs(r.probabilities.last!.percent - expected) < 1e-10)
        // Three years after the fracture the recency term has expired.
        let late = try predictor.predict(try features(["age": 70, "bmi": 25, "prior_fracture_years_ago": 3]), options: PredictionOptions(intervalDraws: 0))
        #expect(abs(late.probabilities.last!.percent - (try QFracture2012.risk(x, years: 10))) < 1e-12)
    }

    @Test("what-if: a treatment with hazard ratio 0.6 gives 1 − (1 − p)^0.6; vitamin D corrected removes its term")
    func whatIf() throws {
        let f = try features(["age": 80, "bmi": 22, "vitamin_d_25oh": 25])
        let r = try predictor.predict(f, options: PredictionOptions(intervalDraws: 0))
        let p = r.probabilities.last!.percent / 100
        let treated = try #require(r.whatIf.first { $0.id == "osteoporosis_treatment" })
        #expect(abs(treated.percent / 100 - (1 - pow(1 - p, 0.6))) < 1e-12)
        let vitD = try #require(r.whatIf.first { $0.id == "vitamin_d_corrected" })
        let plain = try predictor.predict(try features(["age": 80, "bmi": 22]), options: PredictionOptions(intervalDraws: 0))
        #expect(abs(vitD.percent - plain.probabilities.last!.percent) < 1e-12)
        #expect(vitD.changePercentagePoints < 0)
    }

    @Test("intervals: reproducible with a seed, contain the estimate, vanish without uncertainty")
    func intervals() throws {
        var f = try features(["age": 76, "bmi": 23, "vitamin_d_25oh": 35])
        try f.set("ctxa_fn_tscore", -2.2, sd: 0.45)
        let a = try predictor.predict(f, options: PredictionOptions(intervalDraws: 500, seed: 7))
        let b = try predictor.predict(f, options: PredictionOptions(intervalDraws: 500, seed: 7))
        let p10a = a.probabilities.last!, p10b = b.probabilities.last!
        #expect(p10a.lower95 == p10b.lower95 && p10a.upper95 == p10b.upper95)
        #expect(try #require(p10a.lower95) < p10a.percent && p10a.percent < (try #require(p10a.upper95)))
        let plain = try predictor.predict(try features(["age": 76, "bmi": 23]), options: PredictionOptions(intervalDraws: 100))
        #expect(plain.probabilities.last!.lower95 == plain.probabilities.last!.upper95)
    }

    @Test("bad input: men and women under 30 are outside the population; units and ranges are checked")
    func badInput() throws {
        #expect { try predictor.predict(try features(["age": 70, "sex": 2])) } throws: { "\($0)".contains("outside the model's population: men") }
        #expect { try predictor.predict(try features(["age": 29])) } throws: { "\($0)".contains("outside") }
        var f = PatientFeatures()
        try f.set("vitamin_d_25oh", 20, unit: "ng/mL")
        #expect(abs(f["vitamin_d_25oh"]! - 49.92) < 1e-9)
        #expect { try f.set("vitamin_d_25oh", 20, unit: "mmol/L") } throws: { "\($0)".contains("use one of: nmol/L, ng/mL") }
        #expect { try f.set("bmi", 120) } throws: { "\($0)".contains("'bmi' = 120.0 is out of range; valid: 10.0…70.0 kg/m2") }
        #expect { try f.set("smoking", 7) } throws: { "\($0)".contains("4 heavy") }
        let json = Data(#"{"age": 72, "sex": "female", "bmi": {"value": 24.5}, "smoking": "ex-smoker", "dementia": true, "vitamin_d_25oh": {"value": 18, "unit": "ng/mL"}}"#.utf8)
        let parsed = try PatientFeatures.parse(json: json)
        #expect(parsed["smoking"] == 1 && parsed["dementia"] == 1 && parsed["sex"] == 1)
        #expect { try PatientFeatures.parse(json: Data(#"{"age": 72, "shoe_size": 38}"#.utf8)) } throws: { "\($0)".contains("unknown feature 'shoe_size'") }
        #expect { try PatientFeatures.parse(json: Data(#"{"age": "old"}"#.utf8)) } throws: { "\($0)".contains("must be a number in years") }
    }
}

@Suite("Synthetic cohorts drawn from a model")
struct SimulationTests {
    @Test("events by year 5 (before any censoring) occur at the rate the model predicts")
    func eventRate() throws {
        let model = try ModelDefinition.defaultModel()
        let cohort = try CohortSimulator.simulate(model, n: 4000, seed: 3)
        let timeCol = try #require(cohort.columns.firstIndex(of: "time")), eventCol = try #require(cohort.columns.firstIndex(of: "event"))
        let observed = Double(cohort.rows.filter { $0[eventCol] == 1 && $0[timeCol] <= 5 }.count) / Double(cohort.rows.count)
        // Mean predicted 5-year probability over the same women.
        let ev = Evaluator(model: model)
        var sum = 0.0
        for row in cohort.rows {
            var f = PatientFeatures()
            for (i, c) in cohort.columns.enumerated() where c != "time" && c != "event" && !row[i].isNaN {
                try f.set(c, row[i])
            }
            sum += try ev.probability(try ev.evaluate(try ev.normalised(f)), years: 5)
        }
        let expected = sum / Double(cohort.rows.count)
        let se = (expected * (1 - expected) / Double(cohort.rows.count)).squareRoot()
        #expect(abs(observed - expected) < 4 * se, "observed \(observed), expected \(expected) ± \(se)")
        // Same seed, same cohort.
        #expect(try CohortSimulator.simulate(model, n: 50, seed: 3).csv == CohortSimulator.simulate(model, n: 50, seed: 3).csv)
    }
}

@Suite("Fitted models as model files")
struct FittedModelTests {
    @Test("a cohort simulated from a Cox model file is fitted back to its coefficients (within 4 SE), and the fitted file predicts")
    func simulateFitRecover() throws {
        func term(_ name: String, _ beta: Double) -> ModelDefinition.Term {
            .init(id: name, feature: "x:" + name, label: name, coefficient: beta, se: nil, transform: .linear(centre: 0, scale: 1),
                  durationYears: nil, durationCountsFromFeature: nil, source: "test", evidence: "V")
        }
        var truth = try ModelDefinition.defaultModel()
        truth.baseline = .cox(survival: Dictionary(uniqueKeysWithValues: (1...10).map { (String($0), exp(-0.02 * Double($0))) }))
        truth.terms = [term("a", 0.7), term("b", -0.4), term("c", 0.2)]
        truth.hierarchies = []
        truth.whatIf = []
        let cohort = try CohortSimulator.simulate(truth, n: 6000, seed: 11)
        let table = try CSVTable(text: cohort.csv, source: "simulated", options: CSVTable.Options(columns: ["a", "b", "c", "time", "event"]))
        let fit = try CoxRegression.fit(table: table, time: "time", event: "event", covariates: ["a", "b", "c"])
        for (c, beta) in zip(fit.coefficients, [0.7, -0.4, 0.2]) {
            #expect(abs(c.coef - beta) < 4 * c.se, "\(c.name): \(c.coef) ± \(c.se) vs \(beta)")
        }
        let fitted = try ModelDefinition.fromCox(fit, id: "sim", horizons: [5, 10], source: "simulated")
        let back = try ModelDefinition.load(try fitted.encoded())
        let p = try TablePredictions.compute(back, table: table, horizonYears: 5)
        #expect(p.probabilities.count == 6000)
        #expect(p.probabilities.allSatisfy { $0 > 0 && $0 < 1 })
    }
}
