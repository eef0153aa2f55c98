// The R4 base invariants the validator evaluates (keys, severities and wording from the R4 core
// StructureDefinitions' `constraint` entries; the checks are hand-written equivalents of their
// FHIRPath expressions). Cardinality, types and required bindings are checked while decoding.

/// One R4 invariant.
struct Invariant: Sendable {
    let key: String
    let severity: FHIRIssue.Severity
    let human: String
    /// True when the element satisfies the invariant.
    let holds: @Sendable (FHIRElement, InvariantScope) -> Bool
}

/// What an invariant may look at beyond its element.
struct InvariantScope {
    /// The enclosing resource (for ref-1: contained resources).
    var resource: FHIRElement
    /// The element is inside a contained resource.
    var isContained: Bool
    /// fullUrl → resource type of the entries of the enclosing Bundle(s).
    var bundleURLs: [String: String] = [:]
}

enum Invariants {
    static let ucum = "http://unitsofmeasure.org"

    /// Invariants by the FHIR type (or backbone path) they are declared on.
    static let byType: [String: [Invariant]] = [
        "Extension": [
            Invariant(key: "ext-1", severity: .error, human: "Must have either extensions or value[x], not both") { e, _ in
                (e.first("extension") != nil) != (e.choice("value") != nil)
            },
        ],
        "Quantity": [qty3],
        "SimpleQuantity": [
            qty3,
            Invariant(key: "sqty-1", severity: .error, human: "The comparator is not used on a SimpleQuantity") { e, _ in e.first("comparator") == nil },
        ],
        "Age": [qty3],
        "Duration": [qty3],
        "Count": [qty3],
        "Distance": [qty3],
        "MoneyQuantity": [qty3],
        "Period": [
            Invariant(key: "per-1", severity: .error, human: "If present, start SHALL have a lower value than end") { e, _ in
                guard let s = e.text("start"), let t = e.text("end") else { return true }
                return DateOrder.compare(s, t) != .orderedDescending
            },
        ],
        "Range": [
            Invariant(key: "rng-2", severity: .error, human: "If present, low SHALL have a lower value than high") { e, _ in
                guard let l = e.first("low")?.first("value")?.number, let h = e.first("high")?.first("value")?.number else { return true }
                return l <= h
            },
        ],
        "Ratio": [
            Invariant(key: "rat-1", severity: .error, human: "Numerator and denominator SHALL both be present, or both are absent. If both are absent, there SHALL be some extension present") { e, _ in
                let n = e.first("numerator") != nil
                let d = e.first("denominator") != nil
                return (n && d) || (!n && !d && e.first("extension") != nil)
            },
        ],
        "Attachment": [
            Invariant(key: "att-1", severity: .error, human: "If the Attachment has data, it SHALL have a contentType") { e, _ in
                e.first("data") == nil || e.first("contentType") != nil
            },
        ],
        "ContactPoint": [
            Invariant(key: "cpt-2", severity: .error, human: "A system is required if a value is provided.") { e, _ in
                e.first("value") == nil || e.first("system") != nil
            },
        ],
        "Reference": [
            Invariant(key: "ref-1", severity: .error, human: "SHALL have a contained resource if a local reference is provided") { e, scope in
                guard let r = e.text("reference"), r.hasPrefix("#") else { return true }
                let id = String(r.dropFirst())
                // "#" alone refers to the containing resource.
                if id.isEmpty { return scope.isContained }
                return scope.resource.all("contained").contains { $0.wrappedResource?.text("id") == id }
            },
        ],
        "Narrative": [
            Invariant(key: "txt-1", severity: .error, human: "The narrative SHALL contain only the basic html formatting elements and attributes") { e, _ in
                guard let div = e.text("div") else { return true }
                return NarrativeCheck.onlyBasicHTML(div)
            },
            Invariant(key: "txt-2", severity: .error, human: "The narrative SHALL have some non-whitespace content") { e, _ in
                guard let div = e.text("div") else { return true }
                return NarrativeCheck.hasText(div)
            },
        ],
        "Timing.repeat": [
            Invariant(key: "tim-1", severity: .error, human: "if there's a duration, there needs to be duration units") { e, _ in
                e.first("duration") == nil || e.first("durationUnit") != nil
            },
            Invariant(key: "tim-2", severity: .error, human: "if there's a period, there needs to be period units") { e, _ in
                e.first("period") == nil || e.first("periodUnit") != nil
            },
        ],
        "Observation": [
            Invariant(key: "obs-6", severity: .error, human: "dataAbsentReason SHALL only be present if Observation.value[x] is not present") { e, _ in
                e.first("dataAbsentReason") == nil || e.choice("value") == nil
            },
            Invariant(key: "obs-7", severity: .error, human: "If Observation.code is the same as an Observation.component.code then the value element associated with the code SHALL NOT be present") { e, _ in
                guard e.choice("value") != nil, let code = e.first("code") else { return true }
                let own = Set(code.codings.map { "\($0.system ?? "")|\($0.code ?? "")" })
                return !e.all("component").contains { c in
                    c.first("code")?.codings.contains { own.contains("\($0.system ?? "")|\($0.code ?? "")") } == true
                }
            },
        ],
        "Observation.referenceRange": [obs3],
        "RiskAssessment.prediction": [
            Invariant(key: "ras-2", severity: .error, human: "Must be <= 100") { e, _ in
                guard let p = e.first("probabilityDecimal")?.number else { return true }
                return p <= 100
            },
            Invariant(key: "ras-1", severity: .error, human: "low and high must be percentages, if present") { e, _ in
                guard let r = e.first("probabilityRange") else { return true }
                return ["low", "high"].allSatisfy { side in
                    guard let q = r.first(side) else { return true }
                    return q.text("code") == "%" && q.text("system") == ucum
                }
            },
        ],
        "ServiceRequest": [
            Invariant(key: "prr-1", severity: .error, human: "orderDetail SHALL only be present if code is present") { e, _ in
                e.first("orderDetail") == nil || e.first("code") != nil
            },
        ],
        "Condition": [
            Invariant(key: "con-3", severity: .warning, human: "Condition.clinicalStatus SHALL be present if verificationStatus is not entered-in-error and category is problem-list-item") { e, _ in
                let problem = e.all("category").contains { $0.codings.contains { $0.code == "problem-list-item" } }
                let eie = e.first("verificationStatus")?.codings.contains { $0.code == "entered-in-error" } == true
                return e.first("clinicalStatus") != nil || eie || !problem
            },
            Invariant(key: "con-4", severity: .error, human: "If condition is abated, then clinicalStatus must be either inactive, resolved, or remission") { e, _ in
                guard e.choice("abatement") != nil, let cs = e.first("clinicalStatus") else { return true }
                return cs.codings.contains { ["inactive", "resolved", "remission"].contains($0.code ?? "") }
            },
            Invariant(key: "con-5", severity: .error, human: "Condition.clinicalStatus SHALL NOT be present if verification Status is entered-in-error") { e, _ in
                let eie = e.first("verificationStatus")?.codings.contains { $0.code == "entered-in-error" } == true
                return !eie || e.first("clinicalStatus") == nil
            },
        ],
        "FamilyMemberHistory": [
            Invariant(key: "fhs-1", severity: .error, human: "Can have age[x] or born[x], but not both") { e, _ in
                !(e.choice("age") != nil && e.choice("born") != nil)
            },
            Invariant(key: "fhs-2", severity: .error, human: "Can only have estimatedAge if age[x] is present") { e, _ in
                e.first("estimatedAge") == nil || e.choice("age") != nil
            },
        ],
        "Patient.contact": [
            Invariant(key: "pat-1", severity: .error, human: "SHALL at least contain a contact's details or a reference to an organization") { e, _ in
                ["name", "telecom", "address", "organization"].contains { e.first($0) != nil }
            },
        ],
        "AuditEvent.entity": [
            Invariant(key: "sev-1", severity: .error, human: "Either a name or a query (NOT both)") { e, _ in
                !(e.first("name") != nil && e.first("query") != nil)
            },
        ],
        "Parameters.parameter": [
            Invariant(key: "inv-1", severity: .error, human: "A parameter must have one and only one of (value, resource, part)") { e, _ in
                let n = (e.choice("value") != nil ? 1 : 0) + (e.first("resource") != nil ? 1 : 0) + (e.first("part") != nil ? 1 : 0)
                return n == 1
            },
        ],
        "CapabilityStatement": [
            Invariant(key: "cpb-1", severity: .error, human: "A Capability Statement SHALL have at least one of REST, messaging or document element.") { e, _ in
                ["rest", "messaging", "document"].contains { e.first($0) != nil }
            },
            Invariant(key: "cpb-2", severity: .error, human: "A Capability Statement SHALL have at least one of description, software, or implementation element.") { e, _ in
                ["description", "software", "implementation"].contains { e.first($0) != nil }
            },
            Invariant(key: "cpb-14", severity: .error, human: "If kind = instance, implementation must be present and software may be present") { e, _ in
                e.text("kind") != "instance" || e.first("implementation") != nil
            },
            Invariant(key: "cpb-15", severity: .error, human: "If kind = capability, implementation must be absent, software must be present") { e, _ in
                e.text("kind") != "capability" || (e.first("implementation") == nil && e.first("software") != nil)
            },
            Invariant(key: "cpb-16", severity: .error, human: "If kind = requirements, implementation and software must be absent") { e, _ in
                e.text("kind") != "requirements" || (e.first("implementation") == nil && e.first("software") == nil)
            },
        ],
        "CapabilityStatement.rest": [
            Invariant(key: "cpb-9", severity: .error, human: "A given resource can only be described once per RESTful mode.") { e, _ in
                let types = e.all("resource").compactMap { $0.text("type") }
                return Set(types).count == types.count
            },
        ],
        "CapabilityStatement.rest.resource": [
            Invariant(key: "cpb-12", severity: .error, human: "Search parameter names must be unique in the context of a resource.") { e, _ in
                let names = e.all("searchParam").compactMap { $0.text("name") }
                return Set(names).count == names.count
            },
        ],
        "Bundle": bundle,
        "Bundle.entry": [
            Invariant(key: "bdl-5", severity: .error, human: "must be a resource unless there's a request or response") { e, _ in
                e.first("resource") != nil || e.first("request") != nil || e.first("response") != nil
            },
            Invariant(key: "bdl-8", severity: .error, human: "fullUrl cannot be a version specific reference") { e, _ in
                !(e.text("fullUrl")?.contains("/_history/") ?? false)
            },
        ],
    ]

