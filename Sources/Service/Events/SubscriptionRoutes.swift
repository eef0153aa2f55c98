// FHIR Subscription notifications (R4 Subscriptions Backport IG, fhir-cds.md §3.2) at
// `POST /subscriptions/notify`: a `history` Bundle whose first entry is the status Parameters —
// `handshake` and `heartbeat` are acknowledged, `event-notification` carries `notification-event`s
// (event number, focus). With `full-resource` content the focus is in the Bundle; with `id-only`
// it is read from the EHR. An ImagingStudy focus goes to the intake; an Observation, Condition,
// medication or family-history focus re-scores its patient when she has been screened (the CT part
// kept). Each event is handled once (subscription + event number), in whatever order they come.
// The channel is authenticated by the header the Subscription asked the EHR to send
// (`Authorization: Bearer <security.subscriptionSecret>`).
import Crypto
import Foundation
import Hummingbird
import HTTPTypes
import Logging
import NIOCore

extension OsteoCTService {
    func notification(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try authorizeChannel(request, secret: configuration.subscriptionSecret, key: "security.subscriptionSecret", endpoint: "subscriptions")
        let bytes = try await body(request)   // 413 above server.maxBodyBytes
        guard case .object(let bundle)? = try? JSONDecoder().decode(AnyJSON.self, from: Data(Array(buffer: bytes))),
              case .string("Bundle")? = bundle["resourceType"], case .string("history")? = bundle["type"], case .array(let entries)? = bundle["entry"],
              case .object(let first)? = entries.first, case .object(let status)? = first["resource"],
              case .string("Parameters")? = status["resourceType"], case .array(let parameters)? = status["parameter"] else {
            throw OutcomeError(.badRequest, code: "structure", "not a subscription notification: a history Bundle whose first entry is the status Parameters (Subscriptions Backport, R4)")
        }
        func value(_ name: String, in params: [AnyJSON]) -> AnyJSON? {
            for case .object(let p) in params {
                if case .string(name)? = p["name"] {
                    for key in ["valueCode", "valueString", "valueReference", "valueCanonical", "valueUnsignedInt", "valueInstant"] { if let v = p[key] { return v } }
                }
            }
            return nil
        }
        guard case .string(let type)? = value("type", in: parameters) else {
            throw OutcomeError(.badRequest, code: "required", "the status Parameters has no 'type' (handshake, heartbeat, event-notification)")
        }
        var subscription = "unknown"
        if case .object(let ref)? = value("subscription", in: parameters), case .string(let r)? = ref["reference"] { subscription = r }
        // The EHR's count of events so far: more than OsteoCT has seen means some were lost.
        var eventsSince: Int?
        switch value("events-since-subscription-start", in: parameters) {
        case .string(let n)?: eventsSince = Int(n)
        case .number(let n)?: eventsSince = Int(n)
        default: break
        }
        guard type == "event-notification" else {
            metrics.event(source: "subscription-\(type)", new: true)
            let missed = try await checkGap(subscription: subscription, eventsSince: eventsSince, numbers: [])
            return missed > 0 ? try Self.json(["missedEvents": missed]) : Response(status: .ok)
        }
        // Resources sent with the notification (full-resource), by reference and by full URL.
        var included: [String: [String: AnyJSON]] = [:]
        for case .object(let e) in entries.dropFirst() {
            guard case .object(let r)? = e["resource"], case .string(let t)? = r["resourceType"] else { continue }
            if case .string(let id)? = r["id"] { included["\(t)/\(id)"] = r }
            if case .string(let full)? = e["fullUrl"] { included[full] = r }
        }
        var outcomes: [String] = []
        var numbers: [Int] = []
        for case .object(let p) in parameters {
            guard case .string("notification-event")? = p["name"], case .array(let parts)? = p["part"] else { continue }
            guard case .string(let number)? = value("event-number", in: parts) else {
                throw OutcomeError(.badRequest, code: "required", "a notification-event has no event-number")
            }
            guard case .object(let focusRef)? = value("focus", in: parts), case .string(let focus)? = focusRef["reference"] else {
                outcomes.append("no-focus"); continue
            }
            if let n = Int(number) { numbers.append(n) }
            outcomes.append(try await notificationEvent(subscription: subscription, number: number, focus: focus, included: included).rawValue)
        }
        let missed = try await checkGap(subscription: subscription, eventsSince: eventsSince, numbers: numbers)
        struct Answer: Encodable { var outcomes: [String]; var missedEvents: Int? }
        return try Self.json(Answer(outcomes: outcomes, missedEvents: missed > 0 ? missed : nil))
    }

