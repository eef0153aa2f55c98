// The EHR's FHIR API as OsteoCT uses it: reads and searches (following `next` links) for the
// woman's record, and the transaction Bundle of results. Authentication is SMART Backend Services
// (fhir-cds.md §4): a client assertion JWT (RS384 or ES384, from the configured private JWK; iss =
// sub = client_id, aud = the token endpoint, exp ≤ 5 min, a fresh jti) exchanged for a bearer token
// with `client_credentials`; the token is reused until a minute before it expires.
// Errors say whether they are worth retrying: 429, 5xx and network failures are; other 4xx are not.
public import AsyncHTTPClient
public import Foundation
import JWTKit
import NIOCore
import NIOHTTP1

/// How OsteoCT reaches the EHR.
public struct EHRSettings: Sendable {
    public var baseURL: String
    /// SMART backend services; nil for an EHR reached without authentication (a test EHR on loopback).
    public var clientID: String?
    /// A private JWK (JSON) with `kid` (and `alg` RS384 or ES384, else taken from the key type).
    public var privateJWK: String?
    /// The token endpoint; found at `[base]/.well-known/smart-configuration` when nil.
    public var tokenURL: String?
    public var scope = "system/Patient.rs system/Observation.rs system/Condition.rs system/MedicationStatement.rs system/MedicationRequest.rs system/FamilyMemberHistory.rs system/ImagingStudy.rs system/*.c"
    public init(baseURL: String) { self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL }
}

/// A failed call, and whether trying again later may succeed.
public struct EHRError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var retryable: Bool
    public var status: Int?
    public var description: String { message }
}

