// One screening → a FHIR transaction Bundle: Device (OsteoCT), ImagingStudy, Observations (CT
// measurements), RiskAssessment, DiagnosticReport, and at high risk a ServiceRequest to the
// fracture-liaison service and a Flag; a Provenance over all of it. Every resource has a business
// identifier and is a conditional create on it (R4 http.html "conditional create"), so sending the
// same Bundle twice creates nothing twice. References between entries use the entries' urn:uuid
// fullUrls, which the server rewrites (R4 bundle.html "resolving references in Bundles").
public import FHIR
import RiskModel

public enum ScreeningBundleBuilder {
    static let cs = "http://osteoct.org/fhir/CodeSystem/osteoct"
    static let profileBase = "http://osteoct.org/fhir/StructureDefinition/"
    static let ucum = CodeSystems.ucum

    /// The transaction Bundle for one screening.
    public static func build(_ r: ScreeningResult, configuration c: ScreeningConfiguration) -> Bundle {
        var b = Builder(r: r, c: c)
        return b.bundle()
    }

    /// The fracture-liaison referral of a high-risk screening as a stand-alone resource, for a CDS
    /// Hooks suggestion the clinician accepts: the same ServiceRequest the Bundle holds, its references
    /// to the Bundle's other resources (risk assessment, report, device) made logical references by
    /// their business identifiers, since the EHR knows them by those and not by the Bundle's urn:uuids.
    /// nil when the screening raises no referral.
    /// `patientReference`: the patient as the EHR knows her (e.g. `Patient/123` from a CDS Hooks
    /// context), replacing a conditional reference a stand-alone create could not resolve.
    public static func referral(_ r: ScreeningResult, configuration: ScreeningConfiguration, patientReference: String? = nil) -> ServiceRequest? {
        var c = configuration
        c.referOnHighRisk = true
        let bundle = build(r, configuration: c)
        var logical: [String: (type: String, id: Identifier)] = [:]
        let prefix = "identifier=\(percentEncode(c.identifierSystem))|"
        for e in bundle.entry {
            // Only entries created on OsteoCT's own business identifiers (not the ImagingStudy's DICOM
            // UID, not the Provenance's target search).
            guard let url = e.fullUrl?.value?.value, let type = e.request?.url.value?.value,
                  let condition = e.request?.ifNoneExist?.value?.value, condition.hasPrefix(prefix) else { continue }
            logical[url] = (type, F.identifier(c.identifierSystem, percentDecode(String(condition.dropFirst(prefix.count)))))
        }
        guard case .serviceRequest(var sr)? = bundle.entry.compactMap(\.resource).first(where: { $0.resourceType == "ServiceRequest" }) else { return nil }
        func fix(_ ref: Reference) -> Reference {
            guard let target = ref.reference?.value?.value, let l = logical[target] else { return ref }
            return Reference(type: F.uri(l.type), identifier: l.id, display: ref.display)
        }
        if let patientReference { sr.subject = F.ref(patientReference) }
        sr.requester = sr.requester.map(fix)
        sr.reasonReference = sr.reasonReference.map(fix)
        sr.supportingInfo = sr.supportingInfo.map(fix)
        return sr
    }
}

/// Small constructors that keep the builders readable.
enum F {
    static func str(_ s: String) -> FHIRPrimitive<FHIRString> { FHIRPrimitive(FHIRString(s)) }
    static func uri(_ s: String) -> FHIRPrimitive<FHIRURI> { FHIRPrimitive(FHIRURI(s)) }
    static func code(_ s: String) -> FHIRPrimitive<FHIRCode> { FHIRPrimitive(FHIRCode(s)) }
    static func dec(_ v: Double, _ digits: Int) -> FHIRPrimitive<FHIRDecimal> { FHIRPrimitive(FHIRDecimal(v, digits: digits)) }
    static func coding(_ system: String, _ code: String, _ display: String? = nil, version: String? = nil) -> Coding {
        Coding(system: uri(system), version: version.map(str), code: F.code(code), display: display.map(str))
    }
    static func concept(_ system: String, _ code: String, _ display: String? = nil, text: String? = nil) -> CodeableConcept {
        CodeableConcept(coding: [coding(system, code, display)], text: text.map(str))
    }
    static func ref(_ reference: String, _ display: String? = nil) -> Reference {
        Reference(reference: str(reference), display: display.map(str))
    }
    static func identifier(_ system: String, _ value: String) -> Identifier {
        Identifier(system: uri(system), value: str(value))
    }
    static func quantity(_ v: Double, digits: Int, unit: String, code: String? = nil) -> Quantity {
        Quantity(value: dec(v, digits), unit: str(unit), system: uri(CodeSystems.ucum), code: F.code(code ?? unit))
    }
    static func dateTime(_ s: String) -> FHIRPrimitive<FHIRDateTime>? { FHIRDateTime(lexical: s).map { FHIRPrimitive($0) } }
    static func instant(_ s: String) -> FHIRPrimitive<FHIRInstant>? { FHIRInstant(lexical: s).map { FHIRPrimitive($0) } }

