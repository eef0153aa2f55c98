import Foundation
import RiskModel
import Testing

@testable import Service

// The store and job queue against the rules they promise (issue 8 §3): duplicate events
// recognised, a screening of the same study version stored once, one running job per study, late
// images coalesced into exactly one re-run, a dead worker's lease taken over, backoff, dead letter
// and replay. Each test uses its own SQLite file.

func temporaryStore(_ name: String = #function) throws -> Store {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("osteoct-tests-\(UUID().uuidString)")
    return try Store(path: dir.appendingPathComponent("store.sqlite").path)
}

/// The repository's Examples folder.
func examples(_ path: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Examples").appendingPathComponent(path).path
}

@Suite("Store and job queue")
struct StoreTests {
    @Test func eventsDeduplicated() async throws {
        let s = try temporaryStore()
        #expect(try await s.recordEvent(source: "orthanc", key: "study:1.2.3:stable", summary: "StableStudy"))
        #expect(try await !s.recordEvent(source: "orthanc", key: "study:1.2.3:stable", summary: "StableStudy again"))
        #expect(try await s.recordEvent(source: "orthanc", key: "study:1.2.4:stable", summary: "other"))
        #expect(try await s.eventCount() == 2)
    }

    @Test func screeningImportedAndStoredOnce() async throws {
        let s = try temporaryStore()
        let (screening, resources) = try ScreeningImport.load(folder: examples("screenings/high-risk-with-ct"), version: 1,
                                                               now: Date(timeIntervalSince1970: 1_790_000_000))
        #expect(screening.patientID == "hr01")
        #expect(screening.studyUID == "2.25.285048730390961694088990783036644072446")
        #expect(screening.category == "high")
        #expect(screening.cardInput.referralInRecord)
        // Every Bundle entry becomes a resource with the urn:uuid as id and references rewritten.
        let bundle = try JSONSerialization.jsonObject(with: Data(screening.bundleJSON)) as? [String: Any]
        #expect(resources.count == (bundle?["entry"] as? [Any])?.count)
        for r in resources {
            let text = String(decoding: r.json, as: UTF8.self)
            #expect(!text.contains("urn:uuid:"), "\(r.type)/\(r.id) still refers to a Bundle-local urn:uuid")
            let o = try #require(try JSONSerialization.jsonObject(with: Data(r.json)) as? [String: Any])
            #expect(o["id"] as? String == r.id && o["resourceType"] as? String == r.type)
        }
        let report = try #require(resources.first { $0.type == "DiagnosticReport" })
        let o = try #require(try JSONSerialization.jsonObject(with: Data(report.json)) as? [String: Any])
        let imaging = (o["imagingStudy"] as? [[String: Any]])?.first?["reference"] as? String
        #expect(imaging?.hasPrefix("ImagingStudy/") == true && resources.contains { "ImagingStudy/\($0.id)" == imaging })

        #expect(try await s.save(screening, resources: resources))
        #expect(try await !s.save(screening, resources: resources))   // same study version: nothing written twice
        #expect(try await s.isScreened(studyUID: screening.studyUID, version: 1))
        #expect(try await !s.isScreened(studyUID: screening.studyUID, version: 2))
        let back = try #require(try await s.latestScreening(patientID: "hr01"))
        #expect(back.id == screening.id && back.reportHTML == screening.reportHTML && back.cardInput.risk.category.level == "high")
        var q = ResourceQuery(type: "Observation")
        q.patientID = "hr01"
        #expect(try await s.search(q).total == resources.filter { $0.type == "Observation" }.count)
        q.identifier = "2.25.285048730390961694088990783036644072446-obs-ctxa-tscore-29627003-left"
        #expect(try await s.search(q).total == 1)
        q.identifier = nil
        // 1_790_000_000 s after 1970 is 2026-09-21T14:13:20Z (date -u -d @1790000000).
        q.lastUpdated = [("gt", "2026-09-21T14:13:20.000Z")]
        #expect(try await s.search(q).total == 0)
        q.lastUpdated = [("ge", "2026-09-21T14:13:20.000Z"), ("lt", "2026-09-21T14:13:21.000Z")]
        #expect(try await s.search(q).total == resources.filter { $0.type == "Observation" }.count)
    }

