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

/// Maps generic JSON to the FHIR element tree. The current location is a stack of names, turned
/// into a path string only when an issue is recorded.
struct JSONToElement {
    var issues: [FHIRIssue] = []
    var stack: [(name: String, index: Int)] = []

    var path: String { fhirPath(stack) }

    mutating func issue(_ severity: FHIRIssue.Severity, _ code: String, _ message: String) {
        issues.append(FHIRIssue(severity, code, message, at: path))
    }

    /// A JSON object that is a resource (has `resourceType`).
    mutating func resource(_ members: [(String, JSONValue)]) -> FHIRElement? {
        guard let rt = members.first(where: { $0.0 == "resourceType" })?.1 else {
            issue(.error, "structure", "a resource needs \"resourceType\"")
            return nil
        }
        guard case .string(let type) = rt, !type.isEmpty else {
            issue(.error, "structure", "\"resourceType\" must be a non-empty string")
            return nil
        }
        var e = FHIRElement(name: type)
        e.isResource = true
        if stack.isEmpty { stack.append((type, -1)) }
        e.children = children(members, skipResourceType: true)
        return e
    }

    /// Children of an element from the members of its JSON object.
    mutating func children(_ members: [(String, JSONValue)], skipResourceType: Bool = false) -> [FHIRElement] {
        var out: [FHIRElement] = []
        out.reserveCapacity(members.count)
        var hasUnderscore = false
        for (k, (key, _)) in members.enumerated() {
            if key.utf8.first == 0x5F { hasUnderscore = true }
            // Objects are small: a linear duplicate check beats hashing.
            for j in 0..<k where members[j].0 == key {
                issue(.error, "structure", "property \"\(key)\" appears twice in one object")
            }
        }
        func extra(_ name: String) -> JSONValue? {
            guard hasUnderscore else { return nil }
            return members.first { $0.0.utf8.first == 0x5F && $0.0.utf8.count == name.utf8.count + 1 && $0.0.dropFirst() == name }?.1
        }
        for (k, (key, value)) in members.enumerated() {
            if skipResourceType && key == "resourceType" { continue }
            if j(before: k, key, in: members) { continue }
            if key.utf8.first == 0x5F && key.utf8.count > 1 {
                let name = String(key.dropFirst())
                // `_name` without `name`: primitive(s) with extensions only.
                if !members.contains(where: { $0.0 == name }) {
                    out.append(contentsOf: primitives(name, nil, value))
                }
                continue
            }
            switch value {
            case .object(let m):
                stack.append((key, -1))
                if extra(key) != nil { issue(.error, "structure", "\"_\(key)\" is only allowed beside a primitive value") }
                if let e = complex(key, m) { out.append(e) }
                stack.removeLast()
            case .array(let items):
                if items.isEmpty {
                    stack.append((key, -1))
                    issue(.error, "structure", "empty array: FHIR JSON omits absent elements instead")
                    stack.removeLast()
                    continue
                }
                let isPrimitive = items.contains { if case .object = $0 { return false } else if case .array = $0 { return false } else { return true } }
                if isPrimitive {
                    out.append(contentsOf: primitives(key, value, extra(key)))
                } else {
                    if extra(key) != nil {
                        stack.append((key, -1))
                        issue(.error, "structure", "\"_\(key)\" is only allowed beside primitive values")
                        stack.removeLast()
                    }
                    for (i, item) in items.enumerated() {
                        stack.append((key, i))
                        switch item {
                        case .object(let m):
                            if var e = complex(key, m) {
                                e.repeats = true
                                out.append(e)
                            }
                        case .array: issue(.error, "structure", "arrays of arrays are not FHIR")
                        default: issue(.error, "structure", "array mixes objects and primitive values")
                        }
                        stack.removeLast()
                    }
                }
            case .null:
                stack.append((key, -1))
                issue(.error, "structure", "null is not allowed: omit the element")
                stack.removeLast()
            default:
                out.append(contentsOf: primitives(key, value, extra(key)))
            }
        }
        return out
    }

    /// Whether `key` at position `k` repeats an earlier key (already reported; skip it).
    func j(before k: Int, _ key: String, in members: [(String, JSONValue)]) -> Bool {
        for i in 0..<k where members[i].0 == key { return true }
        return false
    }

    /// An object value: a complex element, or a wrapper around a resource.
    mutating func complex(_ name: String, _ members: [(String, JSONValue)]) -> FHIRElement? {
        if members.isEmpty {
            issue(.error, "structure", "empty object: FHIR JSON omits absent elements instead")
            return nil
        }
        if members.contains(where: { $0.0 == "resourceType" }) {
            guard let r = resource(members) else { return nil }
            return FHIRElement(name: name, children: [r])
        }
        return FHIRElement(name: name, children: children(members))
    }

    /// Primitive element(s) `name` from the value (single or array) and its `_name` sibling.
    mutating func primitives(_ name: String, _ value: JSONValue?, _ extra: JSONValue?) -> [FHIRElement] {
        stack.append((name, -1))
        defer { stack.removeLast() }
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
            if !repeats { issue(.error, "structure", "\"_\(name)\" is an array but \"\(name)\" is not") }
        case .object?:
            extras = [extra]
            if value == nil { values = [nil] }
            if repeats { issue(.error, "structure", "\"_\(name)\" must be an array aligned with \"\(name)\"") }
        case .null?, .string?, .number?, .bool?:
            issue(.error, "structure", "\"_\(name)\" must be an object with id and/or extension")
        case nil: break
        }
        if !extras.isEmpty && extras.count != values.count {
            issue(.error, "structure", "\"\(name)\" has \(values.count) item(s) but \"_\(name)\" has \(extras.count); they must align (use null)")
        }
        var out: [FHIRElement] = []
        out.reserveCapacity(values.count)
        for k in 0..<values.count {
            if repeats { stack[stack.count - 1].index = k }
            var e = FHIRElement(name: name)
            e.repeats = repeats
            switch values[k] {
            case .string(let s)?:
                if s.isEmpty { issue(.error, "value", "empty string: FHIR JSON omits absent values instead") }
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
                issue(.error, "structure", "array mixes objects and primitive values")
                continue
            }
            if k < extras.count, case .object(let m)? = extras[k] {
                if m.isEmpty { issue(.error, "structure", "empty object: FHIR JSON omits absent elements instead") }
                for (key, _) in m where key != "id" && key != "extension" {
                    issue(.error, "structure", "\"_\(name)\" may only hold \"id\" and \"extension\", found \"\(key)\"")
                }
                e.children = children(m.filter { $0.0 == "id" || $0.0 == "extension" })
                for j in e.children.indices where e.children[j].name == "id" { e.children[j].isAttribute = true }
            }
            if e.value == nil && e.children.isEmpty {
                issue(.error, "structure", "null with no matching \"_\(name)\" entry: an element needs a value or extensions (ele-1)")
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
        guard let root = m.resource(members) else { throw FHIRError(m.issues) }
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
