import Foundation
import Testing

@testable import Imaging

@Suite("Geometry")
struct GeometryTests {
    @Test("index ↔ world round trip on an oblique, anisotropic grid")
    func indexWorld() throws {
        let a = 20.0 * .pi / 180
        let dir = Mat3(columns: Vec3(cos(a), sin(a), 0), Vec3(-sin(a), cos(a), 0), Vec3(0, 0, 1))
        let g = VolumeGeometry(spacing: Vec3(0.7, 0.8, 1.25), origin: Vec3(-100, 50, 300), direction: dir)
        let p = g.world(10, 20, 30)
        // Analytic: origin + 7·c0 + 16·c1 + 37.5·c2.
        let expected = Vec3(-100 + 7 * cos(a) - 16 * sin(a), 50 + 7 * sin(a) + 16 * cos(a), 337.5)
        #expect((p - expected).length < 1e-12)
        let back = try #require(g.index(of: p))
        #expect((back - Vec3(10, 20, 30)).length < 1e-9)
        #expect(abs(dir.determinant - 1) < 1e-12)
        #expect(g.affineRAS[0][3] == 100 && g.affineRAS[1][3] == -50)
    }

    @Test("sizes are checked before allocating")
    func limits() {
        #expect(throws: ImagingError.self) { try Volume<Int16>(size: Dim3(0, 1, 1), geometry: VolumeGeometry(spacing: Vec3(1, 1, 1)), filling: 0) }
        #expect(throws: ImagingError.self) { try Volume<Int16>(size: Dim3(1 << 20, 1 << 20, 1 << 20), geometry: VolumeGeometry(spacing: Vec3(1, 1, 1)), filling: 0) }
        #expect(throws: ImagingError.self) { try Volume<Int16>(size: Dim3(2, 2, 2), geometry: VolumeGeometry(spacing: Vec3(1, 1, 1)), voxels: [1, 2, 3]) }
    }
}

@Suite("NIfTI-1 and NIfTI-2")
struct NIfTITests {
    func temp(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "osteoct-tests/nifti-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir + "/" + name
    }

    func obliqueVolume() throws -> Volume<Int16> {
        let a = 12.0 * .pi / 180
        // A rotation about y plus a flipped slice axis (determinant −1): exercises qfac.
        let dir = Mat3(columns: Vec3(cos(a), 0, -sin(a)), Vec3(0, 1, 0), Vec3(-sin(a), 0, -cos(a)))
        let g = VolumeGeometry(spacing: Vec3(0.742, 0.742, 1.25), origin: Vec3(-190.5, -20.25, 115), direction: dir)
        let voxels: [Int16] = (0..<140).map { (i: Int) -> Int16 in Int16(i * 37 - 2000) }
        return try Volume(size: Dim3(7, 5, 4), geometry: g, voxels: voxels)
    }

    @Test("write → read keeps voxels and geometry (sform and qform), .nii and .nii.gz, NIfTI-1 and -2", arguments: ["a.nii", "a.nii.gz"], [NIfTI.Version.one, .two])
    func roundTrip(name: String, version: NIfTI.Version) throws {
        let v = try obliqueVolume()
        let path = temp(name)
        try NIfTI.write(v, to: path, version: version)
        let img = try NIfTI.read(path: path)
        #expect(img.version == version)
        #expect(img.transformSource == "sform")
        let (back, clamped) = try img.int16Volume()
        #expect(clamped == 0)
        #expect(back.voxels == v.voxels)
        for (i, j, k) in [(0, 0, 0), (6, 4, 3), (3, 1, 2)] {
            let d = (back.geometry.world(Double(i), Double(j), Double(k)) - v.geometry.world(Double(i), Double(j), Double(k))).length
            #expect(d < 1e-3)  // float32 header fields in NIfTI-1
        }
        // The qform alone must give the same geometry (readers that ignore sform).
        var bytes = NIfTI.encode(v, version: version)
        if version == .one { bytes[254] = 0; bytes[255] = 0 } else { for k in 348..<352 { bytes[k] = 0 } }
        let q = try NIfTI.parse(bytes, path: "qform-only")
        #expect(q.transformSource == "qform")
        let d = (q.geometry.world(6, 4, 3) - v.geometry.world(6, 4, 3)).length
        #expect(d < 1e-3)
    }

