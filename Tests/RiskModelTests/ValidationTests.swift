import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

@testable import RiskModel

// Validation metrics, plots and recalibration. Expected values are hand computations (shown in
// comments), closed forms, or brute-force reimplementations inside the test.

/// Seeded draws: the module's own generator.
private typealias ValidationTestRandom = SeededRandom

@Suite("AUC, DeLong and ROC")
struct ROCTests {
    @Test("AUC of the reference vector is 0.75; DeLong variance by hand")
    func referenceVector() throws {
        // risk-model.md §6.3: y=[0,0,1,1], score=[0.1,0.4,0.35,0.8] → 0.75.
        let r = try ROC.auc(outcome: [0, 0, 1, 1], score: [0.1, 0.4, 0.35, 0.8])
        #expect(r.auc == 0.75)
        // Placements: cases 0.35 → 1/2, 0.8 → 2/2; controls 0.1 → 2/2, 0.4 → 1/2.
        // s²(cases) = s²(controls) = 0.125; Var = 0.125/2 + 0.125/2 = 0.125.
        #expect(abs(r.standardError - 0.125.squareRoot()) < 1e-15)
        #expect(abs(r.lower - (0.75 - 1.959963984540054 * 0.125.squareRoot())) < 1e-12)
        #expect(r.upper == 1)  // clipped
        #expect(r.cases == 2 && r.controls == 2)
    }

    @Test("DeLong variance with tied scores, by hand")
    func delongTies() throws {
        // Cases 0.9, 0.6, 0.6; controls 0.6, 0.3, 0.2, 0.7.
        // Case placements: 0.9 → 4/4; 0.6 → (2 + ½)/4 = 0.625 (twice). AUC = 2.25/3 = 0.75.
        // Control placements: 0.6 → (1 + 2·½)/3 = 2/3; 0.3 → 1; 0.2 → 1; 0.7 → 1/3.
        // s²(cases) = (1/16 + 1/64 + 1/64)/2 = 3/64; s²(controls) = (1/144 + 9/144 + 9/144 + 25/144)/3 = 11/108.
        // Var = (3/64)/3 + (11/108)/4 = 1/64 + 11/432 = 71/1728.
        let y: [Double] = [1, 1, 1, 0, 0, 0, 0]
        let s: [Double] = [0.9, 0.6, 0.6, 0.6, 0.3, 0.2, 0.7]
        let r = try ROC.auc(outcome: y, score: s)
        #expect(abs(r.auc - 0.75) < 1e-15)
        #expect(abs(r.standardError - (71.0 / 1728).squareRoot()) < 1e-15)
        let (v10, v01) = ROC.placementValues(outcome: y, score: s)
        #expect(v10 == [1, 0.625, 0.625])
        #expect(zip(v01, [2.0 / 3, 1, 1, 1.0 / 3]).allSatisfy { abs($0 - $1) < 1e-15 })
    }

    @Test("AUC equals the brute-force pair count on random data with ties")
    func bruteForce() throws {
        var rng = ValidationTestRandom(state: 99)
        let n = 300
        let y = (0..<n).map { _ in rng.uniform() < 0.3 ? 1.0 : 0.0 }
        let s = y.map { ($0 + rng.uniform() * 2).rounded() / 2 }  // coarse: many ties
        var pairs = 0.0, wins = 0.0
        for i in 0..<n where y[i] == 1 {
            for j in 0..<n where y[j] == 0 {
                pairs += 1
                wins += s[i] > s[j] ? 1 : (s[i] == s[j] ? 0.5 : 0)
            }
        }
        #expect(abs(try ROC.auc(outcome: y, score: s).auc - wins / pairs) < 1e-12)
    }

