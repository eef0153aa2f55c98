import Imaging

/// Limits checked while parsing, before anything is allocated from a length in the file.
public struct ParseLimits: Sendable {
    /// Deepest sequence nesting accepted (real CT files use ≤ 4; a loop of undefined-length items ends here).
    public var maxDepth = 24
    /// Elements, items and fragments in one file.
    public var maxElements = 2_000_000
    /// Largest inflated size of a deflated data set.
    public var maxInflatedBytes = 2 << 30
    /// How much of a deflated data set is inflated when only the header is wanted.
    public var deflatedHeaderBytes = 256 << 10
    public init() {}
}

/// A parsed DICOM Part 10 file (or bare data set).
public struct DICOMFile: Sendable {
    /// Group 0002 (empty for a bare data set).
    public var meta: DataSet
    public var dataSet: DataSet
    public var transferSyntax: TransferSyntax
    /// Whether the file had the 128-byte preamble and "DICM".
    public var hasPreamble: Bool
    /// When parsed with `stopBeforePixels` from an uncompressed, non-deflated file: where the native
    /// Pixel Data value starts in the file and how long it is, so a loader can read pixels straight
    /// into its volume without parsing the file again.
    public var nativePixelData: (offset: Int, length: Int)?
    /// Whether parsing with `stopBeforePixels` stopped at the Pixel Data (or a later tag), i.e. the
    /// header before it is complete.
    public var reachedPixelData = false
    /// Warnings from reading (non-conformant but readable structures).
    public var warnings: [String] { meta.warnings + dataSet.warnings }

    public init(meta: DataSet, dataSet: DataSet, transferSyntax: TransferSyntax, hasPreamble: Bool) {
        self.meta = meta
        self.dataSet = dataSet
        self.transferSyntax = transferSyntax
        self.hasPreamble = hasPreamble
    }

    /// Reads and parses a file. Errors carry the path.
    public static func read(
        path: String, stopBeforePixels: Bool = false, limits: ParseLimits = ParseLimits()
    ) throws(DICOMError) -> DICOMFile {
        let bytes: [UInt8]
        do { bytes = try FileIO.readAll(path: path) } catch { throw .io(path: path, reason: error.reason) }
        do {
            return try parse(bytes, stopBeforePixels: stopBeforePixels, limits: limits)
        } catch {
            throw error.inFile(path)
        }
    }

