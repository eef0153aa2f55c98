// CDS Hooks calls and feedback (fhir-cds.md §1.3–1.6), answered from the store.
// The Patient is the data a call needs: from the `patient` prefetch when the client sent it, else
// read from the client's FHIR server with the token it gave; neither possible → 412. With her
// Patient in hand the card comes from her latest stored screening, plus an info card while a CT of
// hers is still being analysed.
import AsyncHTTPClient
import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import NIOHTTP1
import Screening

/// The body of `POST /cds-services/{id}`.
struct HookCall: Decodable {
    struct FHIRAuthorization: Decodable {
        var access_token: String
        var token_type: String
        var expires_in: Int?
        var scope: String?
        var subject: String?
        var patient: String?
    }
    var hook: String
    var hookInstance: String
    var fhirServer: String?
    var fhirAuthorization: FHIRAuthorization?
    var context: [String: AnyJSON]
    var prefetch: [String: AnyJSON]?
}

extension OsteoCTService {
    func hook(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let hooks = CardBuilder.discovery().services.filter { $0.id == id }.map(\.hook)
        guard !hooks.isEmpty else { throw OutcomeError(.notFound, code: "not-found", "no CDS service '\(id)' (GET /cds-services lists them)") }
        let agent = try await authorize(request, audience: configuration.baseURL + "/cds-services/" + id, endpoint: "cds-services")
        let call: HookCall
        do { call = try JSONDecoder().decode(HookCall.self, from: Data(Array(buffer: try await body(request)))) } catch let e as OutcomeError { throw e } catch {
            throw OutcomeError(.badRequest, code: "structure", "the body is not a CDS Hooks request (hook, hookInstance, context): \(Self.decodingReason(error))")
        }
        guard hooks.contains(call.hook) else {
            throw OutcomeError(.badRequest, code: "not-supported", "service '\(id)' answers \(hooks.joined(separator: ", ")), not '\(call.hook)'")
        }
        guard !call.hookInstance.isEmpty else { throw OutcomeError(.badRequest, code: "required", "hookInstance is empty") }
        guard case .string(let patientID)? = call.context["patientId"], Self.isFHIRId(patientID) else {
            throw OutcomeError(.badRequest, code: "required", "context.patientId is missing or not a FHIR id")
        }
        if call.fhirAuthorization != nil && call.fhirServer == nil {
            throw OutcomeError(.badRequest, code: "invariant", "fhirAuthorization is given without fhirServer (CDS Hooks requires both)")
        }
        // Order hooks: only when an osteoporosis medication or a bone-density scan is ordered.
        if call.hook != "patient-view" && !OrderRelevance.concernsBoneHealth(context: call.context, selectionsOnly: call.hook == "order-select") {
            return try Self.json(CDSHooks.Response(cards: []))
        }
        guard let patient = try await patientResource(call, patientID: patientID) else {
            return try Self.json(CDSHooks.Response(cards: []))   // no such patient in the EHR
        }
        if Self.isDeceasedOrInactive(patient) { return try Self.json(CDSHooks.Response(cards: [])) }

        let screening = try await store.latestScreening(patientID: patientID)
        let pending = try await store.hasPendingJob(patientID: patientID)
        var cards: [CDSHooks.Card] = []
        if pending {
            cards.append(CardBuilder.pendingCard(hookInstance: call.hookInstance, studyDate: nil, softwareVersion: screening?.cardInput.softwareVersion ?? OsteoCTService.version))
        }
        if let s = screening {
            cards += CardBuilder.cards(for: s.cardInput, hookInstance: call.hookInstance, patientID: patientID,
                                       reportURL: configuration.baseURL + links.path(id: s.id), flsDisplay: configuration.site.flsDisplay)
        }
        metrics.cards(service: id, count: cards.count)
        if !cards.isEmpty {
            await audit("cds-hooks \(call.hook)", agent: agent, request: request, patientID: patientID, entity: screening.map { "screening/\($0.id)" },
                        detail: "\(cards.count) card(s)")
        }
        return try Self.json(CDSHooks.Response(cards: cards))
    }

