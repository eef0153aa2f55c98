// Running one screening: `osteoct analyze` in a child process. A process of its own per study keeps
// the service alive when an analysis fails or a malformed study exhausts memory, returns all of its
// memory when it ends, and lets a job be stopped (lease lost, shutdown) by terminating it.
public import Foundation

/// Runs the whole screening of one study into a folder (bundle.json, risk.json, report.html, …).
public protocol StudyAnalyzer: Sendable {
    func analyze(study: String, patientBundle: String?, out: String, siteConfig: String?, dicomOut: String?) async throws(ServiceError)
}

public struct ProcessAnalyzer: StudyAnalyzer {
    /// The `osteoct` executable (by default the running one).
    public var executable: String
    public var timeoutSeconds: Double

    public init(executable: String? = nil, timeoutSeconds: Double = 1800) {
        self.executable = executable ?? ProcessAnalyzer.currentExecutable
        self.timeoutSeconds = timeoutSeconds
    }

    /// The running executable (Linux: /proc/self/exe), else argv[0].
    public static var currentExecutable: String {
        if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return p }
        return CommandLine.arguments.first ?? "osteoct"
    }

    public func analyze(study: String, patientBundle: String?, out: String, siteConfig: String?, dicomOut: String?) async throws(ServiceError) {
        var args = ["analyze", study, "--out", out]
        if let patientBundle { args += ["--patient", patientBundle] }
        if let siteConfig { args += ["--config", siteConfig] }
        if let dicomOut { args += ["--dicom-out", dicomOut] }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "SOURCE_DATE_EPOCH")   // results are issued now
        p.environment = env
        let errPipe = Pipe()
        p.standardError = errPipe
        p.standardOutput = FileHandle.nullDevice
        let status: Int32
        let reason: Process.TerminationReason
        do {
            (status, reason) = try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (c: CheckedContinuation<(Int32, Process.TerminationReason), any Error>) in
                    p.terminationHandler = { c.resume(returning: ($0.terminationStatus, $0.terminationReason)) }
                    do { try p.run() } catch { p.terminationHandler = nil; c.resume(throwing: error) }
                }
            } onCancel: {
                if p.isRunning { p.terminate() }
            }
        } catch {
            throw .job("cannot start \(executable): \(error)")
        }
        let stderr = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard reason == .exit, status == 0 else {
            let last = stderr.split(separator: "\n").suffix(3).joined(separator: " | ")
            throw .job(reason == .uncaughtSignal ? "analysis killed by signal \(status)\(last.isEmpty ? "" : ": " + last)"
                                                 : "analysis failed (exit \(status)): \(last.isEmpty ? "no message" : last)")
        }
    }
}
