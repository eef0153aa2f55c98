public import Imaging
import Foundation

/// One frame of an image, with what is needed to place it in a volume.
public struct ImageFrame: Sendable {
    public var path: String
    /// Frame index within the file (0 for single-frame images).
    public var frameIndex: Int
    public var sopInstanceUID: String
    public var instanceNumber: Int?
    public var acquisitionNumber: Int?
    /// Image Position (Patient): centre of the first transmitted pixel, LPS mm.
    public var position: Vec3
    /// Direction of increasing column index (along a row), first triplet of Image Orientation (Patient).
    public var rowDirection: Vec3
    /// Direction of increasing row index (down a column), second triplet.
    public var columnDirection: Vec3
    /// Spacing between columns (along a row) and between rows, mm (Pixel Spacing is row\column).
    public var columnSpacing: Double
    public var rowSpacing: Double
    public var sliceThickness: Double?
    public var rescale: Rescale
    public var pixel: ImagePixelInfo
    public var transferSyntax: TransferSyntax
    public var kernel: String?
    /// Enhanced images: Stack ID and In-Stack Position Number of the frame.
    public var stackID: String?
    /// Byte offset in the file of this frame's native pixels (little endian, or big endian for
    /// Explicit VR Big Endian), when the file is uncompressed and not deflated: lets the loader read
    /// pixels straight into the volume.
    public var nativePixelOffset: Int?

    /// Unit normal of the image plane (row × column), pointing the way slices are ordered.
    public var normal: Vec3 { rowDirection.cross(columnDirection).normalized }
}

/// A series as found on disk: identity, acquisition facts and its frames.
public struct SeriesInfo: Sendable {
    public var studyInstanceUID: String
    public var seriesInstanceUID: String
    public var seriesNumber: Int?
    public var seriesDescription: String?
    public var modality: String?
    public var sopClassUIDs: Set<String> = []
    public var manufacturer: String?
    public var manufacturerModelName: String?
    public var stationName: String?
    public var deviceSerialNumber: String?
    public var kvp: Double?
    public var kernel: String?
    public var sliceThickness: Double?
    public var bodyPartExamined: String?
    public var protocolName: String?
    public var contrastBolusAgent: String?
    public var contrastBolusRoute: String?
    public var imageType: [String] = []
    public var patientPosition: String?
    public var frameOfReferenceUID: String?
    public var transferSyntaxes: Set<String> = []
    public var files: Set<String> = []
    /// Frames that can be placed in a volume (images with geometry).
    public var frames: [ImageFrame] = []
    /// Images left out of volumes on purpose (localizers), with the reason.
    public var skipped: [String] = []
    /// Images that should belong to a volume but cannot be used (no or bad geometry, bad pixel
    /// module), with the reason. Loading a stack of such a series fails rather than silently
    /// leaving slices out.
    public var unusable: [String] = []
    public var gantryTilt: Double?

    /// Adds another file's view of the same series: its frames and files; facts this one lacks.
    mutating func absorb(_ o: SeriesInfo) {
        func fill<T>(_ kp: WritableKeyPath<SeriesInfo, T?>) { if self[keyPath: kp] == nil { self[keyPath: kp] = o[keyPath: kp] } }
        fill(\.seriesNumber); fill(\.seriesDescription); fill(\.modality); fill(\.manufacturer)
        fill(\.manufacturerModelName); fill(\.stationName); fill(\.deviceSerialNumber); fill(\.kvp); fill(\.kernel)
        fill(\.sliceThickness); fill(\.bodyPartExamined); fill(\.protocolName); fill(\.contrastBolusAgent)
        fill(\.contrastBolusRoute); fill(\.patientPosition); fill(\.frameOfReferenceUID); fill(\.gantryTilt)
        if imageType.isEmpty { imageType = o.imageType }
        sopClassUIDs.formUnion(o.sopClassUIDs)
        transferSyntaxes.formUnion(o.transferSyntaxes)
        files.formUnion(o.files)
        frames += o.frames
        skipped += o.skipped
        unusable += o.unusable
    }
}

