import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Service

/// `osteoct bench service`: the service under load from a second process on loopback.
///   CDS Hooks: patient-view for a woman with a stored screening, each call with its own signed JWT
///   (so the trust checks are in the timing), sent open-loop at a fixed rate — latency is measured
///   from when each request was due, so a stall is not hidden by the generator waiting for it.
///   Intake: Subscription notifications (full-resource ImagingStudy, one in ten a repeat) sent by
///   `--concurrency` clients; each is authenticated, recognised or recorded, and queued.
struct BenchService: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "CDS Hooks latency at a fixed rate and notification intake, against an in-process service, load from a second process.",
        discussion: "Targets (issue 8): patient-view p99 ≤ 50 ms at 200 requests/s with 0 errors; ≥ 500 notifications/s accepted, deduplicated and queued.")

    @Option(help: "CDS Hooks requests per second.") var rate = 200
    @Option(help: "Seconds of CDS Hooks load.") var seconds = 30
    @Option(help: "Notifications to send.") var notifications = 5000
    @Option(help: "Concurrent notification senders.") var concurrency = 16
    @Flag(help: "Print JSON (always JSON).") var json = false

    func run() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("osteoct-bench-service-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Examples").path
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }

        // The service: the bundled high-risk screening stored, one trusted CDS client, no workers.
        let (privateJWK, jwks) = KeyMaterial.generateES384(kid: "bench-client")
        var c = ServiceConfiguration()
        guard let port = Loopback.freePort() else { throw CommandFailure("cannot find a free loopback port") }
        c.port = port
        let base = "http://127.0.0.1:\(c.port)"
        c.publicURL = base   // the JWT audience is the URL called
        c.storePath = dir + "/store.sqlite"
        c.subscriptionSecret = "bench-secret"
        c.trustedClients = [TrustedCDSClient(iss: "https://ehr.bench", jwks: try JSONDecoder().decode(AnyJSON.self, from: Data(jwks.utf8)), jku: nil)]
        let store: Store, service: OsteoCTService
        do {
            store = try Store(path: c.storePath)
            let (s, r) = try ScreeningImport.load(folder: examples + "/screenings/high-risk-with-ct")
            try await store.save(s, resources: r)
            service = try OsteoCTService(configuration: c, store: store, logger: logger)
        } catch { throw CommandFailure("\(error)") }
        let app = try service.application()
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { server.cancel() }
        try await Task.sleep(for: .milliseconds(300))

        // Tokens minted before the clock starts (signing is the client's cost, not the service's).
        let count = rate * seconds
        var tokens: [String] = []
        tokens.reserveCapacity(count)
        for _ in 0..<count {
            do { tokens.append(try await KeyMaterial.clientJWT(privateJWK: privateJWK, iss: "https://ehr.bench", aud: base + "/cds-services/osteoct-hip-fracture-risk")) } catch {
                throw CommandFailure("\(error)")
            }
        }
        try tokens.joined(separator: "\n").write(toFile: dir + "/tokens.txt", atomically: true, encoding: .utf8)

        let cds = try runLoad(["--mode", "cds", "--url", base + "/cds-services/osteoct-hip-fracture-risk", "--tokens", dir + "/tokens.txt",
                               "--rate", String(rate), "--seconds", String(seconds)])
        let intake = try runLoad(["--mode", "intake", "--url", base + "/subscriptions/notify", "--secret", "bench-secret",
                                  "--count", String(notifications), "--concurrency", String(concurrency)])
        let queued = (try? await store.jobs(state: .queued, limit: 1_000_000).count) ?? -1
        await service.shutdown()

        struct Out: Encodable {
            var cdsHooks: LoadResult
            var cdsTarget: String
            var cdsPass: Bool
            var intake: LoadResult
            var jobsQueued: Int
            var intakeTarget: String
            var intakePass: Bool
        }
        let distinct = notifications - notifications / 10
        try JSONOut.print(Out(cdsHooks: cds, cdsTarget: "p99 <= 50 ms at \(rate)/s, 0 errors", cdsPass: cds.p99Ms <= 50 && cds.errors == 0,
                              intake: intake, jobsQueued: queued, intakeTarget: ">= 500/s, each distinct study queued once",
                              intakePass: intake.perSecond >= 500 && intake.errors == 0 && queued == distinct))
    }

    /// Runs the load generator as a second process and reads its JSON.
    func runLoad(_ args: [String]) throws -> LoadResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ProcessAnalyzer.currentExecutable)
        p.arguments = ["bench", "service-load"] + args
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0, let r = try? JSONDecoder().decode(LoadResult.self, from: data) else {
            throw CommandFailure("the load generator failed: \(String(decoding: data, as: UTF8.self))")
        }
        return r
    }
}

struct LoadResult: Codable {
    var requests: Int
    var errors: Int
    var seconds: Double
    var perSecond: Double
    var p50Ms: Double
    var p90Ms: Double
    var p99Ms: Double
    var maxMs: Double
    var statuses: [String: Int]
}

