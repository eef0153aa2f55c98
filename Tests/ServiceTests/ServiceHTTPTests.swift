import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWTKit
import Logging
import NIOCore
import Testing

@testable import Service

// The HTTP surface of `osteoct serve`, called through Hummingbird's test client, with the store
// holding the bundled high-risk example (Examples/screenings/high-risk-with-ct, patient hr01):
// secure by default, CDS Hooks cards with a signed report link, 412 rules, feedback, FHIR read and
// search in JSON and XML, body limits, audit records and metrics.

private let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
private let base = "https://osteoct.example.org"

private func service(development: Bool = false, trusted: [TrustedCDSClient] = [], maxBody: Int = 1 << 20) async throws -> OsteoCTService {
    var c = ServiceConfiguration()
    c.publicURL = base
    c.development = development
    c.trustedClients = trusted
    c.maxBodyBytes = maxBody
    c.reportLinkSecret = "test-secret"
    let store = try temporaryStore()
    let (s, r) = try ScreeningImport.load(folder: examples("screenings/high-risk-with-ct"))
    try await store.save(s, resources: r)
    return try OsteoCTService(configuration: c, store: store, logger: logger)
}

private func hookBody(hook: String = "patient-view", patient: String = "hr01", prefetch: String? = #"{"patient": {"resourceType": "Patient", "id": "hr01", "gender": "female"}}"#,
                      extra: String = "") -> ByteBuffer {
    var s = #"{"hook": "\#(hook)", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "context": {"userId": "Practitioner/1", "patientId": "\#(patient)"\#(extra)}"#
    if let prefetch { s += #", "prefetch": \#(prefetch)"# }
    return ByteBuffer(string: s + "}")
}

private func json(_ b: ByteBuffer) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(Array(buffer: b))) as? [String: Any])
}

private func withApp<T>(_ s: OsteoCTService, _ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
    let app = Application(router: s.router(), logger: logger)
    defer { Task { await s.shutdown() } }
    return try await app.test(.router, body)
}

