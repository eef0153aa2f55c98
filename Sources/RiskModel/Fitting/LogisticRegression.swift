import Foundation

/// Settings of a logistic-regression fit.
public struct LogisticFitOptions: Sendable, Equatable {
    /// Fit an intercept (named `(intercept)`, first coefficient). Default true.
    public var includeIntercept: Bool
    /// L2 (ridge) penalty λ ≥ 0: the fit maximises ℓ(β) − (λ/2)·Σⱼ βⱼ² over the covariate
    /// coefficients (never the intercept), on the covariates' own scale (standardise them first
    /// if they are on very different scales). Default 0.
    public var l2Penalty: Double
    /// A known per-observation offset added to the linear predictor (e.g. logit of existing
    /// predictions, for calibration-in-the-large). Default none.
    public var offset: [Double]?
    /// Newton–Raphson iteration limit. Default 100.
    public var maxIterations: Int
    /// Converged when |Δℓ| ≤ this × (1 + |ℓ|) between iterations … (default 1e-10)
    public var logLikelihoodTolerance: Double
    /// … and the largest |∂ℓ/∂βⱼ| divided by n is ≤ this (default 1e-8).
    public var gradientTolerance: Double

    public init(
        includeIntercept: Bool = true, l2Penalty: Double = 0, offset: [Double]? = nil, maxIterations: Int = 100,
        logLikelihoodTolerance: Double = 1e-10, gradientTolerance: Double = 1e-8
    ) {
        self.includeIntercept = includeIntercept
        self.l2Penalty = l2Penalty
        self.offset = offset
        self.maxIterations = maxIterations
        self.logLikelihoodTolerance = logLikelihoodTolerance
        self.gradientTolerance = gradientTolerance
    }
}

/// A fitted logistic regression: logit P(y = 1 | x) = β₀ + xᵀβ (+ offset).
public struct LogisticFit: Sendable, Equatable {
    /// Intercept first (if fitted), then the covariates in the order given.
    public let coefficients: [FittedCoefficient]
    /// Inverse of the observed information of the penalised problem (XᵀWX + λ·D), the source of the SEs.
    public let covariance: DenseMatrix
    /// Log-likelihood at the estimate, without the penalty.
    public let logLikelihood: Double
    /// ℓ(β̂) − (λ/2)·Σ β̂ⱼ² (equal to `logLikelihood` when λ = 0).
    public let penalizedLogLikelihood: Double
    /// Log-likelihood of the intercept-only model (with the same offset; offset only if there is no intercept).
    public let nullLogLikelihood: Double
    /// Newton–Raphson iterations used.
    public let iterations: Int
    public let observations: Int
    public let events: Int
    public let l2Penalty: Double
    public let includesIntercept: Bool

    /// McFadden's pseudo-R² = 1 − ℓ/ℓ₀.
    public var mcFaddenR2: Double { 1 - logLikelihood / nullLogLikelihood }

    /// Likelihood-ratio χ² = 2(ℓ − ℓ₀) against the null model, with (number of covariates) df,
    /// and its p-value (meaningful for unpenalised fits).
    public var likelihoodRatioTest: (chiSquare: Double, degreesOfFreedom: Int, p: Double) {
        let df = coefficients.count - (includesIntercept ? 1 : 0)
        let x = 2 * (logLikelihood - nullLogLikelihood)
        return (x, df, df > 0 ? StatisticalFunctions.chiSquareSurvival(x, degreesOfFreedom: Double(df)) : .nan)
    }

    /// The linear predictor (log-odds) for covariate values in the fitted order (without the intercept).
    public func linearPredictor(_ covariates: [Double]) throws(FitError) -> Double {
        let k = includesIntercept ? 1 : 0
        try FitInputCheck.sameLength("covariate values", covariates.count, expected: coefficients.count - k)
        var eta = includesIntercept ? coefficients[0].coef : 0
        for (j, x) in covariates.enumerated() { eta += coefficients[j + k].coef * x }
        return eta
    }

