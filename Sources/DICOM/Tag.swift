/// A data element tag (group, element), PS3.5 §7.1.
public struct Tag: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let group: UInt16
    public let element: UInt16

    public init(_ group: UInt16, _ element: UInt16) {
        self.group = group
        self.element = element
    }

    /// Group in the high 16 bits, element in the low 16 bits.
    public var raw: UInt32 { UInt32(group) << 16 | UInt32(element) }

    public static func < (a: Tag, b: Tag) -> Bool { a.raw < b.raw }

    /// Private data elements live in odd groups (PS3.5 §7.8).
    public var isPrivate: Bool { group & 1 == 1 }

    /// `(gggg,eeee)` in upper-case hex, as DICOM tools print it.
    public var description: String { "(\(hex4(group)),\(hex4(element)))" }
}

func hex4(_ v: UInt16) -> String {
    let s = String(v, radix: 16, uppercase: true)
    return String(repeating: "0", count: 4 - s.count) + s
}

extension Tag {
    // Item and delimiters (PS3.5 §7.5).
    static let item = Tag(0xFFFE, 0xE000)
    static let itemDelimitation = Tag(0xFFFE, 0xE00D)
    static let sequenceDelimitation = Tag(0xFFFE, 0xE0DD)
}

/// Value representations, PS3.5 §6.2 Table 6.2-1.
public enum VR: String, Sendable, CaseIterable {
    case AE, AS, AT, CS, DA, DS, DT, FD, FL, IS, LO, LT, OB, OD, OF, OL, OV, OW, PN, SH, SL, SQ, SS, ST, SV,
        TM, UC, UI, UL, UN, UR, US, UT, UV

    /// In explicit VR encoding these have a 2-byte reserved field and a 4-byte length (PS3.5 §7.1.2).
    public var hasLongLength: Bool {
        switch self {
        case .OB, .OD, .OF, .OL, .OV, .OW, .SQ, .SV, .UC, .UN, .UR, .UT, .UV: return true
        default: return false
        }
    }

    /// Character-string VRs, padded with a space to even length.
    public var isString: Bool {
        switch self {
        case .AE, .AS, .CS, .DA, .DS, .DT, .IS, .LO, .LT, .PN, .SH, .ST, .TM, .UC, .UR, .UT, .UI: return true
        default: return false
        }
    }

    /// VRs whose text uses the Specific Character Set (PS3.5 §6.1.2.3); the others use the default repertoire.
    public var usesSpecificCharacterSet: Bool {
        switch self {
        case .SH, .LO, .ST, .LT, .UC, .UT, .PN: return true
        default: return false
        }
    }

    /// Size in bytes of one binary value, for byte swapping; nil for strings, bytes and sequences.
    public var binaryWordSize: Int? {
        switch self {
        case .US, .SS, .OW: return 2
        case .UL, .SL, .FL, .OF, .OL, .AT: return 4
        case .FD, .OD, .SV, .UV, .OV: return 8
        default: return nil
        }
    }

    init?(bytes b0: UInt8, _ b1: UInt8) {
        guard (0x41...0x5A).contains(b0), (0x41...0x5A).contains(b1) else { return nil }
        self.init(rawValue: String(decoding: [b0, b1], as: UTF8.self))
    }
}
