import Foundation

/// NIfTI-1 and NIfTI-2 single-file images (`.nii`, `.nii.gz`), read and written.
///
/// NIfTI's world frame is RAS+ (+x toward the patient's right, +y anterior, +z superior); DICOM's
/// is LPS+ (+x toward the patient's left, +y posterior). LPS = diag(−1, −1, 1)·RAS, applied at this
/// boundary only (DESIGN: geometry is LPS inside).
public enum NIfTI {
    /// NIfTI data type codes (nifti1.h, NIFTI_TYPE_*).
    public enum DataType: Int16, Sendable {
        case uint8 = 2, int16 = 4, int32 = 8, float32 = 16, float64 = 64, int8 = 256, uint16 = 512, uint32 = 768

        public var bytes: Int {
            switch self {
            case .uint8, .int8: return 1
            case .int16, .uint16: return 2
            case .int32, .uint32, .float32: return 4
            case .float64: return 8
            }
        }
    }

    public enum Version: Int, Sendable { case one = 1, two = 2 }

    /// A NIfTI file as read: header facts, geometry in LPS, and the raw voxel bytes.
    public struct Image: Sendable {
        public var version: Version
        public var size: Dim3
        public var dataType: DataType
        public var geometry: VolumeGeometry
        public var sclSlope: Double
        public var sclInter: Double
        /// Which transform gave the geometry: "sform", "qform" or "pixdim only".
        public var transformSource: String
        public var description: String
        /// Voxel bytes, little endian, x fastest.
        public var data: [UInt8]
        public var warnings: [String]

        /// Scaling applies unless slope is 0 (NIfTI: "no scaling") or identity.
        var scaling: (Double, Double)? {
            guard sclSlope != 0, sclSlope.isFinite, sclInter.isFinite else { return nil }
            return sclSlope == 1 && sclInter == 0 ? nil : (sclSlope, sclInter)
        }

        /// Voxel `i` as a number, before scaling.
        @inline(__always)
        func raw(_ i: Int, _ p: UnsafeRawBufferPointer) -> Double {
            switch dataType {
            case .uint8: return Double(p[i])
            case .int8: return Double(Int8(bitPattern: p[i]))
            case .int16: return Double(Int16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
            case .uint16: return Double(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            case .int32: return Double(Int32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
            case .uint32: return Double(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            case .float32: return Double(Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))))
            case .float64: return Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
            }
        }

        /// Voxels as Int16 (CT in HU) with the scaling applied, rounded and clamped. Returns the
        /// volume and how many values were clamped or were not finite.
        public func int16Volume() throws(ImagingError) -> (Volume<Int16>, clamped: Int) {
            guard let n = size.count else { throw .invalidSize(size) }
            var clamped = 0
            var out = [Int16](repeating: 0, count: n)
            if dataType == .int16 && scaling == nil {
                data.withUnsafeBytes { p in
                    for i in 0..<n { out[i] = Int16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) }
                }
            } else {
                let (slope, inter) = scaling ?? (1, 0)
                data.withUnsafeBytes { p in
                    for i in 0..<n {
                        let v = raw(i, p) * slope + inter
                        guard v.isFinite else { clamped += 1; continue }
                        let r = v.rounded(.toNearestOrAwayFromZero)
                        if r > 32767 { out[i] = .max; clamped += 1 } else if r < -32768 { out[i] = .min; clamped += 1 } else { out[i] = Int16(r) }
                    }
                }
            }
            return (try Volume(size: size, geometry: geometry, voxels: out), clamped)
        }

        /// Voxels as Float with the scaling applied (density maps, probability maps).
        public func floatValues() throws(ImagingError) -> [Float] {
            guard let n = size.count else { throw .invalidSize(size) }
            let (slope, inter) = scaling ?? (1, 0)
            var out = [Float](repeating: 0, count: n)
            data.withUnsafeBytes { p in
                for i in 0..<n { out[i] = Float(raw(i, p) * slope + inter) }
            }
            return out
        }

