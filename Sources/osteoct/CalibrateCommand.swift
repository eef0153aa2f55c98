import ArgumentParser
import DICOM
import Foundation
import Imaging
import QCT

/// `osteoct calibrate`: HU → mineral density for one CT series.
struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "HU → bone-mineral density (mg/cm³): phantom calibration, scanner profiles, and the calibration a study gets.",
        discussion: """
            `calibrate phantom SCAN` finds a calibration phantom's rods in a scan and fits them;
            --save-profile NAME keeps the fit as a scanner profile (asynchronous calibration) for studies
            from the same scanner, kVp and kernel without a phantom. `calibrate study STUDY` gives a
            study its calibration: its own phantom if one is in the scan, else the matching scanner
            profile, else none (HU only, said in every output). `calibrate profiles` lists the profiles.
            """,
        subcommands: [CalibratePhantom.self, CalibrateStudy.self, CalibrateProfiles.self]
    )
}

/// Options shared by the calibration subcommands.
struct CalibrationOptions: ParsableArguments {
    @Option(help: "Calibration phantom id (see `calibrate phantom --list-phantoms`); default: the best fit of the catalogue.")
    var phantom: String?

    @Option(help: "Additional phantom definitions (JSON array), e.g. your phantom's certificate values.")
    var phantomCatalogue: String?

    @Option(help: "Scanner-profile folder (default: $OSTEOCT_SCANNER_PROFILES or ~/.osteoct/scanner-profiles).")
    var profiles: String?

    func catalogue() throws -> CalibrationPhantomCatalogue {
        var catalogue = CalibrationPhantomCatalogue.builtIn
        if let phantomCatalogue {
            do { try catalogue.add(contentsOf: URL(fileURLWithPath: phantomCatalogue)) } catch { throw CommandFailure(error.description) }
        }
        return catalogue
    }

    func definition(_ catalogue: CalibrationPhantomCatalogue) throws -> CalibrationPhantomDefinition? {
        guard let phantom else { return nil }
        guard let d = catalogue.phantom(phantom) else {
            throw CommandFailure("no phantom '\(phantom)' in the catalogue; known: \(catalogue.phantoms.map(\.id).joined(separator: ", "))")
        }
        return d
    }

    var store: ScannerProfileStore {
        ScannerProfileStore(directory: profiles.map { URL(fileURLWithPath: $0) } ?? ScannerProfileStore.defaultDirectory())
    }
}

struct CalibratePhantom: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phantom",
        abstract: "Find the calibration phantom's rods in a scan and fit HU = σ·ρ + β; optionally save it as a scanner profile.",
        discussion: """
            The rods are found without being told where they are: uniform disks that stay the same along
            the table, lying in a row (an axial series with the rods through its central 80 % of slices).
            Each found rod is matched to a certified rod by the straightest fit with HU rising with density.
            Plain least squares, or the Mindways water-corrected equations for Mindways phantoms. Prints the
            fit, every rod with its residual and a QC verdict; exit 1 when no phantom is found or QC fails.
            """
    )

    @Argument(help: "CT series: a DICOM folder or file, or a NIfTI volume (.nii/.nii.gz, HU).")
    var input: String?

    @Option(help: "Series to use when the input holds several: Series Instance UID, series number, or 'hip'.")
    var series: String?

    @OptionGroup var options: CalibrationOptions

    @Option(help: "Save the fit as the scanner profile NAME (needs DICOM with scanner, kVp and kernel tags).")
    var saveProfile: String?

    @Flag(help: "Replace a profile of the same name.")
    var replace = false

    @Flag(help: "List the phantoms of the catalogue.")
    var listPhantoms = false

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        if !listPhantoms && input == nil { throw ValidationError("give a CT series (DICOM folder/file or NIfTI), or --list-phantoms") }
    }

    func run() throws {
        let catalogue = try options.catalogue()
        if listPhantoms {
            if json { try JSONOut.print(catalogue.phantoms); return }
            for p in catalogue.phantoms {
                let rods = p.rods.map { "\($0.name) \(fmt($0.density_mgcm3))" }.joined(separator: ", ")
                print("\(p.id): \(p.name) — \(p.equivalent.rawValue), \(p.equations.rawValue); rods \(rods) mg/cm³; source: \(p.source)")
            }
            return
        }
        let definition = try options.definition(catalogue)
        let ct = try loadCT(input!, series: series)
        let calibration: DensityCalibration
        do { calibration = try PhantomCalibration.calibrate(ct.volume, padding: ct.padding, phantom: definition, catalogue: catalogue) } catch {
            throw CommandFailure("\(input!): \(error.description)")
        }
        var saved: URL?
        if let saveProfile, calibration.qc.passed {
            guard let key = ct.scanner else {
                throw CommandFailure("--save-profile needs a DICOM series (a NIfTI file carries no scanner, kVp or kernel)")
            }
            // A patient on the phantom: her tissues' equivalents pre-calibrate phantomless studies.
            let tissues = ReferenceTissueFinder.measure(ct.volume, padding: ct.padding)
            let profile = ScannerProfile(name: saveProfile, scanner: key, phantomScanDate: ct.studyDate, created: isoNow(), calibration: calibration,
                                         tissueEquivalents: InternalCalibration.equivalents(tissues, under: calibration))
            do { saved = try options.store.save(profile, replace: replace) } catch { throw CommandFailure("\(error)") }
        }
        if json {
            try JSONOut.print(calibration)
        } else {
            print(CalibrateCommand.describe(calibration))
            if let saved { print("scanner profile saved: \(saved.path) (\(ct.scanner?.summary ?? ""))") }
        }
        if !calibration.qc.passed {
            if saveProfile != nil { FileHandle.standardError.write(Data("no profile saved: the calibration failed QC\n".utf8)) }
            throw ExitCode(1)
        }
    }
}