@Suite("Service HTTP endpoints")
struct ServiceHTTPTests {
    @Test func healthDiscoveryAndSecureByDefault() async throws {
        let s = try await service()
        try await withApp(s) { client in
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/ready", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/cds-services", method: .get) { r in
                let services = try json(r.body)["services"] as? [[String: Any]]
                #expect(services?.map { $0["hook"] as? String } == ["patient-view", "order-select", "order-sign"])
            }
            // Nobody trusted and not in development mode: nothing that discloses patient data answers.
            try await client.execute(uri: "/cds-services/osteoct-hip-fracture-risk", method: .post, body: hookBody()) { r in
                #expect(r.status == .forbidden)
                #expect(String(buffer: r.body).contains("security.trustFile"))
            }
            try await client.execute(uri: "/fhir/RiskAssessment?patient=hr01", method: .get) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/fhir/metadata", method: .get) { r in
                #expect(r.status == .ok)
                try #expect(try json(r.body)["resourceType"] as? String == "CapabilityStatement")
            }
        }
        try #expect(try await s.store.auditRecords().isEmpty)
    }

    @Test func patientViewCardsWithSignedReportLink() async throws {
        let s = try await service(development: true)
        try await withApp(s) { client in
            let link: String = try await client.execute(uri: "/cds-services/osteoct-hip-fracture-risk", method: .post, body: hookBody()) { r in
                #expect(r.status == .ok)
                let cards = try #require(try json(r.body)["cards"] as? [[String: Any]])
                #expect(cards.count == 1)
                #expect(cards.first?["indicator"] as? String == "warning")
                #expect(((cards.first?["summary"] as? String) ?? "").count < 140)
                let url = try #require((cards.first?["links"] as? [[String: Any]])?.first?["url"] as? String)
                #expect(url.hasPrefix(base + "/reports/"))
                return String(url.dropFirst(base.count))
            }
            try await client.execute(uri: link, method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "text/html; charset=utf-8")
                #expect(String(buffer: r.body).contains("<html"))
            }
            // A patient OsteoCT never screened: no cards.
            try await client.execute(uri: "/cds-services/osteoct-hip-fracture-risk", method: .post,
                                     body: hookBody(patient: "other", prefetch: #"{"patient": {"resourceType": "Patient", "id": "other"}}"#)) { r in
                try #expect(try json(r.body)["cards"] as? [Any] != nil && (try json(r.body)["cards"] as? [Any])?.isEmpty == true)
            }
            // Prefetch ran and found no Patient (null): no cards. Deceased: no cards.
            try await client.execute(uri: "/cds-services/osteoct-hip-fracture-risk", method: .post, body: hookBody(prefetch: #"{"patient": null}"#)) { r in
                try #expect((try json(r.body)["cards"] as? [Any])?.isEmpty == true)
            }
            try await client.execute(uri: "/cds-services/osteoct-hip-fracture-risk", method: .post,
                                     body: hookBody(prefetch: #"{"patient": {"resourceType": "Patient", "id": "hr01", "deceasedBoolean": true}}"#)) { r in
                try #expect((try json(r.body)["cards"] as? [Any])?.isEmpty == true)
            }
            // Not prefetched and no FHIR server to read it from: 412 (CDS Hooks §Prefetch).
            try await client.execute(uri: "/cds-services/osteoct-hip-fracture-risk", method: .post, body: hookBody(prefetch: nil)) { r in
                #expect(r.status == .preconditionFailed)
                try #expect(try json(r.body)["resourceType"] as? String == "OperationOutcome")
            }
            // Malformed calls: 400 with the reason.
            try await client.execute(uri: "/cds-services/osteoct-hip-fracture-risk", method: .post, body: ByteBuffer(string: #"{"hook": "patient-view"}"#)) { r in
                #expect(r.status == .badRequest)
                #expect(String(buffer: r.body).contains("hookInstance"))
            }
            try await client.execute(uri: "/cds-services/osteoct-hip-fracture-risk", method: .post, body: hookBody(hook: "order-sign")) { r in
                #expect(r.status == .badRequest)
            }
            try await client.execute(uri: "/cds-services/nope", method: .post, body: hookBody()) { #expect($0.status == .notFound) }
        }
        let audits = try await s.store.auditRecords(patientID: "hr01")
        #expect(Set(audits.map(\.record.subtype)) == ["cds-hooks patient-view", "report"])
    }

    @Test func orderHooksOnlyForBoneHealthOrders() async throws {
        let s = try await service(development: true)
        let alendronate = #", "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "MedicationRequest", "id": "m1", "status": "draft", "intent": "proposal", "medicationCodeableConcept": {"coding": [{"system": "http://www.whocc.no/atc", "code": "M05BA04", "display": "alendronic acid"}]}}}]}"#
        let statin = #", "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "MedicationRequest", "id": "m2", "status": "draft", "intent": "proposal", "medicationCodeableConcept": {"text": "atorvastatin 20 mg"}}}]}"#
        try await withApp(s) { client in
            try await client.execute(uri: "/cds-services/osteoct-osteoporosis-orders", method: .post, body: hookBody(hook: "order-sign", extra: alendronate)) { r in
                try #expect((try json(r.body)["cards"] as? [Any])?.count == 1)
            }
            try await client.execute(uri: "/cds-services/osteoct-osteoporosis-orders", method: .post, body: hookBody(hook: "order-sign", extra: statin)) { r in
                try #expect((try json(r.body)["cards"] as? [Any])?.isEmpty == true)
            }
            // order-select looks at the selections only.
            try await client.execute(uri: "/cds-services/osteoct-osteoporosis-orders", method: .post,
                                     body: hookBody(hook: "order-select", extra: alendronate + #", "selections": ["MedicationRequest/other"]"#)) { r in
                try #expect((try json(r.body)["cards"] as? [Any])?.isEmpty == true)
            }
        }
    }

    @Test func pendingAnalysisCard() async throws {
        let s = try await service(development: true)
        _ = try await s.store.enqueue(kind: "analyze", subjectKey: "study:new", version: 1, patientID: "hr01", payload: "{}")
        try await withApp(s) { client in
            try await client.execute(uri: "/cds-services/osteoct-hip-fracture-risk", method: .post, body: hookBody()) { r in
                let cards = try #require(try json(r.body)["cards"] as? [[String: Any]])
                #expect(cards.count == 2)
                #expect(cards.first?["indicator"] as? String == "info" && (cards.first?["summary"] as? String)?.contains("being analysed") == true)
            }
        }
    }

    @Test func jwtRequiredAndAudienceIsTheEndpoint() async throws {
        let c = try await TestClient()
        let s = try await service(trusted: [TrustedCDSClient(iss: c.iss, jwks: c.jwks, jku: nil)])
        let aud = base + "/cds-services/osteoct-hip-fracture-risk"
        let token = try await c.token(aud: aud)
        let discovery = try await c.token(aud: base + "/cds-services")
        let feedbackToken = try await c.token(aud: aud + "/feedback")
        let fhirToken = try await c.token(aud: base + "/fhir")
        try await withApp(s) { client in
            try await client.execute(uri: "/cds-services/osteoct-hip-fracture-risk", method: .post, body: hookBody()) { r in
                #expect(r.status == .unauthorized)
                #expect(r.headers[.wwwAuthenticate] == "Bearer")
            }
            try await client.execute(uri: "/cds-services/osteoct-hip-fracture-risk", method: .post, headers: [.authorization: "Bearer " + discovery], body: hookBody()) { r in
                #expect(r.status == .unauthorized)
                #expect(String(buffer: r.body).contains("aud"))
            }
            let card: String = try await client.execute(uri: "/cds-services/osteoct-hip-fracture-risk", method: .post,
                                                        headers: [.authorization: "Bearer " + token], body: hookBody()) { r in
                #expect(r.status == .ok)
                return try #require((try json(r.body)["cards"] as? [[String: Any]])?.first?["uuid"] as? String)
            }
            // The same token again is a replay.
            try await client.execute(uri: "/cds-services/osteoct-hip-fracture-risk", method: .post, headers: [.authorization: "Bearer " + token], body: hookBody()) {
                #expect($0.status == .unauthorized)
            }
            let feedback = #"{"feedback": [{"card": "\#(card)", "outcome": "overridden", "overrideReason": {"reason": {"code": "patient-refuses", "system": "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes", "display": "Patient declines referral"}, "userComment": "seen by FLS last month"}, "outcomeTimestamp": "2026-11-25T10:00:00Z"}]}"#
            try await client.execute(uri: "/cds-services/osteoct-hip-fracture-risk/feedback", method: .post,
                                     headers: [.authorization: "Bearer " + feedbackToken], body: ByteBuffer(string: feedback)) { #expect($0.status == .ok) }
            try await client.execute(uri: "/fhir/RiskAssessment?patient=Patient/hr01", method: .get, headers: [.authorization: "Bearer " + fhirToken]) { r in
                #expect(r.status == .ok)
                try #expect(try json(r.body)["total"] as? Int == 1)
            }
        }
        let stored = try await s.store.feedback(serviceID: "osteoct-hip-fracture-risk")
        #expect(stored.count == 1 && stored.first?.outcome == "overridden" && stored.first?.reasonCode == "patient-refuses")
        try #expect(try await s.store.auditRecords(patientID: "hr01").allSatisfy { $0.record.agent == c.iss })
    }

    @Test func feedbackValidated() async throws {
        let s = try await service(development: true)
        try await withApp(s) { client in
            for bad in [#"{"feedback": []}"#, #"{"feedback": [{"card": "x", "outcome": "ignored", "outcomeTimestamp": "2026-11-25T10:00:00Z"}]}"#,
                        #"{"feedback": [{"card": "x", "outcome": "accepted", "outcomeTimestamp": "2026-11-25T10:00:00Z"}]}"#,
                        #"{"feedback": [{"card": "x", "outcome": "overridden", "outcomeTimestamp": "yesterday"}]}"#, "not json"] {
                try await client.execute(uri: "/cds-services/osteoct-hip-fracture-risk/feedback", method: .post, body: ByteBuffer(string: bad)) {
                    #expect($0.status == .badRequest, "\(bad)")
                }
            }
        }
    }

    @Test func fhirReadSearchJSONAndXML() async throws {
        let s = try await service(development: true)
        try await withApp(s) { client in
            let (id, total): (String, Int) = try await client.execute(uri: "/fhir/Observation?patient=hr01&_count=2", method: .get) { r in
                #expect(r.status == .ok)
                let b = try json(r.body)
                #expect(b["type"] as? String == "searchset")
                let entries = try #require(b["entry"] as? [[String: Any]])
                #expect(entries.count == 2)
                let links = (b["link"] as? [[String: Any]])?.map { $0["relation"] as? String }
                #expect(links == ["self", "next"])
                return (try #require((entries.first?["resource"] as? [String: Any])?["id"] as? String), try #require(b["total"] as? Int))
            }
            #expect(total >= 5)
            try await client.execute(uri: "/fhir/Observation/\(id)", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "application/fhir+json; charset=utf-8")
                try #expect(try json(r.body)["id"] as? String == id)
            }
            try await client.execute(uri: "/fhir/Observation/\(id)?_format=xml", method: .get) { r in
                #expect(r.headers[.contentType] == "application/fhir+xml; charset=utf-8")
                let xml = String(buffer: r.body)
                #expect(xml.contains("<Observation xmlns=\"http://hl7.org/fhir\">") && xml.contains("<id value=\"\(id)\"/>"))
            }
            try await client.execute(uri: "/fhir/Observation?patient=hr01&_lastUpdated=gt2100-01-01", method: .get) { r in
                try #expect(try json(r.body)["total"] as? Int == 0)
            }
            try await client.execute(uri: "/fhir/Observation/nope", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/fhir/Patient/hr01", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/fhir/Observation?_lastUpdated=yesterday", method: .get) { #expect($0.status == .badRequest) }
        }
    }

    @Test func oversizedBodyAndTamperedLinkRefused() async throws {
        let s = try await service(development: false, trusted: [], maxBody: 2048)
        try await withApp(s) { client in
            try await client.execute(uri: "/reports/\(UUID().uuidString)?exp=9999999999&sig=AAAA", method: .get) { #expect($0.status == .forbidden) }
        }
        let dev = try await service(development: true, maxBody: 2048)
        try await withApp(dev) { client in
            let big = ByteBuffer(string: #"{"hook": "patient-view", "x": ""# + String(repeating: "a", count: 4096) + #""}"#)
            try await client.execute(uri: "/cds-services/osteoct-hip-fracture-risk", method: .post, body: big) { #expect($0.status == .contentTooLarge) }
        }
    }

    @Test func metricsExposed() async throws {
        let s = try await service(development: true)
        try await withApp(s) { client in
            try await client.execute(uri: "/cds-services/osteoct-hip-fracture-risk", method: .post, body: hookBody()) { _ in }
            try await client.execute(uri: "/metrics", method: .get) { r in
                let text = String(buffer: r.body)
                #expect(text.contains(#"osteoct_http_requests_total{route="/cds-services/{id}",method="POST",status="200"} 1"#))
                #expect(text.contains("osteoct_cds_cards_total"))
                #expect(text.contains(#"osteoct_jobs{state="queued"} 0"#))
                #expect(!text.contains("hr01"))
            }
        }
    }

    @Test func reportLinksExpire() {
        let links = ReportLinks(secret: "k", lifetimeHours: 1)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let path = links.path(id: "abc", now: now)
        let q = URLComponents(string: path)?.queryItems ?? []
        let exp = q.first { $0.name == "exp" }?.value, sig = q.first { $0.name == "sig" }?.value
        #expect(links.verify(id: "abc", exp: exp, sig: sig, now: now))
        #expect(!links.verify(id: "abd", exp: exp, sig: sig, now: now))
        #expect(!links.verify(id: "abc", exp: exp, sig: sig, now: now.addingTimeInterval(3601)))
        #expect(!ReportLinks(secret: "other", lifetimeHours: 1).verify(id: "abc", exp: exp, sig: sig, now: now))
    }
}

@Suite("Audit trail over FHIR")
struct AuditEventTests {
    @Test func disclosuresServedAsAuditEvents() async throws {
        var c = ServiceConfiguration()
        c.publicURL = "https://osteoct.example.org"
        c.development = true
        let store = try temporaryStore()
        let (s, r) = try ScreeningImport.load(folder: examples("screenings/high-risk-with-ct"))
        try await store.save(s, resources: r)
        let service = try OsteoCTService(configuration: c, store: store, logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
        let app = Application(router: service.router(), logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
        try await app.test(.router) { client in
            try await client.execute(uri: "/fhir/RiskAssessment?patient=hr01", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/fhir/AuditEvent?patient=Patient/hr01", method: .get) { r in
                let b = try #require(try JSONSerialization.jsonObject(with: Data(Array(buffer: r.body))) as? [String: Any])
                let events = ((b["entry"] as? [[String: Any]]) ?? []).compactMap { $0["resource"] as? [String: Any] }
                #expect(events.count == 1)
                #expect(events.first?["action"] as? String == "R" && events.first?["recorded"] != nil)
                #expect(((events.first?["entity"] as? [[String: Any]])?.first?["what"] as? [String: Any])?["reference"] as? String == "Patient/hr01")
            }
            try await client.execute(uri: "/fhir/AuditEvent", method: .get) { #expect($0.status == .badRequest) }
        }
        await service.shutdown()
    }
}

@Suite("CORS and TLS")
struct CORSTLSTests {
    @Test func corsOnlyForConfiguredOrigins() async throws {
        var c = ServiceConfiguration()
        c.development = true
        c.corsOrigins = ["https://ehr.example.org"]
        let s = try OsteoCTService(configuration: c, store: try temporaryStore(), logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
        let app = Application(router: s.router(), logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
        try await app.test(.router) { client in
            // A preflight from the EHR's origin gets the CORS headers; one from elsewhere is refused.
            try await client.execute(uri: "/cds-services/osteoct-hip-fracture-risk", method: .options,
                                     headers: [.origin: "https://ehr.example.org", .accessControlRequestMethod: "POST"]) { r in
                #expect(r.headers[.accessControlAllowOrigin] == "https://ehr.example.org")
            }
            try await client.execute(uri: "/cds-services", method: .get, headers: [.origin: "https://evil.example.org"]) { r in
                #expect(r.status == .forbidden && r.headers[.accessControlAllowOrigin] == nil)
            }
            try await client.execute(uri: "/cds-services", method: .get) { #expect($0.status == .ok) }   // no Origin: not a browser call
        }
        await s.shutdown()
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") && FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"),
                   "needs openssl and curl"))
    func servesOverTLS() async throws {
        // A self-signed certificate made by openssl (a third-party tool) for localhost.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("osteoct-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                       "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem"]
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0)
        var c = ServiceConfiguration()
        c.tlsCertificate = dir + "/cert.pem"
        c.tlsKey = dir + "/key.pem"
        c.port = 0   // the system picks the port (no race with other tests' servers); learnt when it listens
        let s = try OsteoCTService(configuration: c, store: try temporaryStore(), logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
        let bound = BoundPort()
        let app = try s.application { port in await bound.set(port ?? 0) }
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { server.cancel() }
        // curl (another third-party client) trusting exactly that certificate; the server may take a
        // moment to listen on a loaded machine, so a few tries.
        var answer = ""
        for _ in 0..<50 where answer.isEmpty {
            try await Task.sleep(for: .milliseconds(200))
            let port = await bound.port
            guard port > 0 else { continue }
            let curl = Process()
            curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            curl.arguments = ["-s", "--max-time", "5", "--cacert", dir + "/cert.pem", "https://localhost:\(port)/health"]
            let out = Pipe()
            curl.standardOutput = out
            try curl.run()
            curl.waitUntilExit()
            answer = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        }
        #expect(answer == #"{"status":"pass"}"#)
        // A bad key file is a configuration error that names the files.
        c.tlsKey = dir + "/cert.pem"
        let bad = try OsteoCTService(configuration: c, store: try temporaryStore(), logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
        #expect(throws: ServiceError.self) { _ = try bad.application() }
        await bad.shutdown()
        await s.shutdown()
    }
}

actor BoundPort {
    var port = 0
    func set(_ p: Int) { port = p }
}