    /// The predicted probability for covariate values in the fitted order.
    public func probability(_ covariates: [Double]) throws(FitError) -> Double {
        StatisticalFunctions.expit(try linearPredictor(covariates))
    }
}

/// Maximum-likelihood (optionally ridge-penalised) logistic regression by Newton–Raphson
/// (equivalently IRLS), with step halving whenever a full step lowers the penalised log-likelihood.
///
/// Convergence needs both criteria in `LogisticFitOptions`. Standard errors come from the inverse of
/// the observed information of the penalised problem at the estimate (for the logit link observed
/// and expected information coincide). Complete or quasi-complete separation — fitted probabilities
/// numerically 0 or 1 while the Newton steps keep a covariate's coefficient moving — is reported as
/// `FitError.separation` naming that covariate instead of returning a meaningless estimate.
public enum LogisticRegression {
    /// Name of the intercept in `LogisticFit.coefficients`.
    public static let interceptName = "(intercept)"
    /// At most this many covariates (the information matrix is dense; practical up to ~100).
    public static let maxCovariates = 1000

    /// Fits `outcome` (0/1) on the covariate columns (`covariates[j]` holds covariate j for every
    /// observation; `names[j]` is its name).
    public static func fit(
        outcome: [Double], covariates: [[Double]], names: [String], options: LogisticFitOptions = LogisticFitOptions()
    ) throws(FitError) -> LogisticFit {
        let n = outcome.count
        try FitInputCheck.sameLength("covariate names", names.count, expected: covariates.count)
        guard covariates.count <= maxCovariates else {
            throw .tooLarge(what: "number of covariates", value: covariates.count, limit: maxCovariates)
        }
        guard options.l2Penalty >= 0, options.l2Penalty.isFinite else {
            throw .invalidArgument("l2Penalty must be a finite number ≥ 0, got \(options.l2Penalty)")
        }
        guard options.maxIterations >= 1 else { throw .invalidArgument("maxIterations must be ≥ 1") }
        try FitInputCheck.finite("outcome", outcome)
        try FitInputCheck.binaryWithBoth("outcome", outcome)
        for (j, c) in covariates.enumerated() {
            try FitInputCheck.sameLength("covariate '\(names[j])'", c.count, expected: n)
            try FitInputCheck.finite("covariate '\(names[j])'", c)
        }
        if let off = options.offset {
            try FitInputCheck.sameLength("offset", off.count, expected: n)
            try FitInputCheck.finite("offset", off)
        }
        let k = options.includeIntercept ? 1 : 0
        let p = covariates.count + k
        guard p >= 1 else { throw .invalidArgument("no intercept and no covariates: nothing to fit") }
        guard n > p else { throw .tooFewObservations(what: "logistic regression with \(p) coefficients", needed: p + 1, got: n) }
        if options.includeIntercept {
            for (j, c) in covariates.enumerated() where c.allSatisfy({ $0 == c[0] }) {
                throw .constantCovariate(names[j])
            }
        }

        var x = [Double](repeating: 0, count: n * p)
        for i in 0..<n {
            if k == 1 { x[i * p] = 1 }
            for j in 0..<covariates.count { x[i * p + j + k] = covariates[j][i] }
        }
        let allNames = (options.includeIntercept ? [interceptName] : []) + names
        var penalty = [Double](repeating: options.l2Penalty, count: p)
        if k == 1 { penalty[0] = 0 }

        let problem = LogisticNewton(x: x, n: n, p: p, y: outcome, offset: options.offset, penalty: penalty, names: allNames)
        var start = [Double](repeating: 0, count: p)
        let ybar = outcome.reduce(0, +) / Double(n)
        if k == 1 && options.offset == nil { start[0] = StatisticalFunctions.logit(ybar) }
        let result = try problem.run(start: start, options: options)

        // Null model: intercept only (with the offset), or offset only.
        let nullLL: Double
        if options.includeIntercept {
            if let off = options.offset {
                let nullProblem = LogisticNewton(
                    x: [Double](repeating: 1, count: n), n: n, p: 1, y: outcome, offset: off, penalty: [0], names: [interceptName])
                nullLL = try nullProblem.run(start: [0], options: options).logLikelihood
            } else {
                nullLL = Double(n) * (ybar * log(ybar) + (1 - ybar) * log1p(-ybar))
            }
        } else {
            nullLL = problem.logLikelihood(at: [Double](repeating: 0, count: p))
        }

        let coefs = (0..<p).map { j in
            FittedCoefficient(name: allNames[j], coef: result.beta[j], se: result.covariance[j, j].squareRoot())
        }
        return LogisticFit(
            coefficients: coefs, covariance: result.covariance, logLikelihood: result.logLikelihood,
            penalizedLogLikelihood: result.penalizedLogLikelihood, nullLogLikelihood: nullLL,
            iterations: result.iterations, observations: n, events: Int(outcome.reduce(0, +)),
            l2Penalty: options.l2Penalty, includesIntercept: options.includeIntercept)
    }