    static let qty3 = Invariant(key: "qty-3", severity: .error, human: "If a code for the unit is present, the system SHALL also be present") { e, _ in
        e.first("code") == nil || e.first("system") != nil
    }

    static let obs3 = Invariant(key: "obs-3", severity: .error, human: "Must have at least a low or a high or text") { e, _ in
        e.first("low") != nil || e.first("high") != nil || e.first("text") != nil
    }

    static let bundle: [Invariant] = [
        Invariant(key: "bdl-1", severity: .error, human: "total only when a search or history") { e, _ in
            e.first("total") == nil || ["searchset", "history"].contains(e.text("type") ?? "")
        },
        Invariant(key: "bdl-2", severity: .error, human: "entry.search only when a search") { e, _ in
            e.text("type") == "searchset" || !e.all("entry").contains { $0.first("search") != nil }
        },
        Invariant(key: "bdl-3", severity: .error, human: "entry.request mandatory for batch/transaction/history, otherwise prohibited") { e, _ in
            let needs = ["batch", "transaction", "history"].contains(e.text("type") ?? "")
            return e.all("entry").allSatisfy { ($0.first("request") != nil) == needs }
        },
        Invariant(key: "bdl-4", severity: .error, human: "entry.response mandatory for batch-response/transaction-response/history, otherwise prohibited") { e, _ in
            let needs = ["batch-response", "transaction-response", "history"].contains(e.text("type") ?? "")
            return e.all("entry").allSatisfy { ($0.first("response") != nil) == needs }
        },
        Invariant(key: "bdl-7", severity: .error, human: "FullUrl must be unique in a bundle, or else entries with the same fullUrl must have different meta.versionId (except in history bundles)") { e, _ in
            if e.text("type") == "history" { return true }
            var seen = Set<String>()
            for entry in e.all("entry") {
                guard let url = entry.text("fullUrl") else { continue }
                let version = entry.first("resource")?.wrappedResource?.first("meta")?.text("versionId") ?? ""
                if !seen.insert(url + "|" + version).inserted { return false }
            }
            return true
        },
        Invariant(key: "bdl-9", severity: .error, human: "A document must have an identifier with a system and a value") { e, _ in
            e.text("type") != "document" || (e.first("identifier")?.first("system") != nil && e.first("identifier")?.first("value") != nil)
        },
        Invariant(key: "bdl-10", severity: .error, human: "A document must have a date") { e, _ in
            e.text("type") != "document" || e.first("timestamp") != nil
        },
        Invariant(key: "bdl-11", severity: .error, human: "A document must have a Composition as the first resource") { e, _ in
            e.text("type") != "document" || e.first("entry")?.first("resource")?.wrappedResource?.name == "Composition"
        },
        Invariant(key: "bdl-12", severity: .error, human: "A message must have a MessageHeader as the first resource") { e, _ in
            e.text("type") != "message" || e.first("entry")?.first("resource")?.wrappedResource?.name == "MessageHeader"
        },
    ]

