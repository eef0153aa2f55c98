import Foundation
import Imaging
import Testing

@testable import DICOM

/// Fixtures made by DCMTK and GDCM from a phantom slice (Fixtures/make-fixtures.sh). Each decoded
/// frame must equal the uncompressed original exactly (lossless), or stay within the encoder's
/// guaranteed bound (near-lossless), or equal the third-party decoder's output (lossy J2K).
@Suite("Pixel codecs against third-party encoders")
struct CodecFixtureTests {
    static func path(_ name: String) throws -> String {
        try #require(Bundle.module.path(forResource: name, ofType: nil, inDirectory: "Fixtures"), "fixture \(name) missing")
    }

    /// All frames of a file as stored values (masked and sign-extended).
    static func values(_ name: String) throws -> (file: DICOMFile, frames: [[Int64]]) {
        let f = try DICOMFile.read(path: path(name))
        let info = try ImagePixelInfo(f.dataSet)
        var frames: [[Int64]] = []
        for i in 0..<info.numberOfFrames {
            frames.append(try f.withFrame(i, info: info) { raw in
                (0..<info.descriptor.samplesPerFrame).map { PixelValues.storedValue(raw, index: $0, descriptor: info.descriptor) }
            })
        }
        return (f, frames)
    }

    @Test("lossless syntaxes decode to the original exactly", arguments: [
        "ct-ile.dcm", "ct-ebe.dcm", "ct-deflate.dcm", "ct-rle.dcm", "ct-jpegll-sv1.dcm", "ct-jpegll-sv2.dcm", "ct-jpegll-sv3.dcm",
        "ct-jpegll-sv4.dcm", "ct-jpegll-sv5.dcm", "ct-jpegll-sv6.dcm", "ct-jpegll-sv7.dcm", "ct-jpegls.dcm", "ct-j2k.dcm",
    ])
    func lossless16(_ name: String) throws {
        let original = try Self.values("ct-ele.dcm").frames
        if name.contains("j2k") && !JPEG2000Codec.isLibraryAvailable {
            // Without the system OpenJPEG the syntax must be refused with the package to install.
            #expect { try Self.values(name) } throws: { "\($0)".contains("apt-get install libopenjp2-7") }
            return
        }
        let (file, decoded) = try Self.values(name)
        #expect(decoded == original, "\(name) (\(file.transferSyntax.name))")
    }

    @Test("12-bit unsigned and 8-bit sources, lossless", arguments: [
        ("ct12u-ele.dcm", "ct12u-jpegls.dcm"), ("ct12u-ele.dcm", "ct12u-jpegll-sv1.dcm"),
        ("ct8-ele.dcm", "ct8-jpegll-sv1.dcm"), ("ct8-ele.dcm", "ct8-jpegls.dcm"), ("ct8-ele.dcm", "ct8-rle.dcm"),
        ("ctmf-ele.dcm", "ctmf-jpegll-fragmented.dcm"), ("ctmf-ele.dcm", "ctmf-rle.dcm"),
    ])
    func losslessVariants(_ pair: (String, String)) throws {
        let original = try Self.values(pair.0).frames
        let decoded = try Self.values(pair.1).frames
        #expect(decoded.count == original.count)
        #expect(decoded == original, "\(pair.1)")
    }

    @Test("multi-frame JPEG with several fragments per frame uses the offset table")
    func fragmentedFrames() throws {
        let f = try DICOMFile.read(path: Self.path("ctmf-jpegll-fragmented.dcm"))
        guard case .encapsulated(let enc) = f.dataSet[.pixelData]?.value else {
            Issue.record("not encapsulated")
            return
        }
        #expect(enc.fragments.count > 3)  // 4 KB fragments: several per frame
        #expect(enc.basicOffsetTable.count == 3)
    }

    @Test("frames found by the Extended Offset Table, and by codestream starts when there is no table")
    func offsetTables() throws {
        let original = try Self.values("ctmf-ele.dcm").frames
        let f = try DICOMFile.read(path: Self.path("ctmf-jpegll-fragmented.dcm"))
        guard case .encapsulated(let enc) = f.dataSet[.pixelData]?.value else {
            Issue.record("not encapsulated")
            return
        }
        let info = try ImagePixelInfo(f.dataSet)
        func decodeAll(_ file: DICOMFile) throws -> [[Int64]] {
            try (0..<3).map { i in
                try file.withFrame(i, info: info) { raw in
                    (0..<info.descriptor.samplesPerFrame).map { PixelValues.storedValue(raw, index: $0, descriptor: info.descriptor) }
                }
            }
        }
        // Extended Offset Table (PS3.3 C.7.6.3.1.8): 64-bit offsets and lengths, empty Basic Offset Table.
        var eot = f
        let frameStarts = enc.basicOffsetTable.map(UInt64.init)
        var lengths: [UInt64] = []
        for (k, start) in frameStarts.enumerated() {
            let end = k + 1 < frameStarts.count ? frameStarts[k + 1] : (enc.fragmentOffsets.last ?? 0) + 8 + UInt64(enc.fragments.last?.count ?? 0)
            lengths.append(end - start)
        }
        func ov(_ v: [UInt64]) -> [UInt8] { v.flatMap { x in (0..<8).map { UInt8((x >> (8 * UInt64($0))) & 0xFF) } } }
        eot.dataSet.set(.extendedOffsetTable, .OV, bytes: ov(frameStarts))
        eot.dataSet.set(.extendedOffsetTableLengths, .OV, bytes: ov(lengths))
        eot.dataSet.insert(DataElement(tag: .pixelData, vr: .OB, value: .encapsulated(EncapsulatedPixelData(basicOffsetTable: [], fragments: enc.fragments))))
        #expect(try decodeAll(eot) == original)
        // No table at all: frames start at fragments that begin with a JPEG SOI marker.
        var bare = f
        bare.dataSet.insert(DataElement(tag: .pixelData, vr: .OB, value: .encapsulated(EncapsulatedPixelData(basicOffsetTable: [], fragments: enc.fragments))))
        #expect(try decodeAll(bare) == original)
        // And the file written back by our writer (encapsulated, empty table) reads the same.
        var rewritten = bare.dataSet
        rewritten.set(.sopClassUID, .UI, CTSeriesWriter.ctImageStorage)
        let back = try DICOMFile.parse(try DICOMWriter.part10(rewritten, transferSyntax: f.transferSyntax))
        #expect(back.transferSyntax == f.transferSyntax)
        #expect(try decodeAll(back) == original)
        #expect(throws: DICOMError.self) { try DICOMWriter.part10(rewritten) }  // JPEG fragments declared as ELE
    }

