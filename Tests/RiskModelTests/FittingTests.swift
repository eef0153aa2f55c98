import Foundation
import Testing

@testable import RiskModel

// Fitting: dense linear algebra, typed CSV, logistic and Cox regression. Every expected value is
// known independently of the code under test (published reference values, closed forms, hand
// computation, or the truth of seeded simulations).

/// Seeded draws: the module's own generator.
private typealias FitTestRandom = SeededRandom

private func relativeDifference(_ a: Double, _ b: Double) -> Double { abs(a - b) / abs(b) }

/// Spector & Mazzeo (1980) "Probit analysis and economic education", J Econ Educ 11:37–44, as
/// tabulated in Greene, Econometric Analysis (Table F14.1) and shipped as statsmodels'
/// `spector` data set: GPA, TUCE, PSI, GRADE (32 students).
private let spectorCSV = """
    GPA,TUCE,PSI,GRADE
    2.66,20,0,0
    2.89,22,0,0
    3.28,24,0,0
    2.92,12,0,0
    4.00,21,0,1
    2.86,17,0,0
    2.76,17,0,0
    2.87,21,0,0
    3.03,25,0,0
    3.92,29,0,1
    2.63,20,0,0
    3.32,23,0,0
    3.57,23,0,0
    3.26,25,0,1
    3.53,26,0,0
    2.74,19,0,0
    2.75,25,0,0
    2.83,19,0,0
    3.12,23,1,0
    3.16,25,1,1
    2.06,22,1,0
    3.62,28,1,1
    2.89,14,1,0
    3.51,26,1,0
    3.54,24,1,1
    2.83,27,1,1
    3.39,17,1,1
    2.67,24,1,0
    3.65,21,1,1
    4.00,23,1,1
    3.10,21,1,0
    2.39,19,1,1
    """