    /// Narrative with generated status; `html` is already escaped.
    static func narrative(_ html: String) -> Narrative {
        Narrative(status: FHIRPrimitive(.generated), div: FHIRPrimitive(FHIRXHTML("<div xmlns=\"http://www.w3.org/1999/xhtml\">" + html + "</div>")))
    }

    static func escape(_ s: String) -> String { Markup.escape(s) }

    static func meta(_ profile: String) -> Meta { Meta(profile: [FHIRPrimitive(FHIRCanonical(ScreeningBundleBuilder.profileBase + profile))]) }
}

/// Text for (X)HTML content and double-quoted attributes: & < > " escaped. Shared by the narratives
/// and the explanation page.
public enum Markup {
    public static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}

/// Deterministic urn:uuid values from names (FNV-1a 64 over two seeds → 128 bits, version nibble 8,
/// RFC 9562 "custom" UUID): the same study gives the same fullUrls, so bundles are reproducible.
public enum StableUUID {
    /// The UUID alone (no urn:uuid: prefix).
    public static func uuid(_ name: String) -> String { String(make(name).dropFirst("urn:uuid:".count)) }

    static func make(_ name: String) -> String {
        func fnv(_ seed: UInt64) -> UInt64 {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
            for b in name.utf8 {
                h ^= UInt64(b)
                h = h &* 0x0000_0100_0000_01B3
            }
            // Final avalanche (SplitMix64 finaliser) so similar names differ in every digit.
            h = (h ^ (h >> 30)) &* 0xbf58_476d_1ce4_e5b9
            h = (h ^ (h >> 27)) &* 0x94d0_49bb_1331_11eb
            return h ^ (h >> 31)
        }
        var hi = fnv(0x5EED_0001)
        var lo = fnv(0x5EED_0002)
        hi = (hi & ~0xF000) | 0x8000                     // version 8
        lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000  // variant 10
        func hex(_ v: UInt64, _ n: Int) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        let h = hex(hi, 16)
        let l = hex(lo, 16)
        return "urn:uuid:\(h.prefix(8))-\(h.dropFirst(8).prefix(4))-\(h.suffix(4))-\(l.prefix(4))-\(l.suffix(12))"
    }
}

struct Builder {
    let r: ScreeningResult
    let c: ScreeningConfiguration
    var entries: [Bundle.Entry] = []
    /// fullUrls of everything OsteoCT creates (Provenance.target).
    var created: [String] = []

    init(r: ScreeningResult, c: ScreeningConfiguration) {
        self.r = r
        self.c = c
    }

    var uid: String { r.study.studyInstanceUID }
    /// `-r2`… for a later revision of the study's screening, nothing for the first.
    var revisionTag: String { (r.revision ?? 1) > 1 ? "-r\(r.revision ?? 1)" : "" }
    var fullUrlPrefix: String { "osteoct|" + uid + revisionTag + "|" }
    func fullUrl(_ kind: String) -> String { StableUUID.make(fullUrlPrefix + kind) }
    func businessID(_ kind: String) -> String { "\(uid)\(revisionTag)-\(kind)" }

    var isHigh: Bool { r.risk.category.level == "high" }
    var tenYear: RiskResult.Probability? { r.risk.probabilities.first { $0.years == 10 } ?? r.risk.probabilities.last }

