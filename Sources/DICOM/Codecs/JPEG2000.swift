// JPEG 2000 Image Compression (Lossless Only) 1.2.840.10008.1.2.4.90 and JPEG 2000 Image
// Compression 1.2.840.10008.1.2.4.91 (PS3.5 §8.2.4, Annex A.4.4), decoded by the system OpenJPEG
// library (libopenjp2.so.7, Debian package libopenjp2-7) through the COpenJPEG shim, which opens it
// at run time: without it the package still builds and every other codec works; JPEG 2000 frames
// then fail with `CodecError.libraryMissing`.

internal import COpenJPEG

/// Decodes JPEG 2000 frames (raw J2K codestreams, and the non-conformant JP2 files some writers
/// store) into native little-endian samples.
///
/// Supported: 1 or 3 components, none subsampled, codestream precision 1…16 bits and at most
/// BitsAllocated (8 or 16), signed or unsigned. With 3 components OpenJPEG inverts the reversible
/// or irreversible colour transform when the codestream uses one (YBR_RCT / YBR_ICT), so the output
/// is what an uncompressed file stores (RGB), colour-by-pixel.
///
/// Signedness that disagrees with PixelRepresentation (pydicom issue 1149, the file
/// `J2K_pixelrep_mismatch.dcm`: an unsigned 13-bit codestream in a PixelRepresentation 1 data set):
/// some writers put the stored value's bit pattern into the codestream with the wrong sign flag. We
/// follow the codestream's values but keep only their low `precision` bits — the bit pattern the
/// writer meant — and write that pattern sign-extended (PixelRepresentation 1) or zero-extended
/// (PixelRepresentation 0), so reading the output by the data set's PixelRepresentation gives the
/// value the writer stored: 13-bit unsigned 6192 (1 1000 0011 0000) in a signed data set is written
/// as −2000. This is what pydicom 3 and GDCM return for such files.
///
/// A frame that ends early throws `.truncated`, including one cut exactly at a tile-part boundary,
/// which OpenJPEG itself would decode without complaint into an image missing quality layers or
/// resolutions (the shim walks the tile-part chain before decoding). Bit errors inside entropy-coded
/// data cannot be detected (JPEG 2000 has no checksum): such a frame decodes to wrong pixels.
///
/// A codestream precision above BitsStored (e.g. 16-bit codestream, BitsStored 12) is accepted; a
/// value outside the BitsStored range (lossy ringing, or a bad writer) is clamped to that range
/// rather than left for the caller's mask to wrap around.
public struct JPEG2000Codec: PixelCodec {
    public let name = "JPEG 2000"
    public let transferSyntaxUIDs = ["1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"]

    /// The soname the production path opens (once per process).
    public static let libraryName = "libopenjp2.so.7"
    /// The Debian package that installs it.
    public static let debianPackage = "libopenjp2-7"

    /// nil: the system library, opened once. Tests set another name (opened per call) to exercise
    /// the missing-library path without touching the process-wide state.
    let libraryOverride: String?

    public init() {
        libraryOverride = nil
    }

    /// Test seam: open `library` (a soname or path) for each decode instead of libopenjp2.so.7.
    init(libraryOverride library: String) {
        libraryOverride = library
    }

    /// Whether libopenjp2.so.7 can be opened and has every function the codec needs.
    public static var isLibraryAvailable: Bool {
        osteoct_j2k_available(nil, 0) != 0
    }

    /// One line for diagnostics: the OpenJPEG version in use, or why the library cannot be used.
    public static var libraryDiagnostic: String {
        var err = [CChar](repeating: 0, count: 512)
        if osteoct_j2k_available(&err, err.count) == 0 {
            return cString(err)
        }
        if let version = osteoct_j2k_library_version() {
            return "OpenJPEG \(String(cString: version)) (\(libraryName))"
        }
        return "OpenJPEG (\(libraryName))"
    }

    public func decode(
        frame: UnsafeRawBufferPointer, descriptor d: PixelDescriptor, into output: UnsafeMutableRawBufferPointer
    ) throws(CodecError) {
        try validate(d, frameCount: frame.count, outputCount: output.count)

        let count = d.samplesPerFrame
        var samples = [Int32](repeating: 0, count: count)
        var info = osteoct_j2k_info()
        var err = [CChar](repeating: 0, count: 1024)
        guard let base = frame.baseAddress else { throw .truncated(codec: name, offset: 0) }
        let data = base.assumingMemoryBound(to: UInt8.self)
        let status: Int32 = samples.withUnsafeMutableBufferPointer { out in
            err.withUnsafeMutableBufferPointer { e in
                let w = UInt32(d.columns), h = UInt32(d.rows), c = UInt32(d.samplesPerPixel)
                if let libraryOverride {
                    return osteoct_j2k_decode_using(
                        libraryOverride, data, frame.count, w, h, c, 16, out.baseAddress, out.count, &info,
                        e.baseAddress, e.count)
                }
                return osteoct_j2k_decode(
                    data, frame.count, w, h, c, 16, out.baseAddress, out.count, &info, e.baseAddress, e.count)
            }
        }
        if status != OSTEOCT_J2K_OK {
            throw mapError(status, message: Self.cString(err), info: info, frameCount: frame.count)
        }

        let precision = Int(info.precision)
        guard precision <= d.bitsAllocated else {
            throw .descriptorMismatch(
                codec: name,
                reason: "the codestream has \(precision)-bit samples but BitsAllocated is \(d.bitsAllocated)")
        }
        write(samples, precision: precision, streamSigned: info.is_signed != 0, descriptor: d, into: output)
    }