/// A study and its series.
public struct StudyInfo: Sendable {
    public var studyInstanceUID: String
    public var studyDate: String?
    public var studyDescription: String?
    public var accessionNumber: String?
    public var patientID: String?
    public var patientSex: String?
    public var patientAge: String?
    public var patientBirthDate: String?
    public var series: [SeriesInfo]
}

/// Everything found under some paths.
public struct ScanResult: Sendable {
    public var studies: [StudyInfo]
    /// Files that could not be read as DICOM, with the reason.
    public var unreadable: [(path: String, reason: String)]
    /// DICOM files that carry no image (dose reports, SR, presentation states…), by SOP Class UID.
    public var nonImageCount: Int
    public var warnings: [String]
}

/// Finds DICOM images under files and folders and groups them into studies and series.
public enum DICOMScanner {
    /// How much of each file is read to parse its header; pixel data starts within the first few KB
    /// of a CT slice, and an Enhanced CT header with its functional groups can be larger: the whole
    /// file is read then.
    static let headerPrefixBytes = 16 * 1024
    static let localizerReason = "localizer (scout) image, not part of a volume"

    public static func scan(_ paths: [String]) throws(DICOMError) -> ScanResult {
        var files: [String] = []
        for p in paths {
            do { files += try FileIO.listFiles(p) } catch { throw .io(path: p, reason: error.reason) }
        }
        // Parse headers on all cores; results land in per-file slots, then merge in path order.
        let slots = ResultSlots<HeaderResult>(count: files.count)
        let fileList = files
        Parallel.forEach(files.count) { i in
            slots.set(i, readHeader(fileList[i]))
        }
        var bySeries: [String: SeriesInfo] = [:]
        var studyMeta: [String: StudyInfo] = [:]
        var unreadable: [(String, String)] = []
        var nonImage = 0
        var warnings: [String] = []
        for i in 0..<files.count {
            switch slots.get(i) {
            case .none:
                continue
            case .failed(let reason):
                unreadable.append((files[i], reason))
            case .nonImage:
                nonImage += 1
            case .image(let study, let series, let w):
                if studyMeta[study.studyInstanceUID] == nil { studyMeta[study.studyInstanceUID] = study }
                if bySeries[series.seriesInstanceUID] == nil {
                    bySeries[series.seriesInstanceUID] = series
                } else {
                    bySeries[series.seriesInstanceUID]?.absorb(series)
                }
                warnings += w
            }
        }
        var studies: [StudyInfo] = []
        for (uid, var study) in studyMeta {
            study.series = bySeries.values.filter { $0.studyInstanceUID == uid }
                .sorted { ($0.seriesNumber ?? Int.max, $0.seriesInstanceUID) < ($1.seriesNumber ?? Int.max, $1.seriesInstanceUID) }
            studies.append(study)
        }
        studies.sort { ($0.studyDate ?? "", $0.studyInstanceUID) < ($1.studyDate ?? "", $1.studyInstanceUID) }
        return ScanResult(studies: studies, unreadable: unreadable, nonImageCount: nonImage, warnings: warnings)
    }

    enum HeaderResult: Sendable {
        case failed(String)
        case nonImage
        /// What one file says about its study and series (its frames included); the parsed file
        /// itself is dropped here, so scanning a large archive keeps only these summaries.
        case image(study: StudyInfo, series: SeriesInfo, warnings: [String])
    }

