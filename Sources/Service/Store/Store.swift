// The service's store: SQLite in WAL mode (GRDB) — the screenings it answers CDS Hooks and FHIR
// reads from, the FHIR resources it produced, the events it received (for de-duplication), the job
// queue, the CDS feedback and the audit trail of every disclosure of patient data.
// One writer at a time, readers alongside (WAL); every change is one transaction, so a process
// killed mid-write leaves the last committed state and nothing half-stored.
public import Foundation
import GRDB
import RiskModel

public final class Store: Sendable {
    let pool: DatabasePool
    public let path: String

    /// Opens (creating when absent) the store at `path` and brings its schema up to date.
    public init(path: String) throws(ServiceError) {
        self.path = path
        var configuration = Configuration()
        // A writer waits up to 5 s for another (e.g. a worker process) instead of failing at once.
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // WAL with synchronous=NORMAL is durable across process crashes (not power loss of the
            // last transactions), the trade-off SQLite documents for WAL.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        do {
            let dir = (path as NSString).deletingLastPathComponent
            if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
        } catch {
            throw .store("cannot open the store at \(path): \(error) — check the path is writable and not on a full disk")
        }
    }

    /// Versioned schema changes, applied in order once each.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE screening (
                    id TEXT PRIMARY KEY,
                    patient_id TEXT NOT NULL,
                    study_uid TEXT NOT NULL,
                    study_version INTEGER NOT NULL,
                    issued TEXT NOT NULL,
                    stored_at REAL NOT NULL,
                    category TEXT NOT NULL,
                    card_input TEXT NOT NULL,
                    bundle_json BLOB NOT NULL,
                    report_html BLOB,
                    UNIQUE (study_uid, study_version)
                );
                CREATE INDEX screening_patient ON screening (patient_id, stored_at);
                CREATE TABLE resource (
                    type TEXT NOT NULL,
                    id TEXT NOT NULL,
                    screening_id TEXT NOT NULL REFERENCES screening(id) ON DELETE CASCADE,
                    patient_id TEXT,
                    identifier TEXT,
                    last_updated TEXT NOT NULL,
                    json BLOB NOT NULL,
                    PRIMARY KEY (type, id)
                );
                CREATE INDEX resource_patient ON resource (type, patient_id);
                CREATE INDEX resource_updated ON resource (type, last_updated);
                CREATE TABLE event (
                    id INTEGER PRIMARY KEY,
                    source TEXT NOT NULL,
                    dedup_key TEXT NOT NULL UNIQUE,
                    received REAL NOT NULL,
                    summary TEXT NOT NULL
                );
                CREATE TABLE job (
                    id INTEGER PRIMARY KEY,
                    kind TEXT NOT NULL,
                    subject_key TEXT NOT NULL,
                    patient_id TEXT,
                    version INTEGER NOT NULL,
                    state TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    lease_owner TEXT,
                    lease_until REAL,
                    not_before REAL NOT NULL,
                    payload TEXT NOT NULL,
                    error TEXT,
                    created REAL NOT NULL,
                    updated REAL NOT NULL
                );
                CREATE INDEX job_ready ON job (state, not_before);
                CREATE INDEX job_subject ON job (subject_key, version);
                CREATE INDEX job_patient ON job (patient_id, state);
                CREATE TABLE feedback (
                    id INTEGER PRIMARY KEY,
                    service_id TEXT NOT NULL,
                    card TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    accepted_suggestions TEXT,
                    reason_system TEXT,
                    reason_code TEXT,
                    reason_display TEXT,
                    user_comment TEXT,
                    outcome_timestamp TEXT NOT NULL,
                    client TEXT NOT NULL,
                    received REAL NOT NULL
                );
                CREATE TABLE audit (
                    id INTEGER PRIMARY KEY,
                    recorded TEXT NOT NULL,
                    action TEXT NOT NULL,
                    subtype TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    agent TEXT NOT NULL,
                    source_address TEXT,
                    patient_id TEXT,
                    entity TEXT,
                    detail TEXT
                );
                CREATE INDEX audit_patient ON audit (patient_id, recorded);
                CREATE TABLE cursor (
                    name TEXT PRIMARY KEY,
                    value TEXT NOT NULL
                );
                """)
        }
        // v2: a screening has a revision (a re-score of the same study version from a changed
        // record), and keeps the CT part of its analysis (artifacts) for re-scoring without the CT.
        m.registerMigration("v2") { db in
            try db.execute(sql: """
                CREATE TABLE screening_v2 (
                    id TEXT PRIMARY KEY,
                    patient_id TEXT NOT NULL,
                    study_uid TEXT NOT NULL,
                    study_version INTEGER NOT NULL,
                    revision INTEGER NOT NULL DEFAULT 1,
                    issued TEXT NOT NULL,
                    stored_at REAL NOT NULL,
                    category TEXT NOT NULL,
                    card_input TEXT NOT NULL,
                    bundle_json BLOB NOT NULL,
                    report_html BLOB,
                    UNIQUE (study_uid, study_version, revision)
                );
                INSERT INTO screening_v2 (id, patient_id, study_uid, study_version, revision, issued, stored_at, category, card_input, bundle_json, report_html)
                    SELECT id, patient_id, study_uid, study_version, 1, issued, stored_at, category, card_input, bundle_json, report_html FROM screening;
                DROP TABLE screening;
                ALTER TABLE screening_v2 RENAME TO screening;
                CREATE INDEX screening_patient ON screening (patient_id, stored_at);
                CREATE TABLE artifact (
                    screening_id TEXT NOT NULL REFERENCES screening(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    bytes BLOB NOT NULL,
                    PRIMARY KEY (screening_id, name)
                );
                """)
        }
        // v3: which job stored a screening, so a job run again after a crash finds its result.
        m.registerMigration("v3") { db in
            try db.execute(sql: "ALTER TABLE screening ADD COLUMN job_id INTEGER")
            try db.execute(sql: "CREATE INDEX screening_job ON screening (job_id)")
        }
        return m
    }
}

// MARK: - Screenings

/// One screening as the store keeps it.
public struct StoredScreening: Sendable {
    /// The store's id (also in `/reports/{id}`): a UUID derived from the study and its version.
    public var id: String
    /// The EHR's logical Patient id (the subject of the results).
    public var patientID: String
    public var studyUID: String
    /// The study's version: a later version (images that arrived after the analysis) replaces it.
    public var studyVersion: Int
    /// 1 for the study's first screening; 2, 3, … for every later one (a changed record, late images).
    public var revision: Int = 1
    public var issued: String
    public var storedAt: Date
    public var cardInput: CardInput
    /// The transaction Bundle written to the EHR.
    public var bundleJSON: [UInt8]
    public var reportHTML: [UInt8]?

    public var category: String { cardInput.risk.category.level }

    public init(id: String, patientID: String, studyUID: String, studyVersion: Int, revision: Int = 1, issued: String, storedAt: Date,
                cardInput: CardInput, bundleJSON: [UInt8], reportHTML: [UInt8]?) {
        self.id = id; self.patientID = patientID; self.studyUID = studyUID; self.studyVersion = studyVersion; self.revision = revision
        self.issued = issued; self.storedAt = storedAt; self.cardInput = cardInput; self.bundleJSON = bundleJSON; self.reportHTML = reportHTML
    }
}

/// A FHIR resource OsteoCT produced, as served by `/fhir`.
public struct StoredResource: Sendable, Equatable {
    public var type: String
    public var id: String
    public var screeningID: String
    public var patientID: String?
    /// OsteoCT's business identifier (system|value), when the resource has one.
    public var identifier: String?
    /// FHIR instant.
    public var lastUpdated: String
    public var json: [UInt8]
}

extension Store {
    /// Stores a screening and its resources in one transaction (returns false, writing nothing, when
    /// this version of the study or a newer one is already stored).
    /// `job`: the job storing it (found again by `screening(forJob:)`); `deliver`: queue its delivery
    /// to the EHR in the same transaction, so a stored screening is never left undelivered.
    @discardableResult
    public func save(_ s: StoredScreening, resources: [StoredResource], artifacts: [(name: String, bytes: [UInt8])] = [],
                     job: Int64? = nil, deliver: Bool = false) async throws(ServiceError) -> Bool {
        let card: String
        do { card = String(decoding: try JSONEncoder().encode(s.cardInput), as: UTF8.self) } catch {
            throw .store("cannot encode the card input: \(error)")
        }
        return try await write { db in
            // The same screening again (a re-delivered job), or an older one finishing after a newer
            // one (a retried or replayed job): nothing is written.
            let newer = "study_uid = ? AND (study_version > ? OR (study_version = ? AND revision >= ?))"
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM screening WHERE " + newer, arguments: [s.studyUID, s.studyVersion, s.studyVersion, s.revision]) == true {
                return false
            }
            // The newest screening replaces the older ones' resources in /fhir (a Flag or referral the
            // new results no longer carry must not stay visible) and their CT artifacts.
            let older = "SELECT id FROM screening WHERE study_uid = ? AND (study_version < ? OR (study_version = ? AND revision < ?))"
            let olderArgs: StatementArguments = [s.studyUID, s.studyVersion, s.studyVersion, s.revision]
            try db.execute(sql: "DELETE FROM resource WHERE screening_id IN (\(older))", arguments: olderArgs)
            if !artifacts.isEmpty { try db.execute(sql: "DELETE FROM artifact WHERE screening_id IN (\(older))", arguments: olderArgs) }
            try db.execute(sql: """
                INSERT INTO screening (id, patient_id, study_uid, study_version, revision, issued, stored_at, category, card_input, bundle_json, report_html, job_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [s.id, s.patientID, s.studyUID, s.studyVersion, s.revision, s.issued, s.storedAt.timeIntervalSince1970, s.category, card,
                                 Data(s.bundleJSON), s.reportHTML.map { Data($0) }, job])
            if deliver {
                _ = try Self.enqueue(db, kind: "deliver", subjectKey: "deliver:\(s.id)", version: 1, patientID: nil,
                                     payload: #"{"screeningID":"\#(s.id)"}"#, now: Date())
            }
            for r in resources {
                try db.execute(sql: """
                    INSERT OR REPLACE INTO resource (type, id, screening_id, patient_id, identifier, last_updated, json)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [r.type, r.id, r.screeningID, r.patientID, r.identifier, r.lastUpdated, Data(r.json)])
            }
            for a in artifacts {
                try db.execute(sql: "INSERT OR REPLACE INTO artifact (screening_id, name, bytes) VALUES (?, ?, ?)", arguments: [s.id, a.name, Data(a.bytes)])
            }
            return true
        }
    }

    /// The CT part of the newest screening of a study that has one (for re-scoring without the CT):
    /// the screening and its files (study.json, measurements.json, qc/…).
    public func latestArtifacts(studyUID: String) async throws(ServiceError) -> (screening: StoredScreening, files: [(name: String, bytes: [UInt8])])? {
        // The newest screening of the study, and only if it kept its CT part.
        guard let s = try await screenings(sql: "SELECT * FROM screening WHERE study_uid = ? ORDER BY study_version DESC, revision DESC LIMIT 1",
                                           arguments: [studyUID]).first else { return nil }
        let files: [(String, Data)] = try await read { db in
            try Row.fetchAll(db, sql: "SELECT name, bytes FROM artifact WHERE screening_id = ? ORDER BY name", arguments: [s.id]).map { ($0["name"], $0["bytes"]) }
        }
        guard !files.isEmpty else { return nil }
        return (s, files.map { (name: $0.0, bytes: [UInt8]($0.1)) })
    }

    /// Whether the study's newest screening kept its CT part (what `latestArtifacts` would return),
    /// without reading the files.
    public func canRescore(studyUID: String) async throws(ServiceError) -> Bool {
        try await read { db in
            try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM artifact WHERE screening_id =
                    (SELECT id FROM screening WHERE study_uid = ? ORDER BY study_version DESC, revision DESC LIMIT 1))
                """, arguments: [studyUID]) == true
        }
    }

    /// The studies of a patient with a screening, newest first.
    public func screenedStudies(patientID: String) async throws(ServiceError) -> [String] {
        try await read { db in
            try String.fetchAll(db, sql: "SELECT study_uid FROM screening WHERE patient_id = ? GROUP BY study_uid ORDER BY MAX(issued) DESC", arguments: [patientID])
        }
    }

    /// The screening of the same study stored just before `s` (an earlier version or revision).
    public func previousScreening(before s: StoredScreening) async throws(ServiceError) -> StoredScreening? {
        try await screenings(sql: """
            SELECT * FROM screening WHERE study_uid = ? AND (study_version < ? OR (study_version = ? AND revision < ?))
            ORDER BY study_version DESC, revision DESC LIMIT 1
            """, arguments: [s.studyUID, s.studyVersion, s.studyVersion, s.revision]).first
    }

    /// The screening a job stored, if it got that far (a job run again after a crash).
    public func screening(forJob job: Int64) async throws(ServiceError) -> StoredScreening? {
        try await screenings(sql: "SELECT * FROM screening WHERE job_id = ? LIMIT 1", arguments: [job]).first
    }

    /// How many screenings (versions and revisions) of the study are stored.
    public func screeningCount(studyUID: String) async throws(ServiceError) -> Int {
        try await read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM screening WHERE study_uid = ?", arguments: [studyUID]) ?? 0 }
    }

    public func latestScreening(patientID: String) async throws(ServiceError) -> StoredScreening? {
        try await screenings(sql: "SELECT * FROM screening WHERE patient_id = ? ORDER BY issued DESC, study_version DESC, revision DESC, stored_at DESC LIMIT 1",
                             arguments: [patientID]).first
    }

    public func screening(id: String) async throws(ServiceError) -> StoredScreening? {
        try await screenings(sql: "SELECT * FROM screening WHERE id = ?", arguments: [id]).first
    }

    /// Whether this version of the study (or a later one) is already screened.
    public func isScreened(studyUID: String, version: Int) async throws(ServiceError) -> Bool {
        try await read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM screening WHERE study_uid = ? AND study_version >= ?", arguments: [studyUID, version]) == true
        }
    }

    func screenings(sql: String, arguments: StatementArguments) async throws(ServiceError) -> [StoredScreening] {
        struct Raw: Sendable {
            var id, patientID, studyUID, issued, card: String
            var version: Int
            var revision: Int
            var storedAt: Double
            var bundle: Data
            var report: Data?
        }
        let rows = try await read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map {
                Raw(id: $0["id"], patientID: $0["patient_id"], studyUID: $0["study_uid"], issued: $0["issued"], card: $0["card_input"],
                    version: $0["study_version"], revision: $0["revision"], storedAt: $0["stored_at"], bundle: $0["bundle_json"], report: $0["report_html"])
            }
        }
        var out: [StoredScreening] = []
        for r in rows {
            let input: CardInput
            do { input = try JSONDecoder().decode(CardInput.self, from: Data(r.card.utf8)) } catch {
                throw .store("screening \(r.id): its stored card input does not decode (\(error)); re-run the job")
            }
            out.append(StoredScreening(id: r.id, patientID: r.patientID, studyUID: r.studyUID, studyVersion: r.version, revision: r.revision, issued: r.issued,
                                       storedAt: Date(timeIntervalSince1970: r.storedAt), cardInput: input,
                                       bundleJSON: [UInt8](r.bundle), reportHTML: r.report.map { [UInt8]($0) }))
        }
        return out
    }
}

