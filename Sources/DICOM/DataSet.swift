import Foundation

/// Encapsulated pixel data (PS3.5 §A.4): the Basic Offset Table and the fragments, in file order.
public struct EncapsulatedPixelData: Sendable, Equatable {
    /// Byte offsets of each frame's first fragment, relative to the first fragment's item tag;
    /// empty when the table is empty.
    public var basicOffsetTable: [UInt32]
    public var fragments: [ArraySlice<UInt8>]
    /// Position of each fragment's item tag relative to the first fragment's item tag (to match
    /// offset tables against fragments).
    public var fragmentOffsets: [UInt64]

    public init(basicOffsetTable: [UInt32] = [], fragments: [ArraySlice<UInt8>]) {
        self.basicOffsetTable = basicOffsetTable
        self.fragments = fragments
        var offsets: [UInt64] = []
        var position: UInt64 = 0
        for f in fragments {
            offsets.append(position)
            position += 8 + UInt64(f.count)
        }
        self.fragmentOffsets = offsets
    }

    init(basicOffsetTable: [UInt32], fragments: [ArraySlice<UInt8>], fragmentOffsets: [UInt64]) {
        self.basicOffsetTable = basicOffsetTable
        self.fragments = fragments
        self.fragmentOffsets = fragmentOffsets
    }
}

/// The value of a data element.
public enum ElementValue: Sendable, Equatable {
    /// Raw value bytes in the data set's byte order (shares storage with the file bytes).
    case bytes(ArraySlice<UInt8>)
    /// Sequence of items.
    case sequence([DataSet])
    /// Encapsulated (compressed) pixel data.
    case encapsulated(EncapsulatedPixelData)
}

public struct DataElement: Sendable, Equatable {
    public let tag: Tag
    public var vr: VR
    public var value: ElementValue

    public init(tag: Tag, vr: VR, value: ElementValue) {
        self.tag = tag
        self.vr = vr
        self.value = value
    }

    /// Raw bytes, or an empty slice for sequences and encapsulated data.
    public var bytes: ArraySlice<UInt8> {
        if case .bytes(let b) = value { return b }
        return []
    }
}

/// Specific Character Set (0008,0005) handling: the default repertoire, ISO_IR 100 and ISO_IR 192
/// are decoded exactly; anything else is decoded as Latin-1 with a warning.
public enum CharacterSetKind: Sendable, Equatable {
    case defaultRepertoire
    case latin1
    case utf8
    /// A declared set OsteoCT does not decode; text is read as Latin-1.
    case unsupported(String)

    init(terms: [String]) {
        let first = terms.first(where: { !$0.isEmpty }) ?? ""
        switch first {
        case "": self = terms.count > 1 ? .unsupported(terms.joined(separator: "\\")) : .defaultRepertoire
        case "ISO_IR 6": self = .defaultRepertoire
        case "ISO_IR 100": self = .latin1
        case "ISO_IR 192": self = .utf8
        default: self = .unsupported(terms.joined(separator: "\\"))
        }
    }

    func decode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        switch self {
        case .utf8:
            return String(decoding: bytes, as: UTF8.self)
        case .defaultRepertoire, .latin1, .unsupported:
            // Latin-1 maps each byte to the code point of the same value; ASCII is its subset.
            var s = String.UnicodeScalarView()
            for b in bytes { s.append(UnicodeScalar(b)) }
            return String(s)
        }
    }
}

/// A DICOM data set: elements by tag, with the byte order and character set needed to read values.
public struct DataSet: Sendable, Equatable {
    public private(set) var elements: [Tag: DataElement] = [:]
    /// Byte order of binary values in `elements` (false only for Explicit VR Big Endian input).
    public var littleEndian: Bool = true
    public var characterSet: CharacterSetKind = .defaultRepertoire
    /// Things that were read but not exactly as the standard says (decoded anyway).
    public var warnings: [String] = []

    public init() {}

    public subscript(tag: Tag) -> DataElement? { elements[tag] }

    public func contains(_ tag: Tag) -> Bool { elements[tag] != nil }

    /// Tags in ascending order (the order they are written in).
    public var sortedTags: [Tag] { elements.keys.sorted() }

    public var count: Int { elements.count }

    public mutating func insert(_ element: DataElement) {
        elements[element.tag] = element
        if element.tag == .specificCharacterSet {
            characterSet = CharacterSetKind(terms: splitStrings(element.bytes, charset: .defaultRepertoire).map { $0.trimmingSpaces() })
            if case .unsupported(let name) = characterSet {
                warnings.append("Specific Character Set '\(name)' is not decoded; its text is read as Latin-1 and may show wrong characters")
            }
        }
    }

    public mutating func remove(_ tag: Tag) {
        elements[tag] = nil
    }

    // MARK: reading values

