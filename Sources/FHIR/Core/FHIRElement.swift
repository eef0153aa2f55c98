// The format-neutral element tree between the wire formats (JSON, XML) and the typed model.
// JSON and XML parsers produce it; generated types decode from it and encode to it; the JSON and
// XML writers serialise it. FHIR's two formats carry the same logical content (R4 json.html,
// xml.html), so one tree serves both.

/// How a primitive value was (or must be) written in JSON.
public enum FHIRValueKind: Sendable, Equatable {
    case string, number, boolean
    /// Narrative XHTML: a JSON string, raw XHTML in XML.
    case xhtml
}

/// One element: a name, an optional primitive value, ordered children.
public struct FHIRElement: Sendable, Equatable {
    public var name: String
    /// Lexical value of a primitive (as written: decimals keep their digits).
    public var value: String?
    /// JSON kind of the value: as read (nil for XML input) or as it must be written.
    public var kind: FHIRValueKind?
    public var children: [FHIRElement]
    /// Writer hints, set by the typed encoders: the element repeats (a JSON array even with one
    /// item); it is an XML attribute (element ids, Extension.url); it is a resource (its `id` is an
    /// element, and in JSON it carries `resourceType`).
    public var repeats = false
    public var isAttribute = false
    public var isResource = false

    public init(name: String, value: String? = nil, kind: FHIRValueKind? = nil, children: [FHIRElement] = []) {
        self.name = name
        self.value = value
        self.kind = kind
        self.children = children
    }
}
