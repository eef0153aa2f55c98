// FHIR JSON (R4 json.html) → FHIRElement. A byte-level JSON parser that keeps numbers as written
// (decimal precision is significant in FHIR) and enforces limits on size and nesting, then the FHIR
// mapping: `resourceType`, `_name` siblings carrying primitive ids and extensions, null alignment
// in primitive arrays, and no empty objects, arrays or strings.

/// Limits for hostile or broken input (both formats).
public struct FHIRParseLimits: Sendable {
    /// Largest document accepted, bytes.
    public var maxBytes: Int
    /// Deepest nesting of objects/arrays (JSON) or elements (XML).
    public var maxDepth: Int

    /// 256 MiB covers a bundle with embedded PDF reports; depth 100 is far beyond any real
    /// resource (a Bundle entry's Observation component coding extension is ~12 deep).
    public init(maxBytes: Int = 256 << 20, maxDepth: Int = 100) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
    }
}

/// A parsed document: its root (a resource element) and what the parser noticed on the way.
public struct FHIRDocument: Sendable {
    public var root: FHIRElement
    public var issues: [FHIRIssue]
}

/// Generic JSON value with object members in document order and numbers as written.
enum JSONValue {
    case object([(String, JSONValue)])
    case array([JSONValue])
    case string(String)
    case number(String)
    case bool(Bool)
    case null
}

struct JSONSyntaxParser {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var i = 0
    var depth = 0

    func fail(_ what: String) -> FHIRError {
        // Line and column of the failure, 1-based, for the user's editor.
        var line = 1
        var column = 1
        for k in 0..<min(i, bytes.count) {
            if bytes[k] == 0x0A { line += 1; column = 1 } else { column += 1 }
        }
        return FHIRError(.error, "structure", "JSON syntax error at line \(line), column \(column): \(what)")
    }

    mutating func skipSpace() {
        while i < bytes.count {
            let c = bytes[i]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { break }
        }
    }

    mutating func document() throws(FHIRError) -> JSONValue {
        // A UTF-8 byte-order mark is tolerated (some EHR exports write one).
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        skipSpace()
        let v = try value()
        skipSpace()
        if i != bytes.count { throw fail("unexpected text after the end of the document") }
        return v
    }

    mutating func value() throws(FHIRError) -> JSONValue {
        guard i < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[i] {
        case 0x7B: return try object()
        case 0x5B: return try array()
        case 0x22: return .string(try string())
        case 0x74: try literal("true"); return .bool(true)
        case 0x66: try literal("false"); return .bool(false)
        case 0x6E: try literal("null"); return .null
        case 0x2D, 0x30...0x39: return .number(try number())
        default: throw fail("unexpected character '\(Unicode.Scalar(bytes[i]))'")
        }
    }

    mutating func literal(_ word: StaticString) throws(FHIRError) {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { throw fail("unexpected end of input") }
        let w = word.utf8Start
        for k in 0..<n where bytes[i + k] != w[k] { throw fail("expected '\(word)'") }
        i += n
    }

    mutating func enter() throws(FHIRError) {
        depth += 1
        if depth > maxDepth {
            throw FHIRError(.error, "too-costly", "JSON nested deeper than \(maxDepth) levels; no FHIR resource needs that — the input is malformed or hostile")
        }
    }

