import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

@testable import Reports

// The waterfall's geometry against the contributions it draws: bar lengths proportional to the
// values, direction by sign, groups and bars largest first, each bar starting where the last ended,
// the last ending at the woman's risk.

@Suite("Contribution chart")
struct ContributionChartTests {
    let factors = [
        ContributionChart.Factor(label: "Age 78", modality: "clinical", value: 2.0),
        ContributionChart.Factor(label: "Falls", modality: "falls", value: 1.5),
        ContributionChart.Factor(label: "CTXA neck T-score −2.7", modality: "CT bone", value: 3.0),
        ContributionChart.Factor(label: "L1 HU 95", modality: "CT bone", value: 0.5),
        ContributionChart.Factor(label: "BMI 29", modality: "clinical", value: -0.8),
        ContributionChart.Factor(label: "Vitamin D", modality: "serum", value: 0),
    ]

    @Test func geometryFollowsTheValues() {
        let c = ContributionChart(baselinePercent: 1.0, finalPercent: 7.2, horizonYears: 10, factors: factors, missing: ["serum CTX"])
        // Order: CT bone (3.5) before clinical (2.8) before falls (1.5); inside, largest |value| first; zero left out.
        #expect(c.groups.map(\.modality) == ["CT bone", "clinical", "falls"])
        #expect(c.bars.map(\.factor.label) == ["CTXA neck T-score −2.7", "L1 HU 95", "Age 78", "BMI 29", "Falls"])
        // Lengths proportional to the values, directions by sign.
        for b in c.bars {
            #expect(abs((b.x1 - b.x0) - b.factor.value * c.scale) < 1e-9)
            #expect((b.x1 > b.x0) == (b.factor.value > 0))
        }
        // A waterfall: each bar starts where the previous ended, from the baseline to the final risk.
        #expect(abs(c.bars[0].from - 1.0) < 1e-12)
        for (a, b) in zip(c.bars, c.bars.dropFirst()) { #expect(abs(a.to - b.from) < 1e-12 && b.y > a.y) }
        #expect(abs(c.bars.last!.to - 7.2) < 1e-12)
        #expect(abs(c.bars.last!.x1 - (c.plotLeft + 7.2 * c.scale)) < 1e-9)
    }

    @Test func totalsBelowZeroStayRightOfTheLabels() {
        // A large lowering group first takes the running total below 0 before the rest raises it.
        let c = ContributionChart(baselinePercent: 1.0, finalPercent: 0.5, horizonYears: 10,
                                  factors: [.init(label: "A", modality: "m1", value: -4), .init(label: "B", modality: "m2", value: 3.5)], missing: [])
        #expect(c.bars.allSatisfy { min($0.x0, $0.x1) >= 300 - 1e-9 }, "no bar over the label column")
        for b in c.bars { #expect(abs((b.x1 - b.x0) - b.factor.value * c.scale) < 1e-9) }
        #expect(c.bars[0].factor.label == "A" && abs(c.bars[0].x1 - (c.plotLeft - 3 * c.scale)) < 1e-9)  // the dip to −3 %
    }

    @Test func svgCarriesSignsAndMissingInputs() throws {
        let c = ContributionChart(baselinePercent: 1.0, finalPercent: 7.2, horizonYears: 10, factors: factors, missing: ["serum CTX"])
        let svg = c.svg()
        #expect(svg.contains("+3.00 pp") && svg.contains("−0.80 pp"))
        #expect(svg.contains("Not in the chart (missing): serum CTX"))
        // Many missing inputs wrap onto lines that fit the width (≈ 8 px per character at 15 px).
        let many = ContributionChart(baselinePercent: 1, finalPercent: 2, horizonYears: 10, factors: factors,
                                     missing: (1...30).map { "missing input number \($0)" })
        #expect(many.missingLines.count > 1 && many.missingLines.allSatisfy { Double($0.count) * 8 < many.width })
        #expect(many.missingLines.joined(separator: " ").contains("missing input number 30"))
        #expect(svg.contains("url(#hatch)"), "risk-lowering bars are hatched, not only coloured")
        // Well-formed XML with one rect per bar plus baseline and total.
        let doc = try XMLDocumentCheck.parse(svg)
        #expect(doc.count("rect") == c.bars.count + 2 + 1)  // + the hatch pattern's rect
    }
}

/// Minimal well-formedness check and element counting with Foundation's XMLParser.
enum XMLDocumentCheck {
    final class Counter: NSObject, XMLParserDelegate {
        var counts: [String: Int] = [:]
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            counts[name, default: 0] += 1
        }
    }
    struct Parsed { let counts: [String: Int]; func count(_ n: String) -> Int { counts[n] ?? 0 } }
    struct NotWellFormed: Error { let message: String }
    static func parse(_ text: String) throws -> Parsed {
        let p = XMLParser(data: Data(text.utf8))
        let c = Counter()
        p.delegate = c
        guard p.parse() else { throw NotWellFormed(message: p.parserError.map { "\($0)" } ?? "?") }
        return Parsed(counts: c.counts)
    }
}
