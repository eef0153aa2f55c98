// The validator: R4 base rules (cardinality, types, required bindings while decoding; the key
// invariants by walking the typed tree) and profile conformance for the profiles a resource claims
// in meta.profile (or that the caller asks for). The result is a list of OperationOutcome-shaped
// issues.

public struct FHIRValidator: Sendable {
    public var registry: ProfileRegistry
    public var options: FHIRDecodingOptions
    public var limits: FHIRParseLimits
    /// Profiles every top-level resource is checked against, in addition to its meta.profile.
    public var requiredProfiles: [String] = []

    public init(registry: ProfileRegistry = ProfileRegistry(), options: FHIRDecodingOptions = FHIRDecodingOptions(), limits: FHIRParseLimits = FHIRParseLimits()) {
        self.registry = registry
        self.options = options
        self.limits = limits
    }

    /// Validates a document. Never throws: unreadable input becomes a fatal issue.
    public func validate(_ bytes: [UInt8], format: FHIRFormat? = nil) -> [FHIRIssue] {
        let decoded: FHIRDecoded<AnyResource>
        do {
            decoded = try FHIRCodec.inspect(bytes, format: format, options: options, limits: limits)
        } catch {
            return error.issues.map { var i = $0; i.severity = .fatal; return i }
        }
        return decoded.issues + validateRules(decoded.resource.encodeResource())
    }

    /// Validates a typed resource. Values built in code can break lexical rules too (an empty
    /// string, a malformed date), so the resource is written and read back like any document.
    public func validate(_ resource: AnyResource) -> [FHIRIssue] {
        validate(FHIRCodec.encode(resource, format: .json), format: .json)
    }

    /// Invariants and profiles over a resource tree as the typed model writes it.
    public func validateRules(_ root: FHIRElement) -> [FHIRIssue] {
        var issues: [FHIRIssue] = []
        walkResource(root, path: root.name, contained: false, containerReferences: [], topLevel: true, bundleURLs: [:], &issues)
        return issues
    }

    private func walkResource(_ r: FHIRElement, path: String, contained: Bool, containerReferences: Set<String>, topLevel: Bool,
                              bundleURLs: [String: String], _ issues: inout [FHIRIssue]) {
        Invariants.resourceRules(r, contained: contained, containerReferences: containerReferences, path: path, into: &issues)
        var scope = InvariantScope(resource: r, isContained: contained)
        scope.bundleURLs = bundleURLs
        if r.name == "Bundle" {
            // References inside a Bundle may name other entries by fullUrl.
            for entry in r.all("entry") {
                if let url = entry.text("fullUrl"), let type = entry.first("resource")?.wrappedResource?.name { scope.bundleURLs[url] = type }
            }
        }
        let references = contained ? containerReferences : r.localReferences()
        walk(r, type: r.name, path: path, scope: scope, references: references, &issues)
        var profiles = r.first("meta")?.all("profile").compactMap(\.value) ?? []
        if topLevel { profiles += requiredProfiles.filter { !profiles.contains($0) } }
        for url in profiles {
            if let checker = ProfileChecker(registry: registry, url: url) {
                checker.check(r, path: path, into: &issues)
            } else if !url.hasPrefix("http://hl7.org/fhir/StructureDefinition/") {
                issues.append(FHIRIssue(.warning, "not-supported", "profile \(url) is not known here; only the R4 base rules were checked", at: path))
            }
        }
    }

