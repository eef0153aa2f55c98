import Foundation

/// Model files from fitted regressions, and predictions of any model on a table of data.
extension ModelDefinition {
    /// A covariate column becomes a term on its feature: the schema feature of the same id when
    /// there is one (so `osteoct risk` can use the model), else the raw column ("x:NAME").
    static func featureName(_ column: String) -> String {
        FeatureSchema.definition(column) != nil ? column : "x:" + column
    }

    static func fittedCard(_ kind: String, rows: Int, events: Int, source: String) -> ModelCard {
        ModelCard(
            intendedUse: "Research: a \(kind) model fitted by `osteoct model fit` on \(source).",
            population: "The \(rows) rows (\(events) events) of \(source).",
            sources: [source],
            assumptions: kind == "Cox" ? ["Proportional hazards; Efron (or Breslow) ties; Breslow baseline for covariates at their means."] : ["Logistic link; outcome within the stated horizon."],
            limitations: ["Apparent (in-sample) performance only until validated on other data with `osteoct model validate`."],
            validationStatus: "Not validated (fitted in-sample).",
            disclaimer: "Fitted by OsteoCT on user data; not a clinical model until validated.")
    }

    /// A Cox fit as a model file: baseline survival at whole years up to the last follow-up time,
    /// terms (x − mean)·β.
    public static func fromCox(
        _ fit: CoxFit, id: String, horizons: [Int], source: String
    ) throws(RiskError) -> ModelDefinition {
        let lastTime = fit.baselineTimes.last ?? 0
        var survival: [String: Double] = [:]
        for year in 1...18 where Double(year) <= max(lastTime, Double(horizons.max() ?? 1)) {
            survival[String(year)] = max(1e-12, fit.baselineSurvival(at: Double(year)))
        }
        let terms = zip(fit.coefficients, fit.covariateMeans).map { c, mean in
            Term(
                id: c.name, feature: featureName(c.name), label: c.name, coefficient: c.coef, se: c.se,
                transform: .linear(centre: mean, scale: 1), durationYears: nil, durationCountsFromFeature: nil,
                source: "fitted: coefficient \(c.coef), SE \(c.se), p \(c.p)", evidence: "V")
        }
        let m = ModelDefinition(
            schema: schemaID, id: id, version: "1", name: "Cox model fitted on \(source)", outcome: "event",
            baseline: .cox(survival: survival), terms: terms, hierarchies: [],
            categories: CategoryRules(
                highRisk10yPercent: 3, highRisk10ySource: "default threshold of the built-in model; adjust for your use",
                lowStrengthNewton: nil, lowStrengthSource: nil, tScore: nil, tScoreSource: nil,
                intermediate10yPercent: nil, intermediateSource: nil),
            whatIf: [], card: fittedCard("Cox", rows: fit.observations, events: fit.events, source: source),
            horizons: horizons.filter { survival[String($0)] != nil }, recalibration: nil)
        try m.validate()
        return m
    }

    /// A logistic fit as a model file: probability within `horizonYears` = logistic(intercept + Σ β·x).
    public static func fromLogistic(
        _ fit: LogisticFit, id: String, horizonYears: Int, source: String
    ) throws(RiskError) -> ModelDefinition {
        let intercept = fit.coefficients.first { $0.name == "(intercept)" }?.coef ?? 0
        let terms = fit.coefficients.filter { $0.name != "(intercept)" }.map { c in
            Term(
                id: c.name, feature: featureName(c.name), label: c.name, coefficient: c.coef, se: c.se,
                transform: .identity, durationYears: nil, durationCountsFromFeature: nil,
                source: "fitted: coefficient \(c.coef), SE \(c.se), p \(c.p)", evidence: "V")
        }
        let m = ModelDefinition(
            schema: schemaID, id: id, version: "1", name: "Logistic model fitted on \(source)", outcome: "event",
            baseline: .logistic(intercept: intercept, horizonYears: horizonYears), terms: terms, hierarchies: [],
            categories: CategoryRules(
                highRisk10yPercent: 3, highRisk10ySource: "default threshold of the built-in model; adjust for your use",
                lowStrengthNewton: nil, lowStrengthSource: nil, tScore: nil, tScoreSource: nil,
                intermediate10yPercent: nil, intermediateSource: nil),
            whatIf: [], card: fittedCard("logistic", rows: fit.observations, events: fit.events, source: source),
            horizons: [horizonYears], recalibration: nil)
        try m.validate()
        return m
    }
}

/// Predictions of a model for every row of a table: features come from columns named like the
/// feature ids (raw covariates "x:NAME" from column NAME); empty cells are missing features.
public struct TablePredictions: Sendable {
    public var probabilities: [Double]
    public var linearPredictors: [Double]

    public static func compute(_ model: ModelDefinition, table: CSVTable, horizonYears: Int) throws(RiskError) -> TablePredictions {
        let ev = Evaluator(model: model)
        var schemaColumns: [(String, [Double])] = []
        var rawColumns: [String: [Double]] = [:]
        for name in table.columnNames {
            if FeatureSchema.definition(name) != nil, let c = table.column(name) { schemaColumns.append((name, c)) }
            if let c = table.column(name) { rawColumns["x:" + name] = c }
        }
        for t in model.terms where t.feature.hasPrefix("x:") && rawColumns[t.feature] == nil {
            throw .invalidInput("the data have no column '\(t.feature.dropFirst(2))' for term '\(t.id)'")
        }
        var probabilities: [Double] = []
        var lps: [Double] = []
        probabilities.reserveCapacity(table.rowCount)
        for row in 0..<table.rowCount {
            var f = PatientFeatures()
            for (name, column) in schemaColumns where !column[row].isNaN {
                do { try f.set(name, column[row]) } catch {
                    throw .invalidInput("row \(row + 1): \(error)")
                }
            }
            var rawShift = 0.0
            for t in model.terms where t.feature.hasPrefix("x:") {
                let x = rawColumns[t.feature]?[row] ?? .nan
                guard !x.isNaN else { throw .invalidInput("row \(row + 1): '\(t.feature.dropFirst(2))' is empty") }
                rawShift += t.coefficient * t.transform.apply(x, age: f["age"] ?? 0)
            }
            var e: Evaluation
            if case .qfracture2012HipWomen = model.baseline {
                e = try ev.evaluate(try ev.normalised(f))
            } else {
                if f["age"] == nil { try? f.set("age", 0) }  // age only matters to age-relative terms
                e = try ev.evaluate(f)
            }
            e.contributions["raw covariates", default: 0] += rawShift
            lps.append(e.linearPredictor)
            probabilities.append(try ev.probability(e, years: horizonYears))
        }
        return TablePredictions(probabilities: probabilities, linearPredictors: lps)
    }
}
