// JPEG-LS decoder: ITU-T T.87 | ISO/IEC 14495-1, lossless and near-lossless, written from the
// standard. DICOM uses it for transfer syntaxes 1.2.840.10008.1.2.4.80 (lossless) and .81
// (near-lossless), PS3.5 §A.4.3.
//
// Scope: one frame (SOF55), 1…4 components with 1×1 sampling, any number of scans, interleave
// modes 0 (none), 1 (line) and 2 (sample), NEAR 0…255, precision 2…16, preset coding parameters
// (LSE id 1), restart intervals. Mapping tables (LSE ids 2/3, Tm ≠ 0), oversize dimensions (LSE
// id 4), point transforms and the T.870 extensions are rejected by name.

private let jlsCodecName = "JPEG-LS"

public struct JPEGLSCodec: PixelCodec {
    public init() {}

    public var name: String { jlsCodecName }
    public var transferSyntaxUIDs: [String] { ["1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"] }

    public func decode(
        frame: UnsafeRawBufferPointer, descriptor: PixelDescriptor, into output: UnsafeMutableRawBufferPointer
    ) throws(CodecError) {
        guard let base = frame.baseAddress, frame.count > 0 else {
            throw .truncated(codec: jlsCodecName, offset: 0)
        }
        var stream = JLSStream(base: base, count: frame.count, descriptor: descriptor, output: output)
        try stream.decode()
    }
}

// MARK: - Entropy-coded data reader

/// Bit reader over one entropy-coded segment (T.87 §9.1). JPEG-LS does not stuff zero bytes:
/// after every 0xFF data byte the encoder inserts a single 0 bit, so the next byte carries only
/// 7 data bits, and 0xFF followed by a byte with its high bit set is a marker. The reader stops
/// at the first marker; past it (or past the end of the input) it feeds zero bits and counts
/// them, so running over is detected afterwards (`overran`) instead of by a check per bit.
private struct JLSReader {
    let base: UnsafePointer<UInt8>
    let count: Int
    /// Next byte to load.
    var pos: Int
    /// `count`, or the offset of the marker that ended the segment.
    var limit: Int
    /// Unread bits, left-aligned.
    var buffer: UInt64 = 0
    var bits: Int = 0
    /// Zero bits appended after the segment ended.
    var padBits: Int = 0

    init(base: UnsafePointer<UInt8>, count: Int, start: Int) {
        self.base = base
        self.count = count
        self.pos = start
        self.limit = count
    }

    /// True once bits beyond the real data have been consumed.
    var overran: Bool { bits < padBits }

    /// True if the segment ended at a marker rather than at the end of the input.
    var endedAtMarker: Bool { limit < count }

    /// Approximate byte offset of the next unread bit, for error messages.
    var errorOffset: Int { max(0, pos - max(0, bits - padBits) / 8) }

    /// Tops the buffer up to at least 49 bits. Callers only call it with fewer than 49 bits.
    @inline(__always)
    mutating func refill() {
        // Fast path: 8 bytes available and none of them 0xFF, so no stuffed bit or marker. (A byte
        // after an 0xFF is always taken together with it by the slow path.)
        if pos &+ 8 <= limit {
            let word = UInt64(bigEndian: UnsafeRawPointer(base + pos).loadUnaligned(as: UInt64.self))
            let inverted = ~word
            // "Has a zero byte" test on the inverted word: a byte is zero iff it was 0xFF.
            if (inverted &- 0x0101_0101_0101_0101) & ~inverted & 0x8080_8080_8080_8080 == 0 {
                let take = (63 &- bits) &>> 3  // whole bytes that fit
                buffer |= (word &>> UInt64(64 &- take &* 8)) &<< UInt64(64 &- bits &- take &* 8)
                bits &+= take &* 8
                pos &+= take
                return
            }
        }
        refillSlow()
    }

    @inline(never)
    mutating func refillSlow() {
        while bits <= 48 {
            if pos < limit {
                let b = base[pos]
                if b != 0xFF {
                    buffer |= UInt64(b) &<< UInt64(56 &- bits)
                    bits &+= 8
                    pos &+= 1
                    continue
                }
                if pos &+ 1 < limit {
                    if base[pos &+ 1] < 0x80 {
                        // T.87 §9.1: 0xFF, then 7 data bits after the stuffed 0 bit.
                        let v = UInt64(0xFF) &<< 7 | UInt64(base[pos &+ 1])
                        buffer |= v &<< UInt64(49 &- bits)
                        bits &+= 15
                        pos &+= 2
                        continue
                    }
                    // A marker: the segment ends here.
                    limit = pos
                } else {
                    // 0xFF as the last byte of the input: data cut off after it.
                    buffer |= UInt64(0xFF) &<< UInt64(56 &- bits)
                    bits &+= 8
                    pos &+= 1
                    continue
                }
            }
            padBits &+= 8
            bits &+= 8
        }
    }

