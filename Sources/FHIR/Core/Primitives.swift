// FHIR primitive types (R4 datatypes.html): a value plus an optional element id and extensions.
// Values keep their lexical form, so a decimal written 0.630 is written back as 0.630, and a date
// keeps its precision (2024, 2024-03, 2024-03-01).

/// The value inside a primitive element.
public protocol FHIRPrimitiveValue: Sendable, Hashable {
    /// The R4 type name (`string`, `decimal`, `dateTime`…), for messages.
    static var fhirTypeName: String { get }
    /// How the value is written in JSON.
    static var jsonKind: FHIRValueKind { get }
    /// Parses the lexical form; nil when it does not match the type's rules.
    init?(lexical: String)
    var lexical: String { get }
}

/// A primitive element: value, id, extensions (R4 json.html "_name" / xml.html value attribute).
public struct FHIRPrimitive<V: FHIRPrimitiveValue>: FHIRType {
    public var value: V?
    public var id: String?
    public var `extension`: [Extension]

    public init(_ value: V?, id: String? = nil, extension: [Extension] = []) {
        self.value = value
        self.id = id
        self.extension = `extension`
    }

    public static var standInForMissing: Self { Self(nil) }

    public init(from e: FHIRElement, _ context: inout FHIRDecodingContext) {
        if let text = e.value {
            if let kind = e.kind, kind != V.jsonKind, !(V.jsonKind == .xhtml && kind == .string) {
                context.record(.error, "value", "\(V.fhirTypeName) must be a JSON \(V.jsonKind == .xhtml ? "string" : "\(V.jsonKind)"), found a \(kind)")
                value = nil
            } else if let v = V(lexical: text) {
                value = v
            } else {
                context.record(.error, "value", "'\(text.prefix(80))' is not a valid \(V.fhirTypeName)")
                value = nil
            }
        } else {
            value = nil
        }
        var r = FHIRChildReader(e)
        let idElement: FHIRPrimitive<FHIRString>? = r.optional("id", &context)
        id = idElement?.value?.value
        `extension` = r.array("extension", &context)
        r.finish(&context)
        if value == nil && `extension`.isEmpty && e.value == nil {
            context.record(.error, "required", "element has neither a value nor extensions (ele-1)")
        }
    }

    public func encode(name: String) -> FHIRElement {
        var e = FHIRElement(name: name, value: value?.lexical, kind: V.jsonKind)
        if let id {
            var idElement = FHIRElement(name: "id", value: id, kind: .string)
            idElement.isAttribute = true
            e.children.append(idElement)
        }
        for x in `extension` {
            var xe = x.encode(name: "extension")
            xe.repeats = true
            e.children.append(xe)
        }
        return e
    }
}

extension FHIRPrimitive: ExpressibleByStringLiteral, ExpressibleByUnicodeScalarLiteral, ExpressibleByExtendedGraphemeClusterLiteral
where V: ExpressibleByStringLiteral {
    public init(stringLiteral s: V.StringLiteralType) { self.init(V(stringLiteral: s)) }
}

// MARK: string-like types

/// What distinguishes the string-like primitives: their name and lexical rule (R4 regexes,
/// fhir-cds.md §5.3).
public protocol FHIRTextRule: Sendable, Hashable {
    static var name: String { get }
    static func accepts(_ s: String) -> Bool
}

public struct FHIRText<Rule: FHIRTextRule>: FHIRPrimitiveValue, ExpressibleByStringLiteral, CustomStringConvertible {
    public var value: String
    public init(_ value: String) { self.value = value }
    public init(stringLiteral value: String) { self.value = value }
    public init?(lexical: String) {
        guard Rule.accepts(lexical) else { return nil }
        value = lexical
    }
    public var lexical: String { value }
    public var description: String { value }
    public static var fhirTypeName: String { Rule.name }
    public static var jsonKind: FHIRValueKind { .string }
}

