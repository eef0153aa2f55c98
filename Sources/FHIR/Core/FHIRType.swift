// The protocols every generated FHIR type follows, and the decoding context that collects issues
// instead of stopping at the first one (so the validator can report them all).

/// Options for reading FHIR content.
public struct FHIRDecodingOptions: Sendable {
    /// Reject unknown elements (error) instead of dropping them with a warning.
    public var strict = false
    public init(strict: Bool = false) { self.strict = strict }
}

/// Collects issues while decoding an element tree into typed values. It also tracks where the
/// decoder is (a stack of element names and indices), so a path string is built only when an
/// issue is recorded.
public struct FHIRDecodingContext: Sendable {
    public var options: FHIRDecodingOptions
    public private(set) var issues: [FHIRIssue] = []
    private var stack: [(name: String, index: Int)] = []

    public init(options: FHIRDecodingOptions = FHIRDecodingOptions()) { self.options = options }

    /// Steps into child `name` (item `index` of a repeating element, or -1).
    public mutating func enter(_ name: String, index: Int = -1) { stack.append((name, index)) }
    public mutating func leave() { stack.removeLast() }

    /// FHIRPath-like location of the element being decoded (`Bundle.entry[2].resource.code`).
    public var path: String { fhirPath(stack) }

    /// Records an issue at the current element, or at `relative` below it (a child name).
    public mutating func record(_ severity: FHIRIssue.Severity, _ code: String, _ message: String, at relative: String = "") {
        let here = path
        let at = relative.isEmpty ? here : (here.isEmpty ? relative : here + "." + relative)
        issues.append(FHIRIssue(severity, code, message, at: at))
    }

    public var hasErrors: Bool { issues.contains { $0.severity <= .error } }
}

/// A FHIR data type, backbone element or resource that decodes from and encodes to `FHIRElement`.
public protocol FHIRType: Sendable, Equatable {
    /// Decodes `element` (its name is the property name, or the resource type for resources).
    /// Problems are recorded in `context`; a missing required part is recorded as an error and
    /// filled with `standInForMissing` so that decoding goes on and reports every problem at once.
    init(from element: FHIRElement, _ context: inout FHIRDecodingContext)
    /// Encodes as an element called `name`.
    func encode(name: String) -> FHIRElement
    /// A value standing in for a missing required element (after an error was recorded).
    static var standInForMissing: Self { get }
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
    /// Which children were read (bit k = child k; children beyond 64 in `usedMore`).
    private var used: UInt64 = 0
    private var usedMore: Set<Int> = []

    public init(_ element: FHIRElement) {
        self.element = element
    }

    private mutating func mark(_ i: Int) {
        if i < 64 { used |= 1 << UInt64(i) } else { usedMore.insert(i) }
    }

    private func isUsed(_ i: Int) -> Bool { i < 64 ? used & (1 << UInt64(i)) != 0 : usedMore.contains(i) }

    /// Index of the first child called `name`, and how many there are.
    private mutating func find(_ name: String) -> (first: Int, count: Int) {
        var first = -1
        var count = 0
        // By index: `enumerated()` would copy every child element (and retain its storage) per lookup.
        let children = element.children
        for i in children.indices where children[i].name == name {
            mark(i)
            if first < 0 { first = i }
            count += 1
        }
        return (first, count)
    }

    /// 0..1
    public mutating func optional<T: FHIRType>(_ name: String, _ context: inout FHIRDecodingContext) -> T? {
        let (first, count) = find(name)
        guard first >= 0 else { return nil }
        if count > 1 {
            context.record(.error, "structure", "'\(name)' appears \(count) times; at most once is allowed", at: name)
        }
        context.enter(name)
        defer { context.leave() }
        return T(from: element.children[first], &context)
    }

    /// 1..1
    public mutating func required<T: FHIRType>(_ name: String, _ context: inout FHIRDecodingContext) -> T {
        if let v: T = optional(name, &context) { return v }
        context.record(.error, "required", "required element '\(name)' is missing", at: name)
        return T.standInForMissing
    }

    /// 0..* (or 1..* with `minimum: 1`)
    public mutating func array<T: FHIRType>(_ name: String, minimum: Int = 0, maximum: Int? = nil, _ context: inout FHIRDecodingContext) -> [T] {
        var out: [T] = []
        var k = 0
        let children = element.children
        for i in children.indices where children[i].name == name {
            mark(i)
            context.enter(name, index: k)
            out.append(T(from: children[i], &context))
            context.leave()
            k += 1
        }
        if k < minimum {
            context.record(.error, "required", "'\(name)' needs at least \(minimum) item(s), found \(k)", at: name)
        }
        if let maximum, k > maximum {
            context.record(.error, "structure", "'\(name)' allows at most \(maximum) item(s), found \(k)", at: name)
        }
        return out
    }

    /// A choice element: which of `name`+Type is present (at most one).
    public mutating func choice(_ names: [String], _ context: inout FHIRDecodingContext) -> (String, FHIRElement)? {
        var hit: (String, FHIRElement)?
        var found: [String] = []
        let children = element.children
        for i in children.indices where names.contains(children[i].name) {
            mark(i)
            found.append(children[i].name)
            if hit == nil { hit = (children[i].name, children[i]) }
        }
        if found.count > 1 {
            context.record(.error, "structure", "choice element has \(found.count) values (\(found.joined(separator: ", "))); exactly one is allowed")
        }
        return hit
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
        let children = element.children
        for i in children.indices where !isUsed(i) {
            let name = children[i].name
            if context.options.strict {
                context.record(.error, "structure", "unknown element '\(name)'", at: name)
            } else {
                context.record(.warning, "structure", "unknown element '\(name)' ignored", at: name)
            }
        }
    }
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

/// A FHIRPath-like location from a stack of (name, item index or −1): `Bundle.entry[2].resource.code`.
func fhirPath(_ stack: [(name: String, index: Int)]) -> String {
    var s = ""
    for (k, seg) in stack.enumerated() {
        if k > 0 { s += "." }
        s += seg.name
        if seg.index >= 0 { s += "[\(seg.index)]" }
    }
    return s
}
