// JPEG Lossless decoder: ITU-T T.81 Annex H, Process 14 (lossless, Huffman coded, frame marker
// SOF3), written from the standard. DICOM uses it for transfer syntaxes 1.2.840.10008.1.2.4.57
// (any predictor) and .70 (predictor 1 only), PS3.5 §A.4.1.
//
// Scope: one non-hierarchical frame, 1…4 components with 1×1 sampling, any number of scans
// (interleaved or not), restart intervals, precision 2…16, predictors 1…7, point transform.
// Lossy, hierarchical and arithmetic-coded processes are rejected by name.

private let jpegLosslessName = "JPEG Lossless"

public struct JPEGLosslessCodec: PixelCodec {
    public init() {}

    public var name: String { jpegLosslessName }
    public var transferSyntaxUIDs: [String] { ["1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"] }

    public func decode(
        frame: UnsafeRawBufferPointer, descriptor: PixelDescriptor, into output: UnsafeMutableRawBufferPointer
    ) throws(CodecError) {
        guard let base = frame.baseAddress, frame.count > 0 else {
            throw .truncated(codec: jpegLosslessName, offset: 0)
        }
        // Fixed-size storage for the four Huffman table slots (B.2.4.2: Th = 0…3); its size does
        // not depend on anything in the stream.
        let tableStorage = UnsafeMutablePointer<Int32>.allocate(capacity: LosslessHuffmanSlot.size * 4)
        defer { tableStorage.deallocate() }
        var stream = JPEGLosslessStream(
            base: base, count: frame.count, descriptor: descriptor, output: output, tableStorage: tableStorage)
        try stream.decode()
    }
}

// MARK: - Huffman tables

/// Layout of one decoding table inside `tableStorage` (all Int32):
/// a `lookupBits`-bit lookahead table, then MAXCODE, VALPTR−MINCODE and MINCODE per code length
/// (F.2.2.3, Figure F.15/F.16), then HUFFVAL.
///
/// Lookahead entry: 0 = "not resolved here, use the slow path";
/// bit 5 set = complete: bits 0…4 are the total bits (code + additional bits), bits 8… the signed
/// difference; bit 5 clear = code only: bits 0…4 the code length, bits 8…12 SSSS.
private enum LosslessHuffmanSlot {
    static let lookupBits = 11
    static let lookupSize = 1 << lookupBits
    static let maxCode = lookupSize  // 17 entries, index = code length 1…16
    static let valueOffset = maxCode + 17
    static let minCode = valueOffset + 17
    static let values = minCode + 17  // 256 entries
    static let size = values + 256

    static let completeFlag: Int32 = 32
}

/// H.1.2.2 / F.2.2.1: turns SSSS additional bits into the signed difference. `ssss` is 1…15.
@inline(__always)
private func losslessExtend(_ v: Int32, _ ssss: Int32) -> Int32 {
    // A leading 0 bit marks a negative difference: value − (2^SSSS − 1).
    v < (1 &<< (ssss &- 1)) ? v &- ((1 &<< ssss) &- 1) : v
}

// MARK: - Entropy-coded data reader

/// Bit reader over one scan's entropy-coded segment. Removes stuffed zero bytes (F.1.2.3: 0xFF
/// is followed by 0x00 in coded data) and stops at the first marker; past that point (or past the
/// end of the input) it feeds zero bits and counts them, so overruns are detected afterwards
/// (`overran`) instead of by a check per sample.
private struct LosslessBitReader {
    let base: UnsafeRawPointer
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
    /// The segment ended at a marker rather than at the end of the input.
    var endedAtMarker = false

    init(base: UnsafeRawPointer, count: Int, start: Int) {
        self.base = base
        self.count = count
        self.pos = start
        self.limit = count
    }

    /// True once bits beyond the real data have been consumed.
    var overran: Bool { bits < padBits }

    mutating func restart(at offset: Int) {
        pos = offset
        limit = count
        buffer = 0
        bits = 0
        padBits = 0
        endedAtMarker = false
    }

