import ArgumentParser
import Foundation
import FHIR
import RiskModel
import Screening

struct RiskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "risk",
        abstract: "Hip-fracture risk for one woman from a feature file: probabilities with intervals, category, explanations, what-ifs.",
        discussion: """
            The feature file is a JSON object of feature id → value (number, true/false, category code or
            label) or {"value": x, "unit": "…", "sd": s}; `--list-features` prints every id with its unit,
            range and how a missing value is handled. The default model (`osteoct model show`) is the
            QFracture-2012 hip (women) equation plus CT, falls, fracture recency, glucocorticoid dose,
            serum and body-composition terms; --model uses another model file.
            """)

    @Option(help: "Feature file (JSON).") var features: String?
    @Option(help: "EHR record: a FHIR R4 Bundle (JSON or XML) mapped to features (see osteoct analyze).") var patient: String?
    @Option(help: "CT measurement features (JSON feature file) added to --patient.") var measurements: String?
    @Option(help: "Assessment date for --patient (YYYY-MM-DD; default today, or SOURCE_DATE_EPOCH).") var asOf: String?
    @Option(help: "Model file (JSON); default: the built-in model.") var model: String?
    @Option(help: "Monte Carlo draws for the 95 % interval (0: none).") var draws: Int = 2000
    @Option(help: "Seed of the Monte Carlo draws.") var seed: UInt64 = 1
    @Flag(help: "List the features the model reads, with units, ranges and missing-value handling.") var listFeatures = false
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard listFeatures || (features != nil) != (patient != nil) else {
            throw ValidationError("give either --features F.json or --patient BUNDLE.json [--measurements M.json] (or --list-features)")
        }
        if measurements != nil && patient == nil { throw ValidationError("--measurements goes with --patient") }
        if let asOf, FHIRDate(lexical: asOf) == nil || asOf.count != 10 { throw ValidationError("--as-of '\(asOf)' is not a date (YYYY-MM-DD)") }
        guard draws >= 0, draws <= 1_000_000 else { throw ValidationError("--draws must be 0…1000000") }
    }

    func run() throws {
        if listFeatures {
            if json {
                try JSONOut.print(FeatureSchema.all)
            } else {
                for d in FeatureSchema.all {
                    print("\(d.id)  [\(d.modality.rawValue), \(d.kind.rawValue)\(d.unit.map { ", " + $0 } ?? "")]  \(d.description)")
                    print("    missing: \(d.missing)")
                    print("    effect: \(d.effectSource)")
                }
            }
            return
        }
        let m = try ModelFiles.load(model)
        var input: PatientFeatures
        if let patient {
            input = try Self.featuresFromRecord(patient, asOf: asOf)
            if let measurements {
                let ct = try Self.featureFile(measurements)
                for (id, v) in ct.values.sorted(by: { $0.key < $1.key }) {
                    do { try input.set(id, v, sd: ct.sd[id]) } catch { throw CommandFailure("\(measurements): \(error)") }
                }
            }
        } else {
            input = try Self.featureFile(features ?? "")
        }
        let result: RiskResult
        do { result = try RiskPredictor(model: m).predict(input, options: PredictionOptions(intervalDraws: draws, seed: seed)) } catch {
            throw CommandFailure(error.description)
        }
        if json {
            try JSONOut.print(result)
            return
        }
        print("Model: \(result.model.name) v\(result.model.version)")
        for p in result.probabilities {
            let ci = p.lower95.flatMap { lo in p.upper95.map { String(format: " (95 %% interval %.2f–%.2f %%)", lo, $0) } } ?? ""
            print(String(format: "  %2d-year hip-fracture probability: %.2f %%", p.years, p.percent) + ci)
        }
        print("Category: \(result.category.level.uppercased())")
        for r in result.category.reasons { print("  - \(r)") }
        print(String(format: "Compared with a woman of the same age without risk factors (%.2f %% at %d years): %.1f×",
                     result.relativeRisk.sameAgeNoRiskFactorsPercent, result.relativeRisk.horizonYears, result.relativeRisk.ratio))
        print("What drives it (percentage points of the \(result.shapley.horizonYears)-year probability, exact Shapley values):")
        for v in result.shapley.values {
            print(String(format: "  %+7.2f  %@ (%@)", v.percentagePoints, v.group, v.modality))
        }
        for (m, v) in result.shapley.byModality.sorted(by: { $0.key < $1.key }) {
            print(String(format: "  subtotal %@: %+.2f", m, v))
        }
        for n in result.notUsed { print("  not used: \(n.item): \(n.detail)") }
        if !result.missing.isEmpty { print("Missing: " + result.missing.map(\.item).joined(separator: ", ")) }
        for w in result.whatIf {
            print(String(format: "What if: %@ → %.2f %% (%+.2f points)", w.label, w.percent, w.changePercentagePoints))
        }
        print(result.model.disclaimer)
    }
}

extension RiskCommand {
    static func featureFile(_ path: String) throws -> PatientFeatures {
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return try PatientFeatures.parse(json: data)
        } catch let e as RiskError {
            throw CommandFailure("\(path): \(e)")
        } catch {
            throw CommandFailure("\(path): cannot read: \(error.localizedDescription)")
        }
    }

    /// The EHR Bundle mapped to features; what was used goes to standard error.
    static func featuresFromRecord(_ path: String, asOf: String?) throws -> PatientFeatures {
        let bytes = try readFile(path)
        let bundle: FHIR.Bundle
        do { bundle = try FHIRCodec.decode(FHIR.Bundle.self, from: bytes, format: FHIRFormat.fromPath(path)).resource } catch {
            throw CommandFailure("\(path): \(error)")
        }
        let day = FHIRDay(asOf ?? AnalyzeCommand.defaultIssued())!
        let mapped = EHRMapper.map(bundle: bundle, options: EHRMappingOptions(asOf: day))
        var log = "record \(path) as of \(day): \(mapped.evidence.count) features\n"
        for e in mapped.evidence where !e.sources.isEmpty {
            log += "  \(e.feature) = \(e.value) from \(e.sources.joined(separator: ",")) \(e.date ?? "")\(e.stale ? " (stale)" : "")\n"
        }
        for n in mapped.notes { log += "  note: \(n)\n" }
        FileHandle.standardError.write(Data(log.utf8))
        return mapped.features
    }
}

/// Loading the model: the built-in one, or a file.
enum ModelFiles {
    static func load(_ path: String?) throws -> ModelDefinition {
        do {
            guard let path else { return try ModelDefinition.defaultModel() }
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw CommandFailure("\(path): cannot read: \(error.localizedDescription)")
            }
            return try ModelDefinition.load(data)
        } catch let e as RiskError {
            throw CommandFailure("\(path ?? "built-in model"): \(e)")
        }
    }
}
