// Studies pushed to OsteoCT by DICOMweb STOW-RS (PS3.18 §10.5): `POST /dicomweb/studies` with a
// multipart/related body of application/dicom parts. The body is streamed to disk (it may be
// gigabytes), each part is checked as DICOM and filed under `incoming/{StudyInstanceUID}/`, and the
// answer is the Store Instances Response (Retrieve URL, Referenced SOP Sequence, Failed SOP Sequence
// with reason 0xC000 for parts that are not DICOM): 200 when all were stored, 202 when some, 409
// when none. A study counts as complete once no image of it has arrived for `pacs.stableSeconds`
// (like a PACS's stable age); it is then announced to the intake with its number of CT images as
// its version, so images arriving later make exactly one re-run.
import DICOM
public import Foundation
import Hummingbird
import HTTPTypes
import Logging
import NIOCore
public import ServiceLifecycle

extension OsteoCTService {
    /// Where pushed studies are kept.
    var incomingDirectory: String { ((configuration.jobsDirectory as NSString).deletingLastPathComponent as NSString).appendingPathComponent("incoming") }

    func stow(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try authorizeChannel(request, secret: configuration.stowSecret, key: "security.stowSecret", endpoint: "stow")
        guard let type = request.headers[.contentType], type.lowercased().hasPrefix("multipart/related"), let boundary = Multipart.boundary(contentType: type) else {
            throw OutcomeError(.unsupportedMediaType, code: "not-supported", "STOW-RS takes multipart/related; type=\"application/dicom\" with a boundary")
        }
        let fm = FileManager.default
        let spool = (incomingDirectory as NSString).appendingPathComponent(".spool-\(UUID().uuidString)")
        defer { try? fm.removeItem(atPath: spool) }
        do {
            try fm.createDirectory(atPath: incomingDirectory, withIntermediateDirectories: true)
            guard fm.createFile(atPath: spool, contents: nil), let handle = FileHandle(forWritingAtPath: spool) else {
                throw OutcomeError(.internalServerError, code: "exception", "cannot spool the upload")
            }
            defer { try? handle.close() }
            var size = 0
            for try await chunk in request.body {
                size += chunk.readableBytes
                guard size <= configuration.stowMaxBytes else {
                    throw OutcomeError(.contentTooLarge, code: "too-long", "the upload is larger than \(configuration.stowMaxBytes) bytes (pacs.stowMaxBytes)")
                }
                try handle.write(contentsOf: chunk.readableBytesView)
            }
        } catch let e as OutcomeError {
            throw e
        } catch {
            throw OutcomeError(.internalServerError, code: "exception", "the upload could not be written: \(error)")
        }
        struct Stored { var sopClass: String; var sopInstance: String; var study: String }
        var stored: [Stored] = [], failed = 0
        do {
            let mapped = try Data(contentsOf: URL(fileURLWithPath: spool), options: .alwaysMapped)
            try mapped.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                let body = raw.bindMemory(to: UInt8.self)
                for r in Multipart.ranges(body, boundary: boundary) {
                    let bytes = Array(body[r])
                    guard let file = try? DICOMFile.parse(bytes, stopBeforePixels: true),
                          let study = file.dataSet.string(.studyInstanceUID), Self.isDICOMUID(study),
                          let sop = file.dataSet.string(.sopInstanceUID), Self.isDICOMUID(sop),
                          let sopClass = file.dataSet.string(.sopClassUID) else { failed += 1; continue }
                    let dir = (incomingDirectory as NSString).appendingPathComponent(study)
                    try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
                    // Written under a temporary name and renamed: a half-written file is never seen.
                    let target = (dir as NSString).appendingPathComponent(sop + ".dcm")
                    let temporary = target + "." + UUID().uuidString + ".part"
                    try Data(bytes).write(to: URL(fileURLWithPath: temporary))
                    _ = try? fm.removeItem(atPath: target)
                    try fm.moveItem(atPath: temporary, toPath: target)
                    stored.append(Stored(sopClass: sopClass, sopInstance: sop, study: study))
                }
            }
        } catch {
            throw OutcomeError(.internalServerError, code: "exception", "the upload could not be filed: \(error)")
        }
        metrics.event(source: "stow", new: !stored.isEmpty)
        // The Store Instances Response (PS3.18 Table 10.5.3-1), DICOM JSON.
        func element(_ vr: String, _ value: AnyJSON) -> AnyJSON { .object(["vr": .string(vr), "Value": .array([value])]) }
        var response: [String: AnyJSON] = [:]
        if let study = stored.first?.study { response["00081190"] = element("UR", .string(configuration.baseURL + "/dicomweb/studies/" + study)) }
        if !stored.isEmpty {
            response["00081199"] = .object(["vr": .string("SQ"), "Value": .array(stored.map {
                .object(["00081150": element("UI", .string($0.sopClass)), "00081155": element("UI", .string($0.sopInstance))])
            })])
        }
        if failed > 0 {
            response["00081198"] = .object(["vr": .string("SQ"), "Value": .array((0..<failed).map { _ in
                .object(["00081197": element("US", .number(0xC000))])   // Failure: cannot understand
            })])
        }
        if stored.isEmpty && failed == 0 { throw OutcomeError(.badRequest, code: "required", "the upload holds no part") }
        let status: HTTPResponse.Status = stored.isEmpty ? .conflict : (failed > 0 ? .accepted : .ok)
        return try Self.json(AnyJSON.object(response), status: status, contentType: "application/dicom+json")
    }
}

