import Foundation
import Testing

@testable import FHIR

// The validator against the R4 rules it claims: each invariant with an instance that breaks it
// and one that keeps it (expected outcomes from the invariant's definition in the R4 core
// StructureDefinitions), decoding-time checks (cardinality, required bindings, types), and the
// differential-profile checker on a small profile written here.

private func issues(_ json: String, registry: ProfileRegistry = ProfileRegistry(), strict: Bool = false) -> [FHIRIssue] {
    FHIRValidator(registry: registry, options: FHIRDecodingOptions(strict: strict)).validate(Array(json.utf8))
}

private func errorKeys(_ list: [FHIRIssue]) -> Set<String> {
    Set(list.filter { $0.severity <= .error }.map { i in
        i.code == "invariant" ? String(i.diagnostics.prefix { $0 != ":" }) : i.code
    })
}

private let div = #""text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}"#

@Suite("Validator")
struct ValidatorTests {
    @Test func cleanResourceHasNoIssues() {
        let ok = #"{"resourceType":"Observation","id":"a","# + div + #","status":"final","code":{"text":"x"},"valueQuantity":{"value":0.630,"unit":"g/cm2","system":"http://unitsofmeasure.org","code":"g/cm2"}}"#
        #expect(issues(ok).isEmpty, "\(issues(ok))")
    }

