// What one screening produced, ready to be written as FHIR: the study, the patient, the CT
// measurements, the EHR features with their provenance, and the risk with its explanation.
import FHIR
public import RiskModel

/// One CT measurement (QCT, CTXA, HSA, FE, body composition) as it goes into an Observation.
public struct CTMeasurement: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case bone, bodyComposition }
    public enum Side: String, Sendable, Codable { case left, right }

    /// Code in the OsteoCT code system (`vbmd-trabecular`, `ctxa-tscore`, `fe-strength-sideways-fall`…).
    public var code: String
    public var kind: Kind
    public var value: Double
    /// Decimals to report (the measurement's precision).
    public var digits: Int
    /// UCUM unit (`mg/cm3`, `g/cm2`, `1`, `N`, `cm2`, `[hnsf'U]`).
    public var unit: String
    /// SNOMED CT body structure of the ROI and its display.
    public var site: String
    public var siteDisplay: String
    public var side: Side?
    /// Calibration method code (OsteoCT code system) and the ROI as a reader would name it.
    public var calibration: String
    public var roi: String
    /// Measurement standard deviation (same unit), when known.
    public var sd: Double?

    public init(code: String, kind: Kind, value: Double, digits: Int, unit: String, site: String, siteDisplay: String,
                side: Side? = nil, calibration: String, roi: String, sd: Double? = nil) {
        self.code = code
        self.kind = kind
        self.value = value
        self.digits = digits
        self.unit = unit
        self.site = site
        self.siteDisplay = siteDisplay
        self.side = side
        self.calibration = calibration
        self.roi = roi
        self.sd = sd
    }
}

/// The CT study, as ImagingStudy content.
public struct StudyReference: Sendable {
    public struct Series: Sendable {
        public var uid: String
        public var number: Int?
        public var modality: String
        public var description: String?
        public var instances: Int
        public var bodyPart: String?
        public init(uid: String, number: Int?, modality: String, description: String?, instances: Int, bodyPart: String?) {
            self.uid = uid
            self.number = number
            self.modality = modality.isEmpty ? "CT" : modality
            self.description = description.nonEmpty
            self.instances = instances
            self.bodyPart = bodyPart.nonEmpty
        }
    }
    public var studyInstanceUID: String
    public var accessionNumber: String?
    /// FHIR date or dateTime of the study.
    public var started: String?
    public var description: String?
    public var series: [Series]
    /// The DICOM Patient ID, used when no EHR Patient is given.
    public var dicomPatientID: String?

    public init(studyInstanceUID: String, accessionNumber: String? = nil, started: String? = nil, description: String? = nil,
                series: [Series] = [], dicomPatientID: String? = nil) {
        // DICOM type 2 attributes are often present but empty; FHIR has no empty values.
        self.studyInstanceUID = studyInstanceUID
        self.accessionNumber = accessionNumber.nonEmpty
        self.started = started.nonEmpty
        self.description = description.nonEmpty
        self.series = series
        self.dicomPatientID = dicomPatientID.nonEmpty
    }
}

