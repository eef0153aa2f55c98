// OsteoCT's profiles, extensions, code system and value sets (Profiles/, embedded by
// Scripts/gen-profiles.py) as a validator registry.
public import FHIR

public enum OsteoCTConformance {
    /// Every conformance resource of Profiles/ (the examples excepted).
    public static let registry: ProfileRegistry = {
        var r = ProfileRegistry()
        for file in EmbeddedConformance.files {
            // The embedded JSON is generated with the profiles and checked by the tests; a file
            // that did not parse would fail them, so this cannot fail at run time.
            if let doc = try? FHIRJSONReader.parse(Array(file.json.utf8)) { r.add(doc.root) }
        }
        return r
    }()

    /// A validator that knows OsteoCT's profiles.
    public static func validator(strict: Bool = false) -> FHIRValidator {
        FHIRValidator(registry: registry, options: FHIRDecodingOptions(strict: strict))
    }

    /// The service's CapabilityStatement (Profiles/CapabilityStatement-osteoct.json) as JSON.
    public static var capabilityStatement: [UInt8] {
        Array((EmbeddedConformance.files.first { $0.name == "CapabilityStatement-osteoct.json" }?.json ?? "").utf8)
    }

    /// Canonical URLs of OsteoCT's resource profiles.
    public static var profileURLs: [String] {
        registry.structureDefinitions.keys.filter { !$0.hasSuffix("/laterality") && !$0.hasSuffix("/risk-contribution") }.sorted()
    }
}
