import ArgumentParser
import BoneFE
import DICOM
import FHIR
import Foundation
import Imaging
import QCT
import Reports
import RiskModel
import Screening
import Service

struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "The whole screening of one CT study: EHR features, risk with explanation, and the FHIR transaction Bundle (JSON and XML).",
        discussion: """
            STUDY is a DICOM folder or file of one study. --patient is the woman's EHR record as a FHIR
            Bundle (Patient, Observation, Condition, MedicationStatement/Request, FamilyMemberHistory).
            Writes into --out: bundle.json and bundle.xml (the transaction Bundle, validated against
            OsteoCT's profiles before anything is written), features.json (every feature with the
            resource and date it came from, stale and superseded values), risk.json, measurements.json,
            report.html (the explanation page) and, when the risk is high and the site configuration
            does not place the referral in the Bundle, referral.json (the fracture-liaison
            ServiceRequest a CDS card offers).
            The CT is measured (calibration, bone density, CTXA, HSA, finite elements, muscle and fat);
            when it cannot be, the report says why and the risk rests on the EHR data.
            Reproducible: the same inputs and --issued give byte-identical files (without --issued,
            SOURCE_DATE_EPOCH is used when set, else the current time).
            """)

    @Argument(help: "DICOM study (folder or file).") var study: String
    @Option(help: "EHR record: a FHIR R4 Bundle (JSON or XML).") var patient: String?
    @Option(help: "Output folder.") var out: String = "osteoct-out"
    @Option(help: "Site configuration (JSON): FLS performer, referral status, identifier systems.") var config: String?
    @OptionGroup var calibrationOptions: CalibrationOptions

    @Option(help: "CT measurements made elsewhere (JSON array of measurements, see Examples/measurements-external-qct.json).") var measurements: String?
    @Option(help: "A label map on the CT's grid (NIfTI) whose femora, vertebrae and muscles replace the built-in masks; TotalSegmentator v2 'total' ids unless --label-mapping says otherwise.")
    var labels: String?
    @Option(help: "Also write the masks as a DICOM Segmentation (seg.dcm), the measurements as a TID 1500 Structured Report (sr.dcm) and the QC pictures as Secondary Capture images (sc-*.dcm) into this folder, in the source study and frame of reference.")
    var dicomOut: String?
    @Option(help: "JSON object of structure name → label value for --labels, e.g. {\"femur_left\": 75, \"vertebrae_L1\": 31}.")
    var labelMapping: String?
    @Option(help: "When the results count as issued (FHIR instant, e.g. 2026-11-25T10:00:00Z).") var issued: String?
    @Option(help: "Date the risk is assessed for (age, staleness, current medication); default: the --issued date.") var asOf: String?
    @Option(help: "Age-matched areal-BMD reference (JSON: source, population, regions femoral_neck/total_hip → age bands with mean_gcm2 and sd_gcm2) for CTXA Z-scores; OsteoCT ships none.")
    var bmdAgeReference: String?
    @Flag(help: "Re-score without the CT: STUDY is the folder of an earlier analysis of the study (its study.json, measurements.json and pictures are reused); only the record and the risk are new. For a changed EHR record.")
    var reuseCt = false
    @Option(help: "The revision of this study's screening when it is not the first (images arrived after an earlier analysis): 2, 3, …; its resources get identifiers of their own so the EHR keeps both.")
    var revision: Int?
    @Flag(help: "Skip the finite-element sideways fall (1 mm voxels, multigrid; a few seconds per femur).") var noFe = false
    @Option(help: "Days after which an EHR value is flagged stale (overrides the per-feature defaults).") var staleDays: Int?
    @Flag(help: "Leave stale EHR values out instead of using them with a flag.") var dropStale = false
    @Flag(help: "Print JSON (the risk result).") var json = false

    func validate() throws {
        if let issued, FHIRInstant(lexical: issued) == nil {
            throw ValidationError("--issued '\(issued)' is not a FHIR instant (YYYY-MM-DDThh:mm:ssZ)")
        }
        if let staleDays, staleDays < 1 { throw ValidationError("--stale-days must be at least 1") }
        if let revision, revision < 2 { throw ValidationError("--revision is 2 or more (the first screening of a study has none)") }
        if reuseCt && revision == nil {
            throw ValidationError("--reuse-ct needs --revision N (2 or more): without it the new results would carry the earlier ones' identifiers and the EHR would keep the old ones")
        }
        if reuseCt && (labels != nil || measurements != nil || dicomOut != nil || bmdAgeReference != nil) {
            throw ValidationError("--reuse-ct takes the CT part as it was: --labels, --measurements, --dicom-out and --bmd-age-reference do not apply")
        }
        if labelMapping != nil && labels == nil { throw ValidationError("--label-mapping needs --labels (the label map it describes)") }
        if let asOf, FHIRDate(lexical: asOf) == nil || asOf.count != 10 {
            throw ValidationError("--as-of '\(asOf)' is not a date (YYYY-MM-DD)")
        }
    }

    func run() throws {
        let configuration = try loadConfiguration()
        let issuedAt = issued ?? Self.defaultIssued()

        // The study: DICOM, or the study.json of an earlier analysis (--reuse-ct).
        var scan: ScanResult?
        let info: StudyFile
        if reuseCt {
            info = try Self.readJSON(StudyFile.self, (study as NSString).appendingPathComponent("study.json"),
                                     what: "the study of the earlier analysis (--reuse-ct needs a folder `osteoct analyze` wrote)")
        } else {
            let s: ScanResult
            do { s = try DICOMScanner.scan([study]) } catch {
                throw CommandFailure("\(study): \(error)")
            }
            guard !s.studies.isEmpty else {
                let why = s.unreadable.prefix(3).map { "\($0.path): \($0.reason)" }.joined(separator: "; ")
                throw CommandFailure("\(study): no DICOM images found\(why.isEmpty ? "" : " (\(why))"); analyze needs the DICOM study (its UIDs go into the ImagingStudy)")
            }
            guard s.studies.count == 1, let only = s.studies.first else {
                throw CommandFailure("\(study) holds \(s.studies.count) studies (\(s.studies.map(\.studyInstanceUID).joined(separator: ", "))); point at one study")
            }
            scan = s
            info = StudyFile(only)
        }
        let studyDate = info.studyDate.flatMap(Self.fhirDate)
        // The risk is for the day of the assessment: the latest EHR data count, and age is today's age.
        guard let asOf = FHIRDay(self.asOf ?? issuedAt) else { throw CommandFailure("cannot read the assessment date") }

        // The EHR record.
        var options = EHRMappingOptions(asOf: asOf)
        if let staleDays {
            options.staleDays = [:]
            options.defaultStaleDays = staleDays
        }
        options.useStaleValues = !dropStale
        var ehr: EHRFeatures?
        if let patient {
            let bytes = try readFile(patient)
            let bundle: FHIR.Bundle
            do {
                let decoded = try FHIRCodec.decode(FHIR.Bundle.self, from: bytes, format: FHIRFormat.fromPath(patient))
                for i in decoded.issues { FileHandle.standardError.write(Data("warning: \(patient): \(i)\n".utf8)) }
                bundle = decoded.resource
            } catch {
                throw CommandFailure("\(patient): \(error)")
            }
            ehr = EHRMapper.map(bundle: bundle, options: options)
        }
        var features = ehr?.features ?? PatientFeatures()
        var dicomNotes: [String] = []
        // The CT part (calibration, masks, densitometry, CTXA, quality flags); its failure is reported, not fatal.
        // Progress on a terminal only (stderr), never with --json or when piped.
        let showProgress = !json && isatty(2) != 0
        let started = Date()
        var external: ExternalLabelInput?
        if let labels {
            let volume: Volume<UInt8>
            do { volume = try NIfTI.read(path: labels).labelVolume(path: labels) } catch { throw CommandFailure("--labels: \(error)") }
            var mapping = ExternalLabels.totalSegmentatorV2, source = "TotalSegmentator v2 'total' ids"
            if let labelMapping {
                do { mapping = try ExternalLabels.mapping(json: try readFile(labelMapping), path: labelMapping) } catch let e as QCTError {
                    throw CommandFailure("--label-mapping: \(e)")
                }
                source = "mapping \((labelMapping as NSString).lastPathComponent)"
            }
            external = ExternalLabelInput(labels: volume, mapping: mapping, source: "\((labels as NSString).lastPathComponent), \(source)")
        }
        // DICOM content date and time: the issue instant (UTC), so the same input gives the same bytes.
        let digits = issuedAt.filter(\.isNumber)
        let dicomRequest = dicomOut == nil ? nil : DICOMOutputRequest(contentDate: String(digits.prefix(8)), contentTime: String(digits.dropFirst(8).prefix(6)))
        var ageReference: (reference: BMDAgeReference, ageAtScan: Double?)?
        if let bmdAgeReference {
            do { ageReference = (try BMDAgeReference.load(json: try readFile(bmdAgeReference), path: bmdAgeReference), nil) } catch let e as QCTError {
                throw CommandFailure("--bmd-age-reference: \(e)")
            }
            ageReference?.ageAtScan = Self.ageAtScan(info, features: features, asOf: asOf, studyDate: studyDate)
        }
        let (ctFile, maps, dicomFiles): (MeasurementsFile, [(name: String, bytes: [UInt8])], [(name: String, bytes: [UInt8])])
        if let scan {
            (ctFile, maps, dicomFiles) = try analyzeCT(scan: scan, options: calibrationOptions, height_m: features["height"].map { $0 / 100 }, bmi: features["bmi"],
                                                       external: external, ageReference: ageReference, dicom: dicomRequest, fe: noFe ? nil : FEOptions(),
                                                       progress: { step in
                                                           guard showProgress else { return }
                                                           FileHandle.standardError.write(Data(String(format: "[%5.1f s] CT: %@…\n", Date().timeIntervalSince(started), step).utf8))
                                                       })
        } else {
            // The CT part as the earlier analysis left it: its measurements and every picture and map.
            var earlier = try Self.readJSON(MeasurementsFile.self, (study as NSString).appendingPathComponent("measurements.json"), what: "the earlier analysis's measurements")
            // What depends on her height and weight is worked out again from the new record.
            earlier.bodyComposition?.applyAnthropometrics(height_m: features["height"].map { $0 / 100 }, bmi: features["bmi"])
            ctFile = earlier
            maps = Self.earlierPictures(study)
            dicomFiles = []
        }
        var ct: [CTMeasurement] = []
        var ctSource: String
        if let measurements {
            do {
                ct = try JSONDecoder().decode([CTMeasurement].self, from: Data(try readFile(measurements)))
            } catch let e as CommandFailure {
                throw e
            } catch {
                throw CommandFailure("\(measurements): not a list of CT measurements: \(error)")
            }
            for (k, m) in ct.enumerated() {
                let p = m.problems()
                guard p.isEmpty else { throw CommandFailure("\(measurements): measurement \(k) (\(m.code)): " + p.joined(separator: "; ")) }
            }
            ctSource = "measurements supplied from \((measurements as NSString).lastPathComponent) (they replace OsteoCT's own)"
        } else {
            ct = ctMeasurements(ctFile)
            ctSource = ct.isEmpty ? "OsteoCT measured nothing it could report from this CT: " + ctNothingReason(ctFile)
                : "measured by OsteoCT from series \(ctFile.series?.seriesInstanceUID ?? "?") (measurements.json)"
        }
        // A risk feature measured on both hips takes the worse (lower) side.
        var worst: [String: CTMeasurement] = [:]
        for m in ct { if let id = m.riskFeature, worst[id].map({ m.value < $0.value }) ?? true { worst[id] = m } }
        for (id, m) in worst.sorted(by: { $0.key < $1.key }) {
            do { try features.set(id, m.value, sd: m.sd) } catch { throw CommandFailure("CT measurement \(m.code): \(error)") }
        }
        Self.fillFromDICOM(info, &features, &dicomNotes, asOf: asOf)

        // The risk.
        let model: ModelDefinition
        do { model = try ModelDefinition.defaultModel() } catch { throw CommandFailure("built-in model: \(error)") }
        let risk: RiskResult
        do { risk = try RiskPredictor(model: model).predict(features) } catch {
            throw CommandFailure("risk: \(error)")
        }

        let reference = StudyReference(
            studyInstanceUID: info.studyInstanceUID, accessionNumber: info.accessionNumber, started: studyDate,
            description: info.studyDescription,
            series: info.series.map { s in
                StudyReference.Series(uid: s.uid, number: s.number, modality: s.modality ?? "CT", description: s.description, instances: s.instances,
                                      bodyPart: s.bodyPart)
            },
            dicomPatientID: info.patientID)
        var result = ScreeningResult(
            study: reference, measurements: ct, ehr: ehr, risk: risk, issued: issuedAt, softwareVersion: OsteoCTVersion.string,
            ctNotes: [ctSource])
        result.revision = revision
        // The explanation page, also the DiagnosticReport's presented form; the strain maps as Media.
        let report = ReportPage.html(Self.reportInput(result: result, card: model.card, ct: ctFile, maps: maps))
        result.reportPage = Array(report.utf8)
        result.reportMedia = maps.compactMap { m -> ReportMedia? in
            let name = (m.name as NSString).lastPathComponent
            guard name.hasPrefix("strain-over-ct-"), let (w, h) = Self.pngSize(m.bytes) else { return nil }
            let side: CTMeasurement.Side = name.contains("left") ? .left : .right
            return ReportMedia(key: "strain-\(side.rawValue)", title: "Equivalent strain in a sideways fall, \(side.rawValue) femur (finite elements, over the CT)",
                               png: m.bytes, width: w, height: h, side: side)
        }
        let bundle = ScreeningBundleBuilder.build(result, configuration: configuration)

        // The stand-alone referral a CDS card offers when the Bundle does not place it (`referOnHighRisk` false).
        let referral: [(name: String, bytes: [UInt8])] = CardInput(result, configuration: configuration).referral.map {
            [(name: "referral.json", bytes: Array($0.utf8) + [0x0A])]
        } ?? []
        // Validate before writing anything.
        let issues = OsteoCTConformance.validator().validate(AnyResource(bundle))
        let errors = issues.filter { $0.severity <= .error }
        guard errors.isEmpty else {
            throw CommandFailure("the Bundle OsteoCT built does not validate (a bug; nothing was written):\n  " + errors.map(\.description).joined(separator: "\n  "))
        }

        let evidence = FeaturesFile(asOf: asOf.description, features: ehr?.evidence ?? [], supporting: ehr?.supporting ?? [],
                                    notes: (ehr?.notes ?? []) + dicomNotes, patient: ehr?.patientReference)
        try writeAtomically([
            (name: "bundle.json", bytes: FHIRCodec.encode(bundle, format: .json, pretty: true)),
            (name: "bundle.xml", bytes: FHIRCodec.encode(bundle, format: .xml, pretty: true)),
            (name: "features.json", bytes: [UInt8](try JSONOut.encode(evidence)) + [0x0A]),
            (name: "risk.json", bytes: [UInt8](try JSONOut.encode(risk)) + [0x0A]),
            (name: "measurements.json", bytes: [UInt8](try JSONOut.encode(ctFile)) + [0x0A]),
            (name: "study.json", bytes: [UInt8](try JSONOut.encode(info)) + [0x0A]),
            (name: "report.html", bytes: Array(report.utf8)),
        ] + referral + maps, into: out)
        if let dicomOut {
            guard !dicomFiles.isEmpty else {
                throw CommandFailure("--dicom-out: nothing to write (the CT was not analysed: \(ctFile.reason ?? ctNothingReason(ctFile))); the other results are in \(out)")
            }
            try writeAtomically(dicomFiles, into: dicomOut)
        }

        if json {
            try JSONOut.print(risk)
        } else {
            print("Study \(info.studyInstanceUID) (\(studyDate ?? "no date")), \(info.series.count) series; assessed as of \(asOf)")
            if let ehr {
                print("EHR: \(ehr.evidence.count) features from \(ehr.usedSources.count) resources; \(ehr.evidence.filter(\.stale).count) stale; \(ehr.notes.count) notes")
            }
            for p in risk.probabilities { print(String(format: "  %2d-year hip-fracture risk %.2f %%", p.years, p.percent)) }
            print("Category: \(risk.category.level)")
            print("CT measurements: \(ct.count) (\(result.ctNotes.joined(separator: "; ")))")
            if let c = ctFile.calibration {
                print("CT: calibration \(c.method.rawValue)\(c.reference.map { " (\($0))" } ?? ""); \(ctFile.qualityFlags.count) quality flag(s)"
                      + (ctFile.qualityFlags.isEmpty ? "" : ": " + ctFile.qualityFlags.map(\.code).joined(separator: ", ")))
            } else {
                print("CT: not analysed — \(ctFile.reason ?? "")")
            }
            print("Wrote \(out)/bundle.json, bundle.xml (\(bundle.entry.count) entries), features.json, risk.json, measurements.json\(maps.map { ", " + $0.name }.joined())")
        }
    }

    static func readJSON<T: Decodable>(_ type: T.Type, _ path: String, what: String) throws -> T {
        guard let d = FileManager.default.contents(atPath: path) else { throw CommandFailure("\(path) is missing: \(what)") }
        do { return try JSONDecoder().decode(T.self, from: d) } catch { throw CommandFailure("\(path): \(what) does not read: \(error)") }
    }

    /// The pictures and label maps of an earlier analysis folder (qc/…, labels.nii.gz, femur-regions.nii.gz).
    static func earlierPictures(_ dir: String) -> [(name: String, bytes: [UInt8])] {
        let fm = FileManager.default
        var out: [(name: String, bytes: [UInt8])] = []
        for name in ["labels.nii.gz", "femur-regions.nii.gz"] {
            if let d = fm.contents(atPath: (dir as NSString).appendingPathComponent(name)) { out.append((name, [UInt8](d))) }
        }
        let qc = (dir as NSString).appendingPathComponent("qc")
        for name in ((try? fm.contentsOfDirectory(atPath: qc)) ?? []).sorted() {
            if let d = fm.contents(atPath: (qc as NSString).appendingPathComponent(name)) { out.append(("qc/" + name, [UInt8](d))) }
        }
        return out
    }

    /// Width and height from a PNG's IHDR chunk.
    static func pngSize(_ b: [UInt8]) -> (Int, Int)? {
        guard b.count >= 24, b[12...15].elementsEqual(Array("IHDR".utf8)) else { return nil }
        let w = b[16...19].reduce(0) { $0 << 8 | Int($1) }, h = b[20...23].reduce(0) { $0 << 8 | Int($1) }
        return w > 0 && h > 0 ? (w, h) : nil
    }

    /// What the explanation page shows from the CT part: the CTXA projections, the segmentation overlay
    /// and the strain maps over the CT, the quality flags, the FE strength and the calibration.
    static func reportInput(result: ScreeningResult, card: ModelDefinition.ModelCard, ct: MeasurementsFile,
                            maps: [(name: String, bytes: [UInt8])]) -> ReportInput {
        var pictures: [ReportPicture] = []
        for p in ct.qcPictures ?? [] {
            let name = (p.file as NSString).lastPathComponent
            guard name.hasPrefix("ctxa-") || name == "coronal-hips.png" || name.hasPrefix("strain-over-ct-"),
                  let bytes = maps.first(where: { $0.name == p.file })?.bytes else { continue }
            let legend = p.legend.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
            let title = name.hasPrefix("ctxa-") ? "CTXA projection, \(name.contains("left") ? "left" : "right") hip"
                : name.hasPrefix("strain") ? "Strain in a sideways fall, \(name.contains("left") ? "left" : "right") femur" : "Segmentation: femur regions"
            pictures.append(ReportPicture(title: title, alt: p.shows + (legend.isEmpty ? "" : ". " + legend), caption: p.shows + (legend.isEmpty ? "" : " (\(legend))"),
                                          png: bytes, section: name.hasPrefix("strain") ? "strain" : "ct"))
        }
        let strength = (ct.fe ?? []).map { r in
            ReportStrength(side: r.side ?? "", strength_N: r.strength_N, stiffness_N_per_mm: r.stiffness_N_per_mm, threshold_N: r.lowStrengthThreshold_N ?? 3000,
                           calibrated: r.lowStrength != nil,
                           method: String(format: "linear voxel FE at %.1f mm, %@; Pistoia %.0f %% / %.1f %%", r.voxel_mm, r.loadCase, r.criticalVolume_percent, r.criticalStrain * 100))
        }
        return ReportInput(result: result, card: card, pictures: pictures,
                           qualityFlags: ct.qualityFlags.map { ReportFlag(code: $0.code, severity: $0.severity, message: $0.message) },
                           strength: strength, calibration: ct.calibration.map { c in c.method.rawValue + (c.reference.map { " (\($0))" } ?? "") })
    }

    struct FeaturesFile: Encodable {
        var asOf: String
        var features: [FeatureEvidence]
        var supporting: [SupportingValue]
        var notes: [String]
        var patient: String?
    }

    func loadConfiguration() throws -> ScreeningConfiguration {
        guard let config else { return ScreeningConfiguration() }
        let c: ScreeningConfiguration
        do {
            c = try JSONDecoder().decode(ScreeningConfiguration.self, from: Data(try readFile(config)))
        } catch let e as CommandFailure {
            throw e
        } catch {
            throw CommandFailure("\(config): not a valid configuration: \(error)")
        }
        let problems = c.check()
        guard problems.isEmpty else { throw CommandFailure("\(config): " + problems.joined(separator: "; ")) }
        return c
    }

    /// DICOM DA (YYYYMMDD) → FHIR date.
    static func fhirDate(_ da: String) -> String? {
        let d = da.filter(\.isNumber)
        guard d.count == 8 else { return nil }
        let s = "\(d.prefix(4))-\(d.dropFirst(4).prefix(2))-\(d.suffix(2))"
        return FHIRDate(lexical: s) != nil ? s : nil
    }

    static func defaultIssued() -> String {
        var seconds = Int(Date().timeIntervalSince1970)
        if let epoch = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"], let v = Int(epoch) { seconds = v }
        let day = FHIRDay(daysSince1970: seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400)
        let rest = seconds - day.daysSince1970 * 86400
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(day)T\(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60))Z"
    }

    /// Age on the day of the scan: the EHR's age at the assessment date less the time since the scan;
    /// else the DICOM birth date to the study date; else the DICOM PatientAge (mid-year).
    static func ageAtScan(_ info: StudyFile, features: PatientFeatures, asOf: FHIRDay, studyDate: String?) -> Double? {
        let scanDay = studyDate.flatMap { FHIRDay($0) }
        if let age = features["age"] {
            guard let scanDay else { return age }
            return age - scanDay.years(until: asOf)
        }
        if let b = info.patientBirthDate.flatMap(fhirDate), let born = FHIRDay(b) {
            return born.years(until: scanDay ?? asOf)
        }
        if let a = info.patientAge, a.hasSuffix("Y"), let years = Double(a.dropLast()) { return years + 0.5 }
        return nil
    }

    /// Age and sex from the DICOM header when the EHR gave none.
    static func fillFromDICOM(_ info: StudyFile, _ f: inout PatientFeatures, _ notes: inout [String], asOf: FHIRDay) {
        if f["sex"] == nil, let s = info.patientSex?.uppercased() {
            if s == "F" {
                try? f.set("sex", 1)
                notes.append("sex from the DICOM header (PatientSex F)")
            } else if s == "M" {
                try? f.set("sex", 2)
                notes.append("sex from the DICOM header (PatientSex M)")
            }
        }
        if f["age"] == nil {
            if let b = info.patientBirthDate.flatMap(fhirDate), let day = FHIRDay(b) {
                try? f.set("age", day.years(until: asOf))
                notes.append("age from the DICOM header (PatientBirthDate \(b))")
            } else if let a = info.patientAge, a.hasSuffix("Y"), let years = Double(a.dropLast()) {
                try? f.set("age", years + 0.5)
                notes.append("age from the DICOM header (PatientAge \(a), mid-year assumed)")
            }
        }
    }
}
