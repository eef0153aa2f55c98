internal import CZlib

/// Compression through the system zlib: gzip for `.nii.gz`, raw deflate (RFC 1951) for the DICOM
/// Deflated Explicit VR Little Endian transfer syntax. Output sizes are bounded so a small hostile
/// input cannot expand without limit.
public enum Zlib {
    public enum Format: Sendable {
        /// RFC 1951 stream with no header (DICOM deflated transfer syntax, PS3.5 §A.5).
        case raw
        /// RFC 1952 gzip member(s).
        case gzip
        /// RFC 1950 zlib stream (PNG image data).
        case zlib
    }

    /// CRC-32 (ISO 3309 / ITU-T V.42, the PNG and gzip CRC) of `bytes`, continuing from `crc`.
    public static func crc32(_ bytes: [UInt8], crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBufferPointer { b in UInt32(CZlib.crc32(uLong(crc), b.baseAddress, uInt(b.count))) }
    }

    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// Inflates `input`. Fails if the output would exceed `maxOutput` bytes or the stream is damaged.
    /// Concatenated gzip members are all inflated (as gzip(1) does). With `prefixOnly`, `input` may
    /// be the start of a stream: inflation stops quietly at `maxOutput` bytes or at the end of the
    /// input (for reading headers of deflated files without inflating them whole).
    public static func inflate(
        _ input: UnsafeRawBufferPointer, format: Format, maxOutput: Int, prefixOnly: Bool = false
    ) throws(Failure) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(min(maxOutput, max(64 * 1024, input.count * 4)))
        var consumedTotal = 0
        // Several gzip members may follow each other.
        repeat {
            var stream = z_stream()
            let windowBits: Int32 = format == .raw ? -15 : format == .zlib ? 15 : 15 + 16
            guard inflateInit2_(&stream, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                throw Failure(reason: "zlib could not start inflating")
            }
            defer { inflateEnd(&stream) }
            guard let base = input.baseAddress else { break }
            // zlib counts input in 32-bit uInt: feed at most 1 GiB at a time.
            var fed = consumedTotal
            func feed() {
                let n = min(input.count - fed, 1 << 30)
                stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self) + fed)
                stream.avail_in = uInt(n)
                fed += n
            }
            feed()
            var chunk = [UInt8](repeating: 0, count: 256 * 1024)
            var status: Int32 = Z_OK
            while status != Z_STREAM_END {
                if stream.avail_in == 0 && fed < input.count { feed() }
                let produced: Int = chunk.withUnsafeMutableBytes { buf in
                    stream.next_out = buf.baseAddress?.assumingMemoryBound(to: Bytef.self)
                    stream.avail_out = uInt(buf.count)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return buf.count - Int(stream.avail_out)
                }
                if status == Z_NEED_DICT || status == Z_DATA_ERROR || status == Z_MEM_ERROR || status == Z_STREAM_ERROR {
                    let msg = stream.msg.map { String(cString: $0) } ?? "code \(status)"
                    throw Failure(reason: "damaged deflate data (\(msg)) after \(out.count) output bytes")
                }
                if out.count + produced > maxOutput {
                    if prefixOnly {
                        out.append(contentsOf: chunk[0..<(maxOutput - out.count)])
                        return out
                    }
                    throw Failure(reason: "inflated size exceeds the limit of \(maxOutput) bytes")
                }
                out.append(contentsOf: chunk[0..<produced])
                if status == Z_BUF_ERROR || (produced == 0 && stream.avail_in == 0 && status != Z_STREAM_END) {
                    if prefixOnly { return out }
                    throw Failure(reason: "deflate data ends early after \(out.count) output bytes (truncated)")
                }
            }
            consumedTotal = fed - Int(stream.avail_in)
            // Only gzip allows further members; ignore trailing zero padding after the last one.
        } while format == .gzip && consumedTotal < input.count
            && input[consumedTotal] == 0x1F && consumedTotal + 1 < input.count && input[consumedTotal + 1] == 0x8B
        return out
    }

    public static func inflate(
        _ input: [UInt8], format: Format, maxOutput: Int, prefixOnly: Bool = false
    ) throws(Failure) -> [UInt8] {
        try input.withBytes { (buf) throws(Failure) in
            try inflate(buf, format: format, maxOutput: maxOutput, prefixOnly: prefixOnly)
        }
    }

    /// Deflates `input`. gzip output has no file name and modification time 0, so the same input
    /// always gives the same bytes.
    public static func deflate(_ input: [UInt8], format: Format, level: Int32 = 6) throws(Failure) -> [UInt8] {
        try input.withBytes { (buf) throws(Failure) in try deflate(chunks: [buf], format: format, level: level) }
    }

    /// Deflates the chunks as one stream (no copy into one buffer first).
    public static func deflate(chunks input: [UnsafeRawBufferPointer], format: Format, level: Int32 = 6) throws(Failure) -> [UInt8] {
        // zlib counts input in 32-bit uInt: split chunks into pieces of at most 1 GiB.
        var chunks: [UnsafeRawBufferPointer] = []
        for c in input {
            var start = 0
            repeat {
                let n = min(c.count - start, 1 << 30)
                chunks.append(UnsafeRawBufferPointer(rebasing: c[start..<(start + n)]))
                start += n
            } while start < c.count
        }
        var stream = z_stream()
        let windowBits: Int32 = format == .raw ? -15 : format == .zlib ? 15 : 15 + 16
        guard deflateInit2_(
            &stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
            Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else { throw Failure(reason: "zlib could not start deflating") }
        defer { deflateEnd(&stream) }
        let total = chunks.reduce(0) { $0 + $1.count }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(total))) + 64 * (chunks.count + 1))
        var produced = 0
        var status: Int32 = Z_OK
        for (i, chunk) in chunks.enumerated() {
            let last = i == chunks.count - 1
            stream.next_in = UnsafeMutablePointer(mutating: chunk.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(chunk.count)
            repeat {
                if produced == out.count { out.append(contentsOf: repeatElement(0, count: max(1 << 20, out.count / 4))) }
                status = out.withUnsafeMutableBytes { o in
                    stream.next_out = o.baseAddress.map { $0.assumingMemoryBound(to: Bytef.self) + produced }
                    stream.avail_out = uInt(min(o.count - produced, 1 << 30))
                    let r = CZlib.deflate(&stream, last ? Z_FINISH : Z_NO_FLUSH)
                    produced = o.count - Int(stream.avail_out)
                    return r
                }
                guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                    throw Failure(reason: "deflate failed (code \(status))")
                }
            } while stream.avail_in > 0 || (last && status != Z_STREAM_END)
        }
        if chunks.isEmpty { throw Failure(reason: "nothing to deflate") }
        out.removeLast(out.count - produced)
        return out
    }
}