    /// Reference to the patient: the EHR's Patient/id, else a conditional reference on an identifier.
    var patientReference: Reference {
        if let ref = r.ehr?.patientReference, ref.hasPrefix("Patient/") {
            return F.ref(ref)
        }
        if let p = r.ehr?.patient, let id = p.identifier.first, let s = id.system?.value?.value, let v = id.value?.value?.value {
            return F.ref("Patient?identifier=\(percentEncode(s))|\(percentEncode(v))")
        }
        if let pid = r.study.dicomPatientID {
            return F.ref("Patient?identifier=\(percentEncode(c.patientIdentifierSystem))|\(percentEncode(pid))")
        }
        return F.ref("Patient?identifier=\(percentEncode(c.patientIdentifierSystem))|unknown")
    }

    mutating func add(_ resource: AnyResource, kind: String, identifier: String?, type: String) {
        let url = fullUrl(kind)
        var request = Bundle.Entry.Request(method: FHIRPrimitive(.post), url: F.uri(type))
        if let identifier {
            request.ifNoneExist = F.str("identifier=\(percentEncode(c.identifierSystem))|\(percentEncode(identifier))")
        }
        entries.append(Bundle.Entry(fullUrl: F.uri(url), resource: resource, request: request))
        created.append(url)
    }

    mutating func bundle() -> Bundle {
        let device = deviceEntry()
        let study = imagingStudyEntry()
        var observationURLs: [String] = []
        for m in r.measurements {
            observationURLs.append(observationEntry(m, study: study))
        }
        let risk = riskAssessmentEntry(study: study, observations: observationURLs)
        let report = reportEntry(study: study, observations: observationURLs, risk: risk)
        if isHigh && c.referOnHighRisk {
            referralEntry(risk: risk, report: report)
            flagEntry()
        }
        provenanceEntry(device: device, study: study)
        return Bundle(
            identifier: F.identifier(c.identifierSystem, businessID("bundle")),
            type: FHIRPrimitive(.transaction),
            timestamp: F.instant(r.issued),
            entry: entries)
    }

    // MARK: entries

    mutating func deviceEntry() -> String {
        let d = Device(
            text: F.narrative("OsteoCT \(F.escape(r.softwareVersion)): opportunistic-CT hip-fracture risk software."),
            identifier: [F.identifier(c.identifierSystem, "osteoct-\(r.softwareVersion)")],
            status: FHIRPrimitive(.active),
            manufacturer: F.str("OsteoCT"),
            deviceName: [Device.DeviceName(name: F.str("OsteoCT"), type: FHIRPrimitive(.manufacturerName))],
            type: CodeableConcept(text: F.str("Clinical decision-support software")),
            version: [Device.Version(value: F.str(r.softwareVersion))])
        add(AnyResource(d), kind: "device", identifier: "osteoct-\(r.softwareVersion)", type: "Device")
        return fullUrl("device")
    }

    mutating func imagingStudyEntry() -> String {
        let series = r.study.series.map { s in
            ImagingStudy.Series(
                uid: FHIRPrimitive(FHIRId(s.uid)),
                number: s.number.flatMap { $0 >= 0 ? FHIRPrimitive(FHIRUnsignedInt(Int32(clamping: $0))) : nil },
                modality: F.coding("http://dicom.nema.org/resources/ontology/DCM", s.modality),
                description: s.description.map(F.str),
                numberOfInstances: FHIRPrimitive(FHIRUnsignedInt(Int32(clamping: s.instances))))
        }
        let text = "CT study \(F.escape(r.study.description ?? "")) (Study Instance UID \(F.escape(uid))), \(series.count) series."
        let study = ImagingStudy(
            text: F.narrative(text),
            identifier: [F.identifier("urn:dicom:uid", "urn:oid:" + uid)]
                + (r.study.accessionNumber.map { [Identifier(type: F.concept("http://terminology.hl7.org/CodeSystem/v2-0203", "ACSN"), value: F.str($0))] } ?? []),
            status: FHIRPrimitive(.available),
            modality: [F.coding("http://dicom.nema.org/resources/ontology/DCM", "CT")],
            subject: patientReference,
            started: r.study.started.flatMap(F.dateTime),
            numberOfSeries: FHIRPrimitive(FHIRUnsignedInt(Int32(clamping: series.count))),
            numberOfInstances: FHIRPrimitive(FHIRUnsignedInt(Int32(clamping: r.study.series.reduce(0) { $0 + $1.instances }))),
            description: r.study.description.map(F.str),
            series: series)
        // The ImagingStudy is identified by its DICOM UID (the conditional create uses that identifier).
        let url = fullUrl("imagingstudy")
        var request = Bundle.Entry.Request(method: FHIRPrimitive(.post), url: F.uri("ImagingStudy"))
        request.ifNoneExist = F.str("identifier=urn:dicom:uid|\(percentEncode("urn:oid:" + uid))")
        entries.append(Bundle.Entry(fullUrl: F.uri(url), resource: AnyResource(study), request: request))
        created.append(url)
        return url
    }

