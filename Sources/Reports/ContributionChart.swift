// The contribution chart: a horizontal waterfall from the same-age baseline to the woman's risk, one
// bar per factor (its exact Shapley contribution in percentage points), grouped by modality — groups
// with the largest total effect first, and within a group the largest effect first — ending at her
// risk. Each bar starts where the previous one ended; a bar going right raises the risk, left lowers
// it. The sign is written beside every bar ("+1.2 pp", "−0.4 pp") and the two directions differ in
// colour and in fill pattern (solid / hatched), so no meaning rests on colour alone.
import Foundation
import Screening

public struct ContributionChart: Sendable {
    public struct Factor: Sendable, Equatable {
        public var label: String
        public var modality: String
        /// Percentage points.
        public var value: Double
        public init(label: String, modality: String, value: Double) { self.label = label; self.modality = modality; self.value = value }
    }

    /// One drawn bar: its factor, the running total before and after (%), and its pixels.
    public struct Bar: Sendable, Equatable {
        public var factor: Factor
        public var from: Double
        public var to: Double
        public var x0: Double
        public var x1: Double
        public var y: Double
        public var raisesRisk: Bool { factor.value > 0 }
    }

    public var baselinePercent: Double
    public var finalPercent: Double
    public var horizonYears: Int
    public var bars: [Bar]
    /// Modality headings in drawing order with their y.
    public var groups: [(modality: String, total: Double, y: Double)]
    public var missing: [String]
    /// The missing inputs as lines of text that fit the chart's width.
    public var missingLines: [String]
    /// Pixels per percentage point and where 0 % lies (the plot's left edge unless totals go negative).
    public var scale: Double
    public var plotLeft: Double
    public var width: Double
    public var height: Double

    static let rowHeight = 26.0
    static let labelWidth = 300.0
    static let plotWidth = 380.0

    public init(baselinePercent: Double, finalPercent: Double, horizonYears: Int, factors: [Factor], missing: [String]) {
        self.baselinePercent = baselinePercent
        self.finalPercent = finalPercent
        self.horizonYears = horizonYears
        self.missing = missing
        // Groups by total |effect|, factors within by |effect|; ties by name, so the order is stable.
        let byModality = Dictionary(grouping: factors.filter { $0.value != 0 }, by: \.modality)
        let order = byModality.keys.sorted { a, b in
            let ta = byModality[a]!.reduce(0) { $0 + abs($1.value) }, tb = byModality[b]!.reduce(0) { $0 + abs($1.value) }
            return ta != tb ? ta > tb : a < b
        }
        // The axis spans every running total and 0 (a total can dip below 0 on the way when a large
        // lowering group comes first); `origin` is where 0 % sits.
        var running = baselinePercent, hi = max(baselinePercent, finalPercent), lo = 0.0
        for m in order { for f in byModality[m]! { running += f.value; hi = max(hi, running); lo = min(lo, running) } }
        scale = Self.plotWidth / max((hi - lo) * 1.1, 1e-9)
        plotLeft = Self.labelWidth - lo * scale
        var y = 40.0 + Self.rowHeight  // below the baseline row
        running = baselinePercent
        var bars: [Bar] = [], groups: [(String, Double, Double)] = []
        for m in order {
            let items = byModality[m]!.sorted { abs($0.value) != abs($1.value) ? abs($0.value) > abs($1.value) : $0.label < $1.label }
            groups.append((m, items.reduce(0) { $0 + $1.value }, y))
            y += Self.rowHeight
            for f in items {
                let to = running + f.value
                bars.append(Bar(factor: f, from: running, to: to, x0: plotLeft + running * scale, x1: plotLeft + to * scale, y: y))
                running = to
                y += Self.rowHeight
            }
        }
        self.bars = bars
        self.groups = groups
        width = Self.labelWidth + Self.plotWidth + 90
        missingLines = Self.wrap(missing.isEmpty ? [] : ["Not in the chart (missing):"] + missing.map { $0 + "," }, limit: 85)
        if let last = missingLines.last, last.hasSuffix(",") { missingLines[missingLines.count - 1] = String(last.dropLast()) }
        height = y + Self.rowHeight + 40 + Double(missingLines.count) * 18
    }