public enum StringRule: FHIRTextRule {
    public static let name = "string"
    // [ \r\n\t\S]+ : any non-empty string.
    public static func accepts(_ s: String) -> Bool { !s.isEmpty }
}
public enum MarkdownRule: FHIRTextRule {
    public static let name = "markdown"
    public static func accepts(_ s: String) -> Bool { !s.isEmpty }
}
public enum CodeRule: FHIRTextRule {
    public static let name = "code"
    // [^\s]+(\s[^\s]+)* : no leading/trailing whitespace, single inner spaces.
    public static func accepts(_ s: String) -> Bool {
        guard !s.isEmpty, let f = s.unicodeScalars.first, let l = s.unicodeScalars.last,
            !isSpace(f), !isSpace(l)
        else { return false }
        var previousSpace = false
        for c in s.unicodeScalars {
            let sp = isSpace(c)
            if sp && previousSpace { return false }
            previousSpace = sp
        }
        return true
    }
}
public enum IdRule: FHIRTextRule {
    public static let name = "id"
    // [A-Za-z0-9\-\.]{1,64}
    public static func accepts(_ s: String) -> Bool {
        let u = s.utf8
        return (1...64).contains(u.count) && u.allSatisfy { isAlnum($0) || $0 == 0x2D || $0 == 0x2E }
    }
}
public enum URIRule: FHIRTextRule {
    public static let name = "uri"
    // \S* (non-empty: FHIR forbids empty values)
    public static func accepts(_ s: String) -> Bool { !s.isEmpty && !s.unicodeScalars.contains(where: isSpace) }
}
public enum URLRule: FHIRTextRule {
    public static let name = "url"
    public static func accepts(_ s: String) -> Bool { URIRule.accepts(s) }
}
public enum CanonicalRule: FHIRTextRule {
    public static let name = "canonical"
    public static func accepts(_ s: String) -> Bool { URIRule.accepts(s) }
}
public enum OIDRule: FHIRTextRule {
    public static let name = "oid"
    // urn:oid:[0-2](\.(0|[1-9][0-9]*))+
    public static func accepts(_ s: String) -> Bool {
        guard s.hasPrefix("urn:oid:") else { return false }
        let parts = s.dropFirst(8).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, let first = parts.first, ["0", "1", "2"].contains(first) else { return false }
        return parts.dropFirst().allSatisfy { p in !p.isEmpty && p.utf8.allSatisfy(isDigit) && (p == "0" || p.first != "0") }
    }
}
public enum UUIDRule: FHIRTextRule {
    public static let name = "uuid"
    // urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}
    public static func accepts(_ s: String) -> Bool {
        guard s.hasPrefix("urn:uuid:") else { return false }
        let body = Array(s.utf8.dropFirst(9))
        guard body.count == 36 else { return false }
        for (i, c) in body.enumerated() {
            if [8, 13, 18, 23].contains(i) { if c != 0x2D { return false } } else if !(isDigit(c) || (0x61...0x66).contains(c)) { return false }
        }
        return true
    }
}
public enum Base64Rule: FHIRTextRule {
    public static let name = "base64Binary"
    public static func accepts(_ s: String) -> Bool {
        var n = 0
        for c in s.utf8 {
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { continue }
            guard isAlnum(c) || c == 0x2B || c == 0x2F || c == 0x3D else { return false }
            n += 1
        }
        return n > 0 && n % 4 == 0
    }
}
public enum XHTMLRule: FHIRTextRule {
    public static let name = "xhtml"
    public static func accepts(_ s: String) -> Bool { s.hasPrefix("<div") }
}

public typealias FHIRString = FHIRText<StringRule>
public typealias FHIRMarkdown = FHIRText<MarkdownRule>
public typealias FHIRCode = FHIRText<CodeRule>
public typealias FHIRId = FHIRText<IdRule>
public typealias FHIRURI = FHIRText<URIRule>
public typealias FHIRURL = FHIRText<URLRule>
public typealias FHIRCanonical = FHIRText<CanonicalRule>
public typealias FHIROID = FHIRText<OIDRule>
public typealias FHIRUUID = FHIRText<UUIDRule>
public typealias FHIRBase64Binary = FHIRText<Base64Rule>

/// Narrative XHTML (a string in JSON, raw XHTML in XML).
public struct FHIRXHTML: FHIRPrimitiveValue {
    public var value: String
    public init(_ value: String) { self.value = value }
    public init?(lexical: String) {
        guard XHTMLRule.accepts(lexical) else { return nil }
        value = lexical
    }
    public var lexical: String { value }
    public static let fhirTypeName = "xhtml"
    public static let jsonKind = FHIRValueKind.xhtml
}

