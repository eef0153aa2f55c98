import ArgumentParser
import FHIR
import Foundation
import Screening

/// Reads a whole file, with the failure as a CommandFailure.
func readFile(_ path: String) throws -> [UInt8] {
    guard let d = FileManager.default.contents(atPath: path) else {
        throw CommandFailure("cannot read \(path): no such file or not readable")
    }
    return [UInt8](d)
}

/// Writes files into `dir` all-or-nothing: everything goes to a staging folder first, then each
/// file is renamed into place, so an interrupted run leaves no half-written result.
func writeAtomically(_ files: [(name: String, bytes: [UInt8])], into dir: String) throws {
    let fm = FileManager.default
    do {
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
    } catch {
        throw CommandFailure("cannot create \(dir): \(error.localizedDescription)")
    }
    let staging = dir + "/.osteoct-staging-\(getpid())"
    try? fm.removeItem(atPath: staging)
    do {
        try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)
        // Names may hold one folder level ("qc/coronal-hips.png"): created in staging and in the target.
        for f in files {
            let sub = (f.name as NSString).deletingLastPathComponent
            if !sub.isEmpty {
                try fm.createDirectory(atPath: staging + "/" + sub, withIntermediateDirectories: true)
                try fm.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
            }
            try Data(f.bytes).write(to: URL(fileURLWithPath: staging + "/" + f.name))
        }
        for f in files {
            let target = dir + "/" + f.name
            if rename(staging + "/" + f.name, target) != 0 {
                throw CommandFailure("cannot move \(f.name) into \(dir): \(String(cString: strerror(errno)))")
            }
        }
        try? fm.removeItem(atPath: staging)
    } catch let e as CommandFailure {
        try? fm.removeItem(atPath: staging)
        throw e
    } catch {
        try? fm.removeItem(atPath: staging)
        throw CommandFailure("cannot write into \(dir): \(error.localizedDescription)")
    }
}

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate FHIR R4 resources (JSON or XML, a resource or a Bundle) against the base rules and OsteoCT's profiles; prints an OperationOutcome.",
        discussion: """
            Checks cardinality, types and required bindings of R4 4.0.1, the key invariants (ele-1,
            ext-1, dom-2…6, ref-1, qty-3, per-1, rng-2, obs-3/6/7, ras-1/2, bdl-1…12, cpb-*, …) and, for
            every resource that names one in meta.profile (or for --profile), the OsteoCT profiles in
            Profiles/. Bundle entries are checked one by one. Exit code 1 when there is any error.
            """)

    @Argument(help: "FHIR files (.json or .xml).") var files: [String]
    @Option(help: "Also check every top-level resource against this profile URL (repeatable).") var profile: [String] = []
    @Flag(help: "Reject unknown elements (default: a warning).") var strict = false
    @Option(help: "OperationOutcome format: json or xml.") var format: String = "json"
    @Flag(help: "Print one line per issue instead of an OperationOutcome.") var text = false

    func validate() throws {
        guard FHIRFormat(rawValue: format) != nil else { throw ValidationError("--format must be json or xml") }
        let known = OsteoCTConformance.registry.structureDefinitions.keys
        for p in profile where !known.contains(p) {
            throw ValidationError("unknown profile \(p); known: \(OsteoCTConformance.profileURLs.joined(separator: ", "))")
        }
    }

    func run() throws {
        var validator = OsteoCTConformance.validator(strict: strict)
        validator.requiredProfiles = profile
        var failed = false
        for path in files {
            let bytes = try readFile(path)
            let issues = validator.validate(bytes, format: FHIRFormat.fromPath(path))
            let errors = issues.filter { $0.severity <= .error }.count
            if errors > 0 { failed = true }
            if text {
                let warnings = issues.filter { $0.severity == .warning }.count
                print("\(path): \(errors) error(s), \(warnings) warning(s)")
                for i in issues { print("  \(i)") }
            } else {
                let outcome = operationOutcomeElement(issues)
                FileHandle.standardOutput.write(Data(FHIRCodec.write(outcome, format: FHIRFormat(rawValue: format)!, pretty: true)))
            }
        }
        if failed { throw ExitCode(1) }
    }
}

struct FHIRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fhir",
        abstract: "FHIR utilities: convert between JSON and XML.",
        subcommands: [FHIRConvert.self])
}

struct FHIRConvert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a FHIR R4 resource between JSON and XML through the typed model (element order from the definitions).",
        discussion: "Unknown elements are dropped with a warning (--strict: refused). Decimals keep their written precision.")

    @Argument(help: "Input file (.json or .xml).") var input: String
    @Option(help: "Output format: json or xml.") var to: String
    @Option(help: "Output file (default: standard output).") var out: String?
    @Flag(help: "Refuse unknown elements.") var strict = false
    @Flag(help: "Compact output (default: indented).") var compact = false

    func validate() throws {
        guard FHIRFormat(rawValue: to) != nil else { throw ValidationError("--to must be json or xml") }
    }

    func run() throws {
        let bytes = try readFile(input)
        let decoded: FHIRDecoded<AnyResource>
        do {
            decoded = try FHIRCodec.decode(bytes, format: FHIRFormat.fromPath(input), options: FHIRDecodingOptions(strict: strict))
        } catch {
            throw CommandFailure("\(input): \(error)")
        }
        for i in decoded.issues { FileHandle.standardError.write(Data("warning: \(input): \(i)\n".utf8)) }
        let output = FHIRCodec.encode(decoded.resource, format: FHIRFormat(rawValue: to)!, pretty: !compact)
        if let out {
            try writeAtomically([(name: (out as NSString).lastPathComponent, bytes: output)], into: (out as NSString).deletingLastPathComponent.isEmpty ? "." : (out as NSString).deletingLastPathComponent)
        } else {
            FileHandle.standardOutput.write(Data(output))
        }
    }
}
