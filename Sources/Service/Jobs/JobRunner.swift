// The workers: a bounded number of loops that claim jobs from the store and run them, renewing the
// lease while they work. Job kinds:
//   analyze — get the study (a folder, or WADO-RS from the PACS) and the woman's record (the EHR, or a
//             file), run `osteoct analyze` in a child process, store the screening (once per study
//             version), queue its delivery to the EHR and, when configured, store the DICOM results
//             in the PACS;
//   rescore — her record changed: the newest screening of the study re-run with the new record and
//             the CT part kept (`osteoct analyze --reuse-ct`), stored as the next revision, delivered;
//   deliver — POST the transaction Bundle to the EHR. Its entries are conditional creates on
//             OsteoCT's business identifiers, so a delivery repeated after a crash creates nothing
//             twice.
// A job that fails for a reason that may pass (EHR or PACS unreachable, 5xx, 429, a killed process)
// is retried with backoff; other failures, and retries past the limit, are dead-lettered for
// `osteoct replay`.
import DICOM
public import Foundation
import Logging
public import ServiceLifecycle
import Screening

/// What an `analyze` job carries.
public struct AnalyzeJob: Codable, Sendable, Equatable {
    public var studyUID: String
    /// The EHR's Patient id.
    public var patientID: String
    /// A DICOM folder to analyse (demo, batch); else the study is retrieved from `pacs.dicomwebUrl`.
    public var studyPath: String?
    /// The woman's record as a FHIR Bundle file (demo, tests); else read from the EHR.
    public var patientBundle: String?
    public init(studyUID: String, patientID: String, studyPath: String? = nil, patientBundle: String? = nil) {
        self.studyUID = studyUID; self.patientID = patientID; self.studyPath = studyPath; self.patientBundle = patientBundle
    }
}

/// What a `rescore` job carries.
public struct RescoreJob: Codable, Sendable, Equatable {
    public var studyUID: String
    public var patientID: String
    /// The woman's record as a file (tests); else read from the EHR.
    public var patientBundle: String?
    public init(studyUID: String, patientID: String, patientBundle: String? = nil) {
        self.studyUID = studyUID; self.patientID = patientID; self.patientBundle = patientBundle
    }
}

struct DeliverJob: Codable, Sendable {
    var screeningID: String
}

/// A job's failure and whether to try again.
struct JobFailure: Error, CustomStringConvertible {
    var message: String
    var retryable: Bool
    var description: String { message }
}

public struct JobRunner: Service {
    let service: OsteoCTService
    let analyzer: any StudyAnalyzer
    let name: String

    public init(service: OsteoCTService, analyzer: (any StudyAnalyzer)? = nil) {
        self.service = service
        self.analyzer = analyzer ?? ProcessAnalyzer(executable: service.configuration.analyzerExecutable,
                                                    timeoutSeconds: service.configuration.analysisTimeoutSeconds)
        name = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    }

