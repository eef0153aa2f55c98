import ArgumentParser
import Foundation
import RiskModel

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Risk models for research users: show, fit, validate, recalibrate, simulate.",
        subcommands: [ModelShow.self, ModelFit.self, ModelValidate.self, ModelRecalibrate.self, ModelSimulate.self])
}

struct ModelShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Print a model file (default: the built-in model) or its model card.")

    @Option(help: "Model file; default: the built-in model.") var model: String?
    @Flag(help: "Only the model card (intended use, population, sources, assumptions, limitations, validation status).") var card = false
    @Flag(help: "Print JSON (the model file is JSON in any case).") var json = false

    func run() throws {
        let m = try ModelFiles.load(model)
        if card && !json {
            print("\(m.name) v\(m.version)")
            print("Intended use: \(m.card.intendedUse)")
            print("Population: \(m.card.population)")
            print("Validation status: \(m.card.validationStatus)")
            print("Sources:"); m.card.sources.forEach { print("  - \($0)") }
            print("Assumptions:"); m.card.assumptions.forEach { print("  - \($0)") }
            print("Limitations:"); m.card.limitations.forEach { print("  - \($0)") }
            print(m.card.disclaimer)
            return
        }
        if card {
            try JSONOut.print(m.card)
            return
        }
        do { FileHandle.standardOutput.write(try m.encoded() + Data("\n".utf8)) } catch { throw CommandFailure("\(error)") }
    }
}

struct ModelSimulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Draw a synthetic cohort from a model (correlated covariates, event times from the model, censoring) as CSV.",
        discussion: "Columns: the model's features (empty where absent), time (years), event (1 hip fracture, 0 censored). For checking that fitting recovers known coefficients and that validation works.")

    @Option(help: "Model file; default: the built-in model.") var model: String?
    @Option(name: .customLong("n"), help: "Number of women.") var count: Int = 10_000
    @Option(help: "Seed.") var seed: UInt64 = 1
    @Option(help: "Follow-up, years (censoring is uniform between half and all of it).") var years: Int = 10
    @Option(help: "Output CSV (default: standard output).") var out: String?

    func validate() throws {
        guard count >= 1, count <= 10_000_000 else { throw ValidationError("--n must be 1…10000000") }
        guard (1...18).contains(years) else { throw ValidationError("--years must be 1…18") }
    }

    func run() throws {
        let m = try ModelFiles.load(model)
        let cohort: SimulatedCohort
        do { cohort = try CohortSimulator.simulate(m, n: count, seed: seed, followUpYears: years) } catch {
            throw CommandFailure(error.description)
        }
        let text = cohort.csv
        if let out {
            do { try Data(text.utf8).write(to: URL(fileURLWithPath: out), options: .atomic) } catch {
                throw CommandFailure("\(out): cannot write: \(error.localizedDescription)")
            }
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}

/// Reads a CSV data file for the model commands.
enum DataFiles {
    static func read(_ path: String, categorical: [String] = [], columns: [String]? = nil, dropMissing: Bool = false, missingAsNaN: Bool = false) throws -> CSVTable {
        var o = CSVTable.Options(columns: columns, categorical: categorical, allowDroppingRows: dropMissing)
        o.missingAsNaN = missingAsNaN
        do { return try CSVTable.read(path: path, options: o) } catch { throw CommandFailure(error.description) }
    }

    static func list(_ s: String?) -> [String] {
        s.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } } ?? []
    }
}

