import Foundation
import Imaging
import Testing

@testable import DICOM

@Suite("Series to volume: sorting, spacing, tilt, multi-frame, selection")
struct SeriesTests {
    func load(_ dir: String, selector: String? = nil, tilt: TiltPolicy = .resample) throws -> LoadedVolume {
        let scan = try DICOMScanner.scan([dir])
        return try VolumeAssembly.load(try StackLookup.find(in: scan, selector: selector), tilt: tilt)
    }

    @Test("Written CT series reads back voxel-exact with the same geometry, whatever the file names")
    func roundTrip() throws {
        let dir = temporaryDirectory()
        let v = indexedVolume()
        let paths = try CTSeriesWriter.write(v, seriesDescription("rt"), to: dir)
        // Rename so name order is the reverse of position order.
        for (k, p) in paths.enumerated() {
            try FileManager.default.moveItem(atPath: p, toPath: dir + "/z\(String(format: "%03d", paths.count - k)).dcm")
        }
        let loaded = try load(dir)
        #expect(loaded.volume.voxels == v.voxels)
        #expect(loaded.volume.size == v.size)
        #expect(loaded.volume.geometry.origin == v.geometry.origin)
        #expect(abs(loaded.volume.geometry.spacing.z - 1.25) < 1e-9)
        #expect(loaded.volume.geometry.direction == .identity)
        #expect(loaded.geometry.tiltDegrees == 0)
    }

    @Test("Writing is deterministic: same volume and description give identical bytes")
    func deterministicWriter() throws {
        let v = indexedVolume(nz: 2)
        let a = try DICOMWriter.part10(try CTSeriesWriter.slice(v, 1, seriesDescription("det")))
        let b = try DICOMWriter.part10(try CTSeriesWriter.slice(v, 1, seriesDescription("det")))
        #expect(a == b)
        let f = try DICOMFile.parse(a)
        #expect(f.dataSet.string(.sopClassUID) == CTSeriesWriter.ctImageStorage)
        #expect(f.meta.string(.transferSyntaxUID) == TransferSyntax.explicitVRLittleEndian.uid)
        #expect(f.dataSet.doubles(.imagePositionPatient) == [-20, -30, 101.25])
        #expect(f.dataSet.doubles(.pixelSpacing) == [0.8, 0.7])
        #expect(DICOMUID.derived(from: "x") == DICOMUID.derived(from: "x"))
        #expect(DICOMUID.derived(from: "x") != DICOMUID.derived(from: "y"))
        #expect(DICOMUID.derived(from: "x").count <= 64)  // UI values are at most 64 characters (PS3.5 §6.2)
    }

    @Test("Slices stored head-to-feet still give k along the normal, and world positions keep their values")
    func reversedSliceOrder() throws {
        let dir = temporaryDirectory()
        let v = indexedVolume(nz: 5)
        // The same voxels with the slice axis pointing to the feet.
        var flipped = v
        flipped.geometry = VolumeGeometry(
            spacing: v.geometry.spacing, origin: v.geometry.world(0, 0, 4), direction: Mat3(columns: Vec3(1, 0, 0), Vec3(0, 1, 0), Vec3(0, 0, -1)))
        for k in 0..<5 { for j in 0..<v.size.y { for i in 0..<v.size.x { flipped[i, j, k] = v[i, j, 4 - k] } } }
        // Writer needs a right-handed slice normal to match IOP; write slices explicitly.
        for k in 0..<5 {
            var ds = try CTSeriesWriter.slice(flipped, k, seriesDescription("rev"))
            let p = flipped.geometry.world(0, 0, Double(k))
            ds.set(.imagePositionPatient, ds: [p.x, p.y, p.z])
            try FileIO.writeAtomically(try DICOMWriter.part10(ds), to: dir + "/s\(k).dcm")
        }
        let loaded = try load(dir)
        #expect(loaded.volume.voxels == v.voxels)
        #expect(loaded.volume.geometry.origin == v.geometry.origin)
    }

