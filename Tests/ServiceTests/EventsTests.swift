import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import Service

// Events in: Subscription notifications (R4 Backport shapes from the IG: a history Bundle whose first
// entry is the status Parameters), multipart/related bodies (RFC 2387) for DICOMweb, and the
// configuration file with the environment on top.

private let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

private func notification(type: String, events: [(String, String)], include study: String? = nil, since: Int? = nil) -> ByteBuffer {
    var params = [#"{"name": "subscription", "valueReference": {"reference": "https://ehr.example.org/fhir/Subscription/s1"}}"#,
                  #"{"name": "status", "valueCode": "active"}"#, #"{"name": "type", "valueCode": "\#(type)"}"#]
    if let since { params.append(#"{"name": "events-since-subscription-start", "valueString": "\#(since)"}"#) }
    for (n, focus) in events {
        params.append(#"{"name": "notification-event", "part": [{"name": "event-number", "valueString": "\#(n)"}, {"name": "focus", "valueReference": {"reference": "\#(focus)"}}]}"#)
    }
    var entries = [#"{"fullUrl": "urn:uuid:0d7b2a7e-4b0e-4d7d-9b7a-1a2b3c4d5e6f", "resource": {"resourceType": "Parameters", "parameter": [\#(params.joined(separator: ","))]}, "request": {"method": "GET", "url": "Subscription/s1/$status"}, "response": {"status": "200"}}"#]
    if let study { entries.append(#"{"fullUrl": "https://ehr.example.org/fhir/ImagingStudy/ct1", "resource": \#(study), "request": {"method": "PUT", "url": "ImagingStudy/ct1"}, "response": {"status": "200"}}"#) }
    return ByteBuffer(string: #"{"resourceType": "Bundle", "type": "history", "entry": [\#(entries.joined(separator: ","))]}"#)
}

private let imagingStudy = #"{"resourceType": "ImagingStudy", "id": "ct1", "status": "available", "subject": {"reference": "Patient/p7"}, "numberOfInstances": 240, "identifier": [{"system": "urn:dicom:uid", "value": "urn:oid:1.2.826.0.1.3680043.8.498.1"}]}"#

@Suite("Events in")
struct EventsTests {
    func service(secret: String? = "s3cret") throws -> OsteoCTService {
        var c = ServiceConfiguration()
        c.subscriptionSecret = secret
        c.publicURL = "https://osteoct.example.org"
        return try OsteoCTService(configuration: c, store: try temporaryStore(), logger: logger)
    }

    @Test func subscriptionNotifications() async throws {
        let s = try service()
        let app = Application(router: s.router(), logger: logger)
        try await app.test(.router) { client in
            let auth: HTTPFields = [.authorization: "Bearer s3cret"]
            try await client.execute(uri: "/subscriptions/notify", method: .post, headers: auth, body: notification(type: "handshake", events: [])) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/subscriptions/notify", method: .post, body: notification(type: "heartbeat", events: [])) {
                #expect($0.status == .unauthorized)
            }
            // full-resource: the ImagingStudy rides along; its instance count is the study version.
            try await client.execute(uri: "/subscriptions/notify", method: .post, headers: auth,
                                     body: notification(type: "event-notification", events: [("7", "https://ehr.example.org/fhir/ImagingStudy/ct1")], include: imagingStudy)) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body) == #"{"outcomes":["queued"]}"#)
            }
            // The same event again, and a later event about the same version: no second job.
            try await client.execute(uri: "/subscriptions/notify", method: .post, headers: auth,
                                     body: notification(type: "event-notification", events: [("7", "https://ehr.example.org/fhir/ImagingStudy/ct1"), ("8", "ImagingStudy/ct1")], include: imagingStudy)) { r in
                #expect(String(buffer: r.body) == #"{"outcomes":["duplicate","alreadyScreened"]}"#)
            }
            // A record change for p7 while her CT waits for analysis: a re-score queued behind it.
            let obs = #"{"resourceType": "Observation", "id": "w1", "status": "final", "subject": {"reference": "Patient/p7"}, "code": {"text": "weight"}}"#
            let change = notification(type: "event-notification", events: [("9", "https://ehr.example.org/fhir/Observation/w1")], include: nil)
            var withObs = String(buffer: change)
            withObs = withObs.replacingOccurrences(of: "]}", with: #", {"fullUrl": "https://ehr.example.org/fhir/Observation/w1", "resource": \#(obs), "request": {"method": "PUT", "url": "Observation/w1"}, "response": {"status": "200"}}]}"#, options: .backwards, range: withObs.range(of: "]}", options: .backwards))
            try await client.execute(uri: "/subscriptions/notify", method: .post, headers: auth, body: ByteBuffer(string: withObs)) { r in
                #expect(String(buffer: r.body) == #"{"outcomes":["queued"]}"#)
            }
            // OsteoCT's own Observation coming back: not a change to her record.
            let own = obs.replacingOccurrences(of: #""id": "w1""#, with: #""id": "w2", "identifier": [{"system": "http://osteoct.org/fhir/sid/screening", "value": "x-obs"}]"#)
            var ownNote = String(buffer: notification(type: "event-notification", events: [("10", "Observation/w2")]))
            ownNote = ownNote.replacingOccurrences(of: "]}", with: #", {"fullUrl": "Observation/w2", "resource": \#(own), "request": {"method": "PUT", "url": "Observation/w2"}, "response": {"status": "200"}}]}"#, options: .backwards, range: ownNote.range(of: "]}", options: .backwards))
            try await client.execute(uri: "/subscriptions/notify", method: .post, headers: auth, body: ByteBuffer(string: ownNote)) { r in
                #expect(String(buffer: r.body) == #"{"outcomes":["ownResult"]}"#)
            }
            // A heartbeat saying 12 events were sent when OsteoCT saw up to number 10: 2 missed, said once.
            try await client.execute(uri: "/subscriptions/notify", method: .post, headers: auth, body: notification(type: "heartbeat", events: [], since: 12)) { r in
                #expect(String(buffer: r.body) == #"{"missedEvents":2}"#)
            }
            try await client.execute(uri: "/subscriptions/notify", method: .post, headers: auth, body: notification(type: "heartbeat", events: [], since: 12)) { r in
                #expect(r.status == .ok && r.body.readableBytes == 0)
            }
            // id-only without an EHR to read it from: refused with the reason.
            try await client.execute(uri: "/subscriptions/notify", method: .post, headers: auth,
                                     body: notification(type: "event-notification", events: [("9", "ImagingStudy/other")])) { r in
                #expect(r.status == .unprocessableContent)
            }
            try await client.execute(uri: "/subscriptions/notify", method: .post, headers: auth, body: ByteBuffer(string: #"{"resourceType": "Bundle"}"#)) {
                #expect($0.status == .badRequest)
            }
        }
        let queued = try await s.store.jobs(state: .queued).filter { $0.kind == "analyze" }
        #expect(queued.count == 1 && queued.first?.version == 240 && queued.first?.subjectKey == "study:1.2.826.0.1.3680043.8.498.1")
        #expect(try await s.store.jobs(state: .queued).filter { $0.kind == "rescore" }.map(\.subjectKey) == ["study:1.2.826.0.1.3680043.8.498.1"])
        let payload = try JSONDecoder().decode(AnalyzeJob.self, from: Data(try #require(queued.first).payload.utf8))
        #expect(payload.patientID == "p7")
        #expect(try await s.store.hasPendingJob(patientID: "p7"))
        await s.shutdown()
    }

    @Test func notificationsRefusedWithoutASecret() async throws {
        let s = try service(secret: nil)
        let app = Application(router: s.router(), logger: logger)
        try await app.test(.router) { client in
            try await client.execute(uri: "/subscriptions/notify", method: .post, headers: [.authorization: "Bearer anything"],
                                     body: notification(type: "handshake", events: [])) { #expect($0.status == .forbidden) }
        }
        await s.shutdown()
    }

    @Test func multipartRoundTrip() {
        // Binary parts, one containing CRLF and a near-boundary sequence.
        let a: [UInt8] = [0x44, 0x49, 0x43, 0x4D, 0x0D, 0x0A, 0x2D, 0x2D, 0x00, 0xFF]
        let b: [UInt8] = Array(repeating: 0x2D, count: 5) + [0x0D, 0x0A] + Array("--xy".utf8)
        let body = Multipart.build([a, b, []], contentType: "application/dicom", boundary: "b0und")
        #expect(Multipart.parts(body, boundary: "b0und") == [a, b])
        #expect(Multipart.boundary(contentType: #"multipart/related; type="application/dicom"; boundary="b0und""#) == "b0und")
        #expect(Multipart.boundary(contentType: "multipart/related; boundary=abc") == "abc")
        #expect(Multipart.boundary(contentType: "application/dicom") == nil)
    }

    @Test func configurationFileAndEnvironment() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("osteoct-cfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("config.json").path
        try Data(#"{"server": {"port": 9443, "publicURL": "https://osteoct.example.org/"}, "store": {"path": "data/s.sqlite"}, "workers": {"count": 2}}"#.utf8)
            .write(to: URL(fileURLWithPath: file))
        let c = try await ServiceConfiguration.load(file: file)
        #expect(c.port == 9443 && c.workers == 2 && c.baseURL == "https://osteoct.example.org")
        #expect(c.storePath == dir.appendingPathComponent("data/s.sqlite").path)
        #expect(c.jobsDirectory == dir.appendingPathComponent("data/work").path)
        // The environment wins over the file (WORKERS_COUNT is workers.count).
        setenv("WORKERS_COUNT", "3", 1)
        let fromEnvironment = try await ServiceConfiguration.load(file: file)
        unsetenv("WORKERS_COUNT")
        #expect(fromEnvironment.workers == 3 && fromEnvironment.port == 9443)
        try Data(#"{"server": {"port": "not a port"}}"#.utf8).write(to: URL(fileURLWithPath: file))
        await #expect(throws: ServiceError.self) { try await ServiceConfiguration.load(file: file) }
        try Data(#"{"workers": {"count": 0}}"#.utf8).write(to: URL(fileURLWithPath: file))
        await #expect(throws: ServiceError.self) { try await ServiceConfiguration.load(file: file) }
        try Data(#"{"server": {"tls": {"certificate": "c.pem"}}}"#.utf8).write(to: URL(fileURLWithPath: file))
        await #expect(throws: ServiceError.self) { try await ServiceConfiguration.load(file: file) }
        await #expect(throws: ServiceError.self) { try await ServiceConfiguration.load(file: dir.appendingPathComponent("missing.json").path) }
    }
}

@Suite("STOW-RS intake")
struct STOWTests {
    @Test func filesDICOMPartsAndRefusesTheRest() async throws {
        var c = ServiceConfiguration()
        c.stowSecret = "push"
        c.stableSeconds = 0
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("osteoct-stow-\(UUID().uuidString)").path
        c.storePath = dir + "/store.sqlite"
        let s = try OsteoCTService(configuration: c, store: try Store(path: c.storePath), logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("DICOMTests/Fixtures/ct-ele.dcm")
        let ct = [UInt8](try Data(contentsOf: fixture))
        let body = Multipart.build([ct, Array("not DICOM".utf8)], contentType: "application/dicom", boundary: "xyz")
        let app = Application(router: s.router(), logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
        try await app.test(.router) { client in
            let headers: HTTPFields = [.contentType: #"multipart/related; type="application/dicom"; boundary=xyz"#, .authorization: "Bearer push"]
            try await client.execute(uri: "/dicomweb/studies", method: .post, headers: headers, body: ByteBuffer(bytes: body)) { r in
                #expect(r.status == .accepted)   // one stored, one refused
                let json = try #require(try JSONSerialization.jsonObject(with: Data(Array(buffer: r.body))) as? [String: Any])
                #expect(((json["00081199"] as? [String: Any])?["Value"] as? [Any])?.count == 1)
                #expect(((json["00081198"] as? [String: Any])?["Value"] as? [Any])?.count == 1)
            }
            try await client.execute(uri: "/dicomweb/studies", method: .post, headers: [.contentType: headers[.contentType]!], body: ByteBuffer(bytes: body)) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/dicomweb/studies", method: .post, headers: [.contentType: "application/dicom", .authorization: "Bearer push"],
                                     body: ByteBuffer(bytes: ct)) { #expect($0.status == .unsupportedMediaType) }
        }
        let incoming = (dir as NSString).appendingPathComponent("incoming/2.25.20910742960323787479009619077975618435")
        #expect(try FileManager.default.contentsOfDirectory(atPath: incoming).filter { $0.hasSuffix(".dcm") }.count == 1)
        // Stable at once (stableSeconds 0), but no EHR to match the woman: not queued, and not looked up again.
        let stable = STOWStableStudies(service: s)
        #expect(await stable.scanOnce() == 0)
        #expect(try await s.store.jobs(state: .queued).isEmpty)
        await s.shutdown()
    }
}