    mutating func observationEntry(_ m: CTMeasurement, study: String) -> String {
        let kind = "obs-\(m.code)-\(m.site)-\(m.side?.rawValue ?? "none")"
        let display = Concepts.display(m.code)
        var site = F.concept(CodeSystems.snomed, m.site, m.siteDisplay)
        if let side = m.side {
            site.extension = [Extension(url: "http://osteoct.org/fhir/StructureDefinition/laterality",
                                        value: .codeableConcept(side == .left ? F.concept(CodeSystems.snomed, "7771000", "Left") : F.concept(CodeSystems.snomed, "24028007", "Right")))]
        }
        let valueText = "\(FHIRDecimal(m.value, digits: m.digits).lexical) \(m.unit)" + (m.sd.map { " (SD \(FHIRDecimal($0, digits: m.digits).lexical))" } ?? "")
        let o = Observation(
            meta: F.meta(m.kind == .bone ? "ct-bone-observation" : "ct-body-composition-observation"),
            text: F.narrative("\(F.escape(display)), \(F.escape(m.siteDisplay))\(m.side.map { " (\($0.rawValue))" } ?? ""): <b>\(F.escape(valueText))</b>. ROI: \(F.escape(m.roi))."),
            identifier: [F.identifier(c.identifierSystem, businessID(kind))],
            status: FHIRPrimitive(.final),
            category: [F.concept("http://terminology.hl7.org/CodeSystem/observation-category", "imaging", "Imaging")],
            code: F.concept(ScreeningBundleBuilder.cs, m.code, display),
            subject: patientReference,
            effective: r.study.started.flatMap(F.dateTime).map { .dateTime($0) },
            issued: F.instant(r.issued),
            value: .quantity(F.quantity(m.value, digits: m.digits, unit: m.unit)),
            bodySite: site,
            method: CodeableConcept(coding: [F.coding(ScreeningBundleBuilder.cs, m.calibration, Concepts.display(m.calibration))], text: F.str(m.roi)),
            device: F.ref(fullUrl("device"), "OsteoCT"),
            derivedFrom: [F.ref(study, "CT study")])
        add(AnyResource(o), kind: kind, identifier: businessID(kind), type: "Observation")
        return fullUrl(kind)
    }

    func qualitativeRisk() -> CodeableConcept {
        let (code, display): (String, String)
        switch r.risk.category.level {
        case "high": (code, display) = ("high", "High likelihood")
        case "intermediate": (code, display) = ("moderate", "Moderate likelihood")
        default: (code, display) = ("low", "Low likelihood")
        }
        return F.concept("http://terminology.hl7.org/CodeSystem/risk-probability", code, display, text: r.risk.category.level)
    }