    @Test("JPEG Lossless point transform 2: the low two bits of every stored pattern are dropped, nothing else")
    func pointTransform() throws {
        let original = try Self.values("ct-ele.dcm").frames[0]
        let decoded = try Self.values("ct-jpegll-sv1-pt2.dcm").frames[0]
        // T.81 H.1.2.3: the encoder codes pattern >> Pt and the decoder shifts back left; on the
        // 16-bit two's-complement pattern that is value & ~3.
        #expect(decoded == original.map { $0 & ~3 })
    }

    @Test("JPEG-LS near-lossless NEAR=2: every sample within ±2 of the original (T.87 guarantee)")
    func nearLossless() throws {
        let original = try Self.values("ct12u-ele.dcm").frames[0]
        let decoded = try Self.values("ct12u-jpegls-near2.dcm").frames[0]
        let errors = zip(original, decoded).map { abs($0 - $1) }
        #expect(errors.max() ?? 99 <= 2)
        #expect(errors.contains { $0 > 0 })  // it really is lossy
    }

    @Test("lossy JPEG 2000 decodes as GDCM decodes it")
    func lossyJ2K() throws {
        guard JPEG2000Codec.isLibraryAvailable else {
            // Without libopenjp2 the codec must say how to get it.
            #expect {
                try Self.values("ct-j2k-lossy.dcm")
            } throws: { "\($0)".contains("apt-get install libopenjp2-7") }
            return
        }
        let reference = try Self.values("ct-j2k-lossy-gdcm-decoded.dcm").frames
        let decoded = try Self.values("ct-j2k-lossy.dcm").frames
        #expect(decoded == reference)
    }

    @Test("a missing libopenjp2 gives an error naming the syntax and the Debian package")
    func missingOpenJPEG() throws {
        let codec = JPEG2000Codec(libraryOverride: "libopenjp2-not-installed.so.7")
        let f = try DICOMFile.read(path: Self.path("ct-j2k.dcm"))
        guard case .encapsulated(let enc) = f.dataSet[.pixelData]?.value else { return }
        let info = try ImagePixelInfo(f.dataSet)
        #expect {
            try codec.decode(frame: Array(enc.fragments[0]), descriptor: info.descriptor)
        } throws: { error in
            (error as? CodecError) == .libraryMissing(codec: "JPEG 2000", library: "libopenjp2.so.7", debianPackage: "libopenjp2-7")
        }
    }

    @Test("an unsupported transfer syntax is named, never decoded to garbage")
    func unsupportedSyntax() throws {
        var bytes = try FileIO.readAll(path: Self.path("ct-jpegll-sv1.dcm"))
        // Relabel the JPEG Lossless stream as JPEG Baseline (.4.50), which OsteoCT does not decode.
        let from = Array("1.2.840.10008.1.2.4.70".utf8), to = Array("1.2.840.10008.1.2.4.50".utf8)
        if let r = bytes.firstRange(of: from) { bytes.replaceSubrange(r, with: to) }
        let f = try DICOMFile.parse(bytes)
        let info = try ImagePixelInfo(f.dataSet)
        #expect {
            try f.frameBytes(0, info: info)
        } throws: { "\($0)" == "unsupported transfer syntax 1.2.840.10008.1.2.4.50 (JPEG Baseline (Process 1)); convert the series to Explicit VR Little Endian first (e.g. `dcmdjpeg`, `gdcmconv --raw`)" }
    }

    @Test("RLE: hand-made PackBits segments (PS3.5 G.3.1) decode to the stated bytes")
    func rlePackBits() throws {
        // 1 row × 4 columns, 16-bit: segment 1 holds the high bytes, segment 2 the low bytes.
        var header = [UInt8](repeating: 0, count: 64)
        header[0] = 2  // two segments
        header[4] = 64  // segment 1 offset
        header[8] = 66  // segment 2 offset
        let seg1Real: [UInt8] = [0xFD, 0x00]  // replicate run: −3 → the next byte 4 times
        let seg2: [UInt8] = [0x03, 0x01, 0x02, 0x03, 0x04]  // literal run: 3 → the next 4 bytes
        let stream = header + seg1Real + seg2
        let d = PixelDescriptor(rows: 1, columns: 4, bitsAllocated: 16, bitsStored: 16, pixelRepresentation: 0)
        #expect(try RLECodec().decode(frame: stream, descriptor: d) == [1, 0, 2, 0, 3, 0, 4, 0])
        // A segment that runs short is truncated, not zero-filled.
        #expect(throws: CodecError.self) { try RLECodec().decode(frame: header + seg1Real + [0x03, 0x01], descriptor: d) }
    }
}
