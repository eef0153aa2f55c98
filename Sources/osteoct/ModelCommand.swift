import ArgumentParser
import Foundation
import RiskModel

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Risk model files: show the built-in model and its card.",
        subcommands: [ModelShow.self])
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
