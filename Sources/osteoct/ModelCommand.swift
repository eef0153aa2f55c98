import ArgumentParser
import Foundation
import RiskModel

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Risk model files: show the built-in model and its card; simulate cohorts from a model.",
        subcommands: [ModelShow.self, ModelSimulate.self])
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
