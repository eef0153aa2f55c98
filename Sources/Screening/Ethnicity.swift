// Patient ethnicity → QFracture ethnic group (1 White or not stated, 2 Indian, 3 Pakistani,
// 4 Bangladeshi, 5 Other Asian, 6 Black Caribbean, 7 Black African, 8 Chinese, 9 Other).
// Sources: US Core race extension (HL7/US-Core StructureDefinition-us-core-race: ombCategory and
// detailed slices, CDC race codes urn:oid:2.16.840.1.113883.6.238, from the R4 v3-Race code
// system); UK Core ethnic category (NHSDigital FHIR-R4-UKCORE CodeSystem-UKCore-EthnicCategoryEngland,
// 2001-census letters). Where a source category spans two QFracture groups (US "Black or African
// American", UK mixed groups) the result is 9 "Other", and the note says so.
import FHIR

enum Ethnicity {
    static let usCoreRace = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
    static let ukCoreEthnicity = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
    static let ukEthnicCategory = "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland"

    /// CDC race codes: detailed codes first (they are more specific), then OMB categories.
    static let cdcDetailed: [String: Int] = [
        "2029-7": 2, "2044-6": 3, "2030-5": 4, "2034-7": 8,
        "2072-7": 6, "2075-0": 6, "2067-7": 6, "2068-5": 6, "2071-9": 6, "2073-5": 6, "2074-3": 6,
        "2060-2": 7,
    ]
    static let cdcOMB: [String: Int] = ["2106-3": 1, "2028-9": 5, "2054-5": 9, "1002-5": 9, "2076-8": 9, "2131-1": 9]

    static let ukLetters: [String: Int] = [
        "A": 1, "B": 1, "C": 1, "D": 9, "E": 9, "F": 9, "G": 9, "H": 2, "J": 3, "K": 4, "L": 5,
        "M": 6, "N": 7, "P": 9, "R": 8, "S": 9, "Z": 1, "99": 1,
    ]

    static let labels = ["1": "White or not stated", "2": "Indian", "3": "Pakistani", "4": "Bangladeshi", "5": "Other Asian",
                         "6": "Black Caribbean", "7": "Black African", "8": "Chinese", "9": "Other"]

    /// The QFracture group and what the record said, from the Patient's extensions.
    static func qfractureGroup(_ extensions: [Extension]) -> (Int, String)? {
        for x in extensions where x.url == usCoreRace {
            var detailed: [Coding] = []
            var omb: [Coding] = []
            for sub in x.extension {
                guard case .coding(let c)? = sub.value else { continue }
                if sub.url == "detailed" { detailed.append(c) }
                if sub.url == "ombCategory" { omb.append(c) }
            }
            let groups = Set(detailed.compactMap { cdcDetailed[$0.code?.value?.value ?? ""] })
            if groups.count == 1, let g = groups.first {
                return (g, "US Core race (detailed) → \(labels[String(g)] ?? "")")
            }
            let ombGroups = Set(omb.compactMap { cdcOMB[$0.code?.value?.value ?? ""] })
            if ombGroups.count == 1, let g = ombGroups.first {
                let display = omb.compactMap { $0.display?.value?.value }.joined(separator: ", ")
                return (g, "US Core race \(display) → \(labels[String(g)] ?? "")\(g == 9 ? " (the QFracture groups do not map one to one)" : "")")
            }
            if ombGroups.count > 1 || groups.count > 1 { return (9, "US Core race: more than one category → Other") }
        }
        for x in extensions where x.url == ukCoreEthnicity {
            guard case .codeableConcept(let cc)? = x.value else { continue }
            for c in cc.coding where c.system?.value?.value == ukEthnicCategory {
                if let g = ukLetters[c.code?.value?.value ?? ""] {
                    return (g, "UK ethnic category \(c.code?.value?.value ?? "") → \(labels[String(g)] ?? "")")
                }
            }
        }
        return nil
    }
}