    private func walk(_ e: FHIRElement, type: String, path: String, scope: InvariantScope, references: Set<String>, _ issues: inout [FHIRIssue]) {
        for inv in Invariants.byType[type] ?? [] where !inv.holds(e, scope) {
            issues.append(FHIRIssue(inv.severity, "invariant", "\(inv.key): \(inv.human)", at: path))
        }
        // Same-named children are adjacent (definition order), so their index is a run counter.
        var k = 0
        for (i, c) in e.children.enumerated() where !c.isAttribute {
            k = i > 0 && e.children[i - 1].name == c.name ? k + 1 : 0
            let isExtension = c.name == "extension" || c.name == "modifierExtension"
            guard let childType = isExtension ? "Extension" : FHIRTypeInfo.childType(type, c.name) else { continue }
            // Primitives carry no invariants of their own; their extensions are still walked.
            if c.children.isEmpty && childType.first?.isLowercase == true && childType.firstIndex(of: ".") == nil { continue }
            let many = c.repeats || k > 0 || (i + 1 < e.children.count && e.children[i + 1].name == c.name)
            let childPath = path + "." + c.name + (many ? "[\(k)]" : "")
            if childType == "Resource" {
                if let inner = c.wrappedResource {
                    if c.name == "contained" {
                        walkResource(inner, path: childPath, contained: true, containerReferences: references, topLevel: false, bundleURLs: scope.bundleURLs, &issues)
                    } else {
                        walkResource(inner, path: childPath, contained: false, containerReferences: [], topLevel: false, bundleURLs: scope.bundleURLs, &issues)
                    }
                }
                continue
            }
            if childType == "Reference", let allowed = FHIRTypeInfo.referenceTargets(type, c.name), !allowed.contains("Resource"),
                let target = referencedType(c, scope: scope), !allowed.contains(target) {
                issues.append(FHIRIssue(.error, "structure", "a reference here may point to \(allowed.joined(separator: ", ")), not to a \(target)", at: childPath))
            }
            walk(c, type: childType, path: childPath, scope: scope, references: references, &issues)
        }
    }
}

extension FHIRValidator {
    /// The resource type a Reference points to, when it can be told: `Type/id`, an absolute URL
    /// ending in `Type/id`, a conditional `Type?query`, `#id` of a contained resource, or a fullUrl
    /// of an entry of the enclosing Bundle.
    func referencedType(_ ref: FHIRElement, scope: InvariantScope) -> String? {
        if let declared = ref.text("type"), !declared.hasPrefix("http") || declared.hasPrefix("http://hl7.org/fhir/StructureDefinition/") {
            return String(declared.split(separator: "/").last ?? Substring(declared))
        }
        guard let r = ref.text("reference") else { return nil }
        if let t = scope.bundleURLs[r] { return t }
        if r.hasPrefix("#") {
            let id = r.dropFirst()
            return scope.resource.all("contained").compactMap(\.wrappedResource).first { $0.text("id") == String(id) }?.name
        }
        if r.hasPrefix("urn:") { return nil }
        let path = r.split(separator: "?", maxSplits: 1)[0]
        let parts = path.split(separator: "/")
        if r.contains("?") { return parts.last.map(String.init) }
        // …/Type/id or …/Type/id/_history/v
        var steps = Array(parts)
        if steps.count >= 4, steps[steps.count - 2] == "_history" { steps.removeLast(2) }
        guard steps.count >= 2 else { return nil }
        let type = String(steps[steps.count - 2])
        return fhirR4ResourceTypes.contains(type) ? type : nil
    }
}

extension FHIRIssue {
    /// The issue as an OperationOutcome.issue element tree.
    func outcomeIssue() -> FHIRElement {
        var b = FHIRElement(name: "issue")
        b.repeats = true
        b.children.append(FHIRElement(name: "severity", value: severity.rawValue, kind: .string))
        b.children.append(FHIRElement(name: "code", value: code, kind: .string))
        if !diagnostics.isEmpty { b.children.append(FHIRElement(name: "diagnostics", value: diagnostics, kind: .string)) }
        if !expression.isEmpty {
            var x = FHIRElement(name: "expression", value: expression, kind: .string)
            x.repeats = true
            b.children.append(x)
        }
        return b
    }
}

/// OperationOutcome for a list of issues (R4 operationoutcome.html: at least one issue; an
/// "all OK" outcome carries one informational issue).
public func operationOutcomeElement(_ issues: [FHIRIssue], id: String? = nil) -> FHIRElement {
    var e = FHIRElement(name: "OperationOutcome")
    e.isResource = true
    if let id { e.children.append(FHIRElement(name: "id", value: id, kind: .string)) }
    let shown = issues.isEmpty ? [FHIRIssue(.information, "informational", "No issues detected", at: "")] : issues
    e.children += shown.map { $0.outcomeIssue() }
    return e
}