    /// Fits the column `outcome` of a table on `covariates` (default: every other column, dummies included).
    public static func fit(
        table: CSVTable, outcome: String, covariates: [String]? = nil, options: LogisticFitOptions = LogisticFitOptions()
    ) throws(FitError) -> LogisticFit {
        let y = try FitInputCheck.column(table, outcome)
        let names = covariates ?? table.columnNames.filter { $0 != outcome }
        var cols: [[Double]] = []
        for name in names { cols.append(try FitInputCheck.column(table, name)) }
        return try fit(outcome: y, covariates: cols, names: names, options: options)
    }
}

/// The Newton–Raphson engine: a row-major design (n × p), outcome, optional offset and a per-column
/// ridge penalty. Internal so calibration and recalibration reuse it.
struct LogisticNewton {
    let x: [Double]
    let n: Int
    let p: Int
    let y: [Double]
    let offset: [Double]?
    let penalty: [Double]
    let names: [String]

    struct Result {
        var beta: [Double]
        var covariance: DenseMatrix
        var logLikelihood: Double
        var penalizedLogLikelihood: Double
        var iterations: Int
    }

    private struct Evaluation {
        var logLikelihood: Double  // unpenalised
        var penalized: Double
        var gradient: [Double]  // of the penalised log-likelihood
        var information: [Double]  // packed upper triangle of −Hessian (penalised)
        var minTail: Double  // smallest min(μ, 1 − μ) over observations
    }

    /// Unpenalised log-likelihood at β.
    func logLikelihood(at beta: [Double]) -> Double {
        var ll = 0.0
        x.withUnsafeBufferPointer { xp in
            for i in 0..<n {
                var eta = offset?[i] ?? 0
                let row = i * p
                for j in 0..<p { eta += xp[row + j] * beta[j] }
                ll += y[i] * eta - StatisticalFunctions.softplus(eta)
            }
        }
        return ll
    }

    private func evaluate(_ beta: [Double]) -> Evaluation {
        var ll = 0.0
        var grad = [Double](repeating: 0, count: p)
        var info = [Double](repeating: 0, count: p * (p + 1) / 2)
        var minTail = 1.0
        x.withUnsafeBufferPointer { xp in
            grad.withUnsafeMutableBufferPointer { g in
                info.withUnsafeMutableBufferPointer { h in
                    for i in 0..<n {
                        let row = i * p
                        var eta = offset?[i] ?? 0
                        for j in 0..<p { eta += xp[row + j] * beta[j] }
                        ll += y[i] * eta - StatisticalFunctions.softplus(eta)
                        let mu = StatisticalFunctions.expit(eta)
                        let e = exp(-abs(eta))
                        let w = e / ((1 + e) * (1 + e))  // μ(1 − μ) without cancellation
                        minTail = Swift.min(minTail, e / (1 + e))
                        let r = y[i] - mu
                        var idx = 0
                        for j in 0..<p {
                            let xj = xp[row + j]
                            g[j] += r * xj
                            let wxj = w * xj
                            for l in j..<p {
                                h[idx] += wxj * xp[row + l]
                                idx += 1
                            }
                        }
                    }
                }
            }
        }
        var pen = 0.0
        var idx = 0
        for j in 0..<p {
            pen += 0.5 * penalty[j] * beta[j] * beta[j]
            grad[j] -= penalty[j] * beta[j]
            info[idx] += penalty[j]
            idx += p - j
        }
        return Evaluation(logLikelihood: ll, penalized: ll - pen, gradient: grad, information: info, minTail: minTail)
    }