/// A code from a required binding whose value set is a closed list: generated as an enum whose raw
/// values are the codes (R4: required bindings SHALL use a code from the value set).
public protocol FHIRCodeEnum: FHIRPrimitiveValue, RawRepresentable, CaseIterable where RawValue == String {
    /// The value set's canonical URL, for messages and the validator.
    static var valueSetURL: String { get }
}

extension FHIRCodeEnum {
    public init?(lexical: String) { self.init(rawValue: lexical) }
    public var lexical: String { rawValue }
    public static var jsonKind: FHIRValueKind { .string }
    public static var fhirTypeName: String {
        let codes = allCases.prefix(12).map(\.rawValue).joined(separator: " | ")
        return "code from the required value set \(valueSetURL) (\(codes)\(allCases.count > 12 ? " | …" : ""))"
    }
}

// MARK: boolean and numbers

public struct FHIRBoolean: FHIRPrimitiveValue, ExpressibleByBooleanLiteral {
    public var value: Bool
    public init(_ value: Bool) { self.value = value }
    public init(booleanLiteral value: Bool) { self.value = value }
    public init?(lexical: String) {
        switch lexical {
        case "true": value = true
        case "false": value = false
        default: return nil
        }
    }
    public var lexical: String { value ? "true" : "false" }
    public static let fhirTypeName = "boolean"
    public static let jsonKind = FHIRValueKind.boolean
}

/// integer (32-bit signed, R4 datatypes.html).
public struct FHIRInteger: FHIRPrimitiveValue, ExpressibleByIntegerLiteral {
    public var value: Int32
    public init(_ value: Int32) { self.value = value }
    public init(integerLiteral value: Int32) { self.value = value }
    public init?(lexical: String) {
        // -?([0]|([1-9][0-9]*))
        var digits = Substring(lexical)
        if digits.first == "-" { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.utf8.allSatisfy(isDigit), digits == "0" || digits.first != "0",
            let v = Int32(lexical)
        else { return nil }
        value = v
    }
    public var lexical: String { String(value) }
    public static let fhirTypeName = "integer"
    public static let jsonKind = FHIRValueKind.number
}

public struct FHIRUnsignedInt: FHIRPrimitiveValue {
    public var value: Int32
    public init(_ value: Int32) { self.value = value }
    public init?(lexical: String) {
        guard let i = FHIRInteger(lexical: lexical), i.value >= 0, !lexical.hasPrefix("-") else { return nil }
        value = i.value
    }
    public var lexical: String { String(value) }
    public static let fhirTypeName = "unsignedInt"
    public static let jsonKind = FHIRValueKind.number
}

public struct FHIRPositiveInt: FHIRPrimitiveValue {
    public var value: Int32
    public init(_ value: Int32) { self.value = value }
    public init?(lexical: String) {
        guard let i = FHIRInteger(lexical: lexical), i.value >= 1 else { return nil }
        value = i.value
    }
    public var lexical: String { String(value) }
    public static let fhirTypeName = "positiveInt"
    public static let jsonKind = FHIRValueKind.number
}

/// A decimal that keeps its written form (0.630 stays 0.630; R4 json.html: precision is significant).
public struct FHIRDecimal: FHIRPrimitiveValue, CustomStringConvertible {
    public let lexical: String
    public var value: Double { Double(lexical) ?? .nan }

    public init?(lexical: String) {
        // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
        var u = Substring(lexical).utf8[...]
        if u.first == 0x2D { u = u.dropFirst() }
        let intPart = u.prefix(while: isDigit)
        guard !intPart.isEmpty, intPart.count == 1 || intPart.first != 0x30 else { return nil }
        u = u.dropFirst(intPart.count)
        if u.first == 0x2E {
            u = u.dropFirst()
            let frac = u.prefix(while: isDigit)
            guard !frac.isEmpty else { return nil }
            u = u.dropFirst(frac.count)
        }
        if u.first == 0x65 || u.first == 0x45 {
            u = u.dropFirst()
            if u.first == 0x2B || u.first == 0x2D { u = u.dropFirst() }
            let exp = u.prefix(while: isDigit)
            guard !exp.isEmpty else { return nil }
            u = u.dropFirst(exp.count)
        }
        guard u.isEmpty, Double(lexical)?.isFinite == true else { return nil }
        self.lexical = lexical
    }