@Suite("Dense symmetric linear algebra")
struct DenseMatrixTests {
    @Test("Cholesky, solve and inverse of a known SPD matrix")
    func cholesky() throws {
        // A = L·Lᵀ with L = [[2,0,0],[1,3,0],[−1,2,4]] (chosen by hand).
        let a = try DenseMatrix([[4, 2, -2], [2, 10, 5], [-2, 5, 21]])
        let chol = try a.cholesky()
        let expectedL: [Double] = [2, 0, 0, 1, 3, 0, -1, 2, 4]
        for (x, y) in zip(chol.lower.values, expectedL) { #expect(abs(x - y) < 1e-14) }
        // A·(1, −1, 2) = (−2, 2, 35).
        let x = try chol.solve([-2, 2, 35])
        for (u, v) in zip(x, [1.0, -1, 2]) { #expect(abs(u - v) < 1e-13) }
        let inv = chol.inverse()
        for i in 0..<3 {
            for j in 0..<3 {
                var s = 0.0
                for k in 0..<3 { s += a[i, k] * inv[k, j] }
                #expect(abs(s - (i == j ? 1 : 0)) < 1e-13)
            }
        }
        #expect(abs(chol.logDeterminant - log(576)) < 1e-12)  // det = (2·3·4)² = 576
    }

    @Test("a singular or indefinite matrix is a clear error naming the pivot")
    func notPositiveDefinite() throws {
        let singular = try DenseMatrix([[1, 2], [2, 4]])
        #expect(throws: FitError.notPositiveDefinite(context: "test", pivot: 1)) { try singular.cholesky(context: "test") }
        let indefinite = try DenseMatrix([[-1, 0], [0, 1]])
        #expect(throws: FitError.notPositiveDefinite(context: "test", pivot: 0)) { try indefinite.cholesky(context: "test") }
    }
}

@Suite("Typed CSV")
struct CSVTableTests {
    @Test("RFC 4180 quoting, CRLF, embedded line breaks and doubled quotes")
    func quoting() throws {
        let text = "id,\"note, with comma\",x\r\n1,\"said \"\"hi\"\"\",2.5\r\n2,\"two\nlines\",-3e2\r\n"
        let t = try CSVTable(text: text, source: "q.csv", options: .init(columns: ["x"]))
        #expect(t.columnNames == ["x"])
        #expect(t.columns == [[2.5, -300]])
        #expect(t.lines == [2, 3])
        // The text column is parsed but not read as a number unless selected.
        #expect(throws: CSVError.notANumber(file: "q.csv", line: 2, row: 1, column: "note, with comma", value: "said \"hi\"")) {
            try CSVTable(text: text, source: "q.csv")
        }
    }

    @Test("categorical columns become col=level dummies; the first sorted level is the reference")
    func categorical() throws {
        let text = "y,site,grade\n1,b,3\n0,a,10\n1,c,2\n0,b,3\n"
        let t = try CSVTable(text: text, source: "c.csv", options: .init(categorical: ["site", "grade"]))
        // Text order for site (a is the reference); numeric order for grade (2 < 3 < 10, 2 is the reference).
        #expect(t.columnNames == ["y", "site=b", "site=c", "grade=3", "grade=10"])
        #expect(t.column("site=b") == [1, 0, 0, 1])
        #expect(t.column("site=c") == [0, 0, 1, 0])
        #expect(t.column("grade=10") == [0, 1, 0, 0])
        #expect(t.categoricalColumns == [
            .init(name: "site", reference: "a", levels: ["b", "c"]),
            .init(name: "grade", reference: "2", levels: ["3", "10"]),
        ])
    }

    @Test("missing values: an error naming line, row and column, or dropped rows counted")
    func missing() throws {
        let text = "y,x,z\n1,2,3\n0,,4\n1,NA,5\n0,6,\n1,7,8\n"
        #expect(throws: CSVError.missingValue(file: "m.csv", line: 3, row: 2, column: "x")) {
            try CSVTable(text: text, source: "m.csv")
        }
        let t = try CSVTable(text: text, source: "m.csv", options: .init(allowDroppingRows: true))
        #expect(t.rowCount == 2 && t.droppedRows == 3)
        #expect(t.column("x") == [2, 7])
        #expect(t.lines == [2, 6])
        // Only selected columns matter: z's gap does not drop row 4 when z is not read.
        let u = try CSVTable(text: text, source: "m.csv", options: .init(columns: ["y", "x"], allowDroppingRows: true))
        #expect(u.droppedRows == 2)
        // A categorical level only seen in dropped rows is not a level.
        let v = try CSVTable(text: "y,g\n1,a\n0,b\nNA,d\n0,c\n", source: "v.csv", options: .init(columns: ["y", "g"], categorical: ["g"], allowDroppingRows: true))
        #expect(v.columnNames == ["y", "g=b", "g=c"])
    }

    @Test("fast decimal parsing agrees bit for bit with Double(String)")
    func numberParsing() {
        var rng = FitTestRandom(state: 31)
        var mismatches: [String] = []
        for _ in 0..<20_000 {
            var text = rng.uniform() < 0.3 ? "-" : ""
            let digits = 1 + Int(rng.next() % 19)
            let point = Int(rng.next() % UInt64(digits + 2))  // may be past the end: no point
            for k in 0..<digits {
                if k == point { text += "." }
                text += String(rng.next() % 10)
            }
            if rng.uniform() < 0.1 { text += "e\(Int(rng.next() % 40) - 20)" }
            if CSVScanner.parseDouble(ArraySlice(text.utf8)) != Double(text) { mismatches.append(text) }
        }
        for text in ["0", "-0", ".5", "5.", "007", "0.000123", "1e5", "+3", "-", ".", "", "1 2", "0x10", "nan", "1,5"] {
            let a = CSVScanner.parseDouble(ArraySlice(text.utf8)), b = Double(text)
            if !(a == b || (a?.isNaN == true && b?.isNaN == true)) { mismatches.append(text) }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }

    @Test("malformed input and limits are typed errors")
    func errors() throws {
        #expect(throws: CSVError.fieldCount(file: "f.csv", line: 3, row: 2, expected: 2, got: 3)) {
            try CSVTable(text: "a,b\n1,2\n3,4,5\n", source: "f.csv")
        }
        #expect(throws: CSVError.malformed(file: "f.csv", line: 2, reason: "a quoted field opened here is never closed")) {
            try CSVTable(text: "a,b\n1,\"2\n", source: "f.csv")
        }
        #expect(throws: CSVError.notANumber(file: "f.csv", line: 2, row: 1, column: "b", value: "inf")) {
            try CSVTable(text: "a,b\n1,inf\n", source: "f.csv")
        }
        #expect(throws: CSVError.duplicateColumn(file: "f.csv", name: "a")) { try CSVTable(text: "a,a\n1,2\n", source: "f.csv") }
        #expect(throws: CSVError.unknownColumn(file: "f.csv", name: "c", available: ["a", "b"])) {
            try CSVTable(text: "a,b\n1,2\n", source: "f.csv", options: .init(columns: ["c"]))
        }
        #expect(throws: CSVError.tooManyRows(file: "f.csv", limit: 2)) {
            try CSVTable(text: "a\n1\n2\n3\n", source: "f.csv", options: .init(maxRows: 2))
        }
        #expect(throws: CSVError.tooManyColumns(file: "f.csv", count: 3, limit: 2)) {
            try CSVTable(text: "a,b,c\n1,2,3\n", source: "f.csv", options: .init(maxColumns: 2))
        }
        #expect(throws: CSVError.empty(file: "f.csv")) { try CSVTable(text: "\n\n", source: "f.csv") }
        #expect(throws: CSVError.noRows(file: "f.csv", dropped: 1)) {
            try CSVTable(text: "a\nNA\n", source: "f.csv", options: .init(allowDroppingRows: true))
        }
        #expect(throws: CSVError.self) { try CSVTable.read(path: "/nonexistent/osteoct/cohort.csv") }
    }
}