    /// Below this, a fitted probability counts as numerically 0 or 1 for the separation check.
    private static let extremeTail = 1e-8

    func run(start: [Double], options: LogisticFitOptions) throws(FitError) -> Result {
        let unpenalized = penalty.allSatisfy { $0 == 0 }
        var beta = start
        var ev = evaluate(beta)
        var previous = -Double.infinity
        var iteration = 0
        var lastStep: [Double]?
        while true {
            let gradNorm = ev.gradient.reduce(0) { Swift.max($0, abs($1)) } / Double(n)
            let change = abs(ev.penalized - previous)
            let converged = iteration > 0
                && change <= options.logLikelihoodTolerance * (1 + abs(ev.penalized))
                && gradNorm <= options.gradientTolerance
            let information = DenseMatrix(packedUpper: ev.information, order: p)
            let chol: CholeskyFactor
            do {
                chol = try information.cholesky(context: "logistic regression information matrix")
            } catch {
                if unpenalized && ev.minTail < LogisticNewton.extremeTail {
                    throw .separation(covariate: names[divergingCovariate(lastStep ?? beta)])
                }
                throw .collinearCovariate(names[pivotName(error)])
            }
            let step = chol.solveUnchecked(ev.gradient)
            if converged {
                // Separation check: probabilities at 0/1 and Newton still moving a coefficient.
                if unpenalized && ev.minTail < LogisticNewton.extremeTail {
                    let moving = step.indices.max { abs(step[$0]) < abs(step[$1]) } ?? 0
                    if abs(step[moving]) > 1e-3 * (1 + abs(beta[moving])) {
                        throw .separation(covariate: names[divergingCovariate(step)])
                    }
                }
                return Result(
                    beta: beta, covariance: chol.inverse(), logLikelihood: ev.logLikelihood,
                    penalizedLogLikelihood: ev.penalized, iterations: iteration)
            }
            guard iteration < options.maxIterations else {
                if unpenalized && ev.minTail < LogisticNewton.extremeTail {
                    throw .separation(covariate: names[divergingCovariate(step)])
                }
                throw .notConverged(iterations: iteration, logLikelihoodChange: change, gradientNorm: gradNorm)
            }
            guard let accepted = dampedNewtonStep(from: beta, step: step, current: ev.penalized, evaluate: evaluate, penalized: { $0.penalized }) else {
                throw .notConverged(iterations: iteration, logLikelihoodChange: change, gradientNorm: gradNorm)
            }
            previous = ev.penalized
            lastStep = (0..<p).map { accepted.beta[$0] - beta[$0] }
            beta = accepted.beta
            ev = accepted.evaluation
            iteration += 1
        }
    }

    /// The covariate moving most along `direction` (a Newton step, or the estimate itself when no
    /// step is available) on the linear-predictor scale, |dⱼ|·SD(xⱼ), among non-constant columns
    /// (so never the intercept): under separation, the coefficient that runs off to infinity.
    private func divergingCovariate(_ direction: [Double]) -> Int {
        var best = 0
        var bestSize = -1.0
        for j in 0..<p {
            var mean = 0.0
            for i in 0..<n { mean += x[i * p + j] }
            mean /= Double(n)
            var ss = 0.0
            for i in 0..<n { ss += (x[i * p + j] - mean) * (x[i * p + j] - mean) }
            let size = ss > 0 ? abs(direction[j]) * (ss / Double(n)).squareRoot() : -0.5
            if size > bestSize {
                best = j
                bestSize = size
            }
        }
        return best
    }

    private func pivotName(_ error: FitError) -> Int {
        if case .notPositiveDefinite(_, let pivot) = error, pivot < names.count { return pivot }
        return names.count - 1
    }
}
