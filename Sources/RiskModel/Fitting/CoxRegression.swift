import Foundation

/// How tied event times enter the Cox partial likelihood.
public enum CoxTies: String, Sendable, Codable, CaseIterable {
    /// Efron (1977): the risk set is thinned by the average of the tied subjects' weights; the
    /// default of R `coxph` and lifelines.
    case efron
    /// Breslow (1974): every tied event sees the full risk set.
    case breslow
}

/// Settings of a Cox fit.
public struct CoxFitOptions: Sendable, Equatable {
    /// Tie handling. Default Efron.
    public var ties: CoxTies
    /// L2 penalty λ ≥ 0: the fit maximises ℓ(β) − (λ/2)·Σⱼ βⱼ² on the covariates' own scale. Default 0.
    public var l2Penalty: Double
    /// Newton–Raphson iteration limit. Default 100.
    public var maxIterations: Int
    /// Converged when |Δℓ| ≤ this × (1 + |ℓ|) between iterations … (default 1e-10)
    public var logLikelihoodTolerance: Double
    /// … and the largest |∂ℓ/∂βⱼ| divided by the number of events is ≤ this (default 1e-8).
    public var gradientTolerance: Double

    public init(
        ties: CoxTies = .efron, l2Penalty: Double = 0, maxIterations: Int = 100,
        logLikelihoodTolerance: Double = 1e-10, gradientTolerance: Double = 1e-8
    ) {
        self.ties = ties
        self.l2Penalty = l2Penalty
        self.maxIterations = maxIterations
        self.logLikelihoodTolerance = logLikelihoodTolerance
        self.gradientTolerance = gradientTolerance
    }
}

/// A fitted Cox proportional-hazards model h(t | x) = h₀(t)·exp((x − x̄)ᵀβ).
///
/// The baseline refers to covariates centred at their sample means `covariateMeans`: S0(t) is the
/// survival of a (hypothetical) person with every covariate at its mean, and the linear predictor
/// that goes with it is `linearPredictor(_:)` = Σ βⱼ(xⱼ − x̄ⱼ). The baseline cumulative hazard is
/// Breslow's estimator H₀(t) = Σ_{event times tᵢ ≤ t} dᵢ / Σ_{j at risk at tᵢ} exp((xⱼ − x̄)ᵀβ̂),
/// whichever tie method was used for β̂ (as lifelines does).
public struct CoxFit: Sendable, Equatable {
    /// Covariates in the order given (there is no intercept in a Cox model).
    public let coefficients: [FittedCoefficient]
    /// Inverse of the observed information of the penalised partial likelihood.
    public let covariance: DenseMatrix
    /// Log partial likelihood at the estimate, without the penalty.
    public let partialLogLikelihood: Double
    /// ℓ(β̂) − (λ/2)·Σ β̂ⱼ².
    public let penalizedPartialLogLikelihood: Double
    /// Log partial likelihood at β = 0.
    public let nullPartialLogLikelihood: Double
    public let iterations: Int
    public let observations: Int
    public let events: Int
    public let ties: CoxTies
    public let l2Penalty: Double
    /// Means of the covariates, the centring of the baseline and of `linearPredictor`.
    public let covariateMeans: [Double]
    /// Harrell's C of the fitted linear predictor on the fitting data (see `Concordance.harrell`);
    /// NaN if no pair is comparable (e.g. every subject had an event at the same time).
    public let concordance: Double
    /// Distinct event times, ascending.
    public let baselineTimes: [Double]
    /// Breslow H₀ at each of `baselineTimes` (right-continuous step function).
    public let baselineCumulativeHazards: [Double]

    /// H₀(t): the baseline cumulative hazard at time t (0 before the first event time; constant
    /// after the last one — beyond the data the estimate says nothing).
    public func baselineCumulativeHazard(at t: Double) -> Double {
        // Last event time ≤ t, by binary search.
        var lo = 0
        var hi = baselineTimes.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if baselineTimes[mid] <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? 0 : baselineCumulativeHazards[lo - 1]
    }