// MARK: - FHIR resources

/// A FHIR search over the stored resources: each field narrows the result (AND).
public struct ResourceQuery: Sendable {
    public var type: String
    public var id: String?
    public var patientID: String?
    public var identifier: String?
    /// `_lastUpdated` bounds: (comparator, instant) with ge, gt, le, lt, eq on the stored instant text.
    public var lastUpdated: [(String, String)] = []
    public var count = 50
    public var offset = 0
    public init(type: String) { self.type = type }
}

extension Store {
    public func resource(type: String, id: String) async throws(ServiceError) -> StoredResource? {
        var q = ResourceQuery(type: type)
        q.id = id
        return try await search(q).resources.first
    }

    /// Matching resources (newest first) and the total count.
    public func search(_ q: ResourceQuery) async throws(ServiceError) -> (resources: [StoredResource], total: Int) {
        var clauses = ["type = ?"]
        var args: [any DatabaseValueConvertible] = [q.type]
        if let id = q.id { clauses.append("id = ?"); args.append(id) }
        if let p = q.patientID { clauses.append("patient_id = ?"); args.append(p) }
        if let i = q.identifier {
            // FHIR token: `system|value` exactly, or `value` alone in any system.
            if i.contains("|") { clauses.append("identifier = ?"); args.append(i) } else { clauses.append("identifier LIKE ? ESCAPE '\\'"); args.append("%|" + Self.likeEscaped(i)) }
        }
        for (op, instant) in q.lastUpdated {
            let sqlOp = ["ge": ">=", "gt": ">", "le": "<=", "lt": "<", "eq": "="][op] ?? "="
            clauses.append("last_updated \(sqlOp) ?")
            args.append(instant)
        }
        let whereSQL = clauses.joined(separator: " AND ")
        let arguments = StatementArguments(args.map { $0.databaseValue })
        let (count, offset) = (q.count, q.offset)
        return try await read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM resource WHERE \(whereSQL)", arguments: arguments) ?? 0
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM resource WHERE \(whereSQL) ORDER BY last_updated DESC, id LIMIT ? OFFSET ?",
                                        arguments: arguments + [count, offset])
            return (rows.map { row in
                let json: Data = row["json"]
                return StoredResource(type: row["type"], id: row["id"], screeningID: row["screening_id"], patientID: row["patient_id"],
                                      identifier: row["identifier"], lastUpdated: row["last_updated"], json: [UInt8](json))
            }, total)
        }
    }

    static func likeEscaped(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }
}