/// Site settings for the resources OsteoCT writes (from a JSON configuration file).
public struct ScreeningConfiguration: Sendable, Codable, Equatable {
    /// Identifier system of the business identifiers OsteoCT gives its resources (conditional creates).
    public var identifierSystem: String = "http://osteoct.org/fhir/sid/screening"
    /// Identifier system of DICOM Patient IDs at this site (used when no EHR Patient is given).
    public var patientIdentifierSystem: String = "urn:oid:1.2.36.146.595.217.0.1"
    /// The fracture-liaison service: ServiceRequest.performer.
    public var flsReference: String = "HealthcareService/fracture-liaison-service"
    public var flsDisplay: String = "Fracture liaison service"
    /// ServiceRequest.status (draft: a clinician must confirm; active: sent as is) and intent.
    public var referralStatus: String = "draft"
    public var referralIntent: String = "proposal"
    /// Whether to write the referral and flag at all when the category is high.
    public var referOnHighRisk: Bool = true
    /// Days the alert Flag stays active.
    public var flagDays: Int = 365
    /// Organisation that runs OsteoCT (DiagnosticReport.performer besides the device), optional.
    public var organizationReference: String?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case identifierSystem, patientIdentifierSystem, flsReference, flsDisplay, referralStatus, referralIntent
        case referOnHighRisk, flagDays, organizationReference
    }

    /// Reads a configuration; every key is optional, unknown keys are errors (typos would
    /// otherwise be silently ignored).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ScreeningConfiguration()
        identifierSystem = try c.decodeIfPresent(String.self, forKey: .identifierSystem) ?? d.identifierSystem
        patientIdentifierSystem = try c.decodeIfPresent(String.self, forKey: .patientIdentifierSystem) ?? d.patientIdentifierSystem
        flsReference = try c.decodeIfPresent(String.self, forKey: .flsReference) ?? d.flsReference
        flsDisplay = try c.decodeIfPresent(String.self, forKey: .flsDisplay) ?? d.flsDisplay
        referralStatus = try c.decodeIfPresent(String.self, forKey: .referralStatus) ?? d.referralStatus
        referralIntent = try c.decodeIfPresent(String.self, forKey: .referralIntent) ?? d.referralIntent
        referOnHighRisk = try c.decodeIfPresent(Bool.self, forKey: .referOnHighRisk) ?? d.referOnHighRisk
        flagDays = try c.decodeIfPresent(Int.self, forKey: .flagDays) ?? d.flagDays
        organizationReference = try c.decodeIfPresent(String.self, forKey: .organizationReference)
    }

    /// Checks values against the R4 code sets they end up in.
    public func check() -> [String] {
        var problems: [String] = []
        if RequestStatus(rawValue: referralStatus) == nil {
            problems.append("referralStatus '\(referralStatus)' is not a ServiceRequest status (\(RequestStatus.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if RequestIntent(rawValue: referralIntent) == nil {
            problems.append("referralIntent '\(referralIntent)' is not a ServiceRequest intent (\(RequestIntent.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if flagDays < 1 { problems.append("flagDays must be at least 1") }
        for (name, v) in [("identifierSystem", identifierSystem), ("patientIdentifierSystem", patientIdentifierSystem)] where FHIRURI(lexical: v) == nil {
            problems.append("\(name) '\(v)' is not a URI")
        }
        if !flsReference.contains("/") { problems.append("flsReference '\(flsReference)' must look like HealthcareService/<id>") }
        return problems
    }
}

/// A picture the DiagnosticReport links as a Media resource.
public struct ReportMedia: Sendable {
    /// Stable key for its identifier, e.g. "strain-left".
    public var key: String
    public var title: String
    public var png: [UInt8]
    public var width: Int
    public var height: Int
    public var side: CTMeasurement.Side?
    public init(key: String, title: String, png: [UInt8], width: Int, height: Int, side: CTMeasurement.Side?) {
        self.key = key; self.title = title; self.png = png; self.width = width; self.height = height; self.side = side
    }
}

/// One screening, everything needed to write its FHIR resources.
public struct ScreeningResult: Sendable {
    public var study: StudyReference
    public var measurements: [CTMeasurement]
    public var ehr: EHRFeatures?
    public var risk: RiskResult
    /// When the results were produced (FHIR instant); from the caller so runs are reproducible.
    public var issued: String
    /// OsteoCT's version (Device.version, Provenance).
    public var softwareVersion: String
    /// Why CT measurements are absent or partial, for the report.
    public var ctNotes: [String]
    /// The explanation page (HTML), the DiagnosticReport's presented form when present.
    public var reportPage: [UInt8]?
    /// Pictures the report links as Media (the strain maps).
    public var reportMedia: [ReportMedia] = []
    /// The screening's revision of this study when it is not the first (images arrived after an
    /// earlier analysis): its resources get business identifiers of their own, so the EHR keeps both.
    public var revision: Int?

    public init(study: StudyReference, measurements: [CTMeasurement], ehr: EHRFeatures?, risk: RiskResult, issued: String,
                softwareVersion: String, ctNotes: [String] = []) {
        self.study = study
        self.measurements = measurements
        self.ehr = ehr
        self.risk = risk
        self.issued = issued
        self.softwareVersion = softwareVersion
        self.ctNotes = ctNotes
    }
}

extension Optional where Wrapped == String {
    /// nil for nil, empty or blank strings.
    var nonEmpty: String? {
        guard let s = self?.trimmed, !s.isEmpty else { return nil }
        return s
    }
}

extension CTMeasurement {
    /// The risk-model feature this measurement feeds, if any (FeatureSchema ids).
    public var riskFeature: String? {
        switch (code, site) {
        case ("ctxa-tscore", "29627003"): return "ctxa_fn_tscore"
        case ("fe-strength-sideways-fall", _): return "fe_strength_sideways_fall"
        case ("trabecular-attenuation", "66794005"): return "l1_hu"
        case ("trabecular-attenuation", "310651003"), ("trabecular-attenuation", "29627003"): return "femur_trabecular_hu"
        case ("muscle-attenuation", _): return "muscle_attenuation"
        case ("muscle-area", _): return "muscle_area"
        case ("visceral-fat-area", _): return "visceral_fat_area"
        default: return nil
        }
    }

    /// Checks a measurement read from a file: known code and calibration, UCUM-looking unit,
    /// finite value, SNOMED site in OsteoCT's value set.
    public func problems() -> [String] {
        var out: [String] = []
        let known = Set(EmbeddedConformance.files.flatMap { f -> [String] in
            guard f.name == "CodeSystem-osteoct.json", let doc = try? FHIRJSONReader.parse(Array(f.json.utf8)) else { return [] }
            return doc.root.all("concept").compactMap { $0.text("code") }
        })
        if !known.contains(code) { out.append("code '\(code)' is not in the OsteoCT code system") }
        if !calibration.hasPrefix("calibration-") || !known.contains(calibration) { out.append("calibration '\(calibration)' is not an OsteoCT calibration code") }
        if !value.isFinite { out.append("value is not a finite number") }
        if !(0...6).contains(digits) { out.append("digits must be 0…6") }
        if unit.isEmpty || unit.contains(" ") { out.append("unit '\(unit)' is not a UCUM code") }
        if OsteoCTConformance.registry.codes(ofValueSet: "http://osteoct.org/fhir/ValueSet/ct-body-sites")?.contains(CodeKey(system: CodeSystems.snomed, code: site)) != true {
            out.append("site '\(site)' is not in OsteoCT's body-site value set")
        }
        if roi.isEmpty { out.append("roi must name the region of interest") }
        return out
    }
}

/// The OsteoCT code system's displays, for other encodings of its codes (DICOM SR).
public enum OsteoCTCodes {
    public static func display(_ code: String) -> String { Concepts.display(code) }
}
