// `/fhir`: the CapabilityStatement, and read and search of the resources OsteoCT produced
// (fhir-cds.md §2.9–2.10). JSON by default; XML when `_format` or the Accept header asks for it.
// Unknown search parameters are ignored and left out of the self link, as FHIR allows by default.
import FHIR
import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import Screening

extension OsteoCTService {
    /// Resource types `/fhir` serves (what a screening Bundle holds).
    static let fhirTypes: Set<String> = ["DiagnosticReport", "Observation", "RiskAssessment", "ServiceRequest", "Flag", "Media",
                                         "ImagingStudy", "Provenance", "Device"]

    func metadata(_ request: Request) throws -> Response {
        try fhirResponse(OsteoCTConformance.capabilityStatement, request)
    }

    func read(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let type = try context.parameters.require("type"), id = try context.parameters.require("id")
        try checkType(type)
        let agent = try await authorize(request, audience: configuration.baseURL + "/fhir", endpoint: "fhir")
        guard let r = try await store.resource(type: type, id: id) else {
            throw OutcomeError(.notFound, code: "not-found", "\(type)/\(id) is not a resource OsteoCT produced")
        }
        await audit("fhir read", agent: agent, request: request, patientID: r.patientID, entity: "\(type)/\(id)")
        return try fhirResponse(r.json, request)
    }