// MARK: - Events (de-duplication)

extension Store {
    /// Records an event once: true when it is new, false when the same key was seen before
    /// (a duplicate notification, a re-sent STOW, an Orthanc change seen again).
    public func recordEvent(source: String, key: String, summary: String) async throws(ServiceError) -> Bool {
        try await write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO event (source, dedup_key, received, summary) VALUES (?, ?, ?, ?)",
                           arguments: [source, key, Date().timeIntervalSince1970, summary])
            return db.changesCount == 1
        }
    }

    public func eventCount() async throws(ServiceError) -> Int {
        try await read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event") ?? 0 }
    }
}

// MARK: - Cursors (where a poller got to)

extension Store {
    public func cursor(_ name: String) async throws(ServiceError) -> String? {
        try await read { db in try String.fetchOne(db, sql: "SELECT value FROM cursor WHERE name = ?", arguments: [name]) }
    }

    /// Raises a numeric cursor to `value` if it is below; returns the cursor's value before.
    public func raiseCursor(_ name: String, to value: Int) async throws(ServiceError) -> Int {
        try await write { db in
            let before = Int(try String.fetchOne(db, sql: "SELECT value FROM cursor WHERE name = ?", arguments: [name]) ?? "0") ?? 0
            if value > before {
                try db.execute(sql: "INSERT INTO cursor (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                               arguments: [name, String(value)])
            }
            return before
        }
    }

    public func setCursor(_ name: String, _ value: String) async throws(ServiceError) {
        try await write { db in
            try db.execute(sql: "INSERT INTO cursor (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value", arguments: [name, value])
        }
    }
}

// MARK: - Feedback and audit

/// One audit record: who saw which patient's data, through what, with what outcome. Served as FHIR
/// AuditEvent (fhir-cds.md §2.7).
public struct AuditRecord: Sendable, Equatable {
    /// FHIR instant.
    public var recorded: String
    /// AuditEvent.action: C R U D E.
    public var action: String
    /// What was done, e.g. `cds-hooks patient-view`, `report`, `fhir read`, `fhir search`.
    public var subtype: String
    /// AuditEvent.outcome: 0 success, 4 minor failure (refused), 8 serious failure.
    public var outcome: String
    /// The client: the CDS client's `iss`, `link` for a signed report link, `dev` in development mode.
    public var agent: String
    public var sourceAddress: String?
    public var patientID: String?
    /// What was disclosed (a screening id, `Type/id`, a search).
    public var entity: String?
    public var detail: String?

