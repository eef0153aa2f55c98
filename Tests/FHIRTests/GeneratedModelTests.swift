import Testing
import FHIR

// Hand-built element trees shaped exactly as the generated encoders produce them (kinds, repeat and
// attribute hints), so decode → encode must give back an equal tree.

func prim(_ name: String, _ value: String, _ kind: FHIRValueKind = .string, repeats: Bool = false, children: [FHIRElement] = []) -> FHIRElement {
    var e = FHIRElement(name: name, value: value, kind: kind, children: children)
    e.repeats = repeats
    return e
}

func node(_ name: String, repeats: Bool = false, _ children: [FHIRElement]) -> FHIRElement {
    var e = FHIRElement(name: name, children: children)
    e.repeats = repeats
    return e
}

func attr(_ name: String, _ value: String) -> FHIRElement {
    var e = FHIRElement(name: name, value: value, kind: .string)
    e.isAttribute = true
    return e
}

func resourceElement(_ type: String, _ children: [FHIRElement]) -> FHIRElement {
    var e = FHIRElement(name: type, children: children)
    e.isResource = true
    return e
}

func coding(_ system: String, _ code: String) -> FHIRElement {
    node("coding", repeats: true, [prim("system", system), prim("code", code)])
}

func quantity(_ name: String, _ value: String, _ unit: String) -> FHIRElement {
    node(name, [prim("value", value, .number), prim("unit", unit), prim("system", "http://unitsofmeasure.org"), prim("code", unit)])
}

func observationTree() -> FHIRElement {
    resourceElement("Observation", [
        prim("id", "bmd-1"),
        node("extension", repeats: true, [attr("url", "http://osteoct.org/fhir/StructureDefinition/x"), prim("valueBoolean", "true", .boolean)]),
        // a primitive with an element id and an extension
        prim("status", "final", children: [
            attr("id", "s1"),
            node("extension", repeats: true, [attr("url", "http://example.org/why"), prim("valueString", "reviewed")]),
        ]),
        node("category", repeats: true, [coding("http://terminology.hl7.org/CodeSystem/observation-category", "imaging")]),
        node("code", [coding("http://loinc.org", "38263-0"), prim("text", "BMD femoral neck")]),
        node("subject", [prim("reference", "Patient/p1")]),
        prim("effectiveDateTime", "2024-03-01T10:00:00Z"),
        quantity("valueQuantity", "0.630", "g/cm2"),
        node("referenceRange", repeats: true, [quantity("low", "0.5", "g/cm2"), prim("text", "normal")]),
        node("component", repeats: true, [
            attr("id", "c1"),
            node("code", [coding("http://loinc.org", "38267-1")]),
            prim("valueInteger", "-1", .number),
            node("referenceRange", repeats: true, [quantity("high", "1", "1")]),
        ]),
    ])
}

@Test func observationRoundTrip() throws {
    let tree = observationTree()
    var context = FHIRDecodingContext()
    let obs = Observation(from: tree, &context)
    #expect(context.issues.isEmpty, "\(context.issues)")
    #expect(obs.status.value == .final)
    #expect(obs.status.id == "s1")
    #expect(obs.status.extension.first?.url == "http://example.org/why")
    guard case .quantity(let q) = obs.value else { Issue.record("value is not a Quantity"); return }
    #expect(q.value?.value?.lexical == "0.630")
    #expect(obs.component.first?.id == "c1")
    guard case .integer(let d) = obs.component.first?.value else { Issue.record("component value"); return }
    #expect(d.value?.value == -1)
    #expect(obs.component.first?.referenceRange.first?.high?.unit?.value?.value == "1")
    #expect(obs.referenceRange.first?.low?.value?.value?.value == 0.5)
    guard case .boolean(let b) = obs.extension.first?.value else { Issue.record("extension value"); return }
    #expect(b.value?.value == true)
    #expect(obs.encodeResource() == tree)
}

@Test func buildInCode() {
    let obs = Observation(
        status: FHIRPrimitive(.preliminary),
        code: CodeableConcept(coding: [Coding(system: "http://loinc.org", code: "38263-0")]),
        value: .quantity(Quantity(value: FHIRPrimitive(FHIRDecimal(lexical: "0.7")), comparator: FHIRPrimitive(.lessThan))))
    let e = obs.encodeResource()
    #expect(e.name == "Observation")
    #expect(e.isResource)
    #expect(e.children.map(\.name) == ["status", "code", "valueQuantity"])
    #expect(e.children[2].children.map(\.name) == ["value", "comparator"])
    #expect(e.children[2].children[1].value == "<")
    var context = FHIRDecodingContext()
    #expect(Observation(from: e, &context) == obs)
    #expect(context.issues.isEmpty)
}