struct CalibrateStudy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "study",
        abstract: "The calibration a study gets: its own phantom, else a scanner profile, else its air and fat (phantomless), else none.",
        discussion: """
            Order from ct-core.md §7: a phantom in the scan (synchronous), then a scanner profile of the
            same scanner, kVp and kernel (asynchronous), then the study's own air and subcutaneous fat at
            the mineral equivalents a profile of the same model and kVp recorded from the patient on its
            phantom scan (phantomless, pre-calibrated); else HU only, and the output says why. The study's
            reference-tissue HUs (air, fat) are recorded in every case.
            """
    )

    @Argument(help: "CT series: a DICOM folder or file, or a NIfTI volume (.nii/.nii.gz, HU).")
    var input: String

    @Option(help: "Series to use when the input holds several: Series Instance UID, series number, or 'hip'.")
    var series: String?

    @OptionGroup var options: CalibrationOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let catalogue = try options.catalogue()
        let definition = try options.definition(catalogue)
        let ct = try loadCT(input, series: series)
        let c = try studyCalibration(ct, definition: definition, catalogue: catalogue, store: options.store)
        if json { try JSONOut.print(c) } else { print(CalibrateCommand.describe(c)) }
    }
}

/// Synchronous if a phantom fits and passes QC, else the matching scanner profile, else the
/// study's own air and fat pre-calibrated by a profile of the same model and kVp, else none. The
/// study's reference tissues are recorded whatever the method.
func studyCalibration(_ ct: LoadedCT, definition: CalibrationPhantomDefinition?, catalogue: CalibrationPhantomCatalogue,
                      store: ScannerProfileStore) throws -> DensityCalibration {
    var rodsSeen: [(center: Vec3, radius: Double)] = []
    var c = try calibrationByMethod(ct, definition: definition, catalogue: catalogue, store: store, rodsSeen: &rodsSeen)
    // The phantom's rods are uniform bright tubes too: keep them out of the vessel search, also when
    // the phantom's fit failed QC and another method calibrated the study.
    let rods = c.method == .synchronousPhantom
        ? c.points.compactMap { p in p.center.map { (center: Vec3($0[0], $0[1], $0[2]), radius: p.radius_mm ?? 15) } } : rodsSeen
    let contrast = ContrastDetector.assess(ct.volume, padding: ct.padding, tags: ct.contrastTags, exclude: rods)
    c.contrast = contrast
    if contrast.flagged { c.notes.append("contrast (\(contrast.phase.rawValue)): densities are flagged; " + contrast.notes.joined(separator: "; ")) }
    return c
}

