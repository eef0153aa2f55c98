// FHIRElement → FHIR JSON (R4 json.html): `resourceType` first, primitive ids and extensions in a
// `_name` sibling, arrays aligned with null, numbers and booleans bare, never an empty value.
// Output is deterministic: members follow the element order (definition order for typed content).

public struct FHIRJSONWriter {
    public var pretty: Bool
    private var out: [UInt8] = []

    public init(pretty: Bool = false) { self.pretty = pretty }

    /// Serialises a resource element (as from `encodeResource()`).
    public static func write(_ resource: FHIRElement, pretty: Bool = false) -> [UInt8] {
        var w = FHIRJSONWriter(pretty: pretty)
        w.out.reserveCapacity(4096)
        w.resourceObject(resource, indent: 0)
        if pretty { w.out.append(0x0A) }
        return w.out
    }

    private mutating func raw(_ s: StaticString) { out.appendStatic(s) }

    private mutating func newline(_ indent: Int) { if pretty { out.appendNewline(indent: indent) } }

    private mutating func key(_ k: String, first: inout Bool, indent: Int) {
        if !first { out.append(0x2C) }
        first = false
        newline(indent)
        string(k)
        out.append(0x3A)
        if pretty { out.append(0x20) }
    }

    private mutating func resourceObject(_ e: FHIRElement, indent: Int) {
        out.append(0x7B)
        var first = true
        key("resourceType", first: &first, indent: indent + 1)
        string(e.name)
        members(e.children, first: &first, indent: indent + 1)
        newline(indent)
        out.append(0x7D)
    }

    private mutating func object(_ e: FHIRElement, indent: Int) {
        // A wrapper around a resource (Bundle.entry.resource, contained) is the resource itself.
        if e.children.count == 1, e.children[0].isResource || e.children[0].name.first?.isUppercase == true, e.value == nil {
            resourceObject(e.children[0], indent: indent)
            return
        }
        out.append(0x7B)
        var first = true
        members(e.children, first: &first, indent: indent + 1)
        newline(indent)
        out.append(0x7D)
    }

    static func isPrimitive(_ e: FHIRElement) -> Bool { e.value != nil || e.kind != nil }

    private mutating func members(_ children: [FHIRElement], first: inout Bool, indent: Int) {
        var start = 0
        while start < children.count {
            // Same-named siblings form one JSON member (they are adjacent in definition order).
            var end = start + 1
            while end < children.count && children[end].name == children[start].name { end += 1 }
            let group = children[start..<end]
            let name = children[start].name
            let asArray = group.count > 1 || group.first!.repeats
            if Self.isPrimitive(group.first!) {
                let anyValue = group.contains { $0.value != nil }
                let anyExtra = group.contains { !$0.children.isEmpty }
                if anyValue {
                    key(name, first: &first, indent: indent)
                    if asArray {
                        out.append(0x5B)
                        for (k, e) in group.enumerated() {
                            if k > 0 { out.append(0x2C) }
                            if e.value != nil { primitiveValue(e) } else { raw("null") }
                        }
                        out.append(0x5D)
                    } else {
                        primitiveValue(group.first!)
                    }
                }
                if anyExtra {
                    key("_" + name, first: &first, indent: indent)
                    if asArray {
                        out.append(0x5B)
                        for (k, e) in group.enumerated() {
                            if k > 0 { out.append(0x2C) }
                            if e.children.isEmpty { raw("null") } else { extras(e, indent: indent + 1) }
                        }
                        out.append(0x5D)
                    } else {
                        extras(group.first!, indent: indent)
                    }
                }
            } else {
                key(name, first: &first, indent: indent)
                if asArray {
                    out.append(0x5B)
                    for (k, e) in group.enumerated() {
                        if k > 0 { out.append(0x2C) }
                        newline(indent + 1)
                        object(e, indent: indent + 1)
                    }
                    newline(indent)
                    out.append(0x5D)
                } else {
                    object(group.first!, indent: indent)
                }
            }
            start = end
        }
    }

    /// The `_name` object of a primitive: its id and extensions.
    private mutating func extras(_ e: FHIRElement, indent: Int) {
        out.append(0x7B)
        var first = true
        members(e.children, first: &first, indent: indent + 1)
        newline(indent)
        out.append(0x7D)
    }

    private mutating func primitiveValue(_ e: FHIRElement) {
        guard let v = e.value else { raw("null"); return }
        switch e.kind {
        case .number?, .boolean?: out.append(contentsOf: v.utf8)
        default: string(v)
        }
    }

    private mutating func string(_ s: String) {
        out.append(0x22)
        for c in s.utf8 {
            switch c {
            case 0x22: raw("\\\"")
            case 0x5C: raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0x08: raw("\\b")
            case 0x0C: raw("\\f")
            case 0..<0x20:
                raw("\\u00")
                out.append(hexDigit(c >> 4))
                out.append(hexDigit(c & 0xF))
            default: out.append(c)
            }
        }
        out.append(0x22)
    }

    private func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x61 + v - 10 }
}

/// Byte output shared by the JSON and XML writers.
extension Array where Element == UInt8 {
    mutating func appendStatic(_ s: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    /// A line break and two spaces per indent level (pretty output).
    mutating func appendNewline(indent: Int) {
        append(0x0A)
        append(contentsOf: repeatElement(0x20, count: indent * 2))
    }
}
