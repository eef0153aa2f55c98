// A SMALL FHIR R4 SERVER FOR TESTS AND DEMOS ONLY — it plays the EHR around OsteoCT, in memory:
//   GET  /fhir/metadata, /fhir/.well-known/smart-configuration
//   POST /fhir/auth/token            SMART Backend Services (client assertion RS384/ES384) when clients are registered
//   GET  /fhir/{type}/{id}, /fhir/{type}?patient=&subject=&identifier=&_id=&_lastUpdated=&_count=   (paged, `next` links)
//   PUT  /fhir/{type}/{id}           create or update (seed patients, ImagingStudies; no token needed: the EHR's own users)
//   POST /fhir                       transaction Bundle: conditional creates (ifNoneExist) resolved, urn:uuid references
//                                    rewritten; conditional updates (PUT Type?identifier=…)
//   POST /fhir/Subscription          R4 Subscriptions Backport rest-hook: handshake, then an event
//                                    notification (id-only or full-resource) for every ImagingStudy,
//                                    Observation, Condition, medication or family history PUT
//   GET  /_test/counts               resources per type (tests check nothing was written twice)
//   GET  /_test/all/{type}           every resource of a type, without a token (tests only)
//   POST /_test/outage               {"status": 503, "seconds": 60}: answer every FHIR call with that status for a while
// Not an EHR: no persistence, no access control beyond the token, no search beyond the above.
import AsyncHTTPClient
import Foundation
public import Hummingbird
import HTTPTypes
public import Logging
import NIOCore
import NIOHTTP1
public import Service

public actor TestEHRStore {
    struct Entry { var json: [String: AnyJSON]; var version: Int; var updated: String; var condition: String? }
    var resources: [String: [String: Entry]] = [:]
    var nextID = 1
    var tokens: [String: Date] = [:]
    var subscriptions: [String: [String: AnyJSON]] = [:]
    var eventCounts: [String: Int] = [:]
    var outage: (status: Int, until: Date)?

    public init() {}

    func newID() -> String { defer { nextID += 1 }; return String(format: "ehr%05d", nextID) }

    func put(_ type: String, _ id: String, _ json: [String: AnyJSON], condition: String? = nil) -> (created: Bool, resource: [String: AnyJSON]) {
        var r = json
        let old = resources[type]?[id]
        let version = (old?.version ?? 0) + 1
        let now = TestEHR.instant(Date())
        r["resourceType"] = .string(type)
        r["id"] = .string(id)
        r["meta"] = .object(["versionId": .string(String(version)), "lastUpdated": .string(now)])
        resources[type, default: [:]][id] = Entry(json: r, version: version, updated: now, condition: condition ?? old?.condition)
        return (old == nil, r)
    }

    func get(_ type: String, _ id: String) -> [String: AnyJSON]? { resources[type]?[id]?.json }

    public func all(_ type: String) -> [[String: AnyJSON]] { (resources[type] ?? [:]).values.sorted { $0.updated < $1.updated }.map(\.json) }

    /// The resource a conditional create matches: `identifier=system|value` searched like FHIR does
    /// (any resource of the type with that identifier); other conditions by the same condition
    /// having created it before.
    func existing(_ type: String, condition: String) -> String? {
        let query = condition.split(separator: "?", maxSplits: 1).last.map(String.init) ?? ""
        if query.hasPrefix("identifier="), let token = String(query.dropFirst(11)).removingPercentEncoding {
            let parts = token.split(separator: "|", maxSplits: 1).map(String.init)
            return resources[type]?.first { _, e in
                guard case .array(let ids)? = e.json["identifier"] else { return false }
                return ids.contains { i in
                    guard case .object(let o) = i, case .string(let v)? = o["value"] else { return false }
                    if parts.count == 2 { if case .string(parts[0])? = o["system"] { return v == parts[1] } else { return false } }
                    return v == token
                }
            }?.key
        }
        return resources[type]?.first { $0.value.condition == condition }?.key
    }

    public func counts() -> [String: Int] { resources.mapValues(\.count) }

    /// Loads every resource of a Bundle (JSON) by its id; returns how many.
    public func load(bundle: [UInt8]) -> Int? {
        guard case .object(let b)? = try? JSONDecoder().decode(AnyJSON.self, from: Data(bundle)), case .array(let entries)? = b["entry"] else { return nil }
        var n = 0
        for case .object(let e) in entries {
            if case .object(let r)? = e["resource"], case .string(let t)? = r["resourceType"], case .string(let id)? = r["id"] {
                _ = put(t, id, r)
                n += 1
            }
        }
        return n
    }

    func issueToken() -> String {
        let t = UUID().uuidString
        tokens[t] = Date().addingTimeInterval(300)
        return t
    }

    func tokenValid(_ t: String) -> Bool { (tokens[t].map { $0 > Date() }) ?? false }

    public func setOutage(status: Int, seconds: Double) { outage = (status, Date().addingTimeInterval(seconds)) }

    func currentOutage() -> Int? {
        guard let o = outage, o.until > Date() else { return nil }
        return o.status
    }

    func addSubscription(_ id: String, _ s: [String: AnyJSON]) { subscriptions[id] = s }
    func activeSubscriptions() -> [(String, [String: AnyJSON])] { subscriptions.map { ($0.key, $0.value) } }
    func nextEvent(_ sub: String) -> Int { eventCounts[sub, default: 0] += 1; return eventCounts[sub]! }
}