    /// On shutdown the workers stop at once: a running analysis is terminated and its job goes back
    /// to the queue (as a retryable failure), to be taken up at the next start.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for i in 0..<service.configuration.workers {
                    group.addTask { await loop(worker: "\(name)#\(i)") }
                }
            }
        }
    }

    func loop(worker: String) async {
        let c = service.configuration
        while !Task.isCancelled {
            do {
                if let job = try await service.store.claim(worker: worker, lease: c.leaseSeconds, maxAttempts: c.jobPolicy.maxAttempts) {
                    await execute(job, worker: worker)
                    continue
                }
            } catch {
                service.logger.error("cannot claim a job", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    /// Runs one job to its end state, renewing its lease; stops the work if the lease is lost.
    public func execute(_ job: Job, worker: String) async {
        let store = service.store, lease = service.configuration.leaseSeconds
        let log = service.logger
        let started = ContinuousClock.now
        let outcome: Result<Void, JobFailure> = await withTaskGroup(of: Result<Void, JobFailure>?.self) { group in
            group.addTask {
                do { try await perform(job); return .success(()) } catch let f as JobFailure { return .failure(f) } catch is CancellationError {
                    return .failure(JobFailure(message: "stopped (lease lost or shutdown)", retryable: true))
                } catch let e as ServiceError {
                    // The store busy or a disk full may pass; a refused request will not.
                    if case .store = e { return .failure(JobFailure(message: e.description, retryable: true)) }
                    return .failure(JobFailure(message: e.description, retryable: false))
                } catch {
                    return .failure(JobFailure(message: "\(error)", retryable: false))
                }
            }
            group.addTask {
                // Heartbeats at a third of the lease; a lost lease ends the work.
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(lease / 3))
                    if Task.isCancelled { return nil }
                    if (try? await store.heartbeat(job: job.id, worker: worker, lease: lease)) == false {
                        return .failure(JobFailure(message: "lease lost: another worker has the job", retryable: true))
                    }
                }
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .failure(JobFailure(message: "stopped", retryable: true))
        }
        let seconds = Double((ContinuousClock.now - started).components.seconds)
        switch outcome {
        case .success:
            let mine = (try? await store.complete(job: job.id, worker: worker)) ?? false
            log.info(mine ? "job done" : "job finished after its lease was lost (another worker has it)",
                     metadata: ["job": "\(job.id)", "kind": "\(job.kind)", "seconds": "\(seconds)"])
        case .failure(let f):
            let state = try? await store.fail(job: job.id, worker: worker, error: f.message, retryable: f.retryable, policy: service.configuration.jobPolicy)
            // The reason stays in the store (`osteoct jobs --state failed|dead`): it may quote the EHR
            // or the analysis, which are not for the log.
            log.warning("job failed", metadata: ["job": "\(job.id)", "kind": "\(job.kind)", "state": "\(state?.rawValue ?? "lost")", "retry": "\(f.retryable)"])
        }
    }

    func perform(_ job: Job) async throws {
        switch job.kind {
        case "analyze": try await analyze(job)
        case "rescore": try await rescore(job)
        case "deliver": try await deliver(job)
        default: throw JobFailure(message: "unknown job kind '\(job.kind)'", retryable: false)
        }
    }

    // MARK: analyze

    func analyze(_ job: Job) async throws {
        let c = service.configuration
        guard let payload = try? JSONDecoder().decode(AnalyzeJob.self, from: Data(job.payload.utf8)) else {
            throw JobFailure(message: "the job's payload is not an analyze job", retryable: false)
        }
        // Run again after it stored its result (a crash or lost lease after saving): only make sure
        // the delivery is queued.
        if let done = try await service.store.screening(forJob: job.id) { try await ensureDelivery(done.id); return }
        // This version or a newer one already screened by another job (a late retry or replay): done.
        if try await service.store.isScreened(studyUID: payload.studyUID, version: job.version) { return }
        let earlier = try await service.store.screeningCount(studyUID: payload.studyUID)
        let dir = (c.jobsDirectory as NSString).appendingPathComponent("job-\(job.id)")
        let fm = FileManager.default
        // A job taken up again after a crash starts clean: its folder holds only derived data.
        try? fm.removeItem(atPath: dir)
        do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw JobFailure(message: "cannot create \(dir): \(error)", retryable: true)
        }
        // The retrieved study is removed in any case; the rest (her record, the results) once stored.
        defer { try? fm.removeItem(atPath: (dir as NSString).appendingPathComponent("dicom")) }

        // The study.
        let study: String
        if let path = payload.studyPath {
            study = path
        } else if let web = service.dicomweb {
            study = (dir as NSString).appendingPathComponent("dicom")
            do { _ = try await web.retrieveCT(payload.studyUID, into: study) } catch { throw JobFailure(message: error.message, retryable: error.retryable) }
        } else {
            throw JobFailure(message: "the job names no study folder and pacs.dicomwebUrl is not configured", retryable: false)
        }
        // The record.
        let record = try await recordFile(patientID: payload.patientID, given: payload.patientBundle, dir: dir)
        // The site configuration the analysis uses is the service's.
        let site = (dir as NSString).appendingPathComponent("site.json")
        do { try JSONEncoder().encode(c.site).write(to: URL(fileURLWithPath: site)) } catch {
            throw JobFailure(message: "cannot write the site configuration: \(error)", retryable: true)
        }
        let out = (dir as NSString).appendingPathComponent("out")
        let dicomOut = c.storeResultsInPACS ? (dir as NSString).appendingPathComponent("dicom-out") : nil
        do {
            try await analyzer.analyze(study: study, patientBundle: record, out: out, siteConfig: site, dicomOut: dicomOut,
                                       revision: earlier > 0 ? earlier + 1 : nil, reuseCT: false, log: (dir as NSString).appendingPathComponent("analyze.log"))
        } catch {
            throw JobFailure(message: error.message, retryable: error.retryable)
        }
        let (screening, resources): (StoredScreening, [StoredResource])
        do { (screening, resources) = try ScreeningImport.load(folder: out, version: job.version, revision: earlier + 1) } catch {
            throw JobFailure(message: error.description, retryable: false)
        }
        guard screening.studyUID == payload.studyUID else {
            throw JobFailure(message: "the analysed study is \(screening.studyUID), not the one the job names", retryable: false)
        }
        if try await !service.store.save(screening, resources: resources, artifacts: ScreeningImport.artifacts(folder: out), job: job.id,
                                         deliver: service.ehr != nil) {
            service.logger.notice("analysis not stored: a newer screening of the study was stored meanwhile", metadata: ["job": "\(job.id)"])
        }
        if let dicomOut, let web = service.dicomweb {
            try await storeResults(folder: dicomOut, study: payload.studyUID, web: web)
        }
        // Stored: the job's folder (her record, the analysis) is not kept.
        try? fm.removeItem(atPath: dir)
    }

    /// STOW-RS of the SEG, SR and SC objects, confirmed by QIDO-RS.
    func storeResults(folder: String, study: String, web: DICOMwebClient) async throws {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".dcm") }.sorted()
        guard !names.isEmpty else { return }
        var files: [[UInt8]] = [], uids: [String] = []
        for n in names {
            guard let d = FileManager.default.contents(atPath: (folder as NSString).appendingPathComponent(n)) else { continue }
            files.append([UInt8](d))
            if let uid = (try? DICOMFile.parse([UInt8](d), stopBeforePixels: true))?.dataSet.string(.sopInstanceUID) { uids.append(uid) }
        }
        do { try await web.store(files: files, study: study, sopInstanceUIDs: uids) } catch {
            throw JobFailure(message: "storing the results in the PACS: \(error.message)", retryable: error.retryable)
        }
    }

    // MARK: rescore

    func rescore(_ job: Job) async throws {
        let c = service.configuration
        guard let payload = try? JSONDecoder().decode(RescoreJob.self, from: Data(job.payload.utf8)) else {
            throw JobFailure(message: "the job's payload is not a re-score job", retryable: false)
        }
        if let done = try await service.store.screening(forJob: job.id) { try await ensureDelivery(done.id); return }
        guard let (earlier, files) = try await service.store.latestArtifacts(studyUID: payload.studyUID) else {
            throw JobFailure(message: "the study's newest screening kept no CT part to re-score from", retryable: false)
        }
        let count = try await service.store.screeningCount(studyUID: payload.studyUID)
        let dir = (c.jobsDirectory as NSString).appendingPathComponent("job-\(job.id)")
        let fm = FileManager.default
        try? fm.removeItem(atPath: dir)
        let previous = (dir as NSString).appendingPathComponent("earlier")
        do {
            try fm.createDirectory(atPath: (previous as NSString).appendingPathComponent("qc"), withIntermediateDirectories: true)
            for f in files { try Data(f.bytes).write(to: URL(fileURLWithPath: (previous as NSString).appendingPathComponent(f.name))) }
            try JSONEncoder().encode(c.site).write(to: URL(fileURLWithPath: (dir as NSString).appendingPathComponent("site.json")))
        } catch {
            throw JobFailure(message: "cannot write the earlier analysis to \(dir): \(error)", retryable: true)
        }
        let record = try await recordFile(patientID: payload.patientID, given: payload.patientBundle, dir: dir)
        let out = (dir as NSString).appendingPathComponent("out")
        do {
            try await analyzer.analyze(study: previous, patientBundle: record, out: out, siteConfig: (dir as NSString).appendingPathComponent("site.json"),
                                       dicomOut: nil, revision: count + 1, reuseCT: true, log: (dir as NSString).appendingPathComponent("analyze.log"))
        } catch {
            throw JobFailure(message: error.message, retryable: error.retryable)
        }
        let (screening, resources): (StoredScreening, [StoredResource])
        do { (screening, resources) = try ScreeningImport.load(folder: out, version: earlier.studyVersion, revision: count + 1) } catch {
            throw JobFailure(message: error.description, retryable: false)
        }
        if try await !service.store.save(screening, resources: resources, artifacts: ScreeningImport.artifacts(folder: out), job: job.id,
                                         deliver: service.ehr != nil) {
            service.logger.notice("re-score not stored: a newer screening of the study was stored meanwhile", metadata: ["job": "\(job.id)"])
        }
        try? fm.removeItem(atPath: dir)
    }

    /// Queues the delivery of a stored screening unless it is queued or done already.
    func ensureDelivery(_ screeningID: String) async throws {
        guard service.ehr != nil else { return }
        let json = String(decoding: try JSONEncoder().encode(DeliverJob(screeningID: screeningID)), as: UTF8.self)
        _ = try await service.store.enqueue(kind: "deliver", subjectKey: "deliver:\(screeningID)", version: 1, payload: json)
    }

    /// Her record as a file: the one given, else read from the EHR into `dir/record.json`.
    func recordFile(patientID: String, given: String?, dir: String) async throws -> String {
        if let given { return given }
        guard let ehr = service.ehr else {
            throw JobFailure(message: "no EHR is configured (ehr.baseUrl) and the job carries no record: the screening needs the woman's record", retryable: false)
        }
        let bytes: [UInt8]?
        do { bytes = try await ehr.record(patientID: patientID) } catch { throw JobFailure(message: "reading the record: \(error.message)", retryable: error.retryable) }
        guard let bytes else { throw JobFailure(message: "the EHR has no Patient for this study (it answered 404)", retryable: false) }
        let path = (dir as NSString).appendingPathComponent("record.json")
        do { try Data(bytes).write(to: URL(fileURLWithPath: path)) } catch { throw JobFailure(message: "cannot write the record: \(error)", retryable: true) }
        return path
    }

    // MARK: deliver

    func deliver(_ job: Job) async throws {
        guard let payload = try? JSONDecoder().decode(DeliverJob.self, from: Data(job.payload.utf8)) else {
            throw JobFailure(message: "the job's payload is not a delivery", retryable: false)
        }
        guard let ehr = service.ehr else { throw JobFailure(message: "no EHR configured (ehr.baseUrl)", retryable: false) }
        guard let screening = try await service.store.screening(id: payload.screeningID) else {
            throw JobFailure(message: "screening \(payload.screeningID) is not in the store", retryable: false)
        }
        // A later screening retires the earlier one's Flag and draft referral in the same transaction.
        var bundle = screening.bundleJSON
        if let previous = try await service.store.previousScreening(before: screening) {
            let system = service.configuration.site.identifierSystem
            var retirements: [AnyJSON] = []
            for item in Supersede.retirable(in: previous.bundleJSON, identifierSystem: system) {
                let found: [AnyJSON]
                do { found = try await ehr.searchAll("\(item.type)?identifier=\(OsteoCTService.formEncoded(system + "|" + item.identifier))", maxPages: 1) } catch {
                    throw JobFailure(message: "reading the earlier \(item.type) back: \(error.message)", retryable: error.retryable)
                }
                guard found.count == 1, case .object(let current)? = found.first,
                      let entry = Supersede.retirement(type: item.type, identifier: item.identifier, system: system, current: current) else { continue }
                retirements.append(entry)
            }
            guard let combined = Supersede.appending(retirements, to: bundle) else {
                throw JobFailure(message: "the stored Bundle does not decode", retryable: false)
            }
            bundle = combined
        }
        do { _ = try await ehr.transaction(bundle) } catch {
            throw JobFailure(message: "writing the results to the EHR: \(error.message)", retryable: error.retryable)
        }
    }
}