    func search(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let type = try context.parameters.require("type")
        if type == "AuditEvent" { return try await auditEvents(request) }
        try checkType(type)
        let agent = try await authorize(request, audience: configuration.baseURL + "/fhir", endpoint: "fhir")
        var q = ResourceQuery(type: type)
        var kept: [(String, String)] = []
        for (rawName, rawValue) in request.uri.queryParameters {
            let name = String(rawName), value = String(rawValue)
            switch name {
            case "_id": q.id = value
            case "patient", "subject":
                let ref = value.hasPrefix("Patient/") ? String(value.dropFirst(8)) : value
                guard Self.isFHIRId(ref) else { throw OutcomeError(.badRequest, code: "value", "\(name)=\(value) is not a Patient reference") }
                q.patientID = ref
            case "identifier": q.identifier = value
            case "_lastUpdated":
                let op = String(value.prefix(2))
                let (comparator, instant) = ["eq", "ge", "gt", "le", "lt"].contains(op) ? (op, String(value.dropFirst(2))) : ("eq", value)
                guard let bound = Self.searchInstant(instant, upper: comparator == "le" || comparator == "gt") else {
                    throw OutcomeError(.badRequest, code: "value", "_lastUpdated=\(value) is not a FHIR date or instant")
                }
                if comparator == "eq" {
                    // eq on a date means the whole day (or second) it names.
                    q.lastUpdated += [("ge", Self.searchInstant(instant, upper: false) ?? bound), ("le", Self.searchInstant(instant, upper: true) ?? bound)]
                } else {
                    q.lastUpdated.append((comparator, bound))
                }
            case "_count":
                guard let n = Int(value), n >= 0 else { throw OutcomeError(.badRequest, code: "value", "_count=\(value) is not a count") }
                q.count = min(n, 200)
            case "_offset":
                guard let n = Int(value), n >= 0 else { throw OutcomeError(.badRequest, code: "value", "_offset=\(value) is not an offset") }
                q.offset = n
            case "_format": break
            default: continue
            }
            if name != "_offset" { kept.append((name, value)) }
        }
        let (found, total) = try await store.search(q)
        let base = configuration.baseURL + "/fhir"
        func link(_ offset: Int) -> String {
            var c = URLComponents(string: base + "/" + type)
            c?.queryItems = kept.map { URLQueryItem(name: $0.0, value: $0.1) } + (offset > 0 ? [URLQueryItem(name: "_offset", value: String(offset))] : [])
            return c?.string ?? base + "/" + type
        }
        var links: [String] = [#"{"relation":"self","url":"# + Self.jsonString(link(q.offset)) + "}"]
        if q.count > 0 && q.offset + found.count < total { links.append(#"{"relation":"next","url":"# + Self.jsonString(link(q.offset + found.count)) + "}") }
        var bytes = Array(#"{"resourceType":"Bundle","type":"searchset","total":"#.utf8) + Array(String(total).utf8)
        bytes += Array(#","link":["#.utf8) + Array(links.joined(separator: ",").utf8) + Array("]".utf8)
        if !found.isEmpty {
            bytes += Array(#","entry":["#.utf8)
            for (k, r) in found.enumerated() {
                if k > 0 { bytes.append(UInt8(ascii: ",")) }
                bytes += Array((#"{"fullUrl":"# + Self.jsonString("\(base)/\(r.type)/\(r.id)") + #","resource":"#).utf8)
                bytes += r.json
                bytes += Array(#","search":{"mode":"match"}}"#.utf8)
            }
            bytes += Array("]".utf8)
        }
        bytes += Array("}".utf8)
        // One audit record per patient whose data the page discloses.
        for (patient, n) in Dictionary(grouping: found, by: { $0.patientID ?? "" }).mapValues(\.count).sorted(by: { $0.key < $1.key }) {
            await audit("fhir search", agent: agent, request: request, patientID: patient.isEmpty ? nil : patient, entity: type, detail: "\(n) resource(s)")
        }
        return try fhirResponse(bytes, request)
    }

    /// The audit trail as FHIR AuditEvents (fhir-cds.md §2.7): `patient` (required: whose
    /// disclosures) and `_count`; newest first. Reading it is itself audited.
    func auditEvents(_ request: Request) async throws -> Response {
        let agent = try await authorize(request, audience: configuration.baseURL + "/fhir", endpoint: "fhir")
        let q = request.uri.queryParameters
        guard let p = q.get("patient").map({ $0.hasPrefix("Patient/") ? String($0.dropFirst(8)) : $0 }), Self.isFHIRId(p) else {
            throw OutcomeError(.badRequest, code: "required", "AuditEvent search needs patient=Patient/{id}")
        }
        let count = min(200, max(1, q.get("_count").flatMap { Int($0) } ?? 50))
        let rows = try await store.auditRecords(patientID: p, limit: count)
        await audit("fhir search", agent: agent, request: request, patientID: p, entity: "AuditEvent", detail: "\(rows.count) audit record(s)")
        let base = configuration.baseURL + "/fhir"
        let entries: [AnyJSON] = rows.map { row in
            let a = row.record
            var e: [String: AnyJSON] = [
                "resourceType": .string("AuditEvent"), "id": .string("audit-\(row.id)"),
                "type": .object(["system": .string("http://terminology.hl7.org/CodeSystem/audit-event-type"), "code": .string("rest"),
                                 "display": .string("RESTful Operation")]),
                "subtype": .array([.object(["display": .string(a.subtype)])]),
                "action": .string(a.action), "recorded": .string(a.recorded), "outcome": .string(a.outcome),
                "agent": .array([.object(["who": .object(["display": .string(a.agent)]), "requestor": .bool(true)])]),
                "source": .object(["observer": .object(["display": .string("OsteoCT \(Self.version)")])]),
            ]
            var entity: [AnyJSON] = []
            if let pid = a.patientID {
                entity.append(.object(["what": .object(["reference": .string("Patient/\(pid)")]),
                                       "type": .object(["system": .string("http://terminology.hl7.org/CodeSystem/audit-entity-type"), "code": .string("1"),
                                                        "display": .string("Person")])]))
            }
            if let what = a.entity { entity.append(.object(["what": .object(["display": .string(what)]), "description": .string(a.detail ?? what)])) }
            if !entity.isEmpty { e["entity"] = .array(entity) }
            return .object(["fullUrl": .string("\(base)/AuditEvent/audit-\(row.id)"), "resource": .object(e), "search": .object(["mode": .string("match")])])
        }
        var bundle: [String: AnyJSON] = ["resourceType": .string("Bundle"), "type": .string("searchset"),
                                         "link": .array([.object(["relation": .string("self"), "url": .string("\(base)/AuditEvent?patient=Patient/\(p)&_count=\(count)")])])]
        if !entries.isEmpty { bundle["entry"] = .array(entries) }
        return try fhirResponse(Array(try Self.encoder.encode(AnyJSON.object(bundle))), request)
    }

    func checkType(_ type: String) throws {
        guard Self.fhirTypes.contains(type) else {
            throw OutcomeError(.notFound, code: "not-supported", "OsteoCT serves \(Self.fhirTypes.sorted().joined(separator: ", ")); not \(type)")
        }
    }

    /// JSON as stored, or XML (through the FHIR model) when asked for.
    func fhirResponse(_ json: [UInt8], _ request: Request) throws -> Response {
        let format = request.uri.queryParameters.get("_format")?.lowercased()
        let accept = request.headers[.accept]?.lowercased() ?? ""
        let wantsXML = format.map { $0 == "xml" || $0.contains("fhir+xml") || $0 == "application/xml" || $0 == "text/xml" }
            ?? (accept.contains("xml") && !accept.contains("json"))
        if let format, !wantsXML, !(format == "json" || format.contains("json")) {
            throw OutcomeError(.notAcceptable, code: "not-supported", "_format=\(format) is not json or xml")
        }
        if wantsXML {
            let decoded: FHIRDecoded<AnyResource>
            do { decoded = try FHIRCodec.decode(json, format: .json) } catch {
                throw OutcomeError(.internalServerError, code: "exception", "a stored resource does not decode: \(error)")
            }
            return Response(status: .ok, headers: [.contentType: "application/fhir+xml; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: FHIRCodec.encode(decoded.resource, format: .xml))))
        }
        return Response(status: .ok, headers: [.contentType: "application/fhir+json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
    }

    /// A FHIR date, dateTime or instant as the instant text the store compares: the start of the
    /// period it names, or its end for an upper bound. Nil when it is none of them.
    static func searchInstant(_ s: String, upper: Bool) -> String? {
        let parts = s.count
        switch parts {
        case 4 where Int(s) != nil: return upper ? "\(s)-12-31T23:59:59.999Z" : "\(s)-01-01T00:00:00.000Z"
        case 7: return FHIRDate(lexical: s) == nil ? nil : (upper ? s + "-31T23:59:59.999Z" : s + "-01T00:00:00.000Z")
        case 10: return FHIRDate(lexical: s) == nil ? nil : (upper ? s + "T23:59:59.999Z" : s + "T00:00:00.000Z")
        default:
            guard FHIRInstant(lexical: s) != nil || FHIRDateTime(lexical: s) != nil else { return nil }
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            var d = f.date(from: s)
            if d == nil { f.formatOptions = [.withInternetDateTime]; d = f.date(from: s) }
            guard let date = d else { return nil }
            return ScreeningImport.instant(upper && !s.contains(".") ? date.addingTimeInterval(0.999) : date)
        }
    }

    static func jsonString(_ s: String) -> String {
        String(decoding: (try? JSONEncoder().encode(s)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}