    /// Rules every resource follows, and those for contained resources (dom-2…dom-6).
    static func resourceRules(_ r: FHIRElement, contained: Bool, containerReferences: Set<String>, path: String, into issues: inout [FHIRIssue]) {
        if contained {
            if r.first("contained") != nil {
                issues.append(FHIRIssue(.error, "invariant", "dom-2: If the resource is contained in another resource, it SHALL NOT contain nested Resources", at: path))
            }
            if let meta = r.first("meta"), meta.first("versionId") != nil || meta.first("lastUpdated") != nil {
                issues.append(FHIRIssue(.error, "invariant", "dom-4: If a resource is contained in another resource, it SHALL NOT have a meta.versionId or a meta.lastUpdated", at: path))
            }
            if r.first("meta")?.first("security") != nil {
                issues.append(FHIRIssue(.error, "invariant", "dom-5: If a resource is contained in another resource, it SHALL NOT have a security label", at: path))
            }
            if let id = r.text("id"), !containerReferences.contains("#" + id) {
                // dom-3 also allows a contained resource that refers to its container ("#").
                let refersBack = r.allDescendants { $0.name == "reference" && $0.value == "#" }
                if !refersBack {
                    issues.append(FHIRIssue(.error, "invariant", "dom-3: If the resource is contained in another resource, it SHALL be referred to from elsewhere in the resource or SHALL refer to the containing resource", at: path))
                }
            }
        } else if isDomainResource(r.name) && r.first("text")?.first("div") == nil {
            issues.append(FHIRIssue(.warning, "invariant", "dom-6: A resource should have narrative for robust management", at: path))
        }
    }

