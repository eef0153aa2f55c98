import BoneFE
import DICOM
import Foundation
import Imaging
import QCT
import Screening

/// `measurements.json`: the CT part of one screening. Versioned; fields are added, never renamed
/// within a major version. What the QCT core does not measure yet is listed, not faked.
/// study.json of an analysis folder: the study as the screening used it (UIDs, dates, series, and
/// the DICOM demographics age and sex may come from), so a re-scoring needs no DICOM.
struct StudyFile: Codable {
    struct Series: Codable {
        var uid: String
        var number: Int?
        var modality: String?
        var description: String?
        var instances: Int
        var bodyPart: String?
    }
    var studyInstanceUID: String
    var studyDate: String?
    var studyDescription: String?
    var accessionNumber: String?
    var patientID: String?
    var patientSex: String?
    var patientAge: String?
    var patientBirthDate: String?
    var series: [Series]

    init(_ i: StudyInfo) {
        studyInstanceUID = i.studyInstanceUID; studyDate = i.studyDate; studyDescription = i.studyDescription; accessionNumber = i.accessionNumber
        patientID = i.patientID; patientSex = i.patientSex; patientAge = i.patientAge; patientBirthDate = i.patientBirthDate
        series = i.series.map { Series(uid: $0.seriesInstanceUID, number: $0.seriesNumber, modality: $0.modality, description: $0.seriesDescription,
                                       instances: max($0.files.count, $0.frames.count), bodyPart: $0.bodyPartExamined) }
    }
}

struct MeasurementsFile: Codable {
    var schema = "osteoct.measurements/0.1"
    var software: String
    /// "done", or "not-run" with the reason (no analysable series, unreadable images).
    var status: String
    var reason: String?
    var series: SeriesSummary?
    var calibration: DensityCalibration?
    var body: BodySummary?
    var femora: [FemurMask]?
    /// Regional vBMD and HU per femur (ROI definitions inside).
    var femurDensitometry: [FemurDensitometry]?
    /// Lumbar vertebral bodies, their levels and the confidence of the count.
    var spine: SpineLevels?
    /// L1 HU, per-level trabecular HU and vBMD, L1–L2 ACR category.
    var spineDensitometry: SpineDensitometry?
    /// Muscle and fat on the mid-L3 slice.
    var bodyComposition: BodyCompositionResult?
    /// Muscle and fat on the slice through the femoral-head centres.
    var hipBodyComposition: HipBodyCompositionResult?
    /// DXA-equivalent areal BMD and T-scores per femur (calibrated scans only).
    var ctxa: [CTXAResult]?
    /// Hip structural analysis per femur: narrow neck, intertrochanter, shaft; hip axis length.
    var hsa: [HSAResult]?
    /// Finite-element sideways fall per femur (stiffness, force, Pistoia strength index).
    var fe: [FemurFEResult]?
    /// Pictures in DIR/qc/ with what they show and their colour legends.
    var qcPictures: [QCPicture]?
    /// With `--labels`: where the masks came from, and the muscles the label map holds.
    var externalLabels: ExternalLabelsSummary?
    var qualityFlags: [QualityFlag]
    var labels: LabelsSummary?
    /// femur-regions.nii.gz: region × compartment of each femur's densitometry ROIs.
    var regionLabels: LabelsSummary?
    var notMeasuredYet: [String]

    struct SeriesSummary: Codable {
        var seriesInstanceUID: String
        var seriesNumber: Int?
        var description: String?
        var size: [Int]
        var spacing_mm: [Double]
        var sliceThickness_mm: Double?
        var chosenBecause: String
    }

    struct BodySummary: Codable {
        var volume_cm3: Double
        var equipmentPixelsRemoved: Int
        var notes: [String]
    }

    struct ExternalLabelsSummary: Codable {
        var source: String
        var mapping: [String: Int]
        var used: [String]
        var muscles: [ExternalMuscle]
        var notes: [String]
    }

    struct LabelsSummary: Codable {
        var file: String
        var values: [String: String]
    }

    static let pending = [
        "muscle groups in 3-D without an external label map (the L3 and femoral-head slices are measured)",
        "finite-element strength on the cadaver scale (the Pistoia index is uncalibrated for clinical CT, so it is reported here but not passed to the risk model or the FHIR results)",
    ]
}

/// The CT part of `analyze`: the hip series, its calibration (phantom → profile → phantomless →
/// none), the body mask, femur masks and regional densitometry, quality flags. Returns the file contents
/// and the label maps (name, gzip NIfTI bytes); nothing is written here.
/// External label map given with `--labels` (and `--label-mapping`).
struct ExternalLabelInput {
    var labels: Volume<UInt8>
    var mapping: [String: Int]
    var source: String
}

