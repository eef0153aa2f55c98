import FHIR
import Foundation
import RiskModel
import Screening
import Testing

@testable import Service

// CDS Hooks cards against the CDS Hooks 2.0 rules (fhir-cds.md §1.5): summary under 140 characters,
// indicator by category, no null or empty member anywhere, selectionBehavior exactly when there are
// suggestions, override reasons with displays; the suggested referral a valid ServiceRequest with no
// reference to the transaction Bundle's urn:uuids; uuids in RFC 9562 form and stable.

private func screening(_ name: String) throws -> ScreeningResult {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Examples/patients/\(name)").path
    let bundle = try FHIRCodec.decode(FHIR.Bundle.self, from: [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))).resource
    let ehr = EHRMapper.map(bundle: bundle, options: EHRMappingOptions(asOf: FHIRDay(year: 2026, month: 11, day: 25)))
    let risk = try RiskPredictor(model: try ModelDefinition.defaultModel()).predict(ehr.features, options: PredictionOptions(intervalDraws: 200, seed: 1))
    let study = StudyReference(studyInstanceUID: "1.2.3", accessionNumber: nil, started: "2026-11-20", description: "CT abdomen",
                               series: [.init(uid: "1.2.3.4", number: 3, modality: "CT", description: nil, instances: 300, bodyPart: nil)], dicomPatientID: nil)
    return ScreeningResult(study: study, measurements: [], ehr: ehr, risk: risk, issued: "2026-11-25T10:00:00Z", softwareVersion: "0.1.0", ctNotes: [])
}

/// Fails on null, "", [] or {} anywhere (the cards array itself may be empty).
private func emptyMembers(_ v: AnyJSON, _ path: String = "$") -> [String] {
    switch v {
    case .null: return [path]
    case .string(let s): return s.isEmpty ? [path] : []
    case .array(let a): return (a.isEmpty && path != "$.cards" ? [path] : []) + a.enumerated().flatMap { emptyMembers($1, "\(path)[\($0)]") }
    case .object(let o): return (o.isEmpty ? [path] : []) + o.flatMap { emptyMembers($1, "\(path).\($0)") }
    default: return []
    }
}

@Suite("CDS Hooks cards")
struct CardBuilderTests {
    @Test func highRiskCardWithReferralSuggestion() throws {
        let r = try screening("patient-high-risk.json")
        // The site delivers the referral through the card, not in the results Bundle.
        var cardDelivery = ScreeningConfiguration()
        cardDelivery.referOnHighRisk = false
        let cards = CardBuilder.cards(for: r, hookInstance: "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", patientID: "123",
                                      reportURL: "https://osteoct.example.org/reports/1", configuration: cardDelivery)
        let card = try #require(cards.first)
        #expect(cards.count == 1 && card.indicator == .warning)
        #expect(card.summary.count < 140, "\(card.summary.count) characters")
        #expect(card.detail?.contains("Largest contributions") == true && card.links?.first?.type == .absolute)
        #expect(card.selectionBehavior == "at-most-one" && card.suggestions?.count == 1)
        #expect(card.overrideReasons?.allSatisfy { $0.display?.isEmpty == false } == true)
        // The wire form: no null or empty member.
        let json = try JSONEncoder().encode(CDSHooks.Response(cards: cards))
        let tree = try JSONDecoder().decode(AnyJSON.self, from: json)
        #expect(emptyMembers(tree).isEmpty, "\(emptyMembers(tree))")
        // The suggested ServiceRequest: a valid R4 resource of OsteoCT's referral profile, no urn:uuid.
        let action = try #require(card.suggestions?.first?.actions?.first)
        #expect(action.type == .create)
        let bytes = try #require(action.resource?.bytes)
        #expect(!String(decoding: bytes, as: UTF8.self).contains("urn:uuid"))
        #expect(String(decoding: bytes, as: UTF8.self).contains("\"Patient/123\""))
        let decoded = try FHIRCodec.decode(ServiceRequest.self, from: bytes)
        #expect(decoded.resource.performer.first?.reference?.value?.value == "HealthcareService/fracture-liaison-service")
        let errors = OsteoCTConformance.validator().validate(bytes, format: .json).filter { $0.severity <= .error }
        #expect(errors.isEmpty, "\(errors)")
        // uuids: RFC 9562 layout, version 8, stable for the same hook instance, different per role.
        let re = try Regex("^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        #expect(card.uuid.map { $0.wholeMatch(of: re) != nil } == true)
        #expect(card.uuid == CardBuilder.cards(for: r, hookInstance: "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", patientID: "123", reportURL: "x", configuration: cardDelivery).first?.uuid)
        #expect(card.uuid != card.suggestions?.first?.uuid)
        // When the results Bundle already carries the draft referral, the card suggests none (no duplicate) and says so.
        let bundled = try #require(CardBuilder.cards(for: r, hookInstance: "e", patientID: "123", reportURL: "x", configuration: ScreeningConfiguration()).first)
        #expect(bundled.suggestions == nil && bundled.selectionBehavior == nil && bundled.detail?.contains("already in the record") == true)
    }

    @Test func lowRiskIsQuietAndSummariesStayShort() throws {
        #expect(CardBuilder.cards(for: try screening("patient-low-risk.json"), hookInstance: "a", patientID: "1", reportURL: "u", configuration: ScreeningConfiguration()).isEmpty)
        for p in ["patient-conflicting.json", "patient-missing-data.json", "patient-high-risk.json"] {
            for c in CardBuilder.cards(for: try screening(p), hookInstance: "b", patientID: "1", reportURL: "u", configuration: ScreeningConfiguration()) {
                #expect(c.summary.count < 140 && (c.suggestions == nil) == (c.selectionBehavior == nil), "\(p)")
            }
        }
        let pending = CardBuilder.pendingCard(hookInstance: "c", studyDate: "2026-11-20", softwareVersion: "0.1.0")
        #expect(pending.indicator == .info && pending.summary.count < 140)
    }

    @Test func discoveryListsTheHooks() throws {
        let d = CardBuilder.discovery()
        #expect(d.services.map(\.hook) == ["patient-view", "order-select", "order-sign"])
        #expect(d.services.allSatisfy { !$0.description.isEmpty && $0.prefetch?["patient"] == "Patient/{{context.patientId}}" })
        let tree = try JSONDecoder().decode(AnyJSON.self, from: try JSONEncoder().encode(d))
        #expect(emptyMembers(tree).isEmpty)
    }

    @Test func laterRevisionGetsIdentifiersOfItsOwn() throws {
        // Images arrived after the first analysis: the second screening's resources must not match
        // the first's conditional creates, or the EHR would never receive them.
        var r = try screening("patient-high-risk.json")
        let first = ScreeningBundleBuilder.build(r, configuration: ScreeningConfiguration())
        r.revision = 2
        let second = ScreeningBundleBuilder.build(r, configuration: ScreeningConfiguration())
        let a = Set(first.entry.compactMap { $0.request?.ifNoneExist?.value?.value }), b = Set(second.entry.compactMap { $0.request?.ifNoneExist?.value?.value })
        #expect(a.count == b.count)
        // Only the ImagingStudy (the study itself, by its DICOM UID) and the Device are shared.
        #expect(a.intersection(b).allSatisfy { $0.contains("urn:dicom:uid") || $0.hasSuffix("osteoct-0.1.0") })
        #expect(b.contains { $0.contains("1.2.3-r2-risk") })
        #expect(a.intersection(b).count == 2)
    }
}