    /// Resource types that are not DomainResources (no narrative, contained, extensions).
    static func isDomainResource(_ type: String) -> Bool { !["Bundle", "Binary", "Parameters"].contains(type) }
}

extension FHIRElement {
    /// Whether any descendant satisfies `match`.
    func allDescendants(_ match: (FHIRElement) -> Bool) -> Bool {
        for c in children {
            if match(c) || c.allDescendants(match) { return true }
        }
        return false
    }

    /// Every `reference` value in the tree, outside contained resources.
    func localReferences() -> Set<String> {
        var out = Set<String>()
        func walk(_ e: FHIRElement) {
            for c in e.children where c.name != "contained" {
                if c.name == "reference", let v = c.value { out.insert(v) }
                walk(c)
            }
        }
        walk(self)
        return out
    }
}

/// Comparison of FHIR date/dateTime/instant values of possibly different precision (per-1).
enum DateOrder {
    enum Order { case orderedAscending, orderedSame, orderedDescending }

    /// Compares on the common precision after normalising time zones to UTC seconds where both
    /// have a time; dates without time compare by their text prefix.
    static func compare(_ a: String, _ b: String) -> Order {
        if let x = epochSeconds(a), let y = epochSeconds(b) {
            return x < y ? .orderedAscending : (x > y ? .orderedDescending : .orderedSame)
        }
        let n = min(a.count, b.count, 10)
        let pa = a.prefix(n)
        let pb = b.prefix(n)
        return pa < pb ? .orderedAscending : (pa > pb ? .orderedDescending : .orderedSame)
    }