    /// Her Patient resource: the prefetch, else a read from the client's FHIR server; nil when the
    /// EHR says she does not exist. 412 when it can be neither prefetched nor fetched.
    func patientResource(_ call: HookCall, patientID: String) async throws -> [String: AnyJSON]? {
        switch call.prefetch?["patient"] {
        case .null?:
            return nil
        case .object(let p)?:
            if case .string("Patient")? = p["resourceType"] {
                if case .string(let pid)? = p["id"], pid != patientID {
                    throw OutcomeError(.badRequest, code: "invalid", "prefetch 'patient' is Patient/\(pid) but context.patientId is \(patientID)")
                }
                return p
            }
            // An OperationOutcome (the client's fetch failed): fetch it ourselves below.
        default:
            break
        }
        guard let server = call.fhirServer else {
            throw OutcomeError(.preconditionFailed, code: "required",
                               "the Patient was not prefetched (key 'patient': Patient/{{context.patientId}}) and no fhirServer was given to read it from")
        }
        guard let base = URL(string: server), base.scheme == "https" || (base.scheme == "http" && Self.isLoopback(base.host)) else {
            throw OutcomeError(.preconditionFailed, code: "security", "fhirServer '\(server)' is not an https URL; OsteoCT does not send tokens in the clear")
        }
        // Only the EHR OsteoCT is configured for, when it is: a client cannot point it anywhere else.
        if let ehrBase = configuration.ehr?.baseURL, !server.hasPrefix(ehrBase) {
            throw OutcomeError(.preconditionFailed, code: "security", "fhirServer is not the EHR this service is configured for (ehr.baseUrl)")
        }
        var r = HTTPClientRequest(url: (server.hasSuffix("/") ? String(server.dropLast()) : server) + "/Patient/" + patientID)
        r.headers.add(name: "Accept", value: "application/fhir+json")
        // fhirAuthorization is optional (an open FHIR server needs none).
        if let token = call.fhirAuthorization?.access_token { r.headers.add(name: "Authorization", value: "Bearer " + token) }
        do {
            let response = try await http.execute(r, timeout: .seconds(5))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            switch response.status.code {
            case 200:
                guard case .object(let p)? = try? JSONDecoder().decode(AnyJSON.self, from: Data(Array(buffer: bytes))), case .string("Patient")? = p["resourceType"] else {
                    throw OutcomeError(.preconditionFailed, code: "processing", "the FHIR server's Patient/\(patientID) is not a Patient resource")
                }
                return p
            case 404, 410:
                return nil
            default:
                throw OutcomeError(.preconditionFailed, code: "transient", "reading Patient/\(patientID) from the FHIR server answered \(response.status.code)")
            }
        } catch let e as OutcomeError {
            throw e
        } catch {
            throw OutcomeError(.preconditionFailed, code: "transient", "the FHIR server could not be read for the Patient: \(error)")
        }
    }

    func feedback(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard CardBuilder.discovery().services.contains(where: { $0.id == id }) else {
            throw OutcomeError(.notFound, code: "not-found", "no CDS service '\(id)'")
        }
        let agent = try await authorize(request, audience: configuration.baseURL + "/cds-services/" + id + "/feedback", endpoint: "feedback")
        struct Body: Decodable { var feedback: [CDSHooks.Feedback] }
        let items: [CDSHooks.Feedback]
        do { items = try JSONDecoder().decode(Body.self, from: Data(Array(buffer: try await body(request)))).feedback } catch let e as OutcomeError { throw e } catch {
            throw OutcomeError(.badRequest, code: "structure", "the body is not {\"feedback\": [...]}: \(Self.decodingReason(error))")
        }
        guard !items.isEmpty else { throw OutcomeError(.badRequest, code: "required", "feedback is empty") }
        for (k, f) in items.enumerated() {
            guard !f.card.isEmpty else { throw OutcomeError(.badRequest, code: "required", "feedback[\(k)].card is empty") }
            guard f.outcome == "accepted" || f.outcome == "overridden" else {
                throw OutcomeError(.badRequest, code: "value", "feedback[\(k)].outcome '\(f.outcome)' is not accepted or overridden")
            }
            if f.outcome == "accepted" && (f.acceptedSuggestions ?? []).isEmpty {
                throw OutcomeError(.badRequest, code: "required", "feedback[\(k)] is accepted but names no acceptedSuggestions")
            }
            if let o = f.overrideReason, o.reason == nil && (o.userComment ?? "").isEmpty {
                throw OutcomeError(.badRequest, code: "required", "feedback[\(k)].overrideReason has neither a reason nor a userComment")
            }
            if let r = f.overrideReason?.reason, r.code.isEmpty || r.system.isEmpty {
                throw OutcomeError(.badRequest, code: "required", "feedback[\(k)].overrideReason.reason needs a system and a code")
            }
            guard Self.isInstant(f.outcomeTimestamp) else {
                throw OutcomeError(.badRequest, code: "value", "feedback[\(k)].outcomeTimestamp '\(f.outcomeTimestamp)' is not an RFC 3339 time")
            }
        }
        try await store.saveFeedback(serviceID: id, items, client: agent)
        return Response(status: .ok)
    }

