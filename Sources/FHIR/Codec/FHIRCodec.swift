// One entry point for reading and writing resources in either wire format.

/// The two FHIR wire formats.
public enum FHIRFormat: String, Sendable, CaseIterable {
    case json, xml

    /// The format of a document from its first significant byte ('{' JSON, '<' XML).
    public static func detect(_ bytes: [UInt8]) -> FHIRFormat? {
        var i = 0
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
        guard i < bytes.count else { return nil }
        switch bytes[i] {
        case 0x7B: return .json
        case 0x3C: return .xml
        default: return nil
        }
    }

    /// The format named by a file's extension (`.json`, `.xml`), if any.
    public static func fromPath(_ path: String) -> FHIRFormat? {
        let lower = path.lowercased()
        if lower.hasSuffix(".json") { return .json }
        if lower.hasSuffix(".xml") { return .xml }
        return nil
    }

    /// The IANA media type (R4 http.html).
    public var mediaType: String { self == .json ? "application/fhir+json" : "application/fhir+xml" }
}

/// A decoded resource with the warnings (and, from `inspect`, errors) found on the way.
public struct FHIRDecoded<R: Sendable>: Sendable {
    public var resource: R
    public var issues: [FHIRIssue]
}

public enum FHIRCodec {
    /// Parses bytes into the element tree (format detected when not given).
    public static func parse(_ bytes: [UInt8], format: FHIRFormat? = nil, limits: FHIRParseLimits = FHIRParseLimits()) throws(FHIRError) -> FHIRDocument {
        guard let f = format ?? FHIRFormat.detect(bytes) else {
            throw FHIRError(.error, "structure", "not FHIR JSON or XML: the content starts with neither '{' nor '<'")
        }
        switch f {
        case .json: return try FHIRJSONReader.parse(bytes, limits: limits)
        case .xml: return try FHIRXMLReader.parse(bytes, limits: limits)
        }
    }

    /// Parses and decodes without throwing on content errors: every issue is returned (the validator
    /// uses this). Throws only when the bytes are not a readable document at all.
    public static func inspect(_ bytes: [UInt8], format: FHIRFormat? = nil, options: FHIRDecodingOptions = FHIRDecodingOptions(), limits: FHIRParseLimits = FHIRParseLimits()) throws(FHIRError) -> FHIRDecoded<AnyResource> {
        let doc = try parse(bytes, format: format, limits: limits)
        var context = FHIRDecodingContext(options: options)
        context.enter(doc.root.name)
        let resource = AnyResource(resource: doc.root, &context)
        return FHIRDecoded(resource: resource, issues: doc.issues + context.issues)
    }

    /// Reads a resource of any type; throws when there is any error (warnings come back).
    public static func decode(_ bytes: [UInt8], format: FHIRFormat? = nil, options: FHIRDecodingOptions = FHIRDecodingOptions(), limits: FHIRParseLimits = FHIRParseLimits()) throws(FHIRError) -> FHIRDecoded<AnyResource> {
        let d = try inspect(bytes, format: format, options: options, limits: limits)
        if d.issues.contains(where: { $0.severity <= .error }) { throw FHIRError(d.issues) }
        return d
    }

    /// Reads a resource of one type.
    public static func decode<T: FHIRResource>(_ type: T.Type, from bytes: [UInt8], format: FHIRFormat? = nil, options: FHIRDecodingOptions = FHIRDecodingOptions(), limits: FHIRParseLimits = FHIRParseLimits()) throws(FHIRError) -> FHIRDecoded<T> {
        let doc = try parse(bytes, format: format, limits: limits)
        guard doc.root.name == T.resourceType else {
            throw FHIRError(.error, "structure", "expected a \(T.resourceType), found a \(doc.root.name)", at: doc.root.name)
        }
        var context = FHIRDecodingContext(options: options)
        context.enter(doc.root.name)
        let r = T(from: doc.root, &context)
        let issues = doc.issues + context.issues
        if issues.contains(where: { $0.severity <= .error }) { throw FHIRError(issues) }
        return FHIRDecoded(resource: r, issues: issues)
    }

    /// Writes a resource element tree.
    public static func write(_ element: FHIRElement, format: FHIRFormat, pretty: Bool = false) -> [UInt8] {
        switch format {
        case .json: return FHIRJSONWriter.write(element, pretty: pretty)
        case .xml: return FHIRXMLWriter.write(element, pretty: pretty)
        }
    }

    /// Writes a resource.
    public static func encode(_ resource: some FHIRResource, format: FHIRFormat, pretty: Bool = false) -> [UInt8] {
        write(resource.encodeResource(), format: format, pretty: pretty)
    }

    /// Writes a resource of any type.
    public static func encode(_ resource: AnyResource, format: FHIRFormat, pretty: Bool = false) -> [UInt8] {
        write(resource.encodeResource(), format: format, pretty: pretty)
    }
}