@Suite("Logistic regression")
struct LogisticRegressionTests {
    /// statsmodels `Logit` on spector; Stata reference values from statsmodels' test suite
    /// (shared/reference/risk-model.md §6.1).
    @Test("spector data: coefficients and SEs match the Stata reference to 1e-6 relative")
    func spector() throws {
        let table = try CSVTable(text: spectorCSV, source: "spector")
        let fit = try LogisticRegression.fit(table: table, outcome: "GRADE")
        let reference: [(String, Double, Double)] = [
            ("(intercept)", -13.021345912635, 4.931323890811),
            ("GPA", 2.8261124216999, 1.2629410221647),
            ("TUCE", 0.09515765001172, 0.141554201358),
            ("PSI", 2.3786875040587, 1.0645642078703),
        ]
        #expect(fit.coefficients.map(\.name) == reference.map(\.0))
        for (c, r) in zip(fit.coefficients, reference) {
            #expect(relativeDifference(c.coef, r.1) < 1e-6, "\(c.name) coef \(c.coef)")
            #expect(relativeDifference(c.se, r.2) < 1e-6, "\(c.name) se \(c.se)")
        }
        // Log-likelihood −12.890, null −20.592, McFadden 0.3740, LLR p 0.001502 (§6.1, rounded there).
        #expect(abs(fit.logLikelihood - -12.890) < 5e-4)
        #expect(abs(fit.nullLogLikelihood - -20.592) < 5e-4)
        #expect(abs(fit.mcFaddenR2 - 0.3740) < 5e-5)
        #expect(abs(fit.likelihoodRatioTest.p - 0.001502) < 5e-7)
        #expect(fit.observations == 32 && fit.events == 11)
        #expect(fit.iterations < 15)
    }