    @Test("same volume → identical bytes (gzip has no timestamp)")
    func deterministic() throws {
        let v = try obliqueVolume()
        let a = temp("x.nii.gz"), b = temp("y.nii.gz")
        try NIfTI.write(v, to: a)
        try NIfTI.write(v, to: b)
        #expect(try FileIO.readAll(path: a) == FileIO.readAll(path: b))
    }

    @Test("scl_slope/scl_inter are applied; label maps must be whole numbers 0…255")
    func scalingAndLabels() throws {
        let v = try obliqueVolume()
        var bytes = NIfTI.encode(v)
        // scl_slope = 2, scl_inter = −10 (NIfTI-1 offsets 112 and 116, float32 LE).
        withUnsafeBytes(of: Float(2).bitPattern.littleEndian) { for k in 0..<4 { bytes[112 + k] = $0[k] } }
        withUnsafeBytes(of: Float(-10).bitPattern.littleEndian) { for k in 0..<4 { bytes[116 + k] = $0[k] } }
        let img = try NIfTI.parse(bytes, path: "scaled")
        let (s, _) = try img.int16Volume()
        #expect(s.voxels[1] == v.voxels[1] * 2 - 10)
        let labels = try Volume(size: Dim3(3, 1, 1), geometry: VolumeGeometry(spacing: Vec3(1, 1, 1)), voxels: [UInt8(0), 7, 255])
        let l = try NIfTI.parse(NIfTI.encode(labels), path: "labels").labelVolume(path: "labels")
        #expect(l.voxels == [0, 7, 255])
        #expect(throws: ImagingError.self) { try NIfTI.parse(NIfTI.encode(v), path: "hu").labelVolume(path: "hu") }
    }

    @Test("bad files: truncated data, wrong magic, 4-D with several volumes → errors that say what")
    func badFiles() throws {
        let v = try obliqueVolume()
        let good = NIfTI.encode(v)
        #expect { try NIfTI.parse(Array(good.dropLast(10)), path: "t") } throws: { "\($0)".contains("truncated") }
        var magic = good
        magic[345] = 0x58
        #expect { try NIfTI.parse(magic, path: "m") } throws: { "\($0)".contains("magic") }
        var fourD = good
        fourD[40] = 4; fourD[48] = 3  // dim[0] = 4, dim[4] = 3
        #expect { try NIfTI.parse(fourD, path: "4d") } throws: { "\($0)".contains("3 volumes") }
        // NIfTI-2 dimensions whose product overflows are refused, not multiplied.
        var huge = NIfTI.encode(try obliqueVolume(), version: .two)
        huge[16] = 7
        for k in 4...7 { for b in 0..<4 { huge[16 + 8 * k + b] = b == 3 ? 0x7F : 0xFF } }
        #expect(throws: ImagingError.self) { try NIfTI.parse(huge, path: "huge") }
        #expect(throws: ImagingError.self) { try NIfTI.parse([UInt8](repeating: 0, count: 100), path: "short") }
    }

    @Test("gzip round trip and a truncated gzip stream")
    func gzip() throws {
        let data = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7 / 3) }
        let z = try Zlib.deflate(data, format: .gzip)
        #expect(try Zlib.inflate(z, format: .gzip, maxOutput: 1 << 20) == data)
        #expect(throws: Zlib.Failure.self) { try Zlib.inflate(Array(z.prefix(z.count / 2)), format: .gzip, maxOutput: 1 << 20) }
        #expect(throws: Zlib.Failure.self) { try Zlib.inflate(z, format: .gzip, maxOutput: 1000) }
    }
}