    /// S0(t) = exp(−H₀(t)), the baseline survival at time t for covariates at their means.
    public func baselineSurvival(at t: Double) -> Double { exp(-baselineCumulativeHazard(at: t)) }

    /// Centred linear predictor Σ βⱼ(xⱼ − x̄ⱼ) for covariate values in the fitted order.
    public func linearPredictor(_ covariates: [Double]) throws(FitError) -> Double {
        try FitInputCheck.sameLength("covariate values", covariates.count, expected: coefficients.count)
        var eta = 0.0
        for (j, x) in covariates.enumerated() { eta += coefficients[j].coef * (x - covariateMeans[j]) }
        return eta
    }

    /// Predicted risk by time t: 1 − S0(t)^exp(linear predictor).
    public func risk(_ covariates: [Double], at t: Double) throws(FitError) -> Double {
        let eta = try linearPredictor(covariates)
        return -expm1(-baselineCumulativeHazard(at: t) * exp(eta))
    }

    /// Likelihood-ratio χ² = 2(ℓ − ℓ₀) with (number of covariates) df and its p-value.
    public var likelihoodRatioTest: (chiSquare: Double, degreesOfFreedom: Int, p: Double) {
        let x = 2 * (partialLogLikelihood - nullPartialLogLikelihood)
        let df = coefficients.count
        return (x, df, StatisticalFunctions.chiSquareSurvival(x, degreesOfFreedom: Double(df)))
    }
}

/// Cox proportional-hazards regression by Newton–Raphson with step halving.
///
/// The data are sorted by time once; each iteration makes one backward pass over the sorted rows,
/// accumulating the risk-set sums S⁰ = Σ wⱼ, S¹ = Σ wⱼxⱼ, S² = Σ wⱼxⱼxⱼᵀ (wⱼ = exp(ηⱼ)) as the
/// time decreases, and closes each tie group in O(p²) using scalar sums over its Efron fractions
/// (plus O(d·p²) to form the tied subjects' own S², d = size of the group). Cost per iteration:
/// O(n·p²). Subjects censored at an event time are in that event's risk set. Covariates are centred
/// internally (the estimate does not depend on it) and the weights are scaled by exp(−max η) so
/// nothing overflows.
public enum CoxRegression {
    /// At most this many covariates (dense information matrix; practical up to ~100).
    public static let maxCovariates = 1000
    /// At most this many rows.
    public static let maxRows = 10_000_000

    /// Fits a Cox model. `time[i]` is the follow-up time, `event[i]` is 1 for an event and 0 for
    /// censoring, `covariates[j]` holds covariate j for every subject and `names[j]` is its name.
    public static func fit(
        time: [Double], event: [Double], covariates: [[Double]], names: [String],
        options: CoxFitOptions = CoxFitOptions()
    ) throws(FitError) -> CoxFit {
        let n = time.count
        let p = covariates.count
        guard n <= maxRows else { throw .tooLarge(what: "number of rows", value: n, limit: maxRows) }
        guard p <= maxCovariates else { throw .tooLarge(what: "number of covariates", value: p, limit: maxCovariates) }
        guard p >= 1 else { throw .invalidArgument("a Cox model needs at least one covariate") }
        guard options.l2Penalty >= 0, options.l2Penalty.isFinite else {
            throw .invalidArgument("l2Penalty must be a finite number ≥ 0, got \(options.l2Penalty)")
        }
        guard options.maxIterations >= 1 else { throw .invalidArgument("maxIterations must be ≥ 1") }
        try FitInputCheck.sameLength("covariate names", names.count, expected: p)
        try FitInputCheck.sameLength("event indicator", event.count, expected: n)
        try FitInputCheck.finite("time", time)
        try FitInputCheck.finite("event indicator", event)
        try FitInputCheck.binary("event indicator", event)
        for (j, c) in covariates.enumerated() {
            try FitInputCheck.sameLength("covariate '\(names[j])'", c.count, expected: n)
            try FitInputCheck.finite("covariate '\(names[j])'", c)
            if c.allSatisfy({ $0 == c[0] }) { throw .constantCovariate(names[j]) }
        }
        let events = Int(event.reduce(0, +))
        guard events > 0 else { throw .degenerateOutcome("no events (every event indicator is 0)") }
        guard n > p else { throw .tooFewObservations(what: "Cox regression with \(p) covariates", needed: p + 1, got: n) }

        let problem = CoxProblem(time: time, event: event, covariates: covariates, ties: options.ties, penalty: options.l2Penalty)
        let result = try problem.run(options: options, names: names)
        let nullLL = problem.evaluate([Double](repeating: 0, count: p)).logLikelihood
        let (times, hazards) = problem.breslowBaseline(result.beta)

        // Concordance of the centred linear predictor on the fitting data.
        var eta = [Double](repeating: 0, count: n)
        for j in 0..<p {
            let b = result.beta[j]
            let m = problem.means[j]
            let col = covariates[j]
            for i in 0..<n { eta[i] += b * (col[i] - m) }
        }
        let c = Concordance.harrellUnchecked(time: time, event: event, risk: eta).index

        let coefs = (0..<p).map { j in
            FittedCoefficient(name: names[j], coef: result.beta[j], se: result.covariance[j, j].squareRoot())
        }
        return CoxFit(
            coefficients: coefs, covariance: result.covariance, partialLogLikelihood: result.logLikelihood,
            penalizedPartialLogLikelihood: result.penalized, nullPartialLogLikelihood: nullLL,
            iterations: result.iterations, observations: n, events: events, ties: options.ties,
            l2Penalty: options.l2Penalty, covariateMeans: problem.means, concordance: c,
            baselineTimes: times, baselineCumulativeHazards: hazards)
    }

