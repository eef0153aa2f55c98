import Foundation
import Imaging
import Testing

@testable import DICOM

// The Segmentation and Secondary Capture writers on a 5×3×4 label volume: frames only where a
// segment has voxels, bits packed least-significant first (PS3.5 §8.1.1), each frame's position and
// source image those of its slice. The full-size objects are checked by dciodvfy and highdicom in
// Tests/interop/run.sh (check 12).

private func source(_ nz: Int) -> DICOMSourceReference {
    var ps = DataSet()
    ps.set(.patientName, .PN, "TEST^PATIENT")
    ps.set(.patientID, .LO, "P1")
    return DICOMSourceReference(
        patientStudy: ps, studyInstanceUID: "1.2.3", seriesInstanceUID: "1.2.3.4", frameOfReferenceUID: "1.2.3.5",
        slices: (0..<nz).map { ("1.2.840.10008.5.1.4.1.1.2", "1.2.3.4.\($0 + 1)", Vec3(-10, -20, Double($0) * 2.5)) },
        rowDirection: Vec3(1, 0, 0), columnDirection: Vec3(0, 1, 0), pixelSpacing: (0.8, 0.7), sliceThickness: 2.5, sliceSpacing: 2.5)
}

private let series = DerivedSeries(seriesInstanceUID: "1.2.3.9", sopInstanceUIDPrefix: "1.2.3.9.1", seriesNumber: 99, seriesDescription: "test",
                                   softwareVersion: "t", contentDate: "20261125", contentTime: "100000")

@Suite("Derived DICOM objects")
struct DerivedObjectsTests {
    @Test func segmentationFramesBitsAndReferences() throws {
        let nx = 5, ny = 3, nz = 4
        var v = [UInt8](repeating: 0, count: nx * ny * nz)
        v[0 + nx * 0 + nx * ny * 1] = 2  // segment A on slice 1, first pixel
        v[4 + nx * 2 + nx * ny * 1] = 2  // and the last pixel of that slice
        v[2 + nx * 1 + nx * ny * 3] = 7  // segment B on slice 3, the middle pixel
        let labels = try Volume(size: Dim3(nx, ny, nz), geometry: VolumeGeometry(spacing: Vec3(0.7, 0.8, 2.5), origin: Vec3(-10, -20, 0)), voxels: v)
        let a = CodedConcept("71341001", "SCT", "Femur"), cat = CodedConcept("91723000", "SCT", "Anatomical Structure")
        let segs = [SegmentDefinition(labelValue: 2, label: "A", category: cat, type: a),
                    SegmentDefinition(labelValue: 7, label: "B", category: cat, type: a),
                    SegmentDefinition(labelValue: 9, label: "absent", category: cat, type: a)]
        let ds = try DerivedObjects.segmentation(labels, segments: segs, source: source(nz), series: series, algorithm: "test")
        let back = try DICOMFile.parse(try DICOMWriter.part10(ds)).dataSet
        #expect(back.string(.sopClassUID) == "1.2.840.10008.5.1.4.1.1.66.4")
        #expect(back.int(.numberOfFrames) == 2)
        #expect(back.sequence(Tag(0x0062, 0x0002))?.count == 2, "the absent segment is left out")
        // Frame 1: slice 1 (15 bits: bit 0 and bit 14 set); frame 2: slice 3 (bit 7 of its 15, i.e. overall bit 22).
        let px = try #require(back[.pixelData]?.bytes)
        let bits = (0..<30).map { (px[px.startIndex + $0 / 8] >> ($0 % 8)) & 1 }
        #expect(bits.enumerated().filter { $0.element == 1 }.map(\.offset) == [0, 14, 22])
        let frames = try #require(back.sequence(Tag(0x5200, 0x9230)))
        let z = frames.map { $0.sequence(Tag(0x0020, 0x9113))?.first?.doubles(.imagePositionPatient)?[2] }
        #expect(z == [2.5, 7.5])
        let srcUID = frames.map { $0.sequence(Tag(0x0008, 0x9124))?.first?.sequence(Tag(0x0008, 0x2112))?.first?.string(Tag(0x0008, 0x1155)) }
        #expect(srcUID == ["1.2.3.4.2", "1.2.3.4.4"])
        #expect(back.string(.frameOfReferenceUID) == "1.2.3.5" && back.string(.patientID) == "P1")
        let refs = back.sequence(Tag(0x0008, 0x1115))?.first?.sequence(Tag(0x0008, 0x114A))?.compactMap { $0.string(Tag(0x0008, 0x1155)) }
        #expect(refs == ["1.2.3.4.2", "1.2.3.4.4"])
    }