    @inline(__always)
    mutating func skip(_ n: Int) {
        buffer = buffer &<< UInt64(n)
        bits &-= n
    }

    /// Reads n bits, 0 ≤ n ≤ 32.
    @inline(__always)
    mutating func read(_ n: Int) -> Int {
        if bits < n { refill() }
        // Two shifts so that n = 0 yields 0 without an undefined 64-bit shift.
        let v = Int(truncatingIfNeeded: (buffer &>> 1) &>> UInt64(63 &- n))
        buffer = buffer &<< UInt64(n)
        bits &-= n
        return v
    }

    @inline(__always)
    mutating func readBit() -> Bool {
        if bits < 1 { refill() }
        let v = buffer &>> 63 != 0
        buffer = buffer &<< 1
        bits &-= 1
        return v
    }

    /// Decodes one limited-length Golomb code (T.87 A.5.3): `q` zero bits and a 1, then either
    /// k bits (q < limitQ, value q·2^k + bits) or, for q = limitQ, qbpp bits holding value − 1.
    /// Returns −1 for a unary part longer than limitQ, which no encoder writes.
    @inline(__always)
    mutating func golomb(k: Int, limitQ: Int, qbpp: Int) -> Int {
        if bits < 32 { refill() }
        let z = buffer.leadingZeroBitCount
        if z < limitQ && z &+ 1 &+ k <= bits {
            buffer = buffer &<< UInt64(z &+ 1)
            let v = Int(truncatingIfNeeded: (buffer &>> 1) &>> UInt64(63 &- k))
            buffer = buffer &<< UInt64(k)
            bits &-= z &+ 1 &+ k
            return z &<< k | v
        }
        return golombSlow(k: k, limitQ: limitQ, qbpp: qbpp)
    }

    @inline(never)
    mutating func golombSlow(k: Int, limitQ: Int, qbpp: Int) -> Int {
        var q = 0
        while true {
            if bits < 32 { refill() }
            let z = min(buffer.leadingZeroBitCount, bits)
            q &+= z
            skip(z)
            if q > limitQ { return -1 }
            if bits > 0 {
                skip(1)  // the terminating 1 bit
                break
            }
        }
        if q < limitQ { return q &<< k | read(k) }
        return read(qbpp) &+ 1
    }
}

// MARK: - Stream parser

private struct JLSScanComponent {
    var frameIndex: Int
}

/// LSE id 1 values as written; 0 means "use the default" (T.87 C.2.4.1.1).
private struct JLSPresets {
    var maxval = 0
    var t1 = 0
    var t2 = 0
    var t3 = 0
    var reset = 0
    /// Where the values were read, for error messages.
    var offset = 0
}

private struct JLSStream: JPEGMarkerParser {
    static var codecName: String { jlsCodecName }

    let base: UnsafeRawPointer
    let count: Int
    let descriptor: PixelDescriptor
    let output: UnsafeMutableRawBufferPointer

    var pos = 0
    var restartInterval = 0
    var presets = JLSPresets()
    // Frame header (T.87 C.2.2), valid once `haveFrame`.
    var haveFrame = false
    var precision = 0
    var rows = 0
    var columns = 0
    var componentIDs: [UInt8] = []
    var componentDone: [Bool] = []
    var bytesPerSample = 0

    init(base: UnsafeRawPointer, count: Int, descriptor: PixelDescriptor, output: UnsafeMutableRawBufferPointer) {
        self.base = base
        self.count = count
        self.descriptor = descriptor
        self.output = output
    }

    var allComponentsDecoded: Bool { haveFrame && !componentDone.contains(false) }

    mutating func decode() throws(CodecError) {
        try readSOI(format: "JPEG-LS")
        // Whatever follows the last scan (EOI, DICOM's even-length padding) is irrelevant, and
        // a missing EOI is tolerated.
        while !allComponentsDecoded {
            let segment = try nextSegment()
            let (marker, markerOffset) = (segment.marker, segment.markerOffset)
            let (body, end) = (segment.body.lowerBound, segment.body.upperBound)
            switch marker {
            case 0xF7:
                try parseFrameHeader(body, end, markerOffset: markerOffset)
            case 0xF8:
                try parsePresets(body, end)
            case 0xDD:
                // T.81 B.2.4.4 as extended by T.87 Annex C: Ri, in MCUs (lines), as 2, 3 or 4 bytes.
                guard (2...4).contains(end - body) else {
                    throw corrupt(markerOffset, "DRI segment length \(segment.length) is not 4, 5 or 6")
                }
                var ri = 0
                for i in body..<end { ri = ri << 8 | byte(i) }
                restartInterval = ri
            case 0xDA:
                try parseScanHeaderAndDecode(body, end, markerOffset: markerOffset)
            case 0xDC:
                throw unsupported("a frame height defined by a DNL marker")
            case 0xC0...0xCF where marker != 0xC4 && marker != 0xC8 && marker != 0xCC:
                throw unsupported("a T.81 JPEG frame (SOF\(marker - 0xC0)) in JPEG-LS data")
            case 0xF9:
                throw unsupported("the JPEG-LS Part 2 (T.870) extensions (SOF57)")
            default:
                // APPn (including SPIFF in APP8), COM, DHT, DQT…: nothing the decoder needs.
                continue
            }
        }
    }

