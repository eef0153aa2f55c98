// Results a radiologist opens in her own viewer: the label map as a DICOM Segmentation (PS3.3 A.51,
// binary, one frame per segment and source slice, every frame tied to its source image and position)
// and the QC pictures as Secondary Capture images (PS3.3 A.8.1). Both copy the patient and study of
// the source series and share its frame of reference, so the segmentation overlays the CT voxel for
// voxel in any viewer that honours the standard.
public import Imaging
import Foundation

/// What derived objects copy from and point at: the source series.
public struct DICOMSourceReference: Sendable {
    /// Patient and General Study attributes, copied as they are.
    public var patientStudy: DataSet
    public var studyInstanceUID: String
    public var seriesInstanceUID: String
    public var frameOfReferenceUID: String
    /// One per volume slice k: SOP Class and Instance UIDs and Image Position (Patient).
    public var slices: [(sopClassUID: String, sopInstanceUID: String, position: Vec3)]
    public var rowDirection: Vec3
    public var columnDirection: Vec3
    /// Row spacing (between rows), column spacing (between columns), mm.
    public var pixelSpacing: (row: Double, column: Double)
    public var sliceThickness: Double?
    public var sliceSpacing: Double

    /// Patient and study attributes copied into derived objects (PS3.3 C.7.1.1, C.7.2.1).
    static let copied: [Tag] = [
        .patientName, .patientID, .patientBirthDate, .patientSex, .studyInstanceUID, .studyDate, Tag(0x0008, 0x0030),
        Tag(0x0008, 0x0090), Tag(0x0020, 0x0010), .accessionNumber, Tag(0x0008, 0x1030),
    ]

    /// From an assembled stack: reads the first image's header for patient and study.
    public static func from(_ stack: ImageStack, sliceSpacing: Double) throws(DICOMError) -> DICOMSourceReference {
        guard let first = stack.frames.first else { throw .series(reason: "the source series has no images") }
        let file = try DICOMFile.read(path: first.path, stopBeforePixels: true)
        var ps = DataSet()
        for t in copied { if let e = file.dataSet[t] { ps.insert(e) } }
        guard let forUID = stack.series.frameOfReferenceUID else {
            throw .series(reason: "the source series has no Frame of Reference UID: a segmentation could not be placed on it")
        }
        let sop = file.dataSet.string(.sopClassUID) ?? "1.2.840.10008.5.1.4.1.1.2"
        return DICOMSourceReference(
            patientStudy: ps, studyInstanceUID: stack.series.studyInstanceUID, seriesInstanceUID: stack.series.seriesInstanceUID,
            frameOfReferenceUID: forUID, slices: stack.frames.map { (sop, $0.sopInstanceUID, $0.position) },
            rowDirection: first.rowDirection, columnDirection: first.columnDirection,
            pixelSpacing: (first.rowSpacing, first.columnSpacing), sliceThickness: first.sliceThickness, sliceSpacing: sliceSpacing)
    }

    public init(patientStudy: DataSet, studyInstanceUID: String, seriesInstanceUID: String, frameOfReferenceUID: String,
                slices: [(sopClassUID: String, sopInstanceUID: String, position: Vec3)], rowDirection: Vec3, columnDirection: Vec3,
                pixelSpacing: (row: Double, column: Double), sliceThickness: Double?, sliceSpacing: Double) {
        self.patientStudy = patientStudy
        self.studyInstanceUID = studyInstanceUID
        self.seriesInstanceUID = seriesInstanceUID
        self.frameOfReferenceUID = frameOfReferenceUID
        self.slices = slices
        self.rowDirection = rowDirection
        self.columnDirection = columnDirection
        self.pixelSpacing = pixelSpacing
        self.sliceThickness = sliceThickness
        self.sliceSpacing = sliceSpacing
    }
}

/// A coded concept (code value, scheme, meaning).
public struct CodedConcept: Sendable, Equatable {
    public var value: String
    public var scheme: String
    public var meaning: String
    public init(_ value: String, _ scheme: String, _ meaning: String) { self.value = value; self.scheme = scheme; self.meaning = meaning }

