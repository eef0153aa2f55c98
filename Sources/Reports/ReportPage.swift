// One self-contained HTML page per screening: what a GP or surgeon sees after clicking the alert.
// Everything is inline (CSS, SVG, PNG as data: URIs): no scripts, fonts or network. Real text
// throughout, alt text on every picture, table headers, contrast ≥ 4.5:1 for text, meanings never by
// colour alone; one column that reflows from 768 px, and print styles. The page says what is absent
// instead of leaving gaps.
import Foundation
public import RiskModel
public import Screening

public struct ReportPicture: Sendable {
    public var title: String
    public var alt: String
    public var caption: String
    public var png: [UInt8]
    /// Where it belongs: "ct" (CT measurements), "strain" (finite elements).
    public var section: String
    public init(title: String, alt: String, caption: String, png: [UInt8], section: String) {
        self.title = title; self.alt = alt; self.caption = caption; self.png = png; self.section = section
    }
}

public struct ReportFlag: Sendable {
    public var code: String
    public var severity: String
    public var message: String
    public init(code: String, severity: String, message: String) { self.code = code; self.severity = severity; self.message = message }
}

/// Finite-element strength of one femur as the page shows it.
public struct ReportStrength: Sendable {
    public var side: String
    public var strength_N: Double?
    public var stiffness_N_per_mm: Double
    public var threshold_N: Double
    /// Whether the failure criterion is calibrated to the cadaver scale the threshold was set on.
    public var calibrated: Bool
    public var method: String
    public init(side: String, strength_N: Double?, stiffness_N_per_mm: Double, threshold_N: Double, calibrated: Bool, method: String) {
        self.side = side; self.strength_N = strength_N; self.stiffness_N_per_mm = stiffness_N_per_mm; self.threshold_N = threshold_N
        self.calibrated = calibrated; self.method = method
    }
}

public struct ReportInput: Sendable {
    public var result: ScreeningResult
    public var card: ModelDefinition.ModelCard
    public var pictures: [ReportPicture]
    public var qualityFlags: [ReportFlag]
    public var strength: [ReportStrength]
    /// How the CT was calibrated, in words (nil: not analysed).
    public var calibration: String?
    public init(result: ScreeningResult, card: ModelDefinition.ModelCard, pictures: [ReportPicture], qualityFlags: [ReportFlag],
                strength: [ReportStrength], calibration: String?) {
        self.result = result; self.card = card; self.pictures = pictures; self.qualityFlags = qualityFlags
        self.strength = strength; self.calibration = calibration
    }
}

public enum ReportPage {
    static func e(_ s: String) -> String { HTML.escape(s) }
    /// Percent with one decimal, two below 1 % (so a small risk never reads 0.0 %).
    static func pct(_ x: Double) -> String { String(format: x < 1 ? "%.2f %%" : "%.1f %%", x) }

    static let modalityNames = ["ct": "CT", "clinical": "Clinical risk factors", "falls": "Falls", "serum": "Serum markers",
                                "comorbidity": "Comorbidities", "medication": "Medication"]