    @Test("A missing slice is a gap error that says how many slices are missing")
    func gap() throws {
        let dir = temporaryDirectory()
        let paths = try CTSeriesWriter.write(indexedVolume(nz: 8), seriesDescription("gap"), to: dir)
        try FileManager.default.removeItem(atPath: paths[3])
        #expect {
            try load(dir)
        } throws: { error in
            "\(error)".contains("gap") && "\(error)".contains("1 slice(s) missing")
        }
    }

    @Test("Two images at one position: split by acquisition number, else a clear error")
    func duplicatePositions() throws {
        let dir = temporaryDirectory()
        let v = indexedVolume(nz: 4)
        let d = seriesDescription("dup")
        for k in 0..<4 {
            for acq in [1, 2] {
                var ds = try CTSeriesWriter.slice(v, k, d)
                ds.set(.sopInstanceUID, .UI, DICOMUID.derived(from: "dup-\(k)-\(acq)"))
                ds.set(.acquisitionNumber, .IS, "\(acq)")
                try FileIO.writeAtomically(try DICOMWriter.part10(ds), to: dir + "/a\(acq)-\(k).dcm")
            }
        }
        let scan = try DICOMScanner.scan([dir])
        let stacks = try VolumeAssembly.stacks(of: scan.studies[0].series[0])
        #expect(stacks.count == 2)
        #expect(stacks.allSatisfy { $0.frames.count == 4 })
        // Same files without acquisition numbers to tell them apart.
        let dir2 = temporaryDirectory()
        for k in 0..<2 {
            for copy in [1, 2] {
                var ds = try CTSeriesWriter.slice(v, k, d)
                ds.set(.sopInstanceUID, .UI, DICOMUID.derived(from: "dup2-\(k)-\(copy)"))
                try FileIO.writeAtomically(try DICOMWriter.part10(ds), to: dir2 + "/b\(copy)-\(k).dcm")
            }
        }
        #expect { try load(dir2) } throws: { "\($0)".contains("same position") }
        // An exact copy of a file (same SOP Instance UID) is simply ignored.
        let dir3 = temporaryDirectory()
        let paths = try CTSeriesWriter.write(v, d, to: dir3)
        try FileManager.default.copyItem(atPath: paths[1], toPath: dir3 + "/copy.dcm")
        #expect(try load(dir3).volume.voxels == v.voxels)
    }

    @Test("Different matrix sizes in one series become separate stacks")
    func mixedMatrix() throws {
        let dir = temporaryDirectory()
        var d = seriesDescription("mixed")
        try CTSeriesWriter.write(indexedVolume(nx: 12, nz: 3), d, to: dir + "/a")
        d.sopInstanceUIDPrefix = DICOMUID.derived(from: "mixed-b")
        try CTSeriesWriter.write(indexedVolume(nx: 8, nz: 3, origin: Vec3(0, 0, 300)), d, to: dir + "/b")
        let scan = try DICOMScanner.scan([dir])
        #expect(scan.studies.count == 1)
        #expect(try VolumeAssembly.stacks(of: scan.studies[0].series[0]).count == 2)
        #expect { try load(dir) } throws: { "\($0)".contains("holds 2 volumes") }
    }

    @Test("Gantry tilt: detected from positions, resampled onto an orthogonal grid, or refused")
    func gantryTilt() throws {
        let dir = temporaryDirectory()
        let nx = 30, ny = 30, nz = 6
        let dy = 0.5, dz = 2.0  // each slice's origin moves 0.5 mm posterior per 2 mm: atan(0.25) = 14.04°
        let base = VolumeGeometry(spacing: Vec3(1, 1, dz), origin: Vec3(0, 0, 0))
        // A vertical rod (world x, y fixed) drawn into each tilted slice at its world position.
        var flat = [Int16](repeating: -1000, count: nx * ny * nz)
        for k in 0..<nz {
            for j in 0..<ny {
                for i in 0..<nx {
                    let wx = Double(i), wy = Double(j) + Double(k) * dy
                    if (wx - 15) * (wx - 15) + (wy - 15) * (wy - 15) <= 16 { flat[i + nx * (j + ny * k)] = 1000 }
                }
            }
        }
        let vol = try Volume(size: Dim3(nx, ny, nz), geometry: base, voxels: flat)
        for k in 0..<nz {
            var ds = try CTSeriesWriter.slice(vol, k, seriesDescription("tilt", thickness: dz))
            ds.set(.imagePositionPatient, ds: [0, Double(k) * dy, Double(k) * dz])
            try FileIO.writeAtomically(try DICOMWriter.part10(ds), to: dir + "/t\(k).dcm")
        }
        let loaded = try load(dir)
        #expect(abs(loaded.geometry.tiltDegrees - atan(dy / dz) * 180 / .pi) < 0.01)
        #expect(loaded.notes.contains { $0.contains("gantry tilt") })
        // After resampling the rod sits at the same index in every slice: index (15, 15 - k·dy)... in
        // the orthogonal grid of slice 0 the rod is at world (15, 15), i.e. index (15, 15) everywhere.
        for k in 0..<nz {
            #expect(loaded.volume[15, 15, k] == 1000)
            #expect(loaded.volume[15, 25, k] == -1000)
        }
        #expect { try load(dir, tilt: .refuse) } throws: { "\($0)".contains("tilt") }
    }

    @Test("Enhanced CT: per-frame positions, shared orientation and per-frame rescale; frames stored out of order")
    func enhancedCT() throws {
        let nx = 4, ny = 3, nz = 4
        var ds = DataSet()
        ds.set(.sopClassUID, .UI, "1.2.840.10008.5.1.4.1.1.2.1")
        ds.set(.sopInstanceUID, .UI, "1.2.3.9")
        ds.set(.studyInstanceUID, .UI, "1.2.3.1")
        ds.set(.seriesInstanceUID, .UI, "1.2.3.2")
        ds.set(.modality, .CS, "CT")
        ds.set(.imageType, .CS, ["ORIGINAL", "PRIMARY", "AXIAL"])
        ds.set(.rows, us: [UInt16(ny)]); ds.set(.columns, us: [UInt16(nx)])
        ds.set(.numberOfFrames, .IS, "\(nz)")
        ds.set(.samplesPerPixel, us: [1]); ds.set(.bitsAllocated, us: [16]); ds.set(.bitsStored, us: [16])
        ds.set(.pixelRepresentation, us: [0]); ds.set(.photometricInterpretation, .CS, "MONOCHROME2")
        var shared = DataSet()
        var orient = DataSet(); orient.set(.imageOrientationPatient, ds: [1, 0, 0, 0, 1, 0])
        var measures = DataSet(); measures.set(.pixelSpacing, ds: [0.5, 0.5]); measures.set(.sliceThickness, ds: [2])
        shared.set(.planeOrientationSequence, sequence: [orient])
        shared.set(.pixelMeasuresSequence, sequence: [measures])
        ds.set(.sharedFunctionalGroupsSequence, sequence: [shared])
        // Frame f is stored at z = 2·(3 − f) with intercept −1000 − f; its stored values are 100·f + i.
        var perFrame: [DataSet] = []
        var pixels: [UInt16] = []
        for f in 0..<nz {
            var item = DataSet()
            var pos = DataSet(); pos.set(.imagePositionPatient, ds: [0, 0, Double(2 * (nz - 1 - f))])
            var transform = DataSet(); transform.set(.rescaleIntercept, ds: [Double(-1000 - f)]); transform.set(.rescaleSlope, ds: [1])
            item.set(.planePositionSequence, sequence: [pos])
            item.set(.pixelValueTransformationSequence, sequence: [transform])
            perFrame.append(item)
            pixels += (0..<(nx * ny)).map { UInt16(100 * f + $0) }
        }
        ds.set(.perFrameFunctionalGroupsSequence, sequence: perFrame)
        ds.set(.pixelData, .OW, bytes: le16(pixels))
        let dir = temporaryDirectory()
        try FileIO.writeAtomically(try DICOMWriter.part10(ds), to: dir + "/enhanced.dcm")
        let loaded = try load(dir)
        #expect(loaded.volume.size == Dim3(nx, ny, nz))
        #expect(loaded.volume.geometry.origin == Vec3(0, 0, 0))
        #expect(loaded.volume.geometry.spacing == Vec3(0.5, 0.5, 2))
        for k in 0..<nz {
            let f = nz - 1 - k  // lowest z is the last stored frame
            for i in 0..<(nx * ny) {
                #expect(Int(loaded.volume.voxels[k * nx * ny + i]) == 100 * f + i - 1000 - f)
            }
        }
    }

    @Test("Series selection prefers thin, soft-kernel, non-contrast series and says why")
    func selection() throws {
        let root = temporaryDirectory()
        // 40×40 at 8 mm = 320 mm field of view; slices cover ≥ 90 mm.
        func series(_ name: String, number: Int, thickness: Double, kernel: String, contrast: String?) throws {
            let nz = Int((100 / thickness).rounded()) + 1
            let v = try Volume(
                size: Dim3(40, 40, nz), geometry: VolumeGeometry(spacing: Vec3(8, 8, thickness), origin: Vec3(-160, -160, 0)),
                filling: Int16(0))
            var d = seriesDescription("sel")
            d.seriesInstanceUID = DICOMUID.derived(from: "sel-\(name)")
            d.sopInstanceUIDPrefix = DICOMUID.derived(from: "sel-sop-\(name)")
            d.seriesNumber = number
            d.seriesDescription = name
            d.convolutionKernel = kernel
            d.sliceThickness_mm = thickness
            d.contrastAgent = contrast
            try CTSeriesWriter.write(v, d, to: root + "/" + name)
        }
        try series("thick", number: 2, thickness: 5, kernel: "STANDARD", contrast: nil)
        try series("bone", number: 3, thickness: 1.25, kernel: "BONE", contrast: nil)
        try series("venous", number: 4, thickness: 1.25, kernel: "STANDARD", contrast: "IOPAMIDOL")
        try series("plain", number: 5, thickness: 1.25, kernel: "STANDARD", contrast: nil)
        let scan = try DICOMScanner.scan([root])
        let (choice, considered) = SeriesSelection.choose(scan.studies[0])
        let chosen = try #require(choice)
        #expect(chosen.stack.series.seriesDescription == "plain")
        #expect(considered.count == 4)
        #expect(chosen.rejected.contains { $0.description.contains("thick") && $0.why.contains("at most 3 mm") })
        #expect(chosen.rejected.contains { $0.description.contains("bone") && $0.why.contains("sharp kernel") })
        #expect(chosen.rejected.contains { $0.description.contains("venous") && $0.why.contains("contrast") })
    }

    @Test("Pixel values: BitsStored < BitsAllocated is masked and sign-extended; rescale rounds half away from zero")
    func pixelValues() {
        let d = PixelDescriptor(rows: 1, columns: 4, bitsAllocated: 16, bitsStored: 12, pixelRepresentation: 1)
        // 0x0FFF → −1; 0xF800 has only garbage above bit 11 → 0x800 → −2048; 0x07FF → 2047; 0x1001 → 1.
        let raw = le16([UInt16(0x0FFF), 0xF800, 0x07FF, 0x1001])
        var out = [Int16](repeating: 0, count: 4)
        _ = raw.withUnsafeBytes { r in out.withUnsafeMutableBufferPointer { PixelValues.toInt16(native: r, descriptor: d, rescale: Rescale(slope: 1, intercept: -1024), into: $0) } }
        #expect(out == [-1025, -3072, 1023, -1023])
        _ = raw.withUnsafeBytes { r in out.withUnsafeMutableBufferPointer { PixelValues.toInt16(native: r, descriptor: d, rescale: Rescale(slope: 0.5, intercept: 0.25), into: $0) } }
        #expect(out == [0, -1024, 1024, 1])  // −0.25 → 0, −1023.75 → −1024, 1023.75 → 1024, 0.75 → 1
        let u = PixelDescriptor(rows: 1, columns: 2, bitsAllocated: 16, bitsStored: 12, pixelRepresentation: 0)
        _ = le16([UInt16(0xFFFF), 0x0800]).withUnsafeBytes { r in out.withUnsafeMutableBufferPointer { PixelValues.toInt16(native: r, descriptor: u, rescale: .identity, into: $0) } }
        #expect(Array(out[0..<2]) == [4095, 2048])
    }

    @Test("Pixel Padding Value is reported in HU")
    func padding() throws {
        let dir = temporaryDirectory()
        var v = indexedVolume(nz: 3)
        v.voxels[0] = -2000
        var d = seriesDescription("pad")
        d.paddingHU = -2000
        try CTSeriesWriter.write(v, d, to: dir)
        let loaded = try load(dir)
        #expect(loaded.paddingHU == -2000)
        #expect(loaded.volume.voxels[0] == -2000)
    }

    @Test("Unreadable files are listed with the reason; a folder without images is an error")
    func unreadable() throws {
        let dir = temporaryDirectory()
        try FileIO.writeAtomically(Array("not dicom at all".utf8), to: dir + "/notes.txt")
        let scan = try DICOMScanner.scan([dir])
        #expect(scan.unreadable.count == 1)
        #expect(scan.unreadable[0].reason.contains("not a DICOM file"))
        #expect { try StackLookup.find(in: scan, selector: nil) } throws: { "\($0)".contains("no image volume") }
    }

    @Test("Uncompressed frames read straight into the volume: unsigned 12-bit with junk high bits, slope 2")
    func directReadPath() throws {
        let dir = temporaryDirectory()
        let v = indexedVolume(nx: 6, ny: 5, nz: 3)
        for k in 0..<3 {
            var ds = try CTSeriesWriter.slice(v, k, seriesDescription("direct"))
            ds.set(.pixelRepresentation, us: [0])
            ds.set(.bitsStored, us: [12])
            ds.set(.highBit, us: [11])
            ds.set(.rescaleSlope, ds: [2])
            ds.set(.rescaleIntercept, ds: [-100])
            // stored = i + 7k in the low 12 bits, 0xF000 junk above them (must be masked off).
            let stored: [UInt16] = (0..<30).map { UInt16($0 + 7 * k) | 0xF000 }
            ds.set(.pixelData, .OW, bytes: le16(stored))
            try FileIO.writeAtomically(try DICOMWriter.part10(ds), to: dir + "/d\(k).dcm")
        }
        let scan = try DICOMScanner.scan([dir])
        let stack = try StackLookup.find(in: scan, selector: nil)
        #expect(stack.frames.allSatisfy { $0.nativePixelOffset != nil })
        let loaded = try VolumeAssembly.load(stack)
        for k in 0..<3 {
            for i in 0..<30 { #expect(Int(loaded.volume.voxels[k * 30 + i]) == 2 * (i + 7 * k) - 100) }
        }
    }

    @Test("A header that ends exactly at the 16 KB scan prefix is read whole (Rescale Intercept after the cut)")
    func prefixBoundary() throws {
        let dir = temporaryDirectory()
        let v = indexedVolume(nx: 4, ny: 3, nz: 2)
        for k in 0..<2 {
            var ds = try CTSeriesWriter.slice(v, k, seriesDescription("prefix"))
            // Where (0028,1052) starts without filler, then a filler element (0028,0400) OB that
            // moves it to byte 16384 exactly.
            let plain = try DICOMWriter.part10(ds)
            let marker: [UInt8] = [0x28, 0x00, 0x52, 0x10]
            let at = try #require(plain.firstRange(of: marker)?.lowerBound)
            let filler = DICOMScanner.headerPrefixBytes - at - 12  // OB header is 12 bytes
            #expect(filler > 0 && filler % 2 == 0)
            ds.set(Tag(0x0028, 0x0400), .OB, bytes: [UInt8](repeating: 0, count: filler))
            let bytes = try DICOMWriter.part10(ds)
            #expect(bytes.firstRange(of: marker)?.lowerBound == DICOMScanner.headerPrefixBytes)
            try FileIO.writeAtomically(bytes, to: dir + "/p\(k).dcm")
        }
        let loaded = try load(dir)
        #expect(loaded.stack.frames[0].rescale.intercept == -1024)
        #expect(loaded.volume.voxels == v.voxels)
    }

    @Test("Hostile positions: a kilometre off, irregular in-plane drift, tiny jitter")
    func hostilePositions() throws {
        func series(_ tag: String, _ position: (Int) -> [Double]) throws -> String {
            let dir = temporaryDirectory(tag)
            let v = indexedVolume(nx: 8, ny: 8, nz: 6)
            for k in 0..<6 {
                var ds = try CTSeriesWriter.slice(v, k, seriesDescription(tag))
                ds.set(.imagePositionPatient, ds: position(k))
                try FileIO.writeAtomically(try DICOMWriter.part10(ds), to: dir + "/h\(k).dcm")
            }
            return dir
        }
        let far = try series("far") { k in k == 5 ? [0, 0, 1e19] : [0, 0, Double(k)] }
        #expect { try load(far) } throws: { "\($0)".contains("±1,000,000 mm") && "\($0)".contains("would miss slices") }
        let zigzag = try series("zigzag") { k in [k % 2 == 0 ? 0 : 3, 0, Double(k)] }
        #expect { try load(zigzag) } throws: { "\($0)".contains("irregularly") }
        let jitter = try series("jitter") { k in [k % 2 == 0 ? 0 : 0.0004, 0, Double(k)] }
        let j = try load(jitter)
        #expect(j.geometry.tiltDegrees == 0)
        #expect(!j.notes.contains { $0.contains("tilt") })
    }
}
