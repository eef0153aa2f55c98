// FHIR XML (R4 xml.html) → FHIRElement, through libxml2 behind the CFHIRXML shim. Elements in the
// `http://hl7.org/fhir` namespace; primitive values in `value` attributes; element ids and
// Extension.url as attributes; narrative `div` kept as XHTML markup.
internal import CFHIRXML

public enum FHIRXMLReader {
    static let fhirNamespace = "http://hl7.org/fhir"
    static let xhtmlNamespace = "http://www.w3.org/1999/xhtml"

    public static func parse(_ bytes: [UInt8], limits: FHIRParseLimits = FHIRParseLimits()) throws(FHIRError) -> FHIRDocument {
        if bytes.count > limits.maxBytes {
            throw FHIRError(.error, "too-costly", "document is \(bytes.count) bytes; the limit is \(limits.maxBytes) (raise it with the size limit option if this is expected)")
        }
        var result = osteoct_xml_result()
        let rc = bytes.withUnsafeBufferPointer { b in
            osteoct_xml_parse(b.baseAddress, b.count, Int32(limits.maxDepth), &result)
        }
        defer { osteoct_xml_free(&result) }
        guard rc == 0 else {
            let message = withUnsafeBytes(of: &result.message) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            let code: String
            switch result.failure {
            case 2: code = "security"
            case 3: code = "too-costly"
            case 4: code = "exception"
            default: code = "structure"
            }
            let at = result.line > 0 ? " (line \(result.line))" : ""
            throw FHIRError(.error, code, message + at)
        }
        var reader = RecordReader(bytes: UnsafeBufferPointer(start: result.records, count: result.length))
        var issues: [FHIRIssue] = []
        guard let root = reader.element(path: "", issues: &issues, isRoot: true) else {
            throw FHIRError(issues.isEmpty ? [FHIRIssue(.error, "structure", "empty XML document", at: "")] : issues)
        }
        if !root.isResource {
            throw FHIRError(.error, "structure", "the root element <\(root.name)> is not a FHIR resource (resource names start with a capital letter)")
        }
        return FHIRDocument(root: root, issues: issues)
    }

    /// Walks the shim's records.
    struct RecordReader {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0

        mutating func u8() -> UInt8 {
            defer { i += 1 }
            return bytes[i]
        }

        mutating func u32() -> Int {
            let v = Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16 | Int(bytes[i + 3]) << 24
            i += 4
            return v
        }

        mutating func str() -> String {
            let n = u32()
            defer { i += n }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[i..<i + n]), as: UTF8.self)
        }

        /// Reads one element record (the cursor is at its 'S' or 'X').
        mutating func element(path parent: String, issues: inout [FHIRIssue], isRoot: Bool = false) -> FHIRElement? {
            guard i < bytes.count else { return nil }
            let tag = u8()
            let line = u32()
            let name = str()
            let ns = str()
            let path = parent.isEmpty ? name : parent + "." + name
            if tag == UInt8(ascii: "X") {
                let markup = str()
                if name != "div" {
                    issues.append(FHIRIssue(.error, "structure", "XHTML element <\(name)> outside a narrative div (line \(line))", at: path))
                    return nil
                }
                return FHIRElement(name: "div", value: markup, kind: .xhtml)
            }
            if ns != FHIRXMLReader.fhirNamespace {
                issues.append(FHIRIssue(.error, "structure", "element <\(name)> is in namespace '\(ns)'; FHIR elements are in \(FHIRXMLReader.fhirNamespace) (line \(line))", at: path))
            }
            var e = FHIRElement(name: name)
            e.isResource = name.utf8.first.map { $0 >= 0x41 && $0 <= 0x5A } ?? false
            let count = u32()
            for _ in 0..<count {
                let an = str()
                let ans = str()
                let av = str()
                if !ans.isEmpty {
                    // xsi:schemaLocation and friends: R4 says exchanged content SHALL NOT carry them.
                    issues.append(FHIRIssue(.warning, "structure", "attribute {\(ans)}\(an) ignored (line \(line))", at: path))
                    continue
                }
                if av.isEmpty || av.utf8.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
                    issues.append(FHIRIssue(.error, "value", "attribute \(an) is empty; FHIR attributes always have a value (line \(line))", at: path))
                    continue
                }
                switch an {
                case "value":
                    e.value = av
                case "id", "url":
                    var a = FHIRElement(name: an, value: av)
                    a.isAttribute = true
                    e.children.append(a)
                default:
                    issues.append(FHIRIssue(.error, "structure", "unknown attribute '\(an)' on <\(name)> (line \(line))", at: path))
                }
            }
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "E"):
                    i += 1
                    if e.value == nil && e.children.isEmpty {
                        issues.append(FHIRIssue(.error, "structure", "<\(name)> is empty; an element needs a value, children or extensions (ele-1, line \(line))", at: path))
                    }
                    return e
                case UInt8(ascii: "T"):
                    i += 1
                    let tl = u32()
                    let text = str()
                    issues.append(FHIRIssue(.error, "structure", "text '\(text.prefix(40))' inside <\(name)>; FHIR puts values in value attributes (line \(tl))", at: path))
                default:
                    if let c = element(path: path, issues: &issues) { e.children.append(c) }
                }
            }
            return e
        }
    }
}