    @Test("DeLong comparison: identical scores give no difference; var(A−A) = 0 and var(A) matches auc's SE")
    func comparison() throws {
        let y: [Double] = [1, 1, 1, 0, 0, 0, 0]
        let a: [Double] = [0.9, 0.6, 0.6, 0.6, 0.3, 0.2, 0.7]
        let same = try ROC.compare(outcome: y, scoreA: a, scoreB: a)
        #expect(same.difference == 0 && same.standardError == 0 && same.p == 1)
        // Against an uncorrelated-looking score: SE² = varA + varB − 2cov computed by hand from placements.
        let b: [Double] = [0.2, 0.8, 0.5, 0.1, 0.9, 0.3, 0.4]
        let cmp = try ROC.compare(outcome: y, scoreA: a, scoreB: b)
        let ra = try ROC.auc(outcome: y, score: a), rb = try ROC.auc(outcome: y, score: b)
        #expect(abs(cmp.difference - (rb.auc - ra.auc)) < 1e-15)
        let (a10, a01) = ROC.placementValues(outcome: y, score: a)
        let (b10, b01) = ROC.placementValues(outcome: y, score: b)
        func cov(_ u: [Double], _ v: [Double]) -> Double {
            let mu = u.reduce(0, +) / Double(u.count), mv = v.reduce(0, +) / Double(v.count)
            return zip(u, v).reduce(0) { $0 + ($1.0 - mu) * ($1.1 - mv) } / Double(u.count - 1)
        }
        let v = ra.standardError * ra.standardError + rb.standardError * rb.standardError
            - 2 * (cov(a10, b10) / 3 + cov(a01, b01) / 4)
        #expect(abs(cmp.standardError - v.squareRoot()) < 1e-14)
    }

    @Test("ROC curve points, ties moving diagonally")
    func curve() throws {
        let pts = try ROC.curve(outcome: [0, 0, 1, 1], score: [0.1, 0.4, 0.35, 0.8])
        #expect(pts.map(\.falsePositiveRate) == [0, 0, 0.5, 0.5, 1])
        #expect(pts.map(\.truePositiveRate) == [0, 0.5, 0.5, 1, 1])
        let tied = try ROC.curve(outcome: [0, 1], score: [0.5, 0.5])
        #expect(tied.map(\.falsePositiveRate) == [0, 1] && tied.map(\.truePositiveRate) == [0, 1])
    }

    @Test("input errors")
    func errors() {
        #expect(throws: FitError.degenerateOutcome("outcome has no events (all 0)")) { try ROC.auc(outcome: [0, 0], score: [1, 2]) }
        #expect(throws: FitError.lengthMismatch(what: "scores", expected: 3, got: 2)) { try ROC.auc(outcome: [0, 1, 1], score: [1, 2]) }
        #expect(throws: FitError.tooFewObservations(what: "DeLong AUC variance (cases and controls each)", needed: 2, got: 1)) {
            try ROC.auc(outcome: [0, 1, 1], score: [1, 2, 3])
        }
    }
}

@Suite("Harrell's C")
struct ConcordanceTests {
    @Test("hand example with censoring, tied risks and tied times")
    func hand() throws {
        // i: 0     1     2     3     4     5     6
        // t: 1     2     3     4     5     3     3
        // d: 1     0     1     1     0     0     1
        // r: 0.9   0.1   0.5   0.6   0.2   0.5   0.7
        // Event 0 (t1, .9) vs 1,2,3,4,5,6: all lower risk → 6 concordant.
        // Event 2 (t3, .5) vs 5 (censored at 3: outlives it) tie ½; vs 3 (.6) discordant; vs 4 (.2) concordant.
        //   Not vs 6 (event at the same time: not comparable).
        // Event 6 (t3, .7) vs 5 concordant, vs 3 concordant, vs 4 concordant.
        // Event 3 (t4, .6) vs 4 concordant.
        // Comparable 6 + 3 + 3 + 1 = 13; concordant 6 + 1 + 3 + 1 = 11; tied 1; discordant 1 → C = 11.5/13.
        let c = try Concordance.harrell(
            time: [1, 2, 3, 4, 5, 3, 3], event: [1, 0, 1, 1, 0, 0, 1], risk: [0.9, 0.1, 0.5, 0.6, 0.2, 0.5, 0.7])
        #expect(c.comparablePairs == 13 && c.concordant == 11 && c.tiedRisk == 1 && c.discordant == 1)
        #expect(abs(c.index - 11.5 / 13) < 1e-15)
    }