@Test func missingRequiredElement() {
    var tree = observationTree()
    tree.children.removeAll { $0.name == "code" }
    var context = FHIRDecodingContext()
    context.enter("Observation")  // the caller names the element it decodes
    let obs = Observation(from: tree, &context)
    #expect(obs.code == .standInForMissing)
    #expect(context.hasErrors)
    #expect(context.issues.contains { $0.severity == .error && $0.code == "required" && $0.expression == "Observation.code" })
}

@Test func missingRequiredChoice() {
    let tree = resourceElement("Communication", [
        prim("status", "completed"),
        node("payload", repeats: true, [prim("id", "x")]),
    ])
    var context = FHIRDecodingContext()
    let c = Communication(from: tree, &context)
    #expect(c.payload.count == 1)
    #expect(context.issues.contains { $0.code == "required" && $0.diagnostics.contains("content[x]") })
}

@Test func twoChoiceValues() {
    var tree = observationTree()
    tree.children.append(prim("valueString", "oops"))
    var context = FHIRDecodingContext()
    _ = Observation(from: tree, &context)
    #expect(context.issues.contains { $0.severity == .error && $0.code == "structure" })
}

@Test func unknownElement() {
    var tree = observationTree()
    tree.children.append(prim("colour", "blue"))
    var lenient = FHIRDecodingContext()
    _ = Observation(from: tree, &lenient)
    #expect(lenient.issues.count == 1)
    #expect(lenient.issues.first?.severity == .warning)
    #expect(!lenient.hasErrors)
    var strict = FHIRDecodingContext(options: FHIRDecodingOptions(strict: true))
    strict.enter("Observation")
    _ = Observation(from: tree, &strict)
    #expect(strict.issues.first?.severity == .error)
    #expect(strict.issues.first?.expression == "Observation.colour")
}

@Test func badRequiredCode() {
    var tree = observationTree()
    let i = tree.children.firstIndex { $0.name == "status" }!
    tree.children[i] = prim("status", "done")
    var context = FHIRDecodingContext()
    let obs = Observation(from: tree, &context)
    #expect(obs.status.value == nil)
    #expect(context.issues.contains { $0.severity == .error && $0.code == "value" })
}

@Test func codeEnums() {
    #expect(ObservationStatus.enteredInError.rawValue == "entered-in-error")
    #expect(ObservationStatus.valueSetURL == "http://hl7.org/fhir/ValueSet/observation-status")
    #expect(QuantityComparator(rawValue: "<=") == .lessOrEqualTo)
    #expect(FHIRVersion.v4_0_1.rawValue == "4.0.1")
    #expect(AuditEventOutcome.success.rawValue == "0")
    #expect(UnitsOfTime.year.rawValue == "a")
    #expect(ResourceType.allCases.count == 148)
}

func bundleTree() -> FHIRElement {
    func entry(_ url: String, _ resource: FHIRElement) -> FHIRElement {
        node("entry", repeats: true, [prim("fullUrl", url), node("resource", [resource])])
    }
    return resourceElement("Bundle", [
        prim("type", "collection"),
        entry("urn:uuid:1", resourceElement("Patient", [prim("id", "p1"), prim("gender", "female"), prim("birthDate", "1950-02-03")])),
        entry("urn:uuid:2", observationTree()),
        entry("urn:uuid:3", resourceElement("RiskAssessment", [
            prim("status", "final"),
            node("subject", [prim("reference", "Patient/p1")]),
            node("prediction", repeats: true, [prim("probabilityDecimal", "12.5", .number), node("whenRange", [quantity("high", "10", "a")])]),
        ])),
        entry("urn:uuid:4", resourceElement("Basic", [prim("id", "b1"), node("code", [prim("text", "kept")])])),
        entry("urn:uuid:5", resourceElement("Parameters", [
            node("parameter", repeats: true, [prim("name", "p"), node("resource", [resourceElement("Flag", [
                prim("status", "active"), node("code", [prim("text", "high risk")]), node("subject", [prim("reference", "Patient/p1")]),
            ])])]),
        ])),
        entry("urn:uuid:6", resourceElement("Patient", [
            node("contained", repeats: true, [resourceElement("Organization", [prim("id", "o1"), prim("name", "Clinic")])]),
            node("managingOrganization", [prim("reference", "#o1")]),
        ])),
    ])
}

