// `osteoct serve` settings: a JSON file (`--config`, or OSTEOCT_CONFIG) with the environment on top
// (swift-configuration: `server.port` in the file is SERVER_PORT in the environment). Values that
// are present but wrong are errors that name the key, not silent defaults.
// Trust material (which CDS clients may call, with their keys) lives in its own file
// (`security.trustFile`), so keys rotate without touching the rest.
import Configuration
import SystemPackage
public import Foundation
public import Screening

public struct ServiceConfiguration: Sendable {
    // server
    public var host = "127.0.0.1"
    public var port = 8080
    /// The URL clients use to reach OsteoCT (behind a proxy it differs from host:port): the base of
    /// report links and the `aud` CDS clients must put in their JWTs.
    public var publicURL: String?
    /// Request bodies above this are refused with 413.
    public var maxBodyBytes = 8 << 20
    /// PEM files; both or neither.
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// Browser origins allowed to call the CDS endpoints (CORS); none by default.
    public var corsOrigins: [String] = []

    // store and jobs
    public var storePath = "osteoct-data/osteoct.sqlite"
    public var workers = 1
    /// Seconds a job's lease lasts without a heartbeat.
    public var leaseSeconds = 120.0
    public var jobPolicy = JobPolicy()
    /// Where jobs keep their studies and analysis folders (default: beside the store).
    public var workDirectory: String?
    /// The `osteoct` executable that analyses (default: the running one).
    public var analyzerExecutable: String?
    public var analysisTimeoutSeconds = 1800.0

    // the EHR
    public var ehr: EHRSettings?
    /// Seconds between searches of the EHR for new studies and record changes (0: off; for EHRs
    /// without working Subscriptions).
    public var ehrPollSeconds = 0.0
    /// When set, `osteoct serve` creates its Subscription on the EHR at the first start (the topic's
    /// canonical URL), with this content (id-only or full-resource).
    public var subscriptionTopic: String?
    public var subscriptionContent = "id-only"

    // the PACS (DICOMweb)
    /// DICOMweb base URL (e.g. http://127.0.0.1:8042/dicom-web) studies are retrieved from.
    public var dicomwebURL: String?
    /// Orthanc's REST base (e.g. http://127.0.0.1:8042) whose /changes announce stable studies.
    public var orthancURL: String?
    /// Seconds between polls of Orthanc's /changes.
    public var orthancPollSeconds = 2.0
    /// Store the DICOM SEG/SR/SC results back in the PACS (STOW-RS, confirmed by QIDO-RS).
    public var storeResultsInPACS = false
    /// Studies pushed to OsteoCT (STOW-RS): a study is complete when no image came for this long.
    public var stableSeconds = 60.0
    /// The largest STOW-RS upload accepted.
    public var stowMaxBytes = 4 << 30
    /// Shared secret a PACS pushing studies must send (`Authorization: Bearer …`).
    public var stowSecret: String?

    // security
    /// Development mode: no JWTs checked, everything open. Never in production; logged loudly.
    public var development = false
    public var trustedClients: [TrustedCDSClient] = []
    /// Shared secret a Subscription notification must carry (header `Authorization: Bearer …`).
    public var subscriptionSecret: String?
    /// Key for signed report links; a random one per process when absent (links die at restart).
    public var reportLinkSecret: String?
    public var reportLinkHours = 8.0

    // screening
    public var site = ScreeningConfiguration()

    public init() {}

    /// The base URL without a trailing slash.
    public var baseURL: String {
        if let publicURL { return publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL }
        return "\(tlsCertificate == nil ? "http" : "https")://\(host):\(port)"
    }

    /// Reads the file (when given) and the environment; the environment wins.
    public static func load(file: String?) async throws(ServiceError) -> ServiceConfiguration {
        let env = EnvironmentVariablesProvider()
        var providers: [any ConfigProvider] = [env]
        if let file {
            guard FileManager.default.fileExists(atPath: file) else { throw .configuration("\(file) does not exist; give the path of the service's JSON configuration") }
            do {
                providers.append(try await Configuration.FileProvider<JSONSnapshot>(filePath: .init(file)))
            } catch {
                throw .configuration("\(file) is not a readable JSON configuration: \(error)")
            }
        }
        return try read(ConfigReader(providers: providers), fileDirectory: file.map { ($0 as NSString).deletingLastPathComponent })
    }

