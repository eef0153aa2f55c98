// Pixel codecs: one small, separately tested unit per compression scheme, registered by
// transfer-syntax UID (PS3.5 §8.2 and Annex A.4). Every codec turns the bytes of one compressed
// frame into the bytes the same frame would have as native (uncompressed) little-endian pixel
// data, so one shared path turns native bytes into values.

/// What a frame looks like, from the Image Pixel module (PS3.3 C.7.6.3).
public struct PixelDescriptor: Sendable, Equatable {
    public var rows: Int
    public var columns: Int
    public var samplesPerPixel: Int
    /// 8, 16 or 32 bits per sample as stored.
    public var bitsAllocated: Int
    /// Bits that carry the value (≤ bitsAllocated), right-aligned (HighBit = bitsStored − 1).
    public var bitsStored: Int
    /// 0 unsigned, 1 two's complement.
    public var pixelRepresentation: Int
    /// 0 colour-by-pixel, 1 colour-by-plane (only meaningful for samplesPerPixel > 1).
    public var planarConfiguration: Int
    public var photometricInterpretation: String

    public init(
        rows: Int, columns: Int, samplesPerPixel: Int = 1, bitsAllocated: Int, bitsStored: Int,
        pixelRepresentation: Int, planarConfiguration: Int = 0, photometricInterpretation: String = "MONOCHROME2"
    ) {
        self.rows = rows
        self.columns = columns
        self.samplesPerPixel = samplesPerPixel
        self.bitsAllocated = bitsAllocated
        self.bitsStored = bitsStored
        self.pixelRepresentation = pixelRepresentation
        self.planarConfiguration = planarConfiguration
        self.photometricInterpretation = photometricInterpretation
    }

    public var bytesPerSample: Int { (bitsAllocated + 7) / 8 }
    public var samplesPerFrame: Int { rows * columns * samplesPerPixel }
    /// Native frame size in bytes (bitsAllocated a multiple of 8).
    public var frameByteCount: Int { samplesPerFrame * bytesPerSample }
    public var isSigned: Bool { pixelRepresentation == 1 }
}

/// Errors from decoding compressed pixel data. `offset` is the byte offset inside the frame's
/// compressed data where the problem was found.
public enum CodecError: Error, Equatable, CustomStringConvertible {
    /// The stream ended before the frame was complete.
    case truncated(codec: String, offset: Int)
    /// A structure in the stream is invalid (bad marker, bad header field, bad Huffman code…).
    case corrupt(codec: String, offset: Int, reason: String)
    /// A valid stream this codec does not decode (e.g. a lossy JPEG process, 12-bit RLE segments).
    case unsupportedFeature(codec: String, feature: String)
    /// The stream's own header disagrees with the DICOM Image Pixel module.
    case descriptorMismatch(codec: String, reason: String)
    /// A system library the codec needs is not installed.
    case libraryMissing(codec: String, library: String, debianPackage: String)

    public var description: String {
        switch self {
        case .truncated(let c, let o):
            return "\(c): compressed frame ends early (at byte \(o)); the file is truncated or the fragment table is wrong"
        case .corrupt(let c, let o, let r):
            return "\(c): corrupt data at byte \(o) of the frame: \(r)"
        case .unsupportedFeature(let c, let f):
            return "\(c): \(f) is not supported; convert the file to Explicit VR Little Endian (e.g. `dcmdjpeg`, `gdcmconv --raw`)"
        case .descriptorMismatch(let c, let r):
            return "\(c): the compressed stream does not match the Image Pixel module: \(r)"
        case .libraryMissing(let c, let l, let p):
            return "\(c): needs the system library \(l), which is not installed; install it with `apt-get install \(p)`"
        }
    }
}

/// One pixel codec. Implementations are stateless values, safe to use from many threads.
public protocol PixelCodec: Sendable {
    /// Short human name, used in errors ("JPEG Lossless", "JPEG-LS", "RLE Lossless").
    var name: String { get }
    /// Transfer syntax UIDs this codec decodes.
    var transferSyntaxUIDs: [String] { get }
    /// Decodes one compressed frame into `output`, which holds exactly `descriptor.frameByteCount`
    /// bytes: samples little-endian, `descriptor.bytesPerSample` bytes each, colour-by-pixel order,
    /// value in the low `bitsStored` bits (high bits zero or sign bits, the caller masks them).
    func decode(
        frame: UnsafeRawBufferPointer, descriptor: PixelDescriptor, into output: UnsafeMutableRawBufferPointer
    ) throws(CodecError)
}

extension PixelCodec {
    /// Convenience for tests and small callers: decode one frame into a new byte array.
    public func decode(frame: [UInt8], descriptor: PixelDescriptor) throws(CodecError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: descriptor.frameByteCount)
        var failure: CodecError?
        frame.withUnsafeBytes { inp in
            out.withUnsafeMutableBytes { o in
                do throws(CodecError) {
                    try decode(frame: inp, descriptor: descriptor, into: o)
                } catch {
                    failure = error
                }
            }
        }
        if let failure { throw failure }
        return out
    }
}