    /// A decimal from a number, written with `digits` decimals (fixed notation).
    public init(_ value: Double, digits: Int) {
        lexical = formatFixed(value, digits: digits)
    }

    public var description: String { lexical }
    public static let fhirTypeName = "decimal"
    public static let jsonKind = FHIRValueKind.number
}

// MARK: dates and times (lexical forms of R4 datatypes.html, checked by hand)

public struct FHIRDate: FHIRPrimitiveValue {
    public let lexical: String
    public init?(lexical: String) {
        guard DateLexer.date(lexical) else { return nil }
        self.lexical = lexical
    }
    public static let fhirTypeName = "date"
    public static let jsonKind = FHIRValueKind.string
}

public struct FHIRDateTime: FHIRPrimitiveValue {
    public let lexical: String
    public init?(lexical: String) {
        guard DateLexer.dateTime(lexical) else { return nil }
        self.lexical = lexical
    }
    public static let fhirTypeName = "dateTime"
    public static let jsonKind = FHIRValueKind.string
}

public struct FHIRInstant: FHIRPrimitiveValue {
    public let lexical: String
    public init?(lexical: String) {
        guard DateLexer.instant(lexical) else { return nil }
        self.lexical = lexical
    }
    public static let fhirTypeName = "instant"
    public static let jsonKind = FHIRValueKind.string
}

public struct FHIRTime: FHIRPrimitiveValue {
    public let lexical: String
    public init?(lexical: String) {
        guard DateLexer.time(Array(lexical.utf8)[...]) else { return nil }
        self.lexical = lexical
    }
    public static let fhirTypeName = "time"
    public static let jsonKind = FHIRValueKind.string
}

enum DateLexer {
    /// YYYY(-MM(-DD)?)?
    static func date(_ s: String) -> Bool {
        let b = Array(s.utf8)[...]
        return datePart(b, requireFull: false) == b.count
    }