    @Test func secondaryCaptureCarriesTheRGBPixels() throws {
        var img = RGBImage(width: 2, height: 1)
        img.set(0, 0, (1, 2, 3)); img.set(1, 0, (4, 5, 6))
        let ds = DerivedObjects.secondaryCapture(img, title: "t", source: source(1), series: series, instance: 3)
        let back = try DICOMFile.parse(try DICOMWriter.part10(ds)).dataSet
        #expect(back.string(.photometricInterpretation) == "RGB" && back.int(.rows) == 1 && back.int(.columns) == 2)
        #expect(Array(try #require(back[.pixelData]?.bytes)) == [1, 2, 3, 4, 5, 6])
        #expect(back.string(.sopInstanceUID) == "1.2.3.9.1.3")
    }

    @Test func aLabelVolumeOfAnotherSliceCountIsRefused() throws {
        let labels = try Volume(size: Dim3(2, 2, 3), geometry: VolumeGeometry(spacing: Vec3(1, 1, 1), origin: .zero), voxels: [UInt8](repeating: 2, count: 12))
        let a = CodedConcept("1", "99T", "x")
        #expect(throws: DICOMError.self) {
            try DerivedObjects.segmentation(labels, segments: [SegmentDefinition(labelValue: 2, label: "A", category: a, type: a)], source: source(4),
                                            series: series, algorithm: "t")
        }
    }

    /// TID 1500 tree: root container with template 1500, observer context, Imaging Measurements with
    /// one TID 1501 group holding the NUM with its unit and method; a code longer than 16 characters
    /// goes in Long Code Value.
    @Test func measurementReportTree() throws {
        let scheme = PrivateCodingScheme(designator: "99TEST", name: "test", uid: "1.2.3.77")
        let m = SRMeasurement(concept: CodedConcept("vbmd-trabecular", "99TEST", "Trabecular vBMD"), value: 81.25,
                              unit: CodedConcept("mg/cm3", "UCUM", "milligram per cubic centimeter"),
                              method: CodedConcept("calibration-synchronous-phantom", "99TEST", "Synchronous phantom calibration"))
        let g = SRMeasurementGroup(trackingIdentifier: "neck", trackingUID: "1.2.3.88", findingSite: CodedConcept("29627003", "SCT", "Structure of neck of femur"),
                                   laterality: CodedConcept("7771000", "SCT", "Left"), measurements: [m])
        let ds = DerivedObjects.measurementReport(groups: [g], source: source(2), series: series, observerUID: "1.2.3.99", observerName: "t", scheme: scheme)
        let back = try DICOMFile.parse(try DICOMWriter.part10(ds)).dataSet
        func concept(_ d: DataSet) -> String? { d.sequence(Tag(0x0040, 0xA043))?.first?.string(Tag(0x0008, 0x0100)) }
        #expect(back.string(.sopClassUID) == "1.2.840.10008.5.1.4.1.1.88.33" && back.string(.modality) == "SR")
        #expect(concept(back) == "126000")
        #expect(back.sequence(Tag(0x0040, 0xA504))?.first?.string(Tag(0x0040, 0xDB00)) == "1500")
        let top = try #require(back.sequence(Tag(0x0040, 0xA730)))
        #expect(top.compactMap(concept) == ["121049", "121005", "121012", "121013", "121058", "111028", "126010"])
        let group = try #require(top.last?.sequence(Tag(0x0040, 0xA730))?.first)
        #expect(concept(group) == "125007" && group.sequence(Tag(0x0040, 0xA504))?.first?.string(Tag(0x0040, 0xDB00)) == "1501")
        let items = try #require(group.sequence(Tag(0x0040, 0xA730)))
        let num = try #require(items.first { $0.string(Tag(0x0040, 0xA040)) == "NUM" })
        let mv = try #require(num.sequence(Tag(0x0040, 0xA300))?.first)
        #expect(mv.double(Tag(0x0040, 0xA30A)) == 81.25)
        #expect(mv.sequence(Tag(0x0040, 0x08EA))?.first?.string(Tag(0x0008, 0x0100)) == "mg/cm3")
        let method = try #require(num.sequence(Tag(0x0040, 0xA730))?.first?.sequence(Tag(0x0040, 0xA168))?.first)
        #expect(method.string(Tag(0x0008, 0x0100)) == nil && method.string(Tag(0x0008, 0x0119)) == "calibration-synchronous-phantom")
        #expect(back.sequence(Tag(0x0008, 0x0110))?.first?.string(Tag(0x0008, 0x0102)) == "99TEST")
    }
}