    // MARK: Frame header (T.87 C.2.2)

    mutating func parseFrameHeader(_ body: Int, _ end: Int, markerOffset: Int) throws(CodecError) {
        guard !haveFrame else { throw corrupt(markerOffset, "second frame header") }
        guard end - body >= 6 else { throw corrupt(body, "SOF55 segment too short") }
        precision = byte(body)
        let y = word(body + 1)
        let x = word(body + 3)
        let nf = byte(body + 5)
        guard (2...16).contains(precision) else {
            throw corrupt(body, "sample precision \(precision) is outside 2…16")
        }
        guard y > 0, x > 0 else {
            // 0 means the size comes later, in an LSE id 4 segment (T.87 C.2.4.1) or a DNL marker.
            throw unsupported("frame dimensions given outside the frame header (oversize image)")
        }
        let ids = try frameComponentIDs(body, end, count: nf, segment: "SOF55")
        bytesPerSample = try checkFrame(
            width: x, height: y, components: nf, precision: precision, descriptor: descriptor, outputCount: output.count)
        rows = y
        columns = x
        componentIDs = ids
        componentDone = Array(repeating: false, count: nf)
        haveFrame = true
    }

    // MARK: Preset parameters (T.87 C.2.4.1)

    mutating func parsePresets(_ body: Int, _ end: Int) throws(CodecError) {
        guard end - body >= 1 else { throw corrupt(body, "LSE segment too short") }
        let id = byte(body)
        switch id {
        case 1:
            // C.2.4.1.1: MAXVAL, T1, T2, T3, RESET, 16 bits each; checked at the scan, which
            // knows NEAR and the precision.
            guard end - body == 11 else { throw corrupt(body, "LSE preset-parameter segment length is not 13") }
            presets = JLSPresets(
                maxval: word(body + 1), t1: word(body + 3), t2: word(body + 5), t3: word(body + 7),
                reset: word(body + 9), offset: body)
        case 2, 3:
            throw unsupported("JPEG-LS mapping tables (LSE id \(id))")
        case 4:
            throw unsupported("JPEG-LS oversize image dimensions (LSE id 4)")
        default:
            throw corrupt(body, "LSE segment with unknown id \(id)")
        }
    }

    // MARK: Scan header (T.87 C.2.3)

    mutating func parseScanHeaderAndDecode(_ body: Int, _ end: Int, markerOffset: Int) throws(CodecError) {
        guard haveFrame else { throw corrupt(markerOffset, "scan header before the frame header") }
        guard end - body >= 1 else { throw corrupt(body, "SOS segment too short") }
        let ns = byte(body)
        guard ns >= 1, ns <= componentIDs.count else {
            throw corrupt(body, "scan has \(ns) components, frame has \(componentIDs.count)")
        }
        guard end - body == 4 + 2 * ns else {
            throw corrupt(body, "SOS segment length does not match \(ns) components")
        }
        var scan: [JLSScanComponent] = []
        for i in 0..<ns {
            let c = body + 1 + 2 * i
            let id = UInt8(truncatingIfNeeded: byte(c))
            guard let frameIndex = componentIDs.firstIndex(of: id) else {
                throw corrupt(c, "scan refers to component \(id), which the frame does not have")
            }
            guard !componentDone[frameIndex], !scan.contains(where: { $0.frameIndex == frameIndex }) else {
                throw corrupt(c, "component \(id) is coded in more than one scan")
            }
            // Tm: mapping-table selector (C.2.3); 0 = none.
            guard byte(c + 1) == 0 else { throw unsupported("JPEG-LS mapping tables (Tm = \(byte(c + 1)))") }
            scan.append(JLSScanComponent(frameIndex: frameIndex))
        }
        let near = byte(end - 3)
        var ilv = byte(end - 2)
        let pointTransform = byte(end - 1)
        guard ilv <= 2 else { throw corrupt(end - 2, "interleave mode \(ilv) is not 0, 1 or 2") }
        guard pointTransform == 0 else { throw unsupported("a point transform (Al = \(pointTransform & 15))") }
        if ns == 1 {
            // One component: every interleave mode codes it the same way as mode 0.
            ilv = 0
        } else if ilv == 0 {
            throw corrupt(end - 2, "interleave mode 0 with \(ns) components in one scan")
        }
        let coding = try codingParameters(near: near, nearOffset: end - 3)
        try decodeScan(scan, ilv: ilv, coding: coding)
        for c in scan { componentDone[c.frameIndex] = true }
    }

