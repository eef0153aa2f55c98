import Foundation

/// Validation charts as standalone SVG text: deterministic (same input → same bytes), no scripts,
/// no external fonts or resources (generic `sans-serif`), accessible (`<title>`, `<desc>`, axis
/// labels, and series told apart by line style and text, not only by colour).
public enum ValidationPlots {
    /// ROC curves with more points than this are thinned for drawing (points closer than 1/1000 of
    /// the axis to the previous drawn point are skipped; the curve's shape is unchanged at any
    /// printable size).
    static let maxDrawnPoints = 2000

    /// The ROC curve of a score, with the chance diagonal and the AUC (with its DeLong 95 % CI) in
    /// the legend.
    /// `idPrefix` prefixes the element ids (title, description), so several charts can be inlined
    /// in one HTML page.
    public static func rocCurve(
        outcome: [Double], score: [Double], title: String = "ROC curve", modelName: String = "Model", idPrefix: String = "roc"
    ) throws(FitError) -> String {
        let points = try ROC.curve(outcome: outcome, score: score)
        // The AUC line is left out only when DeLong's variance is undefined (fewer than 2 cases or controls).
        let auc = try? ROC.auc(outcome: outcome, score: score)
        return rocCurve(points: points, auc: auc, title: title, modelName: modelName, idPrefix: idPrefix)
    }

    /// The ROC curve from precomputed points (`ROC.curve`) and AUC (`ROC.auc`; nil to leave it out).
    public static func rocCurve(
        points: [ROCPoint], auc: AUCResult?, title: String = "ROC curve", modelName: String = "Model", idPrefix: String = "roc"
    ) -> String {
        let frame = PlotFrame(axisMax: 1, idPrefix: idPrefix)
        var legend = modelName
        if let a = auc {
            legend += " (AUC \(fmt(a.auc, 3)), \(Int((a.level * 100).rounded()))% CI \(fmt(a.lower, 3))–\(fmt(a.upper, 3)))"
        }
        // Thin very long curves.
        var drawn: [ROCPoint] = []
        let thin = points.count > maxDrawnPoints
        for (k, pt) in points.enumerated() {
            if thin, let last = drawn.last, k != points.count - 1,
               abs(pt.falsePositiveRate - last.falsePositiveRate) < 0.001, abs(pt.truePositiveRate - last.truePositiveRate) < 0.001 {
                continue
            }
            drawn.append(pt)
        }
        let path = drawn.map { "\(fmt(frame.x($0.falsePositiveRate), 2)),\(fmt(frame.y($0.truePositiveRate), 2))" }.joined(separator: " ")
        let desc = "ROC curve of \(modelName): sensitivity against 1 − specificity"
            + (auc.map { "; AUC \(fmt($0.auc, 3)) (\(Int(($0.level * 100).rounded()))% CI \(fmt($0.lower, 3)) to \(fmt($0.upper, 3)), DeLong)" } ?? "")
            + ". Dashed diagonal line: chance (AUC 0.5)."
        var svg = frame.open(title: title, description: desc)
        svg += frame.axes(
            ticks: [0, 0.2, 0.4, 0.6, 0.8, 1], decimals: 1,
            xLabel: "1 − specificity (false-positive rate)", yLabel: "Sensitivity (true-positive rate)")
        svg += "<line x1=\"\(fmt(frame.x(0), 2))\" y1=\"\(fmt(frame.y(0), 2))\" x2=\"\(fmt(frame.x(1), 2))\" y2=\"\(fmt(frame.y(1), 2))\" stroke=\"#777777\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"><title>Chance (AUC 0.5)</title></line>\n"
        svg += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"#1f4e9c\" stroke-width=\"2.5\" stroke-linejoin=\"round\"><title>\(escape(legend))</title></polyline>\n"
        svg += frame.legend([
            (LegendMark.solidLine("#1f4e9c"), legend),
            (LegendMark.dashedLine("#777777"), "Chance (AUC 0.5)"),
        ])
        svg += "</svg>\n"
        return svg
    }

    /// A calibration plot: observed against mean predicted risk in quantile groups (deciles by
    /// default), with Wilson 95 % intervals and the ideal line.
    public static func calibration(
        outcome: [Double], predicted: [Double], groups: Int = 10, title: String = "Calibration", idPrefix: String = "calibration"
    ) throws(FitError) -> String {
        calibration(groups: try Calibration.groups(outcome: outcome, predicted: predicted, count: groups), title: title, idPrefix: idPrefix)
    }