    /// Tops the buffer up to at least 56 bits. Only called with fewer than 32 bits buffered, so
    /// the fast path always takes 4…8 bytes.
    @inline(__always)
    mutating func refill() {
        // Fast path: 8 bytes available and none of them 0xFF, so no stuffing or marker to handle.
        if pos &+ 8 <= limit {
            let word = UInt64(bigEndian: base.loadUnaligned(fromByteOffset: pos, as: UInt64.self))
            let inverted = ~word
            // Classic "has a zero byte" test on the inverted word: a byte is zero iff it was 0xFF.
            if (inverted &- 0x0101_0101_0101_0101) & ~inverted & 0x8080_8080_8080_8080 == 0 {
                let take = (63 &- bits) >> 3  // whole bytes that fit
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
        while bits <= 56 {
            var byte: UInt64 = 0
            if pos < limit {
                let b = base.load(fromByteOffset: pos, as: UInt8.self)
                if b != 0xFF {
                    byte = UInt64(b)
                    pos &+= 1
                } else if pos &+ 1 >= limit {
                    // A lone 0xFF as the last byte: the input was cut inside a stuffed pair.
                    limit = pos
                    padBits &+= 8
                } else if base.load(fromByteOffset: pos &+ 1, as: UInt8.self) == 0 {
                    byte = 0xFF
                    pos &+= 2
                } else {
                    // A marker: the entropy-coded segment ends here (F.2.2.5).
                    limit = pos
                    endedAtMarker = true
                    padBits &+= 8
                }
            } else {
                padBits &+= 8
            }
            buffer |= byte &<< UInt64(56 &- bits)
            bits &+= 8
        }
    }

    /// Decodes one Huffman-coded difference (H.1.2.2, Table H.2).
    @inline(__always)
    mutating func difference(_ table: UnsafePointer<Int32>) throws(CodecError) -> Int32 {
        // One difference needs at most 16 code bits + 15 additional bits.
        if bits < 32 { refill() }
        let entry = table[Int(truncatingIfNeeded: buffer &>> UInt64(64 - LosslessHuffmanSlot.lookupBits))]
        let length = Int(truncatingIfNeeded: entry & 31)
        if entry & LosslessHuffmanSlot.completeFlag != 0 {
            buffer = buffer &<< UInt64(length)
            bits &-= length
            return entry &>> 8
        }
        if entry != 0 {
            let ssss = Int(truncatingIfNeeded: (entry &>> 8) & 31)
            buffer = buffer &<< UInt64(length)
            let v = Int32(truncatingIfNeeded: buffer &>> UInt64(64 &- ssss))
            buffer = buffer &<< UInt64(ssss)
            bits &-= length &+ ssss
            return losslessExtend(v, Int32(truncatingIfNeeded: ssss))
        }
        return try differenceSlow(table)
    }

    /// Code longer than the lookahead, or invalid: the DECODE procedure of F.2.2.3.
    @inline(never)
    mutating func differenceSlow(_ table: UnsafePointer<Int32>) throws(CodecError) -> Int32 {
        for length in 1...16 {
            let code = Int32(truncatingIfNeeded: buffer &>> UInt64(64 - length))
            guard code <= table[LosslessHuffmanSlot.maxCode + length],
                code >= table[LosslessHuffmanSlot.minCode + length]
            else { continue }
            let index = Int(code &+ table[LosslessHuffmanSlot.valueOffset + length])
            let ssss = table[LosslessHuffmanSlot.values + index]
            buffer = buffer &<< UInt64(length)
            bits &-= length
            switch ssss {
            case 0:
                return 0
            case 16:
                // H.1.2.2: SSSS = 16 means a difference of 32768 with no additional bits.
                return 32768
            case 1...15:
                let n = Int(ssss)
                let v = Int32(truncatingIfNeeded: buffer &>> UInt64(64 &- n))
                buffer = buffer &<< UInt64(n)
                bits &-= n
                return losslessExtend(v, ssss)
            default:
                throw .corrupt(
                    codec: jpegLosslessName, offset: errorOffset,
                    reason: "Huffman table value \(ssss) is not a lossless difference category (0…16)")
            }
        }
        throw .corrupt(codec: jpegLosslessName, offset: errorOffset, reason: "invalid Huffman code")
    }

    /// Approximate byte offset of the next unread bit, for error messages.
    var errorOffset: Int { max(0, pos - max(0, bits - padBits) / 8) }
}

// MARK: - Stream parser

private struct LosslessScanComponent {
    var frameIndex: Int
    var tableSlot: Int
}

private struct JPEGLosslessStream: JPEGMarkerParser {
    static var codecName: String { jpegLosslessName }

    let base: UnsafeRawPointer
    let count: Int
    let descriptor: PixelDescriptor
    let output: UnsafeMutableRawBufferPointer
    let tableStorage: UnsafeMutablePointer<Int32>

    var pos = 0
    var definedTables: UInt8 = 0
    var restartInterval = 0
    // Frame header (B.2.2), valid once `haveFrame`.
    var haveFrame = false
    var precision = 0
    var rows = 0
    var columns = 0
    var componentIDs: [UInt8] = []
    var componentDone: [Bool] = []
    var bytesPerSample = 0

    init(
        base: UnsafeRawPointer, count: Int, descriptor: PixelDescriptor,
        output: UnsafeMutableRawBufferPointer, tableStorage: UnsafeMutablePointer<Int32>
    ) {
        self.base = base
        self.count = count
        self.descriptor = descriptor
        self.output = output
        self.tableStorage = tableStorage
    }

    var allComponentsDecoded: Bool { haveFrame && !componentDone.contains(false) }

    mutating func decode() throws(CodecError) {
        try readSOI(format: "JPEG")
        // Everything after the last scan (EOI, DICOM's even-length padding) is irrelevant, and a
        // missing EOI is tolerated.
        while !allComponentsDecoded {
            let segment = try nextSegment(strayByteHex: { String($0, radix: 16) })
            let (marker, markerOffset) = (segment.marker, segment.markerOffset)
            let (body, end) = (segment.body.lowerBound, segment.body.upperBound)
            switch marker {
            case 0xC3:
                try parseFrameHeader(body, end)
            case 0xC4:
                try parseHuffmanTables(body, end)
            case 0xDD:
                // B.2.4.4: Ri, MCUs per restart interval; 0 disables restarts.
                guard segment.length == 4 else {
                    throw corrupt(markerOffset, "DRI segment length \(segment.length) is not 4")
                }
                restartInterval = word(body)
            case 0xDA:
                try parseScanHeaderAndDecode(body, end, markerOffset: markerOffset)
            case 0xDE, 0xDF:
                throw unsupported("hierarchical JPEG (DHP/EXP markers, T.81 Annex J)")
            case 0xC0...0xCF where marker != 0xC4 && marker != 0xC8 && marker != 0xCC:
                throw unsupported(Self.processName(marker))
            case 0xF7:
                throw unsupported("JPEG-LS (SOF55) data")
            default:
                // APPn, COM, DQT, DAC, DNL, JPGn…: nothing a lossless Huffman decoder needs.
                continue
            }
        }
    }

    static func processName(_ marker: Int) -> String {
        let name: String
        switch marker {
        case 0xC0: name = "baseline DCT (SOF0, lossy Process 1)"
        case 0xC1: name = "extended sequential DCT (SOF1, lossy)"
        case 0xC2: name = "progressive DCT (SOF2, lossy)"
        case 0xC5: name = "differential sequential DCT (SOF5, hierarchical)"
        case 0xC6: name = "differential progressive DCT (SOF6, hierarchical)"
        case 0xC7: name = "differential lossless (SOF7, hierarchical)"
        case 0xC9: name = "extended sequential DCT, arithmetic coding (SOF9)"
        case 0xCA: name = "progressive DCT, arithmetic coding (SOF10)"
        case 0xCB: name = "lossless, arithmetic coding (SOF11)"
        case 0xCD: name = "differential sequential DCT, arithmetic coding (SOF13)"
        case 0xCE: name = "differential progressive DCT, arithmetic coding (SOF14)"
        default: name = "differential lossless, arithmetic coding (SOF15)"
        }
        return "the JPEG process \(name)"
    }

    // MARK: Frame header (B.2.2)

    mutating func parseFrameHeader(_ body: Int, _ end: Int) throws(CodecError) {
        guard !haveFrame else { throw corrupt(body - 4, "second frame header in a non-hierarchical stream") }
        guard end - body >= 6 else { throw corrupt(body, "SOF3 segment too short") }
        precision = byte(body)
        let y = word(body + 1)
        let x = word(body + 3)
        let nf = byte(body + 5)
        guard (2...16).contains(precision) else {
            throw corrupt(body, "sample precision \(precision) is outside 2…16 (Table B.2)")
        }
        guard y > 0 else { throw unsupported("a frame height defined by a DNL marker") }
        guard x > 0 else { throw corrupt(body + 3, "frame width is 0") }
        let ids = try frameComponentIDs(body, end, count: nf, segment: "SOF3")
        bytesPerSample = try checkFrame(
            width: x, height: y, components: nf, precision: precision, descriptor: descriptor, outputCount: output.count)
        rows = y
        columns = x
        componentIDs = ids
        componentDone = Array(repeating: false, count: nf)
        haveFrame = true
    }

    // MARK: Huffman tables (B.2.4.2, Annex C)

    mutating func parseHuffmanTables(_ body: Int, _ end: Int) throws(CodecError) {
        var p = body
        while p < end {
            let tcth = byte(p)
            let tableClass = tcth >> 4
            let slot = tcth & 15
            guard tableClass <= 1, slot <= 3 else {
                throw corrupt(p, "Huffman table class \(tableClass) / destination \(slot) is invalid")
            }
            guard p + 17 <= end else { throw corrupt(p, "DHT segment ends inside a table") }
            var total = 0
            for i in 1...16 { total += byte(p + i) }
            guard total <= 256, p + 17 + total <= end else {
                throw corrupt(p, "DHT table declares \(total) codes, more than the segment holds")
            }
            // Lossless scans select only class 0 tables (Td in B.2.3); class 1 tables are skipped.
            if tableClass == 0 {
                try buildTable(slot: slot, counts: p + 1, values: p + 17)
                definedTables |= 1 << slot
            }
            p += 17 + total
        }
    }

    /// Generates the canonical codes (Annex C, Figures C.1–C.3) and the decoder tables (F.2.2.3).
    func buildTable(slot: Int, counts: Int, values: Int) throws(CodecError) {
        let t = tableStorage + slot * LosslessHuffmanSlot.size
        let k = LosslessHuffmanSlot.lookupBits
        t.initialize(repeating: 0, count: LosslessHuffmanSlot.lookupSize)
        var code = 0
        var index = 0
        for length in 1...16 {
            let n = byte(counts + length - 1)
            t[LosslessHuffmanSlot.minCode + length] = Int32(code)
            t[LosslessHuffmanSlot.valueOffset + length] = Int32(index - code)
            for _ in 0..<n {
                // More codes than this length can hold: the table does not describe a prefix code.
                guard code < 1 << length else {
                    throw corrupt(counts - 1, "Huffman table \(slot) has more codes than fit in \(length) bits")
                }
                let ssss = byte(values + index)
                t[LosslessHuffmanSlot.values + index] = Int32(ssss)
                if length <= k {
                    fillLookup(t, code: code, length: length, ssss: ssss)
                }
                code += 1
                index += 1
            }
            t[LosslessHuffmanSlot.maxCode + length] = n > 0 ? Int32(code - 1) : -1
            code <<= 1
        }
    }

    func fillLookup(_ t: UnsafeMutablePointer<Int32>, code: Int, length: Int, ssss: Int) {
        guard ssss <= 16 else { return }  // left to the slow path, which reports it
        let k = LosslessHuffmanSlot.lookupBits
        let spare = k - length
        let first = code << spare
        for j in 0..<(1 << spare) {
            let entry: Int32
            switch ssss {
            case 0:
                entry = LosslessHuffmanSlot.completeFlag | Int32(length)
            case 16:
                entry = Int32(32768) << 8 | LosslessHuffmanSlot.completeFlag | Int32(length)
            default:
                if ssss <= spare {
                    // The additional bits are inside the lookahead too: store the final difference.
                    let v = Int32(j >> (spare - ssss))
                    let difference = losslessExtend(v, Int32(ssss))
                    entry = difference << 8 | LosslessHuffmanSlot.completeFlag | Int32(length + ssss)
                } else {
                    entry = Int32(ssss) << 8 | Int32(length)
                }
            }
            t[first + j] = entry
        }
    }

    // MARK: Scan header (B.2.3) and scan decoding (H.2)

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
        var scan: [LosslessScanComponent] = []
        for i in 0..<ns {
            let c = body + 1 + 2 * i
            let id = UInt8(truncatingIfNeeded: byte(c))
            guard let frameIndex = componentIDs.firstIndex(of: id) else {
                throw corrupt(c, "scan refers to component \(id), which the frame does not have")
            }
            guard !componentDone[frameIndex], !scan.contains(where: { $0.frameIndex == frameIndex }) else {
                throw corrupt(c, "component \(id) is coded in more than one scan")
            }
            let slot = byte(c + 1) >> 4
            guard slot <= 3, definedTables & (1 << slot) != 0 else {
                throw corrupt(c + 1, "scan uses Huffman table \(slot), which is not defined")
            }
            scan.append(LosslessScanComponent(frameIndex: frameIndex, tableSlot: slot))
        }
        let predictor = byte(end - 3)  // Ss
        let pointTransform = byte(end - 1) & 15  // Al (Ah is unused in lossless mode)
        guard (1...7).contains(predictor) else {
            throw corrupt(end - 3, "predictor selection value \(predictor) is outside 1…7 (Table H.1)")
        }
        guard pointTransform < precision else {
            throw corrupt(end - 1, "point transform \(pointTransform) is not below the precision \(precision)")
        }
        try decodeScan(scan, predictor: predictor, pointTransform: pointTransform)
        for c in scan { componentDone[c.frameIndex] = true }
    }

    mutating func decodeScan(
        _ scan: [LosslessScanComponent], predictor: Int, pointTransform pt: Int
    ) throws(CodecError) {
        let ns = scan.count
        let width = columns
        let rowLength = width * ns
        // Two rows of reconstructed samples (current, previous), interleaved by scan component.
        // width and ns were checked against the descriptor and the output size.
        let rowStorage = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * rowLength)
        defer { rowStorage.deallocate() }
        rowStorage.initialize(repeating: 0, count: 2 * rowLength)
        var previous = rowStorage
        var current = rowStorage + rowLength

        let tables = UnsafeMutablePointer<UnsafePointer<Int32>>.allocate(capacity: ns)
        defer { tables.deallocate() }
        for (k, c) in scan.enumerated() {
            (tables + k).initialize(to: UnsafePointer(tableStorage + c.tableSlot * LosslessHuffmanSlot.size))
        }

        // H.1.2.1: the first sample of the scan and of each restart interval is predicted by
        // 2^(P − Pt − 1); the rest of that line by Ra, the first sample of later lines by Rb.
        let initial = Int32(1) << (precision - pt - 1)
        var reader = LosslessBitReader(base: base, count: count, start: pos)
        var mcusToGo = restartInterval
        var lineStartsAfterReset = true

        for y in 0..<rows {
            var x = 0
            while x < width {
                var segmentEnd = width
                if restartInterval > 0 {
                    if mcusToGo == 0 {
                        try processRestart(&reader)
                        mcusToGo = restartInterval
                        lineStartsAfterReset = true
                    }
                    // In lossless mode an MCU is one sample of each scan component (A.2, H.2),
                    // so an interval may end inside a line; decode up to that point.
                    segmentEnd = min(width, x + mcusToGo)
                    mcusToGo -= segmentEnd - x
                }
                if lineStartsAfterReset {
                    try Self.decodeFirstLine(
                        &reader, current, from: x, to: segmentEnd, ns: ns, tables: tables, initial: initial)
                    lineStartsAfterReset = false
                } else {
                    try Self.decodeLine(
                        &reader, current, previous, from: x, to: segmentEnd, ns: ns, tables: tables,
                        predictor: predictor)
                }
                x = segmentEnd
            }
            if reader.overran { throw overrunError(reader) }
            emitLine(y, current, scan: scan, pointTransform: pt)
            swap(&previous, &current)
        }
        // The reader never consumes a marker, so `reader.pos` is at or before the next one.
        pos = reader.pos
    }