    /// MAXVAL, thresholds and RESET for a scan: the preset values where given, else the defaults
    /// of T.87 C.2.4.1.1 (which depend on NEAR); then RANGE, qbpp and LIMIT (A.2.1).
    func codingParameters(near: Int, nearOffset: Int) throws(CodecError) -> JLSCoding {
        let offset = presets.offset
        let maxPossible = (1 << precision) - 1
        let maxval = presets.maxval == 0 ? maxPossible : presets.maxval
        guard maxval <= maxPossible else {
            throw corrupt(offset, "MAXVAL \(maxval) does not fit the \(precision)-bit sample precision")
        }
        // C.2.3: NEAR ≤ min(255, MAXVAL/2).
        guard near <= maxval / 2 else {
            throw corrupt(nearOffset, "NEAR \(near) is too large for MAXVAL \(maxval)")
        }

        // C.2.4.1.1: default thresholds. CLAMP(i, j) = i unless i > MAXVAL or i < j, then j.
        func clamp(_ i: Int, _ j: Int) -> Int { i > maxval || i < j ? j : i }
        let d1, d2, d3: Int
        if maxval >= 128 {
            let factor = (min(maxval, 4095) + 128) >> 8
            d1 = clamp(factor * (3 - 2) + 2 + 3 * near, near + 1)
            d2 = clamp(factor * (7 - 3) + 3 + 5 * near, d1)
            d3 = clamp(factor * (21 - 4) + 4 + 7 * near, d2)
        } else {
            let factor = 256 / (maxval + 1)
            d1 = clamp(max(2, 3 / factor + 3 * near), near + 1)
            d2 = clamp(max(3, 7 / factor + 5 * near), d1)
            d3 = clamp(max(4, 21 / factor + 7 * near), d2)
        }
        let t1 = presets.t1 == 0 ? d1 : presets.t1
        let t2 = presets.t2 == 0 ? d2 : presets.t2
        let t3 = presets.t3 == 0 ? d3 : presets.t3
        let reset = presets.reset == 0 ? 64 : presets.reset
        guard near + 1 <= t1, t1 <= t2, t2 <= t3, t3 <= maxval else {
            throw corrupt(offset, "thresholds T1 \(t1), T2 \(t2), T3 \(t3) are out of order (C.2.4.1.1)")
        }
        guard reset >= 3, reset <= max(255, maxval) else {
            throw corrupt(offset, "RESET \(reset) is outside 3…\(max(255, maxval))")
        }

        let step = 2 * near + 1
        let range = (maxval + 2 * near) / step + 1
        let qbpp = jlsCeilLog2(range)
        let bpp = max(2, jlsCeilLog2(maxval + 1))
        let limit = 2 * (bpp + max(8, bpp))
        return JLSCoding(
            maxval: maxval, near: near, t1: t1, t2: t2, t3: t3, reset: reset, range: range, qbpp: qbpp, limit: limit,
            step: step, initialA: max(2, (range + 32) >> 6))
    }

    // MARK: Scan decoding (T.87 Annex A, B)

    mutating func decodeScan(_ scan: [JLSScanComponent], ilv: Int, coding: JLSCoding) throws(CodecError) {
        let ns = scan.count
        let width = columns
        // Two lines per scan component, each with one padding sample on either side for the edge
        // rules of T.87 Annex A. width and ns were checked against the descriptor and the output
        // size, so nothing here is sized by an unchecked header field.
        let stride = width + 2
        let lineStorage = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * ns * stride)
        defer { lineStorage.deallocate() }
        let lines = UnsafeMutablePointer<UnsafeMutablePointer<Int32>>.allocate(capacity: 2 * ns)
        defer { lines.deallocate() }
        // lines[0..<ns]: previous line of each component; lines[ns..<2ns]: current line.
        for i in 0..<(2 * ns) { (lines + i).initialize(to: lineStorage + i * stride + 1) }

        // A.2.1: 365 regular contexts and the two run-interruption contexts (365: RItype 0, 366: 1).
        let contexts = UnsafeMutablePointer<JLSContext>.allocate(capacity: 367)
        defer { contexts.deallocate() }

        // A.3.3 gradient quantisation, tabulated over every possible gradient −MAXVAL…MAXVAL
        // (reconstructed samples always lie in 0…MAXVAL). MAXVAL ≤ 65535 was checked.
        let maxval = coding.maxval
        let quantStorage = UnsafeMutablePointer<Int8>.allocate(capacity: 2 * maxval + 1)
        defer { quantStorage.deallocate() }
        let quant = quantStorage + maxval
        func fillQuant(_ lo: Int, _ hi: Int, _ value: Int8) {
            let top = min(hi, maxval)
            guard lo <= top else { return }
            (quant + lo).initialize(repeating: value, count: top - lo + 1)
            (quant - top).initialize(repeating: -value, count: top - lo + 1)
        }
        fillQuant(0, coding.near, 0)
        fillQuant(coding.near + 1, coding.t1 - 1, 1)
        fillQuant(coding.t1, coding.t2 - 1, 2)
        fillQuant(coding.t2, coding.t3 - 1, 3)
        fillQuant(coding.t3, maxval, 4)