    @Test("O(n log n) result equals an O(n²) pair loop on random data with ties")
    func bruteForce() throws {
        var rng = ValidationTestRandom(state: 4242)
        let n = 400
        let t = (0..<n).map { _ in (rng.uniform() * 20).rounded() }
        let d = (0..<n).map { _ in rng.uniform() < 0.6 ? 1.0 : 0.0 }
        let r = (0..<n).map { _ in (rng.uniform() * 10).rounded() }
        var conc = 0, disc = 0, tie = 0
        for i in 0..<n where d[i] == 1 {
            for j in 0..<n where j != i && (t[j] > t[i] || (t[j] == t[i] && d[j] == 0)) {
                if r[i] > r[j] { conc += 1 } else if r[i] < r[j] { disc += 1 } else { tie += 1 }
            }
        }
        let c = try Concordance.harrell(time: t, event: d, risk: r)
        #expect(c.concordant == conc && c.discordant == disc && c.tiedRisk == tie)
    }
}

@Suite("Calibration, Brier, Hosmer–Lemeshow")
struct CalibrationTests {
    @Test("Brier and scaled Brier by hand; O/E")
    func brier() throws {
        // (0.2² + 0.4² + 0.1² + 0.4²)/4 = 0.37/4 = 0.0925; ȳ = ½ → scaled 1 − 0.0925/0.25 = 0.63.
        let (b, s) = try Calibration.brierScore(outcome: [0, 1, 1, 0], predicted: [0.2, 0.6, 0.9, 0.4])
        #expect(abs(b - 0.0925) < 1e-15 && abs(s - 0.63) < 1e-14)
        #expect(abs(try Calibration.observedToExpected(outcome: [0, 1, 1, 0], predicted: [0.2, 0.6, 0.9, 0.4]) - 2 / 2.1) < 1e-15)
    }

    @Test("calibration-in-the-large for a constant prediction is logit(ȳ) − logit(p)")
    func citlConstant() throws {
        let y: [Double] = [1, 0, 0, 1, 0, 0, 0, 0, 0, 1]  // ȳ = 0.3
        let c = try Calibration.calibrationInTheLarge(outcome: y, predicted: [Double](repeating: 0.2, count: 10))
        #expect(abs(c.coef - (log(0.3 / 0.7) - log(0.2 / 0.8))) < 1e-10)
        // SE of an intercept-only logistic fit: 1/√(nȳ(1 − ȳ)).
        #expect(abs(c.se - 1 / (10 * 0.3 * 0.7).squareRoot()) < 1e-9)
    }

    @Test("in-sample fitted values of a logistic model: slope 1, intercepts 0, O/E 1 (score equations)")
    func inSample() throws {
        var rng = ValidationTestRandom(state: 3)
        let n = 500
        let x = (0..<n).map { _ in rng.uniform() * 4 - 2 }
        let y = x.map { rng.uniform() < 1 / (1 + exp(-(0.3 + 1.1 * $0))) ? 1.0 : 0.0 }
        let fit = try LogisticRegression.fit(outcome: y, covariates: [x], names: ["x"])
        let p = try x.map { try fit.probability([$0]) }
        let s = try Calibration.summary(outcome: y, predicted: p)
        #expect(abs(s.calibrationSlope.coef - 1) < 1e-6)
        #expect(abs(s.slopeModelIntercept.coef) < 1e-6)
        #expect(abs(s.calibrationInTheLarge.coef) < 1e-6)
        #expect(abs(s.observedToExpected - 1) < 1e-6)
        // Predictions twice as extreme on the logit scale: slope ½ exactly.
        let extreme = p.map { 1 / (1 + exp(-2 * log($0 / (1 - $0)))) }
        #expect(abs(try Calibration.calibrationSlope(outcome: y, predicted: extreme).slope.coef - 0.5) < 1e-6)
    }

