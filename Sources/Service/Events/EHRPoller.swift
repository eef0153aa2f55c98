// The polling fallback for EHRs without working Subscriptions (common): every `ehr.pollSeconds` it
// searches the EHR for what changed since the last look (`_lastUpdated=gt…`, paged) — ImagingStudies
// (new CT studies) and the record resources that re-score a screened woman — and hands each to the
// same intake as a notification would, so the de-duplication is the same: an item is handled once
// per version (`meta.versionId`, else `meta.lastUpdated`). Where it got to is kept in the store
// (a cursor per resource type, compared as points in time; searched `ge` two seconds before it and
// sorted by `_lastUpdated`, repeats recognised by their keys); the first start begins five minutes
// back rather than reading the whole record history. OsteoCT's own results coming back are ignored.
public import Foundation
import Logging
public import ServiceLifecycle

public struct EHRPoller: Service {
    let service: OsteoCTService
    static let types = ["ImagingStudy"] + OsteoCTService.recordTypes.sorted()

    public init(service: OsteoCTService) { self.service = service }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await pollOnce()
                try? await Task.sleep(for: .seconds(service.configuration.ehrPollSeconds))
            }
        }
    }

    /// One look at each type; returns how many items were new.
    @discardableResult
    public func pollOnce(now: Date = Date()) async -> Int {
        guard let ehr = service.ehr else { return 0 }
        var handled = 0
        for type in Self.types {
            let cursorName = "ehr-poll-\(type)"
            do {
                guard let sinceText = try await service.store.cursor(cursorName), let since = Self.date(sinceText) else {
                    // First start: from a few minutes back (OsteoCT's clock may run ahead of the EHR's).
                    try await service.store.setCursor(cursorName, ScreeningImport.instant(now.addingTimeInterval(-300)))
                    continue
                }
                // `ge` a little before the cursor: an item stamped at the same instant but committed
                // later is not missed; items seen before are recognised by their event keys.
                let bound = ScreeningImport.instant(since.addingTimeInterval(-2))
                let found = try await ehr.searchAll("\(type)?_lastUpdated=ge\(OsteoCTService.formEncoded(bound))&_sort=_lastUpdated&_count=100")
                var newest = since
                for case .object(let r) in found {
                    guard case .string(let id)? = r["id"], OsteoCTService.isFHIRId(id) else { continue }
                    var updatedText = "", version = ""
                    if case .object(let meta)? = r["meta"] {
                        if case .string(let u)? = meta["lastUpdated"] { updatedText = u }
                        if case .string(let v)? = meta["versionId"] { version = v }
                    }
                    if let u = Self.date(updatedText), u > newest { newest = u }
                    let key = "poll:\(type)/\(id)/\(version.isEmpty ? updatedText : version)"
                    // One bad item is skipped, not allowed to stop the poll of its type.
                    let outcome: IntakeOutcome?
                    do { outcome = try await handle(type: type, resource: r, key: key) } catch {
                        if case .store = error { throw error }   // the store failing stops this poll; the cursor stays
                        service.logger.notice("EHR poll: an item was skipped", metadata: ["type": "\(type)"])
                        outcome = nil
                    }
                    if outcome == .queued || outcome == .requeued { handled += 1 }
                }
                if newest > since { try await service.store.setCursor(cursorName, ScreeningImport.instant(newest)) }
            } catch {
                // The reason is not logged: it may quote the EHR's answer.
                service.logger.warning("EHR poll failed; the next poll tries again from the same point", metadata: ["type": "\(type)"])
            }
        }
        return handled
    }

    /// One item to the intake: a CT study, or a change to a woman's record. Nil when skipped.
    func handle(type: String, resource r: [String: AnyJSON], key: String) async throws(ServiceError) -> IntakeOutcome? {
        guard type == "ImagingStudy" else { return try await service.recordChanged(source: "poll", eventKey: key, resource: r) }
        guard let uid = OsteoCTService.studyInstanceUID(r), OsteoCTService.isDICOMUID(uid) else { return nil }
        if case .string(let s)? = r["status"], s != "available" { return nil }
        var patient: String?
        if case .object(let subject)? = r["subject"], case .string(let ref)? = subject["reference"], ref.hasPrefix("Patient/") { patient = String(ref.dropFirst(8)) }
        guard patient.map(OsteoCTService.isFHIRId) ?? true else { return nil }
        var instances = 1
        if case .number(let n)? = r["numberOfInstances"], n >= 1 { instances = Int(n) }
        return try await service.studyAnnounced(source: "poll", eventKey: key, studyUID: uid, version: instances, patientID: patient, mrn: nil)
    }

    /// A FHIR instant (any offset, with or without fractions) as a point in time.
    static func date(_ s: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: s) { return d }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: s)
    }
}