    @Test("L2 penalty: the penalised score equations hold and the intercept is not penalised")
    func ridge() throws {
        let table = try CSVTable(text: spectorCSV, source: "spector")
        let lambda = 2.0
        let fit = try LogisticRegression.fit(table: table, outcome: "GRADE", options: LogisticFitOptions(l2Penalty: lambda))
        let y = try #require(table.column("GRADE"))
        let xs = ["GPA", "TUCE", "PSI"].compactMap { table.column($0) }
        let b = fit.coefficients.map(\.coef)
        // Optimality: Σ(y − μ) = 0 for the intercept; Σ(y − μ)xⱼ = λβⱼ for the covariates.
        var score = [Double](repeating: 0, count: 4)
        for i in 0..<y.count {
            let eta = b[0] + b[1] * xs[0][i] + b[2] * xs[1][i] + b[3] * xs[2][i]
            let r = y[i] - 1 / (1 + exp(-eta))
            score[0] += r
            for j in 0..<3 { score[j + 1] += r * xs[j][i] }
        }
        #expect(abs(score[0]) < 1e-6)
        for j in 1...3 { #expect(abs(score[j] - lambda * b[j]) < 1e-6) }
        #expect(abs(lambda * b[1]) > 0.1)  // the penalty term is far from negligible
        // A huge penalty shrinks every slope to ~0 and leaves the intercept at logit(11/32).
        let flat = try LogisticRegression.fit(table: table, outcome: "GRADE", options: LogisticFitOptions(l2Penalty: 1e9))
        #expect(abs(flat.coefficients[0].coef - log(11.0 / 21.0)) < 1e-6)
        for c in flat.coefficients.dropFirst() { #expect(abs(c.coef) < 1e-6) }
    }

    @Test("recovers the coefficients of seeded simulated data within 4 SEs")
    func simulation() throws {
        var rng = FitTestRandom(state: 20_240_601)
        let n = 4000
        let truth = [-1.5, 0.8, -0.5, 1.2]
        var x1 = [Double](), x2 = [Double](), x3 = [Double](), y = [Double]()
        for _ in 0..<n {
            let a = rng.normal(), b = 2 * rng.uniform(), c: Double = rng.uniform() < 0.3 ? 1 : 0
            let eta = truth[0] + truth[1] * a + truth[2] * b + truth[3] * c
            x1.append(a); x2.append(b); x3.append(c)
            y.append(rng.uniform() < 1 / (1 + exp(-eta)) ? 1 : 0)
        }
        let fit = try LogisticRegression.fit(outcome: y, covariates: [x1, x2, x3], names: ["a", "b", "c"])
        for (c, t) in zip(fit.coefficients, truth) {
            #expect(abs(c.coef - t) < 4 * c.se, "\(c.name): \(c.coef) vs \(t) (se \(c.se))")
        }
    }

    @Test("separation, collinearity and constant covariates are clear errors")
    func failures() throws {
        // x separates the outcome completely.
        let x: [Double] = [1, 2, 3, 4, 5, 6, 7, 8]
        let y: [Double] = [0, 0, 0, 0, 1, 1, 1, 1]
        #expect(throws: FitError.separation(covariate: "x")) {
            try LogisticRegression.fit(outcome: y, covariates: [x], names: ["x"])
        }
        // Quasi-complete: z = 1 only among events, plus a harmless covariate w.
        let z: [Double] = [0, 0, 0, 0, 0, 1, 1, 1, 0, 0]
        let w: [Double] = [0.3, 1.2, -0.4, 0.8, 0.1, -1.0, 0.5, 0.2, 1.1, -0.7]
        let yq: [Double] = [0, 1, 0, 1, 0, 1, 1, 1, 0, 1]
        #expect(throws: FitError.separation(covariate: "z")) {
            try LogisticRegression.fit(outcome: yq, covariates: [z, w], names: ["z", "w"])
        }
        // A rare dummy (3 of 2000, all non-events) next to a strong, well-estimated covariate.
        var rng = FitTestRandom(state: 5)
        var strong = [Double](), rare = [Double](), yr = [Double]()
        for i in 0..<2000 {
            let s = rng.normal()
            strong.append(s)
            rare.append(i < 3 ? 1 : 0)
            yr.append(i < 3 ? 0 : (rng.uniform() < 1 / (1 + exp(-2 * s)) ? 1 : 0))
        }
        #expect(throws: FitError.separation(covariate: "rare")) {
            try LogisticRegression.fit(outcome: yr, covariates: [strong, rare], names: ["strong", "rare"])
        }
        // The same data fit fine with a ridge penalty.
        _ = try LogisticRegression.fit(outcome: yq, covariates: [z, w], names: ["z", "w"], options: LogisticFitOptions(l2Penalty: 1))
        // w2 = 2·w is collinear with w.
        #expect(throws: FitError.collinearCovariate("w2")) {
            try LogisticRegression.fit(outcome: yq, covariates: [w, w.map { 2 * $0 }], names: ["w", "w2"])
        }
        #expect(throws: FitError.constantCovariate("k")) {
            try LogisticRegression.fit(outcome: yq, covariates: [w, [Double](repeating: 3, count: 10)], names: ["w", "k"])
        }
        #expect(throws: FitError.degenerateOutcome("outcome has no events (all 0)")) {
            try LogisticRegression.fit(outcome: [Double](repeating: 0, count: 10), covariates: [w], names: ["w"])
        }
        #expect(throws: FitError.notBinary(what: "outcome", index: 2, value: 2)) {
            try LogisticRegression.fit(outcome: [0, 1, 2, 0], covariates: [[1, 2, 3, 4]], names: ["v"])
        }
    }
}

