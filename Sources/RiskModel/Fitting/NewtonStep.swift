/// A damped Newton step shared by the logistic and Cox fitters: the full step, halved (at most 40
/// times) until the penalised log-likelihood does not decrease beyond rounding. nil when no step
/// size helps (the caller reports non-convergence).
func dampedNewtonStep<E>(
    from beta: [Double], step: [Double], current: Double, evaluate: ([Double]) -> E, penalized: (E) -> Double
) -> (beta: [Double], evaluation: E)? {
    var t = 1.0
    for _ in 0..<40 {
        let candidate = beta.indices.map { beta[$0] + t * step[$0] }
        let e = evaluate(candidate)
        let value = penalized(e)
        if value.isFinite && value >= current - 1e-12 * (1 + abs(current)) { return (candidate, e) }
        t *= 0.5
    }
    return nil
}