    @Test func queueOneRunPerStudyAndCoalescing() async throws {
        let s = try temporaryStore()
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        guard case .queued(let first) = try await s.enqueue(kind: "analyze", subjectKey: "study:A", version: 1, patientID: "p1", payload: "{}", now: t0) else {
            Issue.record("not queued"); return
        }
        #expect(try await s.enqueue(kind: "analyze", subjectKey: "study:A", version: 1, payload: "{}", now: t0) == .duplicate)
        #expect(try await s.hasPendingJob(patientID: "p1"))
        let claimed = try #require(try await s.claim(worker: "w1", lease: 60, now: t0))
        #expect(claimed.id == first && claimed.attempts == 1)
        // Late images: version 2 queued, not runnable while version 1 runs.
        guard case .queued(let second) = try await s.enqueue(kind: "analyze", subjectKey: "study:A", version: 2, payload: "{\"v\":2}", now: t0) else {
            Issue.record("v2 not queued"); return
        }
        #expect(try await s.claim(worker: "w2", lease: 60, now: t0.addingTimeInterval(1)) == nil)
        // More images: the queued re-run carries version 3 — one re-run, not two.
        #expect(try await s.enqueue(kind: "analyze", subjectKey: "study:A", version: 3, payload: "{\"v\":3}", now: t0) == .updated(second))
        #expect(try await s.complete(job: first, worker: "w1", now: t0.addingTimeInterval(2)))
        let rerun = try #require(try await s.claim(worker: "w2", lease: 60, now: t0.addingTimeInterval(3)))
        #expect(rerun.id == second && rerun.version == 3 && rerun.payload == "{\"v\":3}")
        #expect(try await s.claim(worker: "w3", lease: 60, now: t0.addingTimeInterval(4)) == nil)
        #expect(try await s.jobCounts()[.done] == 1)
    }

    @Test func deadWorkersLeaseTakenOver() async throws {
        let s = try temporaryStore()
        let t0 = Date(timeIntervalSince1970: 2_000_000)
        _ = try await s.enqueue(kind: "analyze", subjectKey: "study:B", version: 1, payload: "{}", now: t0)
        let j = try #require(try await s.claim(worker: "dead", lease: 30, now: t0))
        #expect(try await s.heartbeat(job: j.id, worker: "dead", lease: 30, now: t0.addingTimeInterval(20)))
        #expect(try await s.claim(worker: "w2", lease: 30, now: t0.addingTimeInterval(45)) == nil)     // lease renewed to t0+50
        let taken = try #require(try await s.claim(worker: "w2", lease: 30, now: t0.addingTimeInterval(51)))
        #expect(taken.id == j.id && taken.attempts == 2)
        // The first worker wakes up: its heartbeat and completion are refused, so it writes nothing.
        #expect(try await !s.heartbeat(job: j.id, worker: "dead", lease: 30, now: t0.addingTimeInterval(52)))
        #expect(try await !s.complete(job: j.id, worker: "dead", now: t0.addingTimeInterval(52)))
        #expect(try await s.complete(job: j.id, worker: "w2", now: t0.addingTimeInterval(53)))
    }