        /// Voxels as UInt8 labels; values must be whole numbers 0…255 (scaling applied if present).
        public func labelVolume(path: String) throws(ImagingError) -> Volume<UInt8> {
            guard let n = size.count else { throw .invalidSize(size) }
            var out = [UInt8](repeating: 0, count: n)
            let (slope, inter) = scaling ?? (1, 0)
            var bad: (Int, Double)?
            data.withUnsafeBytes { p in
                for i in 0..<n {
                    let v = raw(i, p) * slope + inter
                    if v >= 0, v <= 255, v == v.rounded() { out[i] = UInt8(v) } else if bad == nil { bad = (i, v) }
                }
            }
            if let (i, v) = bad {
                throw .nifti(path: path, reason: "voxel \(i) holds \(v), not a label 0…255; pass a label map (uint8/int16 integers)")
            }
            return try Volume(size: size, geometry: geometry, voxels: out)
        }
    }

    /// Reads `.nii` or `.nii.gz` (gzip detected by its magic bytes, not the name).
    public static func read(path: String) throws(ImagingError) -> Image {
        var bytes: [UInt8]
        do { bytes = try FileIO.readAll(path: path) } catch { throw .io(path: path, reason: error.reason) }
        if bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B {
            do { bytes = try Zlib.inflate(bytes, format: .gzip, maxOutput: FileIO.maxFileBytes) } catch {
                throw .gzip(path: path, reason: error.reason)
            }
        }
        return try parse(bytes, path: path)
    }