    var item: DataSet {
        var d = DataSet()
        // Code Value is SH (≤ 16 characters); longer codes go in Long Code Value (PS3.3 8.8).
        if value.count <= 16 { d.set(Tag(0x0008, 0x0100), .SH, value) } else { d.set(Tag(0x0008, 0x0119), .UC, value) }
        d.set(Tag(0x0008, 0x0102), .SH, scheme)
        d.set(Tag(0x0008, 0x0104), .LO, meaning)
        return d
    }
}

/// One segment of a segmentation: the label value it comes from and what it is.
public struct SegmentDefinition: Sendable {
    public var labelValue: UInt8
    public var label: String
    public var category: CodedConcept
    public var type: CodedConcept
    public var typeModifier: CodedConcept?
    /// Recommended display colour, CIELab scaled to 0…65535 (PS3.3 C.10.7.1.1).
    public var cielab: [UInt16]?
    public init(labelValue: UInt8, label: String, category: CodedConcept, type: CodedConcept, typeModifier: CodedConcept? = nil, cielab: [UInt16]? = nil) {
        self.labelValue = labelValue; self.label = label; self.category = category; self.type = type; self.typeModifier = typeModifier; self.cielab = cielab
    }
}

/// Creator of a derived series: who made it and its identity.
public struct DerivedSeries: Sendable {
    public var seriesInstanceUID: String
    public var sopInstanceUIDPrefix: String
    public var seriesNumber: Int
    public var seriesDescription: String
    public var manufacturer = "OsteoCT"
    public var modelName = "OsteoCT"
    public var deviceSerialNumber = "0"
    public var softwareVersion: String
    public var contentDate: String
    public var contentTime: String
    public init(seriesInstanceUID: String, sopInstanceUIDPrefix: String, seriesNumber: Int, seriesDescription: String, softwareVersion: String,
                contentDate: String, contentTime: String) {
        self.seriesInstanceUID = seriesInstanceUID; self.sopInstanceUIDPrefix = sopInstanceUIDPrefix; self.seriesNumber = seriesNumber
        self.seriesDescription = seriesDescription; self.softwareVersion = softwareVersion; self.contentDate = contentDate; self.contentTime = contentTime
    }
}

public enum DerivedObjects {
    public static let segmentationStorage = "1.2.840.10008.5.1.4.1.1.66.4"
    public static let secondaryCaptureStorage = "1.2.840.10008.5.1.4.1.1.7"

    static func at(_ t: Tag) -> [UInt8] { [UInt8(t.group & 0xFF), UInt8(t.group >> 8), UInt8(t.element & 0xFF), UInt8(t.element >> 8)] }

    /// The modules every derived object shares: SOP Common, Patient, General Study, General Series,
    /// General and Enhanced General Equipment.
    static func common(_ source: DICOMSourceReference, _ series: DerivedSeries, sopClass: String, instance: Int, modality: String) -> DataSet {
        var ds = source.patientStudy
        ds.set(.specificCharacterSet, .CS, "ISO_IR 192")
        ds.set(.sopClassUID, .UI, sopClass)
        ds.set(.sopInstanceUID, .UI, "\(series.sopInstanceUIDPrefix).\(instance)")
        ds.set(.instanceCreationDate, .DA, series.contentDate)
        ds.set(.instanceCreationTime, .TM, series.contentTime)
        for t in [Tag.patientName, .patientID, .patientBirthDate, .patientSex, Tag(0x0008, 0x0090), Tag(0x0020, 0x0010), .accessionNumber,
                  .studyDate, Tag(0x0008, 0x0030)] where !ds.contains(t) {
            // Type 2: present, possibly empty.
            let vr: VR = t == .patientName || t == Tag(0x0008, 0x0090) ? .PN : t == .patientBirthDate || t == .studyDate ? .DA
                : t == Tag(0x0008, 0x0030) ? .TM : t == .patientSex ? .CS : t == Tag(0x0020, 0x0010) ? .SH : t == .accessionNumber ? .SH : .LO
            ds.set(t, vr, "")
        }
        ds.set(.studyInstanceUID, .UI, source.studyInstanceUID)
        ds.set(.modality, .CS, modality)
        ds.set(.seriesInstanceUID, .UI, series.seriesInstanceUID)
        ds.set(.seriesNumber, .IS, "\(series.seriesNumber)")
        ds.set(.seriesDescription, .LO, series.seriesDescription)
        ds.set(.instanceNumber, .IS, "\(instance)")
        ds.set(.manufacturer, .LO, series.manufacturer)
        ds.set(.manufacturerModelName, .LO, series.modelName)
        ds.set(.deviceSerialNumber, .LO, series.deviceSerialNumber)
        ds.set(.softwareVersions, .LO, series.softwareVersion)
        ds.set(Tag(0x0008, 0x0023), .DA, series.contentDate)  // Content Date
        ds.set(Tag(0x0008, 0x0033), .TM, series.contentTime)  // Content Time
        return ds
    }

