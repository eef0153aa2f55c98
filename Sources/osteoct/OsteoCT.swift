import ArgumentParser
import Foundation
import Service

/// `osteoct`: the command-line face of OsteoCT. Thin: parses, calls the modules, prints.
struct OsteoCT: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "osteoct",
        abstract: "Hip-fracture risk from routine CT: ingestion, phantom, risk, FHIR screening bundle, validation and benchmarks.",
        discussion: """
            Exit codes: 0 ok, 1 failed (the message says what and what to do), 2 bad usage.
            Every command that prints data takes --json for machine-readable output.
            """,
        version: OsteoCTVersion.string,
        subcommands: [
            InspectCommand.self, ConvertCommand.self, PhantomCommand.self, PhantomCheckCommand.self, CalibrateCommand.self, AnalyzeCommand.self, FECommand.self, RiskCommand.self, ModelCommand.self,
            ValidateCommand.self, FHIRCommand.self, ServeCommand.self, SubscribeCommand.self, JobsCommand.self, ReplayCommand.self, TestEHRCommand.self, KeygenCommand.self, JWTCommand.self, BenchCommand.self, DumpCommand.self,
        ]
    )
}

enum OsteoCTVersion {
    static let string = OsteoCTService.version
}

/// A command failed for a reason the user can act on (exit code 1).
struct CommandFailure: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

@main
enum Main {
    static func main() async {
        do {
            var command = try OsteoCT.parseAsRoot()
            if var async = command as? any AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch {
            exit(with: error)
        }
    }

    /// Maps errors to the documented exit codes: 0 help/version, 2 usage, 1 everything else.
    static func exit(with error: any Error) -> Never {
        if let failure = error as? CommandFailure {
            FileHandle.standardError.write(Data("error: \(failure.message)\n".utf8))
            Foundation.exit(1)
        }
        let code = OsteoCT.exitCode(for: error)
        let message = OsteoCT.fullMessage(for: error)
        if code == .success {
            if !message.isEmpty { print(message) }
            Foundation.exit(0)
        }
        if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
        if code == .validationFailure { Foundation.exit(2) }
        Foundation.exit(1)
    }
}

/// Deterministic JSON: sorted keys, no escaped slashes.
enum JSONOut {
    static func encode<T: Encodable>(_ value: T) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try e.encode(value)
    }

    static func print<T: Encodable>(_ value: T) throws {
        var d = try encode(value)
        d.append(0x0A)
        FileHandle.standardOutput.write(d)
    }
}

/// FHIR has a Flag resource; in this module `Flag` is always ArgumentParser's option flag.
typealias Flag<Value> = ArgumentParser.Flag<Value>