/// With `dicom`, the DICOM objects are made too (`--dicom-out`): their content date and time (the
/// screening's issue instant, so that the same input gives the same bytes).
struct DICOMOutputRequest {
    var contentDate: String
    var contentTime: String
}

func analyzeCT(scan: ScanResult, options: CalibrationOptions, height_m: Double? = nil, bmi: Double? = nil, external: ExternalLabelInput? = nil,
               ageReference: (reference: BMDAgeReference, ageAtScan: Double?)? = nil, dicom: DICOMOutputRequest? = nil,
               stopAfterFemora: Bool = false, femurHook: ((FemurStage) throws -> Void)? = nil, fe: FEOptions? = nil, progress: (String) -> Void = { _ in }) throws
    -> (file: MeasurementsFile, maps: [(name: String, bytes: [UInt8])], dicom: [(name: String, bytes: [UInt8])]) {
    var file = MeasurementsFile(software: "OsteoCT \(OsteoCTVersion.string)", status: "not-run", reason: nil, series: nil, calibration: nil,
                                body: nil, femora: nil, femurDensitometry: nil, spine: nil, spineDensitometry: nil, bodyComposition: nil, hipBodyComposition: nil, ctxa: nil, hsa: nil, fe: nil, qcPictures: nil, externalLabels: nil, qualityFlags: [], labels: nil, regionLabels: nil, notMeasuredYet: MeasurementsFile.pending)
    let stack: ImageStack
    do { stack = try StackLookup.find(in: scan, selector: "hip") } catch {
        file.reason = "no series suitable for hip analysis: \(error.description)"
        return (file, [], [])
    }
    progress("reading the hip series")
    let loaded: LoadedVolume
    do { loaded = try VolumeAssembly.load(stack) } catch {
        file.reason = "the hip series could not be read: \(error.description)"
        return (file, [], [])
    }
    let s = stack.series
    let ct = LoadedCT(loaded, studyDate: nil)
    let v = ct.volume
    file.series = .init(seriesInstanceUID: s.seriesInstanceUID, seriesNumber: s.seriesNumber, description: s.seriesDescription,
                        size: [v.size.x, v.size.y, v.size.z], spacing_mm: v.geometry.spacing.array, sliceThickness_mm: s.sliceThickness,
                        chosenBecause: SeriesSelection.describe(s, stack))
    progress("calibration (phantom search, reference tissues, contrast)")
    do {
        let catalogue = try options.catalogue()
        file.calibration = try studyCalibration(ct, definition: try options.definition(catalogue), catalogue: catalogue, store: options.store)
    } catch {
        file.reason = "calibration: \(error)"
        return (file, [], [])
    }
    progress("body mask and quality flags")
    var body: BodyMask?
    do { body = try BodySegmenter.segment(v, padding: ct.padding) } catch { file.qualityFlags.append(QualityFlag(code: "no-body", severity: "exclude", message: "\(error)")) }
    if let body {
        let voxel = v.geometry.spacing.x * v.geometry.spacing.y * v.geometry.spacing.z / 1000
        file.body = .init(volume_cm3: (Double(body.voxels) * voxel * 10).rounded() / 10, equipmentPixelsRemoved: body.equipmentPixels, notes: body.notes)
    }
    file.qualityFlags += QualityChecks.assess(v, body: body, calibration: file.calibration!, sliceThickness: s.sliceThickness)
    var maps: [(name: String, bytes: [UInt8])] = []
    var dicomFiles: [(name: String, bytes: [UInt8])] = []
    if var body {
        // One label map, one byte per voxel, for body, femora, vertebrae and the L3 tissues: the body
        // mask becomes it (memory: the whole CT part stays within 3× the HU volume).
        // A side with metal is not segmented (the prosthesis replaces the bone).
        let excluded = Set(file.qualityFlags.compactMap { f -> FemurMask.Side? in
            f.code == "metal-left" ? .left : f.code == "metal-right" ? .right : nil
        })
        var imported: ExternalLabelImport?
        if let external {
            progress("importing \(external.source)")
            do { imported = try ExternalLabels.apply(external.labels, mapping: external.mapping, source: external.source, ct: v, body: &body, exclude: excluded) } catch {
                throw CommandFailure("--labels: \(error)")
            }
        }
        progress("femora: masks, heads, axes, trochanters")
        let (femora, boxes): ([FemurMask], [FemurMask.Side: VoxelBox]) = imported.map { ($0.femora, $0.boxes) } ?? {
            let femurs = FemurSegmenter.segment(v, body: body, exclude: excluded)
            for q in 0..<femurs.labels.voxels.count where femurs.labels.voxels[q] != 0 { body.mask.voxels[q] = femurs.labels.voxels[q] }
            return (femurs.femora, femurs.boxes)
        }()
        if let imported, let external {
            file.externalLabels = .init(source: external.source, mapping: external.mapping,
                                        used: ["femora"] + (imported.spine != nil ? ["vertebrae (levels as labelled)"] : []) + (imported.muscles.isEmpty ? [] : ["muscles"]),
                                        muscles: imported.muscles, notes: imported.notes)
        }
        file.femora = femora
        for f in femora where !f.separated {
            file.qualityFlags.append(QualityFlag(code: "femur-\(f.side.rawValue)-not-separated", severity: "exclude", message: f.notes.joined(separator: "; ")))
        }
        file.qualityFlags += SegmentationChecks.femurFlags(v, labels: body.mask, femora: femora, boxes: boxes, padding: ct.padding)
        progress("femur regions and CTXA")
        // Regional densitometry of each separated, unflagged femur.
        var regionMap = [UInt8](repeating: 0, count: v.voxels.count)
        var densitometry: [FemurDensitometry] = []
        let cut = Set(file.qualityFlags.filter { $0.severity == "exclude" && $0.code.hasSuffix("-cut-by-fov") }.map(\.code))
        for f in femora where f.separated && !cut.contains("femur-\(f.side.rawValue)-cut-by-fov") {
            guard let box = boxes[f.side] else { continue }
            if let d = FemurDensitometer.measure(v, labels: body.mask, femur: f, box: box,
                                                 calibration: file.calibration!, regionMap: &regionMap) {
                densitometry.append(d)
            }
        }
        file.femurDensitometry = densitometry
        var ctxaImages: [(side: FemurMask.Side, image: CTXAImage)] = []
        // CTXA needs calibrated density.
        let cal = file.calibration!
        if cal.method != .none, cal.density(hu: 0) != nil {
            var ctxa: [CTXAResult] = []
            for d in densitometry {
                guard let f = femora.first(where: { $0.side == d.side }) else { continue }
                if let (r, image) = CTXA.measure(labels: body.mask, regionMap: regionMap, femur: f, densitometry: d, calibration: cal,
                                                 density: { q in cal.density(hu: Double(v.voxels[q])) ?? 0 }) {
                    var r = r
                    if let ageReference {
                        if let age = ageReference.ageAtScan {
                            CTXA.applyAgeReference(&r, reference: ageReference.reference, age: age)
                        } else {
                            r.notes.append("Z-score not computed: the age at the scan is unknown (no birth date or age in the EHR record or the DICOM header)")
                        }
                    }
                    ctxa.append(r)
                    ctxaImages.append((d.side, image))
                }
            }
            file.ctxa = ctxa
            progress("hip structural analysis")
            file.hsa = densitometry.compactMap { d in
                femora.first { $0.side == d.side }.flatMap { f in
                    HSA.measure(labels: body.mask, femur: f, density: { q in cal.density(hu: Double(v.voxels[q])) ?? 0 },
                                hu: { q in Double(v.voxels[q]) }, equivalent: cal.equivalent?.rawValue)
                }
            }
        }
        var fePictures: [(picture: QCPicture, bytes: [UInt8], image: RGBImage?)] = []
        let measurable = femora.filter { f in f.separated && !file.qualityFlags.contains { $0.severity == "exclude" && $0.code.hasPrefix("femur-\(f.side.rawValue)-") } }
        if let femurHook {
            try femurHook(FemurStage(ct: v, calibration: cal, labels: body.mask, femora: measurable))
        }
        // `fe` and `bench fe` need nothing past the femora.
        if stopAfterFemora { return (file, [], []) }
        if let fe, cal.method != .none, cal.density(hu: 0) != nil {
            var results: [FemurFEResult] = []
            for f in measurable {
                progress("finite elements: \(f.side.rawValue) femur, \(fe.loadCase.rawValue), \(fe.voxel) mm")
                guard let landmarks = femurLandmarks(f) else { continue }
                do {
                    let model = try FemurModel.build(mask: body.mask, value: f.side.label, density: { q in cal.density(hu: Double(v.voxels[q])) ?? 0 },
                                                     femur: landmarks, loadCase: fe.loadCase, law: fe.law, voxel: fe.voxel,
                                                     equivalent: cal.equivalent?.rawValue ?? "none")
                    var (r, field, _) = try model.analyse()
                    r.side = f.side.rawValue
                    results.append(r)
                    if let map = StrainMap.render(model, result: r, field: field, landmarks: landmarks, ct: v) {
                        let legend = ["colour bar": String(format: "equivalent strain 0–%.0f µε, dark blue (low) to pale yellow (high)", map.scaleMax_microstrain),
                                      "red line": String(format: "critical strain %.0f µε", r.criticalStrain * 1e6)]
                        for (name, image) in [("strain-\(f.side.rawValue)", map.alone), ("strain-over-ct-\(f.side.rawValue)", map.overCT)] {
                            guard let image, let bytes = try? PNG.encode(image) else { continue }
                            fePictures.append((QCPicture(file: "qc/\(name).png", shows: "\(f.side.rawValue) femur, \(fe.loadCase.rawValue): " + map.description
                                                         + (name.contains("over-ct") ? ", over the CT (bone window)" : ""), legend: legend), bytes, image))
                        }
                    }
                } catch {
                    file.qualityFlags.append(QualityFlag(code: "fe-\(f.side.rawValue)-failed", severity: "warning",
                                                         message: "finite-element model of the \(f.side.rawValue) femur not solved: \(error)"))
                }
            }
            file.fe = results
        }
        progress("spine: vertebral bodies, levels, L1")
        let spine = imported?.spine ?? SpineSegmenter.segment(v, body: &body, opacifiedVessels: cal.contrast?.flagged == true)
        file.spine = spine
        file.qualityFlags += SegmentationChecks.spineFlags(spine, contrast: cal.contrast?.flagged == true)
        file.spineDensitometry = SpineDensitometer.measure(v, labels: body.mask.voxels, levels: spine, calibration: cal)
        progress("body composition at L3")
        if let (composition, tissue) = BodyCompositionAnalyzer.measure(v, labels: body.mask.voxels, levels: spine, height_m: height_m, bmi: bmi) {
            file.bodyComposition = composition
            for t in tissue { body.mask.voxels[t.index] = t.label }
        }
        progress("body composition at the femoral heads")
        let heads = femora.compactMap { $0.head.map { Vec3($0.center[0], $0.center[1], $0.center[2]) } }
        if let (composition, tissue) = HipBodyCompositionAnalyzer.measure(v, labels: body.mask.voxels, headCentres: heads, midlineX: body.midlineX) {
            file.hipBodyComposition = composition
            for t in tissue { body.mask.voxels[t.index] = t.label }
        }
        progress("label maps and QC pictures")
        if let bytes = try? Zlib.deflate(NIfTI.encode(body.mask, description: "OsteoCT labels"), format: .gzip) { maps.append(("labels.nii.gz", bytes)) }
        var values = ["0": "outside the body", "1": "body (table and pad removed)",
                      "\(FemurSegmenter.rightLabel)": "right proximal femur", "\(FemurSegmenter.leftLabel)": "left proximal femur"]
        for b in spine.bodies { values["\(b.labelValue)"] = "vertebral body " + (b.level ?? "(level not assigned)") }
        if file.bodyComposition != nil { for (name, value) in BodyCompositionAnalyzer.labelValues { values["\(value)"] = name } }
        if file.hipBodyComposition != nil { for (name, value) in HipBodyCompositionAnalyzer.labelValues { values["\(value)"] = name } }
        if !densitometry.isEmpty, let rv = try? Volume(size: v.size, geometry: v.geometry, voxels: regionMap),
           let bytes = try? Zlib.deflate(NIfTI.encode(rv, description: "OsteoCT femur regions"), format: .gzip) {
            maps.append(("femur-regions.nii.gz", bytes))
            var regionValues = ["0": "none"]
            for side in [FemurMask.Side.right, .left] {
                let base = Int(FemurDensitometer.labelBase(side))
                for (r, name) in FemurDensitometer.regionNames.enumerated() {
                    for (c, comp) in ["rim outside the mask (mineral only)", "mask, neither trabecular nor cortical", "trabecular", "cortical"].enumerated() {
                        regionValues["\(base + 4 * r + c)"] = "\(side.rawValue) \(name), \(comp)"
                    }
                }
            }
            file.regionLabels = .init(file: "femur-regions.nii.gz", values: regionValues)
        }
        file.labels = .init(file: "labels.nii.gz", values: values)
        let pictures = QCPictures.render(.init(ct: v, labels: body.mask.voxels, regions: densitometry.isEmpty ? [] : regionMap, femora: femora,
                                               spine: spine.bodies.isEmpty ? nil : spine, bodyComposition: file.bodyComposition,
                                               hipBodyComposition: file.hipBodyComposition, ctxa: ctxaImages, calibration: file.calibration)) + fePictures
        file.qcPictures = pictures.map(\.picture)
        maps += pictures.map { (name: $0.picture.file, bytes: $0.bytes) }
        if let dicom {
            progress("DICOM Segmentation and Secondary Capture")
            var analysed = file
            analysed.status = "done"
            dicomFiles = try derivedDICOM(stack: stack, labels: body.mask, levels: spine, pictures: pictures, measurements: ctMeasurements(analysed), request: dicom)
        }
    }
    file.status = "done"
    return (file, maps, dicomFiles)
}