        // RUNindex: one per component in line-interleaved mode, one for the scan otherwise.
        var runIndex = (0, 0, 0, 0)

        func resetState() {
            // A.2.1 initialisation, at the start of the scan and after every restart marker;
            // the line above the first line of an interval is taken as all zero.
            lineStorage.initialize(repeating: 0, count: 2 * ns * stride)
            jlsResetContexts(contexts, initialA: coding.initialA)
            runIndex = (0, 0, 0, 0)
        }
        resetState()

        var reader = JLSReader(base: base.assumingMemoryBound(to: UInt8.self), count: count, start: pos)
        for y in 0..<rows {
            if restartInterval > 0 && y > 0 && y % restartInterval == 0 {
                // Restart intervals count MCUs, which in JPEG-LS are lines (of every component of
                // the scan when interleaved).
                try processRestart(&reader)
                resetState()
            }
            switch ilv {
            case 0:
                try jlsDecodeLine(
                    &reader, prev: lines[0], cur: lines[1], width: width, contexts: contexts,
                    quant: UnsafePointer(quant), coding: coding, runIndex: &runIndex.0)
            case 1:
                // B.2: one line of each component in turn, sharing the contexts.
                try jlsDecodeLine(
                    &reader, prev: lines[0], cur: lines[ns], width: width, contexts: contexts,
                    quant: UnsafePointer(quant), coding: coding, runIndex: &runIndex.0)
                try jlsDecodeLine(
                    &reader, prev: lines[1], cur: lines[ns + 1], width: width, contexts: contexts,
                    quant: UnsafePointer(quant), coding: coding, runIndex: &runIndex.1)
                if ns > 2 {
                    try jlsDecodeLine(
                        &reader, prev: lines[2], cur: lines[ns + 2], width: width, contexts: contexts,
                        quant: UnsafePointer(quant), coding: coding, runIndex: &runIndex.2)
                }
                if ns > 3 {
                    try jlsDecodeLine(
                        &reader, prev: lines[3], cur: lines[ns + 3], width: width, contexts: contexts,
                        quant: UnsafePointer(quant), coding: coding, runIndex: &runIndex.3)
                }
            default:
                try jlsDecodeSampleInterleavedLine(
                    &reader, prevs: lines, curs: lines + ns, ns: ns, width: width, contexts: contexts,
                    quant: UnsafePointer(quant), coding: coding, runIndex: &runIndex.0)
            }
            if reader.overran { throw jlsOverrunError(reader) }
            if ilv == 0 {
                emitLine(y, lines[1], frameIndex: scan[0].frameIndex)
                swap(&lines[0], &lines[1])
            } else {
                for k in 0..<ns {
                    emitLine(y, lines[ns + k], frameIndex: scan[k].frameIndex)
                    swap(&lines[k], &lines[ns + k])
                }
            }
        }
        // The coder pads the scan to a whole byte; continue at the marker that follows.
        pos = nextMarker(from: reader.pos)
    }

    /// Offset of the next marker (0xFF followed by a byte with its high bit set, T.87 §9.1) at or
    /// after `p`, or `count` if there is none.
    func nextMarker(from start: Int) -> Int {
        var p = start
        while p + 1 < count {
            if byte(p) == 0xFF && byte(p + 1) >= 0x80 { return p }
            p += 1
        }
        return count
    }

    /// At the end of a restart interval the coder pads to a byte boundary and writes RSTn; the
    /// decoder drops the padding, checks the marker and starts afresh.
    func processRestart(_ reader: inout JLSReader) throws(CodecError) {
        if reader.overran { throw jlsOverrunError(reader) }
        let p = nextMarker(from: reader.pos)
        guard p < count else { throw truncated(count) }
        let next = try skipRestartMarker(at: p)
        reader = JLSReader(base: base.assumingMemoryBound(to: UInt8.self), count: count, start: next)
    }

    /// Writes one reconstructed line of one component to the output, little-endian,
    /// colour-by-pixel.
    func emitLine(_ y: Int, _ line: UnsafeMutablePointer<Int32>, frameIndex: Int) {
        guard let out = output.baseAddress else { return }
        let nf = componentIDs.count
        let step = nf * bytesPerSample
        var o = (y * columns * nf + frameIndex) * bytesPerSample
        if bytesPerSample == 2 {
            for x in 0..<columns {
                out.storeBytes(of: UInt16(truncatingIfNeeded: line[x]).littleEndian, toByteOffset: o, as: UInt16.self)
                o += step
            }
        } else {
            for x in 0..<columns {
                out.storeBytes(of: UInt8(truncatingIfNeeded: line[x]), toByteOffset: o, as: UInt8.self)
                o += step
            }
        }
    }
}

// MARK: - Context modelling and sample decoding (T.87 Annex A)

