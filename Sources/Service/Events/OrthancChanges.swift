// Following Orthanc's REST `/changes` (the PACS announces a study as `StableStudy` once no image has
// arrived for its stable age): each new stable study is looked up (`/studies/{id}`: Study Instance
// UID, Patient ID, number of CT images) and handed to the intake. The last change seen is kept in the
// store, so a restart neither misses nor repeats changes; a StableStudy seen again after more
// images arrived has a higher instance count and so makes a new version.
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
public import ServiceLifecycle

public struct OrthancChanges: Service {
    let service: OsteoCTService
    let baseURL: String

    public init(service: OsteoCTService, baseURL: String) {
        self.service = service
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let more = try await pollOnce()
                    if more { continue }
                } catch {
                    service.logger.warning("Orthanc /changes not read", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .seconds(service.configuration.orthancPollSeconds))
            }
        }
    }

    /// Reads one page of changes; true when Orthanc has more.
    public func pollOnce() async throws -> Bool {
        let since = Int(try await service.store.cursor("orthanc-changes") ?? "0") ?? 0
        guard case .object(let page)? = try await get("/changes?since=\(since)&limit=100") else { throw ServiceError.job("Orthanc /changes is not a JSON object") }
        guard case .array(let changes)? = page["Changes"] else { throw ServiceError.job("Orthanc /changes has no Changes") }
        for case .object(let c) in changes {
            guard case .string("StableStudy")? = c["ChangeType"], case .string(let id)? = c["ID"], case .number(let seq)? = c["Seq"] else { continue }
            // A study deleted since (404) is skipped, not retried for ever.
            guard case .object(let study)? = try await get("/studies/\(id)", missingIsNil: true), case .object(let tags)? = study["MainDicomTags"],
                  case .string(let uid)? = tags["StudyInstanceUID"] else { continue }
            var mrn: String?
            if case .object(let p)? = study["PatientMainDicomTags"], case .string(let pid)? = p["PatientID"] { mrn = pid }
            // The version counts CT images only: OsteoCT's own results stored back (SEG, SR, OT) must
            // not look like late images of the study.
            var instances = 0
            if case .array(let series)? = try await get("/studies/\(id)/series?expand", missingIsNil: true) {
                for case .object(let s) in series {
                    guard case .object(let t)? = s["MainDicomTags"], case .string("CT")? = t["Modality"], case .array(let list)? = s["Instances"] else { continue }
                    instances += list.count
                }
            }
            guard instances > 0 else { continue }
            let outcome = try await service.studyAnnounced(source: "orthanc", eventKey: "orthanc:\(uid):\(instances)", studyUID: uid, version: instances,
                                                           patientID: nil, mrn: mrn)
            service.logger.info("Orthanc stable study", metadata: ["seq": "\(Int(seq))", "outcome": "\(outcome.rawValue)"])
        }
        if case .number(let last)? = page["Last"] { try await service.store.setCursor("orthanc-changes", String(Int(last))) }
        if case .bool(let done)? = page["Done"] { return !done }
        return false
    }

    func get(_ path: String, missingIsNil: Bool = false) async throws -> AnyJSON? {
        var request = HTTPClientRequest(url: baseURL + path)
        request.headers.add(name: "Accept", value: "application/json")
        let response = try await service.http.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 32 << 20)
        if missingIsNil && response.status == .notFound { return nil }
        guard response.status == .ok else { throw ServiceError.job("Orthanc \(path.split(separator: "?").first ?? "") answered \(response.status.code)") }
        return try JSONDecoder().decode(AnyJSON.self, from: Data(Array(buffer: body)))
    }
}