/// Finite elements inside analyze: load case, element size, density → modulus law.
struct FEOptions {
    var loadCase: FemurLoadCase = .sidewaysFall
    var voxel = 1.0
    var law: DensityModulusLaw = .keyakAsh
}

/// The femur's head and axes as the finite-element model needs them.
func femurLandmarks(_ f: FemurMask) -> FemurLandmarks? {
    guard let head = f.head, let axes = f.axes else { return nil }
    return FemurLandmarks(
        headCentre: Vec3(head.center[0], head.center[1], head.center[2]), headRadius: head.radius_mm,
        neckAxis: Vec3(axes.neckAxisDirection[0], axes.neckAxisDirection[1], axes.neckAxisDirection[2]),
        shaftPoint: Vec3(axes.shaftAxisPoint[0], axes.shaftAxisPoint[1], axes.shaftAxisPoint[2]),
        shaftAxis: Vec3(axes.shaftAxisDirection[0], axes.shaftAxisDirection[1], axes.shaftAxisDirection[2]),
        lesserTrochanter: axes.lesserTrochanterApex.map { Vec3($0[0], $0[1], $0[2]) })
}

/// What the CT part knows about the femora once they are segmented and the CT calibrated: what the
/// finite-element model is built from.
struct FemurStage {
    var ct: Volume<Int16>
    var calibration: DensityCalibration
    /// Label map with the femora as `FemurMask.Side.label`.
    var labels: Volume<UInt8>
    /// Separated femora without an excluding flag (metal, cut by the field of view, not separated).
    var femora: [FemurMask]
}