    /// The whole text value (backslashes kept), decoded and with padding removed.
    public func string(_ tag: Tag) -> String? {
        guard let e = elements[tag], case .bytes(let b) = e.value else { return nil }
        let charset = e.vr.usesSpecificCharacterSet ? characterSet : .defaultRepertoire
        return trimPadding(charset.decode(b), vr: e.vr)
    }

    /// The values of a multi-valued text element (split on backslash), each trimmed.
    public func strings(_ tag: Tag) -> [String] {
        guard let e = elements[tag], case .bytes(let b) = e.value else { return [] }
        let charset = e.vr.usesSpecificCharacterSet ? characterSet : .defaultRepertoire
        // LT, ST, UT, UR may contain backslashes as text (PS3.5 §6.2).
        if [.LT, .ST, .UT, .UR].contains(e.vr) {
            return [trimPadding(charset.decode(b), vr: e.vr)]
        }
        return splitStrings(b, charset: charset).map { trimPadding($0, vr: e.vr) }
    }

    /// Numbers from DS/IS strings or from binary VRs (US, SS, UL, SL, FL, FD, …).
    /// Non-finite values (NaN, ±∞ in FL/FD, "inf" in a DS) make the whole result nil.
    public func doubles(_ tag: Tag) -> [Double]? {
        guard let values = rawDoubles(tag), values.allSatisfy(\.isFinite) else { return nil }
        return values
    }

    private func rawDoubles(_ tag: Tag) -> [Double]? {
        guard let e = elements[tag], case .bytes(let b) = e.value else { return nil }
        switch e.vr {
        case .DS, .IS:
            var out: [Double] = []
            for s in strings(tag) {
                let t = s.trimmingSpaces()
                if t.isEmpty { continue }
                guard let v = Double(t), v.isFinite else { return nil }
                out.append(v)
            }
            return out
        case .US: return binaryValues(b, size: 2).map { Double(UInt16(truncatingIfNeeded: $0)) }
        case .SS: return binaryValues(b, size: 2).map { Double(Int16(bitPattern: UInt16(truncatingIfNeeded: $0))) }
        case .UL: return binaryValues(b, size: 4).map { Double(UInt32(truncatingIfNeeded: $0)) }
        case .SL: return binaryValues(b, size: 4).map { Double(Int32(bitPattern: UInt32(truncatingIfNeeded: $0))) }
        case .FL: return binaryValues(b, size: 4).map { Double(Float(bitPattern: UInt32(truncatingIfNeeded: $0))) }
        case .FD: return binaryValues(b, size: 8).map { Double(bitPattern: $0) }
        case .UV: return binaryValues(b, size: 8).map { Double($0) }
        case .SV: return binaryValues(b, size: 8).map { Double(Int64(bitPattern: $0)) }
        case .UN:
            // UN holding a value of a known text VR (implicit VR data re-labelled UN, or a private
            // encoding): try as decimal string.
            let parts = splitStrings(b, charset: .defaultRepertoire).map { $0.trimmingSpaces() }
            let values = parts.compactMap(Double.init)
            return values.count == parts.count ? values : nil
        default: return nil
        }
    }

    public func double(_ tag: Tag) -> Double? { doubles(tag)?.first }

    public func int(_ tag: Tag) -> Int? {
        guard let d = double(tag), d.rounded() == d, abs(d) < 1e15 else { return nil }
        return Int(d)
    }

    /// Unsigned 64-bit values of a binary VR (for offset tables, AT, …).
    public func uint64s(_ tag: Tag) -> [UInt64] {
        guard let e = elements[tag], case .bytes(let b) = e.value else { return [] }
        let size: Int
        switch e.vr {
        case .US, .SS, .OW: size = 2
        case .UL, .SL, .OL, .FL, .OF: size = 4
        default: size = 8
        }
        return binaryValues(b, size: size)
    }

    /// Attribute tags of an AT element (each a group and an element number in the data set's byte order).
    public func tags(_ tag: Tag) -> [Tag] {
        guard let e = elements[tag], e.vr == .AT, case .bytes(let b) = e.value else { return [] }
        let words = binaryValues(b, size: 2)
        return stride(from: 0, to: words.count - 1, by: 2).map { Tag(UInt16(words[$0]), UInt16(words[$0 + 1])) }
    }

    public func sequence(_ tag: Tag) -> [DataSet]? {
        guard let e = elements[tag], case .sequence(let items) = e.value else { return nil }
        return items
    }