    static func readHeader(_ path: String) -> HeaderResult {
        do {
            let (prefix, size) = try FileIO.readPrefix(path: path, maxBytes: headerPrefixBytes)
            var file: DICOMFile
            do {
                file = try DICOMFile.parse(prefix, stopBeforePixels: true)
            } catch {
                // Only a header cut by the prefix is worth reading whole; anything else is not DICOM
                // (and large non-DICOM files must not be read into memory).
                guard size > prefix.count, case .truncated = error else { throw error }
                file = try DICOMFile.read(path: path, stopBeforePixels: true)
            }
            // The prefix may end exactly between two elements before the pixel data: then the
            // header is incomplete even though it parsed, and the whole file is read.
            if size > prefix.count && !file.reachedPixelData {
                file = try DICOMFile.read(path: path, stopBeforePixels: true)
            }
            guard file.dataSet.contains(.rows), file.dataSet.contains(.columns) else { return .nonImage }
            let (study, series, warnings) = summarize(file, path: path)
            return .image(study: study, series: series, warnings: warnings)
        } catch let e as DICOMError {
            if case .inFile(_, let inner) = e { return .failed(inner.description) }
            return .failed(e.description)
        } catch let e as FileIO.Failure {
            return .failed(e.reason)
        } catch {
            return .failed("\(error)")
        }
    }

    /// The study and series facts of one file, and its frames (or why it has none).
    static func summarize(_ file: DICOMFile, path: String) -> (StudyInfo, SeriesInfo, [String]) {
        let ds = file.dataSet
        let studyUID = ds.string(.studyInstanceUID) ?? "(no Study Instance UID)"
        let seriesUID = ds.string(.seriesInstanceUID) ?? "(no Series Instance UID) \(studyUID)"
        let study = StudyInfo(
            studyInstanceUID: studyUID, studyDate: ds.string(.studyDate), studyDescription: ds.string(.studyDescription),
            accessionNumber: ds.string(.accessionNumber), patientID: ds.string(.patientID),
            patientSex: ds.string(.patientSex), patientAge: ds.string(.patientAge),
            patientBirthDate: ds.string(.patientBirthDate), series: [])
        var s = SeriesInfo(studyInstanceUID: studyUID, seriesInstanceUID: seriesUID)
        let enhanced = ds.contains(.perFrameFunctionalGroupsSequence)
        let shared = ds.sequence(.sharedFunctionalGroupsSequence)?.first
        s.seriesNumber = ds.int(.seriesNumber)
        s.seriesDescription = ds.string(.seriesDescription)
        s.modality = ds.string(.modality)
        s.manufacturer = ds.string(.manufacturer)
        s.manufacturerModelName = ds.string(.manufacturerModelName)
        s.stationName = ds.string(.stationName)
        s.deviceSerialNumber = ds.string(.deviceSerialNumber)
        s.kvp = ds.double(.kvp)
        s.kernel = ds.string(.convolutionKernel) ?? functionalString(shared, nil, group: .ctReconstructionSequence, .convolutionKernel)
        s.sliceThickness = ds.double(.sliceThickness) ?? shared?.sequence(.pixelMeasuresSequence)?.first?.double(.sliceThickness)
        s.bodyPartExamined = ds.string(.bodyPartExamined)
        s.protocolName = ds.string(.protocolName)
        s.contrastBolusAgent = ds.string(.contrastBolusAgent)
        s.contrastBolusRoute = ds.string(.contrastBolusRoute)
        s.patientPosition = ds.string(.patientPosition)
        s.frameOfReferenceUID = ds.string(.frameOfReferenceUID)
        s.gantryTilt = ds.double(.gantryDetectorTilt)
        s.imageType = ds.strings(.imageType)
        if let c = ds.string(.sopClassUID) { s.sopClassUIDs.insert(c) }
        s.transferSyntaxes.insert(file.transferSyntax.uid)
        s.files.insert(path)
        do {
            s.frames = try enhanced ? enhancedFrames(file, path: path) : [classicFrame(file, path: path)]
        } catch {
            if case .series(let reason) = error, reason.hasPrefix(localizerReason) {
                s.skipped.append("\(path): \(reason)")
            } else {
                s.unusable.append("\(path): \(error)")
            }
        }
        return (study, s, file.warnings.prefix(3).map { "\(path): \($0)" })
    }