@Test func bundleRoundTrip() {
    let tree = bundleTree()
    var context = FHIRDecodingContext()
    let bundle = Bundle(from: tree, &context)
    #expect(context.issues.count == 1, "\(context.issues)")
    #expect(context.issues.first?.severity == .warning)
    #expect(context.issues.first?.diagnostics == "resource type Basic is not modelled by OsteoCT; kept unchanged")
    #expect(bundle.type.value == .collection)
    let types = bundle.entry.map { $0.resource?.resourceType ?? "-" }
    #expect(types == ["Patient", "Observation", "RiskAssessment", "Basic", "Parameters", "Patient"])
    #expect(bundle.entry[0].resource?.id == "p1")
    #expect(bundle.entry[3].resource?.id == "b1")
    #expect(bundle.entry[3].resource?.resource == nil)
    guard case .patient(let p) = bundle.entry[0].resource else { Issue.record("entry 0"); return }
    #expect(p.gender?.value == .female)
    guard case .parameters(let params) = bundle.entry[4].resource, case .flag(let flag) = params.parameter.first?.resource else {
        Issue.record("parameters"); return
    }
    #expect(flag.status.value == .active)
    guard case .patient(let p2) = bundle.entry[5].resource, case .organization = p2.contained.first else { Issue.record("contained"); return }
    #expect(bundle.encodeResource() == tree)

    var strict = FHIRDecodingContext(options: FHIRDecodingOptions(strict: true))
    _ = Bundle(from: tree, &strict)
    #expect(strict.hasErrors)
}

@Test func anyResourceErrors() {
    var context = FHIRDecodingContext()
    let r = AnyResource(resource: FHIRElement(name: "Spaceship"), &context)
    #expect(r.resourceType == "Spaceship")
    #expect(context.issues.first?.severity == .error)
    #expect(context.issues.first?.code == "structure")
    #expect(context.issues.first?.diagnostics == "'Spaceship' is not an R4 resource type")

    var c2 = FHIRDecodingContext()
    let w = FHIRElement(name: "resource", children: [FHIRElement(name: "Patient"), FHIRElement(name: "Patient")])
    #expect(AnyResource(from: w, &c2) == .standInForMissing)
    #expect(c2.issues.first?.code == "structure")

    #expect(fhirR4ResourceTypes.contains("Basic"))
    #expect(!fhirR4ResourceTypes.contains("DomainResource"))
    #expect(fhirR4ResourceTypes.count == 146)
}

@Test func anyResourceWrapping() {
    let p = Patient(id: "p9", gender: FHIRPrimitive(.male))
    let any = AnyResource(p)
    #expect(any == .patient(p))
    #expect(any.id == "p9")
    #expect(any.resourceType == "Patient")
    let wrapper = any.encode(name: "resource")
    #expect(wrapper.children.count == 1 && wrapper.children[0].isResource)
    var context = FHIRDecodingContext()
    #expect(AnyResource(from: wrapper, &context) == any)
    let generic: any FHIRResource = p
    func wrap(_ r: some FHIRResource) -> AnyResource { AnyResource(r) }
    #expect(wrap(generic) == any)
}

@Test func identifierReferenceRecursion() {
    // Reference.identifier.assigner.identifier.assigner … (a cycle of value types, broken by a boxed property)
    var inner = Reference(display: "Registry")
    inner.identifier = Identifier(system: "urn:oid:1.2.3", value: "R-1")
    let id = Identifier(system: "http://hospital.example/mrn", value: "123", assigner: inner)
    let ref = Reference(reference: "Patient/p1", identifier: id)
    #expect(ref.identifier?.assigner?.identifier?.value?.value == "R-1")
    var copy = ref
    copy.identifier?.assigner?.display = "Changed"
    #expect(ref.identifier?.assigner?.display?.value?.value == "Registry")
    #expect(copy != ref)
    let e = ref.encode(name: "subject")
    #expect(e.children.map(\.name) == ["reference", "identifier"])
    #expect(e.children[1].children.map(\.name) == ["system", "value", "assigner"])
    var context = FHIRDecodingContext()
    #expect(Reference(from: e, &context) == ref)
    #expect(context.issues.isEmpty)
}

@Test func extensionOnExtensionAndQuantityProfiles() {
    let x = Extension(url: "http://example.org/age", value: .age(Quantity(value: FHIRPrimitive(FHIRDecimal(lexical: "71")), unit: "a")))
    let e = x.encode(name: "extension")
    #expect(e.children.map(\.name) == ["url", "valueAge"])
    #expect(e.children[0].isAttribute)
    var context = FHIRDecodingContext()
    #expect(Extension(from: e, &context) == x)
    // Timing.repeat.bounds[x] (Duration profile) and the nested Timing.Repeat struct
    let t = Timing(repeat: Timing.Repeat(bounds: .duration(Quantity(unit: "d")), periodUnit: FHIRPrimitive(.day)))
    let te = t.encode(name: "timing")
    #expect(te.children.first?.children.map(\.name) == ["boundsDuration", "periodUnit"])
    #expect(Timing(from: te, &context) == t)
    #expect(context.issues.isEmpty)
}