@Suite("Cox proportional hazards")
struct CoxRegressionTests {
    /// Four subjects (t, event, x): (1,1,1) (2,1,0) (3,0,1) (4,1,0); no ties.
    /// ℓ(β) = β − log(2u + 2) − log(u + 2) with u = e^β (the event at 4 has only itself at risk).
    /// ℓ'(β) = 1/(u + 1) − u/(u + 2) = 0 ⇒ u² = 2 ⇒ β̂ = ½ ln 2.
    /// −ℓ''(β̂) = u/(u+1)² + 2u/(u+2)² = 2√2/(1+√2)², so SE = (1+√2)/√(2√2).
    @Test("closed-form maximum, SE and Breslow baseline without ties (Efron = Breslow)", arguments: CoxTies.allCases)
    func closedForm(ties: CoxTies) throws {
        let fit = try CoxRegression.fit(
            time: [1, 2, 3, 4], event: [1, 1, 0, 1], covariates: [[1, 0, 1, 0]], names: ["x"], options: CoxFitOptions(ties: ties))
        let r2 = 2.0.squareRoot()
        #expect(abs(fit.coefficients[0].coef - 0.5 * log(2)) < 1e-10)
        #expect(abs(fit.coefficients[0].se - (1 + r2) / (2 * r2).squareRoot()) < 1e-9)
        #expect(abs(fit.partialLogLikelihood - (0.5 * log(2) - log(2 * r2 + 2) - log(r2 + 2))) < 1e-12)
        #expect(abs(fit.nullPartialLogLikelihood - (-log(4) - log(3))) < 1e-12)
        // Baseline at the mean x̄ = ½: weights e^{β̂(x − ½)} = 2^{±1/4}.
        #expect(fit.covariateMeans == [0.5])
        let hi = pow(2, 0.25), lo = pow(2, -0.25)
        let h1 = 1 / (2 * hi + 2 * lo), h2 = 1 / (hi + 2 * lo), h4 = 1 / lo
        #expect(fit.baselineTimes == [1, 2, 4])
        #expect(fit.baselineCumulativeHazard(at: 0.5) == 0)
        #expect(abs(fit.baselineCumulativeHazard(at: 3) - (h1 + h2)) < 1e-12)
        #expect(abs(fit.baselineSurvival(at: 10) - exp(-(h1 + h2 + h4))) < 1e-12)
        // Harrell's C of x·β̂ (β̂ > 0): pairs (1,2) (1,3) (1,4) (2,3) (2,4): x-risk 1>0 ✓, 1=1 ½, 1>0 ✓, 0<1 ✗, 0=0 ½ → 3/5.
        #expect(abs(fit.concordance - 0.6) < 1e-12)
    }

