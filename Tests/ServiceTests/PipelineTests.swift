import Foundation
import Hummingbird
import Logging
import NIOCore
import Testing
import TestEHR

@testable import Service

// The pipeline end to end on loopback, against the test EHR as a live server: a study announced
// with the woman's MRN is matched to her EHR Patient (search by identifier, SMART backend token),
// her record is read, the analysis runs (here the analyzer is replaced by the bundled example's
// output folder, so the test checks the pipeline, not the CT), the screening is stored, and its
// transaction Bundle is delivered; a second delivery (a crash after writing) creates nothing new;
// an EHR outage makes the delivery wait and retry, then succeed.

private let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

/// Copies a finished analysis folder, as `osteoct analyze` would have written it.
struct FixtureAnalyzer: StudyAnalyzer {
    let folder: String
    func analyze(study: String, patientBundle: String?, out: String, siteConfig: String?, dicomOut: String?, revision: Int?,
                 reuseCT: Bool, log: String) async throws(AnalysisFailure) {
        // The record the service fetched must be there and be her Bundle.
        guard let p = patientBundle, let d = FileManager.default.contents(atPath: p), String(decoding: d, as: UTF8.self).contains("\"hr01\"") else {
            throw AnalysisFailure(message: "no record for hr01 was given to the analyzer", retryable: false)
        }
        do { try FileManager.default.copyItem(atPath: folder, toPath: out) } catch { throw AnalysisFailure(message: "\(error)", retryable: false) }
    }
}

@Suite("Pipeline with the test EHR")
struct PipelineTests {
    @Test func announcedStudyScreenedAndDeliveredOnce() async throws {
        let port = try #require(Loopback.freePort())
        let base = "http://127.0.0.1:\(port)"
        let (privateJWK, jwks) = KeyMaterial.generateES384(kid: "osteoct-1")
        let clients = [TrustedCDSClient(iss: "osteoct", jwks: try JSONDecoder().decode(AnyJSON.self, from: Data(jwks.utf8)), jku: nil)]
        let ehr = try TestEHR(baseURL: base, clients: clients, logger: logger)
        let record = try Data(contentsOf: URL(fileURLWithPath: examples("patients/patient-high-risk.json")))
        #expect(await ehr.store.load(bundle: [UInt8](record)) != nil)
        let app = Application(router: ehr.router(), configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { server.cancel() }
        try await Task.sleep(for: .milliseconds(300))

        var c = ServiceConfiguration()
        c.storePath = FileManager.default.temporaryDirectory.appendingPathComponent("osteoct-pipe-\(UUID().uuidString)/store.sqlite").path
        c.development = true
        var e = EHRSettings(baseURL: base + "/fhir")
        e.clientID = "osteoct"
        e.privateJWK = privateJWK
        c.ehr = e
        c.jobPolicy.baseBackoff = 0.2
        let service = try OsteoCTService(configuration: c, store: try Store(path: c.storePath), logger: logger)
        do { try await flow(service: service, ehr: ehr) } catch {
            await service.shutdown(); await ehr.shutdown()
            throw error
        }
        await service.shutdown()
        await ehr.shutdown()
    }

    func flow(service: OsteoCTService, ehr: TestEHR) async throws {
        let runner = JobRunner(service: service, analyzer: FixtureAnalyzer(folder: examples("screenings/high-risk-with-ct")))
        let study = "2.25.285048730390961694088990783036644072446"

        #expect(await service.ehr?.checkCapabilities() == [])
        #expect(try await service.studyAnnounced(source: "test", eventKey: "a1", studyUID: study, version: 300, patientID: nil, mrn: "HR01",
                                                studyPath: examples("screenings")) == .queued)
        #expect(try await service.studyAnnounced(source: "test", eventKey: "a1", studyUID: study, version: 300, patientID: nil, mrn: "HR01") == .duplicate)
        #expect(try await service.studyAnnounced(source: "test", eventKey: "x", studyUID: "1.2.9", version: 1, patientID: nil, mrn: "NOBODY") == .noPatient)

        let analyze = try #require(try await service.store.claim(worker: "w", lease: 30))
        #expect(analyze.kind == "analyze")
        await runner.execute(analyze, worker: "w")
        let analyzed = try await service.store.job(id: analyze.id)
        #expect(analyzed?.state == .done, "\(analyzed?.error ?? "")")
        #expect(try await service.store.latestScreening(patientID: "hr01")?.studyVersion == 300)
        // The same study announced again at the same version is not screened again.
        #expect(try await service.studyAnnounced(source: "test", eventKey: "a2", studyUID: study, version: 300, patientID: nil, mrn: "HR01") == .alreadyScreened)

