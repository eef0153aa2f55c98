/// Errors of model fitting, validation metrics and recalibration. Each case says what was wrong
/// and what to do about it. (Reading CSV files has its own `CSVError`; model definitions and
/// prediction use `RiskError`.)
public enum FitError: Error, Equatable, CustomStringConvertible {
    /// Two inputs that must have one value per observation differ in length.
    case lengthMismatch(what: String, expected: Int, got: Int)
    /// Fewer observations than the method needs.
    case tooFewObservations(what: String, needed: Int, got: Int)
    /// More rows or covariates than the fitter accepts.
    case tooLarge(what: String, value: Int, limit: Int)
    /// A value that is NaN or infinite.
    case nonFinite(what: String, index: Int)
    /// An outcome or event indicator that is not 0 or 1 (index is 0-based).
    case notBinary(what: String, index: Int, value: Double)
    /// A predicted probability outside the range the metric accepts (index is 0-based).
    case probabilityOutOfRange(index: Int, value: Double, allowed: String)
    /// The outcome has no events, or no non-events, so the quantity is undefined.
    case degenerateOutcome(String)
    /// A covariate that takes one value only (its coefficient is not identifiable).
    case constantCovariate(String)
    /// A covariate that is (numerically) a linear combination of the ones before it.
    case collinearCovariate(String)
    /// (Quasi-)complete separation: the fitted probabilities reach 0 or 1, so the maximum-likelihood
    /// estimate does not exist.
    case separation(covariate: String)
    /// Cox monotone likelihood: the partial likelihood keeps increasing as a coefficient grows
    /// without bound (e.g. all events in one category of a covariate), so no finite estimate exists.
    case monotoneLikelihood(covariate: String)
    /// Newton–Raphson did not meet the convergence criteria.
    case notConverged(iterations: Int, logLikelihoodChange: Double, gradientNorm: Double)
    /// A covariate, outcome or time column that is not in the table.
    case unknownColumn(name: String, available: [String])
    /// A matrix that must be symmetric positive definite is not (pivot index 0-based).
    case notPositiveDefinite(context: String, pivot: Int)
    /// An argument outside its valid range (thresholds, group counts, target risks…).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .lengthMismatch(let what, let expected, let got):
            return "\(what) has \(got) values but \(expected) are needed (one per observation); pass arrays of equal length"
        case .tooFewObservations(let what, let needed, let got):
            return "\(what): \(got) observations, at least \(needed) needed; use more data"
        case .tooLarge(let what, let value, let limit):
            return "\(what) is \(value), above the limit of \(limit); reduce the data or the number of covariates"
        case .nonFinite(let what, let index):
            return "\(what) at index \(index) is NaN or infinite; remove or correct that observation"
        case .notBinary(let what, let index, let value):
            return "\(what) at index \(index) is \(value); it must be 0 or 1"
        case .probabilityOutOfRange(let index, let value, let allowed):
            return "predicted probability at index \(index) is \(value); it must be in \(allowed)"
        case .degenerateOutcome(let s):
            return "\(s); the quantity needs both events and non-events"
        case .constantCovariate(let name):
            return "covariate '\(name)' is constant in the data; drop it (its coefficient cannot be estimated)"
        case .collinearCovariate(let name):
            return "covariate '\(name)' is (nearly) a linear combination of the covariates before it; drop it or combine categories, or fit with an L2 penalty"
        case .separation(let name):
            return "the outcome is (quasi-)completely separated (fitted probabilities reach 0 or 1; covariate '\(name)' diverges); the maximum-likelihood estimate does not exist — drop or merge that covariate, or fit with an L2 penalty"
        case .monotoneLikelihood(let name):
            return "the Cox partial likelihood is monotone in covariate '\(name)' (its coefficient diverges, e.g. no events in one of its groups); the maximum does not exist — drop or merge that covariate, or fit with an L2 penalty"
        case .notConverged(let it, let dl, let g):
            return "Newton–Raphson did not converge in \(it) iterations (last log-likelihood change \(dl), gradient norm \(g)); raise the iteration limit, rescale covariates, or add an L2 penalty"
        case .unknownColumn(let name, let available):
            return "no column '\(name)'; available: \(available.joined(separator: ", "))"
        case .notPositiveDefinite(let context, let pivot):
            return "\(context): matrix is not positive definite (pivot \(pivot)); the problem is singular — check for collinear or constant covariates"
        case .invalidArgument(let s):
            return "invalid argument: \(s)"
        }
    }
}