/// The load generator (the second process of `bench service`).
struct BenchServiceLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "service-load", abstract: "Load generator of `bench service` (internal).", shouldDisplay: false)

    @Option var mode: String
    @Option var url: String
    @Option var tokens: String?
    @Option var secret: String?
    @Option var rate = 200
    @Option var seconds = 30
    @Option var count = 5000
    @Option var concurrency = 16

    func run() async throws {
        var config = HTTPClient.Configuration()
        config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        let result: LoadResult
        do {
            result = mode == "cds" ? try await cds(http) : try await intake(http)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
        try JSONOut.print(result)
    }

    func cds(_ http: HTTPClient) async throws -> LoadResult {
        guard let tokens, let text = try? String(contentsOfFile: tokens, encoding: .utf8) else { throw CommandFailure("--tokens") }
        let jwts = text.split(separator: "\n").map(String.init)
        let total = min(jwts.count, rate * seconds)
        let body = #"{"hook": "patient-view", "hookInstance": "%@", "context": {"userId": "Practitioner/1", "patientId": "hr01"}, "prefetch": {"patient": {"resourceType": "Patient", "id": "hr01", "gender": "female"}}}"#
        let start = ContinuousClock.now
        let interval = Duration.seconds(1) / rate
        let samples = try await withThrowingTaskGroup(of: (Double, Int).self) { group in
            for i in 0..<total {
                let due = start + interval * i
                try await Task.sleep(until: due, clock: .continuous)
                group.addTask {
                    var r = HTTPClientRequest(url: url)
                    r.method = .POST
                    r.headers.add(name: "Content-Type", value: "application/json")
                    r.headers.add(name: "Authorization", value: "Bearer " + jwts[i])
                    r.body = .bytes(ByteBuffer(string: String(format: body, UUID().uuidString)))
                    var status = 0
                    do {
                        let response = try await http.execute(r, timeout: .seconds(10))
                        let b = try await response.body.collect(upTo: 1 << 20)
                        status = Int(response.status.code)
                        if status == 200 && !String(buffer: b).contains("\"warning\"") { status = 299 }   // a 200 without the card is an error too
                    } catch { status = -1 }
                    // From when the request was due, not when it was sent.
                    let ms = Double((ContinuousClock.now - due).components.attoseconds) * 1e-15 + Double((ContinuousClock.now - due).components.seconds) * 1000
                    return (ms, status)
                }
            }
            var out: [(Double, Int)] = []
            for try await s in group { out.append(s) }
            return out
        }
        return summarise(samples, elapsed: ContinuousClock.now - start, ok: 200)
    }

    func intake(_ http: HTTPClient) async throws -> LoadResult {
        guard let secret else { throw CommandFailure("--secret") }
        let distinct = count - count / 10
        let start = ContinuousClock.now
        let samples = try await withThrowingTaskGroup(of: [(Double, Int)].self) { group in
            for w in 0..<concurrency {
                group.addTask {
                    var out: [(Double, Int)] = []
                    var i = w
                    while i < count {
                        // Every tenth notification repeats an earlier event (same subscription and number).
                        let n = i % 10 == 9 ? (i / 10) : i - i / 10
                        let study = n % distinct
                        let note = Self.notification(event: n, study: study)
                        var r = HTTPClientRequest(url: url)
                        r.method = .POST
                        r.headers.add(name: "Content-Type", value: "application/fhir+json")
                        r.headers.add(name: "Authorization", value: "Bearer " + secret)
                        r.body = .bytes(ByteBuffer(string: note))
                        let t0 = ContinuousClock.now
                        var status = 0
                        do {
                            let response = try await http.execute(r, timeout: .seconds(10))
                            _ = try await response.body.collect(upTo: 1 << 16)
                            status = Int(response.status.code)
                        } catch { status = -1 }
                        let d = ContinuousClock.now - t0
                        out.append((Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) * 1e-15, status))
                        i += concurrency
                    }
                    return out
                }
            }
            var all: [(Double, Int)] = []
            for try await s in group { all += s }
            return all
        }
        return summarise(samples, elapsed: ContinuousClock.now - start, ok: 200)
    }

    static func notification(event: Int, study: Int) -> String {
        let uid = "1.2.826.0.1.3680043.8.498.\(100_000 + study)"
        return #"{"resourceType":"Bundle","type":"history","entry":[{"resource":{"resourceType":"Parameters","parameter":[{"name":"subscription","valueReference":{"reference":"Subscription/bench"}},{"name":"status","valueCode":"active"},{"name":"type","valueCode":"event-notification"},{"name":"notification-event","part":[{"name":"event-number","valueString":"\#(event)"},{"name":"focus","valueReference":{"reference":"ImagingStudy/s\#(study)"}}]}]},"request":{"method":"GET","url":"Subscription/bench/$status"},"response":{"status":"200"}},{"fullUrl":"ImagingStudy/s\#(study)","resource":{"resourceType":"ImagingStudy","id":"s\#(study)","status":"available","subject":{"reference":"Patient/b\#(study)"},"numberOfInstances":300,"identifier":[{"system":"urn:dicom:uid","value":"urn:oid:\#(uid)"}]},"request":{"method":"PUT","url":"ImagingStudy/s\#(study)"},"response":{"status":"200"}}]}"#
    }

    func summarise(_ samples: [(Double, Int)], elapsed: Duration, ok: Int) -> LoadResult {
        let latencies = samples.map(\.0).sorted()
        func q(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        var statuses: [String: Int] = [:]
        for s in samples { statuses[String(s.1), default: 0] += 1 }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return LoadResult(requests: samples.count, errors: samples.filter { $0.1 != ok }.count, seconds: seconds,
                          perSecond: Double(samples.count) / seconds, p50Ms: q(0.5), p90Ms: q(0.9), p99Ms: q(0.99), maxMs: latencies.last ?? 0,
                          statuses: statuses)
    }
}
