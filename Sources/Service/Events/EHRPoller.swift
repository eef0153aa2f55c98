// The polling fallback for EHRs without working Subscriptions (common): every `ehr.pollSeconds` it
// searches the EHR for what changed since the last look (`_lastUpdated=gt…`, paged) — ImagingStudies
// (new CT studies) and the record resources that re-score a screened woman — and hands each to the
// same intake as a notification would, so the de-duplication is the same: an item is handled once
// per version (`meta.versionId`, else `meta.lastUpdated`). Where it got to is kept in the store
// (a cursor per resource type), so a restart neither misses nor repeats; the first start begins at
// that moment rather than reading the whole record history.
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
                guard let since = try await service.store.cursor(cursorName) else {
                    // First start: from now on.
                    try await service.store.setCursor(cursorName, ScreeningImport.instant(now))
                    continue
                }
                let found = try await ehr.searchAll("\(type)?_lastUpdated=gt\(OsteoCTService.formEncoded(since))&_count=100")
                var newest = since
                for case .object(let r) in found {
                    guard case .string(let id)? = r["id"], OsteoCTService.isFHIRId(id) else { continue }
                    var updated = "", version = ""
                    if case .object(let meta)? = r["meta"] {
                        if case .string(let u)? = meta["lastUpdated"] { updated = u }
                        if case .string(let v)? = meta["versionId"] { version = v }
                    }
                    if updated > newest { newest = updated }
                    let key = "poll:\(type)/\(id)/\(version.isEmpty ? updated : version)"
                    if type == "ImagingStudy" {
                        guard let uid = OsteoCTService.studyInstanceUID(r), OsteoCTService.isDICOMUID(uid) else { continue }
                        if case .string(let s)? = r["status"], s != "available" { continue }
                        var patient: String?
                        if case .object(let subject)? = r["subject"], case .string(let ref)? = subject["reference"], ref.hasPrefix("Patient/") { patient = String(ref.dropFirst(8)) }
                        var instances = 1
                        if case .number(let n)? = r["numberOfInstances"], n >= 1 { instances = Int(n) }
                        let outcome = try await service.studyAnnounced(source: "poll", eventKey: key, studyUID: uid, version: instances, patientID: patient, mrn: nil)
                        if outcome == .queued || outcome == .requeued { handled += 1 }
                    } else {
                        var patient: String?
                        for k in ["subject", "patient"] {
                            if case .object(let s)? = r[k], case .string(let ref)? = s["reference"], ref.hasPrefix("Patient/") { patient = String(ref.dropFirst(8)) }
                        }
                        guard let patient, OsteoCTService.isFHIRId(patient) else { continue }
                        let outcome = try await service.recordChanged(source: "poll", eventKey: key, patientID: patient)
                        if outcome == .queued || outcome == .requeued { handled += 1 }
                    }
                }
                // The cursor moves only after every item up to it was handed over.
                if newest > since { try await service.store.setCursor(cursorName, newest) }
            } catch {
                service.logger.warning("EHR poll failed; the next poll tries again from the same point", metadata: ["type": "\(type)", "error": "\(error)"])
            }
        }
        return handled
    }
}