public struct TestEHR: Sendable {
    public let store = TestEHRStore()
    /// Registered backend clients: client_id → public JWKS. Empty: no authentication.
    let clients: [TrustedCDSClient]
    let trust: CDSTrust
    let baseURL: String
    let http: HTTPClient
    let logger: Logger

    public init(baseURL: String, clients: [TrustedCDSClient], logger: Logger) throws {
        self.baseURL = baseURL
        self.clients = clients
        self.logger = logger
        trust = try CDSTrust(clients: clients, fetcher: nil, smartAssertion: true)
        http = HTTPClient(eventLoopGroupProvider: .singleton)
    }

    public func shutdown() async { try? await http.shutdown() }

    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("/fhir/metadata") { _, _ in try Self.json(Self.capabilityStatement) }
        router.get("/fhir/.well-known/smart-configuration") { _, _ in
            try Self.json(.object([
                "token_endpoint": .string(baseURL + "/fhir/auth/token"),
                "token_endpoint_auth_methods_supported": .array([.string("private_key_jwt")]),
                "token_endpoint_auth_signing_alg_values_supported": .array([.string("RS384"), .string("ES384")]),
                "grant_types_supported": .array([.string("client_credentials")]),
                "capabilities": .array([.string("client-confidential-asymmetric")]),
            ]))
        }
        router.post("/fhir/auth/token") { request, _ in try await token(request) }
        router.get("/_test/counts") { _, _ in try Self.json(.object(await store.counts().mapValues { .number(Double($0)) })) }
        router.get("/_test/all/{type}") { _, context in
            try Self.json(.array(await store.all(try context.parameters.require("type")).map { AnyJSON.object($0) }))
        }
        router.post("/_test/outage") { request, _ in
            let body = try await request.body.collect(upTo: 4096)
            guard case .object(let o)? = try? JSONDecoder().decode(AnyJSON.self, from: Data(Array(buffer: body))),
                  case .number(let status)? = o["status"], case .number(let seconds)? = o["seconds"] else { return Response(status: .badRequest) }
            await store.setOutage(status: Int(status), seconds: seconds)
            return Response(status: .ok)
        }
        router.post("/fhir") { request, _ in try await guarded(request) { try await transaction(request) } }
        router.post("/fhir/Subscription") { request, _ in try await guarded(request) { try await subscribe(request) } }
        router.get("/fhir/{type}/{id}") { request, context in
            try await guarded(request) {
                let type = try context.parameters.require("type"), id = try context.parameters.require("id")
                guard let r = await store.get(type, id) else { return Self.outcome(.notFound, "\(type)/\(id) not found") }
                return try Self.json(.object(r), contentType: "application/fhir+json")
            }
        }
        router.put("/fhir/{type}/{id}") { request, context in
            try await guarded(request) {
                let type = try context.parameters.require("type"), id = try context.parameters.require("id")
                let body = try await request.body.collect(upTo: 64 << 20)
                guard case .object(let r)? = try? JSONDecoder().decode(AnyJSON.self, from: Data(Array(buffer: body))) else {
                    return Self.outcome(.badRequest, "not a JSON resource")
                }
                let (created, stored) = await store.put(type, id, r)
                // Every active subscription hears of ImagingStudies and of record changes.
                if Self.notifiedTypes.contains(type) {
                    await notify(focus: "\(type)/\(id)", resource: stored)
                }
                return try Self.json(.object(stored), status: created ? .created : .ok, contentType: "application/fhir+json")
            }
        }
        router.get("/fhir/{type}") { request, context in
            try await guarded(request) { try await search(request, type: try context.parameters.require("type")) }
        }
        return router
    }

    // MARK: authentication and outages

    /// Outages apply to every FHIR call; the token to calls of backend clients (a PUT stands for the
    /// EHR's own users recording data, so it needs none).
    func guarded(_ request: Request, _ body: () async throws -> Response) async throws -> Response {
        if let status = await store.currentOutage() { return Self.outcome(HTTPResponse.Status(code: status), "simulated outage") }
        if !clients.isEmpty && request.method != .put {
            let auth = request.headers[.authorization] ?? ""
            guard auth.hasPrefix("Bearer "), await store.tokenValid(String(auth.dropFirst(7))) else {
                return Self.outcome(.unauthorized, "a valid bearer token from /fhir/auth/token is needed")
            }
        }
        return try await body()
    }

    func token(_ request: Request) async throws -> Response {
        let body = String(buffer: try await request.body.collect(upTo: 65_536))
        var form: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
            if kv.count == 2 { form[kv[0]] = kv[1] }
        }
        func oauthError(_ e: String, _ why: String) throws -> Response {
            try Self.json(.object(["error": .string(e), "error_description": .string(why)]), status: .badRequest)
        }
        guard form["grant_type"] == "client_credentials" else { return try oauthError("unsupported_grant_type", "only client_credentials") }
        guard form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", let assertion = form["client_assertion"] else {
            return try oauthError("invalid_request", "client_assertion_type jwt-bearer and client_assertion are required")
        }
        do { _ = try await trust.verify(authorization: "Bearer " + assertion, audience: baseURL + "/fhir/auth/token") } catch {
            return try oauthError("invalid_client", "\(error)")
        }
        return try Self.json(.object(["access_token": .string(await store.issueToken()), "token_type": .string("bearer"), "expires_in": .number(300),
                                      "scope": .string(form["scope"] ?? "system/*.rs")]))
    }

    // MARK: search

    func search(_ request: Request, type: String) async throws -> Response {
        var matches = await store.all(type)
        var count = 50, offset = 0
        for (k, v) in request.uri.queryParameters {
            let value = String(v)
            switch k {
            case "patient", "subject":
                let ref = value.hasPrefix("Patient/") ? value : "Patient/" + value
                matches = matches.filter { r in
                    for key in ["subject", "patient"] { if case .object(let s)? = r[key], case .string(ref)? = s["reference"] { return true } }
                    return false
                }
            case "_id": matches = matches.filter { if case .string(value)? = $0["id"] { return true } else { return false } }
            case "identifier":
                let (system, code) = value.contains("|") ? (String(value.split(separator: "|", maxSplits: 1)[0]), String(value.split(separator: "|", maxSplits: 1)[1])) : (nil, value)
                matches = matches.filter { r in
                    guard case .array(let ids)? = r["identifier"] else { return false }
                    return ids.contains { i in
                        guard case .object(let o) = i, case .string(code)? = o["value"] else { return false }
                        if let system { if case .string(system)? = o["system"] { return true } else { return false } }
                        return true
                    }
                }
            case "_lastUpdated":
                // gt/ge/lt/le/eq on meta.lastUpdated (instants in one format compare as text).
                let op = String(value.prefix(2)), bound = ["gt", "ge", "lt", "le", "eq"].contains(op) ? String(value.dropFirst(2)) : value
                matches = matches.filter { r in
                    guard case .object(let meta)? = r["meta"], case .string(let u)? = meta["lastUpdated"] else { return false }
                    switch op { case "gt": return u > bound; case "ge": return u >= bound; case "lt": return u < bound; case "le": return u <= bound; default: return u == bound }
                }
            case "_count": count = max(1, Int(value) ?? 50)
            case "_offset": offset = max(0, Int(value) ?? 0)
            default: break
            }
        }
        let page = Array(matches.dropFirst(offset).prefix(count))
        var links: [AnyJSON] = [.object(["relation": .string("self"), "url": .string(baseURL + request.uri.description)])]
        if offset + page.count < matches.count {
            var c = URLComponents(string: baseURL + request.uri.description)
            let items = (c?.queryItems ?? []).filter { $0.name != "_offset" } + [URLQueryItem(name: "_offset", value: String(offset + page.count))]
            c?.queryItems = items
            links.append(.object(["relation": .string("next"), "url": .string(c?.string ?? "")]))
        }
        return try Self.json(.object([
            "resourceType": .string("Bundle"), "type": .string("searchset"), "total": .number(Double(matches.count)), "link": .array(links),
            "entry": .array(page.map { r in
                var full = baseURL + "/fhir"
                if case .string(let t)? = r["resourceType"], case .string(let id)? = r["id"] { full += "/\(t)/\(id)" }
                return .object(["fullUrl": .string(full), "resource": .object(r), "search": .object(["mode": .string("match")])])
            }),
        ]), contentType: "application/fhir+json")
    }

    // MARK: transaction

    func transaction(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 256 << 20)
        guard case .object(let bundle)? = try? JSONDecoder().decode(AnyJSON.self, from: Data(Array(buffer: body))),
              case .string("transaction")? = bundle["type"], case .array(let entries)? = bundle["entry"] else {
            return Self.outcome(.badRequest, "not a transaction Bundle")
        }
        // Pass 1: conditional creates resolved to existing or new ids.
        var assigned: [String: String] = [:]     // fullUrl → Type/id
        var plan: [(type: String, id: String, resource: [String: AnyJSON], condition: String?, exists: Bool)] = []
        var updates: [(type: String, id: String, resource: [String: AnyJSON], created: Bool)] = []
        for case .object(let e) in entries {
            guard case .object(let req)? = e["request"], case .string(let method)? = req["method"],
                  case .string(let url)? = req["url"], case .object(let r)? = e["resource"] else {
                return Self.outcome(.badRequest, "every entry needs request.method, request.url and a resource")
            }
            if method == "PUT" {
                // A conditional update (Type?identifier=…): the match is updated, or one is created.
                let type = String(url.split(separator: "?").first ?? "")
                guard url.contains("?") else { return Self.outcome(.badRequest, "the test EHR takes conditional PUTs only") }
                if let found = await store.existing(type, condition: url) { updates.append((type, found, r, false)) } else { updates.append((type, await store.newID(), r, true)) }
                continue
            }
            guard method == "POST" else { return Self.outcome(.badRequest, "the test EHR takes POST and conditional PUT entries") }
            var condition: String?
            if case .string(let c)? = req["ifNoneExist"] { condition = url + "?" + c }
            var id: String, exists = false
            if let condition, let found = await store.existing(url, condition: condition) { id = found; exists = true } else { id = await store.newID() }
            if case .string(let full)? = e["fullUrl"] { assigned[full] = "\(url)/\(id)" }
            plan.append((url, id, r, condition, exists))
        }
        // Pass 2: write, with the Bundle's urn:uuid references rewritten.
        var responses: [AnyJSON] = []
        for p in plan {
            if p.exists {
                responses.append(.object(["response": .object(["status": .string("200 OK"), "location": .string("\(p.type)/\(p.id)")])]))
                continue
            }
            guard case .object(let r) = Self.rewrite(.object(p.resource), assigned) else { continue }
            let (_, stored) = await store.put(p.type, p.id, r, condition: p.condition)
            // Writes by transaction notify subscribers too (a real EHR does): OsteoCT must not take
            // its own results coming back for a change to her record.
            if Self.notifiedTypes.contains(p.type) { await notify(focus: "\(p.type)/\(p.id)", resource: stored) }
            responses.append(.object(["response": .object(["status": .string("201 Created"), "location": .string("\(p.type)/\(p.id)/_history/1")])]))
        }
        for u in updates {
            guard case .object(let r) = Self.rewrite(.object(u.resource), assigned) else { continue }
            _ = await store.put(u.type, u.id, r)
            responses.append(.object(["response": .object(["status": .string(u.created ? "201 Created" : "200 OK"), "location": .string("\(u.type)/\(u.id)")])]))
        }
        return try Self.json(.object(["resourceType": .string("Bundle"), "type": .string("transaction-response"), "entry": .array(responses)]),
                             contentType: "application/fhir+json")
    }

    static let notifiedTypes: Set<String> = ["ImagingStudy", "Observation", "Condition", "MedicationStatement", "MedicationRequest", "FamilyMemberHistory"]

    static func rewrite(_ v: AnyJSON, _ map: [String: String]) -> AnyJSON {
        switch v {
        case .string(let s): return .string(map[s] ?? s)
        case .array(let a): return .array(a.map { rewrite($0, map) })
        case .object(let o): return .object(o.mapValues { rewrite($0, map) })
        default: return v
        }
    }

    // MARK: subscriptions (R4 backport, rest-hook)

    func subscribe(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 1 << 20)
        guard case .object(var s)? = try? JSONDecoder().decode(AnyJSON.self, from: Data(Array(buffer: body))),
              case .object(let channel)? = s["channel"], case .string("rest-hook")? = channel["type"], case .string? = channel["endpoint"] else {
            return Self.outcome(.badRequest, "a Subscription with a rest-hook channel and an endpoint")
        }
        let id = await store.newID()
        s["status"] = .string("requested")
        let (_, stored) = await store.put("Subscription", id, s)
        // Handshake; active when the endpoint answers 2xx.
        let ok = await send(subscription: id, stored, type: "handshake", events: [])
        var active = stored
        active["status"] = .string(ok ? "active" : "error")
        let (_, final) = await store.put("Subscription", id, active)
        if ok { await store.addSubscription(id, final) }
        return try Self.json(.object(final), status: .created, contentType: "application/fhir+json")
    }

    /// An event notification for every active subscription (its topic is taken to cover the type).
    func notify(focus: String, resource: [String: AnyJSON]) async {
        for (id, s) in await store.activeSubscriptions() {
            let n = await store.nextEvent(id)
            _ = await send(subscription: id, s, type: "event-notification", events: [(n, focus, resource)])
        }
    }

    func send(subscription id: String, _ s: [String: AnyJSON], type: String, events: [(Int, String, [String: AnyJSON])]) async -> Bool {
        guard case .object(let channel)? = s["channel"], case .string(let endpoint)? = channel["endpoint"] else { return false }
        var content = "id-only"
        if case .object(let p)? = channel["_payload"], case .array(let exts)? = p["extension"] {
            for case .object(let e) in exts { if case .string(let c)? = e["valueCode"] { content = c } }
        }
        var params: [AnyJSON] = [
            .object(["name": .string("subscription"), "valueReference": .object(["reference": .string(baseURL + "/fhir/Subscription/" + id)])]),
            .object(["name": .string("status"), "valueCode": .string("active")]),
            .object(["name": .string("type"), "valueCode": .string(type)]),
        ]
        if case .string(let topic)? = s["criteria"] { params.append(.object(["name": .string("topic"), "valueCanonical": .string(topic)])) }
        if let last = events.last?.0 { params.append(.object(["name": .string("events-since-subscription-start"), "valueString": .string(String(last))])) }
        var entries: [AnyJSON] = []
        for (n, focus, _) in events {
            params.append(.object(["name": .string("notification-event"), "part": .array([
                .object(["name": .string("event-number"), "valueString": .string(String(n))]),
                .object(["name": .string("focus"), "valueReference": .object(["reference": .string(baseURL + "/fhir/" + focus)])]),
            ])]))
        }
        entries.append(.object([
            "fullUrl": .string("urn:uuid:" + UUID().uuidString.lowercased()),
            "resource": .object(["resourceType": .string("Parameters"), "parameter": .array(params)]),
            "request": .object(["method": .string("GET"), "url": .string(baseURL + "/fhir/Subscription/" + id + "/$status")]),
            "response": .object(["status": .string("200")]),
        ]))
        if content == "full-resource" {
            for (_, focus, r) in events {
                entries.append(.object(["fullUrl": .string(baseURL + "/fhir/" + focus), "resource": .object(r),
                                        "request": .object(["method": .string("PUT"), "url": .string(focus)]), "response": .object(["status": .string("200")])]))
            }
        }
        let bundle: AnyJSON = .object(["resourceType": .string("Bundle"), "type": .string("history"), "timestamp": .string(Self.instant(Date())), "entry": .array(entries)])
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/fhir+json")
        if case .array(let headers)? = channel["header"] {
            for case .string(let h) in headers {
                let kv = h.split(separator: ":", maxSplits: 1)
                if kv.count == 2 { request.headers.add(name: String(kv[0]).trimmingCharacters(in: .whitespaces), value: String(kv[1]).trimmingCharacters(in: .whitespaces)) }
            }
        }
        request.body = .bytes(ByteBuffer(bytes: (try? JSONEncoder().encode(bundle)) ?? Data()))
        do {
            let response = try await http.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 20)
            return (200..<300).contains(Int(response.status.code))
        } catch {
            logger.warning("notification not delivered", metadata: ["error": "\(error)"])
            return false
        }
    }

    // MARK: helpers

    static let capabilityStatement: AnyJSON = .object([
        "resourceType": .string("CapabilityStatement"), "status": .string("active"), "date": .string("2026-11-25"), "kind": .string("instance"),
        "fhirVersion": .string("4.0.1"), "format": .array([.string("application/fhir+json")]),
        "software": .object(["name": .string("OsteoCT test EHR (tests and demos only)")]),
        "rest": .array([.object(["mode": .string("server"), "interaction": .array([.object(["code": .string("transaction")])]),
                                 "resource": .array(["Patient", "Observation", "Condition", "MedicationStatement", "MedicationRequest", "FamilyMemberHistory",
                                                     "ImagingStudy", "Subscription", "DiagnosticReport", "RiskAssessment", "ServiceRequest", "Flag"].map {
                                     .object(["type": .string($0), "interaction": .array([.object(["code": .string("read")]), .object(["code": .string("search-type")])])])
                                 })])]),
    ])

    static func json(_ v: AnyJSON, status: HTTPResponse.Status = .ok, contentType: String = "application/json") throws -> Response {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        return Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(bytes: try e.encode(v))))
    }

    static func outcome(_ status: HTTPResponse.Status, _ message: String) -> Response {
        let body = #"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing","diagnostics":"# + (String(data: (try? JSONEncoder().encode(message)) ?? Data(), encoding: .utf8) ?? "\"\"") + "}]}"
        return Response(status: status, headers: [.contentType: "application/fhir+json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func instant(_ d: Date) -> String { ScreeningImport.instant(d) }
}
