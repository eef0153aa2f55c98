// Profile conformance from StructureDefinition differentials (R4 profiling.html): cardinality,
// choice-type restrictions, fixed and pattern values, bindings to enumerated value sets, and
// extension slices discriminated by url. This is the subset OsteoCT's own profiles use; other
// constructs in a differential are reported as not checked rather than silently ignored.

/// Conformance resources (StructureDefinitions, ValueSets, CodeSystems) by canonical URL.
public struct ProfileRegistry: Sendable {
    public private(set) var structureDefinitions: [String: FHIRElement] = [:]
    public private(set) var valueSets: [String: FHIRElement] = [:]
    public private(set) var codeSystems: [String: FHIRElement] = [:]

    public init() {}

    /// Adds a conformance resource read from JSON or XML.
    public mutating func add(_ bytes: [UInt8]) throws(FHIRError) {
        let doc = try FHIRCodec.parse(bytes)
        add(doc.root)
    }

    public mutating func add(_ resource: FHIRElement) {
        guard let url = resource.text("url") else { return }
        switch resource.name {
        case "StructureDefinition": structureDefinitions[url] = resource
        case "ValueSet": valueSets[url] = resource
        case "CodeSystem": codeSystems[url] = resource
        default: break
        }
    }

    /// The (system, code) pairs a value set enumerates, or nil when it cannot be enumerated here.
    public func codes(ofValueSet url: String) -> Set<CodeKey>? {
        guard let vs = valueSets[stripVersion(url)] else { return nil }
        var out = Set<CodeKey>()
        for include in vs.at("compose.include") {
            guard let system = include.text("system") else { return nil }
            let listed = include.all("concept").compactMap { $0.text("code") }
            if !listed.isEmpty {
                for c in listed { out.insert(CodeKey(system: system, code: c)) }
            } else if let cs = codeSystems[system] {
                for c in Self.allConcepts(cs) { out.insert(CodeKey(system: system, code: c)) }
            } else {
                return nil
            }
            if include.first("filter") != nil || include.first("valueSet") != nil { return nil }
        }
        return out
    }

    static func allConcepts(_ e: FHIRElement) -> [String] {
        e.all("concept").flatMap { c in (c.text("code").map { [$0] } ?? []) + allConcepts(c) }
    }

    func stripVersion(_ url: String) -> String {
        url.split(separator: "|", maxSplits: 1).first.map(String.init) ?? url
    }

    public func structureDefinition(_ url: String) -> FHIRElement? { structureDefinitions[stripVersion(url)] }
}

public struct CodeKey: Hashable, Sendable {
    public var system: String
    public var code: String
    public init(system: String, code: String) {
        self.system = system
        self.code = code
    }
}

/// One differential element, read from the StructureDefinition tree.
struct DifferentialElement {
    let id: String
    let segments: [(name: String, slice: String?)]
    let min: Int?
    let max: String?
    let typeCodes: [String]
    let typeProfiles: [String]
    let fixed: FHIRElement?
    let pattern: FHIRElement?
    let bindingStrength: String?
    let bindingValueSet: String?

    init(_ e: FHIRElement) {
        id = e.text("id") ?? e.text("path") ?? ""
        segments = DifferentialElement.split(id)
        min = e.text("min").flatMap { Int($0) }
        max = e.text("max")
        typeCodes = e.all("type").compactMap { $0.text("code") }
        typeProfiles = e.all("type").flatMap { $0.all("profile").compactMap(\.value) }
        fixed = e.children.first { $0.name.hasPrefix("fixed") }
        pattern = e.children.first { $0.name.hasPrefix("pattern") }
        bindingStrength = e.first("binding")?.text("strength")
        bindingValueSet = e.first("binding")?.text("valueSet")
    }

    /// `Observation.extension:contributions.value[x]` → [(Observation,nil),(extension,contributions),(value[x],nil)]
    static func split(_ id: String) -> [(name: String, slice: String?)] {
        id.split(separator: ".").map { seg in
            let parts = seg.split(separator: ":", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : nil)
        }
    }

    var parentId: String? {
        guard let dot = id.lastIndex(of: ".") else { return nil }
        return String(id[..<dot])
    }
}

/// Checks one instance tree against one profile.
struct ProfileChecker {
    let registry: ProfileRegistry
    let profileURL: String
    let elements: [DifferentialElement]
    /// url discriminator of every extension slice, by slice element id.
    let sliceURLs: [String: String]

    init?(registry: ProfileRegistry, url: String) {
        guard let sd = registry.structureDefinition(url) else { return nil }
        self.registry = registry
        profileURL = url
        elements = sd.at("differential.element").map(DifferentialElement.init)
        var urls: [String: String] = [:]
        for d in elements where d.segments.last?.slice != nil {
            if let p = d.typeProfiles.first {
                urls[d.id] = p
            } else if let fixed = elements.first(where: { $0.id == d.id + ".url" })?.fixed?.value {
                urls[d.id] = fixed
            } else {
                urls[d.id] = d.segments.last?.slice
            }
        }
        sliceURLs = urls
    }