    // MARK: - Checks

    private func validate(_ d: PixelDescriptor, frameCount: Int, outputCount: Int) throws(CodecError) {
        guard d.samplesPerPixel == 1 || d.samplesPerPixel == 3 else {
            throw .unsupportedFeature(codec: name, feature: "SamplesPerPixel \(d.samplesPerPixel)")
        }
        guard d.bitsAllocated == 8 || d.bitsAllocated == 16 else {
            throw .unsupportedFeature(codec: name, feature: "BitsAllocated \(d.bitsAllocated)")
        }
        guard d.bitsStored >= 1, d.bitsStored <= d.bitsAllocated else {
            throw .descriptorMismatch(
                codec: name, reason: "BitsStored \(d.bitsStored) with BitsAllocated \(d.bitsAllocated)")
        }
        guard d.pixelRepresentation == 0 || d.pixelRepresentation == 1 else {
            throw .descriptorMismatch(codec: name, reason: "PixelRepresentation \(d.pixelRepresentation)")
        }
        guard d.rows > 0, d.columns > 0, d.rows <= Int(UInt32.max), d.columns <= Int(UInt32.max) else {
            throw .descriptorMismatch(codec: name, reason: "\(d.columns) columns × \(d.rows) rows")
        }
        guard outputCount == d.frameByteCount else {
            throw .descriptorMismatch(
                codec: name, reason: "output buffer holds \(outputCount) bytes, the frame needs \(d.frameByteCount)")
        }
        guard frameCount > 0 else {
            throw .truncated(codec: name, offset: 0)
        }
    }

    private func mapError(_ status: Int32, message: String, info: osteoct_j2k_info, frameCount: Int) -> CodecError {
        let offset = min(Int(clamping: info.bytes_read), frameCount)
        switch status {
        case OSTEOCT_J2K_ERR_LIBRARY:
            return .libraryMissing(codec: name, library: Self.libraryName, debianPackage: Self.debianPackage)
        case OSTEOCT_J2K_ERR_NOT_J2K:
            return .corrupt(codec: name, offset: 0, reason: message)
        case OSTEOCT_J2K_ERR_HEADER, OSTEOCT_J2K_ERR_DECODE:
            return .corrupt(codec: name, offset: offset, reason: message)
        case OSTEOCT_J2K_ERR_TRUNCATED:
            return .truncated(codec: name, offset: frameCount)
        case OSTEOCT_J2K_ERR_MISMATCH, OSTEOCT_J2K_ERR_ARGUMENT:
            return .descriptorMismatch(codec: name, reason: message)
        case OSTEOCT_J2K_ERR_UNSUPPORTED:
            return .unsupportedFeature(codec: name, feature: message)
        case OSTEOCT_J2K_ERR_MEMORY:
            return .corrupt(codec: name, offset: 0, reason: "the decoder ran out of memory: \(message)")
        default:
            return .corrupt(codec: name, offset: offset, reason: "unexpected status \(status): \(message)")
        }
    }

    // MARK: - Output

    /// Writes `samples` (codestream values) as native little-endian samples.
    private func write(
        _ samples: [Int32], precision: Int, streamSigned: Bool, descriptor d: PixelDescriptor,
        into output: UnsafeMutableRawBufferPointer
    ) {
        let signed = d.isSigned
        // Signedness disagreeing with PixelRepresentation: reinterpret the low `precision` bits.
        let reinterpret = streamSigned != signed
        let mask = (Int32(1) << Int32(precision)) &- 1  // precision ≤ 16
        let signBit = Int32(1) << Int32(precision - 1)
        // The BitsStored range of the data set's representation.
        let lo: Int32 = signed ? -(Int32(1) << Int32(d.bitsStored - 1)) : 0
        let hi: Int32 = signed ? (Int32(1) << Int32(d.bitsStored - 1)) - 1 : (Int32(1) << Int32(d.bitsStored)) - 1

        @inline(__always) func value(_ v: Int32) -> Int32 {
            var x = v
            if reinterpret {
                x &= mask
                if signed && x & signBit != 0 { x -= mask &+ 1 }
            }
            return min(max(x, lo), hi)
        }

        samples.withUnsafeBufferPointer { src in
            if d.bytesPerSample == 1 {
                for i in 0..<src.count {
                    output[i] = UInt8(truncatingIfNeeded: value(src[i]))
                }
            } else {
                for i in 0..<src.count {
                    let v = UInt16(truncatingIfNeeded: value(src[i]))
                    output.storeBytes(of: v.littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                }
            }
        }
    }

    private static func cString(_ buffer: [CChar]) -> String {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