    /// A calibration plot from precomputed groups (`Calibration.groups`). Both axes run from 0 to a
    /// round value just above the largest point (so low risks are not squeezed into a corner);
    /// intervals reaching beyond it are cut at the edge of the plot.
    public static func calibration(groups: [CalibrationGroup], title: String = "Calibration", idPrefix: String = "calibration") -> String {
        let top = groups.reduce(0.0) { Swift.max($0, $1.meanPredicted, $1.observedRate) }
        let axisMax = niceCeiling(Swift.max(1.05 * top, 1e-6))
        let frame = PlotFrame(axisMax: axisMax, idPrefix: idPrefix)
        let step = axisMax / 5
        var decimals = 1  // enough digits to show every tick exactly
        while decimals < 8 && abs(step * pow(10, Double(decimals)) - (step * pow(10, Double(decimals))).rounded()) > 1e-9 {
            decimals += 1
        }
        let ticks = (0...5).map { Double($0) * step }
        let desc = "Calibration plot: observed proportion with the event against mean predicted risk in \(groups.count) groups of predicted risk, "
            + "with 95% Wilson intervals; dashed diagonal line: ideal calibration (observed = predicted)."
        var svg = frame.open(title: title, description: desc)
        svg += frame.axes(
            ticks: ticks, decimals: decimals,
            xLabel: "Predicted risk (group mean)", yLabel: "Observed risk (proportion with event)")
        svg += "<line x1=\"\(fmt(frame.x(0), 2))\" y1=\"\(fmt(frame.y(0), 2))\" x2=\"\(fmt(frame.x(axisMax), 2))\" y2=\"\(fmt(frame.y(axisMax), 2))\" stroke=\"#777777\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"><title>Ideal: observed = predicted</title></line>\n"
        for (k, g) in groups.enumerated() {
            let cx = frame.x(g.meanPredicted), cy = frame.y(g.observedRate)
            let label = "Group \(k + 1): mean predicted \(fmt(g.meanPredicted, 4)), observed \(fmt(g.observedRate, 4)) (\(g.events)/\(g.count)), 95% CI \(fmt(g.observedLower, 4))–\(fmt(g.observedUpper, 4))"
            svg += "<g><title>\(escape(label))</title>"
            svg += "<line x1=\"\(fmt(cx, 2))\" y1=\"\(fmt(frame.y(g.observedLower), 2))\" x2=\"\(fmt(cx, 2))\" y2=\"\(fmt(frame.y(Swift.min(g.observedUpper, axisMax)), 2))\" stroke=\"#1f4e9c\" stroke-width=\"1.5\"/>"
            svg += "<circle cx=\"\(fmt(cx, 2))\" cy=\"\(fmt(cy, 2))\" r=\"4.5\" fill=\"#1f4e9c\" stroke=\"#ffffff\" stroke-width=\"1\"/></g>\n"
        }
        svg += frame.legend([
            (LegendMark.dot("#1f4e9c"), "Groups of predicted risk (\(groups.count)); bars: 95% CI"),
            (LegendMark.dashedLine("#777777"), "Ideal (observed = predicted)"),
        ])
        svg += "</svg>\n"
        return svg
    }

    /// Smallest of {1, 2, 2.5, 5}·10ᵏ that is ≥ x (x > 0), capped at 1 for probabilities.
    static func niceCeiling(_ x: Double) -> Double {
        let e = floor(log10(x))
        let base = pow(10, e)
        for m in [1.0, 2, 2.5, 5, 10] where m * base >= x * (1 - 1e-12) { return Swift.min(1, m * base) }
        return 1
    }

    /// Fixed-point text with `decimals` digits ("-0.00" is written "0.00").
    static func fmt(_ x: Double, _ decimals: Int) -> String {
        let s = String(format: "%.\(decimals)f", x)
        if s.hasPrefix("-"), s.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) { return String(s.dropFirst()) }
        return s
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(ch)
            }
        }
        return out
    }
}

private enum LegendMark {
    case solidLine(String)
    case dashedLine(String)
    case dot(String)
}

/// A square plot area with both axes running from 0 to `axisMax`.
private struct PlotFrame {
    let axisMax: Double
    let idPrefix: String
    let width = 520.0
    let height = 600.0
    let left = 90.0
    let top = 60.0
    let size = 400.0

    func x(_ v: Double) -> Double { left + v / axisMax * size }
    func y(_ v: Double) -> Double { top + size - v / axisMax * size }

