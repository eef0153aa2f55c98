// FHIRElement → FHIR XML (R4 xml.html): default namespace http://hl7.org/fhir on the root, values
// in `value` attributes, element ids and Extension.url as attributes, narrative as XHTML, children
// in tree order (definition order when the tree comes from the typed model).

public struct FHIRXMLWriter {
    public var pretty: Bool
    private var out: [UInt8] = []

    public init(pretty: Bool = false) { self.pretty = pretty }

    /// Serialises a resource element (as from `encodeResource()`), with an XML declaration.
    public static func write(_ resource: FHIRElement, pretty: Bool = false) -> [UInt8] {
        var w = FHIRXMLWriter(pretty: pretty)
        w.out.reserveCapacity(4096)
        w.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        if pretty { w.out.append(0x0A) }
        w.element(resource, indent: 0, root: true)
        if pretty { w.out.append(0x0A) }
        return w.out
    }

    private mutating func raw(_ s: StaticString) { out.appendStatic(s) }

    private mutating func newline(_ indent: Int) { if pretty { out.appendNewline(indent: indent) } }

    private mutating func element(_ e: FHIRElement, indent: Int, root: Bool = false) {
        if e.kind == .xhtml, let markup = e.value {
            xhtml(markup)
            return
        }
        out.append(0x3C)
        out.append(contentsOf: e.name.utf8)
        if root { raw(" xmlns=\"http://hl7.org/fhir\"") }
        // Attributes: the element id and Extension.url (and any child flagged as an attribute).
        var hasContent = false
        for c in e.children {
            if c.isAttribute, let v = c.value {
                attribute(c.name, v)
            } else {
                hasContent = true
            }
        }
        if let v = e.value { attribute("value", v) }
        guard hasContent else {
            raw("/>")
            return
        }
        out.append(0x3E)
        for c in e.children where !(c.isAttribute && c.value != nil) {
            newline(indent + 1)
            element(c, indent: indent + 1)
        }
        newline(indent)
        raw("</")
        out.append(contentsOf: e.name.utf8)
        out.append(0x3E)
    }

    /// Narrative XHTML, written as markup; the XHTML namespace is added when the div lacks it
    /// (JSON narratives sometimes omit it, and XML without it would put the div in the FHIR namespace).
    private mutating func xhtml(_ markup: String) {
        var m = Substring(markup)
        if m.hasPrefix("<div"), !m.prefix(while: { $0 != ">" }).contains("xmlns=") {
            raw("<div xmlns=\"http://www.w3.org/1999/xhtml\"")
            m = m.dropFirst(4)
        }
        out.append(contentsOf: m.utf8)
    }

    private mutating func attribute(_ name: String, _ value: String) {
        out.append(0x20)
        out.append(contentsOf: name.utf8)
        raw("=\"")
        for c in value.utf8 {
            switch c {
            case 0x26: raw("&amp;")
            case 0x3C: raw("&lt;")
            case 0x3E: raw("&gt;")
            case 0x22: raw("&quot;")
            // Attribute-value normalisation would turn these into spaces; character references keep them.
            case 0x0A: raw("&#10;")
            case 0x0D: raw("&#13;")
            case 0x09: raw("&#9;")
            default: out.append(c)
            }
        }
        out.append(0x22)
    }
}
