// A later screening of a study (a re-score after a record change, a re-run after late images) is a
// new set of resources in the EHR; the earlier one's alert Flag and draft referral must not stay
// active beside it. Its delivery therefore also retires them: each is read back from the EHR by
// OsteoCT's identifier and, if it is still as OsteoCT wrote it (Flag active, ServiceRequest draft —
// never one a clinician has since acted on), updated in the same transaction by a conditional PUT
// with the status inactive (Flag) or revoked (ServiceRequest). Earlier RiskAssessments and reports
// stay as the record of what was said then.
import Foundation

enum Supersede {
    /// What OsteoCT retires of an earlier screening: resource type → (status it wrote, status it sets).
    static let retired: [String: (written: Set<String>, retired: String)] = [
        "Flag": (["active"], "inactive"),
        "ServiceRequest": (["draft"], "revoked"),
    ]

    /// The Flag and ServiceRequest entries of an earlier Bundle, with their identifiers.
    static func retirable(in previous: [UInt8], identifierSystem: String) -> [(type: String, identifier: String, resource: [String: AnyJSON])] {
        guard case .object(let b)? = try? JSONDecoder().decode(AnyJSON.self, from: Data(previous)), case .array(let entries)? = b["entry"] else { return [] }
        var out: [(String, String, [String: AnyJSON])] = []
        for case .object(let e) in entries {
            guard case .object(let r)? = e["resource"], case .string(let type)? = r["resourceType"], retired[type] != nil,
                  case .array(let ids)? = r["identifier"] else { continue }
            for case .object(let i) in ids {
                if case .string(identifierSystem)? = i["system"], case .string(let v)? = i["value"] { out.append((type, v, r)) }
            }
        }
        return out
    }

    /// Entries that retire `current` (the EHR's copy, read back): a conditional PUT of it with the
    /// retired status. Nil when it was changed since OsteoCT wrote it (someone acted on it).
    static func retirement(type: String, identifier: String, system: String, current: [String: AnyJSON]) -> AnyJSON? {
        guard let rule = retired[type], case .string(let status)? = current["status"], rule.written.contains(status) else { return nil }
        var r = current
        r["status"] = .string(rule.retired)
        r.removeValue(forKey: "meta")
        r.removeValue(forKey: "id")
        return .object([
            "fullUrl": .string("urn:uuid:" + UUID().uuidString.lowercased()),
            "resource": .object(r),
            "request": .object(["method": .string("PUT"), "url": .string("\(type)?identifier=\(OsteoCTService.formEncoded(system))|\(OsteoCTService.formEncoded(identifier))")]),
        ])
    }

    /// `bundle` with `entries` appended.
    static func appending(_ entries: [AnyJSON], to bundle: [UInt8]) -> [UInt8]? {
        guard !entries.isEmpty else { return bundle }
        guard case .object(var b)? = try? JSONDecoder().decode(AnyJSON.self, from: Data(bundle)), case .array(let existing)? = b["entry"] else { return nil }
        b["entry"] = .array(existing + entries)
        return (try? JSONEncoder().encode(AnyJSON.object(b))).map { Array($0) }
    }
}