    func check(_ root: FHIRElement, path: String, into issues: inout [FHIRIssue]) {
        var nodes: [String: [(FHIRElement, String)]] = [:]
        guard let rootId = elements.first?.segments.first?.name else { return }
        nodes[rootId] = [(root, path)]
        for d in elements {
            guard let parentId = d.parentId else { continue }
            guard let parents = nodes[parentId] else {
                nodes[d.id] = []
                continue
            }
            guard let (name, slice) = d.segments.last else { continue }
            var matched: [(FHIRElement, String)] = []
            for (p, ppath) in parents {
                var found: [(FHIRElement, String)] = []
                for c in p.children where matches(c, name: name) {
                    if slice != nil {
                        guard c.text("url") == sliceURLs[d.id] else { continue }
                    }
                    found.append((c, ppath + "." + c.name))
                }
                if found.count > 1 { found = found.enumerated().map { ($0.element.0, "\($0.element.1)[\($0.offset)]") } }
                let label = slice.map { "\(name):\($0)" } ?? name
                if let min = d.min, found.count < min {
                    issues.append(FHIRIssue(.error, "required", "profile \(profileURL): '\(label)' needs at least \(min) (found \(found.count))", at: ppath + "." + label))
                }
                if let max = d.max, max != "*", let m = Int(max), found.count > m {
                    issues.append(FHIRIssue(.error, "structure", m == 0 ? "profile \(profileURL): '\(label)' is not allowed" : "profile \(profileURL): '\(label)' allows at most \(m) (found \(found.count))", at: ppath + "." + label))
                }
                matched += found
            }
            for (m, mpath) in matched { checkValue(d, m, mpath, &issues) }
            nodes[d.id] = matched
        }
    }

    func matches(_ c: FHIRElement, name: String) -> Bool {
        if name.hasSuffix("[x]") {
            let base = name.dropLast(3)
            guard c.name.count > base.count, c.name.hasPrefix(base) else { return false }
            return c.name[c.name.index(c.name.startIndex, offsetBy: base.count)].isUppercase
        }
        return c.name == name
    }

    func checkValue(_ d: DifferentialElement, _ m: FHIRElement, _ path: String, _ issues: inout [FHIRIssue]) {
        if let name = d.segments.last?.name, name.hasSuffix("[x]"), !d.typeCodes.isEmpty {
            let suffix = String(m.name.dropFirst(name.count - 3))
            let allowed = d.typeCodes.map { upperFirst($0) }
            if !allowed.contains(suffix) {
                issues.append(FHIRIssue(.error, "structure", "profile \(profileURL): '\(m.name)' is not allowed here; use \(allowed.map { String(name.dropLast(3)) + $0 }.joined(separator: " or "))", at: path))
            }
        }
        if let fixed = d.fixed, !sameContent(fixed, m) {
            issues.append(FHIRIssue(.error, "value", "profile \(profileURL): value must be exactly \(describe(fixed))", at: path))
        }
        if let pattern = d.pattern, !contains(m, pattern: pattern) {
            issues.append(FHIRIssue(.error, "value", "profile \(profileURL): value must match the pattern \(describe(pattern))", at: path))
        }
        if let strength = d.bindingStrength, let vs = d.bindingValueSet, strength == "required" || strength == "extensible" {
            guard let codes = registry.codes(ofValueSet: vs) else {
                issues.append(FHIRIssue(.information, "not-supported", "profile \(profileURL): value set \(vs) cannot be expanded here; binding not checked", at: path))
                return
            }
            let present = codesIn(m)
            // A bare code has no system: it matches the code in any system of the value set.
            let ok = present.contains { k in k.system.isEmpty ? codes.contains { $0.code == k.code } : codes.contains(k) }
            if !ok && !(strength == "extensible" && present.isEmpty && m.first("text") != nil) {
                let severity: FHIRIssue.Severity = strength == "required" ? .error : .warning
                let shown = present.map { "\($0.system)|\($0.code)" }.joined(separator: ", ")
                issues.append(FHIRIssue(severity, "code-invalid", "profile \(profileURL): \(shown.isEmpty ? "no code" : shown) is not in the \(strength) value set \(vs)", at: path))
            }
        }
        // An extension slice: check the extension against its own definition.
        if d.segments.last?.slice != nil, let url = d.typeProfiles.first, url != profileURL,
            let ext = ProfileChecker(registry: registry, url: url) {
            ext.check(m, path: path, into: &issues)
        }
    }

    /// Codes carried by a code, Coding or CodeableConcept element.
    func codesIn(_ e: FHIRElement) -> [CodeKey] {
        if let v = e.value { return [CodeKey(system: "", code: v)] }
        if let code = e.text("code") { return [CodeKey(system: e.text("system") ?? "", code: code)] }
        return e.all("coding").compactMap { c in c.text("code").map { CodeKey(system: c.text("system") ?? "", code: $0) } }
    }

    /// fixed[x]: same value and same children (ignoring order of unrelated names).
    func sameContent(_ fixed: FHIRElement, _ m: FHIRElement) -> Bool {
        guard fixed.value == m.value else { return false }
        let a = fixed.children.filter { !$0.isAttribute || $0.name != "id" }
        let b = m.children.filter { !$0.isAttribute || $0.name != "id" }
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { $0.name == $1.name && sameContent($0, $1) }
    }

    /// pattern[x]: every part of the pattern is present in the value (repeating parts: some item matches).
    func contains(_ m: FHIRElement, pattern: FHIRElement) -> Bool {
        if let v = pattern.value, v != m.value { return false }
        for p in pattern.children {
            if !m.all(p.name).contains(where: { contains($0, pattern: p) }) { return false }
        }
        return true
    }

    func describe(_ e: FHIRElement) -> String {
        if let v = e.value { return "'\(v)'" }
        let text = String(decoding: FHIRJSONWriter.write(FHIRElement(name: "x", children: e.children)), as: UTF8.self)
        // The writer prefixes `"resourceType":"x",`; drop it.
        return "{" + text.dropFirst("{\"resourceType\":\"x\",".count)
    }

    func upperFirst(_ s: String) -> String { s.prefix(1).uppercased() + s.dropFirst() }
}
