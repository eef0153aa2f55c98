/// A transfer syntax (PS3.5 §10, UIDs from PS3.6 Annex A): how the data set is encoded and,
/// for compressed syntaxes, which pixel codec decodes the frames.
public struct TransferSyntax: Hashable, Sendable, CustomStringConvertible {
    public let uid: String
    public let name: String
    public let explicitVR: Bool
    public let littleEndian: Bool
    /// The whole data set after the file meta information is deflated (RFC 1951, no zlib header).
    public let deflated: Bool
    /// Pixel data is encapsulated (fragments in items), PS3.5 §A.4.
    public let encapsulated: Bool

    public var description: String { "\(uid) (\(name))" }

    public static let implicitVRLittleEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2", name: "Implicit VR Little Endian",
        explicitVR: false, littleEndian: true, deflated: false, encapsulated: false)
    public static let explicitVRLittleEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2.1", name: "Explicit VR Little Endian",
        explicitVR: true, littleEndian: true, deflated: false, encapsulated: false)
    public static let deflatedExplicitVRLittleEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2.1.99", name: "Deflated Explicit VR Little Endian",
        explicitVR: true, littleEndian: true, deflated: true, encapsulated: false)
    public static let explicitVRBigEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2.2", name: "Explicit VR Big Endian (retired)",
        explicitVR: true, littleEndian: false, deflated: false, encapsulated: false)

    static func compressed(_ uid: String, _ name: String) -> TransferSyntax {
        TransferSyntax(uid: uid, name: name, explicitVR: true, littleEndian: true, deflated: false, encapsulated: true)
    }

    public static let rleLossless = compressed("1.2.840.10008.1.2.5", "RLE Lossless")
    public static let jpegBaseline = compressed("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)")
    public static let jpegExtended = compressed("1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)")
    public static let jpegLosslessP14 = compressed("1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)")
    public static let jpegLosslessSV1 = compressed(
        "1.2.840.10008.1.2.4.70", "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 SV1)")
    public static let jpegLSLossless = compressed("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless")
    public static let jpegLSNearLossless = compressed("1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless)")
    public static let jpeg2000Lossless = compressed("1.2.840.10008.1.2.4.90", "JPEG 2000 Image Compression (Lossless Only)")
    public static let jpeg2000 = compressed("1.2.840.10008.1.2.4.91", "JPEG 2000 Image Compression")
    public static let htj2kLossless = compressed("1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 (Lossless Only)")
    public static let htj2kLosslessRPCL = compressed(
        "1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 with RPCL Options (Lossless Only)")
    public static let htj2k = compressed("1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000")
    public static let mpeg2 = compressed("1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level")
    public static let mpeg4 = compressed("1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 High Profile / Level 4.1")
    public static let hevc = compressed("1.2.840.10008.1.2.4.107", "HEVC/H.265 Main Profile / Level 5.1")
    public static let jpegXLLossless = compressed("1.2.840.10008.1.2.4.110", "JPEG XL Lossless")

    /// Every syntax OsteoCT knows by name (decodable or not), so errors can name what they saw.
    public static let known: [TransferSyntax] = [
        .implicitVRLittleEndian, .explicitVRLittleEndian, .deflatedExplicitVRLittleEndian, .explicitVRBigEndian,
        .rleLossless, .jpegBaseline, .jpegExtended, .jpegLosslessP14, .jpegLosslessSV1, .jpegLSLossless,
        .jpegLSNearLossless, .jpeg2000Lossless, .jpeg2000, .htj2kLossless, .htj2kLosslessRPCL, .htj2k,
        .mpeg2, .mpeg4, .hevc, .jpegXLLossless,
    ]

    /// Looks up a UID; an unknown UID is assumed to be an explicit VR little endian encapsulated syntax
    /// (PS3.5 §10: every compressed syntax is), so the data set still parses and the pixel step can
    /// refuse it by name.
    public static func lookup(_ uid: String) -> TransferSyntax {
        if let ts = known.first(where: { $0.uid == uid }) { return ts }
        return compressed(uid, "unknown transfer syntax")
    }
}