    @Test("Hosmer–Lemeshow on a constructed example, ties kept in one group")
    func hosmerLemeshow() throws {
        // Three groups of 10 with predictions 0.1, 0.3, 0.6 and 2, 3, 5 events:
        // Ĉ = (2 − 1)²/(10·0.1·0.9) + 0 + (5 − 6)²/(10·0.6·0.4) = 1/0.9 + 1/2.4; df 1; p = erfc(√(Ĉ/2)).
        var y = [Double](), p = [Double]()
        for (prob, events) in [(0.1, 2), (0.3, 3), (0.6, 5)] {
            for k in 0..<10 {
                p.append(prob)
                y.append(k < events ? 1 : 0)
            }
        }
        let hl = try HosmerLemeshow.test(outcome: y, predicted: p)  // deciles requested; ties collapse them to 3
        let expected = 1 / 0.9 + 1 / 2.4
        #expect(hl.groups.count == 3 && hl.degreesOfFreedom == 1)
        #expect(abs(hl.statistic - expected) < 1e-12)
        #expect(abs(hl.p - erfc((expected / 2).squareRoot())) < 1e-12)
        #expect(hl.groups.map(\.events) == [2, 3, 5])
    }

    @Test("deciles of 100 distinct predictions are 10 groups of 10, input order irrelevant")
    func deciles() throws {
        let p = (1...100).map { Double($0) / 101 }
        let y = (1...100).map { Double($0 % 3 == 0 ? 1 : 0) }
        let g = try Calibration.groups(outcome: y, predicted: p)
        #expect(g.count == 10 && g.allSatisfy { $0.count == 10 })
        #expect(abs(g[0].meanPredicted - 5.5 / 101) < 1e-15)
        let g2 = try Calibration.groups(outcome: y.reversed(), predicted: p.reversed())
        #expect(g == g2)
    }

    @Test("probabilities must be inside (0, 1) for logit-based metrics")
    func errors() {
        #expect(throws: FitError.probabilityOutOfRange(index: 1, value: 1, allowed: "(0, 1) (exclusive, because the metric uses logit(p))")) {
            try Calibration.summary(outcome: [0, 1], predicted: [0.5, 1])
        }
    }
}

@Suite("Decision curve, NRI and IDI")
struct DecisionAndReclassificationTests {
    @Test("net benefit against the formula TP/n − FP/n·pt/(1 − pt)")
    func netBenefit() throws {
        let y: [Double] = [1, 1, 0, 0, 0, 1, 0, 0, 0, 0]
        let p: [Double] = [0.9, 0.3, 0.25, 0.1, 0.05, 0.15, 0.2, 0.02, 0.6, 0.2]
        let nb = try DecisionCurve.netBenefit(outcome: y, predicted: p, thresholds: [0.2, 0.5])
        // pt = 0.2 (treat p ≥ 0.2): treated 0.9✓ 0.3✓ 0.25✗ 0.2✗ 0.6✗ 0.2✗ → TP 2, FP 4.
        #expect(nb[0].truePositives == 2 && nb[0].falsePositives == 4)
        #expect(abs(nb[0].model - (0.2 - 0.4 * 0.25)) < 1e-15)
        #expect(abs(nb[0].treatAll - (0.3 - 0.7 * 0.25)) < 1e-15)
        #expect(nb[0].treatNone == 0)
        // pt = 0.5: 0.9✓ 0.6✗ → 0.1 − 0.1·1.
        #expect(abs(nb[1].model - 0) < 1e-15 && abs(nb[1].treatAll - (0.3 - 0.7)) < 1e-15)
        #expect(throws: FitError.self) { try DecisionCurve.netBenefit(outcome: y, predicted: p, thresholds: [1]) }
    }

    // outcome [1,1,1,0,0,0]; old [.1,.2,.3,.1,.2,.3]; new [.3,.1,.35,.05,.25,.3]; cut-offs .15, .25.
    private let y: [Double] = [1, 1, 1, 0, 0, 0]
    private let old: [Double] = [0.1, 0.2, 0.3, 0.1, 0.2, 0.3]
    private let new: [Double] = [0.3, 0.1, 0.35, 0.05, 0.25, 0.3]

    @Test("categorical NRI by hand")
    func categoricalNRI() throws {
        // Categories old → new. Events: 0→2 up, 1→0 down, 2→2. Non-events: 0→0, 1→2 up (0.25 ≥ cut-off), 2→2.
        // NRI_e = 1/3 − 1/3 = 0; NRI_ne = 0 − 1/3; total −1/3. SE = √((2/3)/3 + (1/3)/3) = √(1/3).
        let r = try Reclassification.categoricalNRI(outcome: y, old: old, new: new, cutoffs: [0.15, 0.25])
        #expect(abs(r.events) < 1e-15 && abs(r.nonEvents + 1.0 / 3) < 1e-15 && abs(r.total + 1.0 / 3) < 1e-15)
        #expect(abs(r.standardError - (1.0 / 3).squareRoot()) < 1e-15)
        #expect(throws: FitError.self) { try Reclassification.categoricalNRI(outcome: y, old: old, new: new, cutoffs: [0.3, 0.2]) }
    }

