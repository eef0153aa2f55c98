import Foundation
import Testing

@testable import RiskModel

@Suite("QFracture-2012 hip (women) equation")
struct QFractureTests {
    /// Regression points of shared/reference/qfracture-2012-hip-women.md (white, non-smoker, no
    /// alcohol, no other factors), to 4 decimals as published there.
    @Test("regression points of the reference file", arguments: [
        (50, 25.0, false, 10, 0.1623), (70, 25.0, false, 10, 2.1591), (90, 25.0, false, 10, 11.9000),
        (70, 20.0, false, 10, 3.6065), (70, 25.0, true, 10, 3.3131), (70, 25.0, false, 5, 0.7173),
    ])
    func regressionPoints(_ c: (Int, Double, Bool, Int, Double)) throws {
        var x = QFractureInputs(age: c.0, bmi: c.1)
        x.falls = c.2
        let r = try QFracture2012.risk(x, years: c.3)
        #expect(abs(r - c.4) < 0.00005, "age \(c.0) bmi \(c.1) falls \(c.2) t \(c.3): \(r)")
    }

    @Test("a = 0 at the centring point: the cohort's average woman has the baseline survival")
    func centring() throws {
        // (age/10)² = 26.304763793945313 ⇒ age = 51.2881…; the cube term's centre is that age's cube
        // within float32 rounding, so a ≈ 0 only approximately there; check the BMI centre exactly.
        let bmiAtCentre = 10 / 0.148731395602226.squareRoot()
        var x = QFractureInputs(age: 51, bmi: bmiAtCentre)
        let terms = try QFracture2012.terms(x)
        #expect(abs(terms.first { $0.name == "bmi" }!.value) < 1e-12)
        x.bmi = 25
        #expect(try QFracture2012.linearPredictor(x) < 0.2)
    }

    @Test("BMI is clamped into 20…40 and imputed by the ClinRisk predictor when missing")
    func bmiRules() throws {
        let low = try QFracture2012.risk(QFractureInputs(age: 70, bmi: 15), years: 10)
        let twenty = try QFracture2012.risk(QFractureInputs(age: 70, bmi: 20), years: 10)
        #expect(low == twenty)
        // Imputed BMI, white woman without conditions (reference file §1.7: 70 y → 26.72, 80 y → 25.95).
        #expect(abs(QFracture2012.imputedBMI(QFractureInputs(age: 70)) - 26.72) < 0.005)
        #expect(abs(QFracture2012.imputedBMI(QFractureInputs(age: 80)) - 25.95) < 0.005)
        var t2 = QFractureInputs(age: 70)
        t2.type2Diabetes = true
        #expect(abs(QFracture2012.imputedBMI(t2) - QFracture2012.imputedBMI(QFractureInputs(age: 70)) - 3.1712226528496901) < 1e-12)
    }

    @Test("outside the validated ranges: a clear refusal, not a number")
    func ranges() {
        #expect(throws: RiskError.self) { try QFracture2012.risk(QFractureInputs(age: 29, bmi: 25), years: 10) }
        #expect(throws: RiskError.self) { try QFracture2012.risk(QFractureInputs(age: 70, bmi: 25), years: 19) }
        var bad = QFractureInputs(age: 70, bmi: 25)
        bad.smoking = 5
        #expect(throws: RiskError.self) { try QFracture2012.risk(bad, years: 10) }
    }
}
