import Foundation
import Testing

@testable import FHIR
@testable import RiskModel
@testable import Screening

// The screening Bundle: R4 transaction rules (bdl-3), conditional creates on business
// identifiers, OsteoCT's profiles with zero errors, percentages within ras-1/ras-2, and
// byte-identical output for identical input.

@Suite("Screening transaction Bundle")
struct BundleBuilderTests {
    let asOf = FHIRDay(year: 2026, month: 11, day: 25)
    let study = StudyReference(
        studyInstanceUID: "1.2.826.0.1.3680043.8.498.1", accessionNumber: "ACC123", started: "2026-11-20",
        description: "CT abdomen pelvis",
        series: [StudyReference.Series(uid: "1.2.826.0.1.3680043.8.498.2", number: 3, modality: "CT", description: "Abdomen 1.0 B30f", instances: 300, bodyPart: "ABDOMEN")],
        dicomPatientID: "HR01")

    func screening(_ patient: String, measurements: [CTMeasurement] = []) throws -> ScreeningResult {
        let ehr = EHRMapper.map(bundle: try loadBundle(patient), options: EHRMappingOptions(asOf: asOf))
        let risk = try RiskPredictor(model: try ModelDefinition.defaultModel()).predict(ehr.features, options: PredictionOptions(intervalDraws: 200, seed: 1))
        return ScreeningResult(study: study, measurements: measurements, ehr: ehr, risk: risk, issued: "2026-11-25T10:00:00Z", softwareVersion: "0.1.0",
                               ctNotes: ["not measured in this test"])
    }

    func resources(_ b: FHIR.Bundle) -> [AnyResource] { b.entry.compactMap(\.resource) }

    @Test func explanationPageAndStrainMapsTravelInTheReport() throws {
        var r = try screening("patient-high-risk.json")
        let page = Array("<!DOCTYPE html><html lang=\"en\"><head><title>t</title></head><body><p>page</p></body></html>".utf8)
        r.reportPage = page
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        r.reportMedia = [ReportMedia(key: "strain-left", title: "strain, left femur", png: png, width: 300, height: 200, side: .left)]
        let bundle = ScreeningBundleBuilder.build(r, configuration: ScreeningConfiguration())
        let all = resources(bundle)
        let report = try #require(all.compactMap { $0.resource as? DiagnosticReport }.first)
        #expect(report.presentedForm.first?.data?.value?.value == Data(page).base64EncodedString())
        #expect(report.presentedForm.first?.contentType?.value?.value == "text/html")
        let media = all.compactMap { $0.resource as? Media }
        #expect(media.count == 1 && media.first?.content.contentType?.value?.value == "image/png")
        #expect(report.media.count == 1)
        let mediaURL = try #require(bundle.entry.first { $0.resource?.resourceType == "Media" }?.fullUrl?.value?.value)
        #expect(report.media.first?.link.reference?.value?.value == mediaURL)
        #expect(OsteoCTConformance.validator().validate(AnyResource(bundle)).filter { $0.severity <= .error }.isEmpty)
    }