public actor EHRClient {
    public let settings: EHRSettings
    let http: HTTPClient
    var token: (value: String, expires: Date)?

    public init(settings: EHRSettings, http: HTTPClient) throws(ServiceError) {
        self.settings = settings
        self.http = http
        if settings.clientID != nil && settings.privateJWK == nil {
            throw .configuration("ehr.clientId is set but ehr.privateKey is not: SMART backend services needs the private JWK")
        }
    }

    // MARK: FHIR calls

    /// GET a resource or search by its path relative to the base (e.g. `Patient/123`); nil on 404/410.
    public func read(_ path: String) async throws(EHRError) -> [UInt8]? {
        let (status, body) = try await call(.GET, settings.baseURL + "/" + path, body: nil)
        switch status {
        case 200: return body
        case 404, 410: return nil
        default: throw Self.failure("GET \(Self.redacted(path))", status, body)
        }
    }

    /// Every resource a search returns, following `next` links (at most `maxPages` pages).
    public func searchAll(_ query: String, maxPages: Int = 20) async throws(EHRError) -> [AnyJSON] {
        var url: String? = settings.baseURL + "/" + query
        var out: [AnyJSON] = []
        var pages = 0
        while let u = url, pages < maxPages {
            let (status, body) = try await call(.GET, u, body: nil)
            guard status == 200 else { throw Self.failure("search \(query.split(separator: "?").first ?? "")", status, body) }
            guard case .object(let bundle)? = try? JSONDecoder().decode(AnyJSON.self, from: Data(body)) else {
                throw EHRError(message: "search \(query.split(separator: "?").first ?? ""): the answer is not a JSON Bundle", retryable: false)
            }
            if case .array(let entries)? = bundle["entry"] {
                for case .object(let e) in entries { if let r = e["resource"] { out.append(r) } }
            }
            url = nil
            if case .array(let links)? = bundle["link"] {
                for case .object(let l) in links {
                    // Only pages of the same server get the bearer token.
                    if case .string("next")? = l["relation"], case .string(let next)? = l["url"], Self.sameOrigin(next, settings.baseURL) { url = next }
                }
            }
            pages += 1
        }
        return out
    }

    /// POSTs a transaction Bundle; the answer must be a transaction-response whose entries all
    /// succeeded. Returns the response Bundle.
    public func transaction(_ bundle: [UInt8]) async throws(EHRError) -> [UInt8] {
        let (status, body) = try await call(.POST, settings.baseURL, body: bundle)
        guard (200..<300).contains(status) else { throw Self.failure("transaction", status, body) }
        guard case .object(let response)? = try? JSONDecoder().decode(AnyJSON.self, from: Data(body)),
              case .string("transaction-response")? = response["type"] else {
            throw EHRError(message: "transaction: the EHR answered \(status) without a transaction-response Bundle", retryable: false, status: status)
        }
        if case .array(let entries)? = response["entry"] {
            for case .object(let e) in entries {
                if case .object(let r)? = e["response"], case .string(let s)? = r["status"], !(s.hasPrefix("2")) {
                    throw EHRError(message: "transaction: an entry answered \(s)", retryable: s.hasPrefix("5") || s.hasPrefix("429"), status: status)
                }
            }
        }
        return body
    }

    /// The woman's record as the screening reads it: her Patient and her Observations, Conditions,
    /// medications and family history, as a collection Bundle (JSON). Nil when she does not exist.
    public func record(patientID: String) async throws(EHRError) -> [UInt8]? {
        guard OsteoCTService.isFHIRId(patientID) else { throw EHRError(message: "the patient reference is not a FHIR id", retryable: false) }
        guard let patientBytes = try await read("Patient/" + patientID),
              let patient = try? JSONDecoder().decode(AnyJSON.self, from: Data(patientBytes)) else { return nil }
        var resources: [AnyJSON] = [patient]
        for type in ["Observation", "Condition", "MedicationStatement", "MedicationRequest", "FamilyMemberHistory"] {
            resources += try await searchAll("\(type)?patient=\(patientID)&_count=200")
        }
        let entries: [AnyJSON] = resources.map { r in
            var e: [String: AnyJSON] = ["resource": r]
            if case .object(let o) = r, case .string(let t)? = o["resourceType"], case .string(let id)? = o["id"] {
                e["fullUrl"] = .string(settings.baseURL + "/" + t + "/" + id)
            }
            return .object(e)
        }
        let bundle: AnyJSON = .object(["resourceType": .string("Bundle"), "type": .string("collection"), "entry": .array(entries)])
        guard let bytes = try? JSONEncoder().encode(bundle) else { throw EHRError(message: "cannot encode the record", retryable: false) }
        return Array(bytes)
    }

    /// Creates a resource (POST [base]/[type]); returns the server's copy.
    public func create(_ type: String, _ resource: [UInt8]) async throws(EHRError) -> [UInt8] {
        let (status, body) = try await call(.POST, settings.baseURL + "/" + type, body: resource)
        guard (200..<300).contains(status) else { throw Self.failure("create \(type)", status, body) }
        return body
    }

    /// The server's CapabilityStatement: FHIR 4.0.x and the interactions OsteoCT needs; problems
    /// are returned as sentences for the log.
    public func checkCapabilities() async -> [String] {
        do {
            guard let body = try await read("metadata"), case .object(let cs)? = try? JSONDecoder().decode(AnyJSON.self, from: Data(body)) else {
                return ["the EHR has no CapabilityStatement at \(settings.baseURL)/metadata"]
            }
            var problems: [String] = []
            if case .string(let v)? = cs["fhirVersion"], !v.hasPrefix("4.0") { problems.append("the EHR speaks FHIR \(v), not R4 (4.0.x)") }
            let text = String(decoding: body, as: UTF8.self)
            if !text.contains("\"transaction\"") { problems.append("the EHR's CapabilityStatement does not list the transaction interaction OsteoCT writes results with") }
            return problems
        } catch {
            return ["the EHR's CapabilityStatement could not be read: \(error)"]
        }
    }

    // MARK: transport

    func call(_ method: HTTPMethod, _ url: String, body: [UInt8]?) async throws(EHRError) -> (Int, [UInt8]) {
        var attempt = 0
        while true {
            attempt += 1
            do {
                var request = HTTPClientRequest(url: url)
                request.method = method
                request.headers.add(name: "Accept", value: "application/fhir+json")
                if let body {
                    request.headers.add(name: "Content-Type", value: "application/fhir+json")
                    request.body = .bytes(ByteBuffer(bytes: body))
                }
                if settings.clientID != nil { request.headers.add(name: "Authorization", value: "Bearer " + (try await bearer())) }
                let response = try await http.execute(request, timeout: .seconds(30))
                let bytes = Array(buffer: try await response.body.collect(upTo: 64 << 20))
                let status = Int(response.status.code)
                if status == 401 && settings.clientID != nil && attempt == 1 { token = nil; continue }   // token revoked early: once more
                // A short in-call retry for a busy server; longer outages are the job queue's backoff.
                if (status == 429 || status == 503) && attempt < 3 {
                    let wait = min(Double(response.headers.first(name: "Retry-After") ?? "") ?? Double(attempt), 5)
                    try? await Task.sleep(for: .seconds(wait))
                    continue
                }
                return (status, bytes)
            } catch let e as EHRError {
                throw e
            } catch {
                // A read is retried once at once; a POST is not (it may have been applied).
                if attempt < 2 && method == .GET { try? await Task.sleep(for: .milliseconds(300)); continue }
                throw EHRError(message: "\(method.rawValue) \(Self.redacted(url)): \(error)", retryable: true)
            }
        }
    }

    /// A valid access token, fetched when absent or within a minute of expiry.
    func bearer() async throws -> String {
        if let t = token, t.expires.timeIntervalSinceNow > 60 { return t.value }
        guard let clientID = settings.clientID, let jwk = settings.privateJWK else { throw EHRError(message: "no client credentials", retryable: false) }
        let tokenURL: String
        if let configured = settings.tokenURL { tokenURL = configured } else { tokenURL = try await discoverTokenURL() }
        struct Assertion: JWTPayload {
            var iss: String, sub: String, aud: String, exp: Int, jti: String
            func verify(using algorithm: some JWTAlgorithm) async throws {}
        }
        let now = Date()
        let assertion: String
        do {
            assertion = try await KeyMaterial.sign(Assertion(iss: clientID, sub: clientID, aud: tokenURL, exp: Int(now.timeIntervalSince1970) + 240,
                                                             jti: UUID().uuidString), privateJWK: jwk)
        } catch {
            throw EHRError(message: "ehr.privateKey: \(error)", retryable: false)
        }
        var form = URLComponents()
        form.queryItems = [.init(name: "grant_type", value: "client_credentials"), .init(name: "scope", value: settings.scope),
                           .init(name: "client_assertion_type", value: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                           .init(name: "client_assertion", value: assertion)]
        var request = HTTPClientRequest(url: tokenURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        // URLComponents leaves + unescaped in queries; a form body needs it escaped.
        request.body = .bytes(ByteBuffer(string: (form.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")))
        let response = try await http.execute(request, timeout: .seconds(15))
        let body = Array(buffer: try await response.body.collect(upTo: 1 << 20))
        guard response.status == .ok, case .object(let o)? = try? JSONDecoder().decode(AnyJSON.self, from: Data(body)),
              case .string(let access)? = o["access_token"] else {
            throw EHRError(message: "the token endpoint answered \(response.status.code): \(String(decoding: body.prefix(300), as: UTF8.self))",
                           retryable: response.status.code >= 500 || response.status.code == 429, status: Int(response.status.code))
        }
        var lifetime = 300.0
        if case .number(let n)? = o["expires_in"] { lifetime = n }
        token = (access, now.addingTimeInterval(lifetime))
        return access
    }

    func discoverTokenURL() async throws -> String {
        var request = HTTPClientRequest(url: settings.baseURL + "/.well-known/smart-configuration")
        request.headers.add(name: "Accept", value: "application/json")
        let response = try await http.execute(request, timeout: .seconds(10))
        let body = Array(buffer: try await response.body.collect(upTo: 1 << 20))
        guard response.status == .ok, case .object(let o)? = try? JSONDecoder().decode(AnyJSON.self, from: Data(body)),
              case .string(let url)? = o["token_endpoint"] else {
            throw EHRError(message: "the EHR publishes no token_endpoint at .well-known/smart-configuration; set ehr.tokenUrl", retryable: false)
        }
        return url
    }

    static func failure(_ what: String, _ status: Int, _ body: [UInt8]) -> EHRError {
        var why = ""
        if case .object(let o)? = try? JSONDecoder().decode(AnyJSON.self, from: Data(body)), case .array(let issues)? = o["issue"],
           case .object(let i)? = issues.first, case .string(let d)? = i["diagnostics"] { why = ": " + d }
        return EHRError(message: "\(what) answered \(status)\(why)", retryable: status == 429 || status >= 500, status: status)
    }

    /// A path or URL for messages: the resource type kept, ids and queries (patient data) left out.
    static func redacted(_ s: String) -> String {
        let path = String(s.split(separator: "?", maxSplits: 1).first ?? "")
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard let i = parts.lastIndex(where: { $0.first?.isUppercase == true }) else { return path }
        return parts[...i].joined(separator: "/") + (i < parts.count - 1 ? "/…" : "")
    }

    static func sameOrigin(_ a: String, _ b: String) -> Bool {
        guard let u = URL(string: a), let v = URL(string: b) else { return false }
        return u.scheme == v.scheme && u.host == v.host && u.port == v.port
    }
}