    /// From any reader (tests use an in-memory one). Relative paths in the file are relative to it.
    static func read(_ r: ConfigReader, fileDirectory: String?) throws(ServiceError) -> ServiceConfiguration {
        var c = ServiceConfiguration()
        func resolve(_ p: String) -> String {
            guard let dir = fileDirectory, !dir.isEmpty, !p.hasPrefix("/") else { return p }
            return (dir as NSString).appendingPathComponent(p)
        }
        do {
            c.host = try r.value("server.host", default: c.host) { try r.requiredString(forKey: $0) }
            c.port = try r.value("server.port", default: c.port) { try r.requiredInt(forKey: $0) }
            c.publicURL = try r.optionalString("server.publicURL")
            c.maxBodyBytes = try r.value("server.maxBodyBytes", default: c.maxBodyBytes) { try r.requiredInt(forKey: $0) }
            c.tlsCertificate = try r.optionalString("server.tls.certificate").map(resolve)
            c.tlsKey = try r.optionalString("server.tls.key").map(resolve)
            c.corsOrigins = try r.value("server.corsOrigins", default: []) { try r.requiredStringArray(forKey: $0) }
            c.storePath = resolve(try r.value("store.path", default: c.storePath) { try r.requiredString(forKey: $0) })
            c.workers = try r.value("workers.count", default: c.workers) { try r.requiredInt(forKey: $0) }
            c.leaseSeconds = try r.value("workers.leaseSeconds", default: c.leaseSeconds) { try r.requiredDouble(forKey: $0) }
            c.jobPolicy.maxAttempts = try r.value("workers.maxAttempts", default: c.jobPolicy.maxAttempts) { try r.requiredInt(forKey: $0) }
            c.workDirectory = try r.optionalString("workers.workDirectory").map(resolve)
            c.analyzerExecutable = try r.optionalString("workers.analyzer").map(resolve)
            c.analysisTimeoutSeconds = try r.value("workers.analysisTimeoutSeconds", default: c.analysisTimeoutSeconds) { try r.requiredDouble(forKey: $0) }
            if let base = try r.optionalString("ehr.baseUrl") {
                var e = EHRSettings(baseURL: base)
                e.clientID = try r.optionalString("ehr.clientId")
                e.privateJWK = try r.optionalString("ehr.privateKey").map(resolve).map { path throws -> String in
                    guard let d = FileManager.default.contents(atPath: path) else { throw ServiceError.configuration("ehr.privateKey \(path) cannot be read") }
                    return String(decoding: d, as: UTF8.self)
                }
                e.tokenURL = try r.optionalString("ehr.tokenUrl")
                if let scope = try r.optionalString("ehr.scope") { e.scope = scope }
                c.ehr = e
                c.ehrPollSeconds = try r.value("ehr.pollSeconds", default: 0) { try r.requiredDouble(forKey: $0) }
                c.subscriptionTopic = try r.optionalString("ehr.subscriptionTopic")
                c.subscriptionContent = try r.value("ehr.subscriptionContent", default: c.subscriptionContent) { try r.requiredString(forKey: $0) }
            }
            c.dicomwebURL = try r.optionalString("pacs.dicomwebUrl")
            c.orthancURL = try r.optionalString("pacs.orthancUrl")
            c.orthancPollSeconds = try r.value("pacs.orthancPollSeconds", default: c.orthancPollSeconds) { try r.requiredDouble(forKey: $0) }
            c.storeResultsInPACS = try r.value("pacs.storeResults", default: false) { try r.requiredBool(forKey: $0) }
            c.stableSeconds = try r.value("pacs.stableSeconds", default: c.stableSeconds) { try r.requiredDouble(forKey: $0) }
            c.stowMaxBytes = try r.value("pacs.stowMaxBytes", default: c.stowMaxBytes) { try r.requiredInt(forKey: $0) }
            c.stowSecret = try r.optionalString("security.stowSecret", secret: true)
            c.development = try r.value("security.development", default: false) { try r.requiredBool(forKey: $0) }
            c.subscriptionSecret = try r.optionalString("security.subscriptionSecret", secret: true)
            c.reportLinkSecret = try r.optionalString("security.reportLinkSecret", secret: true)
            c.reportLinkHours = try r.value("security.reportLinkHours", default: c.reportLinkHours) { try r.requiredDouble(forKey: $0) }
            if let trust = try r.optionalString("security.trustFile").map(resolve) { c.trustedClients = try trustFile(trust) }
            if let site = try r.optionalString("site.config").map(resolve) { c.site = try siteFile(site) }
        } catch let e as ServiceError {
            throw e
        } catch {
            throw .configuration("\(error)")
        }
        guard (1...65535).contains(c.port) || c.port == 0 else { throw .configuration("server.port \(c.port) is not a TCP port (1–65535)") }
        guard (c.tlsCertificate == nil) == (c.tlsKey == nil) else { throw .configuration("server.tls needs both certificate and key (PEM files)") }
        guard (1...64).contains(c.workers) else { throw .configuration("workers.count \(c.workers) must be 1–64") }
        guard c.maxBodyBytes >= 1024 else { throw .configuration("server.maxBodyBytes \(c.maxBodyBytes) is too small (at least 1024)") }
        guard c.leaseSeconds >= 5 else { throw .configuration("workers.leaseSeconds must be at least 5") }
        guard ["id-only", "full-resource"].contains(c.subscriptionContent) else { throw .configuration("ehr.subscriptionContent must be id-only or full-resource") }
        guard c.ehrPollSeconds == 0 || c.ehrPollSeconds >= 1 else { throw .configuration("ehr.pollSeconds must be 0 (off) or at least 1") }
        if let u = c.publicURL, URL(string: u)?.scheme.map({ ["http", "https"].contains($0) }) != true {
            throw .configuration("server.publicURL '\(u)' is not an http(s) URL")
        }
        for (key, u) in [("ehr.baseUrl", c.ehr?.baseURL), ("pacs.dicomwebUrl", c.dicomwebURL), ("pacs.orthancUrl", c.orthancURL)] {
            if let u, URL(string: u)?.scheme.map({ ["http", "https"].contains($0) }) != true { throw .configuration("\(key) '\(u)' is not an http(s) URL") }
        }
        if c.storeResultsInPACS && c.dicomwebURL == nil { throw .configuration("pacs.storeResults needs pacs.dicomwebUrl (where to STOW the results)") }
        return c
    }