/// Context variables (A.2.1). For the two run-interruption contexts `b` holds Nn.
private struct JLSContext {
    var a: Int
    var b: Int
    var c: Int
    var n: Int
}

private func jlsResetContexts(_ contexts: UnsafeMutablePointer<JLSContext>, initialA: Int) {
    contexts.initialize(repeating: JLSContext(a: initialA, b: 0, c: 0, n: 1), count: 367)
}

/// J[RUNindex] of A.7.1.2: 0,0,0,0, 1,1,1,1, 2,2,2,2, 3,3,3,3, 4,4, 5,5, 6,6, 7,7, 8…15.
@inline(__always)
private func jlsJ(_ i: Int) -> Int {
    i < 16 ? i &>> 2 : (i < 24 ? (i &- 8) &>> 1 : i &- 16)
}

/// Smallest k with N·2^k ≥ A (A.5.1, A.7.2), without a loop.
@inline(__always)
private func jlsGolombK(n: Int, a: Int) -> Int {
    let d = n.leadingZeroBitCount &- a.leadingZeroBitCount
    var k = d > 0 ? d : 0
    if n &<< k < a { k &+= 1 }
    return k
}

/// Decoder side of A.4.4–A.4.5: Rx = Px + error·(2·NEAR+1), brought back into −NEAR…MAXVAL+NEAR
/// modulo RANGE·(2·NEAR+1), then clamped to 0…MAXVAL as the encoder's reconstruction is.
@inline(__always)
private func jlsReconstruct(_ px: Int, _ error: Int, _ c: JLSCoding) -> Int {
    var rx = px &+ error
    if rx < -c.near {
        rx &+= c.range &* c.step
    } else if rx > c.maxval &+ c.near {
        rx &-= c.range &* c.step
    }
    return rx < 0 ? 0 : (rx > c.maxval ? c.maxval : rx)
}

/// Error for an invalid code; reported as truncation when the reader has already run past the
/// end of the data (a cut-off stream reads as zero bits, which look like an over-long code).
@inline(never)
private func jlsCodeError(_ reader: JLSReader, _ reason: String) -> CodecError {
    if reader.overran { return jlsOverrunError(reader) }
    return .corrupt(codec: jlsCodecName, offset: reader.errorOffset, reason: reason)
}

@inline(never)
private func jlsOverrunError(_ reader: JLSReader) -> CodecError {
    if reader.endedAtMarker {
        return .corrupt(
            codec: jlsCodecName, offset: reader.limit,
            reason: "entropy-coded data ends at a marker before the scan is complete")
    }
    return .truncated(codec: jlsCodecName, offset: reader.count)
}

/// One regular-mode sample (A.4–A.6) in context `qs` (−364…364; the sign folds the context,
/// A.3.4). Returns the reconstructed sample.
@inline(__always)
private func jlsRegularSample(
    _ reader: inout JLSReader, qs: Int, ra: Int, rb: Int, rc: Int, contexts: UnsafeMutablePointer<JLSContext>,
    coding p: JLSCoding
) throws(CodecError) -> Int {
    let sign = qs &>> 63  // 0 or −1
    let ctx = contexts + ((qs ^ sign) &- sign)
    var a = ctx.pointee.a
    var b = ctx.pointee.b
    var c = ctx.pointee.c
    var n = ctx.pointee.n

    // A.4.1 median edge detector, then A.4.2 bias correction with the context's C.
    let mx = max(ra, rb)
    let mn = min(ra, rb)
    var px = rc >= mx ? mn : (rc <= mn ? mx : ra &+ rb &- rc)
    px &+= (c ^ sign) &- sign
    px = px < 0 ? 0 : (px > p.maxval ? p.maxval : px)

    // A.5.1 Golomb parameter; A.5.3 limited-length code. A conforming encoder's mapped error is
    // at most RANGE (A.4.5 reduces the error to about ±RANGE/2), so anything larger is corrupt;
    // this also keeps the context arithmetic bounded.
    let k = jlsGolombK(n: n, a: a)
    let merr = reader.golomb(k: k, limitQ: p.limit &- p.qbpp &- 1, qbpp: p.qbpp)
    guard UInt(bitPattern: merr) <= UInt(p.range) else {
        throw jlsCodeError(reader, "invalid Golomb code in a regular-mode sample")
    }
    // A.5.2 inverse error mapping; the alternative mapping for k = 0 in lossless mode when the
    // context's bias is negative.
    var err = (merr &>> 1) ^ -(merr & 1)
    if p.near == 0 && k == 0 && 2 &* b <= -n { err = ~err }

    // A.6.1 context update, A.6.2 bias computation.
    b &+= err &* p.step
    a &+= err < 0 ? -err : err
    if n == p.reset {
        a &>>= 1
        b &>>= 1  // arithmetic shift: the −((1 − B) >> 1) of A.6.1 for negative B
        n &>>= 1
    }
    n &+= 1
    if b <= -n {
        b &+= n
        if c > -128 { c &-= 1 }
        if b <= -n { b = 1 &- n }
    } else if b > 0 {
        b &-= n
        if c < 127 { c &+= 1 }
        if b > 0 { b = 0 }
    }
    ctx.pointee = JLSContext(a: a, b: b, c: c, n: n)

    return jlsReconstruct(px, ((err &* p.step) ^ sign) &- sign, p)
}