    /// Parses an uncompressed single-file NIfTI-1 or NIfTI-2 image.
    public static func parse(_ b: [UInt8], path: String) throws(ImagingError) -> Image {
        func fail(_ r: String) -> ImagingError { .nifti(path: path, reason: r) }
        guard b.count >= 348 else { throw fail("only \(b.count) bytes; a NIfTI header has at least 348") }
        let r = Reader(bytes: b)
        var little = true
        var version: Version
        switch (r.i32(0, true), r.i32(0, false)) {
        case (348, _): version = .one
        case (_, 348): version = .one; little = false
        case (540, _): version = .two
        case (_, 540): version = .two; little = false
        default: throw fail("sizeof_hdr is neither 348 (NIfTI-1) nor 540 (NIfTI-2)")
        }
        var warnings: [String] = []
        var dims = [Int](repeating: 0, count: 8)
        var pixdim = [Double](repeating: 0, count: 8)
        var datatypeCode: Int16
        var voxOffset: Int
        var slope, inter: Double
        var qformCode, sformCode: Int
        var quat = [Double](repeating: 0, count: 6)
        var srow = [[Double]](repeating: [0, 0, 0, 0], count: 3)
        var descrip: String
        if version == .one {
            let magic = Array(b[344..<348])
            guard magic == [0x6E, 0x2B, 0x31, 0] || magic == [0x6E, 0x69, 0x31, 0] else {
                throw fail("magic is not 'n+1' (single-file NIfTI-1); two-file .hdr/.img pairs are not read")
            }
            if magic[1] == 0x69 { throw fail("'ni1' header: the image is in a separate .img file; convert to a single .nii") }
            for k in 0..<8 { dims[k] = Int(r.i16(40 + 2 * k, little)) }
            datatypeCode = r.i16(70, little)
            for k in 0..<8 { pixdim[k] = Double(r.f32(76 + 4 * k, little)) }
            let offset = r.f32(108, little)
            guard offset.isFinite, offset >= 0, offset < Float(b.count) + 1 else {
                throw fail("vox_offset \(offset) is not a position in the file")
            }
            voxOffset = Int(offset)
            slope = Double(r.f32(112, little))
            inter = Double(r.f32(116, little))
            qformCode = Int(r.i16(252, little))
            sformCode = Int(r.i16(254, little))
            for k in 0..<6 { quat[k] = Double(r.f32(256 + 4 * k, little)) }
            for row in 0..<3 { for c in 0..<4 { srow[row][c] = Double(r.f32(280 + 16 * row + 4 * c, little)) } }
            descrip = r.text(148, 80)
        } else {
            guard b.count >= 540 else { throw fail("only \(b.count) bytes; a NIfTI-2 header has 540") }
            guard Array(b[4..<8]) == [0x6E, 0x2B, 0x32, 0] else {
                throw fail("magic is not 'n+2' (single-file NIfTI-2)")
            }
            datatypeCode = r.i16(12, little)
            for k in 0..<8 {
                let v = r.i64(16 + 8 * k, little)
                guard v >= Int64(Int32.min), v <= Int64(Int32.max) else { throw fail("dim[\(k)] = \(v) is out of range") }
                dims[k] = Int(v)
            }
            for k in 0..<8 { pixdim[k] = r.f64(104 + 8 * k, little) }
            let off = r.i64(168, little)
            guard off >= 0, off < Int64(b.count) + 1 else { throw fail("vox_offset \(off) is past the end of the file") }
            voxOffset = Int(off)
            slope = r.f64(176, little)
            inter = r.f64(184, little)
            qformCode = Int(r.i32(344, little))
            sformCode = Int(r.i32(348, little))
            for k in 0..<6 { quat[k] = r.f64(352 + 8 * k, little) }
            for row in 0..<3 { for c in 0..<4 { srow[row][c] = r.f64(400 + 32 * row + 8 * c, little) } }
            descrip = r.text(240, 80)
        }
        guard let dataType = DataType(rawValue: datatypeCode) else {
            throw fail("datatype \(datatypeCode) is not read (uint8, int8, int16, uint16, int32, uint32, float32, float64 are)")
        }
        let ndim = dims[0]
        guard ndim >= 1, ndim <= 7 else { throw fail("dim[0] = \(ndim) must be 1…7") }
        for k in 1...ndim where dims[k] < 1 { throw fail("dim[\(k)] = \(dims[k]) must be at least 1") }
        if ndim > 3 {
            guard dims[4...ndim].allSatisfy({ $0 == 1 }) else {
                let shown = dims[4...ndim].map(String.init).joined(separator: "×")
                throw fail("\(ndim)-D image with \(shown) volumes; pass a single 3-D volume (e.g. split it with fslsplit)")
            }
        }
        let size = Dim3(dims[1], ndim >= 2 ? dims[2] : 1, ndim >= 3 ? dims[3] : 1)
        guard let count = size.count, count <= ImagingLimits.maxVoxels else { throw ImagingError.tooLarge(size, limit: ImagingLimits.maxVoxels) }
        let needed = count * dataType.bytes
        guard voxOffset >= (version == .one ? 348 : 540) else { throw fail("vox_offset \(voxOffset) points inside the header") }
        guard voxOffset <= b.count, b.count - voxOffset >= needed else {
            throw fail("the header describes \(size) voxels of \(dataType.bytes) byte(s) (\(needed) bytes) from byte \(voxOffset), but the file has \(max(0, b.count - voxOffset)); it is truncated")
        }
        var data = Array(b[voxOffset..<(voxOffset + needed)])
        if !little && dataType.bytes > 1 {
            let w = dataType.bytes
            data.withUnsafeMutableBufferPointer { p in
                var i = 0
                while i < p.count { var a = i, z = i + w - 1; while a < z { p.swapAt(a, z); a += 1; z -= 1 }; i += w }
            }
        }
        let spacing3 = (1...3).map { k in pixdim[k] > 0 && pixdim[k].isFinite ? pixdim[k] : 1.0 }

        // Geometry: sform when set (method 3), else qform (method 2), else pixdim only (method 1).
        var rasAffine: [[Double]]
        var source: String
        if sformCode > 0 {
            rasAffine = srow
            source = "sform"
        } else if qformCode > 0 {
            rasAffine = qformAffine(b: quat[0], c: quat[1], d: quat[2], offset: (quat[3], quat[4], quat[5]),
                                    spacing: spacing3, qfac: pixdim[0] < 0 ? -1 : 1)
            source = "qform"
        } else {
            rasAffine = [[spacing3[0], 0, 0, 0], [0, spacing3[1], 0, 0], [0, 0, spacing3[2], 0]]
            source = "pixdim only"
            warnings.append("no qform or sform: voxel sizes only, position and orientation unknown")
        }
        // RAS → LPS: negate the x and y rows.
        let lps = [rasAffine[0].map { -$0 }, rasAffine[1].map { -$0 }, rasAffine[2]]
        let c0 = Vec3(lps[0][0], lps[1][0], lps[2][0]), c1 = Vec3(lps[0][1], lps[1][1], lps[2][1])
        let c2 = Vec3(lps[0][2], lps[1][2], lps[2][2])
        guard c0.length > 0, c1.length > 0, c2.length > 0 else {
            throw fail("the \(source) matrix has a zero column; the file's geometry is broken")
        }
        let geometry = VolumeGeometry(
            spacing: Vec3(c0.length, c1.length, c2.length), origin: Vec3(lps[0][3], lps[1][3], lps[2][3]),
            direction: Mat3(columns: c0.normalized, c1.normalized, c2.normalized))
        return Image(
            version: version, size: size, dataType: dataType, geometry: geometry, sclSlope: slope, sclInter: inter,
            transformSource: source, description: descrip, data: data, warnings: warnings)
    }