    /// Fits a Cox model from table columns; `covariates` defaults to every column except time and event.
    public static func fit(
        table: CSVTable, time: String, event: String, covariates: [String]? = nil,
        options: CoxFitOptions = CoxFitOptions()
    ) throws(FitError) -> CoxFit {
        let t = try FitInputCheck.column(table, time)
        let e = try FitInputCheck.column(table, event)
        let names = covariates ?? table.columnNames.filter { $0 != time && $0 != event }
        var cols: [[Double]] = []
        for name in names { cols.append(try FitInputCheck.column(table, name)) }
        return try fit(time: t, event: e, covariates: cols, names: names, options: options)
    }
}

/// The sorted, centred data of a Cox fit and its Newton–Raphson iteration.
private struct CoxProblem {
    let n: Int
    let p: Int
    /// Row-major centred covariates in time order.
    let x: [Double]
    let isEvent: [Bool]
    /// Tie groups (equal times) as ranges of sorted rows, in ascending time.
    let groups: [Range<Int>]
    let groupTimes: [Double]
    let means: [Double]
    let ties: CoxTies
    let penalty: Double

    init(time: [Double], event: [Double], covariates: [[Double]], ties: CoxTies, penalty: Double) {
        n = time.count
        p = covariates.count
        self.ties = ties
        self.penalty = penalty
        let order = time.indices.sorted { time[$0] < time[$1] }
        means = covariates.map { col in col.reduce(0, +) / Double(col.count) }
        var x = [Double](repeating: 0, count: n * p)
        for j in 0..<p {
            let col = covariates[j]
            let m = means[j]
            for (r, i) in order.enumerated() { x[r * p + j] = col[i] - m }
        }
        self.x = x
        isEvent = order.map { event[$0] == 1 }
        var groups: [Range<Int>] = []
        var groupTimes: [Double] = []
        var start = 0
        for r in 1...n where r == n || time[order[r]] != time[order[start]] {
            groups.append(start..<r)
            groupTimes.append(time[order[start]])
            start = r
        }
        self.groups = groups
        self.groupTimes = groupTimes
    }

    struct Evaluation {
        var logLikelihood: Double
        var penalized: Double
        var gradient: [Double]
        var information: [Double]  // packed upper triangle
    }