    /// A binary DICOM Segmentation of `labels` (same grid as the source series, slice k = source
    /// image k): one frame per segment and slice where the segment has voxels.
    public static func segmentation(_ labels: Volume<UInt8>, segments: [SegmentDefinition], source: DICOMSourceReference,
                                    series: DerivedSeries, algorithm: String) throws(DICOMError) -> DataSet {
        let nx = labels.size.x, ny = labels.size.y, nz = labels.size.z, plane = nx * ny
        guard source.slices.count == nz else {
            throw .series(reason: "the label map has \(nz) slices, the source series \(source.slices.count)")
        }
        var ds = common(source, series, sopClass: segmentationStorage, instance: 1, modality: "SEG")
        ds.set(.frameOfReferenceUID, .UI, source.frameOfReferenceUID)
        ds.set(Tag(0x0020, 0x1040), .LO, "")  // Position Reference Indicator (type 2)
        ds.set(.imageType, .CS, ["DERIVED", "PRIMARY"])
        ds.set(Tag(0x0070, 0x0080), .CS, "OSTEOCT")  // Content Label
        ds.set(Tag(0x0070, 0x0081), .LO, "OsteoCT masks: femora and vertebral bodies")  // Content Description
        ds.set(Tag(0x0070, 0x0084), .PN, "")  // Content Creator's Name
        ds.set(.samplesPerPixel, us: [1])
        ds.set(.photometricInterpretation, .CS, "MONOCHROME2")
        ds.set(.rows, us: [UInt16(ny)])
        ds.set(.columns, us: [UInt16(nx)])
        ds.set(.bitsAllocated, us: [1])
        ds.set(.bitsStored, us: [1])
        ds.set(.highBit, us: [0])
        ds.set(.pixelRepresentation, us: [0])
        ds.set(Tag(0x0028, 0x2110), .CS, "00")  // Lossy Image Compression
        ds.set(Tag(0x0062, 0x0001), .CS, "BINARY")  // Segmentation Type
        // Segments.
        var segItems: [DataSet] = []
        let present = Set(labels.voxels)
        let used = segments.filter { present.contains($0.labelValue) }
        for (n, s) in used.enumerated() {
            var it = DataSet()
            it.set(Tag(0x0062, 0x0004), us: [UInt16(n + 1)])  // Segment Number
            it.set(Tag(0x0062, 0x0005), .LO, s.label)  // Segment Label
            it.set(Tag(0x0062, 0x0008), .CS, "AUTOMATIC")  // Segment Algorithm Type
            it.set(Tag(0x0062, 0x0009), .LO, algorithm)  // Segment Algorithm Name
            // Segmentation Algorithm Identification: thresholds, components and morphology, CID 7162.
            var algo = DataSet()
            algo.set(Tag(0x0066, 0x002F), sequence: [CodedConcept("123104", "DCM", "Morphological Operations").item])  // Algorithm Family
            algo.set(Tag(0x0066, 0x0036), .LO, algorithm)  // Algorithm Name
            algo.set(Tag(0x0066, 0x0031), .LO, series.softwareVersion)  // Algorithm Version
            it.set(Tag(0x0062, 0x0007), sequence: [algo])
            it.set(Tag(0x0062, 0x0003), sequence: [s.category.item])  // Segmented Property Category Code Sequence
            var type = s.type.item
            if let m = s.typeModifier { type.set(Tag(0x0062, 0x0011), sequence: [m.item]) }  // Segmented Property Type Modifier
            it.set(Tag(0x0062, 0x000F), sequence: [type])  // Segmented Property Type Code Sequence
            if let c = s.cielab { it.set(Tag(0x0062, 0x000D), us: c) }
            segItems.append(it)
        }
        guard !used.isEmpty else { throw .series(reason: "no segment has voxels: nothing to write") }
        ds.set(Tag(0x0062, 0x0002), sequence: segItems)
        // Dimensions: segment, then position.
        let dimOrg = DICOMUID.derived(from: "osteoct-seg-dimension " + series.seriesInstanceUID)
        var orgItem = DataSet()
        orgItem.set(Tag(0x0020, 0x9164), .UI, dimOrg)
        ds.set(Tag(0x0020, 0x9221), sequence: [orgItem])
        var d1 = DataSet(), d2 = DataSet()
        d1.set(Tag(0x0020, 0x9164), .UI, dimOrg)
        d1.set(Tag(0x0020, 0x9165), .AT, bytes: at(Tag(0x0062, 0x000B)))  // Dimension Index Pointer: Referenced Segment Number
        d1.set(Tag(0x0020, 0x9167), .AT, bytes: at(Tag(0x0062, 0x000A)))  // Functional Group Pointer: Segment Identification Sequence
        d1.set(Tag(0x0020, 0x9421), .LO, "ReferencedSegmentNumber")
        d2.set(Tag(0x0020, 0x9164), .UI, dimOrg)
        d2.set(Tag(0x0020, 0x9165), .AT, bytes: at(.imagePositionPatient))
        d2.set(Tag(0x0020, 0x9167), .AT, bytes: at(Tag(0x0020, 0x9113)))  // Plane Position Sequence
        d2.set(Tag(0x0020, 0x9421), .LO, "ImagePositionPatient")
        ds.set(Tag(0x0020, 0x9222), sequence: [d1, d2])
        // Shared functional groups: pixel measures, orientation.
        var shared = DataSet()
        var pm = DataSet()
        pm.set(.pixelSpacing, ds: [source.pixelSpacing.row, source.pixelSpacing.column])
        pm.set(.sliceThickness, ds: [source.sliceThickness ?? source.sliceSpacing])
        pm.set(Tag(0x0018, 0x0088), ds: [source.sliceSpacing])  // Spacing Between Slices
        shared.set(Tag(0x0028, 0x9110), sequence: [pm])
        var po = DataSet()
        let r = source.rowDirection, c = source.columnDirection
        po.set(.imageOrientationPatient, ds: [r.x, r.y, r.z, c.x, c.y, c.z])
        shared.set(Tag(0x0020, 0x9116), sequence: [po])
        ds.set(Tag(0x5200, 0x9229), sequence: [shared])
        // Frames.
        var perFrame: [DataSet] = []
        var bits: [UInt8] = []
        var bitCount = 0
        bits.reserveCapacity(plane / 8 * 64)
        var referenced = Set<Int>()
        for (n, s) in used.enumerated() {
            for k in 0..<nz {
                var any = false
                for q in 0..<plane where labels.voxels[q + plane * k] == s.labelValue { any = true; break }
                guard any else { continue }
                referenced.insert(k)
                var f = DataSet()
                var fc = DataSet()
                fc.set(Tag(0x0020, 0x9157), ul: [UInt32(n + 1), UInt32(k + 1)])  // Dimension Index Values
                f.set(Tag(0x0020, 0x9111), sequence: [fc])  // Frame Content
                var pp = DataSet()
                let p = source.slices[k].position
                pp.set(.imagePositionPatient, ds: [p.x, p.y, p.z])
                f.set(Tag(0x0020, 0x9113), sequence: [pp])
                var si = DataSet()
                si.set(Tag(0x0062, 0x000B), us: [UInt16(n + 1)])
                f.set(Tag(0x0062, 0x000A), sequence: [si])
                var src = DataSet()
                src.set(Tag(0x0008, 0x1150), .UI, source.slices[k].sopClassUID)
                src.set(Tag(0x0008, 0x1155), .UI, source.slices[k].sopInstanceUID)
                src.set(Tag(0x0040, 0xA170), sequence: [CodedConcept("121322", "DCM", "Source image for image processing operation").item])
                src.set(Tag(0x0028, 0x135A), .CS, "YES")  // Spatial Locations Preserved: same grid as the source
                var der = DataSet()
                der.set(Tag(0x0008, 0x2112), sequence: [src])  // Source Image Sequence
                der.set(Tag(0x0008, 0x9215), sequence: [CodedConcept("113076", "DCM", "Segmentation").item])  // Derivation Code Sequence
                f.set(Tag(0x0008, 0x9124), sequence: [der])  // Derivation Image Sequence
                perFrame.append(f)
                // Pixels, one bit each, least significant bit first, frames back to back.
                for q in 0..<plane {
                    if bitCount % 8 == 0 { bits.append(0) }
                    if labels.voxels[q + plane * k] == s.labelValue { bits[bits.count - 1] |= UInt8(1 << (bitCount % 8)) }
                    bitCount += 1
                }
            }
        }
        ds.set(Tag(0x5200, 0x9230), sequence: perFrame)
        ds.set(.numberOfFrames, .IS, "\(perFrame.count)")
        if bits.count % 2 == 1 { bits.append(0) }
        ds.set(.pixelData, .OB, bytes: bits)
        // Common Instance Reference: every source image a frame derives from.
        var refs: [DataSet] = []
        for k in referenced.sorted() {
            var it = DataSet()
            it.set(Tag(0x0008, 0x1150), .UI, source.slices[k].sopClassUID)
            it.set(Tag(0x0008, 0x1155), .UI, source.slices[k].sopInstanceUID)
            refs.append(it)
        }
        var rs = DataSet()
        rs.set(.seriesInstanceUID, .UI, source.seriesInstanceUID)
        rs.set(Tag(0x0008, 0x114A), sequence: refs)  // Referenced Instance Sequence
        ds.set(Tag(0x0008, 0x1115), sequence: [rs])  // Referenced Series Sequence
        return ds
    }