    func report(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let q = request.uri.queryParameters
        let signed = links.verify(id: id, exp: q.get("exp"), sig: q.get("sig"))
        guard signed || configuration.development else {
            metrics.refused(endpoint: "reports")
            throw OutcomeError(.forbidden, code: "security", "this report link is not valid or has expired; open the report again from the CDS card")
        }
        guard let s = try await store.screening(id: id), let html = s.reportHTML else {
            throw OutcomeError(.notFound, code: "not-found", "no explanation page for screening \(id)")
        }
        await audit("report", agent: signed ? "signed-link" : "development", request: request, patientID: s.patientID, entity: "screening/\(id)")
        return Response(status: .ok, headers: [
            .contentType: "text/html; charset=utf-8",
            .cacheControl: "no-store",
            // The page is self-contained: inline CSS and data: images, nothing else.
            .contentSecurityPolicy: "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors *",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            HTTPField.Name("Referrer-Policy")!: "no-referrer",
        ], body: .init(byteBuffer: ByteBuffer(bytes: html)))
    }

    // MARK: helpers

    /// OsteoCT's version (the CLI's `--version` too).
    public static let version = "0.1.0"

    static func isFHIRId(_ s: String) -> Bool {
        // R4 id: [A-Za-z0-9\-\.]{1,64}
        !s.isEmpty && s.utf8.count <= 64 && s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 46 }
    }

    static func isInstant(_ s: String) -> Bool {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        if f.date(from: s) != nil { return true }
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: s) != nil
    }

    static func isLoopback(_ host: String?) -> Bool { ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host ?? "") }

    static func isDeceasedOrInactive(_ p: [String: AnyJSON]) -> Bool {
        if case .bool(true)? = p["deceasedBoolean"] { return true }
        if case .string? = p["deceasedDateTime"] { return true }
        if case .bool(false)? = p["active"] { return true }
        return false
    }

    static func decodingReason(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let c): return "missing '\((c.codingPath + [key]).map(\.stringValue).joined(separator: "."))'"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            return "wrong type at '\(c.codingPath.map(\.stringValue).joined(separator: "."))'"
        case DecodingError.dataCorrupted(let c): return c.codingPath.isEmpty ? "not JSON" : "bad value at '\(c.codingPath.map(\.stringValue).joined(separator: "."))'"
        default: return "\(error)"
        }
    }
}

/// Whether an order-select / order-sign call is about bone health: a drug of ATC groups M05B (drugs
/// affecting bone structure and mineralisation), H05AA (parathyroid hormones and analogues) or
/// G03XC (selective oestrogen receptor modulators), or one named as such, or a bone-density scan.
enum OrderRelevance {
    static let atcPrefixes = ["M05B", "H05AA", "G03XC"]
    static let names = ["alendron", "risedron", "ibandron", "zoledron", "pamidron", "etidron", "denosumab", "teriparatide",
                        "abaloparatide", "romosozumab", "raloxifene", "bazedoxifene", "prolia", "fosamax", "actonel", "reclast", "aclasta",
                        "forteo", "evenity", "bone density", "bone densitometry", "dxa", "dexa", "absorptiometry"]

    static func concernsBoneHealth(context: [String: AnyJSON], selectionsOnly: Bool) -> Bool {
        guard case .object(let bundle)? = context["draftOrders"], case .array(let entries)? = bundle["entry"] else { return false }
        var selected: Set<String>?
        if selectionsOnly, case .array(let s)? = context["selections"] {
            selected = Set(s.compactMap { if case .string(let v) = $0 { return v } else { return nil } })
        }
        for case .object(let e) in entries {
            guard case .object(let r)? = e["resource"] else { continue }
            if let selected {
                guard case .string(let type)? = r["resourceType"], case .string(let id)? = r["id"], selected.contains("\(type)/\(id)") else { continue }
            }
            if mentions(.object(r)) { return true }
        }
        return false
    }

    /// Any coding (ATC code) or display/text in the resource that names a bone-health order.
    static func mentions(_ v: AnyJSON) -> Bool {
        switch v {
        case .object(let o):
            if case .string(let system)? = o["system"], system.hasSuffix("whocc.no/atc"), case .string(let code)? = o["code"],
               atcPrefixes.contains(where: { code.hasPrefix($0) }) { return true }
            for key in ["display", "text"] {
                if case .string(let t)? = o[key] {
                    let l = t.lowercased()
                    if names.contains(where: { l.contains($0) }) { return true }
                }
            }
            return o.values.contains(where: mentions)
        case .array(let a): return a.contains(where: mentions)
        default: return false
        }
    }
}