    /// Partial log-likelihood, gradient and information at β in one backward pass.
    func evaluate(_ beta: [Double]) -> Evaluation {
        let pp = p * (p + 1) / 2
        var eta = [Double](repeating: 0, count: n)
        var w = [Double](repeating: 0, count: n)
        var ll = 0.0
        var grad = [Double](repeating: 0, count: p)
        var info = [Double](repeating: 0, count: pp)
        var s1 = [Double](repeating: 0, count: p)
        var s2 = [Double](repeating: 0, count: pp)
        var d1 = [Double](repeating: 0, count: p)
        var d2 = [Double](repeating: 0, count: pp)
        var xsum = [Double](repeating: 0, count: p)
        let efron = ties == .efron
        x.withUnsafeBufferPointer { xp in
            var c = -Double.infinity
            for r in 0..<n {
                var e = 0.0
                let row = r * p
                for j in 0..<p { e += xp[row + j] * beta[j] }
                eta[r] = e
                c = Swift.max(c, e)
            }
            for r in 0..<n { w[r] = exp(eta[r] - c) }
            s1.withUnsafeMutableBufferPointer { s1p in
            s2.withUnsafeMutableBufferPointer { s2p in
            d1.withUnsafeMutableBufferPointer { d1p in
            d2.withUnsafeMutableBufferPointer { d2p in
            xsum.withUnsafeMutableBufferPointer { xs in
            grad.withUnsafeMutableBufferPointer { g in
            info.withUnsafeMutableBufferPointer { h in
                var s0 = 0.0
                for group in groups.reversed() {
                    var d = 0
                    var d0 = 0.0
                    var etaSum = 0.0
                    for j in 0..<p {
                        d1p[j] = 0
                        xs[j] = 0
                    }
                    for r in group {
                        let wr = w[r]
                        let row = r * p
                        s0 += wr
                        var idx = 0
                        for j in 0..<p {
                            let wxj = wr * xp[row + j]
                            s1p[j] += wxj
                            for l in j..<p {
                                s2p[idx] += wxj * xp[row + l]
                                idx += 1
                            }
                        }
                        if isEvent[r] {
                            d += 1
                            d0 += wr
                            etaSum += eta[r] - c
                            for j in 0..<p {
                                d1p[j] += wr * xp[row + j]
                                xs[j] += xp[row + j]
                            }
                        }
                    }
                    if d == 0 { continue }
                    ll += etaSum
                    for j in 0..<p { g[j] += xs[j] }
                    if !efron || d == 1 {
                        let dd = Double(d)
                        ll -= dd * log(s0)
                        var idx = 0
                        for j in 0..<p {
                            let aj = s1p[j] / s0
                            g[j] -= dd * aj
                            for l in j..<p {
                                h[idx] += dd * (s2p[idx] / s0 - aj * s1p[l] / s0)
                                idx += 1
                            }
                        }
                        continue
                    }
                    // Efron: tied subjects' own S² (O(d·p²)), then scalar sums over k = 0…d−1.
                    for i in 0..<pp { d2p[i] = 0 }
                    for r in group where isEvent[r] {
                        let wr = w[r]
                        let row = r * p
                        var idx = 0
                        for j in 0..<p {
                            let wxj = wr * xp[row + j]
                            for l in j..<p {
                                d2p[idx] += wxj * xp[row + l]
                                idx += 1
                            }
                        }
                    }
                    var sumA = 0.0, sumB = 0.0, c0 = 0.0, c1 = 0.0, c2 = 0.0
                    let dd = Double(d)
                    for k in 0..<d {
                        let f = Double(k) / dd
                        let den = s0 - f * d0
                        ll -= log(den)
                        let inv = 1 / den
                        sumA += inv
                        sumB += f * inv
                        let inv2 = inv * inv
                        c0 += inv2
                        c1 += f * inv2
                        c2 += f * f * inv2
                    }
                    var idx = 0
                    for j in 0..<p {
                        g[j] -= s1p[j] * sumA - d1p[j] * sumB
                        for l in j..<p {
                            let outer = s1p[j] * s1p[l] * c0 - (s1p[j] * d1p[l] + d1p[j] * s1p[l]) * c1 + d1p[j] * d1p[l] * c2
                            h[idx] += s2p[idx] * sumA - d2p[idx] * sumB - outer
                            idx += 1
                        }
                    }
                }
            }}}}}}}
        }
        var pen = 0.0
        var idx = 0
        for j in 0..<p {
            pen += 0.5 * penalty * beta[j] * beta[j]
            grad[j] -= penalty * beta[j]
            info[idx] += penalty
            idx += p - j
        }
        return Evaluation(logLikelihood: ll, penalized: ll - pen, gradient: grad, information: info)
    }