    /// A classic single-frame image (CT Image Storage and the like).
    static func classicFrame(_ file: DICOMFile, path: String) throws(DICOMError) -> ImageFrame {
        let ds = file.dataSet
        let imageType = ds.strings(.imageType).map { $0.uppercased() }
        if imageType.contains("LOCALIZER") {
            throw .series(reason: localizerReason)
        }
        let pixel = try ImagePixelInfo(ds)
        if pixel.numberOfFrames > 1 {
            throw .series(reason: "\(pixel.numberOfFrames)-frame image without per-frame functional groups; its frames have no positions")
        }
        let (pos, row, col) = try planeGeometry(
            position: ds.doubles(.imagePositionPatient), orientation: ds.doubles(.imageOrientationPatient))
        let (rs, cs) = try spacing(ds.doubles(.pixelSpacing))
        let rescale = Rescale(slope: ds.double(.rescaleSlope) ?? 1, intercept: ds.double(.rescaleIntercept) ?? 0)
        try checkRescale(rescale)
        return ImageFrame(
            path: path, frameIndex: 0, sopInstanceUID: ds.string(.sopInstanceUID) ?? path,
            instanceNumber: ds.int(.instanceNumber), acquisitionNumber: ds.int(.acquisitionNumber),
            position: pos, rowDirection: row, columnDirection: col, columnSpacing: cs, rowSpacing: rs,
            sliceThickness: ds.double(.sliceThickness), rescale: rescale, pixel: pixel,
            transferSyntax: file.transferSyntax, kernel: ds.string(.convolutionKernel), stackID: nil,
            nativePixelOffset: nativeOffset(file, pixel, frame: 0))
    }

    /// Where frame `frame` starts in the file, for uncompressed little-endian pixel data of the full size.
    static func nativeOffset(_ file: DICOMFile, _ pixel: ImagePixelInfo, frame: Int) -> Int? {
        guard let (offset, length) = file.nativePixelData,
            length >= pixel.descriptor.frameByteCount * pixel.numberOfFrames
        else { return nil }
        return offset + frame * pixel.descriptor.frameByteCount
    }

    /// Frames of a multi-frame image with functional groups (Enhanced CT, PS3.3 C.7.6.16): per-frame
    /// values override shared ones.
    static func enhancedFrames(_ file: DICOMFile, path: String) throws(DICOMError) -> [ImageFrame] {
        let ds = file.dataSet
        let pixel = try ImagePixelInfo(ds)
        let shared = ds.sequence(.sharedFunctionalGroupsSequence)?.first
        let perFrame = ds.sequence(.perFrameFunctionalGroupsSequence) ?? []
        guard perFrame.count == pixel.numberOfFrames else {
            throw .series(
                reason: "Per-Frame Functional Groups has \(perFrame.count) items for \(pixel.numberOfFrames) frames")
        }
        let frameTypes = ds.strings(.imageType).map { $0.uppercased() }
        if frameTypes.contains("LOCALIZER") { throw .series(reason: localizerReason) }
        var frames: [ImageFrame] = []
        frames.reserveCapacity(perFrame.count)
        for (i, item) in perFrame.enumerated() {
            func group(_ g: Tag) -> DataSet? { item.sequence(g)?.first ?? shared?.sequence(g)?.first }
            let (pos, row, col) = try planeGeometry(
                position: group(.planePositionSequence)?.doubles(.imagePositionPatient),
                orientation: group(.planeOrientationSequence)?.doubles(.imageOrientationPatient))
            let measures = group(.pixelMeasuresSequence)
            let (rs, cs) = try spacing(measures?.doubles(.pixelSpacing))
            let transform = group(.pixelValueTransformationSequence)
            let rescale = Rescale(
                slope: transform?.double(.rescaleSlope) ?? ds.double(.rescaleSlope) ?? 1,
                intercept: transform?.double(.rescaleIntercept) ?? ds.double(.rescaleIntercept) ?? 0)
            try checkRescale(rescale)
            let content = group(.frameContentSequence)
            frames.append(
                ImageFrame(
                    path: path, frameIndex: i, sopInstanceUID: ds.string(.sopInstanceUID) ?? path,
                    instanceNumber: ds.int(.instanceNumber), acquisitionNumber: ds.int(.acquisitionNumber),
                    position: pos, rowDirection: row, columnDirection: col, columnSpacing: cs, rowSpacing: rs,
                    sliceThickness: measures?.double(.sliceThickness), rescale: rescale, pixel: pixel,
                    transferSyntax: file.transferSyntax,
                    kernel: group(.ctReconstructionSequence)?.string(.convolutionKernel),
                    stackID: content?.string(.stackID), nativePixelOffset: nativeOffset(file, pixel, frame: i)))
        }
        return frames
    }