/// One run-interruption sample (A.7.2) of type `riType` (1: |Ra − Rb| ≤ NEAR, predicted by Ra;
/// 0: predicted by Rb). `runIndex` is RUNindex before its decrement.
@inline(__always)
private func jlsInterruptionSample(
    _ reader: inout JLSReader, riType: Int, ra: Int, rb: Int, runIndex: Int,
    contexts: UnsafeMutablePointer<JLSContext>, coding p: JLSCoding
) throws(CodecError) -> Int {
    let ctx = contexts + 365 + riType
    var a = ctx.pointee.a
    var nn = ctx.pointee.b
    var n = ctx.pointee.n

    let temp = riType == 0 ? a : a &+ (n &>> 1)
    let k = jlsGolombK(n: n, a: temp)
    // The code length limit is LIMIT − J[RUNindex] − 1 here (A.7.2).
    let limitQ = p.limit &- jlsJ(runIndex) &- 1 &- p.qbpp &- 1
    let emerr = reader.golomb(k: k, limitQ: limitQ, qbpp: p.qbpp)
    guard UInt(bitPattern: emerr) <= UInt(p.range) else {
        throw jlsCodeError(reader, "invalid Golomb code in a run-interruption sample")
    }
    // Invert EMErrval = 2·|Errval| − RItype − map: the parity gives map, and map tells the sign
    // given k and the context's share of negative errors (Nn/N).
    let t = emerr &+ riType
    let map = t & 1
    let magnitude = (t &+ map) &>> 1
    let negative = (map == 1) == (k != 0 || 2 &* nn >= n)
    let err = negative ? -magnitude : magnitude

    if err < 0 { nn &+= 1 }
    a &+= (emerr &+ 1 &- riType) &>> 1
    if n == p.reset {
        a &>>= 1
        n &>>= 1
        nn &>>= 1
    }
    n &+= 1
    ctx.pointee = JLSContext(a: a, b: nn, c: 0, n: n)

    let px = riType == 1 ? ra : rb
    let scaled = err &* p.step
    return jlsReconstruct(px, riType == 0 && ra > rb ? -scaled : scaled, p)
}

/// Decodes one line of one component (A.3–A.7). `prev` and `cur` point at sample 0 of lines
/// that have one padding sample on each side.
private func jlsDecodeLine(
    _ readerIO: inout JLSReader, prev: UnsafeMutablePointer<Int32>, cur: UnsafeMutablePointer<Int32>, width: Int,
    contexts: UnsafeMutablePointer<JLSContext>, quant: UnsafePointer<Int8>, coding: JLSCoding,
    runIndex runIndexIO: inout Int
) throws(CodecError) {
    // Local copies so the optimiser keeps the hot state in registers.
    var reader = readerIO
    var runIndex = runIndexIO
    defer {
        readerIO = reader
        runIndexIO = runIndex
    }
    // Annex A edges: Ra of the first sample is its Rb, Rc is the previous line's first Ra (kept
    // in prev[−1]); Rd of the last sample is its Rb; the line above the first line is all 0.
    cur[-1] = prev[0]
    prev[width] = prev[width &- 1]

    var x = 0
    var ra = Int(prev[0])
    var rb = ra
    var rc = Int(prev[-1])
    while x < width {
        let rd = Int(prev[x &+ 1])
        // A.3.1–A.3.4 gradients, quantised and combined into one signed context number.
        let qs = 81 &* Int(quant[rd &- rb]) &+ 9 &* Int(quant[rb &- rc]) &+ Int(quant[rc &- ra])
        if qs != 0 {
            let rx = try jlsRegularSample(&reader, qs: qs, ra: ra, rb: rb, rc: rc, contexts: contexts, coding: coding)
            cur[x] = Int32(truncatingIfNeeded: rx)
            ra = rx
            rc = rb
            rb = rd
            x &+= 1
            continue
        }

        // A.7.1 run mode: samples equal to Ra (within NEAR), in blocks of 2^J[RUNindex].
        let runValue = Int32(truncatingIfNeeded: ra)
        while true {
            if reader.readBit() {
                let block = 1 &<< jlsJ(runIndex)
                let n = min(block, width &- x)
                (cur + x).update(repeating: runValue, count: n)
                x &+= n
                if n == block && runIndex < 31 { runIndex &+= 1 }
                if x == width { break }
            } else {
                // The run stops before the line ends; J[RUNindex] bits give its remaining length,
                // and the sample after it is a run-interruption sample.
                let n = reader.read(jlsJ(runIndex))
                guard n < width &- x else { throw jlsCodeError(reader, "run length passes the end of the line") }
                (cur + x).update(repeating: runValue, count: n)
                x &+= n
                rb = Int(prev[x])
                let riType = abs(ra &- rb) <= coding.near ? 1 : 0
                let rx = try jlsInterruptionSample(
                    &reader, riType: riType, ra: ra, rb: rb, runIndex: runIndex, contexts: contexts, coding: coding)
                cur[x] = Int32(truncatingIfNeeded: rx)
                if runIndex > 0 { runIndex &-= 1 }
                x &+= 1
                break
            }
        }
        if x < width {
            ra = Int(cur[x &- 1])
            rb = Int(prev[x])
            rc = Int(prev[x &- 1])
        }
    }
}