/// Announces pushed studies once they are stable (no new image for `pacs.stableSeconds`).
public struct STOWStableStudies: Service {
    let service: OsteoCTService
    /// Studies (with their file count) that matched no EHR patient: not looked up again until more images come.
    let unmatched = UnmatchedStudies()

    public init(service: OsteoCTService) { self.service = service }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await scanOnce()
                try? await Task.sleep(for: .seconds(max(1, service.configuration.stableSeconds / 4)))
            }
        }
    }

    /// Announces every stable study in `incoming/`; returns how many were queued.
    @discardableResult
    public func scanOnce(now: Date = Date()) async -> Int {
        let fm = FileManager.default
        let root = service.incomingDirectory
        var queued = 0
        for study in ((try? fm.contentsOfDirectory(atPath: root)) ?? []).sorted() where OsteoCTService.isDICOMUID(study) {
            let dir = (root as NSString).appendingPathComponent(study)
            let files = ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".dcm") }
            var newest = Date.distantPast
            for f in files {
                if let m = (try? fm.attributesOfItem(atPath: (dir as NSString).appendingPathComponent(f)))?[.modificationDate] as? Date, m > newest { newest = m }
            }
            guard !files.isEmpty, now.timeIntervalSince(newest) >= service.configuration.stableSeconds else { continue }
            let key = "stow:\(study):\(files.count)"
            let seen = (try? await service.store.eventSeen(key: key)) == true
            let unmatchedBefore = await unmatched.contains(key)
            if seen || unmatchedBefore { continue }
            // The version: CT images only (results stored back here are not late images).
            var ct = 0
            var mrn: String?
            for f in files {
                guard let file = try? DICOMFile.read(path: (dir as NSString).appendingPathComponent(f), stopBeforePixels: true) else { continue }
                if file.dataSet.string(.modality) == "CT" { ct += 1 }
                if mrn == nil { mrn = file.dataSet.string(.patientID) }
            }
            guard ct > 0 else { continue }
            do {
                let outcome = try await service.studyAnnounced(source: "stow", eventKey: key, studyUID: study, version: ct,
                                                               patientID: nil, mrn: mrn, studyPath: dir)
                if outcome == .queued || outcome == .requeued { queued += 1 }
                if outcome == .noPatient { await unmatched.insert(key) }
            } catch {
                service.logger.warning("pushed study not announced; tried again at the next scan")
            }
        }
        return queued
    }
}

actor UnmatchedStudies {
    var keys: Set<String> = []
    func contains(_ k: String) -> Bool { keys.contains(k) }
    func insert(_ k: String) { keys.insert(k) }
}
