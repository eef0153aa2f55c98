// Where every announcement of a CT study ends up — Orthanc's StableStudy, a FHIR Subscription
// notification for an ImagingStudy: recognised when seen before, matched to
// the woman in the EHR, skipped when this version of the study is already screened, else queued.
// The study's version is its number of instances: images that arrive after a run make a new
// version, which the queue turns into exactly one re-run.
import Foundation
import GRDB
import Logging
import Screening

/// What happened to an announcement.
public enum IntakeOutcome: String, Sendable, Equatable {
    case queued, requeued, duplicate, alreadyScreened, noPatient
    /// OsteoCT's own result coming back from the EHR: never a reason to re-score.
    case ownResult
    /// She was screened before OsteoCT kept the CT part of its analyses: no re-score without the CT.
    case cannotRescore
}

extension OsteoCTService {
    /// A study announced by `source` (dedup key `eventKey`). `patientID` is the EHR's Patient id when
    /// the announcement names it; else `mrn` (DICOM Patient ID) is looked up in the EHR.
    public func studyAnnounced(source: String, eventKey: String, studyUID: String, version: Int, patientID: String?, mrn: String?,
                               studyPath: String? = nil, patientBundle: String? = nil) async throws(ServiceError) -> IntakeOutcome {
        guard Self.isDICOMUID(studyUID) else { throw .refused(status: 422, "'\(studyUID)' is not a DICOM UID") }
        if let patientID, !Self.isFHIRId(patientID) { throw .refused(status: 422, "the patient reference is not a FHIR id") }
        if try await store.eventSeen(key: eventKey) {
            metrics.event(source: source, new: false)
            return .duplicate
        }
        var patient = patientID
        if patient == nil, let mrn, let ehr {
            let query = "Patient?identifier=\(Self.formEncoded(configuration.site.patientIdentifierSystem + "|" + mrn))"
            let found: [AnyJSON]
            do { found = try await ehr.searchAll(query, maxPages: 1) } catch {
                // Nothing is recorded: the next announcement of the study tries again.
                throw .job("looking the study's patient up in the EHR: \(error.message)")
            }
            let ids = found.compactMap { r -> String? in if case .object(let o) = r, case .string(let id)? = o["id"] { return id } else { return nil } }
            if ids.count == 1, Self.isFHIRId(ids[0]) { patient = ids[0] } else if ids.count > 1 {
                logger.warning("study skipped: several EHR patients share the study's patient identifier", metadata: ["source": "\(source)"])
                return .noPatient
            }
        }
        guard let patient else {
            logger.notice("study skipped: no EHR patient matches it", metadata: ["source": "\(source)"])
            return .noPatient
        }
        let payload = AnalyzeJob(studyUID: studyUID, patientID: patient, studyPath: studyPath, patientBundle: patientBundle)
        let json = String(decoding: (try? JSONEncoder().encode(payload)) ?? Data(), as: UTF8.self)
        let outcome = try await store.recordEventAndEnqueue(source: source, eventKey: eventKey, summary: "study announced (version \(version))",
                                                            studyUID: studyUID, kind: "analyze", subjectKey: "study:\(studyUID)", version: version,
                                                            patientID: patient, payload: json)
        return handled(outcome, source: source)
    }

    /// A change to a woman's record (a new Observation, Condition, medication…): when she has been
    /// screened, her newest screened study is re-scored with the new record, the CT part kept.
    /// Changes that arrive while a re-score waits are folded into it.
    public func recordChanged(source: String, eventKey: String, resource: [String: AnyJSON]) async throws(ServiceError) -> IntakeOutcome {
        // The results OsteoCT wrote (its Observations carry its business identifiers) come back
        // through the same notifications and searches: re-scoring on them would never end.
        if isOsteoCTResult(resource) { return .ownResult }
        var patient: String?
        for key in ["subject", "patient"] {
            if case .object(let r)? = resource[key], case .string(let ref)? = r["reference"], ref.hasPrefix("Patient/") { patient = String(ref.dropFirst(8)) }
        }
        guard let patientID = patient, Self.isFHIRId(patientID) else { return .noPatient }
        if try await store.eventSeen(key: eventKey) {
            metrics.event(source: source, new: false)
            return .duplicate
        }
        // Her newest screened study; or one being analysed now, which may have read the record
        // before this change: the re-score then runs after it (one job per study at a time).
        let study: String
        if let pending = try await store.pendingAnalysisStudy(patientID: patientID) {
            study = pending
        } else {
            guard let screened = try await store.screenedStudies(patientID: patientID).first else { return .noPatient }
            guard try await store.canRescore(studyUID: screened) else { return .cannotRescore }
            study = screened
        }
        let json = String(decoding: (try? JSONEncoder().encode(RescoreJob(studyUID: study, patientID: patientID))) ?? Data(), as: UTF8.self)
        // The version orders re-scores (milliseconds): each change is newer than the last.
        let outcome = try await store.recordEventAndEnqueue(source: source, eventKey: eventKey, summary: "record changed", studyUID: study, kind: "rescore",
                                                            subjectKey: "study:\(study)", version: Int(Date().timeIntervalSince1970 * 1000),
                                                            patientID: patientID, payload: json)
        return handled(outcome, source: source)
    }

    /// Whether a resource is one OsteoCT produced (an identifier in the site's OsteoCT system).
    func isOsteoCTResult(_ r: [String: AnyJSON]) -> Bool {
        guard case .array(let ids)? = r["identifier"] else { return false }
        return ids.contains { i in
            if case .object(let o) = i, case .string(let system)? = o["system"] { return system == configuration.site.identifierSystem }
            return false
        }
    }

    /// What an event's recording and queueing came to (nil: the event was seen before).
    func handled(_ outcome: EnqueueOutcome?, source: String) -> IntakeOutcome {
        metrics.event(source: source, new: outcome != nil)
        switch outcome {
        case nil: return .duplicate
        case .queued?: return .queued
        case .updated?: return .requeued
        case .duplicate?: return .alreadyScreened
        }
    }

    /// A DICOM UID (PS3.5 §9.1): digits and dots, at most 64 characters.
    static func isDICOMUID(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64 && s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || $0 == 46 }
    }

    static func formEncoded(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }
}

extension Store {
    /// Whether an event with this key was recorded.
    public func eventSeen(key: String) async throws(ServiceError) -> Bool {
        try await read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM event WHERE dedup_key = ?", arguments: [key]) == true }
    }
}