    /// The page.
    public static func html(_ x: ReportInput) -> String {
        let r = x.result.risk
        let ten = r.probabilities.first { $0.years == 10 } ?? r.probabilities.last
        var h = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"/><meta name="viewport" content="width=device-width, initial-scale=1"/>
            <title>Hip-fracture risk from CT — OsteoCT</title>
            <style>\(css)</style></head><body><main>

            """
        // Header.
        h += "<header><h1>Hip-fracture risk from routine CT</h1><p class=\"meta\">"
        h += "CT study \(e(x.result.study.started ?? "date unknown"))\(x.result.study.description.map { " — " + e($0) } ?? ""); "
        h += "report issued \(e(x.result.issued)); OsteoCT \(e(x.result.softwareVersion)), model \(e(r.model.id)) \(e(r.model.version))</p></header>\n"
        // Headline.
        h += "<section id=\"headline\" aria-labelledby=\"h-risk\"><h2 id=\"h-risk\">Risk</h2>"
        if let ten {
            let interval = ten.lower95.flatMap { lo in ten.upper95.map { hi in " (95 % interval \(pct(lo))–\(pct(hi)))" } } ?? ""
            h += "<p class=\"headline\"><span class=\"big\">\(pct(ten.percent))</span> probability of a hip fracture in the next \(ten.years) years\(e(interval)).</p>"
        }
        h += "<p class=\"category cat-\(e(r.category.level.replacingOccurrences(of: " ", with: "-")))\"><strong>Category: \(e(r.category.level))</strong> — \(e(r.category.reasons.joined(separator: "; ")))</p>"
        h += "<p>A woman of the same age without risk factors: \(pct(r.relativeRisk.sameAgeNoRiskFactorsPercent)) over \(r.relativeRisk.horizonYears) years; "
        h += String(format: "her risk is %.1f times that.", r.relativeRisk.ratio) + "</p>"
        let others = r.probabilities.filter { $0.years != ten?.years }.map { "\($0.years) years: \(pct($0.percent))" }
        if !others.isEmpty { h += "<p>Shorter horizons — \(e(others.joined(separator: "; "))).</p>" }
        h += "</section>\n"
        // Why: the chart, missing and unused inputs.
        let factors = r.shapley.values.map { v in
            ContributionChart.Factor(label: label(v.group) + (value(of: v.group, in: x.result).map { " (\($0))" } ?? ""),
                                     modality: modalityNames[v.modality] ?? v.modality, value: v.percentagePoints)
        }
        let chart = ContributionChart(baselinePercent: r.shapley.baselinePercent, finalPercent: r.shapley.percent, horizonYears: r.shapley.horizonYears,
                                      factors: factors, missing: r.missing.map { label($0.item) })
        h += "<section id=\"why\" aria-labelledby=\"h-why\"><h2 id=\"h-why\">Why: what raises and lowers her risk</h2>"
        h += "<p>Each bar is one factor's share of the difference from a same-age woman without risk factors (exact Shapley values, \(e(r.shapley.method))). Bars to the right (solid) raise the risk, to the left (hatched) lower it.</p>"
        h += "<div class=\"chart\">\(chart.svg())</div>"
        h += "<p class=\"sr\">\(e(chart.description))</p>"
        if !r.missing.isEmpty {
            h += "<details><summary>Missing inputs (\(r.missing.count))</summary><ul>" + r.missing.map { "<li>\(e(label($0.item))): \(e($0.detail))</li>" }.joined() + "</ul></details>"
        }
        if !r.notUsed.isEmpty {
            h += "<details><summary>Not used (\(r.notUsed.count))</summary><ul>" + r.notUsed.map { "<li>\(e($0.item)): \(e($0.detail))</li>" }.joined() + "</ul></details>"
        }
        h += "</section>\n"
        // What-if.
        h += "<section id=\"what-if\" aria-labelledby=\"h-whatif\"><h2 id=\"h-whatif\">What could change it</h2>"
        if r.whatIf.isEmpty {
            h += "<p>No modifiable factor applies.</p>"
        } else {
            h += "<div class=\"scroll\"><table><thead><tr><th scope=\"col\">If</th><th scope=\"col\">\(r.whatIf[0].horizonYears)-year risk</th><th scope=\"col\">Change</th><th scope=\"col\">Source</th></tr></thead><tbody>"
            for w in r.whatIf {
                h += "<tr><td>\(e(w.label))</td><td>\(pct(w.percent))</td><td>\(w.changePercentagePoints >= 0 ? "+" : "−")\(String(format: "%.2f", abs(w.changePercentagePoints))) points</td><td>\(e(w.source))</td></tr>"
            }
            h += "</tbody></table></div>"
        }
        h += "</section>\n"
        // CT measurements.
        h += "<section id=\"ct\" aria-labelledby=\"h-ct\"><h2 id=\"h-ct\">CT measurements</h2>"
        h += "<p>\(e(x.calibration.map { "Calibration: " + $0 + "." } ?? "The CT was not analysed.")) \(e(x.result.ctNotes.joined(separator: " ")))</p>"
        if x.result.measurements.isEmpty {
            h += "<p>No CT measurement is reported.</p>"
        } else {
            // Key results first (the values read against a published threshold), everything in the
            // full table below, so the page is scannable and nothing is hidden.
            let key = x.result.measurements.filter { interpretation($0) != "—" }
            if !key.isEmpty {
                h += "<h3>Key results</h3>" + table(key)
            }
            h += "<h3>All CT measurements (\(x.result.measurements.count))</h3>" + table(x.result.measurements)
        }
        if x.qualityFlags.isEmpty {
            h += "<p>Quality: no flags.</p>"
        } else {
            h += "<h3>Quality flags</h3><ul class=\"flags\">" + x.qualityFlags.map { "<li><strong>\(e($0.severity == "exclude" ? "Excluded" : "Warning"))</strong> (\(e($0.code))): \(e($0.message))</li>" }.joined() + "</ul>"
        }
        h += figures(x.pictures.filter { $0.section == "ct" })
        h += "</section>\n"
        // Strength.
        h += "<section id=\"strength\" aria-labelledby=\"h-strength\"><h2 id=\"h-strength\">Femoral strength (finite elements)</h2>"
        if x.strength.isEmpty {
            h += "<p>Not computed for this CT (no calibrated, measurable femur).</p>"
        } else {
            h += "<ul>"
            for s in x.strength {
                var line = "\(s.side.capitalized) femur: stiffness \(Int(s.stiffness_N_per_mm.rounded())) N/mm"
                if let n = s.strength_N {
                    line += ", strength \(Int(n.rounded())) N against the low-strength threshold of \(Int(s.threshold_N)) N"
                    line += s.calibrated ? (n < s.threshold_N ? " — LOW" : " — above it")
                        : " — not compared: this strength is an index whose failure criterion is not calibrated to the scale of that threshold"
                }
                h += "<li>\(e(line)). <span class=\"how\">\(e(s.method))</span></li>"
            }
            h += "</ul>"
        }
        h += figures(x.pictures.filter { $0.section == "strain" })
        h += "</section>\n"
        // Provenance.
        h += "<section id=\"provenance\" aria-labelledby=\"h-prov\"><h2 id=\"h-prov\">Where the data came from</h2>"
        if let ehr = x.result.ehr, !ehr.evidence.isEmpty {
            h += "<div class=\"scroll\"><table><thead><tr><th scope=\"col\">Input</th><th scope=\"col\">Recorded</th><th scope=\"col\">Date</th><th scope=\"col\">Record</th></tr></thead><tbody>"
            for ev in ehr.evidence {
                let label = label(ev.feature)
                h += "<tr><td>\(e(label))</td><td>\(e(ev.recorded))\(ev.stale ? " <strong>(stale)</strong>" : "")</td><td>\(e(ev.date ?? "—"))</td><td>\(e(ev.sources.joined(separator: ", ")))</td></tr>"
            }
            h += "</tbody></table></div>"
        } else {
            h += "<p>No EHR record was used: the risk rests on the CT and defaults.</p>"
        }
        let series = x.result.study.series.map { "\($0.modality) series \($0.number.map(String.init) ?? "?")\($0.description.map { " (\($0))" } ?? ""), \($0.instances) images" }
        h += "<p>Imaging: study \(e(x.result.study.studyInstanceUID)); \(e(series.joined(separator: "; ")))</p>"
        h += "</section>\n"
        // Model card.
        let c = x.card
        h += "<section id=\"model\" aria-labelledby=\"h-model\"><h2 id=\"h-model\">About the model</h2>"
        h += "<p><strong>\(e(r.model.name))</strong> (\(e(r.model.id)) \(e(r.model.version))). Validation: \(e(c.validationStatus))</p>"
        h += "<p><strong>Intended use.</strong> \(e(c.intendedUse))</p><p><strong>Population.</strong> \(e(c.population))</p>"
        h += "<details><summary>Sources (\(c.sources.count))</summary><ul>" + c.sources.map { "<li>\(e($0))</li>" }.joined() + "</ul></details>"
        h += "<details open=\"open\"><summary>Limitations (\(c.limitations.count))</summary><ul>" + c.limitations.map { "<li>\(e($0))</li>" }.joined() + "</ul></details>"
        h += "<p class=\"disclaimer\">\(e(c.disclaimer))</p></section>\n"
        h += "</main></body></html>\n"
        return h
    }

    /// What the woman's record or CT said for a feature: the EHR's recorded value, else the CT
    /// measurements that feed it (both hips when both were measured).
    static func value(of feature: String, in r: ScreeningResult) -> String? {
        if let ev = r.ehr?.evidence.first(where: { $0.feature == feature }) { return ev.recorded }
        let ct = r.measurements.filter { $0.riskFeature == feature }
        guard !ct.isEmpty else { return nil }
        return ct.map { m in
            (m.side.map { "\($0.rawValue) " } ?? "") + String(format: "%.\(m.digits)f", m.value) + (displayUnit(m.unit).isEmpty ? "" : " " + displayUnit(m.unit))
        }.joined(separator: ", ")
    }

    static func label(_ id: String) -> String { FeatureSchema.name(id) }

    /// Measurements with site, value, threshold reading and method.
    static func table(_ ms: [CTMeasurement]) -> String {
        var h = "<div class=\"scroll\"><table><thead><tr><th scope=\"col\">Measurement</th><th scope=\"col\">Where</th><th scope=\"col\">Value</th><th scope=\"col\">Against the threshold</th><th scope=\"col\">How</th></tr></thead><tbody>"
        for m in ms {
            let value = String(format: "%.\(m.digits)f", m.value) + " " + displayUnit(m.unit)
            h += "<tr><td>\(e(OsteoCTCodes.display(m.code)))</td><td>\(e(m.siteDisplay))\(m.side.map { " (\($0.rawValue))" } ?? "")</td><td class=\"num\">\(e(value))</td>"
            h += "<td>\(e(interpretation(m)))</td><td class=\"how\">\(e(m.roi)); \(e(OsteoCTCodes.display(m.calibration)))</td></tr>"
        }
        return h + "</tbody></table></div>"
    }

    static func figures(_ pictures: [ReportPicture]) -> String {
        pictures.map { p in
            "<figure><img src=\"data:image/png;base64,\(Data(p.png).base64EncodedString())\" alt=\"\(e(p.alt))\"/><figcaption><strong>\(e(p.title)).</strong> \(e(p.caption))</figcaption></figure>"
        }.joined()
    }

    static func displayUnit(_ ucum: String) -> String {
        switch ucum {
        case "mg/cm3": return "mg/cm³"
        case "g/cm2": return "g/cm²"
        case "cm2": return "cm²"
        case "cm3": return "cm³"
        case "cm2/m2": return "cm²/m²"
        case "[hnsf'U]": return "HU"
        case "1": return ""
        default: return ucum
        }
    }

    /// The published threshold a value is read against, in words (WHO T-score categories; Pickhardt's
    /// L1 HU; the proximal-femur HU of the CT colonography study; Prado's and Martin's skeletal muscle
    /// index for women; femoral strength is shown in its own section).
    static func interpretation(_ m: CTMeasurement) -> String {
        switch (m.code, m.site) {
        case ("ctxa-tscore", _):
            return m.value <= -2.5 ? "≤ −2.5: osteoporosis range (WHO)" : m.value < -1 ? "−2.5 to −1: low bone mass (WHO)" : "≥ −1: normal (WHO)"
        case ("trabecular-attenuation", "66794005"):
            return m.value <= 100 ? "≤ 100 HU: osteoporosis likely (Pickhardt)" : m.value > 160 ? "> 160 HU: normal likely (Pickhardt)" : "100–160 HU: indeterminate (Pickhardt)"
        case ("trabecular-attenuation", _) where m.site == "310651003" || m.site == "29627003":
            return m.value < 112 ? "< 112 HU: low (proximal femur HU, CT colonography study)" : "≥ 112 HU"
        case ("skeletal-muscle-index", _):
            return m.value < 38.5 ? "< 38.5 cm²/m²: low (Prado 2008; Martin 2013 < 41)" : m.value < 41 ? "38.5–41 cm²/m²: low by Martin 2013 (< 41), not by Prado 2008" : "≥ 41 cm²/m²: not low (Prado, Martin)"
        default:
            return "—"
        }
    }

    static let css = """
        :root{color-scheme:light}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1a1a1a;background:#fff}
        main{max-width:1100px;margin:0 auto;padding:16px}h1{font-size:1.6rem;margin:.2em 0}h2{font-size:1.3rem;border-bottom:2px solid #1a1a1a;padding-bottom:.2em;margin-top:1.6em}
        .meta{color:#444}.headline{font-size:1.2rem}.big{font-size:2.4rem;font-weight:700}
        .category{padding:.5em .8em;border-left:8px solid #1a1a1a;background:#f2f2f2}.cat-high{border-left-color:#b2182b}
        .scroll{overflow-x:auto;max-width:100%}table{border-collapse:collapse;width:100%;font-size:.92rem}th,td{border:1px solid #bbb;padding:4px 6px;text-align:left;vertical-align:top}
        th{background:#eee}td.num{white-space:nowrap;text-align:right}.how{color:#444;font-size:.85rem}
        .chart svg{max-width:100%;height:auto}figure{margin:1em 0;max-width:100%}figure img{max-width:100%;height:auto;border:1px solid #bbb}
        figcaption{font-size:.9rem;color:#333}.sr{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}
        .disclaimer{font-size:.9rem;border:1px solid #1a1a1a;padding:.5em}details{margin:.5em 0}
        @media (max-width:800px){body{font-size:15px}.big{font-size:2rem}}
        @media print{main{max-width:none}details{display:block}.scroll{overflow:visible}a{color:inherit}}
        """
}