struct ModelFit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Fit a logistic or Cox (Efron ties) model to a CSV file and write a model file.",
        discussion: """
            The CSV has a header row; columns are numbers, except those named in --categorical, which
            become 0/1 dummies named column=level (first level in sorted order is the reference).
            Covariates named like OsteoCT feature ids (see `osteoct risk --list-features`) become terms
            on those features, so `osteoct risk` can use the fitted model; other columns become raw
            covariates. Missing cells are an error unless --drop-missing.
            """)

    @Argument(help: "CSV data file.") var data: String
    @Option(help: "logistic or cox.") var kind: String = "cox"
    @Option(help: "Binary outcome column (logistic).") var outcome: String?
    @Option(help: "Follow-up time column, years (cox).") var time: String?
    @Option(help: "Event column, 1 event / 0 censored (cox).") var event: String?
    @Option(help: "Covariate columns, comma-separated (default: all other columns).") var covariates: String?
    @Option(help: "Categorical columns, comma-separated.") var categorical: String?
    @Option(help: "L2 (ridge) penalty λ; the intercept is not penalised.") var l2: Double = 0
    @Option(help: "Ties for cox: efron or breslow.") var ties: String = "efron"
    @Option(help: "Horizons for the model file, years, comma-separated (cox).") var horizons: String = "2,5,10"
    @Option(help: "Horizon the logistic outcome refers to, years.") var horizon: Int = 10
    @Option(help: "Model file to write.") var out: String?
    @Flag(help: "Drop rows with missing cells (counted in the output).") var dropMissing = false
    @Flag(help: "Print the fit as JSON.") var json = false

    func validate() throws {
        switch kind {
        case "logistic": guard outcome != nil else { throw ValidationError("--kind logistic needs --outcome COLUMN") }
        case "cox": guard time != nil, event != nil else { throw ValidationError("--kind cox needs --time COLUMN and --event COLUMN") }
        default: throw ValidationError("--kind must be logistic or cox")
        }
        guard ["efron", "breslow"].contains(ties) else { throw ValidationError("--ties must be efron or breslow") }
        guard l2 >= 0, l2.isFinite else { throw ValidationError("--l2 must be ≥ 0") }
    }

    struct Coefficient: Encodable { var name: String; var coef: Double; var se: Double; var z: Double; var p: Double }
    struct Survival: Encodable { var time: Double; var survival: Double }
    struct Output: Encodable {
        var kind: String
        var coefficients: [Coefficient]
        var logLikelihood: Double
        var nullLogLikelihood: Double
        var observations: Int
        var events: Int
        var droppedRows: Int
        var iterations: Int
        var concordance: Double?
        var covariateMeans: [Double]?
        var baselineSurvival: [Survival]?
        var modelFile: String?
    }

    func run() throws {
        let table = try DataFiles.read(data, categorical: DataFiles.list(categorical), dropMissing: dropMissing)
        let cov: [String]? = covariates.map { _ in DataFiles.list(covariates) }
        let id = ((data as NSString).lastPathComponent as NSString).deletingPathExtension
        var output: Output
        var model: ModelDefinition
        do {
            if kind == "logistic" {
                let fit = try LogisticRegression.fit(table: table, outcome: outcome ?? "", covariates: cov, options: LogisticFitOptions(l2Penalty: l2))
                output = Output(
                    kind: kind, coefficients: fit.coefficients.map { .init(name: $0.name, coef: $0.coef, se: $0.se, z: $0.z, p: $0.p) },
                    logLikelihood: fit.logLikelihood, nullLogLikelihood: fit.nullLogLikelihood, observations: fit.observations,
                    events: fit.events, droppedRows: table.droppedRows, iterations: fit.iterations)
                model = try ModelDefinition.fromLogistic(fit, id: id, horizonYears: horizon, source: data)
            } else {
                let fit = try CoxRegression.fit(
                    table: table, time: time ?? "", event: event ?? "", covariates: cov,
                    options: CoxFitOptions(ties: ties == "breslow" ? .breslow : .efron, l2Penalty: l2))
                output = Output(
                    kind: kind, coefficients: fit.coefficients.map { .init(name: $0.name, coef: $0.coef, se: $0.se, z: $0.z, p: $0.p) },
                    logLikelihood: fit.partialLogLikelihood, nullLogLikelihood: fit.nullPartialLogLikelihood,
                    observations: fit.observations, events: fit.events, droppedRows: table.droppedRows, iterations: fit.iterations,
                    concordance: fit.concordance, covariateMeans: fit.covariateMeans,
                    baselineSurvival: fit.baselineTimes.map { .init(time: $0, survival: fit.baselineSurvival(at: $0)) })
                let hs = DataFiles.list(horizons).compactMap(Int.init)
                model = try ModelDefinition.fromCox(fit, id: id, horizons: hs.isEmpty ? [10] : hs, source: data)
            }
        } catch let e as FitError {
            throw CommandFailure("\(data): \(e)")
        } catch let e as RiskError {
            throw CommandFailure("\(data): \(e)")
        }
        if let out {
            do { try (try model.encoded() + Data("\n".utf8)).write(to: URL(fileURLWithPath: out), options: .atomic) } catch {
                throw CommandFailure("\(out): cannot write: \(error)")
            }
            output.modelFile = out
        }
        if json {
            try JSONOut.print(output)
            return
        }
        print("\(kind) fit of \(data): \(output.observations) rows, \(output.events) events\(output.droppedRows > 0 ? ", \(output.droppedRows) rows dropped" : ""), \(output.iterations) iterations")
        for c in output.coefficients {
            print(String(format: "  %-24@ %12.6f  SE %10.6f  z %8.3f  p %.4g", c.name, c.coef, c.se, c.z, c.p))
        }
        print(String(format: "  log-likelihood %.4f (null %.4f)", output.logLikelihood, output.nullLogLikelihood) + (output.concordance.map { String(format: ", concordance %.4f", $0) } ?? ""))
        if let out { print("model file: \(out)") }
    }
}

