/// RLE Lossless (PS3.5 Annex G): a 64-byte header with up to 15 segment offsets, one PackBits
/// segment per byte plane — for each sample, most significant byte first (G.2).
public struct RLECodec: PixelCodec {
    public init() {}
    public var name: String { "RLE Lossless" }
    public var transferSyntaxUIDs: [String] { [TransferSyntax.rleLossless.uid] }

    public func decode(
        frame: UnsafeRawBufferPointer, descriptor d: PixelDescriptor, into output: UnsafeMutableRawBufferPointer
    ) throws(CodecError) {
        let bps = d.bytesPerSample
        let segmentsNeeded = bps * d.samplesPerPixel
        guard segmentsNeeded <= 15 else {
            throw .unsupportedFeature(codec: name, feature: "\(segmentsNeeded) segments (more than 15)")
        }
        guard frame.count >= 64 else { throw .truncated(codec: name, offset: frame.count) }
        let count = Int(readLE32(frame, 0))
        guard count == segmentsNeeded else {
            throw .descriptorMismatch(
                codec: name,
                reason: "\(count) segments in the header, \(segmentsNeeded) expected for \(d.samplesPerPixel) sample(s) of \(d.bitsAllocated) bits")
        }
        var offsets: [Int] = []
        for s in 0..<count {
            let o = Int(readLE32(frame, 4 + 4 * s))
            guard o >= 64, o <= frame.count, offsets.last.map({ o >= $0 }) ?? true else {
                throw .corrupt(codec: name, offset: 4 + 4 * s, reason: "segment \(s + 1) offset \(o) is out of order or past the end")
            }
            offsets.append(o)
        }
        let pixels = d.rows * d.columns
        guard output.count >= pixels * segmentsNeeded else {
            throw .descriptorMismatch(codec: name, reason: "output buffer too small")
        }
        var plane = [UInt8](repeating: 0, count: pixels)
        for s in 0..<count {
            let end = s + 1 < count ? offsets[s + 1] : frame.count
            try unpackBits(frame, from: offsets[s], to: end, into: &plane)
            // Segment s holds byte (bps-1-b) of sample (s / bps): most significant first.
            let sample = s / bps
            let byteInSample = bps - 1 - (s % bps)
            let stride = d.samplesPerPixel * bps
            let base = sample * bps + byteInSample
            plane.withUnsafeBufferPointer { p in
                var o = base
                for i in 0..<pixels {
                    output[o] = p[i]
                    o += stride
                }
            }
        }
    }

    /// PackBits (G.3.1): n in 0…127 copies n+1 literal bytes; −127…−1 repeats the next byte 1−n
    /// times; −128 is a no-op. A segment may be padded; extra output is an error.
    private func unpackBits(
        _ src: UnsafeRawBufferPointer, from start: Int, to end: Int, into out: inout [UInt8]
    ) throws(CodecError) {
        var i = start
        var o = 0
        let n = out.count
        try out.withUnsafeMutableBufferPointer { (dst) throws(CodecError) in
            while o < n {
                guard i < end else { throw .truncated(codec: name, offset: i) }
                let h = Int(Int8(bitPattern: src[i]))
                i += 1
                if h >= 0 {
                    let len = h + 1
                    guard i + len <= end else { throw .truncated(codec: name, offset: i) }
                    guard o + len <= n else {
                        throw .corrupt(codec: name, offset: i - 1, reason: "literal run overflows the segment")
                    }
                    for k in 0..<len { dst[o + k] = src[i + k] }
                    i += len
                    o += len
                } else if h != -128 {
                    let len = 1 - h
                    guard i < end else { throw .truncated(codec: name, offset: i) }
                    guard o + len <= n else {
                        throw .corrupt(codec: name, offset: i - 1, reason: "replicate run overflows the segment")
                    }
                    let v = src[i]
                    i += 1
                    for k in 0..<len { dst[o + k] = v }
                    o += len
                }
            }
        }
    }

    private func readLE32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
    }
}
