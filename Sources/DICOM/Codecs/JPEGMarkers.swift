// Marker-segment layer shared by the JPEG Lossless (T.81) and JPEG-LS (T.87) decoders: byte
// access, errors named after the codec, and the walk from one marker segment to the next
// (T.81 B.1.1, whose syntax T.87 Annex C reuses).

/// One marker segment (T.81 B.1.1.4): the marker code, the offset of its 0xFF, and the
/// parameters after the 16-bit length.
struct JPEGSegment {
    var marker: Int
    var markerOffset: Int
    var body: Range<Int>
    /// The length field as written; it counts itself.
    var length: Int { body.count + 2 }
}

/// A decoder reading one compressed frame: it supplies the bytes, its name for errors and a
/// read position; the extension supplies the rest.
protocol JPEGMarkerParser {
    static var codecName: String { get }
    var base: UnsafeRawPointer { get }
    var count: Int { get }
    /// Offset of the next marker to read.
    var pos: Int { get set }
}

extension JPEGMarkerParser {
    /// The component list of a frame header (T.81 B.2.2, reused by T.87 C.2.2): `nf` entries of
    /// (identifier, H|V, Tq) after the 6 fixed bytes; identifiers distinct, sampling factors 1…4.
    /// With one component every MCU is one sample whatever H and V say (T.81 A.2.2), so only
    /// multi-component frames need 1×1.
    func frameComponentIDs(_ body: Int, _ end: Int, count nf: Int, segment: String) throws(CodecError) -> [UInt8] {
        guard nf > 0 else { throw corrupt(body + 5, "frame has no components") }
        guard nf <= 4 else { throw unsupported("a frame with \(nf) components") }
        guard end - body == 6 + 3 * nf else {
            throw corrupt(body, "\(segment) segment length does not match \(nf) components")
        }
        var ids: [UInt8] = []
        for i in 0..<nf {
            let c = body + 6 + 3 * i
            let id = UInt8(truncatingIfNeeded: byte(c))
            let h = byte(c + 1) >> 4
            let v = byte(c + 1) & 15
            guard !ids.contains(id) else { throw corrupt(c, "component identifier \(id) appears twice") }
            guard (1...4).contains(h), (1...4).contains(v) else {
                throw corrupt(c + 1, "sampling factors \(h)×\(v) are outside 1…4")
            }
            guard nf == 1 || (h == 1 && v == 1) else {
                throw unsupported("component sampling factors \(h)×\(v) (only 1×1)")
            }
            ids.append(id)
        }
        return ids
    }

    /// The frame header against the DICOM Image Pixel module and the output buffer; returns the
    /// bytes per output sample.
    func checkFrame(
        width x: Int, height y: Int, components nf: Int, precision: Int, descriptor d: PixelDescriptor, outputCount: Int
    ) throws(CodecError) -> Int {
        guard d.bitsAllocated == 8 || d.bitsAllocated == 16 else {
            throw unsupported("bitsAllocated \(d.bitsAllocated) (only 8 or 16)")
        }
        guard d.rows == y, d.columns == x, d.samplesPerPixel == nf else {
            throw CodecError.descriptorMismatch(
                codec: Self.codecName,
                reason: "stream is \(x)×\(y) with \(nf) component(s), Image Pixel module says "
                    + "\(d.columns)×\(d.rows) with \(d.samplesPerPixel) sample(s) per pixel")
        }
        guard precision <= d.bitsAllocated else {
            throw CodecError.descriptorMismatch(
                codec: Self.codecName, reason: "sample precision \(precision) does not fit bitsAllocated \(d.bitsAllocated)")
        }
        let bytesPerSample = d.bitsAllocated / 8
        // x, y ≤ 65535 and nf ≤ 4, so this cannot overflow.
        let needed = x * y * nf * bytesPerSample
        guard outputCount == needed else {
            throw CodecError.descriptorMismatch(
                codec: Self.codecName, reason: "output buffer holds \(outputCount) bytes, the frame needs \(needed)")
        }
        return bytesPerSample
    }
    @inline(__always) func byte(_ offset: Int) -> Int {
        Int(base.load(fromByteOffset: offset, as: UInt8.self))
    }