    mutating func riskAssessmentEntry(study: String, observations: [String]) -> String {
        let kind = "risk"
        let model = r.risk.model
        let predictions = r.risk.probabilities.map { p in
            var rationale = "\(FHIRDecimal(p.percent, digits: 2).lexical) % over \(p.years) years"
            if let lo = p.lower95, let hi = p.upper95 {
                rationale += " (95 % interval \(FHIRDecimal(lo, digits: 2).lexical)–\(FHIRDecimal(hi, digits: 2).lexical) %)"
            }
            rationale += "; category \(r.risk.category.level): " + r.risk.category.reasons.joined(separator: "; ")
            return RiskAssessment.Prediction(
                outcome: F.concept(ScreeningBundleBuilder.cs, "hip-fracture", "Hip fracture"),
                probability: .decimal(F.dec(min(100, max(0, p.percent)), 2)),
                qualitativeRisk: qualitativeRisk(),
                relativeRisk: p.years == r.risk.relativeRisk.horizonYears ? F.dec(r.risk.relativeRisk.ratio, 2) : nil,
                when: .range(FHIRRange(low: F.quantity(0, digits: 0, unit: "a"), high: F.quantity(Double(p.years), digits: 0, unit: "a"))),
                rationale: F.str(rationale))
        }
        var basis = [F.ref(study, "CT study")] + observations.map { F.ref($0) }
        for source in r.ehr?.usedSources ?? [] where !source.hasPrefix("urn:") && source.contains("/") && !source.contains("#") {
            basis.append(F.ref(source))
        }
        let mitigation = r.risk.whatIf
            .filter { $0.changePercentagePoints < 0 }
            .map { "\($0.label): \(FHIRDecimal($0.changePercentagePoints, digits: 2).lexical) percentage points at \($0.horizonYears) years" }
            .joined(separator: "; ")
        let contributions = r.risk.shapley.values.map { v in contributionExtension(v) }
        var html = "<p>Hip-fracture risk (\(F.escape(model.name)) \(F.escape(model.version))): "
        html += r.risk.probabilities.map { "<b>\(FHIRDecimal($0.percent, digits: 1).lexical) %</b> at \($0.years) years" }.joined(separator: ", ")
        html += "; category <b>\(F.escape(r.risk.category.level))</b>.</p><p>What moves it (percentage points at \(r.risk.shapley.horizonYears) years): "
        html += r.risk.shapley.values.prefix(6).map { "\(F.escape(Concepts.groupLabel($0.group))) \(FHIRDecimal($0.percentagePoints, digits: 2).lexical)" }.joined(separator: ", ")
        html += ".</p>"
        let ra = RiskAssessment(
            meta: F.meta("hip-fracture-risk"),
            text: F.narrative(html),
            extension: contributions,
            identifier: [F.identifier(c.identifierSystem, businessID(kind))],
            status: FHIRPrimitive(.final),
            method: CodeableConcept(coding: [F.coding(ScreeningBundleBuilder.cs, "osteoct-multimodal-hip", "OsteoCT multimodal hip-fracture model", version: "\(model.id) \(model.version)")],
                                    text: F.str("\(model.name) (\(model.id) \(model.version))")),
            code: F.concept(ScreeningBundleBuilder.cs, "hip-fracture-risk-assessment", "Hip-fracture risk assessment"),
            subject: patientReference,
            occurrence: F.dateTime(r.issued).map { .dateTime($0) },
            performer: F.ref(fullUrl("device"), "OsteoCT"),
            basis: basis,
            prediction: predictions,
            mitigation: mitigation.isEmpty ? nil : F.str(mitigation),
            note: [Annotation(text: FHIRPrimitive(FHIRMarkdown("\(model.validationStatus). \(model.disclaimer)")))])
        add(AnyResource(ra), kind: kind, identifier: businessID(kind), type: "RiskAssessment")
        return fullUrl(kind)
    }

    func contributionExtension(_ v: RiskResult.ShapleyValue) -> Extension {
        var parts: [Extension] = [
            Extension(url: "feature", value: .code(F.code(v.group))),
            Extension(url: "label", value: .string(F.str(Concepts.groupLabel(v.group)))),
        ]
        if let shown = Concepts.patientValue(v.group, r.ehr) {
            parts.append(Extension(url: "value", value: .string(F.str(shown))))
        }
        parts.append(Extension(url: "modality", value: .code(F.code(v.modality))))
        parts.append(Extension(url: "percentagePoints", value: .decimal(F.dec(v.percentagePoints, 3))))
        parts.append(Extension(url: "horizon", value: .quantity(F.quantity(Double(r.risk.shapley.horizonYears), digits: 0, unit: "a"))))
        if let lh = r.risk.logHazardContributions.first(where: { $0.group == v.group && $0.firstYearsOnly == nil }) {
            parts.append(Extension(url: "logHazard", value: .decimal(F.dec(lh.logHazard, 4))))
        }
        return Extension(extension: parts, url: "http://osteoct.org/fhir/StructureDefinition/risk-contribution")
    }