    @Test func highRiskBundleHasReferralAndValidates() throws {
        let r = try screening("patient-high-risk.json")
        #expect(r.risk.category.level == "high")
        let bundle = ScreeningBundleBuilder.build(r, configuration: ScreeningConfiguration())
        #expect(bundle.type.value == .transaction)
        let types = resources(bundle).map(\.resourceType)
        #expect(types == ["Device", "ImagingStudy", "RiskAssessment", "DiagnosticReport", "ServiceRequest", "Flag", "Provenance"])
        // Every entry is a conditional create.
        for e in bundle.entry {
            #expect(e.request?.method.value == .post)
            #expect(e.request?.ifNoneExist?.value?.value.hasPrefix("identifier=") == true || e.request?.url.value?.value == "Provenance")
            #expect(e.fullUrl?.value?.value.hasPrefix("urn:uuid:") == true)
        }
        // Zero errors against the base rules and OsteoCT's profiles.
        let issues = OsteoCTConformance.validator(strict: true).validate(AnyResource(bundle))
        #expect(issues.filter { $0.severity <= .error }.isEmpty, "\(issues)")
        // The referral attaches the RiskAssessment through supportingInfo.
        guard case .serviceRequest(let sr)? = resources(bundle).first(where: { $0.resourceType == "ServiceRequest" }),
              case .riskAssessment(let ra)? = resources(bundle).first(where: { $0.resourceType == "RiskAssessment" }) else {
            Issue.record("missing resources")
            return
        }
        let raURL = bundle.entry.first { $0.resource?.resourceType == "RiskAssessment" }?.fullUrl?.value?.value
        #expect(sr.supportingInfo.contains { $0.reference?.value?.value == raURL })
        #expect(sr.performer.first?.reference?.value?.value == "HealthcareService/fracture-liaison-service")
        #expect(sr.status.value == .draft && sr.intent.value == .proposal)
        // Predictions in percent at 2, 5, 10 years with whenRange in years (UCUM a).
        #expect(ra.prediction.count == 3)
        for (p, expected) in zip(ra.prediction, r.risk.probabilities) {
            guard case .decimal(let d)? = p.probability, case .range(let w)? = p.when else {
                Issue.record("probability or when missing")
                continue
            }
            #expect(abs((d.value?.value ?? -1) - expected.percent) < 0.005 + 1e-9)
            #expect(w.high?.value?.value?.value == Double(expected.years) && w.high?.code?.value?.value == "a")
        }
        // Contributions: one extension per Shapley value; together they are the difference between
        // the patient's and the reference risk at the Shapley horizon.
        let points = ra.extension.compactMap { x -> Double? in
            guard case .decimal(let d)? = x.extension.first(where: { $0.url == "percentagePoints" })?.value else { return nil }
            return d.value?.value
        }
        #expect(points.count == r.risk.shapley.values.count)
        #expect(abs(points.reduce(0, +) - (r.risk.shapley.percent - r.risk.shapley.baselinePercent)) < 0.01)
        // Provenance names the CT study and the EHR resources used.
        guard case .provenance(let prov)? = resources(bundle).last else { Issue.record("no Provenance"); return }
        let whats = prov.entity.compactMap { $0.what.reference?.value?.value }
        #expect(whats.contains("Observation/hr-vitd") && whats.contains("Condition/hr-fx") && whats.contains("MedicationRequest/hr-pred2"))
    }

    @Test func lowRiskBundleHasNoReferral() throws {
        let r = try screening("patient-low-risk.json")
        #expect(r.risk.category.level != "high")
        let bundle = ScreeningBundleBuilder.build(r, configuration: ScreeningConfiguration())
        #expect(!resources(bundle).contains { ["ServiceRequest", "Flag"].contains($0.resourceType) })
        let issues = OsteoCTConformance.validator().validate(AnyResource(bundle))
        #expect(issues.filter { $0.severity <= .error }.isEmpty, "\(issues)")
    }

    @Test func sameInputSameBytesAndIdentifiers() throws {
        let a = ScreeningBundleBuilder.build(try screening("patient-conflicting.json"), configuration: ScreeningConfiguration())
        let b = ScreeningBundleBuilder.build(try screening("patient-conflicting.json"), configuration: ScreeningConfiguration())
        #expect(FHIRCodec.encode(a, format: .json) == FHIRCodec.encode(b, format: .json))
        #expect(FHIRCodec.encode(a, format: .xml) == FHIRCodec.encode(b, format: .xml))
        // fullUrls are UUIDs (RFC 9562 layout, version 8) and differ between entries.
        let urls = a.entry.compactMap { $0.fullUrl?.value?.value }
        #expect(Set(urls).count == urls.count)
        #expect(urls.allSatisfy { FHIRUUID(lexical: $0) != nil && Array($0)[23] == "8" })
    }