        let deliver = try #require(try await service.store.claim(worker: "w", lease: 30))
        #expect(deliver.kind == "deliver")
        await runner.execute(deliver, worker: "w")
        #expect(try await service.store.job(id: deliver.id)?.state == .done)
        let after = await ehr.store.counts()
        let bundle = try JSONSerialization.jsonObject(with: Data(try #require(try await service.store.latestScreening(patientID: "hr01")).bundleJSON)) as? [String: Any]
        let entries = (bundle?["entry"] as? [[String: Any]]) ?? []
        #expect(after["RiskAssessment"] == 1 && after["DiagnosticReport"] == 1)
        #expect(after["Observation", default: 0] >= entries.filter { ($0["resource"] as? [String: Any])?["resourceType"] as? String == "Observation" }.count)

        // Delivered again (a worker killed after the EHR wrote, before the job was marked done): nothing twice.
        _ = try await service.store.enqueue(kind: "deliver", subjectKey: "deliver-again", version: 1,
                                           payload: String(decoding: try JSONEncoder().encode(DeliverJob(screeningID: analyzeScreeningID(service))), as: UTF8.self))
        let again = try #require(try await service.store.claim(worker: "w", lease: 30))
        await runner.execute(again, worker: "w")
        #expect(await ehr.store.counts() == after)

        // The EHR answers 503 for a while: the delivery fails, waits its backoff, and goes through after.
        _ = try await service.store.enqueue(kind: "deliver", subjectKey: "deliver-outage", version: 1,
                                           payload: String(decoding: try JSONEncoder().encode(DeliverJob(screeningID: analyzeScreeningID(service))), as: UTF8.self))
        // The EHR answers 503 until told otherwise: past the client's own quick retries, so the job
        // itself fails and backs off; once the EHR is back, the retry goes through.
        await ehr.store.setOutage(status: 503, seconds: 3600)
        let first = try #require(try await service.store.claim(worker: "w", lease: 30))
        await runner.execute(first, worker: "w")
        #expect(try await service.store.job(id: first.id)?.state == .failed)
        await ehr.store.setOutage(status: 503, seconds: 0)
        try await Task.sleep(for: .milliseconds(300))   // the backoff (0.2 s)
        let retry = try #require(try await service.store.claim(worker: "w", lease: 30))
        #expect(retry.id == first.id && retry.attempts == 2)
        await runner.execute(retry, worker: "w")
        #expect(try await service.store.job(id: first.id)?.state == .done)
        #expect(await ehr.store.counts() == after)
    }

    func analyzeScreeningID(_ s: OsteoCTService) async throws -> String {
        try #require(try await s.store.latestScreening(patientID: "hr01")).id
    }
}

@Suite("Polling the EHR")
struct PollerTests {
    @Test func newStudiesAndRecordChangesFoundByLastUpdated() async throws {
        let port = try #require(Loopback.freePort())
        let base = "http://127.0.0.1:\(port)"
        let ehr = try TestEHR(baseURL: base, clients: [], logger: logger)
        let app = Application(router: ehr.router(), configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { server.cancel() }
        try await Task.sleep(for: .milliseconds(300))
        var c = ServiceConfiguration()
        c.storePath = FileManager.default.temporaryDirectory.appendingPathComponent("osteoct-poll-\(UUID().uuidString)/store.sqlite").path
        c.ehr = EHRSettings(baseURL: base + "/fhir")
        let service = try OsteoCTService(configuration: c, store: try Store(path: c.storePath), logger: logger)
        do {
            let poller = EHRPoller(service: service)
            // A woman screened before (hr01); the first poll only sets where to start.
            let (s, r) = try ScreeningImport.load(folder: examples("screenings/high-risk-with-ct"))
            try await service.store.save(s, resources: r, artifacts: ScreeningImport.artifacts(folder: examples("screenings/high-risk-with-ct")))
            #expect(await poller.pollOnce() == 0)
            try await Task.sleep(for: .milliseconds(20))
            let study = #"{"resourceType": "ImagingStudy", "id": "ct9", "status": "available", "subject": {"reference": "Patient/p9"}, "numberOfInstances": 120, "identifier": [{"system": "urn:dicom:uid", "value": "urn:oid:1.2.826.0.1.3680043.8.498.9"}]}"#
            let condition = #"{"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/hr01"}, "code": {"coding": [{"system": "http://snomed.info/sct", "code": "69896004"}]}}"#
            // OsteoCT's own Observation coming back (its identifier system): no re-score from it.
            let own = #"{"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/hr01"}, "identifier": [{"system": "http://osteoct.org/fhir/sid/screening", "value": "x-risk"}], "code": {"text": "x"}}"#
            let bundle = #"{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": \#(study)}, {"resource": \#(condition)}, {"resource": \#(own)}]}"#
            #expect(await ehr.store.load(bundle: Array(bundle.utf8)) == 3)
            #expect(await poller.pollOnce() == 2)
            let queued = try await service.store.jobs(state: .queued)
            #expect(Set(queued.map(\.kind)) == ["analyze", "rescore"])
            #expect(queued.first { $0.kind == "analyze" }?.version == 120)
            // Nothing new: nothing more.
            #expect(await poller.pollOnce() == 0)
            #expect(try await service.store.jobs(state: .queued).count == 2)
        } catch {
            await service.shutdown(); await ehr.shutdown()
            throw error
        }
        await service.shutdown()
        await ehr.shutdown()
    }
}