    var conclusion: String {
        var s = "Hip-fracture risk "
        if let t = tenYear { s += "\(FHIRDecimal(t.percent, digits: 1).lexical) % over \(t.years) years" }
        s += " (category \(r.risk.category.level))."
        if r.measurements.isEmpty {
            s += " No CT bone measurements: " + (r.ctNotes.isEmpty ? "not available." : r.ctNotes.joined(separator: "; ")) + " The risk rests on clinical data only."
        }
        if isHigh { s += " Referral to the fracture liaison service suggested." }
        return s
    }

    mutating func reportEntry(study: String, observations: [String], risk: String) -> String {
        let kind = "report"
        var html = "<p><b>Opportunistic CT bone-health report</b></p><p>\(F.escape(conclusion))</p>"
        if !r.measurements.isEmpty {
            html += "<table><tr><th>Measurement</th><th>Site</th><th>Value</th></tr>"
            for m in r.measurements {
                html += "<tr><td>\(F.escape(Concepts.display(m.code)))</td><td>\(F.escape(m.siteDisplay))\(m.side.map { " " + $0.rawValue } ?? "")</td><td>\(F.escape(FHIRDecimal(m.value, digits: m.digits).lexical)) \(F.escape(m.unit))</td></tr>"
            }
            html += "</table>"
        }
        // The explanation page when there is one, else a summary page of the same content as the narrative.
        let page = r.reportPage ?? Array(("<!doctype html><html><head><meta charset=\"utf-8\"><title>OsteoCT bone-health report</title></head><body>" + html + "</body></html>").utf8)
        let form = Attachment(contentType: F.code("text/html"), language: F.code("en"),
                              data: FHIRPrimitive(FHIRBase64Binary(Base64.encode(page))),
                              title: F.str(r.reportPage == nil ? "OsteoCT bone-health report" : "OsteoCT explanation page"), creation: F.dateTime(r.issued))
        let media = r.reportMedia.map { mediaEntry($0) }
        var conclusionCodes: [CodeableConcept] = []
        if isHigh { conclusionCodes.append(F.concept(ScreeningBundleBuilder.cs, "high-hip-fracture-risk", "High risk of hip fracture")) }
        // R4 DiagnosticReport.performer cannot be a Device; the software is named in the
        // Provenance (agent) and the RiskAssessment (performer).
        let performers = c.organizationReference.map { [F.ref($0)] } ?? []
        let report = DiagnosticReport(
            meta: F.meta("bone-health-report"),
            text: F.narrative(html),
            identifier: [F.identifier(c.identifierSystem, businessID(kind))],
            status: FHIRPrimitive(r.measurements.isEmpty ? .partial : .final),
            category: [CodeableConcept(coding: [F.coding(CodeSystems.loinc, "LP29684-5", "Radiology"),
                                                F.coding("http://terminology.hl7.org/CodeSystem/v2-0074", "RAD", "Radiology")])],
            code: F.concept(ScreeningBundleBuilder.cs, "opportunistic-ct-bone-health", "Opportunistic CT bone-health report"),
            subject: patientReference,
            effective: r.study.started.flatMap(F.dateTime).map { .dateTime($0) },
            issued: F.instant(r.issued),
            performer: performers,
            result: observations.map { F.ref($0) },
            imagingStudy: [F.ref(study, "CT study")],
            media: zip(r.reportMedia, media).map { DiagnosticReport.MediaComponent(comment: F.str($0.0.title), link: F.ref($0.1, $0.0.title)) },
            conclusion: F.str(conclusion),
            conclusionCode: conclusionCodes,
            presentedForm: [form])
        add(AnyResource(report), kind: kind, identifier: businessID(kind), type: "DiagnosticReport")
        _ = risk
        return fullUrl(kind)
    }

