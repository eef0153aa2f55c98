import ArgumentParser
import FHIR
import Foundation
import Screening

struct BenchFHIR: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fhir",
        abstract: "FHIR JSON and XML decode + encode of a Bundle (default: 1,000 resources of the kinds OsteoCT reads and writes): seconds and resources/s.",
        discussion: """
            Decode = bytes → typed model (parse, check, build); encode = typed model → bytes. Best of
            --repeat runs after one warm-up. --write saves the JSON and XML sample so a peer tool can
            time the same files (Tests/interop/bench_fhir.py does that for fhir.resources).
            """)

    @Option(help: "Resources in the generated Bundle.") var resources: Int = 1000
    @Option(help: "Time this Bundle instead of a generated one (JSON or XML).") var input: String?
    @Option(name: .customLong("repeat"), help: "Timed repetitions.") var repetitions: Int = 5
    @Option(help: "Write the sample as FILE.json and FILE.xml.") var write: String?
    @Flag(help: "Print JSON (always JSON; accepted for consistency).") var json = false

    func validate() throws {
        guard (1...1_000_000).contains(resources) else { throw ValidationError("--resources must be 1…1000000") }
        guard repetitions >= 1 else { throw ValidationError("--repeat must be at least 1") }
    }

    struct Figures: Encodable {
        var resources: Int
        var jsonBytes: Int
        var xmlBytes: Int
        var jsonDecodeSeconds: Double
        var jsonParseSeconds: Double
        var jsonEncodeSeconds: Double
        var xmlDecodeSeconds: Double
        var xmlEncodeSeconds: Double
        var validateSeconds: Double
        var resourcesPerSecondJSONRoundTrip: Double
    }

    func run() throws {
        let bundle: AnyResource
        if let input {
            do { bundle = try FHIRCodec.decode(try readFile(input), format: FHIRFormat.fromPath(input)).resource } catch let e as FHIRError {
                throw CommandFailure("\(input): \(e)")
            }
        } else {
            bundle = AnyResource(try Self.sample(resources))
        }
        let jsonBytes = FHIRCodec.encode(bundle, format: .json)
        let xmlBytes = FHIRCodec.encode(bundle, format: .xml)
        if let write {
            try Data(jsonBytes).write(to: URL(fileURLWithPath: write + ".json"))
            try Data(xmlBytes).write(to: URL(fileURLWithPath: write + ".xml"))
        }
        let count: Int
        if case .bundle(let b) = bundle { count = b.entry.count } else { count = 1 }

        func best(_ body: () throws -> Void) rethrows -> Double {
            try body()
            var t = Double.infinity
            for _ in 0..<repetitions {
                let start = DispatchTime.now().uptimeNanoseconds
                try body()
                t = min(t, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            return t
        }
        var sink = 0
        let jd = try best { sink &+= try FHIRCodec.decode(jsonBytes, format: .json).issues.count }
        // The first stage of decoding alone: bytes → element tree (syntax, JSON rules).
        let jp = try best { sink &+= try FHIRCodec.parse(jsonBytes, format: .json).root.children.count }
        let je = best { sink &+= FHIRCodec.encode(bundle, format: .json).count }
        let xd = try best { sink &+= try FHIRCodec.decode(xmlBytes, format: .xml).issues.count }
        let xe = best { sink &+= FHIRCodec.encode(bundle, format: .xml).count }
        let validator = OsteoCTConformance.validator()
        let vs = best { sink &+= validator.validate(bundle).count }
        let f = Figures(resources: count, jsonBytes: jsonBytes.count, xmlBytes: xmlBytes.count, jsonDecodeSeconds: jd, jsonParseSeconds: jp, jsonEncodeSeconds: je,
                        xmlDecodeSeconds: xd, xmlEncodeSeconds: xe, validateSeconds: vs,
                        resourcesPerSecondJSONRoundTrip: Double(count) / (jd + je))
        if sink == Int.min { print("") }
        try JSONOut.print(f)
    }

    /// A collection Bundle cycling through the kinds of resources OsteoCT reads (Patient,
    /// Observation, Condition, MedicationRequest) and writes (RiskAssessment with contributions,
    /// DiagnosticReport with narrative), each with its own id.
    static func sample(_ n: Int) throws -> FHIR.Bundle {
        var entries: [FHIR.Bundle.Entry] = []
        entries.reserveCapacity(n)
        for i in 0..<n {
            let template = templates[i % templates.count]
            let text = template.replacingOccurrences(of: "@ID@", with: "r\(i)").replacingOccurrences(of: "@P@", with: "p\(i / templates.count)")
            let r: AnyResource
            do { r = try FHIRCodec.decode(Array(text.utf8), format: .json).resource } catch {
                throw CommandFailure("bench template \(i % templates.count): \(error)")
            }
            entries.append(FHIR.Bundle.Entry(fullUrl: FHIRPrimitive(FHIRURI("http://example.org/fhir/\(r.resourceType)/r\(i)")), resource: r))
        }
        return FHIR.Bundle(id: FHIRPrimitive(FHIRId("bench")), type: FHIRPrimitive(.collection), entry: entries)
    }

    static let div = #""text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Generated <b>summary</b> of the resource.</div>"}"#

    static let templates: [String] = [
        #"{"resourceType":"Patient","id":"@P@","# + div + #","identifier":[{"system":"urn:oid:1.2.36.146.595.217.0.1","value":"@P@"}],"name":[{"use":"official","family":"Example","given":["Ann","Marie"]}],"gender":"female","birthDate":"1947-05-14","address":[{"line":["1 Main St"],"city":"Leeds","postalCode":"LS1 1AA","country":"GB"}]}"#,
        #"{"resourceType":"Observation","id":"@ID@","# + div + #","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"29463-7","display":"Body weight"}]},"subject":{"reference":"Patient/@P@"},"effectiveDateTime":"2026-10-02T09:30:00Z","valueQuantity":{"value":51.50,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}"#,
        #"{"resourceType":"Observation","id":"@ID@","# + div + #","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"62292-8","display":"25-Hydroxyvitamin D2+25-Hydroxyvitamin D3 [Mass/volume] in Serum or Plasma"}]},"subject":{"reference":"Patient/@P@"},"effectiveDateTime":"2026-09-15","valueQuantity":{"value":11.2,"unit":"ng/mL","system":"http://unitsofmeasure.org","code":"ng/mL"},"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"L"}]}],"referenceRange":[{"low":{"value":30,"unit":"ng/mL","system":"http://unitsofmeasure.org","code":"ng/mL"},"high":{"value":100,"unit":"ng/mL","system":"http://unitsofmeasure.org","code":"ng/mL"}}]}"#,
        #"{"resourceType":"Condition","id":"@ID@","# + div + #","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed"}]},"code":{"coding":[{"system":"http://snomed.info/sct","code":"69896004","display":"Rheumatoid arthritis (disorder)"},{"system":"http://hl7.org/fhir/sid/icd-10","code":"M06.9"}],"text":"Rheumatoid arthritis"},"subject":{"reference":"Patient/@P@"},"onsetDateTime":"2009-03-01"}"#,
        #"{"resourceType":"MedicationRequest","id":"@ID@","# + div + #","status":"active","intent":"order","medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"312617","display":"prednisoLONE 5 MG Oral Tablet"}]},"subject":{"reference":"Patient/@P@"},"authoredOn":"2026-10-01","dosageInstruction":[{"text":"7.5 mg once daily","timing":{"repeat":{"frequency":1,"period":1,"periodUnit":"d"}},"doseAndRate":[{"doseQuantity":{"value":7.5,"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"}}]}]}"#,
        #"{"resourceType":"RiskAssessment","id":"@ID@","# + div + #","extension":[{"url":"http://osteoct.org/fhir/StructureDefinition/risk-contribution","extension":[{"url":"feature","valueCode":"falls"},{"url":"percentagePoints","valueDecimal":10.990},{"url":"horizon","valueQuantity":{"value":10,"unit":"a","system":"http://unitsofmeasure.org","code":"a"}}]}],"status":"final","method":{"coding":[{"system":"http://osteoct.org/fhir/CodeSystem/osteoct","code":"osteoct-multimodal-hip","version":"osteoct-multimodal-hip 1.0.0"}]},"subject":{"reference":"Patient/@P@"},"occurrenceDateTime":"2026-11-25T10:00:00Z","basis":[{"reference":"Observation/r1"}],"prediction":[{"outcome":{"text":"Hip fracture"},"probabilityDecimal":10.21,"whenRange":{"low":{"value":0,"unit":"a","system":"http://unitsofmeasure.org","code":"a"},"high":{"value":2,"unit":"a","system":"http://unitsofmeasure.org","code":"a"}}},{"outcome":{"text":"Hip fracture"},"probabilityDecimal":58.01,"qualitativeRisk":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/risk-probability","code":"high"}]},"whenRange":{"low":{"value":0,"unit":"a","system":"http://unitsofmeasure.org","code":"a"},"high":{"value":10,"unit":"a","system":"http://unitsofmeasure.org","code":"a"}},"rationale":"58.01 % over 10 years"}]}"#,
        #"{"resourceType":"DiagnosticReport","id":"@ID@","# + div + #","status":"final","category":[{"coding":[{"system":"http://loinc.org","code":"LP29684-5","display":"Radiology"}]}],"code":{"coding":[{"system":"http://osteoct.org/fhir/CodeSystem/osteoct","code":"opportunistic-ct-bone-health"}]},"subject":{"reference":"Patient/@P@"},"effectiveDateTime":"2026-11-20","issued":"2026-11-25T10:00:00Z","result":[{"reference":"Observation/r1"},{"reference":"Observation/r2"}],"conclusion":"Hip-fracture risk 58.0 % over 10 years (category high)."}"#,
    ]
}
