// Where every announcement of a CT study ends up — Orthanc's StableStudy, a FHIR Subscription
// notification for an ImagingStudy, the polling fallback: recognised when seen before, matched to
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
}

extension OsteoCTService {
    /// A study announced by `source` (dedup key `eventKey`). `patientID` is the EHR's Patient id when
    /// the announcement names it; else `mrn` (DICOM Patient ID) is looked up in the EHR.
    public func studyAnnounced(source: String, eventKey: String, studyUID: String, version: Int, patientID: String?, mrn: String?,
                               studyPath: String? = nil, patientBundle: String? = nil) async throws(ServiceError) -> IntakeOutcome {
        let isNew = try await store.recordEvent(source: source, key: eventKey, summary: "study announced (version \(version))")
        metrics.event(source: source, new: isNew)
        guard isNew else { return .duplicate }
        if try await store.isScreened(studyUID: studyUID, version: version) { return .alreadyScreened }
        var patient = patientID
        if patient == nil, let mrn, let ehr {
            let query = "Patient?identifier=\(Self.formEncoded(configuration.site.patientIdentifierSystem + "|" + mrn))"
            do {
                let found = try await ehr.searchAll(query, maxPages: 1)
                let ids = found.compactMap { r -> String? in if case .object(let o) = r, case .string(let id)? = o["id"] { return id } else { return nil } }
                if ids.count == 1 { patient = ids[0] } else if ids.count > 1 {
                    logger.warning("study skipped: several EHR patients share the study's patient identifier", metadata: ["source": "\(source)"])
                    return .noPatient
                }
            } catch {
                // Unknown whether she exists: forget the event so the next announcement tries again.
                try? await store.forgetEvent(key: eventKey)
                throw .job("looking the study's patient up in the EHR: \(error.message)")
            }
        }
        guard let patient else {
            logger.notice("study skipped: no EHR patient matches it", metadata: ["source": "\(source)"])
            return .noPatient
        }
        let payload = AnalyzeJob(studyUID: studyUID, patientID: patient, studyPath: studyPath, patientBundle: patientBundle)
        let json = String(decoding: (try? JSONEncoder().encode(payload)) ?? Data(), as: UTF8.self)
        switch try await store.enqueue(kind: "analyze", subjectKey: "study:\(studyUID)", version: version, patientID: patient, payload: json) {
        case .queued: return .queued
        case .updated: return .requeued
        case .duplicate: return .alreadyScreened
        }
    }

    static func formEncoded(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }
}

extension Store {
    /// Drops an event so the same announcement counts as new again (its handling failed part-way).
    public func forgetEvent(key: String) async throws(ServiceError) {
        try await write { db in try db.execute(sql: "DELETE FROM event WHERE dedup_key = ?", arguments: [key]) }
    }
}