    /// Compares the EHR's `events-since-subscription-start` with the highest event number OsteoCT
    /// has handled for the subscription (Backport IG, errors.md): events it never received are
    /// logged and counted, and, when the polling fallback is configured, a poll runs at once to
    /// find what they announced. Returns how many were missed.
    func checkGap(subscription: String, eventsSince: Int?, numbers: [Int]) async throws -> Int {
        let cursor = "subscription-events:" + subscription
        // Raised atomically: concurrent notifications never move it back.
        let before = try await store.raiseCursor(cursor, to: numbers.max() ?? 0)
        let high = max(before, numbers.max() ?? 0)
        let missed = max(0, (eventsSince ?? high) - high)
        if missed > 0 { _ = try await store.raiseCursor(cursor, to: eventsSince ?? high) }
        if missed > 0 {
            metrics.missedEvents(missed)
            logger.warning("subscription events were missed", metadata: ["subscription": "\(subscription)", "missed": "\(missed)"])
            if ehr != nil && configuration.ehrPollSeconds > 0 {
                let poller = EHRPoller(service: self)
                Task { await poller.pollOnce() }   // one extra poll (the regular poller runs anyway)
            }
        }
        return missed
    }

    func notificationEvent(subscription: String, number: String, focus: String, included: [String: [String: AnyJSON]]) async throws -> IntakeOutcome {
        // "ImagingStudy/123", an absolute URL ending in it, or either with /_history/{version}.
        var parts = focus.split(separator: "/")
        if parts.count >= 4 && parts[parts.count - 2] == "_history" { parts.removeLast(2) }
        guard parts.count >= 2 else { throw OutcomeError(.badRequest, code: "value", "focus '\(focus)' is not a resource reference") }
        let type = String(parts[parts.count - 2]), id = String(parts[parts.count - 1])
        guard Self.isFHIRId(id) else { throw OutcomeError(.badRequest, code: "value", "focus '\(focus)' does not end in a FHIR id") }
        if Self.recordTypes.contains(type) {
            return try await recordEvent(subscription: subscription, number: number, type: type, id: id, focus: focus, included: included)
        }
        guard type == "ImagingStudy" else {
            metrics.event(source: "subscription-\(type)", new: true)
            return .duplicate
        }
        var study = included[focus] ?? included["\(type)/\(id)"]
        if study == nil {
            guard let ehr else { throw OutcomeError(.unprocessableContent, code: "not-supported", "id-only notification but no EHR is configured to read \(type)/\(id) from") }
            do {
                if let bytes = try await ehr.read("\(type)/\(id)"), case .object(let o)? = try? JSONDecoder().decode(AnyJSON.self, from: Data(bytes)) { study = o }
            } catch {
                // 503: the EHR sends the notification again (nothing was recorded).
                throw OutcomeError(.serviceUnavailable, code: "transient", "reading the ImagingStudy from the EHR failed: \(error.message)")
            }
        }
        guard let study else { return .noPatient }
        guard let uid = Self.studyInstanceUID(study) else { throw OutcomeError(.unprocessableContent, code: "required", "ImagingStudy/\(id) has no urn:dicom:uid identifier (the Study Instance UID)") }
        if case .string(let s)? = study["status"], s != "available" { return .duplicate }
        var patient: String?
        if case .object(let subject)? = study["subject"], case .string(let ref)? = subject["reference"], ref.hasPrefix("Patient/") {
            patient = String(ref.dropFirst(8))
            guard Self.isFHIRId(patient ?? "") else { throw OutcomeError(.unprocessableContent, code: "value", "ImagingStudy/\(id)'s subject is not a Patient id") }
        }
        var version = 1
        if case .number(let n)? = study["numberOfInstances"], n >= 1 { version = Int(n) }
        do {
            return try await studyAnnounced(source: "subscription", eventKey: "subscription:\(subscription):\(number)", studyUID: uid, version: version,
                                            patientID: patient, mrn: nil)
        } catch {
            throw OutcomeError(.serviceUnavailable, code: "transient", "\(error)")
        }
    }

    /// Record resources whose change re-scores a screened woman (the risk model's inputs).
    static let recordTypes: Set<String> = ["Observation", "Condition", "MedicationStatement", "MedicationRequest", "FamilyMemberHistory"]

