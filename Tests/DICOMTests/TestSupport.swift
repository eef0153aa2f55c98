import Foundation
@testable import DICOM
import Imaging

/// Builds byte streams by hand, the way PS3.5 lays them out, so parser tests do not depend on our writer.
struct ByteBuilder {
    var bytes: [UInt8] = []
    var littleEndian = true

    mutating func u16(_ v: UInt16) {
        if littleEndian { bytes += [UInt8(v & 0xFF), UInt8(v >> 8)] } else { bytes += [UInt8(v >> 8), UInt8(v & 0xFF)] }
    }
    mutating func u32(_ v: UInt32) {
        let b = (0..<4).map { UInt8((v >> (8 * UInt32($0))) & 0xFF) }
        bytes += littleEndian ? b : b.reversed()
    }
    mutating func tag(_ g: UInt16, _ e: UInt16) { u16(g); u16(e) }
    /// Explicit VR element with a short (2-byte) length.
    mutating func explicit(_ g: UInt16, _ e: UInt16, _ vr: String, _ value: [UInt8]) {
        tag(g, e)
        bytes += Array(vr.utf8)
        if ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"].contains(vr) {
            bytes += [0, 0]
            u32(UInt32(value.count))
        } else {
            u16(UInt16(value.count))
        }
        bytes += value
    }
    mutating func explicit(_ g: UInt16, _ e: UInt16, _ vr: String, _ text: String) {
        var v = Array(text.utf8)
        if v.count % 2 == 1 { v.append(vr == "UI" ? 0 : 0x20) }
        explicit(g, e, vr, v)
    }
    mutating func implicit(_ g: UInt16, _ e: UInt16, _ value: [UInt8]) {
        tag(g, e)
        u32(UInt32(value.count))
        bytes += value
    }
    mutating func implicit(_ g: UInt16, _ e: UInt16, _ text: String) {
        var v = Array(text.utf8)
        if v.count % 2 == 1 { v.append(0x20) }
        implicit(g, e, v)
    }
}

func le16(_ values: [UInt16]) -> [UInt8] { values.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] } }
func le16(_ values: [Int16]) -> [UInt8] { le16(values.map { UInt16(bitPattern: $0) }) }

/// A Part 10 preamble + meta group for the given transfer syntax.
func part10Header(transferSyntax: String) -> [UInt8] {
    var meta = ByteBuilder()
    meta.explicit(0x0002, 0x0001, "OB", [0, 1])
    meta.explicit(0x0002, 0x0002, "UI", "1.2.840.10008.5.1.4.1.1.2")
    meta.explicit(0x0002, 0x0003, "UI", "1.2.3.4")
    meta.explicit(0x0002, 0x0010, "UI", transferSyntax)
    var head = ByteBuilder()
    head.bytes = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8)
    head.explicit(0x0002, 0x0000, "UL", (0..<4).map { UInt8((UInt32(meta.bytes.count) >> (8 * UInt32($0))) & 0xFF) })
    return head.bytes + meta.bytes
}

/// A fresh temporary directory for one test.
func temporaryDirectory(_ name: String = #function) -> String {
    let clean = name.filter { $0.isLetter || $0.isNumber }
    let dir = NSTemporaryDirectory() + "osteoct-tests/" + clean + "-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// An axial test volume whose voxel value encodes its index, so placement errors show.
func indexedVolume(nx: Int = 12, ny: Int = 10, nz: Int = 6, spacing: Vec3 = Vec3(0.7, 0.8, 1.25), origin: Vec3 = Vec3(-20, -30, 100))
    -> Volume<Int16>
{
    var v = [Int16](repeating: 0, count: nx * ny * nz)
    for k in 0..<nz { for j in 0..<ny { for i in 0..<nx { v[i + nx * (j + ny * k)] = Int16(i + 20 * j + 300 * k - 1000) } } }
    return try! Volume(size: Dim3(nx, ny, nz), geometry: VolumeGeometry(spacing: spacing, origin: origin), voxels: v)
}

func seriesDescription(_ tag: String, thickness: Double = 1.25) -> CTSeriesDescription {
    CTSeriesDescription(
        studyInstanceUID: DICOMUID.derived(from: "study-\(tag)"), seriesInstanceUID: DICOMUID.derived(from: "series-\(tag)"),
        frameOfReferenceUID: DICOMUID.derived(from: "for-\(tag)"), sopInstanceUIDPrefix: DICOMUID.derived(from: "sop-\(tag)"),
        sliceThickness_mm: thickness)
}