    @Test func ctMeasurementsBecomeProfiledObservations() throws {
        let m = [
            CTMeasurement(code: "vbmd-trabecular", kind: .bone, value: 142.3, digits: 1, unit: "mg/cm3", site: "29627003", siteDisplay: "Structure of neck of femur",
                          side: .left, calibration: "calibration-phantomless", roi: "femoral-neck trabecular ROI (QCTPro-like definition)", sd: 3.1),
            CTMeasurement(code: "muscle-area", kind: .bodyComposition, value: 112.40, digits: 2, unit: "cm2", site: "127954009", siteDisplay: "Skeletal muscle structure",
                          calibration: "calibration-none", roi: "L3 skeletal muscle, −29…150 HU"),
        ]
        let bundle = ScreeningBundleBuilder.build(try screening("patient-high-risk.json", measurements: m), configuration: ScreeningConfiguration())
        let obs = resources(bundle).compactMap { r -> Observation? in if case .observation(let o) = r { return o } else { return nil } }
        #expect(obs.count == 2)
        guard case .quantity(let q)? = obs[0].value else { Issue.record("no quantity"); return }
        #expect(q.value?.value?.lexical == "142.3" && q.code?.value?.value == "mg/cm3" && q.system?.value?.value == "http://unitsofmeasure.org")
        #expect(obs[0].bodySite?.extension.first?.url == "http://osteoct.org/fhir/StructureDefinition/laterality")
        guard case .quantity(let q2)? = obs[1].value else { Issue.record("no quantity"); return }
        #expect(q2.value?.value?.lexical == "112.40")
        let issues = OsteoCTConformance.validator().validate(AnyResource(bundle))
        #expect(issues.filter { $0.severity <= .error }.isEmpty, "\(issues)")
        // The report is final once measurements are present, and lists them as results.
        guard case .diagnosticReport(let dr)? = resources(bundle).first(where: { $0.resourceType == "DiagnosticReport" }) else { Issue.record("no report"); return }
        #expect(dr.status.value == .final && dr.result.count == 2)
    }

    @Test func configurationIsChecked() throws {
        var c = ScreeningConfiguration()
        c.referralStatus = "sent"
        c.flsReference = "fls"
        #expect(c.check().count == 2)
        let json = #"{"referralStatus": "active", "flsReference": "HealthcareService/42", "flagDays": 90}"#
        let read = try JSONDecoder().decode(ScreeningConfiguration.self, from: Data(json.utf8))
        #expect(read.referralStatus == "active" && read.flagDays == 90 && read.check().isEmpty)
    }

    @Test func embeddedProfilesMatchProfilesFolder() throws {
        // Scripts/gen-profiles.py writes both; they must not drift apart.
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Profiles")
        for file in EmbeddedConformance.files {
            let onDisk = try FHIRJSONReader.parse([UInt8](try Data(contentsOf: folder.appendingPathComponent(file.name)))).root
            let embedded = try FHIRJSONReader.parse(Array(file.json.utf8)).root
            #expect(FHIRJSONWriter.write(onDisk) == FHIRJSONWriter.write(embedded), "\(file.name)")
        }
        // Every profile's own differential names elements that exist in R4.
        for (url, sd) in OsteoCTConformance.registry.structureDefinitions {
            let type = try #require(sd.text("type"))
            // The type a choice element is restricted to, by path (value[x] → Quantity).
            var restricted: [String: String] = [:]
            for e in sd.at("differential.element") {
                if let p = e.text("path"), p.hasSuffix("[x]"), let t = e.first("type")?.text("code") { restricted[p] = t }
            }
            for e in sd.at("differential.element") {
                let path = try #require(e.text("path")).split(separator: ".").map(String.init)
                var parent = type
                for (k, step) in path.enumerated().dropFirst() {
                    let name: String
                    if step.hasSuffix("[x]") {
                        let prefix = path[...k].joined(separator: ".")
                        let base = String(step.dropLast(3))
                        if let t = restricted[prefix] {
                            name = base + t.prefix(1).uppercased() + t.dropFirst()
                        } else {
                            name = FHIRTypeInfo.table[parent]?.keys.sorted().first { $0.hasPrefix(base) && $0.count > base.count } ?? step
                        }
                    } else {
                        name = step
                    }
                    let t = FHIRTypeInfo.childType(parent, name)
                    #expect(t != nil, "\(url): \(name) not in \(parent)")
                    parent = t ?? parent
                }
            }
        }
    }
}
