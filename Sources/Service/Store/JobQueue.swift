// The job queue in the store: queued → running → done | failed (retried after a backoff) | dead
// (after the attempt limit; `osteoct replay` puts it back). A running job holds a lease that its
// worker renews (heartbeat); a worker killed mid-job stops renewing, the lease runs out and another
// worker takes the job up again. Jobs of one subject (a study) never run two at a time, and a newer
// version that arrives while one is queued replaces it: late images give exactly one re-run.
public import Foundation
import GRDB

public struct Job: Sendable, Equatable {
    public enum State: String, Sendable, Codable { case queued, running, done, failed, dead }
    public var id: Int64
    public var kind: String
    /// What the job is about, e.g. `study:1.2.3` — one at a time per subject.
    public var subjectKey: String
    public var version: Int
    public var state: State
    public var attempts: Int
    public var payload: String
    public var error: String?
}

/// What happened to an enqueue.
public enum EnqueueOutcome: Sendable, Equatable {
    /// A new job.
    case queued(Int64)
    /// A queued job of the subject now carries the newer version (one re-run, not two).
    case updated(Int64)
    /// This version (or a newer one) is already queued, running or done: nothing to do.
    case duplicate
}

public struct JobPolicy: Sendable {
    /// Attempts before a job is dead-lettered.
    public var maxAttempts = 5
    /// Backoff before attempt n+1: base · 2^(n−1), at most `maxBackoff` seconds.
    public var baseBackoff: Double = 10
    public var maxBackoff: Double = 600
    public init() {}

    func backoff(afterAttempt n: Int) -> Double { min(maxBackoff, baseBackoff * pow(2, Double(max(0, n - 1)))) }
}

extension Store {
    /// `patientID`: the woman the job is about, when known (a CDS call for her says "being analysed").
    public func enqueue(kind: String, subjectKey: String, version: Int, patientID: String? = nil, payload: String,
                        now: Date = Date()) async throws(ServiceError) -> EnqueueOutcome {
        try await write { db in try Self.enqueue(db, kind: kind, subjectKey: subjectKey, version: version, patientID: patientID, payload: payload, now: now) }
    }