func calibrationByMethod(_ ct: LoadedCT, definition: CalibrationPhantomDefinition?, catalogue: CalibrationPhantomCatalogue,
                         store: ScannerProfileStore, rodsSeen: inout [(center: Vec3, radius: Double)]) throws -> DensityCalibration {
    let tissues = ReferenceTissueFinder.measure(ct.volume, padding: ct.padding)
    var why: [String] = []
    do {
        var c = try PhantomCalibration.calibrate(ct.volume, padding: ct.padding, phantom: definition, catalogue: catalogue)
        c.referenceTissues = tissues
        if c.qc.passed { return c }
        rodsSeen = c.points.compactMap { p in p.center.map { (center: Vec3($0[0], $0[1], $0[2]), radius: p.radius_mm ?? 15) } }
        why.append("the phantom in the scan failed QC (" + c.qc.problems.joined(separator: "; ") + ")")
    } catch {
        why.append(error.description)
    }
    guard let key = ct.scanner else {
        why.append("a NIfTI file carries no scanner identity, so no scanner profile can be matched")
        var c = DensityCalibration.none(reason: "no calibration: " + why.joined(separator: "; ") + ". Densities are not reported; HU values are.")
        c.referenceTissues = tissues
        return c
    }
    let (profile, rejected) = store.match(key)
    if let profile {
        var c = ScannerProfileStore.apply(profile)
        c.notes.insert("no usable phantom in the scan: " + why.joined(separator: "; "), at: 0)
        c.referenceTissues = tissues
        return c
    }
    why.append(rejected.isEmpty ? "no scanner profiles in \(store.directory.path)" : "no scanner profile matches \(key.summary) (" + rejected.joined(separator: "; ") + ")")
    if let ref = store.tissueReference(for: key), let eq = ref.tissueEquivalents {
        var c = InternalCalibration.calibrate(tissues, reference: eq, profile: ref.name, equivalent: ref.calibration.equivalent)
        c.notes.insert(why.joined(separator: "; "), at: 0)
        if c.qc.passed || c.method == .internalTissues { return c }
        why.append(c.qc.problems.joined(separator: "; "))
    } else {
        why.append("no profile of \(key.manufacturer ?? "?") \(key.model ?? "?") at \(key.kvp.map { "\($0)" } ?? "?") kVp carries tissue equivalents for phantomless calibration")
    }
    var c = DensityCalibration.none(reason: "no calibration: " + why.joined(separator: "; ") + ". Densities are not reported; HU values are.")
    c.referenceTissues = tissues
    return c
}

struct CalibrateProfiles: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "profiles", abstract: "List the scanner profiles.")

    @Option(help: "Scanner-profile folder (default: $OSTEOCT_SCANNER_PROFILES or ~/.osteoct/scanner-profiles).")
    var profiles: String?

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let store = ScannerProfileStore(directory: profiles.map { URL(fileURLWithPath: $0) } ?? ScannerProfileStore.defaultDirectory())
        let (all, problems) = store.all()
        for p in problems { FileHandle.standardError.write(Data("warning: \(p)\n".utf8)) }
        if json { try JSONOut.print(all); return }
        if all.isEmpty { print("no scanner profiles in \(store.directory.path)") }
        for p in all {
            print(String(format: "%@: %@ — HU = %.4f·ρ %+.2f (phantom %@, scanned %@, created %@)", p.name, p.scanner.summary,
                         p.calibration.slope_HU_per_mgcm3 ?? 0, p.calibration.intercept_HU ?? 0, p.calibration.reference ?? "?",
                         p.phantomScanDate ?? "?", p.created))
        }
    }
}