    struct Result {
        var beta: [Double]
        var covariance: DenseMatrix
        var logLikelihood: Double
        var penalized: Double
        var iterations: Int
    }

    func run(options: CoxFitOptions, names: [String]) throws(FitError) -> Result {
        let eventCount = Double(isEvent.reduce(0) { $0 + ($1 ? 1 : 0) })
        var beta = [Double](repeating: 0, count: p)
        var ev = evaluate(beta)
        var previous = -Double.infinity
        var iteration = 0
        var lastStep: [Double]?
        while true {
            let gradNorm = ev.gradient.reduce(0) { Swift.max($0, abs($1)) } / eventCount
            let change = abs(ev.penalized - previous)
            let converged = iteration > 0
                && change <= options.logLikelihoodTolerance * (1 + abs(ev.penalized))
                && gradNorm <= options.gradientTolerance
            let chol: CholeskyFactor
            do {
                chol = try DenseMatrix(packedUpper: ev.information, order: p).cholesky(context: "Cox information matrix")
            } catch {
                var pivot = p - 1
                if case .notPositiveDefinite(_, let k) = error { pivot = Swift.min(k, p - 1) }
                // Singular at the start: collinear covariates. Later: the estimate ran off to infinity.
                guard let last = lastStep else { throw .collinearCovariate(names[pivot]) }
                throw .monotoneLikelihood(covariate: names[divergingCovariate(last)])
            }
            let step = chol.solveUnchecked(ev.gradient)
            if converged {
                let moving = step.indices.max { abs(step[$0]) < abs(step[$1]) } ?? 0
                if abs(step[moving]) > 1e-3 * (1 + abs(beta[moving])) {
                    throw .monotoneLikelihood(covariate: names[divergingCovariate(step)])
                }
                return Result(beta: beta, covariance: chol.inverse(), logLikelihood: ev.logLikelihood, penalized: ev.penalized, iterations: iteration)
            }
            guard iteration < options.maxIterations else {
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

    /// The covariate moving most along `direction` on the linear-predictor scale, |dⱼ|·SD(xⱼ):
    /// under a monotone likelihood, the coefficient that runs off to infinity.
    private func divergingCovariate(_ direction: [Double]) -> Int {
        var best = 0
        var bestSize = -1.0
        for j in 0..<p {
            var ss = 0.0
            for r in 0..<n { ss += x[r * p + j] * x[r * p + j] }  // centred columns
            let size = abs(direction[j]) * (ss / Double(n)).squareRoot()
            if size > bestSize {
                best = j
                bestSize = size
            }
        }
        return best
    }

    /// Breslow cumulative baseline hazard at each distinct event time, for centred covariates.
    func breslowBaseline(_ beta: [Double]) -> (times: [Double], hazards: [Double]) {
        var eta = [Double](repeating: 0, count: n)
        var c = -Double.infinity
        for r in 0..<n {
            var e = 0.0
            for j in 0..<p { e += x[r * p + j] * beta[j] }
            eta[r] = e
            c = Swift.max(c, e)
        }
        // Backward pass: S⁰ (scaled by e^{−c}) at each group; increments d / (S⁰·e^{c}).
        var increments = [Double](repeating: 0, count: groups.count)
        var s0 = 0.0
        for g in stride(from: groups.count - 1, through: 0, by: -1) {
            var d = 0
            for r in groups[g] {
                s0 += exp(eta[r] - c)
                if isEvent[r] { d += 1 }
            }
            if d > 0 { increments[g] = Double(d) / s0 * exp(-c) }
        }
        var times: [Double] = []
        var hazards: [Double] = []
        var h = 0.0
        for g in 0..<groups.count where groups[g].contains(where: { isEvent[$0] }) {
            h += increments[g]
            times.append(groupTimes[g])
            hazards.append(h)
        }
        return (times, hazards)
    }
}
