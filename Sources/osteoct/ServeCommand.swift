import ArgumentParser
import Foundation
import Logging
import Service

/// `osteoct serve`: the CDS service (CDS Hooks, FHIR, reports, workers, PACS and EHR events).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the decision-support service: CDS Hooks, /fhir, report pages, Subscription and Orthanc events, analysis workers.",
        discussion: """
            Settings come from --config (JSON; see Examples/service/config.json) with the environment
            on top: server.port is SERVER_PORT, store.path is STORE_PATH, and so on. Secure by
            default: until CDS clients are listed in security.trustFile, calls that would disclose
            patient data are refused. --development opens everything for a local demo (and says so).
            Stops cleanly on SIGTERM or SIGINT; jobs cut short are taken up again at the next start.
            Logs (stderr, level from LOG_LEVEL) name routes and statuses, never patients.
            """)

    @Option(help: "Service configuration (JSON). Default: $OSTEOCT_CONFIG, else built-in defaults and the environment.") var config: String?
    @Flag(help: "Development mode: no authentication anywhere. Never with real patient data.") var development = false

    func run() async throws {
        var configuration = try await loadServiceConfiguration(config)
        if development { configuration.development = true }
        let logger = serviceLogger()
        let storePath = configuration.storePath
        do {
            try await OsteoCTService.serve(configuration: configuration, logger: logger) { url in
                logger.notice("OsteoCT \(OsteoCTVersion.string) listening on \(url) (store \(storePath))")
            }
        } catch let e as ServiceError {
            throw CommandFailure("\(e)")
        }
    }
}

/// `osteoct jobs`: the queue, and `osteoct replay` for dead-lettered jobs.
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "List the service's jobs by state (counts, and the jobs in --state).")

    @Option(help: "Service configuration (JSON), for the store's path.") var config: String?
    @Option(help: "List the jobs in this state: queued, running, done, failed or dead.") var state: String?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let store = try await openStore(config)
        do {
            let counts = try await store.jobCounts()
            var listed: [Job] = []
            if let state {
                guard let s = Job.State(rawValue: state) else { throw CommandFailure("--state '\(state)' is not queued, running, done, failed or dead") }
                listed = try await store.jobs(state: s)
            }
            if json {
                struct Out: Encodable {
                    var counts: [String: Int]
                    var jobs: [[String: String]]
                }
                try JSONOut.print(Out(counts: Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) }),
                                      jobs: listed.map { ["id": String($0.id), "kind": $0.kind, "state": $0.state.rawValue, "attempts": String($0.attempts),
                                                          "version": String($0.version), "error": $0.error ?? ""] }))
            } else {
                print(["queued", "running", "done", "failed", "dead"].map { "\($0) \(counts[Job.State(rawValue: $0)!] ?? 0)" }.joined(separator: " · "))
                for j in listed { print("job \(j.id)  \(j.kind)  v\(j.version)  attempts \(j.attempts)\(j.error.map { "  — \($0)" } ?? "")") }
            }
        } catch let e as ServiceError {
            throw CommandFailure("\(e)")
        }
    }
}

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Put dead-lettered jobs back in the queue once their cause is fixed (the running service takes them up).")

    @Argument(help: "Job ids (see `osteoct jobs --state dead`).") var jobs: [Int64] = []
    @Flag(help: "Every dead-lettered job.") var allDead = false
    @Option(help: "Service configuration (JSON), for the store's path.") var config: String?

    func validate() throws {
        if jobs.isEmpty && !allDead { throw ValidationError("name the jobs to replay, or --all-dead") }
    }

    func run() async throws {
        let store = try await openStore(config)
        let (replayed, skipped): (Int, [Int64])
        do { (replayed, skipped) = try await Self.replay(store: store, ids: allDead ? nil : jobs) } catch { throw CommandFailure("\(error)") }
        for id in skipped { FileHandle.standardError.write(Data("job \(id) is not dead-lettered; left as it is\n".utf8)) }
        print("\(replayed) job(s) queued again")
    }

    /// Replays `ids` (nil: every dead job); returns how many went back and the ids that were not dead.
    static func replay(store: Store, ids: [Int64]?) async throws(ServiceError) -> (Int, [Int64]) {
        let list: [Int64]
        if let ids { list = ids } else { list = try await store.jobs(state: .dead, limit: 100_000).map(\.id) }
        var replayed = 0, skipped: [Int64] = []
        for id in list {
            if try await store.replay(job: id) { replayed += 1 } else { skipped.append(id) }
        }
        return (replayed, skipped)
    }
}

func loadServiceConfiguration(_ path: String?) async throws -> ServiceConfiguration {
    do { return try await ServiceConfiguration.load(file: path ?? ProcessInfo.processInfo.environment["OSTEOCT_CONFIG"]) } catch {
        throw CommandFailure("\(error)")
    }
}

func openStore(_ config: String?) async throws -> Store {
    let c = try await loadServiceConfiguration(config)
    guard FileManager.default.fileExists(atPath: c.storePath) else {
        throw CommandFailure("no store at \(c.storePath): give the service's --config (store.path)")
    }
    do { return try Store(path: c.storePath) } catch { throw CommandFailure("\(error)") }
}

/// Log lines on stderr; LOG_LEVEL (trace … critical) sets the level, info by default.
func serviceLogger() -> Logger {
    LoggingSystem.bootstrap { label in
        var h = StreamLogHandler.standardError(label: label)
        h.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        return h
    }
    return Logger(label: "osteoct")
}

/// `osteoct subscribe`: asks the EHR (ehr.baseUrl) to notify the service of new CT studies.
struct SubscribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscribe",
        abstract: "Create the FHIR Subscription (R4 Subscriptions Backport, rest-hook) through which the EHR announces new CT studies.")

    @Option(help: "Service configuration (JSON): ehr.* and the service's public URL and subscription secret.") var config: String?
    @Option(help: "The EHR's SubscriptionTopic canonical URL for CT ImagingStudy created/updated.") var topic: String
    @Option(help: "Notification content: id-only or full-resource.") var content = "id-only"

    func validate() throws {
        if !["id-only", "full-resource"].contains(content) { throw ValidationError("--content must be id-only or full-resource") }
    }

    func run() async throws {
        let c = try await loadServiceConfiguration(config)
        guard c.ehr != nil else { throw CommandFailure("the configuration has no ehr.baseUrl: which EHR should notify OsteoCT?") }
        if c.subscriptionSecret == nil && !c.development {
            throw CommandFailure("set security.subscriptionSecret first: the service accepts notifications only with it")
        }
        let service: OsteoCTService
        do { service = try OsteoCTService(configuration: c, store: try Store(path: c.storePath), logger: Logger(label: "osteoct")) } catch {
            throw CommandFailure("\(error)")
        }
        var outcome = ""
        var failure: String?
        do {
            let s = try await service.subscribe(topic: topic, content: content)
            outcome = "Subscription/\(s.id): \(s.status) (notifications to \(c.baseURL)/subscriptions/notify)"
        } catch {
            failure = "\(error)"
        }
        await service.shutdown()
        if let failure { throw CommandFailure(failure) }
        print(outcome)
    }
}