    func overrunError(_ reader: LosslessBitReader) -> CodecError {
        if reader.endedAtMarker {
            return corrupt(reader.pos, "entropy-coded data ends at a marker before the scan is complete")
        }
        return truncated(count)
    }

    /// E.2.4 / H.2: at the end of a restart interval the coder pads to a byte boundary and writes
    /// RSTn; the decoder drops the padding, checks the marker and starts afresh.
    func processRestart(_ reader: inout LosslessBitReader) throws(CodecError) {
        if reader.overran { throw overrunError(reader) }
        let p = reader.pos
        guard p < count else { throw truncated(count) }
        guard byte(p) == 0xFF else { throw corrupt(p, "expected a restart marker") }
        reader.restart(at: try skipRestartMarker(at: p))
    }

    /// First line of a scan or restart interval, from column x0 (where the reset happened) to x1.
    static func decodeFirstLine(
        _ reader: inout LosslessBitReader, _ current: UnsafeMutablePointer<Int32>, from x0: Int, to x1: Int, ns: Int,
        tables: UnsafeMutablePointer<UnsafePointer<Int32>>, initial: Int32
    ) throws(CodecError) {
        var i = x0 * ns
        for k in 0..<ns {
            current[i] = try (initial &+ reader.difference(tables[k])) & 0xFFFF
            i += 1
        }
        for _ in (x0 + 1)..<max(x0 + 1, x1) {
            for k in 0..<ns {
                current[i] = try (current[i - ns] &+ reader.difference(tables[k])) & 0xFFFF
                i += 1
            }
        }
    }

