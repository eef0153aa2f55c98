// Turning the folder `osteoct analyze` wrote (bundle.json, risk.json, report.html, referral.json)
// into what the store keeps: the screening (for CDS cards and report pages) and its FHIR resources
// as `/fhir` serves them — each entry of the transaction Bundle with a server id (its urn:uuid) and
// the Bundle's urn:uuid references rewritten to `Type/id`.
public import Foundation
import FHIR
import RiskModel
import Screening

public enum ScreeningImport {
    /// Reads an analyze output folder. `version`: the study version the analysis was of.
    /// `revision`: 1 for the study version's first screening, 2, 3, … after it.
    public static func load(folder: String, version: Int = 1, revision: Int = 1, now: Date = Date()) throws(ServiceError) -> (StoredScreening, [StoredResource]) {
        func read(_ name: String) -> [UInt8]? { FileManager.default.contents(atPath: (folder as NSString).appendingPathComponent(name)).map { [UInt8]($0) } }
        guard let bundleBytes = read("bundle.json") else { throw .job("\(folder)/bundle.json is missing: the analysis did not finish") }
        guard let riskBytes = read("risk.json") else { throw .job("\(folder)/risk.json is missing: the analysis did not finish") }
        let risk: RiskResult
        do { risk = try JSONDecoder().decode(RiskResult.self, from: Data(riskBytes)) } catch {
            throw .job("\(folder)/risk.json is not a risk result: \(error)")
        }
        let root: FHIRElement
        do { root = try FHIRJSONReader.parse(bundleBytes).root } catch {
            throw .job("\(folder)/bundle.json is not FHIR JSON: \(error)")
        }
        // Each entry: its fullUrl and its resource element.
        let entries: [(full: String, resource: FHIRElement)] = root.all("entry").compactMap { e in
            guard let full = e.text("fullUrl"), full.hasPrefix("urn:uuid:"), let holder = e.first("resource") else { return nil }
            let r = holder.isResource ? holder : holder.children.first { $0.isResource }
            return r.map { (full, $0) }
        }
        // fullUrl (urn:uuid:…) → Type/uuid, for every entry.
        var local: [String: String] = [:]
        for e in entries { local[e.full] = e.resource.name + "/" + e.full.dropFirst("urn:uuid:".count) }
        var studyUID: String?, started: String?, patient: String?, software: String?, issued: String?, inRecord = false
        var resources: [(type: String, id: String, element: FHIRElement, patient: String?, identifier: String?)] = []
        for (full, resource) in entries {
            let type = resource.name
            let id = String(full.dropFirst("urn:uuid:".count))
            let subject = (resource.first("subject") ?? resource.first("patient"))?.text("reference")
            let subjectPatient = subject.flatMap { $0.hasPrefix("Patient/") ? String($0.dropFirst(8)) : nil }
            switch type {
            case "ImagingStudy":
                for i in resource.all("identifier") where i.text("system") == "urn:dicom:uid" {
                    if let v = i.text("value") { studyUID = v.hasPrefix("urn:oid:") ? String(v.dropFirst(8)) : v }
                }
                started = resource.text("started").map { String($0.prefix(10)) }
            case "Device": software = resource.first("version")?.text("value")
            case "DiagnosticReport": issued = resource.text("issued")
            case "ServiceRequest": inRecord = true
            default: break
            }
            if patient == nil { patient = subjectPatient }
            let identifier = resource.first("identifier").flatMap { i in i.text("system").flatMap { s in i.text("value").map { s + "|" + $0 } } }
            var r = rewrite(resource, local)
            // The server's id and lastUpdated, in the places FHIR puts them (after resourceType, meta next).
            r.children.removeAll { $0.name == "id" }
            var meta = r.first("meta") ?? FHIRElement(name: "meta")
            meta.children.removeAll { $0.name == "lastUpdated" }
            meta.children.insert(FHIRElement(name: "lastUpdated", value: instant(now), kind: .string), at: 0)
            r.children.removeAll { $0.name == "meta" }
            r.children.insert(contentsOf: [FHIRElement(name: "id", value: id, kind: .string), meta], at: 0)
            resources.append((type, id, r, subjectPatient, identifier))
        }
        guard let studyUID else { throw .job("\(folder)/bundle.json has no ImagingStudy with a DICOM study UID") }
        guard let patient else {
            throw .job("\(folder)/bundle.json names no Patient: the screening was run without the woman's record (--patient), so no EHR can ask for it")
        }
        let referral = read("referral.json").map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
        let input = CardInput(risk: risk, studyStarted: started, softwareVersion: software ?? "unknown", referral: referral,
                              referralInRecord: inRecord && risk.category.level == "high")
        let screeningID = StableUUID.uuid("screening|\(studyUID)|\(version)" + (revision > 1 ? "|\(revision)" : ""))
        let stored = StoredScreening(id: screeningID, patientID: patient, studyUID: studyUID, studyVersion: version, revision: revision, issued: issued ?? instant(now),
                                     storedAt: now, cardInput: input, bundleJSON: bundleBytes, reportHTML: read("report.html"))
        var out: [StoredResource] = []
        for r in resources {
            out.append(StoredResource(type: r.type, id: r.id, screeningID: screeningID, patientID: r.patient, identifier: r.identifier,
                                      lastUpdated: instant(now), json: FHIRJSONWriter.write(r.element)))
        }
        return (stored, out)
    }

    /// The CT part of an analysis folder, kept so the woman can be re-scored without the CT
    /// (`osteoct analyze --reuse-ct`): study.json, measurements.json, the label maps and qc/ pictures.
    public static func artifacts(folder: String) -> [(name: String, bytes: [UInt8])] {
        let fm = FileManager.default
        var out: [(name: String, bytes: [UInt8])] = []
        for name in ["study.json", "measurements.json", "labels.nii.gz", "femur-regions.nii.gz"] {
            if let d = fm.contents(atPath: (folder as NSString).appendingPathComponent(name)) { out.append((name, [UInt8](d))) }
        }
        let qc = (folder as NSString).appendingPathComponent("qc")
        for name in ((try? fm.contentsOfDirectory(atPath: qc)) ?? []).sorted() where !name.hasPrefix(".") {
            if let d = fm.contents(atPath: (qc as NSString).appendingPathComponent(name)) { out.append(("qc/" + name, [UInt8](d))) }
        }
        return out
    }

    /// Every value that is a Bundle-local urn:uuid becomes the `Type/id` it names.
    static func rewrite(_ e: FHIRElement, _ local: [String: String]) -> FHIRElement {
        var e = e
        if let v = e.value, let t = local[v] { e.value = t }
        e.children = e.children.map { rewrite($0, local) }
        return e
    }

    /// A FHIR instant in UTC with milliseconds.
    public static func instant(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: d)
    }
}