/// Decodes one line of a sample-interleaved scan (ILV 2, A.3–A.7 with B.3): each pixel's
/// components in turn, sharing the contexts; run mode only when every component's gradients
/// are within NEAR, and a run continues only while every component matches its Ra.
private func jlsDecodeSampleInterleavedLine(
    _ readerIO: inout JLSReader, prevs: UnsafeMutablePointer<UnsafeMutablePointer<Int32>>,
    curs: UnsafeMutablePointer<UnsafeMutablePointer<Int32>>, ns: Int, width: Int,
    contexts: UnsafeMutablePointer<JLSContext>, quant: UnsafePointer<Int8>, coding: JLSCoding,
    runIndex runIndexIO: inout Int
) throws(CodecError) {
    var reader = readerIO
    var runIndex = runIndexIO
    defer {
        readerIO = reader
        runIndexIO = runIndex
    }
    for i in 0..<ns {
        curs[i][-1] = prevs[i][0]
        prevs[i][width] = prevs[i][width &- 1]
    }
    @inline(__always) func context(_ i: Int, _ x: Int) -> Int {
        let prev = prevs[i]
        let ra = Int(curs[i][x &- 1])
        let rb = Int(prev[x])
        let rc = Int(prev[x &- 1])
        let rd = Int(prev[x &+ 1])
        return 81 &* Int(quant[rd &- rb]) &+ 9 &* Int(quant[rb &- rc]) &+ Int(quant[rc &- ra])
    }

    var x = 0
    while x < width {
        var allFlat = true
        for i in 0..<ns where context(i, x) != 0 {
            allFlat = false
            break
        }
        if !allFlat {
            for i in 0..<ns {
                let cur = curs[i]
                let prev = prevs[i]
                let rx = try jlsRegularSample(
                    &reader, qs: context(i, x), ra: Int(cur[x &- 1]), rb: Int(prev[x]), rc: Int(prev[x &- 1]),
                    contexts: contexts, coding: coding)
                cur[x] = Int32(truncatingIfNeeded: rx)
            }
            x &+= 1
            continue
        }

        // Run mode over whole pixels.
        var interrupted = false
        while true {
            if reader.readBit() {
                let block = 1 &<< jlsJ(runIndex)
                let n = min(block, width &- x)
                for i in 0..<ns { (curs[i] + x).update(repeating: curs[i][x &- 1], count: n) }
                x &+= n
                if n == block && runIndex < 31 { runIndex &+= 1 }
                if x == width { break }
            } else {
                let n = reader.read(jlsJ(runIndex))
                guard n < width &- x else { throw jlsCodeError(reader, "run length passes the end of the line") }
                for i in 0..<ns { (curs[i] + x).update(repeating: curs[i][x &- 1], count: n) }
                x &+= n
                interrupted = true
                break
            }
        }
        if interrupted {
            // In sample-interleaved mode each component of the interrupting pixel is coded as
            // RItype 0 (predicted from Rb, context 365), whatever |Ra − Rb| is.
            for i in 0..<ns {
                let cur = curs[i]
                let rx = try jlsInterruptionSample(
                    &reader, riType: 0, ra: Int(cur[x &- 1]), rb: Int(prevs[i][x]), runIndex: runIndex,
                    contexts: contexts, coding: coding)
                cur[x] = Int32(truncatingIfNeeded: rx)
            }
            if runIndex > 0 { runIndex &-= 1 }
            x &+= 1
        }
    }
}

/// Fixed parameters of one scan (T.87 A.2.1, C.2.4.1.1).
private struct JLSCoding {
    var maxval: Int
    var near: Int
    var t1: Int
    var t2: Int
    var t3: Int
    var reset: Int
    var range: Int
    var qbpp: Int
    var limit: Int
    /// 2·NEAR + 1, the quantisation step of near-lossless coding.
    var step: Int
    /// Initial value of the context variable A.
    var initialA: Int
}

/// ⌈log2 n⌉ for n ≥ 1.
private func jlsCeilLog2(_ n: Int) -> Int {
    var k = 0
    while (1 << k) < n { k += 1 }
    return k
}
