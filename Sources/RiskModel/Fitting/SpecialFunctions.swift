import Foundation

/// Distribution functions needed by fitting and validation: normal tail areas and quantiles, the
/// regularised incomplete gamma function and the χ² survival function. Written from the textbook
/// definitions (series and Legendre continued fraction for the incomplete gamma; Acklam's rational
/// approximation refined by one Halley step for the normal quantile).
enum StatisticalFunctions {
    /// Φ(x), the standard normal CDF.
    static func normalCDF(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

    /// Two-sided p-value of a standard normal statistic: P(|Z| ≥ |z|).
    static func twoSidedNormalP(_ z: Double) -> Double {
        guard z.isFinite else { return z.isNaN ? .nan : 0 }
        return erfc(abs(z) / 2.0.squareRoot())
    }

    /// Φ⁻¹(p) for 0 < p < 1 (relative error ~1e-15 after refinement); ±∞ at 0 and 1, NaN outside.
    static func normalQuantile(_ p: Double) -> Double {
        guard p > 0, p < 1 else { return p == 0 ? -.infinity : (p == 1 ? .infinity : .nan) }
        // Acklam (2003) rational approximation coefficients.
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        var x: Double
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - low {
            let q = p - 0.5
            let r = q * q
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * log1p(-p)).squareRoot()
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        // One Halley step on Φ(x) − p.
        let e = normalCDF(x) - p
        let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
        x -= u / (1 + x * u / 2)
        return x
    }

    /// The normal critical value for a two-sided interval of the given level (0.95 → 1.959964).
    static func twoSidedCritical(level: Double) -> Double { normalQuantile(0.5 + level / 2) }

    /// Regularised lower incomplete gamma P(a, x) = γ(a, x)/Γ(a), a > 0, x ≥ 0.
    static func regularizedGammaP(_ a: Double, _ x: Double) -> Double {
        guard a > 0, x >= 0, a.isFinite, !x.isNaN else { return .nan }
        if x == 0 { return 0 }
        if x == .infinity { return 1 }
        return x < a + 1 ? gammaSeries(a, x) : 1 - gammaContinuedFraction(a, x)
    }

    /// Regularised upper incomplete gamma Q(a, x) = 1 − P(a, x), computed directly in the tail.
    static func regularizedGammaQ(_ a: Double, _ x: Double) -> Double {
        guard a > 0, x >= 0, a.isFinite, !x.isNaN else { return .nan }
        if x == 0 { return 1 }
        if x == .infinity { return 0 }
        return x < a + 1 ? 1 - gammaSeries(a, x) : gammaContinuedFraction(a, x)
    }

    /// P(χ²_df ≥ x): the upper tail of the χ² distribution with `df` degrees of freedom.
    static func chiSquareSurvival(_ x: Double, degreesOfFreedom df: Double) -> Double {
        guard df > 0 else { return .nan }
        return x <= 0 ? 1 : regularizedGammaQ(df / 2, x / 2)
    }

    /// log(e^{−x} x^a / Γ(a)), the common prefactor.
    private static func logPrefactor(_ a: Double, _ x: Double) -> Double { -x + a * log(x) - lgamma(a) }

    /// Series γ(a,x)/Γ(a) = e^{−x} x^a / Γ(a) · Σₙ xⁿ / (a(a+1)…(a+n)); converges fast for x < a + 1.
    private static func gammaSeries(_ a: Double, _ x: Double) -> Double {
        var term = 1 / a
        var sum = term
        var ap = a
        for _ in 0..<10_000 {
            ap += 1
            term *= x / ap
            sum += term
            if abs(term) < abs(sum) * 1e-16 { break }
        }
        return min(1, sum * exp(logPrefactor(a, x)))
    }

    /// Legendre continued fraction for Γ(a,x)/Γ(a), evaluated by the modified Lentz method; for x ≥ a + 1.
    private static func gammaContinuedFraction(_ a: Double, _ x: Double) -> Double {
        let tiny = 1e-300
        var b = x + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var h = d
        for i in 1..<10_000 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-16 { break }
        }
        return min(1, exp(logPrefactor(a, x)) * h)
    }

    /// logit(p) = log(p / (1 − p)).
    static func logit(_ p: Double) -> Double { log(p) - log1p(-p) }

    /// The logistic function 1/(1 + e^{−x}), without overflow.
    static func expit(_ x: Double) -> Double {
        if x >= 0 { return 1 / (1 + exp(-x)) }
        let e = exp(x)
        return e / (1 + e)
    }

    /// log(1 + e^x), without overflow.
    static func softplus(_ x: Double) -> Double { max(x, 0) + log1p(exp(-abs(x))) }
}