    @Test func backoffDeadLetterAndReplay() async throws {
        let s = try temporaryStore()
        var policy = JobPolicy()
        policy.maxAttempts = 2
        policy.baseBackoff = 10
        let t0 = Date(timeIntervalSince1970: 3_000_000)
        _ = try await s.enqueue(kind: "deliver", subjectKey: "study:C", version: 1, payload: "{}", now: t0)
        let a = try #require(try await s.claim(worker: "w", lease: 30, now: t0))
        #expect(try await s.fail(job: a.id, worker: "w", error: "EHR answered 503", retryable: true, policy: policy, now: t0) == .failed)
        #expect(try await s.claim(worker: "w", lease: 30, now: t0.addingTimeInterval(9)) == nil)      // backoff 10 s
        let b = try #require(try await s.claim(worker: "w", lease: 30, now: t0.addingTimeInterval(10)))
        #expect(b.attempts == 2)
        #expect(try await s.fail(job: b.id, worker: "w", error: "EHR answered 503", retryable: true, policy: policy, now: t0.addingTimeInterval(11)) == .dead)
        #expect(try await s.claim(worker: "w", lease: 30, now: t0.addingTimeInterval(1000)) == nil)
        let dead = try await s.jobs(state: .dead)
        #expect(dead.map(\.id) == [a.id] && dead.first?.error == "EHR answered 503")
        #expect(try await s.replay(job: a.id, now: t0.addingTimeInterval(2000)))
        #expect(try await !s.replay(job: a.id, now: t0.addingTimeInterval(2000)))   // only dead jobs
        let c = try #require(try await s.claim(worker: "w", lease: 30, now: t0.addingTimeInterval(2001)))
        #expect(c.attempts == 1)
        // A permanent error goes straight to the dead letters.
        #expect(try await s.fail(job: c.id, worker: "w", error: "bundle rejected: 400", retryable: false, policy: policy, now: t0.addingTimeInterval(2002)) == .dead)
    }

    @Test func unwritableStoreIsAClearError() {
        #expect(throws: ServiceError.self) { try Store(path: "/proc/osteoct/store.sqlite") }
    }

    @Test func olderVersionNeverReplacesNewer() async throws {
        let s = try temporaryStore()
        let folder = examples("screenings/high-risk-with-ct")
        let (v2, r2) = try ScreeningImport.load(folder: folder, version: 2)
        let (v1, r1) = try ScreeningImport.load(folder: folder, version: 1)
        #expect(try await s.save(v2, resources: r2))
        #expect(try await !s.save(v1, resources: r1))   // a retried v1 finishing late writes nothing
        #expect(try await s.latestScreening(patientID: "hr01")?.studyVersion == 2)
        // A newer version's save removes the older one's resources from /fhir.
        let t = try temporaryStore()
        let dropped = r1.filter { $0.type != "Flag" }
        #expect(try await t.save(v1, resources: r1))
        let (v3, r3) = try ScreeningImport.load(folder: folder, version: 3)
        #expect(try await t.save(v3, resources: r3.filter { $0.type != "Flag" }.map { var x = $0; x.id += "-v3"; return x }))
        #expect(try await t.search(ResourceQuery(type: "Flag")).total == 0)
        #expect(try await t.search(ResourceQuery(type: "Observation")).total == dropped.filter { $0.type == "Observation" }.count)
    }

    @Test func crashLoopingJobDeadLettered() async throws {
        let s = try temporaryStore()
        let t0 = Date(timeIntervalSince1970: 4_000_000)
        _ = try await s.enqueue(kind: "analyze", subjectKey: "study:D", version: 1, payload: "{}", now: t0)
        // Its worker dies three times (lease runs out each time): the third expiry dead-letters it.
        for k in 0..<3 {
            let j = try #require(try await s.claim(worker: "w\(k)", lease: 10, maxAttempts: 3, now: t0.addingTimeInterval(Double(k) * 20)))
            #expect(j.attempts == k + 1)
        }
        #expect(try await s.claim(worker: "w3", lease: 10, maxAttempts: 3, now: t0.addingTimeInterval(60)) == nil)
        #expect(try await s.jobs(state: .dead).first?.error?.contains("3 times") == true)
    }

    @Test func eventAndJobRecordedTogether() async throws {
        let s = try temporaryStore()
        let first = try await s.recordEventAndEnqueue(source: "t", eventKey: "e1", summary: "", studyUID: "1.2.3", kind: "analyze",
                                                      subjectKey: "study:1.2.3", version: 1, patientID: "p", payload: "{}")
        guard case .queued? = first else { Issue.record("not queued: \(String(describing: first))"); return }
        #expect(try await s.recordEventAndEnqueue(source: "t", eventKey: "e1", summary: "", studyUID: "1.2.3", kind: "analyze",
                                                  subjectKey: "study:1.2.3", version: 1, patientID: "p", payload: "{}") == nil)
        #expect(try await s.eventSeen(key: "e1"))
        #expect(try await s.jobs(state: .queued).count == 1)
    }
}