    /// A picture of the report (a strain map) as a Media resource.
    mutating func mediaEntry(_ m: ReportMedia) -> String {
        let kind = "media-\(m.key)"
        var site = F.concept(CodeSystems.snomed, "310651003", "Bone structure of proximal femur")
        if let side = m.side {
            site.extension = [Extension(url: "http://osteoct.org/fhir/StructureDefinition/laterality",
                                        value: .codeableConcept(side == .left ? F.concept(CodeSystems.snomed, "7771000", "Left") : F.concept(CodeSystems.snomed, "24028007", "Right")))]
        }
        let media = Media(
            text: F.narrative(F.escape(m.title)),
            identifier: [F.identifier(c.identifierSystem, businessID(kind))],
            status: FHIRPrimitive(.completed),
            type: F.concept("http://terminology.hl7.org/CodeSystem/media-type", "image", "Image"),
            subject: patientReference,
            created: F.dateTime(r.issued).map { .dateTime($0) },
            bodySite: site,
            deviceName: F.str("OsteoCT \(r.softwareVersion)"),
            height: FHIRPrimitive(FHIRPositiveInt(Int32(m.height))),
            width: FHIRPrimitive(FHIRPositiveInt(Int32(m.width))),
            content: Attachment(contentType: F.code("image/png"), data: FHIRPrimitive(FHIRBase64Binary(Base64.encode(m.png))), title: F.str(m.title),
                                creation: F.dateTime(r.issued)))
        add(AnyResource(media), kind: kind, identifier: businessID(kind), type: "Media")
        return fullUrl(kind)
    }

    mutating func referralEntry(risk: String, report: String) {
        let kind = "fls-referral"
        let sr = ServiceRequest(
            meta: F.meta("fls-referral"),
            text: F.narrative("Referral to the fracture liaison service: \(F.escape(conclusion))"),
            identifier: [F.identifier(c.identifierSystem, businessID(kind))],
            status: FHIRPrimitive(RequestStatus(rawValue: c.referralStatus) ?? .draft),
            intent: FHIRPrimitive(RequestIntent(rawValue: c.referralIntent) ?? .proposal),
            category: [F.concept(CodeSystems.snomed, "3457005", "Patient referral")],
            priority: FHIRPrimitive(.routine),
            code: F.concept(ScreeningBundleBuilder.cs, "fracture-liaison-referral", "Referral to a fracture liaison service"),
            subject: patientReference,
            authoredOn: F.dateTime(r.issued),
            requester: F.ref(fullUrl("device"), "OsteoCT"),
            performer: [F.ref(c.flsReference, c.flsDisplay)],
            reasonReference: [F.ref(report, "Opportunistic CT bone-health report")],
            supportingInfo: [F.ref(risk, "Hip-fracture risk assessment"), F.ref(report)],
            note: [Annotation(text: FHIRPrimitive(FHIRMarkdown("Raised automatically by OsteoCT because the hip-fracture risk category is high: " + r.risk.category.reasons.joined(separator: "; "))))])
        add(AnyResource(sr), kind: kind, identifier: businessID(kind), type: "ServiceRequest")
    }

    mutating func flagEntry() {
        let kind = "flag"
        let start = r.issued
        let endDay = FHIRDay(start).map { FHIRDay(daysSince1970: $0.daysSince1970 + c.flagDays).description }
        let f = Flag(
            meta: F.meta("hip-fracture-risk-flag"),
            text: F.narrative("<b>High risk of hip fracture</b>: \(F.escape(conclusion))"),
            identifier: [F.identifier(c.identifierSystem, businessID(kind))],
            status: FHIRPrimitive(.active),
            category: [F.concept("http://terminology.hl7.org/CodeSystem/flag-category", "clinical", "Clinical")],
            code: F.concept(ScreeningBundleBuilder.cs, "high-hip-fracture-risk", "High risk of hip fracture"),
            subject: patientReference,
            period: Period(start: F.dateTime(start), end: endDay.flatMap(F.dateTime)),
            author: F.ref(fullUrl("device"), "OsteoCT"))
        add(AnyResource(f), kind: kind, identifier: businessID(kind), type: "Flag")
    }