    /// Parses bytes of a Part 10 file or a bare data set (transfer syntax then guessed).
    public static func parse(
        _ bytes: [UInt8], stopBeforePixels: Bool = false, limits: ParseLimits = ParseLimits()
    ) throws(DICOMError) -> DICOMFile {
        var start = 0
        var hasPreamble = false
        if bytes.count >= 132, bytes[128] == 0x44, bytes[129] == 0x49, bytes[130] == 0x43, bytes[131] == 0x4D {
            start = 132
            hasPreamble = true
        } else if bytes.count >= 4, bytes[0] == 0x44, bytes[1] == 0x49, bytes[2] == 0x43, bytes[3] == 0x4D {
            start = 4  // "DICM" without the preamble: seen from some writers
        }

        var meta = DataSet()
        var ts: TransferSyntax
        if start > 0 || looksLikeMetaGroup(bytes, at: 0) {
            var p = Parser(bytes: bytes, explicitVR: true, littleEndian: true, limits: limits)
            p.pos = start
            meta = try p.parseMeta()
            start = p.pos
            if let uid = meta.string(.transferSyntaxUID), !uid.isEmpty {
                ts = TransferSyntax.lookup(uid)
            } else {
                do {
                    ts = try guessEncoding(bytes, at: start)
                } catch {
                    throw .notDICOM(
                        reason: "the file meta information has no Transfer Syntax UID and the data at byte \(start) does not start with a group 0008 element")
                }
                meta.warnings.append("file meta information has no Transfer Syntax UID; guessed \(ts.name)")
            }
        } else {
            ts = try guessEncoding(bytes, at: 0)
        }

        var body = bytes
        var bodyStart = start
        if ts.deflated {
            do {
                // Headers only: inflate the first part of the stream (the pixels come last).
                body = try Zlib.inflate(
                    Array(bytes[start...]), format: .raw,
                    maxOutput: stopBeforePixels ? limits.deflatedHeaderBytes : limits.maxInflatedBytes,
                    prefixOnly: stopBeforePixels)
            } catch {
                throw .inflate(reason: error.reason)
            }
            bodyStart = 0
        }
        // Some writers declare one VR encoding and use the other (pydicom's SC_rgb_jpeg.dcm says
        // Explicit VR but is Implicit); the first element tells, as PS3.5 §7.1 layouts differ.
        var explicitVR = ts.explicitVR
        var encodingWarning: String?
        if ts.littleEndian, body.count >= bodyStart + 8 {
            let vrValid = VR(bytes: body[bodyStart + 4], body[bodyStart + 5]) != nil
            if explicitVR && !vrValid {
                explicitVR = false
                encodingWarning = "the data set is encoded Implicit VR although \(ts.name) is declared; read as Implicit VR"
            } else if !explicitVR && vrValid && !ts.explicitVR {
                let implicitLength = Int(body[bodyStart + 4]) | Int(body[bodyStart + 5]) << 8
                    | Int(body[bodyStart + 6]) << 16 | Int(body[bodyStart + 7]) << 24
                if implicitLength > body.count - bodyStart - 8 {
                    explicitVR = true
                    encodingWarning = "the data set is encoded Explicit VR although \(ts.name) is declared; read as Explicit VR"
                }
            }
        }
        var parser = Parser(bytes: body, explicitVR: explicitVR, littleEndian: ts.littleEndian, limits: limits)
        parser.pos = bodyStart
        parser.stopBeforePixels = stopBeforePixels
        var ds: DataSet
        // A header longer than the inflated prefix: inflate the whole data set and parse again (once).
        let prefixOnly = ts.deflated && stopBeforePixels && limits.deflatedHeaderBytes < limits.maxInflatedBytes
            && body.count >= limits.deflatedHeaderBytes
        var whole = limits
        whole.deflatedHeaderBytes = limits.maxInflatedBytes
        do {
            ds = try parser.parseTopLevel()
        } catch {
            guard prefixOnly, case .truncated = error else { throw error }
            return try parse(bytes, stopBeforePixels: true, limits: whole)
        }
        if prefixOnly && !parser.stoppedAtPixels {
            return try parse(bytes, stopBeforePixels: true, limits: whole)
        }
        if let encodingWarning { ds.warnings.insert(encodingWarning, at: 0) }
        var file = DICOMFile(meta: meta, dataSet: ds, transferSyntax: ts, hasPreamble: hasPreamble)
        file.reachedPixelData = parser.stoppedAtPixels
        if stopBeforePixels, !ts.deflated, !ts.encapsulated { file.nativePixelData = parser.nativePixelDataLocation() }
        return file
    }

    private static func looksLikeMetaGroup(_ b: [UInt8], at i: Int) -> Bool {
        b.count >= i + 8 && b[i] == 0x02 && b[i + 1] == 0x00 && VR(bytes: b[i + 4], b[i + 5]) != nil
    }

    /// A bare data set: must start with a group 0008 element (SOP Class UID, Type 1, is in it);
    /// tells explicit from implicit VR by the VR bytes, and little from big endian by the group.
    private static func guessEncoding(_ b: [UInt8], at i: Int) throws(DICOMError) -> TransferSyntax {
        guard b.count >= i + 8 else {
            throw .notDICOM(reason: "only \(b.count) bytes; too short for a DICOM data set")
        }
        let groupLE = UInt16(b[i]) | UInt16(b[i + 1]) << 8
        let groupBE = UInt16(b[i]) << 8 | UInt16(b[i + 1])
        let explicit = VR(bytes: b[i + 4], b[i + 5]) != nil
        if groupLE == 0x0008 { return explicit ? .explicitVRLittleEndian : .implicitVRLittleEndian }
        if groupBE == 0x0008 && explicit { return .explicitVRBigEndian }
        throw .notDICOM(
            reason: "no 'DICM' prefix at byte 128 and the data at byte \(i) does not start with a group 0002 or 0008 element")
    }
}