/// Why measurements.json yields no reportable CT measurement, in a few words.
func ctNothingReason(_ f: MeasurementsFile) -> String {
    if f.status != "done" { return f.reason ?? "the CT was not analysed" }
    let joined = f.femora?.filter { !$0.separated }.map(\.side.rawValue) ?? []
    let flags = f.qualityFlags.filter { $0.severity == "exclude" }.map(\.code)
    if !joined.isEmpty { return "femora not separated from the pelvis (\(joined.joined(separator: ", "))): slices too thick or joint space blurred shut" + (flags.isEmpty ? "" : "; flags: " + flags.joined(separator: ", ")) }
    if !flags.isEmpty { return "excluded by quality flags: " + flags.joined(separator: ", ") }
    return "no femur could be measured"
}

/// The reportable CT measurements of measurements.json as they go into Observations and the risk
/// model: per hip, femoral-neck and total-hip vBMD (calibrated scans), the proximal femur HU, CTXA
/// DXA-equivalent aBMD and T-score. Sides excluded by a quality flag are left out.
func ctMeasurements(_ f: MeasurementsFile) -> [CTMeasurement] {
    guard f.status == "done", let cal = f.calibration else { return [] }
    let calibration: String
    switch cal.method {
    case .synchronousPhantom: calibration = "calibration-synchronous-phantom"
    case .asynchronousProfile: calibration = "calibration-asynchronous-phantom"
    case .internalTissues: calibration = "calibration-phantomless"
    case .none: calibration = "calibration-none"
    }
    let excluded = Set(f.qualityFlags.filter { $0.severity == "exclude" }.map(\.code))
    func measurable(_ side: FemurMask.Side) -> Bool {
        !excluded.contains("metal-\(side.rawValue)") && !excluded.contains("femur-\(side.rawValue)-not-separated")
    }
    let neck = (code: "29627003", display: "Structure of neck of femur"), hip = (code: "310651003", display: "Bone structure of proximal femur")
    var out: [CTMeasurement] = []
    for d in f.femurDensitometry ?? [] {
        guard measurable(d.side) else { continue }
        let s: CTMeasurement.Side = d.side == .left ? .left : .right
        func region(_ name: String) -> FemurRegionDensity? { d.regions.first { $0.region == name } }
        if let n = region("neck") {
            if let v = n.integral.vBMD_mgcm3 {
                out.append(CTMeasurement(code: "vbmd-integral", kind: .bone, value: v, digits: 1, unit: "mg/cm3", site: neck.code, siteDisplay: neck.display,
                                         side: s, calibration: calibration, roi: "femoral neck, integral: " + FemurDensitometer.definitions["neck"]!))
            }
            if let v = n.trabecular?.vBMD_mgcm3 {
                out.append(CTMeasurement(code: "vbmd-trabecular", kind: .bone, value: v, digits: 1, unit: "mg/cm3", site: neck.code, siteDisplay: neck.display,
                                         side: s, calibration: calibration, roi: "femoral neck, trabecular: " + FemurDensitometer.definitions["trabecular"]!))
            }
        }
        if let t = region("total_hip"), let v = t.integral.vBMD_mgcm3 {
            out.append(CTMeasurement(code: "vbmd-integral", kind: .bone, value: v, digits: 1, unit: "mg/cm3", site: hip.code, siteDisplay: hip.display,
                                     side: s, calibration: calibration, roi: "total hip, integral: " + FemurDensitometer.definitions["total_hip"]!))
        }
        if let p = d.proximalFemurHU {
            out.append(CTMeasurement(code: "trabecular-attenuation", kind: .bone, value: p.meanHU, digits: 0, unit: "[hnsf'U]", site: hip.code,
                                     siteDisplay: hip.display, side: s, calibration: "calibration-none", roi: "proximal femur HU: " + p.roi))
        }
    }
    if let sd = f.spineDensitometry {
        let l1 = (code: "66794005", display: "Bone structure of L1")
        if let a = sd.l1 {
            out.append(CTMeasurement(code: "trabecular-attenuation", kind: .bone, value: a.meanHU, digits: 0, unit: "[hnsf'U]", site: l1.code,
                                     siteDisplay: l1.display, calibration: "calibration-none", roi: "L1 HU: " + sd.roi))
        }
        if let v = sd.l1l2vBMD_mgcm3 {
            out.append(CTMeasurement(code: "vbmd-trabecular", kind: .bone, value: v, digits: 1, unit: "mg/cm3", site: l1.code, siteDisplay: l1.display,
                                     calibration: calibration, roi: "mean of L1 and L2 trabecular vBMD (ACR/ISCD): " + sd.roi))
        }
    }
    if let b = f.bodyComposition {
        let muscle = (code: "127954009", display: "Skeletal muscle structure")
        let roi = "mid-L3 axial slice: " + b.method
        out.append(CTMeasurement(code: "muscle-area", kind: .bodyComposition, value: b.skeletalMuscleArea_cm2, digits: 1, unit: "cm2",
                                 site: muscle.code, siteDisplay: muscle.display, calibration: "calibration-none", roi: roi))
        out.append(CTMeasurement(code: "muscle-attenuation", kind: .bodyComposition, value: b.muscleMeanHU, digits: 1, unit: "[hnsf'U]",
                                 site: muscle.code, siteDisplay: muscle.display, calibration: "calibration-none", roi: roi))
        if let smi = b.skeletalMuscleIndex {
            out.append(CTMeasurement(code: "skeletal-muscle-index", kind: .bodyComposition, value: smi, digits: 1, unit: "cm2/m2",
                                     site: muscle.code, siteDisplay: muscle.display, calibration: "calibration-none", roi: roi + "; height from the EHR"))
        }
        out.append(CTMeasurement(code: "visceral-fat-area", kind: .bodyComposition, value: b.visceralFatArea_cm2, digits: 1, unit: "cm2",
                                 site: "52731004", siteDisplay: "Abdominal cavity structure", calibration: "calibration-none", roi: roi))
        out.append(CTMeasurement(code: "subcutaneous-fat-area", kind: .bodyComposition, value: b.subcutaneousFatArea_cm2, digits: 1, unit: "cm2",
                                 site: "71966008", siteDisplay: "Subcutaneous tissue structure", calibration: "calibration-none", roi: roi))
    }
    for c in f.ctxa ?? [] {
        guard measurable(c.side) else { continue }
        let s: CTMeasurement.Side = c.side == .left ? .left : .right
        for r in c.regions {
            let site = r.name == "femoral_neck" ? neck : hip
            let roi = "CTXA \(r.name.replacingOccurrences(of: "_", with: " ")): \(r.definition); " + c.dxaConversion
            out.append(CTMeasurement(code: "ctxa-abmd", kind: .bone, value: r.dxaEquivalent_gcm2, digits: 3, unit: "g/cm2", site: site.code,
                                     siteDisplay: site.display, side: s, calibration: calibration, roi: roi))
            if let t = r.tScore {
                out.append(CTMeasurement(code: "ctxa-tscore", kind: .bone, value: t, digits: 1, unit: "1", site: site.code, siteDisplay: site.display,
                                         side: s, calibration: calibration, roi: roi + "; " + c.tScoreReference))
            }
            if let z = r.zScore, let ref = c.zScoreReference {
                out.append(CTMeasurement(code: "ctxa-zscore", kind: .bone, value: z, digits: 1, unit: "1", site: site.code, siteDisplay: site.display,
                                         side: s, calibration: calibration, roi: roi + "; age-matched reference: " + ref))
            }
        }
    }
    for h in f.hsa ?? [] {
        guard measurable(h.side) else { continue }
        let s: CTMeasurement.Side = h.side == .left ? .left : .right
        for x in h.sections {
            // One Observation per code, site and side: the three sections need three sites.
            let site = x.name == "narrow_neck" ? neck : x.name == "shaft" ? (code: "41111004", display: "Bone structure of shaft of femur") : hip
            let roi = "HSA \(x.name.replacingOccurrences(of: "_", with: " ")) section: \(x.definition); " + h.method
            for (code, value, digits, unit) in [("hsa-cross-sectional-area", x.csa_cm2, 2, "cm2"), ("hsa-section-modulus", x.sectionModulus_cm3, 3, "cm3"),
                                                ("hsa-cortical-thickness", x.corticalThicknessMeasured_mm, 2, "mm"), ("hsa-outer-diameter", x.outerDiameter_mm, 1, "mm"),
                                                ("hsa-buckling-ratio", x.bucklingRatio, 1, "1")] where value.isFinite {
                out.append(CTMeasurement(code: code, kind: .bone, value: value, digits: digits, unit: unit, site: site.code, siteDisplay: site.display,
                                         side: s, calibration: calibration, roi: roi))
            }
        }
    }
    return out
}