    /// Returns how many bytes of `b` form a date, or -1.
    static func datePart(_ b: ArraySlice<UInt8>, requireFull: Bool) -> Int {
        func digits(_ at: Int, _ n: Int) -> Int? {
            guard b.count >= at + n else { return nil }
            var v = 0
            for i in 0..<n {
                let c = b[b.startIndex + at + i]
                guard isDigit(c) else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            return v
        }
        guard digits(0, 4) != nil else { return -1 }
        if b.count == 4 { return requireFull ? -1 : 4 }
        guard b[b.startIndex + 4] == 0x2D, let m = digits(5, 2), (1...12).contains(m) else { return -1 }
        if b.count == 7 { return requireFull ? -1 : 7 }
        guard b.count >= 10, b[b.startIndex + 7] == 0x2D, let d = digits(8, 2), (1...31).contains(d) else { return -1 }
        return 10
    }

    /// hh:mm:ss(.s+)?
    static func time(_ b: ArraySlice<UInt8>) -> Bool {
        let a = Array(b)
        guard a.count >= 8, a[2] == 0x3A, a[5] == 0x3A,
            let h = two(a, 0), h <= 23, let m = two(a, 3), m <= 59, let s = two(a, 6), s <= 60
        else { return false }
        if a.count == 8 { return true }
        guard a[8] == 0x2E, a.count > 9 else { return false }
        return a[9...].allSatisfy(isDigit)
    }

    static func two(_ a: [UInt8], _ i: Int) -> Int? {
        guard isDigit(a[i]), isDigit(a[i + 1]) else { return nil }
        return Int(a[i] - 0x30) * 10 + Int(a[i + 1] - 0x30)
    }

    /// Z or ±hh:mm
    static func zone(_ b: ArraySlice<UInt8>) -> Bool {
        let a = Array(b)
        if a == [0x5A] { return true }
        guard a.count == 6, a[0] == 0x2B || a[0] == 0x2D, a[3] == 0x3A, let h = two(a, 1), h <= 14, let m = two(a, 4), m <= 59 else { return false }
        return true
    }

    /// date, or full date + Thh:mm:ss(.s+)? + zone (zone required when a time is given).
    static func dateTime(_ s: String) -> Bool {
        let b = Array(s.utf8)[...]
        let n = datePart(b, requireFull: false)
        guard n > 0 else { return false }
        if n == b.count { return true }
        guard n == 10, b.count > 11, b[10] == 0x54 else { return false }
        let rest = b[11...]
        guard let zi = rest.firstIndex(where: { $0 == 0x5A || $0 == 0x2B || $0 == 0x2D }) else { return false }
        return time(b[11..<zi]) && zone(b[zi...])
    }

    static func instant(_ s: String) -> Bool {
        let b = Array(s.utf8)[...]
        return datePart(b, requireFull: true) == 10 && dateTime(s) && b.count > 10
    }
}

@inline(__always) func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
@inline(__always) func isAlnum(_ c: UInt8) -> Bool { isDigit(c) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
@inline(__always) func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\n" || c == "\r" || c == "\t" }

/// Fixed-point text of a number (no exponent), trailing zeros kept as asked.
func formatFixed(_ v: Double, digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<max(0, digits) { scale *= 10 }
    let scaled = (abs(v) * scale).rounded()
    guard scaled < 9e18, v.isFinite else { return "\(v)" }
    var text = String(UInt64(scaled))
    if digits > 0 {
        if text.count <= digits { text = String(repeating: "0", count: digits - text.count + 1) + text }
        text.insert(".", at: text.index(text.endIndex, offsetBy: -digits))
    }
    return (v < 0 && scaled != 0 ? "-" : "") + text
}

/// A calendar day from the date part of a date, dateTime or instant, for interval arithmetic
/// (ages, staleness). Partial dates take the middle of their period: a year the 2nd of July, a
/// month its 15th, so the error is at most half the stated precision.
public struct FHIRDay: Comparable, Hashable, Sendable, CustomStringConvertible {
    public enum Precision: Sendable { case year, month, day }
    /// Days since 1970-01-01 (proleptic Gregorian).
    public let daysSince1970: Int
    public let precision: Precision

    public init?(_ lexical: String) {
        let b = Array(lexical.utf8)
        func num(_ r: Range<Int>) -> Int? {
            guard r.upperBound <= b.count else { return nil }
            var v = 0
            for i in r {
                guard isDigit(b[i]) else { return nil }
                v = v * 10 + Int(b[i] - 0x30)
            }
            return v
        }
        guard let y = num(0..<4) else { return nil }
        if b.count == 4 {
            self.init(year: y, month: 7, day: 2, precision: .year)
        } else if let m = num(5..<7), (1...12).contains(m) {
            if b.count == 7 {
                self.init(year: y, month: m, day: 15, precision: .month)
            } else if let d = num(8..<10), (1...31).contains(d) {
                self.init(year: y, month: m, day: d, precision: .day)
            } else {
                return nil
            }
        } else {
            return nil
        }
    }

    public init(year: Int, month: Int, day: Int, precision: Precision = .day) {
        daysSince1970 = DateOrder.daysFromCivil(year, month, day)
        self.precision = precision
    }

    public init(daysSince1970: Int) {
        self.daysSince1970 = daysSince1970
        precision = .day
    }

    /// Whole years from `self` to `later` as a fraction (365.25-day years).
    public func years(until later: FHIRDay) -> Double { Double(later.daysSince1970 - daysSince1970) / 365.25 }

    public func days(until later: FHIRDay) -> Int { later.daysSince1970 - daysSince1970 }

    /// YYYY-MM-DD (H. Hinnant's civil-from-days).
    public var description: String {
        let z = daysSince1970 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func pad(_ v: Int, _ n: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, n - s.count)) + s }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))"
    }

    public static func < (a: FHIRDay, b: FHIRDay) -> Bool { a.daysSince1970 < b.daysSince1970 }
    public static func == (a: FHIRDay, b: FHIRDay) -> Bool { a.daysSince1970 == b.daysSince1970 }
    public func hash(into h: inout Hasher) { h.combine(daysSince1970) }
}