/// Element-by-element reader over one buffer (PS3.5 §7).
struct Parser {
    let bytes: [UInt8]
    var explicitVR: Bool
    let littleEndian: Bool
    let limits: ParseLimits
    var pos = 0
    var depth = 0
    var elementCount = 0
    var stopBeforePixels = false
    /// Set when `parseTopLevel` stopped at (7FE0,0010) or a later tag because of `stopBeforePixels`.
    var stoppedAtPixels = false

    init(bytes: [UInt8], explicitVR: Bool, littleEndian: Bool, limits: ParseLimits) {
        self.bytes = bytes
        self.explicitVR = explicitVR
        self.littleEndian = littleEndian
        self.limits = limits
    }

    // MARK: primitive reads

    @inline(__always)
    func need(_ n: Int, tag: Tag?) throws(DICOMError) {
        if n > bytes.count - pos {
            throw .truncated(offset: pos, tag: tag, needed: n, available: max(0, bytes.count - pos))
        }
    }

    @inline(__always)
    func u16(_ at: Int) -> UInt16 {
        littleEndian ? UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 : UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1])
    }

    @inline(__always)
    func u32(_ at: Int) -> UInt32 {
        if littleEndian {
            return UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        return UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }

    /// Item tags and lengths are always in the data set's byte order (little endian for all but EBE).
    mutating func readTag() throws(DICOMError) -> Tag {
        try need(4, tag: nil)
        let t = Tag(u16(pos), u16(pos + 2))
        pos += 4
        return t
    }

    mutating func countElement() throws(DICOMError) {
        elementCount += 1
        if elementCount > limits.maxElements {
            throw .limitExceeded(what: "elements", limit: limits.maxElements, offset: pos)
        }
    }

    // MARK: structure

    /// After `parseTopLevel` stopped before pixels: the value offset and length of a defined-length
    /// (7FE0,0010) element starting at `pos`, if its header is in the buffer.
    func nativePixelDataLocation() -> (offset: Int, length: Int)? {
        guard pos + 12 <= bytes.count, Tag(u16(pos), u16(pos + 2)) == .pixelData else { return nil }
        if explicitVR {
            guard let vr = VR(bytes: bytes[pos + 4], bytes[pos + 5]), vr == .OW || vr == .OB else { return nil }
            let length = u32(pos + 8)
            return length == 0xFFFF_FFFF ? nil : (pos + 12, Int(length))
        }
        let length = u32(pos + 4)
        return length == 0xFFFF_FFFF ? nil : (pos + 8, Int(length))
    }

    mutating func parseMeta() throws(DICOMError) -> DataSet {
        var ds = DataSet()
        while pos + 2 <= bytes.count, u16(pos) == 0x0002 {
            guard let e = try parseElement(in: &ds) else { break }
            ds.insert(e)
        }
        return ds
    }

    mutating func parseTopLevel() throws(DICOMError) -> DataSet {
        var ds = DataSet()
        ds.littleEndian = littleEndian
        while pos < bytes.count {
            // Some writers pad the end of a file with zero bytes; tolerate a short all-zero tail.
            if bytes.count - pos < 8 {
                if bytes[pos...].allSatisfy({ $0 == 0 }) {
                    ds.warnings.append("\(bytes.count - pos) zero bytes after the last element ignored")
                    pos = bytes.count
                    break
                }
                throw .truncated(offset: pos, tag: nil, needed: 8, available: bytes.count - pos)
            }
            if stopBeforePixels {
                let t = Tag(u16(pos), u16(pos + 2))
                if t >= .pixelData {
                    stoppedAtPixels = true
                    break
                }
            }
            guard let e = try parseElement(in: &ds) else {
                throw .unexpectedTag(offset: pos - 8, tag: .itemDelimitation, reason: "delimiter outside a sequence")
            }
            ds.insert(e)
        }
        return ds
    }

    /// Parses the elements of an item: up to `end`, or to an item delimiter when `end` is nil.
    mutating func parseItem(end: Int?) throws(DICOMError) -> DataSet {
        var ds = DataSet()
        ds.littleEndian = littleEndian
        while true {
            if let end {
                if pos >= end { break }
            }
            guard let e = try parseElement(in: &ds, itemEnd: end) else { break }  // item delimiter
            if let end, pos > end {
                throw .invalidLength(
                    offset: pos, tag: e.tag, length: UInt32(truncatingIfNeeded: pos - end),
                    reason: "element runs past the end of its item")
            }
            ds.insert(e)
        }
        return ds
    }

    /// Reads one element; returns nil at an item delimitation item (end of an undefined-length item).
    mutating func parseElement(in ds: inout DataSet, itemEnd: Int? = nil) throws(DICOMError) -> DataElement? {
        let start = pos
        try countElement()
        let tag = try readTag()
        if tag.group == 0xFFFE {
            try need(4, tag: tag)
            let len = u32(pos)
            pos += 4
            if tag == .itemDelimitation {
                if len != 0 { ds.warnings.append("item delimiter at byte \(start) has non-zero length \(len)") }
                return nil
            }
            throw .unexpectedTag(offset: start, tag: tag, reason: "item or sequence delimiter outside a sequence")
        }

        var vr: VR
        var length: UInt32
        if explicitVR {
            try need(4, tag: tag)
            guard let v = VR(bytes: bytes[pos], bytes[pos + 1]) else {
                throw .invalidVR(offset: start + 4, tag: tag, bytes: [bytes[pos], bytes[pos + 1]])
            }
            vr = v
            if v.hasLongLength {
                try need(8, tag: tag)
                length = u32(pos + 4)
                pos += 8
            } else {
                length = UInt32(u16(pos + 2))
                pos += 4
            }
        } else {
            try need(4, tag: tag)
            length = u32(pos)
            pos += 4
            vr = tag.dictionaryVR ?? .UN
            if tag == .pixelData { vr = .OW }
        }

        let undefined = length == 0xFFFF_FFFF
        // UN whose dictionary VR is known: read it as that VR (PS3.5 §6.2.2 note; CP-246 for SQ).
        if vr == .UN, let known = tag.dictionaryVR, known != .UN {
            if known == .SQ {
                let saved = explicitVR
                explicitVR = false  // UN sequences are encoded Implicit VR Little Endian (CP-246)
                defer { explicitVR = saved }
                let items = try parseSequence(tag: tag, length: length, start: start)
                ds.warnings += items.flatMap(\.warnings)
                ds.warnings.append("\(tag) \(tag.keyword ?? "") read as a sequence although encoded as UN")
                return DataElement(tag: tag, vr: .SQ, value: .sequence(items))
            }
            if !undefined { vr = known }
        }

        if undefined {
            if vr == .SQ {
                let items = try parseSequence(tag: tag, length: length, start: start)
                ds.warnings += items.flatMap(\.warnings)
                return DataElement(tag: tag, vr: .SQ, value: .sequence(items))
            }
            if tag == .pixelData {
                return DataElement(tag: tag, vr: vr, value: .encapsulated(try parseEncapsulated(start: start)))
            }
            if vr == .UN {
                // An undefined-length UN is a sequence in Implicit VR Little Endian (CP-246).
                let saved = explicitVR
                explicitVR = false
                defer { explicitVR = saved }
                let items = try parseSequence(tag: tag, length: length, start: start)
                ds.warnings += items.flatMap(\.warnings)
                return DataElement(tag: tag, vr: .SQ, value: .sequence(items))
            }
            throw .invalidLength(
                offset: start, tag: tag, length: length, reason: "undefined length is only allowed for SQ, UN and pixel data")
        }

        let n = Int(length)
        if n > bytes.count - pos {
            throw .truncated(offset: pos, tag: tag, needed: n, available: bytes.count - pos)
        }
        if let itemEnd, pos + n > itemEnd {
            throw .invalidLength(offset: start, tag: tag, length: length, reason: "value runs past the end of its item")
        }
        if vr == .SQ {
            let items = try parseSequence(tag: tag, length: length, start: start)
            ds.warnings += items.flatMap(\.warnings)
            return DataElement(tag: tag, vr: .SQ, value: .sequence(items))
        }
        if n % 2 == 1 {
            ds.warnings.append("\(tag) has odd length \(n) (must be even); read as is")
        }
        let value = bytes[pos..<(pos + n)]
        pos += n
        return DataElement(tag: tag, vr: vr, value: .bytes(value))
    }

    /// Items of a sequence, defined or undefined length (PS3.5 §7.5).
    mutating func parseSequence(tag: Tag, length: UInt32, start: Int) throws(DICOMError) -> [DataSet] {
        depth += 1
        defer { depth -= 1 }
        if depth > limits.maxDepth { throw .nestingTooDeep(offset: start, limit: limits.maxDepth) }
        let undefined = length == 0xFFFF_FFFF
        let end: Int? = undefined ? nil : pos + Int(length)
        if let end, end > bytes.count {
            throw .truncated(offset: pos, tag: tag, needed: Int(length), available: bytes.count - pos)
        }
        var items: [DataSet] = []
        while true {
            if let end, pos >= end { break }
            let itemStart = pos
            try countElement()
            let itemTag = try readTag()
            try need(4, tag: tag)
            let itemLength = u32(pos)
            pos += 4
            // A sequence delimiter ends an undefined-length sequence; inside a defined-length one it
            // is tolerated as an early end (seen from old writers).
            if itemTag == .sequenceDelimitation { break }
            guard itemTag == .item else {
                throw .unexpectedTag(
                    offset: itemStart, tag: itemTag, reason: "expected an item (FFFE,E000) inside sequence \(tag)")
            }
            if itemLength == 0xFFFF_FFFF {
                items.append(try parseItemWithFallback(end: nil, sequenceTag: tag))
            } else {
                let itemEnd = pos + Int(itemLength)
                if itemEnd > bytes.count || (end.map { itemEnd > $0 } ?? false) {
                    throw .invalidLength(
                        offset: itemStart, tag: tag, length: itemLength, reason: "item runs past the end of its sequence")
                }
                items.append(try parseItemWithFallback(end: itemEnd, sequenceTag: tag))
                pos = itemEnd
            }
        }
        if let end, pos < end { pos = end }  // early sequence delimiter: skip to the declared end
        return items
    }

    /// Some writers encode sequence items in Implicit VR inside an Explicit VR file (pydicom's
    /// bad_sequence.dcm is one); if the item fails as explicit, it is read again as implicit.
    mutating func parseItemWithFallback(end: Int?, sequenceTag: Tag) throws(DICOMError) -> DataSet {
        let saved = (pos, elementCount)
        do {
            return try parseItem(end: end)
        } catch {
            guard explicitVR, case .invalidVR = error else { throw error }
            pos = saved.0
            elementCount = saved.1
            explicitVR = false
            defer { explicitVR = true }
            var ds = try parseItem(end: end)
            ds.warnings.append("items of \(sequenceTag) are encoded in Implicit VR inside an Explicit VR file; read as implicit")
            return ds
        }
    }

    /// Encapsulated pixel data: Basic Offset Table item, then fragment items, then a sequence delimiter.
    mutating func parseEncapsulated(start: Int) throws(DICOMError) -> EncapsulatedPixelData {
        var offsets: [UInt32] = []
        var fragments: [ArraySlice<UInt8>] = []
        var fragmentOffsets: [UInt64] = []
        var first = true
        var firstFragmentStart = 0
        while true {
            let itemStart = pos
            try countElement()
            let t = try readTag()
            try need(4, tag: .pixelData)
            let len = u32(pos)
            pos += 4
            if t == .sequenceDelimitation { break }
            guard t == .item else {
                throw .unexpectedTag(offset: itemStart, tag: t, reason: "expected a pixel data item (FFFE,E000)")
            }
            guard len != 0xFFFF_FFFF else {
                throw .invalidLength(
                    offset: itemStart, tag: .pixelData, length: len, reason: "pixel data items must have a defined length")
            }
            let n = Int(len)
            if n > bytes.count - pos {
                throw .truncated(offset: pos, tag: .pixelData, needed: n, available: bytes.count - pos)
            }
            if first {
                first = false
                guard n % 4 == 0 else {
                    throw .invalidLength(
                        offset: itemStart, tag: .pixelData, length: len, reason: "Basic Offset Table length is not a multiple of 4")
                }
                var i = pos
                while i < pos + n {
                    offsets.append(u32(i))
                    i += 4
                }
                firstFragmentStart = pos + n
            } else {
                fragmentOffsets.append(UInt64(itemStart - firstFragmentStart))
                fragments.append(bytes[pos..<(pos + n)])
            }
            pos += n
        }
        return EncapsulatedPixelData(basicOffsetTable: offsets, fragments: fragments, fragmentOffsets: fragmentOffsets)
    }
}