    /// The folder jobs work in.
    public var jobsDirectory: String {
        workDirectory ?? ((storePath as NSString).deletingLastPathComponent as NSString).appendingPathComponent("work")
    }

    /// The trust file: `{"cdsClients": [{"iss": …, "jwks": {"keys": […]}, "jku": ["https://…"]}]}`.
    public static func trustFile(_ path: String) throws(ServiceError) -> [TrustedCDSClient] {
        struct File: Decodable { var cdsClients: [TrustedCDSClient] }
        guard let data = FileManager.default.contents(atPath: path) else { throw .configuration("security.trustFile \(path) cannot be read") }
        do { return try JSONDecoder().decode(File.self, from: data).cdsClients } catch {
            throw .configuration("security.trustFile \(path): expected {\"cdsClients\": [{\"iss\", \"jwks\" or \"jku\"}]}: \(error)")
        }
    }

    static func siteFile(_ path: String) throws(ServiceError) -> ScreeningConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else { throw .configuration("site.config \(path) cannot be read") }
        do { return try JSONDecoder().decode(ScreeningConfiguration.self, from: data) } catch {
            throw .configuration("site.config \(path) is not a site configuration (see Examples/site-config.json): \(error)")
        }
    }
}

extension ConfigReader {
    /// The value at `key`, or `default` when absent; present but of the wrong type is an error
    /// (the plain getters would quietly give the default).
    func value<T>(_ key: ConfigKey, default d: T, _ get: (ConfigKey) throws -> T) throws -> T {
        do { return try get(key) } catch {
            // swift-configuration's error type is package-internal; its missing-value case is told by its text.
            if "\(error)".hasPrefix("Missing required config value") { return d }
            throw ServiceError.configuration("\(key): \(error) — check the configuration file and the environment")
        }
    }

    /// A string that may be absent; present but empty counts as absent.
    func optionalString(_ key: ConfigKey, secret: Bool = false) throws -> String? {
        let v: String? = try value(key, default: nil) { try requiredString(forKey: $0, isSecret: secret) }
        return v?.isEmpty == false ? v : nil
    }
}