    func open(title: String, description: String) -> String {
        let f = ValidationPlots.fmt
        let e = ValidationPlots.escape
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width, 0))" height="\(f(height, 0))" viewBox="0 0 \(f(width, 0)) \(f(height, 0))" role="img" aria-labelledby="\(e(idPrefix))-title \(e(idPrefix))-desc" font-family="sans-serif" font-size="13" fill="#000000">
            <title id="\(e(idPrefix))-title">\(e(title))</title>
            <desc id="\(e(idPrefix))-desc">\(e(description))</desc>
            <rect x="0" y="0" width="\(f(width, 0))" height="\(f(height, 0))" fill="#ffffff"/>
            <text x="\(f(left + size / 2, 1))" y="32" text-anchor="middle" font-size="17" font-weight="bold">\(e(title))</text>

            """
    }

    func axes(ticks: [Double], decimals: Int, xLabel: String, yLabel: String) -> String {
        let f = ValidationPlots.fmt
        let e = ValidationPlots.escape
        var s = "<g stroke=\"#e0e0e0\" stroke-width=\"1\">"
        for t in ticks.dropFirst() {
            s += "<line x1=\"\(f(x(t), 2))\" y1=\"\(f(y(0), 2))\" x2=\"\(f(x(t), 2))\" y2=\"\(f(y(axisMax), 2))\"/>"
            s += "<line x1=\"\(f(x(0), 2))\" y1=\"\(f(y(t), 2))\" x2=\"\(f(x(axisMax), 2))\" y2=\"\(f(y(t), 2))\"/>"
        }
        s += "</g>\n"
        s += "<g stroke=\"#000000\" stroke-width=\"1.2\"><line x1=\"\(f(x(0), 2))\" y1=\"\(f(y(0), 2))\" x2=\"\(f(x(axisMax), 2))\" y2=\"\(f(y(0), 2))\"/>"
        s += "<line x1=\"\(f(x(0), 2))\" y1=\"\(f(y(0), 2))\" x2=\"\(f(x(0), 2))\" y2=\"\(f(y(axisMax), 2))\"/>"
        for t in ticks {
            s += "<line x1=\"\(f(x(t), 2))\" y1=\"\(f(y(0), 2))\" x2=\"\(f(x(t), 2))\" y2=\"\(f(y(0) + 6, 2))\"/>"
            s += "<line x1=\"\(f(x(0) - 6, 2))\" y1=\"\(f(y(t), 2))\" x2=\"\(f(x(0), 2))\" y2=\"\(f(y(t), 2))\"/>"
        }
        s += "</g>\n<g>"
        for t in ticks {
            s += "<text x=\"\(f(x(t), 2))\" y=\"\(f(y(0) + 22, 2))\" text-anchor=\"middle\">\(f(t, decimals))</text>"
            s += "<text x=\"\(f(x(0) - 10, 2))\" y=\"\(f(y(t) + 4.5, 2))\" text-anchor=\"end\">\(f(t, decimals))</text>"
        }
        s += "</g>\n"
        s += "<text x=\"\(f(left + size / 2, 1))\" y=\"\(f(top + size + 50, 1))\" text-anchor=\"middle\" font-size=\"14\">\(e(xLabel))</text>\n"
        let cy = top + size / 2
        s += "<text x=\"28\" y=\"\(f(cy, 1))\" text-anchor=\"middle\" font-size=\"14\" transform=\"rotate(-90 28 \(f(cy, 1)))\">\(e(yLabel))</text>\n"
        return s
    }

    /// A legend box below the x-axis label, outside the plot area so it never hides data; width
    /// estimated from the text length.
    func legend(_ items: [(LegendMark, String)]) -> String {
        let f = ValidationPlots.fmt
        let e = ValidationPlots.escape
        let lineHeight = 20.0
        let boxHeight = Double(items.count) * lineHeight + 10
        let longest = items.reduce(0) { Swift.max($0, $1.1.count) }
        let boxWidth = Swift.min(width - 20, Swift.max(200, 56 + 6.6 * Double(longest)))
        let bx = Swift.max(10, left + size / 2 - boxWidth / 2)
        let by = top + size + 64
        var s = "<g font-size=\"12\"><rect x=\"\(f(bx, 1))\" y=\"\(f(by, 1))\" width=\"\(f(boxWidth, 1))\" height=\"\(f(boxHeight, 1))\" fill=\"#ffffff\" fill-opacity=\"0.9\" stroke=\"#bbbbbb\"/>"
        for (k, item) in items.enumerated() {
            let cy = by + 5 + lineHeight * (Double(k) + 0.5)
            switch item.0 {
            case .solidLine(let colour):
                s += "<line x1=\"\(f(bx + 8, 1))\" y1=\"\(f(cy, 1))\" x2=\"\(f(bx + 38, 1))\" y2=\"\(f(cy, 1))\" stroke=\"\(colour)\" stroke-width=\"2.5\"/>"
            case .dashedLine(let colour):
                s += "<line x1=\"\(f(bx + 8, 1))\" y1=\"\(f(cy, 1))\" x2=\"\(f(bx + 38, 1))\" y2=\"\(f(cy, 1))\" stroke=\"\(colour)\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>"
            case .dot(let colour):
                s += "<circle cx=\"\(f(bx + 23, 1))\" cy=\"\(f(cy, 1))\" r=\"4.5\" fill=\"\(colour)\"/>"
            }
            s += "<text x=\"\(f(bx + 46, 1))\" y=\"\(f(cy + 4, 1))\">\(e(item.1))</text>"
        }
        s += "</g>\n"
        return s
    }
}