    @Test("continuous NRI and IDI by hand")
    func continuousAndIDI() throws {
        // Events: up, down, up → 2/3 − 1/3 = 1/3. Non-events: down, up, same → 1/3 − 1/3 = 0.
        let r = try Reclassification.continuousNRI(outcome: y, old: old, new: new)
        #expect(abs(r.events - 1.0 / 3) < 1e-15 && abs(r.nonEvents) < 1e-15)
        // IDI: events' mean change (0.2 − 0.1 + 0.05)/3 = 0.05; non-events' (−0.05 + 0.05 + 0)/3 = 0.
        let idi = try Reclassification.idi(outcome: y, old: old, new: new)
        #expect(abs(idi.eventsChange - 0.05) < 1e-15 && abs(idi.nonEventsChange) < 1e-15 && abs(idi.idi - 0.05) < 1e-15)
        // SE: events' differences .2, −.1, .05 → s² = (.0225 + .0225 + 0)/2 = .0225; non-events −.05, .05, 0 → s² = .0025.
        #expect(abs(idi.standardError - (0.0225 / 3 + 0.0025 / 3).squareRoot()) < 1e-14)
    }
}

@Suite("Recalibration")
struct RecalibrationTests {
    @Test("shift to a target mean risk: closed form when all linear predictors are equal")
    func closedForm() throws {
        // 1 − S0^{e^δ} = r ⇒ δ = log(log(1 − r)/log S0).
        let r = try Recalibration.shiftToMeanRisk(linearPredictors: [0, 0, 0], baselineSurvival: 0.97, targetMeanRisk: 0.05)
        #expect(abs(r.shift - log(log(0.95) / log(0.97))) < 1e-12)
        #expect(abs(r.recalibratedBaselineSurvival - 0.95) < 1e-12)
        #expect(abs(r.originalMeanRisk - 0.03) < 1e-15)
    }

    @Test("shift to a target mean risk with spread-out linear predictors reaches the target")
    func spread() throws {
        var rng = ValidationTestRandom(state: 11)
        let lp = (0..<1000).map { _ in rng.uniform() * 6 - 3 }
        for target in [1e-4, 0.02, 0.3, 0.97] {
            let r = try Recalibration.shiftToMeanRisk(linearPredictors: lp, baselineSurvival: 0.98, targetMeanRisk: target)
            let mean = lp.reduce(0) { $0 - expm1(log(0.98) * exp($1 + r.shift)) } / 1000
            #expect(abs(mean - target) < 1e-12, "target \(target): \(mean)")
        }
        #expect(throws: FitError.self) { try Recalibration.shiftToMeanRisk(linearPredictors: lp, baselineSurvival: 1, targetMeanRisk: 0.1) }
    }

    @Test("logistic recalibration: constant linear predictor gives intercept logit(ȳ) − lp")
    func logistic() throws {
        let y: [Double] = [1, 0, 0, 1, 0, 0, 0, 0, 0, 1]
        let r = try Recalibration.logistic(outcome: y, linearPredictor: [Double](repeating: -2, count: 10))
        #expect(abs(r.intercept.coef - (log(0.3 / 0.7) + 2)) < 1e-10)
        #expect(abs(r.probability(linearPredictor: -2) - 0.3) < 1e-10)
        let x: [Double] = [-1, 0, 1, 2, -2, 0.5, 1.5, -0.5, 0, 1]
        let both = try Recalibration.logistic(outcome: y, linearPredictor: x, method: .interceptAndSlope)
        let direct = try LogisticRegression.fit(outcome: y, covariates: [x], names: ["x"])
        #expect(both.slope?.coef == direct.coefficients[1].coef && both.intercept.coef == direct.coefficients[0].coef)
    }
}