    /// Reads `size`-byte unsigned values in this data set's byte order.
    func binaryValues(_ b: ArraySlice<UInt8>, size: Int) -> [UInt64] {
        let n = b.count / size
        var out = [UInt64]()
        out.reserveCapacity(n)
        var i = b.startIndex
        for _ in 0..<n {
            var v: UInt64 = 0
            if littleEndian {
                for k in (0..<size).reversed() { v = v << 8 | UInt64(b[i + k]) }
            } else {
                for k in 0..<size { v = v << 8 | UInt64(b[i + k]) }
            }
            out.append(v)
            i += size
        }
        return out
    }

    // MARK: writing values (little endian)

    public mutating func set(_ tag: Tag, _ vr: VR, _ value: String) {
        insert(DataElement(tag: tag, vr: vr, value: .bytes(ArraySlice(encodeText(value, vr: vr)))))
    }

    public mutating func set(_ tag: Tag, _ vr: VR, _ values: [String]) {
        set(tag, vr, values.joined(separator: "\\"))
    }

    /// Decimal strings (DS) with at most 16 characters each, PS3.5 §6.2.
    public mutating func set(_ tag: Tag, ds values: [Double]) {
        set(tag, .DS, values.map(formatDS))
    }

    public mutating func set(_ tag: Tag, us values: [UInt16]) {
        var b: [UInt8] = []
        for v in values { b.append(UInt8(v & 0xFF)); b.append(UInt8(v >> 8)) }
        insert(DataElement(tag: tag, vr: .US, value: .bytes(ArraySlice(b))))
    }

    public mutating func set(_ tag: Tag, ss values: [Int16]) {
        var b: [UInt8] = []
        for v in values {
            let u = UInt16(bitPattern: v)
            b.append(UInt8(u & 0xFF)); b.append(UInt8(u >> 8))
        }
        insert(DataElement(tag: tag, vr: .SS, value: .bytes(ArraySlice(b))))
    }

    public mutating func set(_ tag: Tag, ul values: [UInt32]) {
        var b: [UInt8] = []
        for v in values { for k in 0..<4 { b.append(UInt8((v >> (8 * UInt32(k))) & 0xFF)) } }
        insert(DataElement(tag: tag, vr: .UL, value: .bytes(ArraySlice(b))))
    }

    public mutating func set(_ tag: Tag, fd values: [Double]) {
        var b: [UInt8] = []
        for v in values { for k in 0..<8 { b.append(UInt8((v.bitPattern >> (8 * UInt64(k))) & 0xFF)) } }
        insert(DataElement(tag: tag, vr: .FD, value: .bytes(ArraySlice(b))))
    }

    public mutating func set(_ tag: Tag, _ vr: VR, bytes: [UInt8]) {
        insert(DataElement(tag: tag, vr: vr, value: .bytes(ArraySlice(bytes))))
    }

    public mutating func set(_ tag: Tag, sequence items: [DataSet]) {
        insert(DataElement(tag: tag, vr: .SQ, value: .sequence(items)))
    }
}

// MARK: text helpers

func splitStrings(_ b: ArraySlice<UInt8>, charset: CharacterSetKind) -> [String] {
    var parts: [String] = []
    var start = b.startIndex
    for i in b.indices where b[i] == 0x5C {  // backslash separates values
        parts.append(charset.decode(b[start..<i]))
        start = i + 1
    }
    parts.append(charset.decode(b[start..<b.endIndex]))
    return parts
}

/// Removes the padding the VR allows: trailing spaces (and leading for most string VRs), trailing NULs.
func trimPadding(_ s: String, vr: VR) -> String {
    var scalars = Substring(s).unicodeScalars[...]
    while let last = scalars.last, last == " " || last == "\0" { scalars = scalars.dropLast() }
    switch vr {
    case .LT, .ST, .UT, .UR:
        break  // leading spaces are significant in text
    default:
        while let first = scalars.first, first == " " { scalars = scalars.dropFirst() }
    }
    return String(String.UnicodeScalarView(scalars))
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\0" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\0" { s = s.dropLast() }
        return String(s)
    }
}

/// Text as bytes (UTF-8; the writer declares ISO_IR 192 when any byte is non-ASCII), padded to even length.
func encodeText(_ s: String, vr: VR) -> [UInt8] {
    var b = Array(s.utf8)
    if b.count % 2 == 1 { b.append(vr == .UI ? 0 : 0x20) }
    return b
}

/// A decimal string of at most 16 characters (PS3.5 Table 6.2-1, DS) that reads back to the
/// closest value those 16 characters allow.
func formatDS(_ v: Double) -> String {
    guard v.isFinite else { return "0" }
    let shortest = "\(v)"  // Swift prints the shortest round-tripping form
    if shortest.count <= 16 && !shortest.contains("e") {
        return shortest.hasSuffix(".0") ? String(shortest.dropLast(2)) : shortest
    }
    for digits in stride(from: 15, through: 1, by: -1) {
        let s = String(format: "%.\(digits)g", v)
        if s.count <= 16 { return s }
    }
    return "0"
}