    mutating func object() throws(FHIRError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        i += 1
        var members: [(String, JSONValue)] = []
        skipSpace()
        if i < bytes.count, bytes[i] == 0x7D { i += 1; return .object(members) }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == 0x22 else { throw fail("expected a property name in quotes") }
            let key = try string()
            skipSpace()
            guard i < bytes.count, bytes[i] == 0x3A else { throw fail("expected ':' after property name \"\(key)\"") }
            i += 1
            skipSpace()
            let v = try value()
            members.append((key, v))
            skipSpace()
            guard i < bytes.count else { throw fail("unexpected end of input inside an object") }
            if bytes[i] == 0x2C { i += 1; continue }
            if bytes[i] == 0x7D { i += 1; break }
            throw fail("expected ',' or '}' in an object")
        }
        return .object(members)
    }

    mutating func array() throws(FHIRError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        i += 1
        var items: [JSONValue] = []
        skipSpace()
        if i < bytes.count, bytes[i] == 0x5D { i += 1; return .array(items) }
        while true {
            skipSpace()
            items.append(try value())
            skipSpace()
            guard i < bytes.count else { throw fail("unexpected end of input inside an array") }
            if bytes[i] == 0x2C { i += 1; continue }
            if bytes[i] == 0x5D { i += 1; break }
            throw fail("expected ',' or ']' in an array")
        }
        return .array(items)
    }

    mutating func number() throws(FHIRError) -> String {
        // -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?  (RFC 8259)
        let start = i
        if bytes[i] == 0x2D { i += 1 }
        guard i < bytes.count, isDigit(bytes[i]) else { throw fail("malformed number") }
        if bytes[i] == 0x30 {
            i += 1
            if i < bytes.count, isDigit(bytes[i]) { throw fail("numbers may not have leading zeros") }
        } else {
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        if i < bytes.count, bytes[i] == 0x2E {
            i += 1
            guard i < bytes.count, isDigit(bytes[i]) else { throw fail("malformed number: digits must follow '.'") }
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        if i < bytes.count, bytes[i] == 0x65 || bytes[i] == 0x45 {
            i += 1
            if i < bytes.count, bytes[i] == 0x2B || bytes[i] == 0x2D { i += 1 }
            guard i < bytes.count, isDigit(bytes[i]) else { throw fail("malformed number exponent") }
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
    }

    mutating func string() throws(FHIRError) -> String {
        i += 1
        let start = i
        // Fast path: no escapes, valid UTF-8.
        while i < bytes.count {
            let c = bytes[i]
            if c == 0x22 {
                let raw = UnsafeBufferPointer(rebasing: bytes[start..<i])
                i += 1
                guard let s = String(validating: raw, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
                return s
            }
            if c == 0x5C { break }
            if c < 0x20 { throw fail("control character in a string (escape it as \\u00XX)") }
            i += 1
        }
        var out: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[start..<i]))
        while i < bytes.count {
            let c = bytes[i]
            if c == 0x22 {
                i += 1
                guard let s = String(validating: out, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
                return s
            }
            if c < 0x20 { throw fail("control character in a string (escape it as \\u00XX)") }
            if c != 0x5C { out.append(c); i += 1; continue }
            i += 1
            guard i < bytes.count else { break }
            let e = bytes[i]
            i += 1
            switch e {
            case 0x22: out.append(0x22)
            case 0x5C: out.append(0x5C)
            case 0x2F: out.append(0x2F)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    // A high surrogate must be followed by an escaped low surrogate.
                    guard i + 1 < bytes.count, bytes[i] == 0x5C, bytes[i + 1] == 0x75 else { throw fail("unpaired UTF-16 surrogate in \\u escape") }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired UTF-16 surrogate in \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw fail("unpaired UTF-16 surrogate in \\u escape")
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
                out.append(contentsOf: UTF8.encode(u)!)
            default: throw fail("invalid escape '\\\(Unicode.Scalar(e))'")
            }
        }
        throw fail("unterminated string")
    }

    mutating func hex4() throws(FHIRError) -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail("invalid hex digit in \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }
}

/// Maps generic JSON to the FHIR element tree.
struct JSONToElement {
    var issues: [FHIRIssue] = []

    mutating func issue(_ severity: FHIRIssue.Severity, _ code: String, _ message: String, _ path: String) {
        issues.append(FHIRIssue(severity, code, message, at: path))
    }

    /// A JSON object that is a resource (has `resourceType`).
    mutating func resource(_ members: [(String, JSONValue)], path: String) -> FHIRElement? {
        guard let rt = members.first(where: { $0.0 == "resourceType" })?.1 else {
            issue(.error, "structure", "a resource needs \"resourceType\"", path)
            return nil
        }
        guard case .string(let type) = rt, !type.isEmpty else {
            issue(.error, "structure", "\"resourceType\" must be a non-empty string", path)
            return nil
        }
        var e = FHIRElement(name: type)
        e.isResource = true
        let p = path.isEmpty ? type : path
        e.children = children(members, path: p, skipResourceType: true)
        return e
    }

    /// Children of an element from the members of its JSON object.
    mutating func children(_ members: [(String, JSONValue)], path: String, skipResourceType: Bool = false) -> [FHIRElement] {
        var out: [FHIRElement] = []
        var seen = Set<String>()
        // Primitive extensions (`_name`) are merged into the elements made for `name`.
        var underscored: [String: JSONValue] = [:]
        for (key, value) in members {
            if !seen.insert(key).inserted {
                issue(.error, "structure", "property \"\(key)\" appears twice in one object", path)
                continue
            }
            if skipResourceType && key == "resourceType" { continue }
            if key.hasPrefix("_") && key.count > 1 {
                underscored[String(key.dropFirst())] = value
            }
        }
        var placed = Set<String>()
        for (key, value) in members {
            if skipResourceType && key == "resourceType" { continue }
            if key.hasPrefix("_") && key.count > 1 {
                let name = String(key.dropFirst())
                // `_name` without `name`: primitive(s) with extensions only.
                if !members.contains(where: { $0.0 == name }) && placed.insert(name).inserted {
                    out.append(contentsOf: primitives(name, nil, value, path: path))
                }
                continue
            }
            guard placed.insert(key).inserted else { continue }
            let p = path + "." + key
            switch value {
            case .object(let m):
                if underscored[key] != nil { issue(.error, "structure", "\"_\(key)\" is only allowed beside a primitive value", p) }
                if let e = complex(key, m, path: p) { out.append(e) }
            case .array(let items):
                if items.isEmpty {
                    issue(.error, "structure", "empty array: FHIR JSON omits absent elements instead", p)
                    continue
                }
                let isPrimitive = items.contains { if case .object = $0 { return false } else if case .array = $0 { return false } else { return true } }
                if isPrimitive {
                    out.append(contentsOf: primitives(key, value, underscored[key], path: path))
                } else {
                    if underscored[key] != nil { issue(.error, "structure", "\"_\(key)\" is only allowed beside primitive values", p) }
                    for (k, item) in items.enumerated() {
                        let ip = "\(p)[\(k)]"
                        switch item {
                        case .object(let m):
                            if var e = complex(key, m, path: ip) {
                                e.repeats = true
                                out.append(e)
                            }
                        case .array: issue(.error, "structure", "arrays of arrays are not FHIR", ip)
                        default: issue(.error, "structure", "array mixes objects and primitive values", ip)
                        }
                    }
                }
            case .null:
                issue(.error, "structure", "null is not allowed: omit the element", p)
            default:
                out.append(contentsOf: primitives(key, value, underscored[key], path: path))
            }
        }
        return out
    }

    /// An object value: a complex element, or a wrapper around a resource.
    mutating func complex(_ name: String, _ members: [(String, JSONValue)], path: String) -> FHIRElement? {
        if members.isEmpty {
            issue(.error, "structure", "empty object: FHIR JSON omits absent elements instead", path)
            return nil
        }
        if members.contains(where: { $0.0 == "resourceType" }) {
            guard let r = resource(members, path: path) else { return nil }
            return FHIRElement(name: name, children: [r])
        }
        return FHIRElement(name: name, children: children(members, path: path))
    }

    /// Primitive element(s) `name` from the value (single or array) and its `_name` sibling.
    mutating func primitives(_ name: String, _ value: JSONValue?, _ extra: JSONValue?, path: String) -> [FHIRElement] {
        let p = path + "." + name
        var values: [JSONValue?]
        var repeats = false
        switch value {
        case .array(let items)?: values = items; repeats = true
        case let v?: values = [v]
        case nil: values = []
        }
        var extras: [JSONValue?] = []
        switch extra {
        case .array(let items)?:
            extras = items
            if value == nil { repeats = true; values = Array(repeating: nil, count: items.count) }
            if !repeats { issue(.error, "structure", "\"_\(name)\" is an array but \"\(name)\" is not", p) }
        case .object?:
            extras = [extra]
            if value == nil { values = [nil] }
            if repeats { issue(.error, "structure", "\"_\(name)\" must be an array aligned with \"\(name)\"", p) }
        case .null?, .string?, .number?, .bool?:
            issue(.error, "structure", "\"_\(name)\" must be an object with id and/or extension", p)
        case nil: break
        }
        if !extras.isEmpty && extras.count != values.count {
            issue(.error, "structure", "\"\(name)\" has \(values.count) item(s) but \"_\(name)\" has \(extras.count); they must align (use null)", p)
        }
        var out: [FHIRElement] = []
        for k in 0..<values.count {
            let ip = repeats ? "\(p)[\(k)]" : p
            var e = FHIRElement(name: name)
            e.repeats = repeats
            switch values[k] {
            case .string(let s)?:
                if s.isEmpty { issue(.error, "value", "empty string: FHIR JSON omits absent values instead", ip) }
                e.value = s
                e.kind = .string
            case .number(let n)?:
                e.value = n
                e.kind = .number
            case .bool(let b)?:
                e.value = b ? "true" : "false"
                e.kind = .boolean
            case .null?, nil:
                // Only valid when `_name` supplies id or extensions for this position.
                e.kind = .string
            case .object?, .array?:
                issue(.error, "structure", "array mixes objects and primitive values", ip)
                continue
            }
            if k < extras.count, case .object(let m)? = extras[k] {
                if m.isEmpty { issue(.error, "structure", "empty object: FHIR JSON omits absent elements instead", ip) }
                for (key, v) in m where key != "id" && key != "extension" {
                    _ = v
                    issue(.error, "structure", "\"_\(name)\" may only hold \"id\" and \"extension\", found \"\(key)\"", ip)
                }
                e.children = children(m.filter { $0.0 == "id" || $0.0 == "extension" }, path: ip)
                for j in e.children.indices where e.children[j].name == "id" { e.children[j].isAttribute = true }
            }
            if e.value == nil && e.children.isEmpty {
                issue(.error, "structure", "null with no matching \"_\(name)\" entry: an element needs a value or extensions (ele-1)", ip)
                continue
            }
            out.append(e)
        }
        return out
    }
}

/// Reads FHIR JSON.
public enum FHIRJSONReader {
    /// Parses a FHIR JSON document whose root is a resource. Syntax errors and limits throw;
    /// FHIR-level problems of the JSON form (empty arrays, nulls, misaligned `_name`) are returned
    /// as issues.
    public static func parse(_ bytes: [UInt8], limits: FHIRParseLimits = FHIRParseLimits()) throws(FHIRError) -> FHIRDocument {
        if bytes.count > limits.maxBytes {
            throw FHIRError(.error, "too-costly", "document is \(bytes.count) bytes; the limit is \(limits.maxBytes) (raise it with the size limit option if this is expected)")
        }
        let value = try bytes.withBytes { (b: UnsafeBufferPointer<UInt8>) throws(FHIRError) -> JSONValue in
            var p = JSONSyntaxParser(bytes: b, maxDepth: limits.maxDepth)
            return try p.document()
        }
        guard case .object(let members) = value else {
            throw FHIRError(.error, "structure", "a FHIR JSON document is an object with \"resourceType\"")
        }
        var m = JSONToElement()
        guard let root = m.resource(members, path: "") else { throw FHIRError(m.issues) }
        return FHIRDocument(root: root, issues: m.issues)
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBufferPointer` that keeps a typed error.
    func withBytes<R, E: Error>(_ body: (UnsafeBufferPointer<UInt8>) throws(E) -> R) throws(E) -> R {
        var result: Result<R, E>!
        withUnsafeBufferPointer { b in
            do throws(E) { result = .success(try body(b)) } catch { result = .failure(error) }
        }
        return try result.get()
    }
}