    mutating func provenanceEntry(device: String, study: String) {
        var entities = [Provenance.Entity(role: FHIRPrimitive(.source), what: F.ref(study, "CT study"))]
        for source in r.ehr?.usedSources ?? [] where !source.contains("#") {
            entities.append(Provenance.Entity(role: FHIRPrimitive(.source), what: F.ref(source)))
        }
        let targets = created.filter { $0 != device }.map { F.ref($0) }
        let p = Provenance(
            text: F.narrative("Produced by OsteoCT \(F.escape(r.softwareVersion)) from the CT study and \(entities.count - 1) EHR resource(s)."),
            target: targets,
            recorded: F.instant(r.issued) ?? FHIRPrimitive(FHIRInstant(lexical: "1970-01-01T00:00:00Z")),
            activity: F.concept("http://terminology.hl7.org/CodeSystem/v3-DataOperation", "CREATE", "create"),
            agent: [Provenance.Agent(type: F.concept("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "author", "Author"),
                                     who: F.ref(device, "OsteoCT \(r.softwareVersion)"))],
            entity: entities)
        // The Provenance has no business identifier of its own; its conditional create keys on the
        // bundle's identifier through the target report.
        let url = fullUrl("provenance")
        var request = Bundle.Entry.Request(method: FHIRPrimitive(.post), url: F.uri("Provenance"))
        request.ifNoneExist = F.str("target:DiagnosticReport.identifier=\(percentEncode(c.identifierSystem))|\(percentEncode(businessID("report")))")
        entries.append(Bundle.Entry(fullUrl: F.uri(url), resource: AnyResource(p), request: request))
    }
}

/// Percent-encoding for search parameter values in ifNoneExist and conditional references
/// (RFC 3986 unreserved characters stay; FHIR search escapes '|' ',' '$' '\' inside values).
/// The inverse of `percentEncode` (%XX → byte).
func percentDecode(_ s: String) -> String {
    var bytes: [UInt8] = []
    let u = Array(s.utf8)
    var i = 0
    while i < u.count {
        if u[i] == 0x25, i + 2 < u.count, let b = UInt8(String(decoding: u[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
            bytes.append(b); i += 3
        } else {
            bytes.append(u[i]); i += 1
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

func percentEncode(_ s: String) -> String {
    var out = ""
    for b in s.utf8 {
        switch b {
        case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, 0x2D, 0x2E, 0x5F, 0x7E, 0x3A, 0x2F: out.append(Character(Unicode.Scalar(b)))
        default:
            let hex = Array("0123456789ABCDEF")
            out += "%" + String(hex[Int(b >> 4)]) + String(hex[Int(b & 0xF)])
        }
    }
    return out
}

/// RFC 4648 base64.
enum Base64 {
    static func encode(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [table[Int(v >> 18 & 63)], table[Int(v >> 12 & 63)], table[Int(v >> 6 & 63)], table[Int(v & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let v = UInt32(bytes[i]) << 16
            out += [table[Int(v >> 18 & 63)], table[Int(v >> 12 & 63)], 0x3D, 0x3D]
        } else if rest == 2 {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [table[Int(v >> 18 & 63)], table[Int(v >> 12 & 63)], table[Int(v >> 6 & 63)], 0x3D]
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Display names of OsteoCT codes and explanation groups.
enum Concepts {
    static func display(_ code: String) -> String {
        displays[code] ?? code
    }

    static let displays: [String: String] = {
        var d: [String: String] = [:]
        for file in EmbeddedConformance.files where file.name == "CodeSystem-osteoct.json" {
            if let doc = try? FHIRJSONReader.parse(Array(file.json.utf8)) {
                for c in doc.root.all("concept") {
                    if let k = c.text("code"), let v = c.text("display") { d[k] = v }
                }
            }
        }
        return d
    }()

    static func groupLabel(_ group: String) -> String {
        switch group {
        case "bmi": return "Body-mass index"
        case "falls": return "Falls"
        case "prior_fracture": return "Prior fragility fracture"
        case "glucocorticoids": return "Glucocorticoids"
        default: return FeatureSchema.definition(group)?.description ?? group
        }
    }

    /// The patient's value behind an explanation group, as shown.
    static func patientValue(_ group: String, _ ehr: EHRFeatures?) -> String? {
        guard let ehr else { return nil }
        let ids: [String]
        switch group {
        case "bmi": ids = ["bmi"]
        case "falls": ids = ["falls_count_12m", "falls_history"]
        case "prior_fracture": ids = ["prior_fracture_years_ago", "prior_fracture"]
        case "glucocorticoids": ids = ["glucocorticoid_dose", "corticosteroids"]
        default: ids = [group]
        }
        for id in ids {
            guard let e = ehr.evidence.first(where: { $0.feature == id }), let def = FeatureSchema.definition(id) else { continue }
            switch def.kind {
            case .boolean: return e.value == 1 ? "yes" : "no"
            case .category: return def.categories?[String(Int(e.value))] ?? formatNumber(e.value)
            case .number: return "\(formatNumber(e.value)) \(def.unit ?? "")".trimmed
            }
        }
        return nil
    }
}
