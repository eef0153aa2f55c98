// CDS Hooks cards from a stored screening (fhir-cds.md §1.5):
//  - high risk → `warning`: summary under 140 characters, markdown detail with the probabilities and
//    the largest contributions, a link to the explanation page, and — when the site delivers the
//    referral through the card rather than in the results Bundle (`referOnHighRisk` false, so it is
//    never created twice) — one recommended suggestion that creates the fracture-liaison
//    ServiceRequest for the patient in the hook's context, with override reasons; with the Bundle's
//    draft referral the detail says it is already in the record;
//  - intermediate → `info` with the same detail and link, no suggestion;
//  - lower → no card (`{"cards": []}`): a quiet service is read, a noisy one is ignored;
//  - a CT still being analysed → one `info` card saying so.
// Card and suggestion uuids are derived from the hook instance, so feedback can name them and the
// same call always gives the same cards.
import FHIR
import Foundation
public import RiskModel
public import Screening

public enum CardBuilder {
    public static let riskServiceID = "osteoct-hip-fracture-risk"
    public static let orderServiceID = "osteoct-osteoporosis-orders"

    /// `GET /cds-services`.
    public static func discovery() -> CDSHooks.Discovery {
        let prefetch = ["patient": "Patient/{{context.patientId}}"]
        let risk = "Hip-fracture risk from the woman's routine CT and record (OsteoCT): a card when the 10-year risk is high or intermediate, with the reasons, a link to the explanation page and, when high, a suggested fracture-liaison referral."
        let orders = "When an osteoporosis medication or a DXA scan is ordered, shows the hip-fracture risk OsteoCT found in the woman's CT, with its reasons."
        return CDSHooks.Discovery(services: [
            .init(hook: "patient-view", title: "Hip-fracture risk from CT", description: risk, id: riskServiceID, prefetch: prefetch,
                  usageRequirements: "Women aged 50 and over with an analysed CT; results are answered from OsteoCT's store."),
            .init(hook: "order-select", title: "Hip-fracture risk for osteoporosis orders", description: orders, id: orderServiceID, prefetch: prefetch, usageRequirements: nil),
            .init(hook: "order-sign", title: "Hip-fracture risk for osteoporosis orders", description: orders, id: orderServiceID, prefetch: prefetch, usageRequirements: nil),
        ])
    }

    /// Override reasons offered with a referral suggestion (CDS Hooks 3.0's example non-adherence codes).
    static let overrideReasons = [
        CDSHooks.Coding(code: "patient-refuses", system: "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes", display: "Patient declines referral"),
        CDSHooks.Coding(code: "action-completed", system: "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes", display: "Already assessed or treated"),
        CDSHooks.Coding(code: "patient-ineligible", system: "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes", display: "Not appropriate for this patient"),
    ]

    /// The cards for one screening (the CLI and tests; the service builds them from a stored `CardInput`).
    /// `patientID`: the hook context's `patientId`.
    public static func cards(for r: ScreeningResult, hookInstance: String, patientID: String, reportURL: String,
                             configuration: ScreeningConfiguration) -> [CDSHooks.Card] {
        cards(for: CardInput(r, configuration: configuration), hookInstance: hookInstance, patientID: patientID,
              reportURL: reportURL, flsDisplay: configuration.flsDisplay)
    }

    /// The cards from what the store keeps of a screening.
    public static func cards(for input: CardInput, hookInstance: String, patientID: String, reportURL: String,
                             flsDisplay: String) -> [CDSHooks.Card] {
        let level = input.risk.category.level
        guard level == "high" || level == "intermediate" else { return [] }
        let ten = input.risk.probabilities.first { $0.years == 10 } ?? input.risk.probabilities.last
        let percent = ten.map { String(format: "%.1f %%", $0.percent) } ?? "?"
        let when = input.studyStarted.map { " (CT \($0))" } ?? ""
        var summary = level == "high"
            ? "High hip-fracture risk: \(percent) in \(ten?.years ?? 10) years\(when). Consider fracture-liaison referral."
            : "Raised hip-fracture risk: \(percent) in \(ten?.years ?? 10) years\(when)."
        if summary.count >= 140 { summary = String(summary.prefix(138)) + "…" }
        var card = CDSHooks.Card(
            uuid: uuid(hookInstance, "card"), summary: summary, detail: detail(input.risk), indicator: level == "high" ? .warning : .info,
            source: .init(label: "OsteoCT \(input.softwareVersion)", url: nil, topic: nil),
            suggestions: nil, selectionBehavior: nil, overrideReasons: nil,
            links: [.init(label: "Explanation page (why, CT pictures, what could change it)", url: reportURL, type: .absolute)])
        if level == "high" && input.referralInRecord {
            card.detail = (card.detail ?? "") + "\n\nA draft referral to \(flsDisplay) is already in the record (placed by OsteoCT with these results)."
        } else if level == "high", let referral = input.referral, var sr = try? FHIRCodec.decode(ServiceRequest.self, from: Array(referral.utf8), format: .json).resource {
            // The suggestion creates the referral for the patient in the hook's context.
            sr.subject = Reference(reference: FHIRPrimitive(FHIRString("Patient/\(patientID)")))
            let json = FHIRCodec.encode(AnyResource(sr), format: .json, pretty: false)
            card.suggestions = [.init(label: "Refer to the fracture liaison service", uuid: uuid(hookInstance, "referral"), isRecommended: true,
                                      actions: [.init(type: .create, description: "Create a referral (ServiceRequest) to \(flsDisplay)",
                                                      resource: RawJSON(json), resourceId: nil)])]
            card.selectionBehavior = "at-most-one"
            card.overrideReasons = overrideReasons
        }
        return [card]
    }