    /// The chart as inline SVG (scales to its container; title and description for screen readers).
    public func svg() -> String {
        func f(_ x: Double) -> String { String(format: "%.1f", x) }
        func pp(_ v: Double) -> String { (v >= 0 ? "+" : "−") + String(format: "%.2f pp", abs(v)) }
        var s = """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(f(width)) \(f(height))" width="100%" role="img" aria-labelledby="chart-title" aria-describedby="chart-desc" class="waterfall">
            <title id="chart-title">What makes up the \(horizonYears)-year hip-fracture risk</title>
            <desc id="chart-desc">\(HTML.escape(description))</desc>
            <defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#2166ac"/><line x1="0" y1="0" x2="0" y2="6" stroke="#ffffff" stroke-width="2"/></pattern></defs>
            <style>.waterfall text{font-family:system-ui,sans-serif;font-size:15px;fill:#1a1a1a}.waterfall .group{font-weight:600}</style>

            """
        // Baseline row.
        let by = 40.0
        s += "<text x=\"0\" y=\"\(f(by + 16))\">Same-age woman without risk factors</text>"
        s += "<rect x=\"\(f(plotLeft))\" y=\"\(f(by + 4))\" width=\"\(f(max(1, baselinePercent * scale)))\" height=\"16\" fill=\"#767676\"/>"
        s += "<text x=\"\(f(plotLeft + baselinePercent * scale + 6))\" y=\"\(f(by + 16))\">\(String(format: "%.2f %%", baselinePercent))</text>\n"
        for g in groups {
            s += "<text class=\"group\" x=\"0\" y=\"\(f(g.y + 16))\">\(HTML.escape(g.modality)) (\(pp(g.total)))</text>\n"
        }
        for b in bars {
            let left = min(b.x0, b.x1), w = max(1, abs(b.x1 - b.x0))
            let fill = b.raisesRisk ? "#b2182b" : "url(#hatch)"
            s += "<text x=\"12\" y=\"\(f(b.y + 16))\">\(HTML.escape(b.factor.label))</text>"
            s += "<rect x=\"\(f(left))\" y=\"\(f(b.y + 4))\" width=\"\(f(w))\" height=\"16\" fill=\"\(fill)\" data-value=\"\(b.factor.value)\"/>"
            s += "<text x=\"\(f(max(b.x0, b.x1) + 6))\" y=\"\(f(b.y + 16))\">\(pp(b.factor.value))</text>\n"
        }
        let fy = (bars.last?.y ?? groups.last?.y ?? by) + Self.rowHeight
        s += "<text x=\"0\" y=\"\(f(fy + 16))\" class=\"group\">Her \(horizonYears)-year risk</text>"
        s += "<rect x=\"\(f(plotLeft))\" y=\"\(f(fy + 4))\" width=\"\(f(max(1, finalPercent * scale)))\" height=\"16\" fill=\"#1a1a1a\"/>"
        s += "<text x=\"\(f(plotLeft + finalPercent * scale + 6))\" y=\"\(f(fy + 16))\" class=\"group\">\(String(format: "%.2f %%", finalPercent))</text>\n"
        // Axis at the bottom: 0 and the top of the scale.
        let ay = fy + Self.rowHeight + 8
        let top = (Self.labelWidth + Self.plotWidth - plotLeft) / scale
        s += "<line x1=\"\(f(Self.labelWidth))\" y1=\"\(f(ay))\" x2=\"\(f(Self.labelWidth + Self.plotWidth))\" y2=\"\(f(ay))\" stroke=\"#1a1a1a\"/>"
        s += "<text x=\"\(f(plotLeft))\" y=\"\(f(ay + 16))\">0 %</text><text x=\"\(f(plotLeft + Self.plotWidth - 40))\" y=\"\(f(ay + 16))\">\(String(format: "%.1f %%", top))</text>\n"
        for (i, line) in missingLines.enumerated() {
            s += "<text x=\"0\" y=\"\(f(ay + 40 + Double(i) * 18))\">\(HTML.escape(line))</text>\n"
        }
        s += "</svg>"
        return s
    }

    /// Words joined into lines of at most `limit` characters.
    static func wrap(_ words: [String], limit: Int) -> [String] {
        var lines: [String] = [], line = ""
        for w in words {
            if !line.isEmpty && line.count + 1 + w.count > limit { lines.append(line); line = "" }
            line += line.isEmpty ? w : " " + w
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    /// The chart in words, for screen readers and print.
    public var description: String {
        let parts = bars.map { "\($0.factor.label) \($0.factor.value >= 0 ? "raises" : "lowers") it by \(String(format: "%.2f", abs($0.factor.value))) points" }
        return String(format: "From %.2f %% for a same-age woman without risk factors to %.2f %%: ", baselinePercent, finalPercent) + parts.joined(separator: "; ") + "."
    }
}

/// HTML text escaping (the same as the FHIR narratives').
public enum HTML {
    public static func escape(_ s: String) -> String { Markup.escape(s) }
}
