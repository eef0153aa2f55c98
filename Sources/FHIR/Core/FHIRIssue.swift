/// One finding while reading or validating FHIR content, shaped like an OperationOutcome.issue so
/// the service can return it as is.
public struct FHIRIssue: Sendable, Equatable, CustomStringConvertible {
    /// OperationOutcome.issue.severity (required binding issue-severity).
    public enum Severity: String, Sendable, Equatable, Comparable {
        case fatal, error, warning, information
        var rank: Int { [.fatal: 0, .error: 1, .warning: 2, .information: 3][self] ?? 3 }
        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    }

    public var severity: Severity
    /// OperationOutcome.issue.code (issue-type): structure, required, value, invariant, code-invalid,
    /// not-supported, too-long, too-costly, security, processing, …
    public var code: String
    public var diagnostics: String
    /// FHIRPath-like location (`Observation.code.coding[0].system`).
    public var expression: String

    public init(_ severity: Severity, _ code: String, _ diagnostics: String, at expression: String) {
        self.severity = severity
        self.code = code
        self.diagnostics = diagnostics
        self.expression = expression
    }

    public var description: String { "\(severity.rawValue) [\(code)] \(expression.isEmpty ? "" : expression + ": ")\(diagnostics)" }
}

/// A FHIR failure: bad syntax, hostile input past a limit, or content with errors.
public struct FHIRError: Error, Sendable, Equatable, CustomStringConvertible {
    public var issues: [FHIRIssue]

    public init(_ issues: [FHIRIssue]) { self.issues = issues }
    public init(_ severity: FHIRIssue.Severity = .error, _ code: String, _ diagnostics: String, at expression: String = "") {
        issues = [FHIRIssue(severity, code, diagnostics, at: expression)]
    }

    public var description: String {
        let errors = issues.filter { $0.severity <= .error }
        let shown = (errors.isEmpty ? issues : errors).prefix(10).map(\.description).joined(separator: "\n  ")
        let more = (errors.isEmpty ? issues : errors).count > 10 ? "\n  … and \((errors.isEmpty ? issues : errors).count - 10) more" : ""
        return "FHIR content not accepted:\n  " + shown + more
    }
}