    @Test(arguments: [
        // (key, breaking instance, keeping instance)
        ("obs-6",
         #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueString":"a","dataAbsentReason":{"text":"n"}}"#,
         #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"dataAbsentReason":{"text":"n"}}"#),
        ("obs-7",
         #"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"s","code":"c"}]},"valueString":"a","component":[{"code":{"coding":[{"system":"s","code":"c"}]},"valueString":"b"}]}"#,
         #"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"s","code":"c"}]},"component":[{"code":{"coding":[{"system":"s","code":"c"}]},"valueString":"b"}]}"#),
        ("obs-3",
         #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"referenceRange":[{"type":{"text":"normal"}}]}"#,
         #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"referenceRange":[{"text":"normal"}]}"#),
        ("qty-3",
         #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1,"code":"mg"}}"#,
         #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1,"code":"mg","system":"http://unitsofmeasure.org"}}"#),
        ("ras-2",
         #"{"resourceType":"RiskAssessment","status":"final","subject":{"reference":"Patient/1"},"prediction":[{"probabilityDecimal":250}]}"#,
         #"{"resourceType":"RiskAssessment","status":"final","subject":{"reference":"Patient/1"},"prediction":[{"probabilityDecimal":25.0}]}"#),
        ("ras-1",
         #"{"resourceType":"RiskAssessment","status":"final","subject":{"reference":"Patient/1"},"prediction":[{"probabilityRange":{"low":{"value":1,"code":"a","system":"http://unitsofmeasure.org"}}}]}"#,
         #"{"resourceType":"RiskAssessment","status":"final","subject":{"reference":"Patient/1"},"prediction":[{"probabilityRange":{"low":{"value":1,"code":"%","system":"http://unitsofmeasure.org"}}}]}"#),
        ("per-1",
         #"{"resourceType":"Flag","status":"active","code":{"text":"x"},"subject":{"reference":"Patient/1"},"period":{"start":"2026-02-01","end":"2026-01-01"}}"#,
         #"{"resourceType":"Flag","status":"active","code":{"text":"x"},"subject":{"reference":"Patient/1"},"period":{"start":"2026-01-01T10:00:00+02:00","end":"2026-01-01T09:30:00Z"}}"#),
        ("rng-2",
         #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueRange":{"low":{"value":5},"high":{"value":2}}}"#,
         #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueRange":{"low":{"value":2},"high":{"value":5}}}"#),
        ("sqty-1",
         #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueRange":{"low":{"value":2,"comparator":"<"}}}"#,
         #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":2,"comparator":"<"}}"#),
        ("ext-1",
         #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"extension":[{"url":"u","valueString":"a","extension":[{"url":"v","valueString":"b"}]}]}"#,
         #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"extension":[{"url":"u","extension":[{"url":"v","valueString":"b"}]}]}"#),
        ("ref-1",
         ##"{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"#p"}}"##,
         ##"{"resourceType":"Observation","status":"final","code":{"text":"x"},"contained":[{"resourceType":"Patient","id":"p"}],"subject":{"reference":"#p"}}"##),
        ("dom-3",
         #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"contained":[{"resourceType":"Patient","id":"p"}]}"#,
         ##"{"resourceType":"Observation","status":"final","code":{"text":"x"},"contained":[{"resourceType":"Patient","id":"p"}],"subject":{"reference":"#p"}}"##),
        ("txt-1",
         #"{"resourceType":"Observation","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><script>alert(1)</script>x</div>"},"status":"final","code":{"text":"x"}}"#,
         #"{"resourceType":"Observation","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><b>x</b></div>"},"status":"final","code":{"text":"x"}}"#),
        ("att-1",
         #"{"resourceType":"DiagnosticReport","status":"final","code":{"text":"x"},"presentedForm":[{"data":"aGVsbG8="}]}"#,
         #"{"resourceType":"DiagnosticReport","status":"final","code":{"text":"x"},"presentedForm":[{"contentType":"text/plain","data":"aGVsbG8="}]}"#),
        ("bdl-3",
         #"{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"}}]}"#,
         #"{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}"#),
        ("bdl-1",
         #"{"resourceType":"Bundle","type":"collection","total":1}"#,
         #"{"resourceType":"Bundle","type":"searchset","total":1}"#),
        ("bdl-7",
         #"{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:a","resource":{"resourceType":"Patient"}},{"fullUrl":"urn:uuid:a","resource":{"resourceType":"Patient"}}]}"#,
         #"{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:a","resource":{"resourceType":"Patient"}},{"fullUrl":"urn:uuid:b","resource":{"resourceType":"Patient"}}]}"#),
        ("bdl-8",
         #"{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"http://x/Patient/1/_history/2","resource":{"resourceType":"Patient"}}]}"#,
         #"{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"http://x/Patient/1","resource":{"resourceType":"Patient"}}]}"#),
        ("prr-1",
         #"{"resourceType":"ServiceRequest","status":"draft","intent":"proposal","subject":{"reference":"Patient/1"},"orderDetail":[{"text":"x"}]}"#,
         #"{"resourceType":"ServiceRequest","status":"draft","intent":"proposal","subject":{"reference":"Patient/1"},"code":{"text":"c"},"orderDetail":[{"text":"x"}]}"#),
        ("con-5",
         #"{"resourceType":"Condition","clinicalStatus":{"coding":[{"code":"active"}]},"verificationStatus":{"coding":[{"code":"entered-in-error"}]},"subject":{"reference":"Patient/1"}}"#,
         #"{"resourceType":"Condition","verificationStatus":{"coding":[{"code":"entered-in-error"}]},"subject":{"reference":"Patient/1"}}"#),
        ("cpb-1",
         #"{"resourceType":"CapabilityStatement","status":"draft","date":"2026","kind":"requirements","fhirVersion":"4.0.1","format":["json"],"description":"d"}"#,
         #"{"resourceType":"CapabilityStatement","status":"draft","date":"2026","kind":"requirements","fhirVersion":"4.0.1","format":["json"],"description":"d","rest":[{"mode":"server"}]}"#),
    ])
    func invariant(key: String, breaking: String, keeping: String) {
        #expect(errorKeys(issues(breaking)).contains(key), "\(key) not reported: \(issues(breaking))")
        #expect(!errorKeys(issues(keeping)).contains(key), "\(key) wrongly reported: \(issues(keeping))")
    }

    @Test func decodingChecks() {
        // Missing required element, bad required code, wrong JSON type, two choice variants.
        let bad = #"{"resourceType":"Observation","status":"finished","valueString":"a","valueBoolean":true,"issued":12}"#
        let found = issues(bad)
        #expect(found.contains { $0.code == "required" && $0.expression.hasSuffix("code") })
        #expect(found.contains { $0.code == "value" && $0.diagnostics.contains("'finished'") && $0.diagnostics.contains("observation-status") })
        #expect(found.contains { $0.diagnostics.contains("choice element has 2 values") })
        #expect(found.contains { $0.diagnostics.contains("instant must be a JSON string") })
        // Unknown element: warning by default, error in strict mode.
        let unknown = #"{"resourceType":"Flag","status":"active","code":{"text":"x"},"subject":{"reference":"Patient/1"},"colour":"red"}"#
        #expect(issues(unknown).contains { $0.severity == .warning && $0.diagnostics.contains("colour") })
        #expect(issues(unknown, strict: true).contains { $0.severity == .error && $0.diagnostics.contains("colour") })
        // Syntax errors come back as fatal issues, not a crash.
        #expect(issues("{\"resourceType\":").first?.severity == .fatal)
    }

    @Test func entriesOfBundlesAreValidatedWithTheirPaths() {
        let b = #"{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"ok"}},{"resource":{"resourceType":"RiskAssessment","status":"final","subject":{"reference":"Patient/ok"},"prediction":[{"probabilityDecimal":101}]}}]}"#
        let hit = issues(b).first { $0.diagnostics.hasPrefix("ras-2") }
        #expect(hit?.expression == "Bundle.entry[1].resource.prediction[0]", "\(issues(b))")
    }

    /// Reference targets from the R4 definitions: DiagnosticReport.performer allows Practitioner,
    /// PractitionerRole, Organization and CareTeam (not Device); the target's type is read from
    /// "Type/id", an absolute URL, a contained "#id", or the fullUrl of a Bundle entry.
    @Test func referenceTargetsFollowTheDefinitions() {
        func report(_ performer: String, contained: String = "") -> String {
            #"{"resourceType":"DiagnosticReport","status":"final","code":{"text":"x"}"# + contained + #","performer":[{"reference":"\#(performer)"}]}"#
        }
        let device = issues(report("Device/d1"))
        #expect(device.contains { $0.severity == .error && $0.diagnostics.contains("not to a Device") && $0.expression == "DiagnosticReport.performer[0]" }, "\(device)")
        #expect(errorKeys(issues(report("Organization/o1"))).isEmpty)
        #expect(errorKeys(issues(report("https://ehr.example.org/fhir/Organization/o1"))).isEmpty)
        #expect(!errorKeys(issues(report("https://ehr.example.org/fhir/Device/d1"))).isEmpty)
        let dev = #","contained":[{"resourceType":"Device","id":"d"}]"#
        #expect(issues(report("#d", contained: dev)).contains { $0.diagnostics.contains("not to a Device") })
        // Inside a Bundle, a urn:uuid reference takes the type of the entry with that fullUrl.
        let bundle = #"{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:9b2f0d7a-2a3c-4c55-8f2e-1c6f1b1f2a01","resource":{"resourceType":"Device","id":"d"}},"# +
            #"{"fullUrl":"urn:uuid:9b2f0d7a-2a3c-4c55-8f2e-1c6f1b1f2a02","resource":"# + report("urn:uuid:9b2f0d7a-2a3c-4c55-8f2e-1c6f1b1f2a01") + "}]}"
        #expect(issues(bundle).contains { $0.expression == "Bundle.entry[1].resource.performer[0]" && $0.diagnostics.contains("not to a Device") }, "\(issues(bundle))")
    }

    /// A profile on Observation: code fixed by pattern, value restricted to Quantity with a UCUM
    /// system, bodySite required and bound to a two-code value set, a required laterality extension.
    static let registry: ProfileRegistry = {
        var r = ProfileRegistry()
        let sd = #"""
            {"resourceType":"StructureDefinition","url":"http://example.org/sd/bmd","type":"Observation","derivation":"constraint",
             "differential":{"element":[
               {"id":"Observation","path":"Observation"},
               {"id":"Observation.extension:side","path":"Observation.extension","sliceName":"side","min":1,"max":"1",
                "type":[{"code":"Extension","profile":["http://example.org/sd/side"]}]},
               {"id":"Observation.code","path":"Observation.code","patternCodeableConcept":{"coding":[{"system":"http://example.org/cs","code":"bmd"}]}},
               {"id":"Observation.value[x]","path":"Observation.value[x]","min":1,"type":[{"code":"Quantity"}]},
               {"id":"Observation.value[x].system","path":"Observation.value[x].system","min":1,"fixedUri":"http://unitsofmeasure.org"},
               {"id":"Observation.bodySite","path":"Observation.bodySite","min":1,"binding":{"strength":"required","valueSet":"http://example.org/vs/sites"}},
               {"id":"Observation.note","path":"Observation.note","max":"0"}]}}
            """#
        let ext = #"""
            {"resourceType":"StructureDefinition","url":"http://example.org/sd/side","type":"Extension","derivation":"constraint",
             "differential":{"element":[{"id":"Extension","path":"Extension"},
               {"id":"Extension.value[x]","path":"Extension.value[x]","min":1,"type":[{"code":"code"}],"binding":{"strength":"required","valueSet":"http://example.org/vs/sides"}}]}}
            """#
        let sites = #"{"resourceType":"ValueSet","url":"http://example.org/vs/sites","compose":{"include":[{"system":"http://snomed.info/sct","concept":[{"code":"29627003"},{"code":"310651003"}]}]}}"#
        let sides = #"{"resourceType":"ValueSet","url":"http://example.org/vs/sides","compose":{"include":[{"system":"http://example.org/cs-side"}]}}"#
        let cs = #"{"resourceType":"CodeSystem","url":"http://example.org/cs-side","content":"complete","concept":[{"code":"left"},{"code":"right"}]}"#
        for j in [sd, ext, sites, sides, cs] { try? r.add(Array(j.utf8)) }
        return r
    }()

    static func observation(code: String = "bmd", value: String = #""valueQuantity":{"value":0.630,"system":"http://unitsofmeasure.org","code":"g/cm2"}"#,
                            site: String = "29627003", side: String? = "left", note: Bool = false) -> String {
        var parts = [#""resourceType":"Observation""#, #""meta":{"profile":["http://example.org/sd/bmd"]}"#]
        if let side { parts.append(#""extension":[{"url":"http://example.org/sd/side","valueCode":"\#(side)"}]"#) }
        parts.append(#""status":"final""#)
        parts.append(#""code":{"coding":[{"system":"http://example.org/cs","code":"\#(code)","display":"BMD"}]}"#)
        parts.append(value)
        parts.append(#""bodySite":{"coding":[{"system":"http://snomed.info/sct","code":"\#(site)"}]}"#)
        if note { parts.append(#""note":[{"text":"n"}]"#) }
        return "{" + parts.joined(separator: ",") + "}"
    }

    @Test func profileConformance() {
        let r = Self.registry
        func profileErrors(_ json: String) -> [String] {
            issues(json, registry: r).filter { $0.severity <= .error && $0.diagnostics.contains("profile") }.map(\.diagnostics)
        }
        #expect(profileErrors(Self.observation()).isEmpty, "\(issues(Self.observation(), registry: r))")
        #expect(profileErrors(Self.observation(code: "other")).contains { $0.contains("pattern") })
        #expect(profileErrors(Self.observation(value: #""valueString":"x""#)).contains { $0.contains("valueString") })
        #expect(profileErrors(Self.observation(value: #""valueQuantity":{"value":1,"system":"http://example.org","code":"x"}"#)).contains { $0.contains("exactly") })
        #expect(profileErrors(Self.observation(site: "71341001")).contains { $0.contains("71341001") && $0.contains("required value set") })
        #expect(profileErrors(Self.observation(side: nil)).contains { $0.contains("extension:side") && $0.contains("at least 1") })
        #expect(profileErrors(Self.observation(side: "up")).contains { $0.contains("up") })
        #expect(profileErrors(Self.observation(note: true)).contains { $0.contains("'note' is not allowed") })
        // Without the meta.profile claim, only --profile applies it.
        let plain = Self.observation(code: "other").replacingOccurrences(of: #""meta":{"profile":["http://example.org/sd/bmd"]},"#, with: "")
        #expect(profileErrors(plain).isEmpty)
        var v = FHIRValidator(registry: r)
        v.requiredProfiles = ["http://example.org/sd/bmd"]
        #expect(v.validate(Array(plain.utf8)).contains { $0.diagnostics.contains("pattern") })
    }

    @Test func operationOutcomeIsValidR4() throws {
        let list = issues(#"{"resourceType":"Observation","status":"final"}"#)
        let oo = operationOutcomeElement(list)
        let bytes = FHIRJSONWriter.write(oo)
        let back = try FHIRCodec.decode(OperationOutcome.self, from: bytes)
        #expect(back.resource.issue.count == list.count)
        #expect(back.resource.issue.first?.severity.value == .error)
        // An empty list still gives a valid outcome (issue is 1..*).
        let ok = try FHIRCodec.decode(OperationOutcome.self, from: FHIRJSONWriter.write(operationOutcomeElement([])))
        #expect(ok.resource.issue.first?.severity.value == .information)
    }
}