    /// A Secondary Capture image of an RGB picture (a QC picture).
    public static func secondaryCapture(_ image: RGBImage, title: String, source: DICOMSourceReference, series: DerivedSeries,
                                        instance: Int) -> DataSet {
        var ds = common(source, series, sopClass: secondaryCaptureStorage, instance: instance, modality: "OT")
        ds.set(Tag(0x0008, 0x0064), .CS, "WSD")  // Conversion Type: workstation
        ds.set(Tag(0x0020, 0x0060), .CS, "")  // Laterality (type 2C): the pictures show both sides or the midline
        ds.set(Tag(0x0020, 0x0020), .CS, "")  // Patient Orientation (type 2C; empty: not a projection of the patient)
        ds.set(.imageType, .CS, ["DERIVED", "SECONDARY"])
        ds.set(Tag(0x0020, 0x4000), .LT, title)  // Image Comments
        ds.set(Tag(0x0008, 0x2111), .ST, title)  // Derivation Description
        ds.set(.samplesPerPixel, us: [3])
        ds.set(.photometricInterpretation, .CS, "RGB")
        ds.set(Tag(0x0028, 0x0006), us: [0])  // Planar Configuration: colour-by-pixel
        ds.set(.rows, us: [UInt16(image.height)])
        ds.set(.columns, us: [UInt16(image.width)])
        ds.set(.bitsAllocated, us: [8])
        ds.set(.bitsStored, us: [8])
        ds.set(.highBit, us: [7])
        ds.set(.pixelRepresentation, us: [0])
        ds.set(Tag(0x0028, 0x2110), .CS, "00")
        var px = image.pixels
        if px.count % 2 == 1 { px.append(0) }
        ds.set(.pixelData, .OB, bytes: px)
        return ds
    }
}