    @inline(__always) func word(_ offset: Int) -> Int { byte(offset) << 8 | byte(offset + 1) }

    func corrupt(_ offset: Int, _ reason: String) -> CodecError {
        .corrupt(codec: Self.codecName, offset: offset, reason: reason)
    }

    func truncated(_ offset: Int) -> CodecError {
        .truncated(codec: Self.codecName, offset: offset)
    }

    func unsupported(_ feature: String) -> CodecError {
        .unsupportedFeature(codec: Self.codecName, feature: feature)
    }

    /// T.81 B.2.1 (and T.87 Annex C): the data starts with SOI. `format` names the format in the error.
    mutating func readSOI(format: String) throws(CodecError) {
        guard count >= 2 else { throw truncated(count) }
        guard byte(0) == 0xFF, byte(1) == 0xD8 else { throw corrupt(0, "no SOI marker; not a \(format) stream") }
        pos = 2
    }

    /// From an 0xFF at `p`: skips fill bytes (T.81 B.1.1.2) and returns the marker code and the
    /// offset of the 0xFF just before it.
    func readMarker(at p: Int) throws(CodecError) -> (code: Int, offset: Int) {
        var p = p
        while p < count && byte(p) == 0xFF { p += 1 }
        guard p < count else { throw truncated(count) }
        return (byte(p), p - 1)
    }

    /// Reads the marker segment at `pos` and moves `pos` past it, skipping markers that have no
    /// segment (TEM, RSTn: T.81 Table B.1). Only called while the frame still needs data, so EOI
    /// means the data ended early. `strayByteHex` formats a non-marker byte for the error.
    mutating func nextSegment(strayByteHex: (Int) -> String = jpegHex2) throws(CodecError) -> JPEGSegment {
        while true {
            guard pos < count else { throw truncated(count) }
            guard byte(pos) == 0xFF else {
                throw corrupt(pos, "expected a marker, found byte 0x\(strayByteHex(byte(pos)))")
            }
            let (marker, markerOffset) = try readMarker(at: pos)
            pos = markerOffset + 2
            switch marker {
            case 0xD9:
                throw truncated(markerOffset)
            case 0x01, 0xD0...0xD7:
                continue
            case 0x00, 0xD8:
                throw corrupt(markerOffset, "unexpected marker 0xFF\(jpegHex2(marker))")
            default:
                break
            }
            // T.81 B.1.1.4: a 16-bit length that counts itself, then the parameters.
            guard pos + 2 <= count else { throw truncated(count) }
            let length = word(pos)
            guard length >= 2 else { throw corrupt(pos, "marker segment length \(length) is too short") }
            guard pos + length <= count else { throw truncated(count) }
            let segment = JPEGSegment(marker: marker, markerOffset: markerOffset, body: (pos + 2)..<(pos + length))
            pos += length
            return segment
        }
    }

    /// T.81 E.2.4 (H.2; JPEG-LS uses the same markers): from the 0xFF at `p` that ends a restart
    /// interval, requires RSTn and returns the offset after it. Its number (modulo 8) is not checked.
    func skipRestartMarker(at p: Int) throws(CodecError) -> Int {
        let (marker, offset) = try readMarker(at: p)
        guard (0xD0...0xD7).contains(marker) else {
            throw corrupt(offset, "expected a restart marker, found 0xFF\(jpegHex2(marker))")
        }
        return offset + 2
    }
}

/// Two upper-case hex digits, for marker codes in messages.
func jpegHex2(_ v: Int) -> String {
    let s = String(v, radix: 16, uppercase: true)
    return s.count < 2 ? "0" + s : s
}
