import Foundation
import Testing

@testable import FHIR
@testable import RiskModel
@testable import Screening

// EHR record → features on the example patient bundles (Examples/patients). Every expected value
// is worked out by hand from the bundle's content and the published conversion factors
// (25(OH)D 1 ng/mL = 2.496 nmol/L; BMI = kg/m²; ages in 365.25-day years).

func examplePath(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Examples/patients/\(name)").path
}

func loadBundle(_ name: String) throws -> FHIR.Bundle {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: examplePath(name))))
    return try FHIRCodec.decode(FHIR.Bundle.self, from: bytes).resource
}

func evidence(_ f: EHRFeatures, _ id: String) -> FeatureEvidence? { f.evidence.first { $0.feature == id } }

@Suite("EHR record → risk features")
struct EHRMappingTests {
    let asOf = FHIRDay(year: 2026, month: 11, day: 25)

    @Test func highRiskRecord() throws {
        let f = EHRMapper.map(bundle: try loadBundle("patient-high-risk.json"), options: EHRMappingOptions(asOf: asOf))
        // Born 1947-05-14: 29,050 days to 2026-11-25.
        #expect(abs((f.features["age"] ?? 0) - 29050 / 365.25) < 1e-9)
        #expect(f.features["sex"] == 1)
        #expect(abs((f.features["bmi"] ?? 0) - 51.5 / (1.58 * 1.58)) < 1e-9)
        #expect(abs((f.features["vitamin_d_25oh"] ?? 0) - 11.2 * 2.496) < 1e-9)
        #expect(f.features["smoking"] == 1)
        #expect(f.features["falls_count_12m"] == 2 && f.features["falls_history"] == 1)
        #expect(f.features["ra_sle"] == 0 && f.features["prior_fracture"] == 1 && f.features["treated_hypertension"] == 1)
        // Wrist fracture 2024-12-03 → 722 days before the assessment.
        #expect(abs((f.features["prior_fracture_years_ago"] ?? 0) - 722 / 365.25) < 1e-9)
        // Two current prednisolone prescriptions, 7.5 mg once daily.
        #expect(f.features["corticosteroids"] == 1)
        #expect(f.features["glucocorticoid_dose"] == 7.5)
        // eGFR 52 is not below 30: no CKD 4–5; the value is kept as a supporting marker.
        #expect(f.features["renal"] == 0)
        #expect(f.supporting.contains { $0.id == "egfr" && $0.value == 52 })
        // Calcium 9.1 mg/dL = 2.27 mmol/L.
        #expect(f.supporting.contains { $0.id == "calcium" && abs($0.value - 9.1 * 0.2495) < 1e-9 })
        // Provenance: each feature names its resource and date.
        let vitD = try #require(evidence(f, "vitamin_d_25oh"))
        #expect(vitD.sources == ["Observation/hr-vitd"] && vitD.date == "2026-09-15" && vitD.ageDays == 71 && !vitD.stale)
        #expect(f.patientReference == "Patient/hr01")
    }

    @Test func conflictingRecordResolvedByRecency() throws {
        let f = EHRMapper.map(bundle: try loadBundle("patient-conflicting.json"), options: EHRMappingOptions(asOf: asOf))
        // Three weights: 72 (2025-01-10), 63.5 and 64.0 (both 2026-09-01); the entered-in-error one is ignored.
        let w = try #require(evidence(f, "weight"))
        #expect(w.value == 64.0 && w.sources == ["Observation/cf-w-same"])
        #expect(Set(w.superseded.map(\.value)) == [63.5, 72])
        #expect(f.notes.contains { $0.contains("conflicting values on 2026-09-01") })
        #expect(f.notes.contains { $0.contains("cf-w-err") && $0.contains("entered-in-error") })
        // Height 1.55 m → 155 cm; BMI from the newest weight.
        #expect(f.features["height"] == 155)
        #expect(abs((f.features["bmi"] ?? 0) - 64.0 / (1.55 * 1.55)) < 1e-9)
        // Smoking: daily smoker in 2018, ex-smoker in 2026 → ex-smoker.
        #expect(f.features["smoking"] == 1)
        // Vitamin D from 2024-02-01 is older than 365 days: used and flagged stale.
        let d = try #require(evidence(f, "vitamin_d_25oh"))
        #expect(d.stale && abs(d.value - 18 * 2.496) < 1e-9)
        // Refuted Parkinson's is ignored; ICD-10-CM S72.00 counts as a prior hip fracture.
        #expect(f.features["parkinsons"] == 0)
        #expect(f.features["prior_fracture"] == 1 && f.features["type2_diabetes"] == 1)
        // One sertraline prescription: QFracture needs two.
        #expect(f.features["antidepressant"] == 0)
        #expect(f.notes.contains { $0.contains("antidepressant") && $0.contains("at least 2") })
        // Combined HRT (norethisterone with oestrogen) is not oestrogen-only.
        #expect(f.features["hrt_oestrogen_only"] == 0)
        // UK ethnic category H → QFracture Indian (2).
        #expect(f.features["ethnicity"] == 2)
    }