    /// A line that is not the first after a reset: column 0 predicted from Rb, the rest by the
    /// scan's predictor (Table H.1).
    static func decodeLine(
        _ reader: inout LosslessBitReader, _ current: UnsafeMutablePointer<Int32>,
        _ previous: UnsafeMutablePointer<Int32>, from x0: Int, to x1: Int, ns: Int,
        tables: UnsafeMutablePointer<UnsafePointer<Int32>>, predictor: Int
    ) throws(CodecError) {
        var x = x0
        if x == 0 {
            for k in 0..<ns {
                current[k] = try (previous[k] &+ reader.difference(tables[k])) & 0xFFFF
            }
            x = 1
        }
        guard x < x1 else { return }
        // Predictors (Table H.1). The divisions are arithmetic right shifts on full-width values;
        // only the reconstructed sample is reduced modulo 2^16 (H.1.2.1).
        switch predictor {
        case 1: try run(&reader, current, previous, x, x1, ns, tables) { a, _, _ in a }
        case 2: try run(&reader, current, previous, x, x1, ns, tables) { _, b, _ in b }
        case 3: try run(&reader, current, previous, x, x1, ns, tables) { _, _, c in c }
        case 4: try run(&reader, current, previous, x, x1, ns, tables) { a, b, c in a &+ b &- c }
        case 5: try run(&reader, current, previous, x, x1, ns, tables) { a, b, c in a &+ ((b &- c) &>> 1) }
        case 6: try run(&reader, current, previous, x, x1, ns, tables) { a, b, c in b &+ ((a &- c) &>> 1) }
        default: try run(&reader, current, previous, x, x1, ns, tables) { a, b, _ in (a &+ b) &>> 1 }
        }
    }