    /// The RAS affine of a qform (NIfTI-1 quaternion representation).
    static func qformAffine(b: Double, c: Double, d: Double, offset: (Double, Double, Double), spacing: [Double], qfac: Double) -> [[Double]] {
        var a = 1 - (b * b + c * c + d * d)
        a = a < 1e-7 ? 0 : a.squareRoot()
        let r = [
            [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
            [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
            [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
        ]
        let s = [spacing[0], spacing[1], qfac * spacing[2]]
        return [
            [r[0][0] * s[0], r[0][1] * s[1], r[0][2] * s[2], offset.0],
            [r[1][0] * s[0], r[1][1] * s[1], r[1][2] * s[2], offset.1],
            [r[2][0] * s[0], r[2][1] * s[1], r[2][2] * s[2], offset.2],
        ]
    }

    /// Quaternion (b, c, d) and qfac of a rotation matrix given by orthonormal columns (NIfTI-1 §qform).
    static func quaternion(_ m: Mat3) -> (b: Double, c: Double, d: Double, qfac: Double) {
        var c0 = m.c0, c1 = m.c1, c2 = m.c2
        var qfac = 1.0
        if m.determinant < 0 {
            qfac = -1
            c2 = -c2
        }
        // Re-orthonormalise (Gram–Schmidt) so small rounding does not spoil the quaternion.
        c0 = c0.normalized
        c1 = (c1 - c0 * c0.dot(c1)).normalized
        c2 = c0.cross(c1)
        if c2.dot(m.determinant < 0 ? -m.c2 : m.c2) < 0 { c2 = -c2 }
        let r11 = c0.x, r21 = c0.y, r31 = c0.z, r12 = c1.x, r22 = c1.y, r32 = c1.z, r13 = c2.x, r23 = c2.y, r33 = c2.z
        var a = r11 + r22 + r33 + 1
        var b: Double, c: Double, d: Double
        if a > 0.5 {
            a = 0.5 * a.squareRoot()
            b = 0.25 * (r32 - r23) / a
            c = 0.25 * (r13 - r31) / a
            d = 0.25 * (r21 - r12) / a
        } else {
            let xd = 1 + r11 - (r22 + r33), yd = 1 + r22 - (r11 + r33), zd = 1 + r33 - (r11 + r22)
            if xd > 1 {
                b = 0.5 * xd.squareRoot(); c = 0.25 * (r12 + r21) / b; d = 0.25 * (r13 + r31) / b; a = 0.25 * (r32 - r23) / b
            } else if yd > 1 {
                c = 0.5 * yd.squareRoot(); b = 0.25 * (r12 + r21) / c; d = 0.25 * (r23 + r32) / c; a = 0.25 * (r13 - r31) / c
            } else {
                d = 0.5 * zd.squareRoot(); b = 0.25 * (r13 + r31) / d; c = 0.25 * (r23 + r32) / d; a = 0.25 * (r21 - r12) / d
            }
            if a < 0 { b = -b; c = -c; d = -d }
        }
        return (b, c, d, qfac)
    }

    /// Encodes a volume. Int16 is written as int16, UInt8 as uint8, Float as float32; geometry as
    /// both qform and sform (code 1, scanner anatomical), units mm.
    public static func encode<V: NIfTIVoxel>(_ volume: Volume<V>, version: Version = .one, description: String = "OsteoCT") -> [UInt8] {
        var out = header(volume, version: version, description: description)
        out.reserveCapacity(out.count + volume.voxels.count * V.niftiType.bytes)
        V.appendLittleEndian(volume.voxels, to: &out)
        return out
    }

    /// The header and the 4 extension bytes: everything before the voxels.
    static func header<V: NIfTIVoxel>(_ volume: Volume<V>, version requested: Version, description: String) -> [UInt8] {
        // NIfTI-1 stores dimensions as int16: larger volumes need NIfTI-2.
        let version: Version = max(volume.size.x, volume.size.y, volume.size.z) > Int(Int16.max) ? .two : requested
        let dt = V.niftiType
        let ras = volume.geometry.affineRAS
        // Quaternion of the RAS direction matrix.
        let d = volume.geometry.direction
        let rasDir = Mat3(
            columns: Vec3(-d.c0.x, -d.c0.y, d.c0.z), Vec3(-d.c1.x, -d.c1.y, d.c1.z), Vec3(-d.c2.x, -d.c2.y, d.c2.z))
        let q = quaternion(rasDir)
        let sp = volume.geometry.spacing
        var w = Writer()
        let headerSize = version == .one ? 348 : 540
        let offset = version == .one ? 352 : 544
        if version == .one {
            w.i32(348)
            w.zeros(35)  // data_type, db_name, extents, session_error, regular
            w.u8(0)  // dim_info (offset 39)
            w.i16(3); w.i16(Int16(clamping: volume.size.x)); w.i16(Int16(clamping: volume.size.y)); w.i16(Int16(clamping: volume.size.z))
            w.i16(1); w.i16(1); w.i16(1); w.i16(1)
            w.f32(0); w.f32(0); w.f32(0)  // intent_p1..3
            w.i16(0)  // intent_code
            w.i16(dt.rawValue); w.i16(Int16(dt.bytes * 8)); w.i16(0)  // datatype, bitpix, slice_start
            for v in [q.qfac, sp.x, sp.y, sp.z, 0, 0, 0, 0] { w.f32(Float(v)) }
            w.f32(Float(offset)); w.f32(1); w.f32(0)  // vox_offset, scl_slope, scl_inter
            w.i16(0); w.u8(0); w.u8(2 | 8)  // slice_end, slice_code, xyzt_units mm + s
            w.f32(0); w.f32(0); w.f32(0); w.f32(0)  // cal_max, cal_min, slice_duration, toffset
            w.i32(0); w.i32(0)  // glmax, glmin
            w.text(description, 80); w.text("", 24)
            w.i16(1); w.i16(1)  // qform_code, sform_code: scanner anatomical
            for v in [q.b, q.c, q.d, ras[0][3], ras[1][3], ras[2][3]] { w.f32(Float(v)) }
            for row in 0..<3 { for c in 0..<4 { w.f32(Float(ras[row][c])) } }
            w.text("", 16)
            w.bytes([0x6E, 0x2B, 0x31, 0])
        } else {
            w.i32(540)
            w.bytes([0x6E, 0x2B, 0x32, 0, 0x0D, 0x0A, 0x1A, 0x0A])
            w.i16(dt.rawValue); w.i16(Int16(dt.bytes * 8))
            for v in [3, volume.size.x, volume.size.y, volume.size.z, 1, 1, 1, 1] { w.i64(Int64(v)) }
            w.f64(0); w.f64(0); w.f64(0)
            for v in [q.qfac, sp.x, sp.y, sp.z, 0, 0, 0, 0] { w.f64(v) }
            w.i64(Int64(offset))
            w.f64(1); w.f64(0); w.f64(0); w.f64(0); w.f64(0); w.f64(0)  // slope, inter, cal_max/min, slice_duration, toffset
            w.i64(0); w.i64(0)  // slice_start, slice_end
            w.text(description, 80); w.text("", 24)
            w.i32(1); w.i32(1)
            for v in [q.b, q.c, q.d, ras[0][3], ras[1][3], ras[2][3]] { w.f64(v) }
            for row in 0..<3 { for c in 0..<4 { w.f64(ras[row][c]) } }
            w.i32(0); w.i32(2 | 8); w.i32(0)  // slice_code, xyzt_units, intent_code
            w.text("", 16)
            w.u8(0)
            w.zeros(15)
        }
        assert(w.out.count == headerSize, "NIfTI header layout")
        w.zeros(4)  // no extensions
        assert(w.out.count == offset)
        return w.out
    }

    /// Writes `.nii`, or `.nii.gz` when the path ends in `.gz`, atomically.
    public static func write<V: NIfTIVoxel>(_ volume: Volume<V>, to path: String, version: Version = .one) throws(ImagingError) {
        let head = header(volume, version: version, description: "OsteoCT")
        // Header and voxels go out as two chunks: no copy of the volume (little-endian hosts).
        let result: Result<Void, ImagingError> = head.withUnsafeBytes { h in
            volume.voxels.withUnsafeBytes { v in
                do throws(ImagingError) {
                    if path.hasSuffix(".gz") {
                        var z: [UInt8] = []
                        do throws(Zlib.Failure) { z = try Zlib.deflate(chunks: [h, v], format: .gzip, level: gzipLevel) } catch {
                            throw .gzip(path: path, reason: error.reason)
                        }
                        do throws(FileIO.Failure) { try FileIO.writeAtomically(z, to: path) } catch {
                            throw .io(path: path, reason: error.reason)
                        }
                    } else {
                        do throws(FileIO.Failure) { try FileIO.writeAtomically(chunks: [h, v], to: path) } catch {
                            throw .io(path: path, reason: error.reason)
                        }
                    }
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
        }
        try result.get()
    }

    /// zlib level for `.nii.gz`: level 1 is several times faster than the default 6 on noisy CT and
    /// only a few per cent larger.
    static let gzipLevel: Int32 = 1

    private struct Reader {
        let bytes: [UInt8]
        func u(_ at: Int, _ n: Int, _ little: Bool) -> UInt64 {
            var v: UInt64 = 0
            for k in 0..<n { v |= UInt64(bytes[at + (little ? k : n - 1 - k)]) << (8 * UInt64(k)) }
            return v
        }
        func i16(_ at: Int, _ l: Bool) -> Int16 { Int16(bitPattern: UInt16(u(at, 2, l))) }
        func i32(_ at: Int, _ l: Bool) -> Int32 { Int32(bitPattern: UInt32(u(at, 4, l))) }
        func i64(_ at: Int, _ l: Bool) -> Int64 { Int64(bitPattern: u(at, 8, l)) }
        func f32(_ at: Int, _ l: Bool) -> Float { Float(bitPattern: UInt32(u(at, 4, l))) }
        func f64(_ at: Int, _ l: Bool) -> Double { Double(bitPattern: u(at, 8, l)) }
        func text(_ at: Int, _ n: Int) -> String {
            let s = bytes[at..<(at + n)].prefix { $0 != 0 }
            return String(decoding: s, as: UTF8.self)
        }
    }

    private struct Writer {
        var out: [UInt8] = []
        mutating func u8(_ v: UInt8) { out.append(v) }
        mutating func bytes(_ b: [UInt8]) { out.append(contentsOf: b) }
        mutating func zeros(_ n: Int) { out.append(contentsOf: repeatElement(0, count: n)) }
        mutating func le(_ v: UInt64, _ n: Int) { for k in 0..<n { out.append(UInt8((v >> (8 * UInt64(k))) & 0xFF)) } }
        mutating func i16(_ v: Int16) { le(UInt64(UInt16(bitPattern: v)), 2) }
        mutating func i32(_ v: Int32) { le(UInt64(UInt32(bitPattern: v)), 4) }
        mutating func i64(_ v: Int64) { le(UInt64(bitPattern: v), 8) }
        mutating func f32(_ v: Float) { le(UInt64(v.bitPattern), 4) }
        mutating func f64(_ v: Double) { le(v.bitPattern, 8) }
        mutating func text(_ s: String, _ n: Int) {
            let b = Array(s.utf8.prefix(n - 1))
            out.append(contentsOf: b)
            zeros(n - b.count)
        }
    }
}

/// Voxel types NIfTI files are written with.
public protocol NIfTIVoxel: Sendable {
    static var niftiType: NIfTI.DataType { get }
    static func appendLittleEndian(_ values: [Self], to out: inout [UInt8])
}

extension Int16: NIfTIVoxel {
    public static var niftiType: NIfTI.DataType { .int16 }
    public static func appendLittleEndian(_ values: [Int16], to out: inout [UInt8]) {
        values.withUnsafeBytes { out.append(contentsOf: $0) }  // little-endian hosts (x86_64, arm64)
    }
}

extension UInt8: NIfTIVoxel {
    public static var niftiType: NIfTI.DataType { .uint8 }
    public static func appendLittleEndian(_ values: [UInt8], to out: inout [UInt8]) { out.append(contentsOf: values) }
}

extension Float: NIfTIVoxel {
    public static var niftiType: NIfTI.DataType { .float32 }
    public static func appendLittleEndian(_ values: [Float], to out: inout [UInt8]) {
        values.withUnsafeBytes { out.append(contentsOf: $0) }
    }
}