    @Test func missingDataLeftMissing() throws {
        let f = EHRMapper.map(bundle: try loadBundle("patient-missing-data.json"), options: EHRMappingOptions(asOf: asOf))
        // Birth year only: 1952-07-02 assumed.
        let age = try #require(evidence(f, "age"))
        #expect(abs(age.value - Double(FHIRDay(year: 1952, month: 7, day: 2).days(until: asOf)) / 365.25) < 1e-9)
        #expect(age.note?.contains("year precision") == true)
        // 140 lb from 2022 → 63.50 kg, stale (older than 730 days).
        let w = try #require(evidence(f, "weight"))
        #expect(abs(w.value - 140 * 0.45359237) < 1e-9 && w.stale)
        // No conditions or medications in the record: those features stay missing (not "absent").
        #expect(f.features["ra_sle"] == nil && f.features["corticosteroids"] == nil && f.features["bmi"] == nil)
    }

    @Test func staleValuesCanBeDropped() throws {
        var options = EHRMappingOptions(asOf: asOf)
        options.useStaleValues = false
        let f = EHRMapper.map(bundle: try loadBundle("patient-missing-data.json"), options: options)
        #expect(f.features["weight"] == nil)
        #expect(f.notes.contains { $0.contains("weight") && $0.contains("not used") })
    }

    @Test func codeTableMatching() {
        let icd = CodeTable.Match(system: CodeSystems.icd10, code: "E11", prefix: true)
        #expect(icd.matches(CodeKey(system: CodeSystems.icd10cm, code: "E11.9")))
        #expect(icd.matches(CodeKey(system: CodeSystems.icd10, code: "E119")))
        #expect(!icd.matches(CodeKey(system: CodeSystems.icd10, code: "E10.9")))
        #expect(!icd.matches(CodeKey(system: CodeSystems.snomed, code: "E11")))
        let steroid = CodeTable.medications.first { $0.feature == "corticosteroids" }!
        #expect(steroid.matches([], text: "prednisolone 5 mg oral tablet"))
        #expect(!steroid.matches([], text: "hydrocortisone 1% cream"))
        // BNF equivalence: dexamethasone 750 µg = prednisolone 5 mg.
        #expect(abs((steroid.prednisoloneFactor([], "dexamethasone 4 mg tablet") ?? 0) * 0.75 - 5) < 1e-12)
        #expect(CodeTable.alcoholCategory(unitsPerDay: 0) == 0 && CodeTable.alcoholCategory(unitsPerDay: 2) == 2
            && CodeTable.alcoholCategory(unitsPerDay: 10) == 5)
    }

    @Test func dailyDoseFromDosage() {
        // 4 mg twice daily of methylprednisolone = 8 mg/day = 10 mg prednisolone.
        let d = Dosage(timing: Timing(repeat: Timing.Repeat(frequency: FHIRPrimitive(FHIRPositiveInt(lexical: "2")!), period: FHIRPrimitive(FHIRDecimal(lexical: "1")!), periodUnit: FHIRPrimitive(.day))),
                       doseAndRate: [Dosage.DoseAndRate(dose: .quantity(Quantity(value: FHIRPrimitive(FHIRDecimal(lexical: "4")!), code: FHIRPrimitive(FHIRCode("mg")))))])
        #expect(Mapping.dailyDoseMg([d]) == 8)
    }
}