    /// An announcement recorded and its job queued in one transaction, so a crash between the two
    /// can neither lose the study nor make a repeat of the announcement look handled. Nil when the
    /// event was seen before.
    public func recordEventAndEnqueue(source: String, eventKey: String, summary: String, studyUID: String, kind: String, subjectKey: String,
                                      version: Int, patientID: String?, payload: String, now: Date = Date()) async throws(ServiceError) -> EnqueueOutcome? {
        try await write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO event (source, dedup_key, received, summary) VALUES (?, ?, ?, ?)",
                           arguments: [source, eventKey, now.timeIntervalSince1970, summary])
            guard db.changesCount == 1 else { return nil }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM screening WHERE study_uid = ? AND study_version >= ?", arguments: [studyUID, version]) == true {
                return .duplicate
            }
            return try Self.enqueue(db, kind: kind, subjectKey: subjectKey, version: version, patientID: patientID, payload: payload, now: now)
        }
    }

    static func enqueue(_ db: Database, kind: String, subjectKey: String, version: Int, patientID: String?, payload: String, now: Date) throws -> EnqueueOutcome {
        let t = now.timeIntervalSince1970
        let newest = try Int.fetchOne(db, sql: "SELECT MAX(version) FROM job WHERE subject_key = ? AND kind = ? AND state IN ('queued','running','done','failed')",
                                      arguments: [subjectKey, kind])
        if let newest, newest >= version { return .duplicate }
        if let queued = try Int64.fetchOne(db, sql: "SELECT id FROM job WHERE subject_key = ? AND kind = ? AND state IN ('queued','failed') ORDER BY id LIMIT 1",
                                           arguments: [subjectKey, kind]) {
            try db.execute(sql: "UPDATE job SET version = ?, payload = ?, patient_id = COALESCE(?, patient_id), attempts = 0, state = 'queued', not_before = ?, error = NULL, updated = ? WHERE id = ?",
                           arguments: [version, payload, patientID, t, t, queued])
            return .updated(queued)
        }
        try db.execute(sql: """
            INSERT INTO job (kind, subject_key, patient_id, version, state, attempts, not_before, payload, created, updated)
            VALUES (?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?)
            """, arguments: [kind, subjectKey, patientID, version, t, payload, t, t])
        return .queued(db.lastInsertedRowID)
    }

    /// Takes the oldest job that is due — queued or failed and past its backoff, or running with a lease
    /// that ran out (its worker died) — unless another job of its subject is running under a live lease.
    /// A job whose lease ran out `maxAttempts` times (it may be what kills the worker) is
    /// dead-lettered instead of being run again.
    public func claim(worker: String, lease: Double, maxAttempts: Int = JobPolicy().maxAttempts, now: Date = Date()) async throws(ServiceError) -> Job? {
        try await write { db in
            let t = now.timeIntervalSince1970
            while true {
                let row = try Row.fetchOne(db, sql: """
                    SELECT * FROM job j
                    WHERE ((j.state IN ('queued','failed') AND j.not_before <= ?) OR (j.state = 'running' AND j.lease_until < ?))
                      AND NOT EXISTS (SELECT 1 FROM job r WHERE r.subject_key = j.subject_key AND r.id != j.id
                                      AND r.state = 'running' AND r.lease_until >= ?)
                    ORDER BY j.not_before, j.id LIMIT 1
                    """, arguments: [t, t, t])
                guard let row else { return nil }
                let id: Int64 = row["id"]
                let attempts: Int = row["attempts"]
                let state: String = row["state"]
                if state == "running" && attempts >= maxAttempts {
                    try db.execute(sql: "UPDATE job SET state = 'dead', lease_owner = NULL, lease_until = NULL, error = ?, updated = ? WHERE id = ?",
                                   arguments: ["its worker stopped without finishing \(attempts) times (crash, kill or lost lease)", t, id])
                    continue
                }
                try db.execute(sql: "UPDATE job SET state = 'running', attempts = ?, lease_owner = ?, lease_until = ?, updated = ? WHERE id = ?",
                               arguments: [attempts + 1, worker, t + lease, t, id])
                return Job(id: id, kind: row["kind"], subjectKey: row["subject_key"], version: row["version"], state: .running,
                           attempts: attempts + 1, payload: row["payload"], error: row["error"])
            }
        }
    }

    /// Renews the lease; false when the job is no longer this worker's (its lease ran out and
    /// another worker took it), so the worker stops without writing.
    public func heartbeat(job id: Int64, worker: String, lease: Double, now: Date = Date()) async throws(ServiceError) -> Bool {
        try await write { db in
            try db.execute(sql: "UPDATE job SET lease_until = ?, updated = ? WHERE id = ? AND state = 'running' AND lease_owner = ?",
                           arguments: [now.timeIntervalSince1970 + lease, now.timeIntervalSince1970, id, worker])
            return db.changesCount == 1
        }
    }

    /// Marks the job done; false when it was no longer this worker's.
    public func complete(job id: Int64, worker: String, now: Date = Date()) async throws(ServiceError) -> Bool {
        try await write { db in
            try db.execute(sql: "UPDATE job SET state = 'done', lease_owner = NULL, lease_until = NULL, error = NULL, updated = ? WHERE id = ? AND state = 'running' AND lease_owner = ?",
                           arguments: [now.timeIntervalSince1970, id, worker])
            return db.changesCount == 1
        }
    }

    /// Records a failure: retried after a backoff while attempts remain and the error is transient,
    /// dead-lettered otherwise. Returns the new state.
    public func fail(job id: Int64, worker: String, error: String, retryable: Bool, policy: JobPolicy, now: Date = Date()) async throws(ServiceError) -> Job.State? {
        try await write { db in
            guard let attempts = try Int.fetchOne(db, sql: "SELECT attempts FROM job WHERE id = ? AND state = 'running' AND lease_owner = ?", arguments: [id, worker]) else {
                return nil
            }
            let dead = !retryable || attempts >= policy.maxAttempts
            let t = now.timeIntervalSince1970
            try db.execute(sql: "UPDATE job SET state = ?, error = ?, lease_owner = NULL, lease_until = NULL, not_before = ?, updated = ? WHERE id = ?",
                           arguments: [dead ? "dead" : "failed", error, t + (dead ? 0 : policy.backoff(afterAttempt: attempts)), t, id])
            return dead ? .dead : .failed
        }
    }

    /// Puts a dead-lettered job back in the queue with fresh attempts (`osteoct replay`).
    public func replay(job id: Int64, now: Date = Date()) async throws(ServiceError) -> Bool {
        try await write { db in
            try db.execute(sql: "UPDATE job SET state = 'queued', attempts = 0, not_before = ?, updated = ? WHERE id = ? AND state = 'dead'",
                           arguments: [now.timeIntervalSince1970, now.timeIntervalSince1970, id])
            return db.changesCount == 1
        }
    }

    /// Whether an analysis of this patient's CT is queued or running (her CT is being analysed).
    public func hasPendingJob(patientID: String) async throws(ServiceError) -> Bool {
        try await pendingAnalysisStudy(patientID: patientID) != nil
    }

    /// The study of a queued or running analysis of this patient, if any.
    public func pendingAnalysisStudy(patientID: String) async throws(ServiceError) -> String? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT subject_key FROM job WHERE patient_id = ? AND kind = 'analyze' AND state IN ('queued','running','failed') ORDER BY id DESC LIMIT 1",
                                arguments: [patientID]).map { $0.hasPrefix("study:") ? String($0.dropFirst(6)) : $0 }
        }
    }

    public func job(id: Int64) async throws(ServiceError) -> Job? {
        try await jobs(where: "id = ?", arguments: [id]).first
    }

    /// Jobs in a state, oldest first.
    public func jobs(state: Job.State, limit: Int = 100) async throws(ServiceError) -> [Job] {
        try await jobs(where: "state = ? ORDER BY id LIMIT \(max(1, limit))", arguments: [state.rawValue])
    }

    /// How many jobs are in each state.
    public func jobCounts() async throws(ServiceError) -> [Job.State: Int] {
        let pairs: [(String, Int)] = try await read { db in
            try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM job GROUP BY state").map { ($0["state"], $0["n"]) }
        }
        var out: [Job.State: Int] = [:]
        for (s, n) in pairs { if let state = Job.State(rawValue: s) { out[state] = n } }
        return out
    }

    func jobs(where clause: String, arguments: StatementArguments) async throws(ServiceError) -> [Job] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM job WHERE " + clause, arguments: arguments).map { row in
                Job(id: row["id"], kind: row["kind"], subjectKey: row["subject_key"], version: row["version"],
                    state: Job.State(rawValue: row["state"]) ?? .failed, attempts: row["attempts"], payload: row["payload"], error: row["error"])
            }
        }
    }
}