/// The label map as a DICOM Segmentation (femora, vertebral bodies by level) and each PNG QC picture
/// as a Secondary Capture, in the source study, on the source frame of reference.
func derivedDICOM(stack: ImageStack, labels: Volume<UInt8>, levels: SpineLevels, pictures: [(picture: QCPicture, bytes: [UInt8], image: RGBImage?)],
                  measurements: [CTMeasurement], request: DICOMOutputRequest) throws -> [(name: String, bytes: [UInt8])] {
    let source: DICOMSourceReference
    do { source = try DICOMSourceReference.from(stack, sliceSpacing: abs(labels.geometry.spacing.z)) } catch {
        throw CommandFailure("--dicom-out: \(error)")
    }
    let anatomy = CodedConcept("91723000", "SCT", "Anatomical Structure")
    let femur = CodedConcept("71341001", "SCT", "Femur")
    var segments = [
        SegmentDefinition(labelValue: FemurSegmenter.rightLabel, label: "Right proximal femur", category: anatomy, type: femur,
                          typeModifier: CodedConcept("24028007", "SCT", "Right"), cielab: [43000, 55000, 30000]),
        SegmentDefinition(labelValue: FemurSegmenter.leftLabel, label: "Left proximal femur", category: anatomy, type: femur,
                          typeModifier: CodedConcept("7771000", "SCT", "Left"), cielab: [43000, 30000, 55000]),
    ]
    let vertebra: [String: CodedConcept] = ["L1": CodedConcept("66794005", "SCT", "L1 vertebra"), "L2": CodedConcept("14293000", "SCT", "L2 vertebra"),
                                            "L3": CodedConcept("36470004", "SCT", "L3 vertebra"), "L4": CodedConcept("11994002", "SCT", "L4 vertebra"),
                                            "L5": CodedConcept("49668003", "SCT", "L5 vertebra")]
    for b in levels.bodies {
        guard let level = b.level, let code = vertebra[level] else { continue }
        segments.append(SegmentDefinition(labelValue: UInt8(b.labelValue), label: "\(level) vertebral body", category: anatomy, type: code))
    }
    let base = stack.series.seriesInstanceUID
    let seg = DerivedSeries(seriesInstanceUID: DICOMUID.derived(from: "osteoct-seg-series " + base), sopInstanceUIDPrefix: DICOMUID.derived(from: "osteoct-seg-sop " + base),
                            seriesNumber: 9901, seriesDescription: "OsteoCT segmentation (femora, vertebral bodies)", softwareVersion: OsteoCTVersion.string,
                            contentDate: request.contentDate, contentTime: request.contentTime)
    var out: [(name: String, bytes: [UInt8])] = []
    do {
        let ds = try DerivedObjects.segmentation(labels, segments: segments, source: source, series: seg,
                                                 algorithm: "OsteoCT thresholds, components and morphology")
        out.append(("seg.dcm", try DICOMWriter.part10(ds)))
        let sc = DerivedSeries(seriesInstanceUID: DICOMUID.derived(from: "osteoct-sc-series " + base), sopInstanceUIDPrefix: DICOMUID.derived(from: "osteoct-sc-sop " + base),
                               seriesNumber: 9902, seriesDescription: "OsteoCT QC pictures", softwareVersion: OsteoCTVersion.string,
                               contentDate: request.contentDate, contentTime: request.contentTime)
        var n = 0
        for p in pictures {
            guard let img = p.image else { continue }
            n += 1
            let ds = DerivedObjects.secondaryCapture(img, title: p.picture.shows, source: source, series: sc, instance: n)
            let name = "sc-" + ((p.picture.file as NSString).lastPathComponent as NSString).deletingPathExtension + ".dcm"
            out.append((name, try DICOMWriter.part10(ds)))
        }
        if !measurements.isEmpty {
            let sr = DerivedSeries(seriesInstanceUID: DICOMUID.derived(from: "osteoct-sr-series " + base), sopInstanceUIDPrefix: DICOMUID.derived(from: "osteoct-sr-sop " + base),
                                   seriesNumber: 9903, seriesDescription: "OsteoCT measurements (TID 1500)", softwareVersion: OsteoCTVersion.string,
                                   contentDate: request.contentDate, contentTime: request.contentTime)
            let ds = DerivedObjects.measurementReport(groups: srGroups(measurements, base: base), source: source, series: sr,
                                                      observerUID: DICOMUID.derived(from: "osteoct-device"), observerName: "OsteoCT \(OsteoCTVersion.string)",
                                                      scheme: osteoctScheme)
            out.append(("sr.dcm", try DICOMWriter.part10(ds)))
        }
    } catch {
        throw CommandFailure("--dicom-out: \(error)")
    }
    return out
}