    /// A record change: the resource's patient (from the notification, else read from the EHR) is
    /// re-scored when she has been screened.
    func recordEvent(subscription: String, number: String, type: String, id: String, focus: String,
                     included: [String: [String: AnyJSON]]) async throws -> IntakeOutcome {
        var resource = included[focus] ?? included["\(type)/\(id)"]
        if resource == nil, let ehr {
            do {
                if let bytes = try await ehr.read("\(type)/\(id)"), case .object(let o)? = try? JSONDecoder().decode(AnyJSON.self, from: Data(bytes)) { resource = o }
            } catch {
                throw OutcomeError(.serviceUnavailable, code: "transient", "reading the \(type) from the EHR failed: \(error.message)")
            }
        }
        guard let resource else {
            // Deleted since (the EHR answered 404), or no EHR to read it from.
            if ehr != nil { return .noPatient }
            throw OutcomeError(.unprocessableContent, code: "not-supported", "id-only notification but no EHR is configured to read \(type)/\(id) from")
        }
        do {
            return try await recordChanged(source: "subscription-\(type)", eventKey: "subscription:\(subscription):\(number)", resource: resource)
        } catch {
            throw OutcomeError(.serviceUnavailable, code: "transient", "\(error)")
        }
    }

    /// The Study Instance UID of an ImagingStudy (identifier system urn:dicom:uid, value urn:oid:…).
    static func studyInstanceUID(_ study: [String: AnyJSON]) -> String? {
        guard case .array(let ids)? = study["identifier"] else { return nil }
        for case .object(let i) in ids {
            if case .string("urn:dicom:uid")? = i["system"], case .string(let v)? = i["value"] { return v.hasPrefix("urn:oid:") ? String(v.dropFirst(8)) : v }
        }
        return nil
    }

    /// A channel's shared secret (`Authorization: Bearer …`), compared in constant time.
    func authorizeChannel(_ request: Request, secret: String?, key: String, endpoint: String) throws {
        if configuration.development { return }
        guard let secret else {
            metrics.refused(endpoint: endpoint)
            throw OutcomeError(.forbidden, code: "security", "no \(key) is configured, so nothing is accepted here")
        }
        let given = request.headers[.authorization] ?? ""
        let expected = "Bearer " + secret
        guard Data(SHA256.hash(data: Data(given.utf8))) == Data(SHA256.hash(data: Data(expected.utf8))) else {
            metrics.refused(endpoint: endpoint)
            throw OutcomeError(.unauthorized, code: "login", "the call does not carry the channel's secret (Authorization: Bearer …, \(key))",
                               headers: [.wwwAuthenticate: "Bearer"])
        }
    }
}

extension OsteoCTService {
    /// Creates OsteoCT's Subscription on the EHR; returns its id and status as the EHR set them.
    public func subscribe(topic: String, content: String) async throws(ServiceError) -> (id: String, status: String) {
        guard let ehr else { throw .configuration("no ehr.baseUrl: which EHR should notify OsteoCT?") }
        let body = SubscriptionRequest.json(topic: topic, endpoint: configuration.baseURL + "/subscriptions/notify",
                                            secret: configuration.subscriptionSecret, content: content)
        let created: [UInt8]
        do { created = try await ehr.create("Subscription", body) } catch { throw .job("creating the Subscription: \(error.message)") }
        guard case .object(let o)? = try? JSONDecoder().decode(AnyJSON.self, from: Data(created)) else { throw .job("the EHR's answer is not JSON") }
        var id = "?", status = "?"
        if case .string(let s)? = o["id"] { id = s }
        if case .string(let s)? = o["status"] { status = s }
        return (id, status)
    }
}

/// The Subscription OsteoCT asks the EHR for (Subscriptions Backport, rest-hook): the topic's
/// canonical URL as `criteria`, notifications POSTed to OsteoCT's `/subscriptions/notify` with the
/// shared secret as the Authorization header, `id-only` or `full-resource` content.
public enum SubscriptionRequest {
    public static func json(topic: String, endpoint: String, secret: String?, content: String, heartbeatSeconds: Int = 300) -> [UInt8] {
        let ext = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
        var channel: [String: AnyJSON] = [
            "type": .string("rest-hook"), "endpoint": .string(endpoint), "payload": .string("application/fhir+json"),
            "_payload": .object(["extension": .array([.object(["url": .string(ext + "backport-payload-content"), "valueCode": .string(content)])])]),
            "extension": .array([.object(["url": .string(ext + "backport-heartbeat-period"), "valueUnsignedInt": .number(Double(heartbeatSeconds))])]),
        ]
        if let secret { channel["header"] = .array([.string("Authorization: Bearer " + secret)]) }
        let s: AnyJSON = .object([
            "resourceType": .string("Subscription"),
            "meta": .object(["profile": .array([.string(ext + "backport-subscription")])]),
            "status": .string("requested"),
            "reason": .string("OsteoCT: opportunistic hip-fracture screening of new CT studies"),
            "criteria": .string(topic),
            "channel": .object(channel),
        ])
        return Array((try? JSONEncoder().encode(s)) ?? Data())
    }
}