    public init(recorded: String, action: String, subtype: String, outcome: String, agent: String, sourceAddress: String?,
                patientID: String?, entity: String?, detail: String?) {
        self.recorded = recorded; self.action = action; self.subtype = subtype; self.outcome = outcome; self.agent = agent
        self.sourceAddress = sourceAddress; self.patientID = patientID; self.entity = entity; self.detail = detail
    }
}

extension Store {
    public func saveFeedback(serviceID: String, _ items: [CDSHooks.Feedback], client: String) async throws(ServiceError) {
        try await write { db in
            for f in items {
                try db.execute(sql: """
                    INSERT INTO feedback (service_id, card, outcome, accepted_suggestions, reason_system, reason_code, reason_display,
                                          user_comment, outcome_timestamp, client, received)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [serviceID, f.card, f.outcome, f.acceptedSuggestions.map { $0.map(\.id).joined(separator: ",") },
                                     f.overrideReason?.reason?.system, f.overrideReason?.reason?.code, f.overrideReason?.reason?.display,
                                     f.overrideReason?.userComment, f.outcomeTimestamp, client, Date().timeIntervalSince1970])
            }
        }
    }

    /// Stored feedback as (card, outcome, reason code, comment), oldest first.
    public func feedback(serviceID: String) async throws(ServiceError) -> [(card: String, outcome: String, reasonCode: String?, comment: String?)] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT card, outcome, reason_code, user_comment FROM feedback WHERE service_id = ? ORDER BY id", arguments: [serviceID])
                .map { (card: $0["card"], outcome: $0["outcome"], reasonCode: $0["reason_code"], comment: $0["user_comment"]) }
        }
    }

    public func audit(_ a: AuditRecord) async throws(ServiceError) {
        try await write { db in
            try db.execute(sql: """
                INSERT INTO audit (recorded, action, subtype, outcome, agent, source_address, patient_id, entity, detail)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [a.recorded, a.action, a.subtype, a.outcome, a.agent, a.sourceAddress, a.patientID, a.entity, a.detail])
        }
    }

    /// Audit records, newest first, optionally of one patient. Each is paired with its row id.
    public func auditRecords(patientID: String? = nil, limit: Int = 100) async throws(ServiceError) -> [(id: Int64, record: AuditRecord)] {
        try await read { db in
            let rows = patientID == nil
                ? try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY id DESC LIMIT ?", arguments: [limit])
                : try Row.fetchAll(db, sql: "SELECT * FROM audit WHERE patient_id = ? ORDER BY id DESC LIMIT ?", arguments: [patientID, limit])
            return rows.map { r in
                (id: r["id"], record: AuditRecord(recorded: r["recorded"], action: r["action"], subtype: r["subtype"], outcome: r["outcome"],
                                                  agent: r["agent"], sourceAddress: r["source_address"], patientID: r["patient_id"],
                                                  entity: r["entity"], detail: r["detail"]))
            }
        }
    }
}

// MARK: - Access

extension Store {
    /// A write transaction; SQLite errors become `ServiceError.store` with what to do.
    func write<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws(ServiceError) -> T {
        do { return try await pool.write(body) } catch { throw Self.storeError(error) }
    }

    func read<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws(ServiceError) -> T {
        do { return try await pool.read(body) } catch { throw Self.storeError(error) }
    }

    static func storeError(_ error: any Error) -> ServiceError {
        if let e = error as? ServiceError { return e }
        if let e = error as? DatabaseError {
            switch e.resultCode {
            case .SQLITE_FULL: return .store("the disk holding the store is full (\(e.message ?? "")); free space and retry — nothing was written")
            case .SQLITE_BUSY, .SQLITE_LOCKED: return .store("the store is busy (another writer held it for over 5 s); retry")
            case .SQLITE_READONLY: return .store("the store is read-only; check the file's permissions")
            case .SQLITE_CORRUPT, .SQLITE_NOTADB: return .store("the store file is damaged (\(e.message ?? "")); restore it from a backup")
            default: return .store("store error: \(e)")
            }
        }
        return .store("store error: \(error)")
    }
}