/// OsteoCT's code system as a private DICOM coding scheme (its codes name the measurements and
/// calibration methods that have no standard code).
let osteoctScheme = PrivateCodingScheme(designator: "99OSTEOCT", name: "OsteoCT code system (http://osteoct.org/fhir/CodeSystem/osteoct)",
                                        uid: DICOMUID.derived(from: "osteoct-coding-scheme"))

/// One TID 1501 group per CT measurement: tracking identifier from code, site and side; the value with
/// its UCUM unit; the calibration as the measurement method.
func srGroups(_ ms: [CTMeasurement], base: String) -> [SRMeasurementGroup] {
    let units = ["mg/cm3": "milligram per cubic centimeter", "[hnsf'U]": "Hounsfield unit", "g/cm2": "gram per square centimeter",
                 "cm2": "square centimeter", "cm2/m2": "square centimeter per square meter", "1": "no units", "N": "Newton"]
    return ms.enumerated().map { n, m in
        let code = CodedConcept(m.code, osteoctScheme.designator, OsteoCTCodes.display(m.code))
        let method = CodedConcept(m.calibration, osteoctScheme.designator, OsteoCTCodes.display(m.calibration))
        let unit = CodedConcept(m.unit, "UCUM", units[m.unit] ?? m.unit)
        let side = m.side.map { $0 == .left ? CodedConcept("7771000", "SCT", "Left") : CodedConcept("24028007", "SCT", "Right") }
        let id = "\(m.code) \(m.siteDisplay)" + (m.side.map { " \($0.rawValue)" } ?? "")
        return SRMeasurementGroup(trackingIdentifier: String(id.prefix(64)), trackingUID: DICOMUID.derived(from: "osteoct-sr-tracking \(base) \(n) \(id)"),
                                  findingSite: CodedConcept(m.site, "SCT", m.siteDisplay), laterality: side,
                                  measurements: [SRMeasurement(concept: code, value: m.value, unit: unit, method: method)])
    }
}