    /// The card while the woman's CT is still being analysed.
    public static func pendingCard(hookInstance: String, studyDate: String?, softwareVersion: String) -> CDSHooks.Card {
        CDSHooks.Card(uuid: uuid(hookInstance, "pending"),
                      summary: "Her CT\(studyDate.map { " of \($0)" } ?? "") is being analysed for hip-fracture risk; results follow shortly.",
                      detail: nil, indicator: .info, source: .init(label: "OsteoCT \(softwareVersion)", url: nil, topic: nil),
                      suggestions: nil, selectionBehavior: nil, overrideReasons: nil, links: nil)
    }

    /// Markdown: probabilities, the largest contributions, what is missing, the disclaimer.
    static func detail(_ risk: RiskResult) -> String {
        var lines: [String] = []
        if let ten = risk.probabilities.first(where: { $0.years == 10 }) {
            var s = String(format: "**10-year hip-fracture probability %.1f %%**", ten.percent)
            if let lo = ten.lower95, let hi = ten.upper95 { s += String(format: " (95 %% interval %.1f–%.1f %%)", lo, hi) }
            s += String(format: "; a woman of the same age without risk factors: %.1f %%.", risk.relativeRisk.sameAgeNoRiskFactorsPercent)
            lines.append(s)
        }
        lines.append("")
        lines.append("Category **\(risk.category.level)**: \(risk.category.reasons.joined(separator: "; "))")
        let top = risk.shapley.values.sorted { abs($0.percentagePoints) > abs($1.percentagePoints) }.prefix(4)
        if !top.isEmpty {
            lines.append("")
            lines.append("Largest contributions (percentage points of the 10-year risk):")
            for v in top {
                let name = FeatureSchema.name(v.group)
                lines.append(String(format: "- %@: %@%.1f", name, v.percentagePoints >= 0 ? "+" : "−", abs(v.percentagePoints)))
            }
        }
        if !risk.missing.isEmpty { lines += ["", "Missing inputs: \(risk.missing.count) (listed on the explanation page)."] }
        lines += ["", "_\(risk.model.disclaimer)_"]
        return lines.joined(separator: "\n")
    }

    /// A deterministic RFC 9562 version-8 UUID from the hook instance and a role.
    static func uuid(_ hookInstance: String, _ role: String) -> String { StableUUID.uuid("cds|" + hookInstance + "|" + role) }
}

/// What a CDS card needs of a screening, kept by the store (JSON) so hooks are answered without
/// rebuilding the screening: the risk with its explanation, the study date, the version, and the
/// referral a card may offer.
public struct CardInput: Codable, Sendable {
    public var risk: RiskResult
    /// The CT's date (FHIR date), shown in the summary.
    public var studyStarted: String?
    public var softwareVersion: String
    /// The stand-alone fracture-liaison ServiceRequest (FHIR JSON) a high-risk card offers to create;
    /// nil when the results Bundle already placed it (`referralInRecord`) or the risk is not high.
    public var referral: String?
    /// The results Bundle carries the referral itself (`referOnHighRisk`): the card says so instead.
    public var referralInRecord: Bool

    public init(risk: RiskResult, studyStarted: String?, softwareVersion: String, referral: String?, referralInRecord: Bool) {
        self.risk = risk; self.studyStarted = studyStarted; self.softwareVersion = softwareVersion
        self.referral = referral; self.referralInRecord = referralInRecord
    }

    public init(_ r: ScreeningResult, configuration: ScreeningConfiguration) {
        let high = r.risk.category.level == "high"
        let sr = high && !configuration.referOnHighRisk ? ScreeningBundleBuilder.referral(r, configuration: configuration) : nil
        self.init(risk: r.risk, studyStarted: r.study.started, softwareVersion: r.softwareVersion,
                  referral: sr.map { String(decoding: FHIRCodec.encode(AnyResource($0), format: .json, pretty: false), as: UTF8.self) },
                  referralInRecord: high && configuration.referOnHighRisk)
    }
}