struct ModelValidate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate a model on a CSV cohort: AUC (DeLong CI), Harrell's C, calibration, O/E, Brier, Hosmer–Lemeshow, net benefit, NRI/IDI, SVG plots.",
        discussion: """
            Columns named like feature ids feed the model; empty cells are missing features. With --outcome
            the outcome is 0/1 within --horizon; with --time/--event it is an event by --horizon years, and
            rows censored before the horizon are left out of the binary metrics (Harrell's C uses them all).
            """)

    @Argument(help: "Model file (or 'default' for the built-in model).") var model: String
    @Argument(help: "CSV data file.") var data: String
    @Option(help: "Binary outcome column.") var outcome: String?
    @Option(help: "Follow-up time column, years.") var time: String?
    @Option(help: "Event column.") var event: String?
    @Option(help: "Horizon, years.") var horizon: Int = 10
    @Option(help: "Second model to compare (AUC difference, NRI, IDI).") var compare: String?
    @Option(help: "Risk cut-offs for the categorical NRI, %, comma-separated.") var cutoffs: String = "3"
    @Option(help: "Folder for roc.svg and calibration.svg.") var plots: String?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard outcome != nil || (time != nil && event != nil) else { throw ValidationError("give --outcome COLUMN, or --time and --event") }
        guard (1...18).contains(horizon) else { throw ValidationError("--horizon must be 1…18") }
    }

    struct Report: Encodable {
        var model: String
        var horizonYears: Int
        var rowsUsed: Int
        var rowsCensoredBeforeHorizon: Int
        var binary: BinaryValidationReport
        var harrellC: Double?
        var comparison: Comparison?
        var plots: [String]
    }
    struct Comparison: Encodable {
        var model: String
        var aucOther: Double
        var aucDifference: Double
        var aucDifferenceP: Double
        var categoricalNRI: NRIResult
        var continuousNRI: NRIResult
        var idi: IDIResult
    }

    func run() throws {
        let m = try ModelFiles.load(model == "default" ? nil : model)
        let table = try DataFiles.read(data, missingAsNaN: true)
        func predictions(_ m: ModelDefinition) throws -> TablePredictions {
            do { return try TablePredictions.compute(m, table: table, horizonYears: horizon) } catch { throw CommandFailure("\(data): \(error)") }
        }
        let p = try predictions(m)
        var y: [Double] = []
        var keep: [Int] = []
        var censored = 0
        var harrell: Double?
        do {
            if let outcome {
                guard let col = table.column(outcome) else { throw CommandFailure("\(data): no column '\(outcome)'") }
                y = col
                keep = Array(0..<table.rowCount)
            } else if let time, let event {
                guard let t = table.column(time), let e = table.column(event) else { throw CommandFailure("\(data): no column '\(time)' or '\(event)'") }
                for i in 0..<table.rowCount {
                    if e[i] == 1 && t[i] <= Double(horizon) { y.append(1); keep.append(i) } else if t[i] >= Double(horizon) { y.append(0); keep.append(i) } else { censored += 1 }
                }
                harrell = try Concordance.harrell(time: t, event: e, risk: p.linearPredictors).index
            }
            let probs = keep.map { min(1 - 1e-12, max(1e-12, p.probabilities[$0])) }
            let report = try BinaryValidation.evaluate(outcome: y, predicted: probs)
            var comparison: Comparison?
            if let compare {
                let other = try predictions(try ModelFiles.load(compare == "default" ? nil : compare))
                let q = keep.map { min(1 - 1e-12, max(1e-12, other.probabilities[$0])) }
                let diff = try ROC.compare(outcome: y, scoreA: probs, scoreB: q)
                let cuts = DataFiles.list(cutoffs).compactMap(Double.init).map { $0 / 100 }
                comparison = Comparison(
                    model: compare, aucOther: diff.aucB, aucDifference: diff.difference, aucDifferenceP: diff.p,
                    categoricalNRI: try Reclassification.categoricalNRI(outcome: y, old: q, new: probs, cutoffs: cuts),
                    continuousNRI: try Reclassification.continuousNRI(outcome: y, old: q, new: probs),
                    idi: try Reclassification.idi(outcome: y, old: q, new: probs))
            }
            var written: [String] = []
            if let plots {
                try FileManager.default.createDirectory(atPath: plots, withIntermediateDirectories: true)
                let roc = try ValidationPlots.rocCurve(outcome: y, score: probs, title: "ROC: \(m.name)")
                let cal = try ValidationPlots.calibration(outcome: y, predicted: probs, title: "Calibration at \(horizon) years")
                try Data(roc.utf8).write(to: URL(fileURLWithPath: plots + "/roc.svg"), options: .atomic)
                try Data(cal.utf8).write(to: URL(fileURLWithPath: plots + "/calibration.svg"), options: .atomic)
                written = [plots + "/roc.svg", plots + "/calibration.svg"]
            }
            let r = Report(model: m.id, horizonYears: horizon, rowsUsed: keep.count, rowsCensoredBeforeHorizon: censored, binary: report, harrellC: harrell, comparison: comparison, plots: written)
            if json {
                try JSONOut.print(r)
                return
            }
            print("\(m.name) on \(data): \(r.rowsUsed) rows (\(censored) censored before \(horizon) years left out), \(report.events) events")
            print(String(format: "  AUC %.4f (95 %% CI %.4f–%.4f, DeLong)", report.auc.auc, report.auc.lower, report.auc.upper) + (harrell.map { String(format: "; Harrell's C %.4f", $0) } ?? ""))
            print(String(format: "  calibration intercept %.3f, slope %.3f; O/E %.3f; Brier %.5f (scaled %.3f)", report.calibration.calibrationInTheLarge.coef, report.calibration.calibrationSlope.coef, report.calibration.observedToExpected, report.calibration.brier, report.calibration.scaledBrier))
            print(String(format: "  Hosmer–Lemeshow %.2f on %d df, p %.3g", report.hosmerLemeshow.statistic, report.hosmerLemeshow.degreesOfFreedom, report.hosmerLemeshow.p))
            if let c = comparison {
                print(String(format: "  vs %@: AUC %.4f, difference %+.4f (p %.3g); NRI %.3f; IDI %.4f", c.model, c.aucOther, c.aucDifference, c.aucDifferenceP, c.categoricalNRI.total, c.idi.idi))
            }
            for w in written { print("  plot: \(w)") }
        } catch let e as FitError {
            throw CommandFailure("\(data): \(e)")
        }
    }
}