extension CalibrateCommand {
    static func describe(_ c: DensityCalibration) -> String {
        var lines: [String] = []
        lines.append("calibration: \(c.method.rawValue) with \(c.reference ?? "-") (\(c.equivalent?.rawValue ?? "HU only"))")
        if let s = c.slope_HU_per_mgcm3, let b = c.intercept_HU {
            var line = String(format: "  HU = %.4f · ρ %@ %.2f", s, b < 0 ? "−" : "+", abs(b))
            if let se = c.slopeSE, let be = c.interceptSE, let r2 = c.rSquared, let rms = c.rmsResidual_mgcm3 {
                line += String(format: "   (σ SE %.4f, β SE %.2f HU; R² %.5f; RMS residual %.2f mg/cm³)", se, be, r2, rms)
            }
            lines.append(line)
            lines.append(String(format: "  ρ (mg/cm³) = (HU %@ %.2f) / %.4f", b < 0 ? "+" : "−", abs(b), s))
        }
        for p in c.points {
            lines.append(String(format: "  %@ %@: %8.2f mg/cm³  mean %8.2f HU  SD %6.1f  %6d voxels  residual %+.2f mg/cm³",
                                c.method == .internalTissues ? "tissue" : "rod", p.name, p.density_mgcm3, p.meanHU, p.sdHU, p.voxels, p.residual_mgcm3))
        }
        lines.append("  QC: " + (c.qc.passed ? "passed" : "FAILED — " + c.qc.problems.joined(separator: "; ")))
        if let t = c.referenceTissues {
            for s in [t.air, t.subcutaneousFat].compactMap({ $0 }) {
                lines.append(String(format: "  reference tissue %@: %.1f HU (SD %.1f, %d voxels)%@", s.tissue, s.meanHU, s.sdHU, s.voxels,
                                    s.withinQCWindow ? "" : String(format: " OUTSIDE its QC window %.0f…%.0f HU", s.qcWindowHU[0], s.qcWindowHU[1])))
            }
        }
        if let x = c.contrast {
            lines.append("  contrast: \(x.phase.rawValue)" + (x.vesselHU.map { String(format: " (opacified vessel %.0f HU)", $0) } ?? "") +
                         (x.tagEvidence.isEmpty ? "" : "; tags: " + x.tagEvidence.joined(separator: ", ")))
        }
        for n in c.notes { lines.append("  note: \(n)") }
        return lines.joined(separator: "\n")
    }
}

/// Now as an ISO 8601 instant (SOURCE_DATE_EPOCH when set, for reproducible output).
func isoNow() -> String {
    let env = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"].flatMap(Double.init)
    let f = ISO8601DateFormatter()
    return f.string(from: env.map { Date(timeIntervalSince1970: $0) } ?? Date())
}

private func fmt(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }

/// A CT volume in HU with what is known of its scanner.
struct LoadedCT {
    var volume: Volume<Int16>
    var padding: Int16?
    var scanner: ScannerKey?
    var studyDate: String?
    var contrastTags: ContrastTags?
}

extension LoadedCT {
    /// A DICOM series: its volume and what its tags say of the scanner and of contrast.
    init(_ loaded: LoadedVolume, studyDate: String?) {
        let s = loaded.stack.series
        self.init(volume: loaded.volume, padding: loaded.paddingHU,
                  scanner: ScannerKey(manufacturer: s.manufacturer, model: s.manufacturerModelName, stationName: s.stationName,
                                      deviceSerialNumber: s.deviceSerialNumber, kvp: s.kvp, kernel: s.kernel),
                  studyDate: studyDate,
                  contrastTags: ContrastTags(agent: s.contrastBolusAgent, route: s.contrastBolusRoute,
                                             seriesDescription: s.seriesDescription, protocolName: s.protocolName))
    }
}

/// A CT volume in HU from a DICOM series or a NIfTI file, with the padding value outside the field of view.
func loadCT(_ path: String, series: String?) throws -> LoadedCT {
    if path.hasSuffix(".nii") || path.hasSuffix(".nii.gz") {
        do {
            let (v, _) = try NIfTI.read(path: path).int16Volume()
            return LoadedCT(volume: v, padding: nil, scanner: nil, studyDate: nil, contrastTags: nil)
        } catch { throw CommandFailure("\(path): \(error)") }
    }
    do {
        let scan = try DICOMScanner.scan([path])
        let stack = try StackLookup.find(in: scan, selector: series)
        let loaded = try VolumeAssembly.load(stack)
        return LoadedCT(loaded, studyDate: scan.studies.first { $0.studyInstanceUID == stack.series.studyInstanceUID }?.studyDate)
    } catch {
        throw CommandFailure("\(path): \(error.description)")
    }
}