    /// Tied events: (t, event, x) = (1,1,1) (1,1,0) (2,1,1) (3,0,0). With u = e^β:
    /// Efron   ℓ(β) = 2β − log(2u + 2) − log(2u + 2 − (u + 1)/2) − log(u + 1)
    /// Breslow ℓ(β) = 2β − 2 log(2u + 2) − log(u + 1).
    @Test("Efron and Breslow partial likelihoods with tied events match hand formulas", arguments: CoxTies.allCases)
    func ties(ties: CoxTies) throws {
        func hand(_ b: Double) -> Double {
            let u = exp(b)
            switch ties {
            case .efron: return 2 * b - log(2 * u + 2) - log(2 * u + 2 - (u + 1) / 2) - log(u + 1)
            case .breslow: return 2 * b - 2 * log(2 * u + 2) - log(u + 1)
            }
        }
        let fit = try CoxRegression.fit(
            time: [1, 1, 2, 3], event: [1, 1, 1, 0], covariates: [[1, 0, 1, 0]], names: ["x"], options: CoxFitOptions(ties: ties))
        let b = fit.coefficients[0].coef
        #expect(abs(fit.nullPartialLogLikelihood - hand(0)) < 1e-12)  // Efron −log 24, Breslow −log 32
        #expect(abs(fit.nullPartialLogLikelihood - (ties == .efron ? -log(24) : -log(32))) < 1e-12)
        #expect(abs(fit.partialLogLikelihood - hand(b)) < 1e-12)
        // β̂ maximises the hand formula: derivative ~0, and the SE is 1/√(−ℓ'') by finite differences.
        let h = 1e-4
        let d1 = (hand(b + h) - hand(b - h)) / (2 * h)
        let d2 = (hand(b + h) - 2 * hand(b) + hand(b - h)) / (h * h)
        #expect(abs(d1) < 1e-7)
        #expect(abs(fit.coefficients[0].se - 1 / (-d2).squareRoot()) < 1e-5)
    }

    @Test("recovers coefficients and the baseline hazard of seeded censored data")
    func simulation() throws {
        var rng = FitTestRandom(state: 7_777)
        let n = 3000
        let truth = [0.7, -0.4, 0.3]
        let lambda = 0.05
        var cols = [[Double]](repeating: [], count: 3)
        var time = [Double](), event = [Double]()
        for _ in 0..<n {
            let x = [rng.normal(), rng.uniform() < 0.4 ? 1.0 : 0.0, 3 * rng.uniform()]
            let eta = zip(truth, x).reduce(0) { $0 + $1.0 * $1.1 }
            let t = -log(rng.uniform()) / (lambda * exp(eta))  // exponential, hazard λe^η
            let c = 30 * rng.uniform()  // uniform censoring
            for j in 0..<3 { cols[j].append(x[j]) }
            time.append((min(t, c) * 10).rounded(.up) / 10)  // rounded: creates ties
            event.append(t <= c ? 1 : 0)
        }
        let fit = try CoxRegression.fit(time: time, event: event, covariates: cols, names: ["a", "b", "c"])
        #expect(fit.events > 1000 && fit.events < n)
        for (c, t) in zip(fit.coefficients, truth) {
            #expect(abs(c.coef - t) < 4 * c.se, "\(c.name): \(c.coef) vs \(t) (se \(c.se))")
        }
        // True baseline for covariates at their means: H₀(t) = λ·t·exp(βᵀx̄).
        let centre = exp(zip(truth, fit.covariateMeans).reduce(0) { $0 + $1.0 * $1.1 })
        for t in [5.0, 10.0, 20.0] {
            let h = fit.baselineCumulativeHazard(at: t)
            #expect(abs(h / (lambda * t * centre) - 1) < 0.1, "H0(\(t)) = \(h)")
        }
        #expect(fit.concordance > 0.6)
    }