struct ModelRecalibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recalibrate",
        abstract: "Shift a model's baseline so its mean predicted risk on local data equals the local incidence.",
        discussion: "Solves for δ with mean(1 − S0(t)^exp(lp + δ)) = incidence over the rows of DATA.csv, and writes the model with that shift recorded (recalibration.logHazardShift).")

    @Argument(help: "Model file (or 'default').") var model: String
    @Argument(help: "CSV with the local population's features.") var data: String
    @Option(help: "Local incidence at the horizon, %.") var incidence: Double
    @Option(help: "Horizon, years.") var horizon: Int = 10
    @Option(help: "Model file to write.") var out: String

    func validate() throws {
        guard incidence > 0, incidence < 100 else { throw ValidationError("--incidence must be between 0 and 100 %") }
    }

    func run() throws {
        var m = try ModelFiles.load(model == "default" ? nil : model)
        let table = try DataFiles.read(data, missingAsNaN: true)
        do {
            let p = try TablePredictions.compute(m, table: table, horizonYears: horizon)
            let survival: Double
            switch m.baseline {
            case .qfracture2012HipWomen: survival = QFracture2012.baselineSurvival[horizon - 1]
            case .cox(let s):
                guard let v = s[String(horizon)] else { throw CommandFailure("the model has no baseline survival at \(horizon) years") }
                survival = v
            case .logistic: throw CommandFailure("recalibrate to incidence works on survival models; refit the intercept for a logistic model")
            }
            let r = try Recalibration.shiftToMeanRisk(linearPredictors: p.linearPredictors, baselineSurvival: survival, targetMeanRisk: incidence / 100)
            m.recalibration = ModelDefinition.Recalibrated(
                logHazardShift: (m.recalibration?.logHazardShift ?? 0) + r.shift,
                note: String(format: "shifted by %.6f so the mean %d-year risk over %d rows of %@ is %.4g %% (was %.4g %%)", r.shift, horizon, table.rowCount, data, 100 * r.achievedMeanRisk, 100 * r.originalMeanRisk))
            m.version += "+recalibrated"
            try (try m.encoded() + Data("\n".utf8)).write(to: URL(fileURLWithPath: out), options: .atomic)
            print(m.recalibration?.note ?? "")
        } catch let e as FitError {
            throw CommandFailure("\(data): \(e)")
        } catch let e as RiskError {
            throw CommandFailure("\(data): \(e)")
        }
    }
}