@Suite("SVG plots")
struct ValidationPlotTests {
    private final class Collector: NSObject, XMLParserDelegate {
        var elements: [String] = []
        var text = ""
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            elements.append(name)
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
    }

    private func parse(_ svg: String) -> (ok: Bool, elements: [String], text: String) {
        let parser = XMLParser(data: Data(svg.utf8))
        let c = Collector()
        parser.delegate = c
        let ok = parser.parse()
        return (ok, c.elements, c.text)
    }

    @Test("ROC SVG: well-formed, titled, labelled, AUC in the legend, deterministic")
    func roc() throws {
        let svg = try ValidationPlots.rocCurve(outcome: [0, 0, 1, 1, 0, 1], score: [0.1, 0.4, 0.35, 0.8, 0.2, 0.7], title: "ROC <test>")
        let (ok, elements, text) = parse(svg)
        #expect(ok)
        #expect(elements.first == "svg" && elements.contains("title") && elements.contains("desc") && elements.contains("polyline"))
        #expect(text.contains("ROC <test>"))  // escaped in the file, unescaped by the parser
        #expect(text.contains("1 − specificity (false-positive rate)") && text.contains("Sensitivity (true-positive rate)"))
        #expect(text.contains("AUC 0.889"))  // 8 of 9 pairs concordant
        #expect(text.contains("Chance (AUC 0.5)"))
        #expect(!svg.contains("<script") && !svg.contains("@font-face") && !svg.contains("href"))
        #expect(svg == (try ValidationPlots.rocCurve(outcome: [0, 0, 1, 1, 0, 1], score: [0.1, 0.4, 0.35, 0.8, 0.2, 0.7], title: "ROC <test>")))
    }

    @Test("calibration SVG: groups as points with titles, ideal line, axes scaled to the risks")
    func calibration() throws {
        var rng = ValidationTestRandom(state: 5)
        let p = (0..<500).map { _ in 0.01 + 0.08 * rng.uniform() }
        let y = p.map { rng.uniform() < $0 ? 1.0 : 0.0 }
        let svg = try ValidationPlots.calibration(outcome: y, predicted: p)
        let (ok, elements, text) = parse(svg)
        #expect(ok)
        #expect(elements.filter { $0 == "circle" }.count == 10 + 1)  // ten groups + the legend marker
        #expect(text.contains("Ideal (observed = predicted)") && text.contains("Predicted risk (group mean)"))
        #expect(text.contains("Group 10: mean predicted"))
        // Risks below 0.1: both axes end at a round value just above the largest point, not at 1.
        let groups = try Calibration.groups(outcome: y, predicted: p)
        let top = groups.reduce(0.0) { max($0, $1.meanPredicted, $1.observedRate) }
        let axisMax = ValidationPlots.niceCeiling(1.05 * top)
        #expect(axisMax >= 1.05 * top && axisMax <= 0.25)
        #expect(svg.contains(">\(ValidationPlots.fmt(axisMax, 2))</text>") && !svg.contains(">1.0</text>"))
        #expect(svg.contains("aria-labelledby=\"calibration-title calibration-desc\""))
    }
}

@Suite("Binary validation report")
struct BinaryValidationTests {
    @Test("report on seeded data is consistent with the single metrics and encodes to JSON")
    func report() throws {
        var rng = ValidationTestRandom(state: 8)
        let p = (0..<2000).map { _ in 0.02 + 0.5 * rng.uniform() * rng.uniform() }
        let y = p.map { rng.uniform() < $0 ? 1.0 : 0.0 }
        let r = try BinaryValidation.evaluate(outcome: y, predicted: p, thresholds: [0.05, 0.1])
        #expect(r.auc == (try ROC.auc(outcome: y, score: p)))
        #expect(r.netBenefit.count == 2)
        #expect(r.hosmerLemeshow.degreesOfFreedom == 8)
        // Outcomes drawn from the predictions: calibrated within sampling error.
        #expect(abs(r.calibration.calibrationSlope.coef - 1) < 3 * r.calibration.calibrationSlope.se)
        #expect(abs(r.calibration.calibrationInTheLarge.coef) < 3 * r.calibration.calibrationInTheLarge.se)
        let json = try JSONEncoder().encode(r)
        #expect(json.count > 500)
    }
}
