// Running one screening: `osteoct analyze` in a child process. A process of its own per study keeps
// the service alive when an analysis fails or a malformed study exhausts memory, returns all of its
// memory when it ends, and lets a job be stopped (lease lost, shutdown, timeout) by terminating it.
public import Foundation

/// Runs the whole screening of one study into a folder (bundle.json, risk.json, report.html, …).
public protocol StudyAnalyzer: Sendable {
    /// `revision`: 2, 3, … when the study was screened before. `reuseCT`: `study` is an earlier
    /// analysis folder whose CT part is kept (a re-score). `log`: where the analysis writes its messages.
    func analyze(study: String, patientBundle: String?, out: String, siteConfig: String?, dicomOut: String?, revision: Int?,
                 reuseCT: Bool, log: String) async throws(AnalysisFailure)
}

/// Why an analysis did not finish, and whether running it again may help.
public struct AnalysisFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// Killed by a signal (memory, operator) or timed out waiting on the machine: may pass.
    public var retryable: Bool
    public var description: String { message }
    public init(message: String, retryable: Bool) { self.message = message; self.retryable = retryable }
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

    public func analyze(study: String, patientBundle: String?, out: String, siteConfig: String?, dicomOut: String?, revision: Int?,
                        reuseCT: Bool, log: String) async throws(AnalysisFailure) {
        var args = ["analyze", study, "--out", out]
        if reuseCT { args.append("--reuse-ct") }
        if let patientBundle { args += ["--patient", patientBundle] }
        if let siteConfig { args += ["--config", siteConfig] }
        if let dicomOut { args += ["--dicom-out", dicomOut] }
        if let revision, revision > 1 { args += ["--revision", String(revision)] }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "SOURCE_DATE_EPOCH")   // results are issued now
        p.environment = env
        // Messages go to a file, not a pipe: a chatty analysis can never block on a full pipe.
        guard FileManager.default.createFile(atPath: log, contents: nil), let logHandle = FileHandle(forWritingAtPath: log) else {
            throw AnalysisFailure(message: "cannot create \(log)", retryable: true)
        }
        defer { try? logHandle.close() }
        p.standardError = logHandle
        p.standardOutput = FileHandle.nullDevice
        let timedOut = TimeoutFlag()
        let outcome: (Int32, Process.TerminationReason)
        do {
            outcome = try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (c: CheckedContinuation<(Int32, Process.TerminationReason), any Error>) in
                    p.terminationHandler = { c.resume(returning: ($0.terminationStatus, $0.terminationReason)) }
                    do { try p.run() } catch { p.terminationHandler = nil; c.resume(throwing: error); return }
                    // The timeout: SIGTERM, then SIGKILL if it does not stop within 10 s.
                    let pid = p.processIdentifier, limit = timeoutSeconds
                    Task.detached {
                        try? await Task.sleep(for: .seconds(limit))
                        guard p.isRunning else { return }
                        timedOut.set()
                        Self.stop(pid: pid, process: p)
                    }
                }
            } onCancel: {
                if p.isRunning { Self.stop(pid: p.processIdentifier, process: p) }
            }
        } catch {
            throw AnalysisFailure(message: "cannot start \(executable): \(error)", retryable: false)
        }
        if Task.isCancelled { throw AnalysisFailure(message: "stopped (lease lost or shutdown)", retryable: true) }
        if timedOut.value { throw AnalysisFailure(message: "the analysis took longer than \(Int(timeoutSeconds)) s (workers.analysisTimeoutSeconds)", retryable: false) }
        guard outcome.1 == .exit, outcome.0 == 0 else {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            let last = text.split(separator: "\n").last.map(String.init) ?? ""
            if outcome.1 == .uncaughtSignal {
                throw AnalysisFailure(message: "the analysis was killed by signal \(outcome.0)", retryable: true)
            }
            // The study or the record was refused; its reason is the last line of the log.
            throw AnalysisFailure(message: "the analysis refused the study (exit \(outcome.0)): \(last.prefix(300))", retryable: false)
        }
    }

    static func stop(pid: Int32, process: Process) {
        kill(pid, SIGTERM)
        Task.detached {
            try? await Task.sleep(for: .seconds(10))
            if process.isRunning { kill(pid, SIGKILL) }
        }
    }
}

/// Set once by the timeout task.
final class TimeoutFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    func set() { lock.lock(); flag = true; lock.unlock() }
    var value: Bool { lock.lock(); defer { lock.unlock() }; return flag }
}
