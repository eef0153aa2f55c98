// The protocols every generated FHIR type follows, and the decoding context that collects issues
// instead of stopping at the first one (so the validator can report them all).

/// Options for reading FHIR content.
public struct FHIRDecodingOptions: Sendable {
    /// Reject unknown elements (error) instead of dropping them with a warning.
    public var strict = false
    public init(strict: Bool = false) { self.strict = strict }
}

/// Collects issues while decoding an element tree into typed values.
public struct FHIRDecodingContext: Sendable {
    public var options: FHIRDecodingOptions
    public private(set) var issues: [FHIRIssue] = []

    public init(options: FHIRDecodingOptions = FHIRDecodingOptions()) { self.options = options }

    public mutating func record(_ severity: FHIRIssue.Severity, _ code: String, _ message: String, at path: String) {
        issues.append(FHIRIssue(severity, code, message, at: path))
    }

    public var hasErrors: Bool { issues.contains { $0.severity <= .error } }
}

/// A FHIR data type, backbone element or resource that decodes from and encodes to `FHIRElement`.
public protocol FHIRType: Sendable, Equatable {
    /// Decodes `element` (its name is the property name, or the resource type for resources).
    /// Problems are recorded in `context`; required parts that are missing get `placeholder`s.
    init(from element: FHIRElement, _ context: inout FHIRDecodingContext)
    /// Encodes as an element called `name`.
    func encode(name: String) -> FHIRElement
    /// A value standing in for a missing required element (after an error was recorded).
    static var placeholder: Self { get }
}

/// A resource type.
public protocol FHIRResource: FHIRType {
    static var resourceType: String { get }
    var id: FHIRPrimitive<FHIRId>? { get set }
}

/// A resource with narrative, contained resources and extensions (R4 DomainResource).
public protocol FHIRDomainResource: FHIRResource {
    var text: Narrative? { get set }
    var contained: [AnyResource] { get set }
    var `extension`: [Extension] { get set }
    var modifierExtension: [Extension] { get set }
}

extension FHIRResource {
    /// Encodes as a resource (element named by the resource type).
    public func encodeResource() -> FHIRElement {
        var e = encode(name: Self.resourceType)
        e.isResource = true
        return e
    }
}

/// Reads the children of one element for a generated decoder: by name, with cardinality checks,
/// and reports children nobody asked for.
public struct FHIRChildReader {
    let element: FHIRElement
    let path: String
    private var used: Set<Int> = []

    public init(_ element: FHIRElement, path: String) {
        self.element = element
        self.path = path
    }

    private mutating func take(_ name: String) -> [(Int, FHIRElement)] {
        var out: [(Int, FHIRElement)] = []
        for (i, c) in element.children.enumerated() where c.name == name {
            used.insert(i)
            out.append((i, c))
        }
        return out
    }

    /// 0..1
    public mutating func optional<T: FHIRType>(_ name: String, _ context: inout FHIRDecodingContext) -> T? {
        let found = take(name)
        if found.count > 1 {
            context.record(.error, "structure", "'\(name)' appears \(found.count) times; at most once is allowed", at: path + "." + name)
        }
        guard let first = found.first?.1 else { return nil }
        return T(from: first, &context)
    }

    /// 1..1
    public mutating func required<T: FHIRType>(_ name: String, _ context: inout FHIRDecodingContext) -> T {
        if let v: T = optional(name, &context) { return v }
        context.record(.error, "required", "required element '\(name)' is missing", at: path + "." + name)
        return T.placeholder
    }

    /// 0..* (or 1..* with `minimum: 1`)
    public mutating func array<T: FHIRType>(_ name: String, minimum: Int = 0, maximum: Int? = nil, _ context: inout FHIRDecodingContext) -> [T] {
        let found = take(name)
        if found.count < minimum {
            context.record(.error, "required", "'\(name)' needs at least \(minimum) item(s), found \(found.count)", at: path + "." + name)
        }
        if let maximum, found.count > maximum {
            context.record(.error, "structure", "'\(name)' allows at most \(maximum) item(s), found \(found.count)", at: path + "." + name)
        }
        var out: [T] = []
        out.reserveCapacity(found.count)
        for (k, (_, c)) in found.enumerated() {
            var child = c
            if child.location.isEmpty { child.location = "\(path).\(name)[\(k)]" }
            out.append(T(from: child, &context))
        }
        return out
    }

    /// A choice element: which of `name`+Type is present (at most one).
    public mutating func choice(_ names: [String], _ context: inout FHIRDecodingContext) -> (String, FHIRElement)? {
        var hits: [(String, FHIRElement)] = []
        for n in names {
            for (_, c) in take(n) { hits.append((n, c)) }
        }
        if hits.count > 1 {
            context.record(.error, "structure", "choice element has \(hits.count) values (\(hits.map(\.0).joined(separator: ", "))); exactly one is allowed", at: path)
        }
        return hits.first
    }

    /// The element id of a complex element (`id` attribute in XML, `"id"` in JSON).
    public mutating func elementId(_ context: inout FHIRDecodingContext) -> String? {
        let e: FHIRPrimitive<FHIRString>? = optional("id", &context)
        return e?.value?.value
    }

    /// A plain string child that is an XML attribute (Extension.url): a required uri.
    public mutating func attributeURI(_ name: String, _ context: inout FHIRDecodingContext) -> String {
        let e: FHIRPrimitive<FHIRURI> = required(name, &context)
        return e.value?.value ?? ""
    }

    /// Reports children that no decoder read: unknown elements.
    public mutating func finish(_ context: inout FHIRDecodingContext) {
        for (i, c) in element.children.enumerated() where !used.contains(i) {
            if context.options.strict {
                context.record(.error, "structure", "unknown element '\(c.name)'", at: path + "." + c.name)
            } else {
                context.record(.warning, "structure", "unknown element '\(c.name)' ignored", at: path + "." + c.name)
            }
        }
    }

    public var location: String { path }
}

extension FHIRElement {
    /// Path for a child named `name` (used by generated decoders).
    public func childPath(_ fallback: String) -> String { location.isEmpty ? fallback : location }
}

/// Builds an element from typed values in definition order (generated encoders use it).
public struct FHIRElementBuilder {
    public private(set) var element: FHIRElement

    public init(name: String) { element = FHIRElement(name: name) }

    public mutating func add<T: FHIRType>(_ name: String, _ value: T?) {
        guard let value else { return }
        element.children.append(value.encode(name: name))
    }

    public mutating func add<T: FHIRType>(_ name: String, _ values: [T]) {
        for v in values {
            var e = v.encode(name: name)
            e.repeats = true
            element.children.append(e)
        }
    }

    /// A child that is an XML attribute (element id, Extension.url).
    public mutating func addAttribute<T: FHIRType>(_ name: String, _ value: T?) {
        guard let value else { return }
        var e = value.encode(name: name)
        e.isAttribute = true
        element.children.append(e)
    }

    public mutating func addElement(_ e: FHIRElement) { element.children.append(e) }

    /// The element id of a complex element (an XML attribute).
    public mutating func addElementId(_ id: String?) {
        guard let id else { return }
        var e = FHIRElement(name: "id", value: id, kind: .string)
        e.isAttribute = true
        element.children.append(e)
    }

    /// A plain uri that is an XML attribute (Extension.url).
    public mutating func addAttributeURI(_ name: String, _ value: String) {
        var e = FHIRElement(name: name, value: value, kind: .string)
        e.isAttribute = true
        element.children.append(e)
    }
}