    static func checkRescale(_ r: Rescale) throws(DICOMError) {
        guard r.slope.isFinite, r.slope != 0, abs(r.slope) < 1e6 else {
            throw .invalidValue(tag: .rescaleSlope, value: "\(r.slope)", reason: "Rescale Slope must be a non-zero number")
        }
        guard r.intercept.isFinite, abs(r.intercept) < 1e9 else {
            throw .invalidValue(tag: .rescaleIntercept, value: "\(r.intercept)", reason: "Rescale Intercept must be a finite number")
        }
    }

    static func planeGeometry(position: [Double]?, orientation: [Double]?) throws(DICOMError) -> (Vec3, Vec3, Vec3) {
        guard let p = position, p.count == 3 else {
            throw .missingAttribute(tag: .imagePositionPatient, context: "the image cannot be placed in a volume without it")
        }
        guard let o = orientation, o.count == 6 else {
            throw .missingAttribute(tag: .imageOrientationPatient, context: "the image cannot be placed in a volume without it")
        }
        let row = Vec3(o[0], o[1], o[2]), col = Vec3(o[3], o[4], o[5])
        // Orientation vectors must be unit and orthogonal (PS3.3 C.7.6.2.1.1); small rounding is common.
        guard abs(row.length - 1) < 1e-2, abs(col.length - 1) < 1e-2, abs(row.dot(col)) < 1e-2 else {
            throw .invalidValue(
                tag: .imageOrientationPatient, value: o.map { "\($0)" }.joined(separator: "\\"),
                reason: "the row and column directions are not orthogonal unit vectors")
        }
        // Patient coordinates are millimetres from an origin near the patient; a kilometre off is an error.
        guard p.allSatisfy({ abs($0) < 1e6 }) else {
            throw .invalidValue(
                tag: .imagePositionPatient, value: p.map { "\($0)" }.joined(separator: "\\"),
                reason: "positions must lie within ±1,000,000 mm")
        }
        return (Vec3(p[0], p[1], p[2]), row.normalized, col.normalized)
    }

    static func spacing(_ v: [Double]?) throws(DICOMError) -> (Double, Double) {
        guard let v, v.count == 2 else {
            throw .missingAttribute(tag: .pixelSpacing, context: "pixel size is needed for any measurement")
        }
        guard v[0] > 0, v[1] > 0, v[0] < 100, v[1] < 100 else {
            throw .invalidValue(tag: .pixelSpacing, value: "\(v[0])\\\(v[1])", reason: "pixel spacing must be between 0 and 100 mm")
        }
        return (v[0], v[1])
    }

    static func functionalString(_ shared: DataSet?, _ frame: DataSet?, group: Tag, _ tag: Tag) -> String? {
        (frame?.sequence(group)?.first ?? shared?.sequence(group)?.first)?.string(tag)
    }
}

/// Per-index result slots written by parallel workers.
final class ResultSlots<T: Sendable>: @unchecked Sendable {
    private var items: [T?]
    private let lock = NSLock()
    init(count: Int) { items = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ v: T) { lock.withLock { items[i] = v } }
    func get(_ i: Int) -> T? { lock.withLock { items[i] } }
}