    /// Seconds since 1970 for a full dateTime with zone; nil otherwise.
    static func epochSeconds(_ s: String) -> Double? {
        let b = Array(s.utf8)
        guard b.count >= 20, b[10] == 0x54 else { return nil }
        func num(_ r: Range<Int>) -> Int? {
            var v = 0
            for i in r {
                guard i < b.count, isDigit(b[i]) else { return nil }
                v = v * 10 + Int(b[i] - 0x30)
            }
            return v
        }
        guard let y = num(0..<4), let mo = num(5..<7), let d = num(8..<10), let h = num(11..<13), let mi = num(14..<16), let se = num(17..<19) else { return nil }
        var i = 19
        var frac = 0.0
        if i < b.count, b[i] == 0x2E {
            var scale = 0.1
            i += 1
            while i < b.count, isDigit(b[i]) {
                frac += Double(b[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
        }
        var offset = 0
        if i < b.count, b[i] == 0x2B || b[i] == 0x2D {
            guard let oh = num(i + 1..<i + 3), let om = num(i + 4..<i + 6) else { return nil }
            offset = (oh * 3600 + om * 60) * (b[i] == 0x2D ? -1 : 1)
        }
        let days = daysFromCivil(y, mo, d)
        return Double(days * 86400 + h * 3600 + mi * 60 + se - offset) + frac
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's civil algorithm).
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
}

/// txt-1 / txt-2: the narrative subset of XHTML (R4 narrative.html): no scripts, forms, frames,
/// event handlers or external content. One pass over the bytes.
enum NarrativeCheck {
    static let forbiddenElements: Set<[UInt8]> = Set(["script", "style", "form", "input", "button", "select", "textarea", "iframe", "frame",
                                                      "frameset", "object", "applet", "embed", "base", "link", "meta", "head", "body", "html",
                                                      "title"].map { Array($0.utf8) })

    @inline(__always) static func lower(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5A ? c + 0x20 : c }
    @inline(__always) static func isNameByte(_ c: UInt8) -> Bool { isAlnum(c) || c == 0x2D || c == 0x5F || c == 0x3A }

    static func onlyBasicHTML(_ markup: String) -> Bool {
        let b = Array(markup.utf8)
        var i = 0
        while i < b.count {
            guard b[i] == 0x3C else {  // '<'
                i += 1
                continue
            }
            i += 1
            if i < b.count, b[i] == 0x2F || b[i] == 0x21 || b[i] == 0x3F { continue }  // end tag, comment, PI
            var name: [UInt8] = []
            while i < b.count, isNameByte(b[i]) {
                name.append(lower(b[i]))
                i += 1
            }
            // Drop a namespace prefix (h:script).
            if let colon = name.lastIndex(of: 0x3A) { name = Array(name[(colon + 1)...]) }
            if forbiddenElements.contains(name) { return false }
            // Attributes up to '>': no on* event handlers, no javascript: values.
            var quote: UInt8 = 0
            var attr: [UInt8] = []
            while i < b.count {
                let c = b[i]
                if quote != 0 {
                    if c == quote { quote = 0 }
                } else if c == 0x22 || c == 0x27 {
                    quote = c
                } else if c == 0x3E {
                    break
                } else if isNameByte(c) {
                    attr.append(lower(c))
                } else {
                    if attr.count > 2 && attr[0] == 0x6F && attr[1] == 0x6E && c == 0x3D { return false }  // on…=
                    if c != 0x20 && c != 0x09 && c != 0x0A && c != 0x0D || !attr.isEmpty && c != 0x3D { attr.removeAll(keepingCapacity: true) }
                    if c == 0x3D { attr.removeAll(keepingCapacity: true) }
                }
                i += 1
            }
        }
        return !containsJavascriptURL(b)
    }

    static func containsJavascriptURL(_ b: [UInt8]) -> Bool {
        let needle = Array("javascript:".utf8)
        guard b.count >= needle.count else { return false }
        outer: for i in 0...(b.count - needle.count) {
            for k in 0..<needle.count where lower(b[i + k]) != needle[k] { continue outer }
            return true
        }
        return false
    }

    static func hasText(_ markup: String) -> Bool {
        var inTag = false
        for c in markup.utf8 {
            if c == 0x3C { inTag = true } else if c == 0x3E { inTag = false } else if !inTag && c != 0x20 && c != 0x09 && c != 0x0A && c != 0x0D { return true }
        }
        // Images count as content (R4: "some non-whitespace content" includes <img>).
        return markup.contains("<img")
    }
}
