import FHIR
import Foundation
import RiskModel
import Screening
import Testing
#if canImport(FoundationXML)
import FoundationXML
#endif

@testable import Reports

// The explanation page of a real screening (the high-risk example record through the built-in
// model): well-formed, every section present, the headline equal to the model's 10-year figure,
// pictures inline with their alt text, an uncalibrated strength not compared with the threshold,
// and text from the record escaped.

private func screening(_ name: String) throws -> ScreeningResult {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Examples/patients/\(name)").path
    let bundle = try FHIRCodec.decode(FHIR.Bundle.self, from: [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))).resource
    let ehr = EHRMapper.map(bundle: bundle, options: EHRMappingOptions(asOf: FHIRDay(year: 2026, month: 11, day: 25)))
    let risk = try RiskPredictor(model: try ModelDefinition.defaultModel()).predict(ehr.features, options: PredictionOptions(intervalDraws: 200, seed: 1))
    let study = StudyReference(studyInstanceUID: "1.2.3", accessionNumber: nil, started: "2026-11-20", description: "CT abdomen <pelvis>",
                               series: [.init(uid: "1.2.3.4", number: 3, modality: "CT", description: "Abdomen 1.0", instances: 300, bodyPart: "ABDOMEN")],
                               dicomPatientID: nil)
    let m = CTMeasurement(code: "ctxa-tscore", kind: .bone, value: -2.7, digits: 1, unit: "1", site: "29627003", siteDisplay: "Structure of neck of femur",
                          side: .left, calibration: "calibration-synchronous-phantom", roi: "CTXA femoral neck box")
    return ScreeningResult(study: study, measurements: [m], ehr: ehr, risk: risk, issued: "2026-11-25T10:00:00Z", softwareVersion: "0.1.0", ctNotes: ["test"])
}

@Suite("Report page")
struct ReportPageTests {
    @Test func highRiskPage() throws {
        let r = try screening("patient-high-risk.json")
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47]
        let input = ReportInput(result: r, card: try ModelDefinition.defaultModel().card,
                                pictures: [ReportPicture(title: "CTXA <left>", alt: "projection of the left femur", caption: "neck box yellow", png: png, section: "ct"),
                                           ReportPicture(title: "Strain", alt: "equivalent strain map", caption: "0–10,000 µε", png: png, section: "strain")],
                                qualityFlags: [ReportFlag(code: "slice-thickness", severity: "warning", message: "3.5 mm slices")],
                                strength: [ReportStrength(side: "left", strength_N: 811, stiffness_N_per_mm: 2121, threshold_N: 3000, calibrated: false, method: "voxel FE")],
                                calibration: "synchronous-phantom")
        let html = ReportPage.html(input)
        let doc = try XMLDocumentCheck.parse(html)
        #expect(doc.count("section") == 7 && doc.count("svg") == 1 && doc.count("img") == 2)
        let ten = try #require(r.risk.probabilities.first { $0.years == 10 })
        #expect(html.contains(String(format: "<span class=\"big\">%.1f %%</span>", ten.percent)))
        #expect(html.contains("Category: high"))
        #expect(html.contains("alt=\"projection of the left femur\"") && html.contains("data:image/png;base64,iVBORw=="))
        #expect(html.contains("not compared: this strength is an index"))
        #expect(html.contains("≤ −2.5: osteoporosis range (WHO)"))
        // The T-score is a key result (read against a threshold) and is also in the full table.
        #expect(html.contains("<h3>Key results</h3>") && html.contains("<h3>All CT measurements (1)</h3>"))
        #expect(html.components(separatedBy: "≤ −2.5: osteoporosis range (WHO)").count - 1 == 2)
        // Thresholds: skeletal muscle index by Prado (38.5) and Martin (41).
        func smi(_ v: Double) -> String {
            ReportPage.interpretation(CTMeasurement(code: "skeletal-muscle-index", kind: .bodyComposition, value: v, digits: 1, unit: "cm2/m2",
                                                    site: "127954009", siteDisplay: "Skeletal muscle structure", side: nil, calibration: "calibration-none", roi: ""))
        }
        #expect(smi(37).hasPrefix("< 38.5") && smi(40).hasPrefix("38.5–41") && smi(45).hasPrefix("≥ 41"))
        // Chart labels carry her values: CT measurements as measured (per hip), EHR values as recorded.
        #expect(ReportPage.value(of: "ctxa_fn_tscore", in: r) == "left -2.7")
        let bmi = try #require(r.ehr?.evidence.first { $0.feature == "bmi" })
        #expect(ReportPage.value(of: "bmi", in: r) == bmi.recorded)
        #expect(ReportPage.value(of: "fe_strength_sideways_fall", in: r) == nil)
        if r.risk.shapley.values.contains(where: { $0.group == "bmi" }) { #expect(html.contains("(\(HTML.escape(bmi.recorded)))")) }
        #expect(html.contains("CTXA &lt;left&gt;") && html.contains("CT abdomen &lt;pelvis&gt;") && !html.contains("<left>"))
        #expect(html.contains(HTML.escape(try ModelDefinition.defaultModel().card.disclaimer)))
        // Self-contained: no scripts, style sheets, fonts or images from elsewhere.
        for banned in ["<script", "<link", "src=\"http", "href=\"http", "@import", "url(http"] { #expect(!html.contains(banned), "\(banned)") }
    }
}