    /// The hot loop, specialised per predictor through the inlined closure. Columns x0 ≥ 1 to x1.
    @inline(__always)
    static func run(
        _ reader: inout LosslessBitReader, _ current: UnsafeMutablePointer<Int32>,
        _ previous: UnsafeMutablePointer<Int32>, _ x0: Int, _ x1: Int, _ ns: Int,
        _ tables: UnsafeMutablePointer<UnsafePointer<Int32>>,
        _ predict: (Int32, Int32, Int32) -> Int32
    ) throws(CodecError) {
        if ns == 1 {
            let table = tables[0]
            var a = current[x0 - 1]
            var c = previous[x0 - 1]
            for x in x0..<x1 {
                let b = previous[x]
                a = try (predict(a, b, c) &+ reader.difference(table)) & 0xFFFF
                current[x] = a
                c = b
            }
        } else {
            var i = x0 * ns
            let end = x1 * ns
            while i < end {
                for k in 0..<ns {
                    let p = predict(current[i - ns], previous[i], previous[i - ns])
                    current[i] = try (p &+ reader.difference(tables[k])) & 0xFFFF
                    i += 1
                }
            }
        }
    }

    /// Writes one reconstructed line to the output, shifted back by the point transform (H.1.1),
    /// little-endian, colour-by-pixel.
    func emitLine(
        _ y: Int, _ current: UnsafeMutablePointer<Int32>, scan: [LosslessScanComponent], pointTransform pt: Int
    ) {
        guard let out = output.baseAddress else { return }
        let nf = componentIDs.count
        let ns = scan.count
        let shift = UInt32(pt)
        for (k, c) in scan.enumerated() {
            var src = current + k
            var o = (y * columns * nf + c.frameIndex) * bytesPerSample
            let step = nf * bytesPerSample
            if bytesPerSample == 2 {
                for _ in 0..<columns {
                    let v = UInt16(truncatingIfNeeded: UInt32(bitPattern: src.pointee) &<< shift)
                    out.storeBytes(of: v.littleEndian, toByteOffset: o, as: UInt16.self)
                    src += ns
                    o += step
                }
            } else {
                for _ in 0..<columns {
                    let v = UInt8(truncatingIfNeeded: UInt32(bitPattern: src.pointee) &<< shift)
                    out.storeBytes(of: v, toByteOffset: o, as: UInt8.self)
                    src += ns
                    o += step
                }
            }
        }
    }
}
