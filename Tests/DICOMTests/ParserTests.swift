import Foundation
import Imaging
import Testing

@testable import DICOM

@Suite("Part 10 and data set parsing (PS3.5, PS3.10)")
struct ParserTests {
    @Test("Explicit VR Little Endian: every short and long VR reads back")
    func explicitLittleEndianVRs() throws {
        var b = ByteBuilder()
        b.explicit(0x0008, 0x0005, "CS", "ISO_IR 100")
        b.explicit(0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.2")
        b.explicit(0x0008, 0x0060, "CS", "CT")
        b.explicit(0x0010, 0x0010, "PN", "M\u{FC}ller^Anna")  // will be written as UTF-8 bytes below instead
        b.explicit(0x0010, 0x1010, "AS", "072Y")
        b.explicit(0x0018, 0x0050, "DS", "1.25")
        b.explicit(0x0020, 0x0013, "IS", " 42 ")
        b.explicit(0x0020, 0x0032, "DS", "-187.5\\-180\\-310.25")
        b.explicit(0x0028, 0x0010, "US", le16([UInt16(512)]))
        b.explicit(0x0028, 0x0106, "SS", le16([Int16(-2000)]))
        b.explicit(0x0018, 0x9345, "FD", withUnsafeBytes(of: 13.25.bitPattern.littleEndian) { Array($0) })
        b.explicit(0x0019, 0x0010, "LO", "PRIVATE CREATOR")
        b.explicit(0x0019, 0x1001, "UN", [1, 2, 3, 4])
        b.explicit(0x0020, 0x9157, "UL", [1, 0, 0, 0, 2, 0, 0, 0])
        b.explicit(0x0028, 0x9001, "SL", withUnsafeBytes(of: Int32(-5).littleEndian) { Array($0) })
        b.explicit(0x0018, 0x1210, "SH", "B30f")
        b.explicit(0x0040, 0xA160, "UT", " leading space kept")
        b.explicit(0x0028, 0x1052, "DS", "-1024")
        // The remaining VRs of PS3.5 Table 6.2-1, each with a value whose bytes are known.
        b.explicit(0x0008, 0x0012, "DA", "20261125")
        b.explicit(0x0008, 0x0013, "TM", "120000.5")
        b.explicit(0x0008, 0x002A, "DT", "20261125120000")
        b.explicit(0x0008, 0x0054, "AE", "OSTEOCT")
        b.explicit(0x0008, 0x0119, "UC", "unlimited characters")
        b.explicit(0x0008, 0x0120, "UR", "http://osteoct.org/fhir")
        b.explicit(0x0020, 0x4000, "LT", "long text\\with a backslash")
        b.explicit(0x0032, 0x4000, "ST", "short text")
        b.explicit(0x0028, 0x0009, "AT", [0x18, 0x00, 0x63, 0x10])  // (0018,1063)
        b.explicit(0x0028, 0x3006, "OW", le16([UInt16(0xBEEF)]))
        b.explicit(0x0042, 0x0011, "OB", [0xDE, 0xAD])
        b.explicit(0x0066, 0x0016, "OF", withUnsafeBytes(of: Float(1.5).bitPattern.littleEndian) { Array($0) })
        b.explicit(0x0066, 0x0040, "OL", [1, 0, 0, 0])
        b.explicit(0x0070, 0x0022, "FL", withUnsafeBytes(of: Float(-2.25).bitPattern.littleEndian) { Array($0) })
        b.explicit(0x0072, 0x0082, "SV", withUnsafeBytes(of: Int64(-7).littleEndian) { Array($0) })
        b.explicit(0x0072, 0x0083, "UV", withUnsafeBytes(of: UInt64(1) << 40) { Array($0) })
        b.explicit(0x0072, 0x0084, "OV", withUnsafeBytes(of: UInt64(3)) { Array($0) })
        b.explicit(0x7FE0, 0x0009, "OD", withUnsafeBytes(of: 0.5.bitPattern.littleEndian) { Array($0) })
        // Explicit VR needs elements in ascending tag order for a conformant file; the parser does
        // not depend on it, so they are appended as they come.
        let file = try DICOMFile.parse(part10Header(transferSyntax: "1.2.840.10008.1.2.1") + b.bytes)
        let ds = file.dataSet
        #expect(file.transferSyntax == .explicitVRLittleEndian)
        #expect(file.hasPreamble)
        #expect(ds.string(.modality) == "CT")
        #expect(ds.string(.patientAge) == "072Y")
        #expect(ds.double(.sliceThickness) == 1.25)
        #expect(ds.int(.instanceNumber) == 42)
        #expect(ds.doubles(.imagePositionPatient) == [-187.5, -180, -310.25])
        #expect(ds.int(.rows) == 512)
        #expect(ds.doubles(Tag(0x0028, 0x0106)) == [-2000])
        #expect(ds.double(.ctdiVol) == 13.25)
        #expect(ds[Tag(0x0019, 0x1001)]?.bytes == [1, 2, 3, 4])  // private tag kept
        #expect(ds.string(Tag(0x0019, 0x0010)) == "PRIVATE CREATOR")
        #expect(ds.doubles(.dimensionIndexValues) == [1, 2])
        #expect(ds.doubles(Tag(0x0028, 0x9001)) == [-5])
        #expect(ds.strings(Tag(0x0040, 0xA160)) == [" leading space kept"])
        #expect(ds.double(.rescaleIntercept) == -1024)
        #expect(ds.string(Tag(0x0008, 0x0012)) == "20261125")
        #expect(ds.string(Tag(0x0008, 0x0013)) == "120000.5")
        #expect(ds.string(Tag(0x0008, 0x002A)) == "20261125120000")
        #expect(ds.string(Tag(0x0008, 0x0054)) == "OSTEOCT")
        #expect(ds.string(Tag(0x0008, 0x0119)) == "unlimited characters")
        #expect(ds.string(Tag(0x0008, 0x0120)) == "http://osteoct.org/fhir")
        #expect(ds.strings(Tag(0x0020, 0x4000)) == ["long text\\with a backslash"])
        #expect(ds.string(Tag(0x0032, 0x4000)) == "short text")
        #expect(ds.tags(Tag(0x0028, 0x0009)) == [Tag(0x0018, 0x1063)])  // AT: group then element, each LE
        #expect(ds[Tag(0x0028, 0x3006)]?.bytes == [0xEF, 0xBE])
        #expect(ds[Tag(0x0042, 0x0011)]?.bytes == [0xDE, 0xAD])
        #expect(ds[Tag(0x0066, 0x0016)]?.vr == .OF)
        #expect(ds[Tag(0x0066, 0x0040)]?.vr == .OL)
        #expect(ds.doubles(Tag(0x0070, 0x0022)) == [-2.25])
        #expect(ds.doubles(Tag(0x0072, 0x0082)) == [-7])
        #expect(ds.doubles(Tag(0x0072, 0x0083)) == [Double(UInt64(1) << 40)])
        #expect(ds.uint64s(Tag(0x0072, 0x0084)) == [3])
        #expect(ds[Tag(0x7FE0, 0x0009)]?.vr == .OD)
        #expect(file.warnings.isEmpty)
    }

    @Test("Specific Character Set: ISO_IR 100 is Latin-1, ISO_IR 192 is UTF-8, others fall back to Latin-1")
    func characterSets() throws {
        func parse(_ charset: String, _ name: [UInt8]) throws -> DataSet {
            var b = ByteBuilder()
            b.explicit(0x0008, 0x0005, "CS", charset)
            var v = name
            if v.count % 2 == 1 { v.append(0x20) }
            b.explicit(0x0010, 0x0010, "PN", v)
            return try DICOMFile.parse(part10Header(transferSyntax: "1.2.840.10008.1.2.1") + b.bytes).dataSet
        }
        #expect(try parse("ISO_IR 100", Array("M".utf8) + [0xFC] + Array("ller^Anna".utf8)).string(.patientName) == "Müller^Anna")
        #expect(try parse("ISO_IR 192", Array("Müller^Anna".utf8)).string(.patientName) == "Müller^Anna")
        #expect(try parse("ISO_IR 192", Array("山田^太郎".utf8)).string(.patientName) == "山田^太郎")
        let other = try parse("ISO_IR 144", [0x41, 0xE9])
        #expect(other.characterSet == .unsupported("ISO_IR 144"))
        #expect(other.string(.patientName) == "Aé")
        #expect(other.warnings.contains { $0.contains("ISO_IR 144") && $0.contains("Latin-1") })
    }

    @Test("Implicit VR Little Endian: VRs come from the dictionary, unknown tags are UN")
    func implicitLittleEndian() throws {
        var b = ByteBuilder()
        b.implicit(0x0008, 0x0060, "CT")
        b.implicit(0x0018, 0x0050, "5")
        b.implicit(0x0028, 0x0010, le16([UInt16(64)]))
        b.implicit(0x0029, 0x1010, [9, 8, 7, 6])
        let f = try DICOMFile.parse(part10Header(transferSyntax: "1.2.840.10008.1.2") + b.bytes)
        #expect(f.transferSyntax == .implicitVRLittleEndian)
        #expect(f.dataSet[.rows]?.vr == .US)
        #expect(f.dataSet.int(.rows) == 64)
        #expect(f.dataSet.double(.sliceThickness) == 5)
        #expect(f.dataSet[Tag(0x0029, 0x1010)]?.vr == .UN)
    }

    @Test("Explicit VR Big Endian: binary values and pixel words are swapped")
    func explicitBigEndian() throws {
        var b = ByteBuilder()
        b.littleEndian = false
        b.explicit(0x0008, 0x0060, "CS", "CT")
        b.explicit(0x0028, 0x0002, "US", [0, 1])
        b.explicit(0x0028, 0x0010, "US", [0, 2])
        b.explicit(0x0028, 0x0011, "US", [0, 2])
        b.explicit(0x0028, 0x0100, "US", [0, 16])
        b.explicit(0x0028, 0x0101, "US", [0, 16])
        b.explicit(0x0028, 0x0103, "US", [0, 1])
        b.explicit(0x7FE0, 0x0010, "OW", [0x00, 0x01, 0xFF, 0xFE, 0x12, 0x34, 0x80, 0x00])
        let f = try DICOMFile.parse(part10Header(transferSyntax: "1.2.840.10008.1.2.2") + b.bytes)
        #expect(f.dataSet.int(.rows) == 2)
        let info = try ImagePixelInfo(f.dataSet)
        let frame = try f.frameBytes(0, info: info)
        #expect(frame == [0x01, 0x00, 0xFE, 0xFF, 0x34, 0x12, 0x00, 0x80])
        var hu = [Int16](repeating: 0, count: 4)
        _ = frame.withUnsafeBytes { raw in
            hu.withUnsafeMutableBufferPointer { PixelValues.toInt16(native: raw, descriptor: info.descriptor, rescale: .identity, into: $0) }
        }
        #expect(hu == [1, -2, 0x1234, -32768])
    }

    @Test("Deflated Explicit VR Little Endian inflates the data set after the meta group")
    func deflated() throws {
        var b = ByteBuilder()
        b.explicit(0x0008, 0x0060, "CS", "CT")
        b.explicit(0x0010, 0x0020, "LO", "DEFLATED-1")
        b.explicit(0x0028, 0x0010, "US", le16([UInt16(7)]))
        let body = try Zlib.deflate(b.bytes, format: .raw)
        let f = try DICOMFile.parse(part10Header(transferSyntax: "1.2.840.10008.1.2.1.99") + body)
        #expect(f.transferSyntax == .deflatedExplicitVRLittleEndian)
        #expect(f.dataSet.string(.patientID) == "DEFLATED-1")
        #expect(f.dataSet.int(.rows) == 7)
        // A damaged stream is a clear inflate error, not garbage.
        var broken = body
        broken[broken.count / 2] ^= 0xFF
        broken.removeLast(broken.count / 3)
        #expect(throws: DICOMError.self) { try DICOMFile.parse(part10Header(transferSyntax: "1.2.840.10008.1.2.1.99") + broken) }
    }

    @Test("Sequences: defined and undefined lengths, nested, and items in Implicit VR inside Explicit VR")
    func sequences() throws {
        var inner = ByteBuilder()
        inner.explicit(0x0020, 0x0032, "DS", "1\\2\\3")
        var b = ByteBuilder()
        // (5200,9230) undefined-length SQ with one undefined-length item holding a defined-length SQ.
        b.tag(0x5200, 0x9230); b.bytes += Array("SQ".utf8) + [0, 0]; b.u32(0xFFFF_FFFF)
        b.tag(0xFFFE, 0xE000); b.u32(0xFFFF_FFFF)
        b.tag(0x0020, 0x9113); b.bytes += Array("SQ".utf8) + [0, 0]; b.u32(UInt32(8 + inner.bytes.count))
        b.tag(0xFFFE, 0xE000); b.u32(UInt32(inner.bytes.count)); b.bytes += inner.bytes
        b.tag(0xFFFE, 0xE00D); b.u32(0)
        b.tag(0xFFFE, 0xE0DD); b.u32(0)
        // (0008,1140) defined-length SQ whose item is encoded Implicit VR (a real-world fault).
        var implicitItem = ByteBuilder()
        implicitItem.implicit(0x0008, 0x1150, "1.2.840.10008.5.1.4.1.1.2")
        b.tag(0x0008, 0x1140); b.bytes += Array("SQ".utf8) + [0, 0]; b.u32(UInt32(8 + implicitItem.bytes.count))
        b.tag(0xFFFE, 0xE000); b.u32(UInt32(implicitItem.bytes.count)); b.bytes += implicitItem.bytes
        // Sort order in the file: (0008,1140) must come first; build the file in tag order.
        let firstStart = b.bytes.count - (8 + 4 + 8 + implicitItem.bytes.count)
        let reordered = Array(b.bytes[firstStart...]) + Array(b.bytes[..<firstStart])
        let f = try DICOMFile.parse(part10Header(transferSyntax: "1.2.840.10008.1.2.1") + reordered)
        let perFrame = try #require(f.dataSet.sequence(.perFrameFunctionalGroupsSequence))
        #expect(perFrame.count == 1)
        let plane = try #require(perFrame[0].sequence(.planePositionSequence))
        #expect(plane.first?.doubles(.imagePositionPatient) == [1, 2, 3])
        let ref = try #require(f.dataSet.sequence(.referencedImageSequence))
        #expect(ref.first?.string(.referencedSOPClassUID) == "1.2.840.10008.5.1.4.1.1.2")
        #expect(f.warnings.contains { $0.contains("Implicit VR") })
    }

    @Test("UN elements of known VR are read as that VR; an undefined-length UN is an implicit sequence (CP-246)")
    func unknownVR() throws {
        var item = ByteBuilder()
        item.implicit(0x0020, 0x0032, "4\\5\\6")
        var b = ByteBuilder()
        b.explicit(0x0020, 0x0037, "UN", Array("1\\0\\0\\0\\1\\0".utf8))
        b.tag(0x0020, 0x9113); b.bytes += Array("UN".utf8) + [0, 0]; b.u32(0xFFFF_FFFF)
        b.tag(0xFFFE, 0xE000); b.u32(UInt32(item.bytes.count)); b.bytes += item.bytes
        b.tag(0xFFFE, 0xE0DD); b.u32(0)
        let f = try DICOMFile.parse(part10Header(transferSyntax: "1.2.840.10008.1.2.1") + b.bytes)
        #expect(f.dataSet[.imageOrientationPatient]?.vr == .DS)
        #expect(f.dataSet.doubles(.imageOrientationPatient) == [1, 0, 0, 0, 1, 0])
        #expect(f.dataSet.sequence(.planePositionSequence)?.first?.doubles(.imagePositionPatient) == [4, 5, 6])
    }

    @Test("Bare data sets: explicit and implicit guessed; junk before the data set is refused clearly")
    func bareDataSets() throws {
        var e = ByteBuilder()
        e.explicit(0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.2")
        e.explicit(0x0008, 0x0060, "CS", "CT")
        let explicit = try DICOMFile.parse(e.bytes)
        #expect(!explicit.hasPreamble)
        #expect(explicit.transferSyntax == .explicitVRLittleEndian)
        #expect(explicit.dataSet.string(.modality) == "CT")
        var i = ByteBuilder()
        i.implicit(0x0008, 0x0016, "1.2.840.10008.5.1.4.1.1.2")
        i.implicit(0x0008, 0x0060, "CT")
        #expect(try DICOMFile.parse(i.bytes).transferSyntax == .implicitVRLittleEndian)
        // pydicom's no_meta.dcm: one stray byte before an explicit data set.
        #expect(throws: DICOMError.self) { try DICOMFile.parse([0x20] + e.bytes) }
        do {
            _ = try DICOMFile.parse([0x20] + e.bytes)
        } catch {
            #expect(error.description.contains("does not start with a group 0002 or 0008 element"))
        }
    }

    @Test("Bad input: truncation at every byte gives a typed error or a shorter data set, never a crash")
    func truncationEverywhere() throws {
        var b = ByteBuilder()
        b.explicit(0x0008, 0x0060, "CS", "CT")
        b.tag(0x0008, 0x1140); b.bytes += Array("SQ".utf8) + [0, 0]; b.u32(0xFFFF_FFFF)
        b.tag(0xFFFE, 0xE000); b.u32(0xFFFF_FFFF)
        b.explicit(0x0008, 0x1150, "UI", "1.2.3")
        b.tag(0xFFFE, 0xE00D); b.u32(0)
        b.tag(0xFFFE, 0xE0DD); b.u32(0)
        b.explicit(0x0028, 0x0010, "US", le16([UInt16(2)]))
        b.explicit(0x7FE0, 0x0010, "OW", le16([UInt16(1), 2, 3, 4]))
        let full = part10Header(transferSyntax: "1.2.840.10008.1.2.1") + b.bytes
        var typedErrors = 0
        for n in 0..<full.count {
            do {
                _ = try DICOMFile.parse(Array(full[0..<n]))
            } catch {
                typedErrors += 1
                #expect(!error.description.isEmpty)
            }
        }
        #expect(typedErrors > full.count / 2)
        #expect(try DICOMFile.parse(full).dataSet.int(.rows) == 2)
    }

    @Test("A length past the end names the tag and the offset")
    func lengthPastEnd() throws {
        var b = ByteBuilder()
        b.explicit(0x0008, 0x0060, "CS", "CT")
        b.tag(0x0010, 0x0010); b.bytes += Array("PN".utf8); b.u16(200); b.bytes += Array("SHORT".utf8)
        let header = part10Header(transferSyntax: "1.2.840.10008.1.2.1")
        do {
            _ = try DICOMFile.parse(header + b.bytes)
            Issue.record("expected an error")
        } catch {
            guard case .truncated(let offset, let tag, let needed, _) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(tag == .patientName)
            #expect(needed == 200)
            #expect(offset == header.count + 10 + 8)
            #expect(error.description.contains("(0010,0010)"))
        }
    }

    @Test("Sequences nested deeper than the limit are refused (no unbounded recursion)")
    func deepNesting() throws {
        var b = ByteBuilder()
        for _ in 0..<5000 {
            b.tag(0x0008, 0x1140); b.bytes += Array("SQ".utf8) + [0, 0]; b.u32(0xFFFF_FFFF)
            b.tag(0xFFFE, 0xE000); b.u32(0xFFFF_FFFF)
        }
        #expect {
            try DICOMFile.parse(part10Header(transferSyntax: "1.2.840.10008.1.2.1") + b.bytes)
        } throws: { error in
            guard let e = error as? DICOMError, case .nestingTooDeep = e else { return false }
            return true
        }
    }

    @Test("An item delimiter outside a sequence and an invalid VR are typed errors")
    func structuralErrors() throws {
        var b = ByteBuilder()
        b.explicit(0x0008, 0x0060, "CS", "CT")
        b.tag(0xFFFE, 0xE000); b.u32(0)
        #expect(throws: DICOMError.self) { try DICOMFile.parse(part10Header(transferSyntax: "1.2.840.10008.1.2.1") + b.bytes) }
        var c = ByteBuilder()
        c.explicit(0x0008, 0x0060, "CS", "CT")
        c.tag(0x0010, 0x0010); c.bytes += [0x7A, 0x7A]; c.u16(2); c.bytes += [0x41, 0x20]
        #expect {
            try DICOMFile.parse(part10Header(transferSyntax: "1.2.840.10008.1.2.1") + c.bytes)
        } throws: { error in
            guard let e = error as? DICOMError, case .invalidVR(_, let tag, _) = e else { return false }
            return tag == .patientName
        }
    }
}