    @Test("monotone likelihood, collinearity and bad inputs are clear errors")
    func failures() throws {
        // Every x = 1 subject fails before any x = 0 subject: β → +∞.
        #expect(throws: FitError.monotoneLikelihood(covariate: "x")) {
            try CoxRegression.fit(time: [1, 2, 3, 4, 5, 6], event: [1, 1, 1, 1, 0, 1], covariates: [[1, 1, 1, 0, 0, 0]], names: ["x"])
        }
        let a: [Double] = [0.1, 0.5, -0.3, 0.9, 0.2, -0.8]
        #expect(throws: FitError.collinearCovariate("b")) {
            try CoxRegression.fit(time: [1, 2, 3, 4, 5, 6], event: [1, 0, 1, 1, 0, 1], covariates: [a, a.map { 1 - 3 * $0 }], names: ["a", "b"])
        }
        #expect(throws: FitError.degenerateOutcome("no events (every event indicator is 0)")) {
            try CoxRegression.fit(time: [1, 2, 3], event: [0, 0, 0], covariates: [[1, 2, 0]], names: ["a"])
        }
        #expect(throws: FitError.lengthMismatch(what: "event indicator", expected: 3, got: 2)) {
            try CoxRegression.fit(time: [1, 2, 3], event: [0, 1], covariates: [[1, 2, 0]], names: ["a"])
        }
        #expect(throws: FitError.nonFinite(what: "time", index: 1)) {
            try CoxRegression.fit(time: [1, .nan, 3], event: [0, 1, 1], covariates: [[1, 2, 0]], names: ["a"])
        }
    }

    @Test("table interface: time and event columns picked by name, the rest are covariates")
    func table() throws {
        let text = "t,d,x\n1,1,1\n2,1,0\n3,0,1\n4,1,0\n"
        let fit = try CoxRegression.fit(table: try CSVTable(text: text), time: "t", event: "d")
        #expect(fit.coefficients.map(\.name) == ["x"])
        #expect(abs(fit.coefficients[0].coef - 0.5 * log(2)) < 1e-10)
        #expect(throws: FitError.unknownColumn(name: "week", available: ["t", "d", "x"])) {
            try CoxRegression.fit(table: try CSVTable(text: text), time: "week", event: "d")
        }
    }
}

@Suite("Distribution functions")
struct StatisticalFunctionTests {
    @Test("χ² upper tails at tabulated 0.95 quantiles and closed forms")
    func chiSquare() {
        // Tabulated 95th percentiles: χ²(1) 3.841459, χ²(8) 15.507313, χ²(10) 18.307038, χ²(100) 124.342113.
        #expect(abs(StatisticalFunctions.chiSquareSurvival(3.841459, degreesOfFreedom: 1) - 0.05) < 1e-7)
        #expect(abs(StatisticalFunctions.chiSquareSurvival(15.507, degreesOfFreedom: 8) - 0.05) < 1e-4)
        #expect(abs(StatisticalFunctions.chiSquareSurvival(15.507313, degreesOfFreedom: 8) - 0.05) < 1e-7)
        #expect(abs(StatisticalFunctions.chiSquareSurvival(18.307038, degreesOfFreedom: 10) - 0.05) < 1e-7)
        #expect(abs(StatisticalFunctions.chiSquareSurvival(124.342113, degreesOfFreedom: 100) - 0.05) < 1e-7)
        // df 2: e^{−x/2}; df 4: e^{−x/2}(1 + x/2); df 1: erfc(√(x/2)).
        for x in [0.01, 0.5, 2.0, 7.5, 30.0] {
            #expect(abs(StatisticalFunctions.chiSquareSurvival(x, degreesOfFreedom: 2) - exp(-x / 2)) < 1e-14)
            #expect(abs(StatisticalFunctions.chiSquareSurvival(x, degreesOfFreedom: 4) - exp(-x / 2) * (1 + x / 2)) < 1e-14)
            #expect(abs(StatisticalFunctions.chiSquareSurvival(x, degreesOfFreedom: 1) - erfc((x / 2).squareRoot())) < 1e-14)
        }
        #expect(abs(StatisticalFunctions.regularizedGammaP(3, 2) - (1 - exp(-2) * (1 + 2 + 2))) < 1e-15)
    }

    @Test("normal quantiles and two-sided p-values")
    func normal() {
        #expect(abs(StatisticalFunctions.normalQuantile(0.975) - 1.959963984540054) < 1e-13)
        #expect(abs(StatisticalFunctions.normalQuantile(0.5)) < 1e-15)
        #expect(abs(StatisticalFunctions.normalQuantile(1e-10) - -6.361340902404056) < 1e-9)
        #expect(abs(StatisticalFunctions.twoSidedNormalP(1.959963984540054) - 0.05) < 1e-14)
    }
}
