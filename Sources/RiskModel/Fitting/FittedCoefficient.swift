import Foundation

/// One estimated coefficient with its Wald inference. Encodes to JSON as
/// `{"name": …, "coef": …, "se": …, "z": …, "p": …}`.
public struct FittedCoefficient: Sendable, Equatable, Codable {
    /// Covariate name; the logistic intercept is `(intercept)`.
    public let name: String
    /// The estimate (log-odds or log-hazard scale).
    public let coef: Double
    /// Standard error: square root of the diagonal of the inverse (penalised) observed information.
    public let se: Double
    /// Wald statistic coef / se.
    public let z: Double
    /// Two-sided p-value of z against the standard normal.
    public let p: Double

    public init(name: String, coef: Double, se: Double) {
        self.name = name
        self.coef = coef
        self.se = se
        z = coef / se
        p = StatisticalFunctions.twoSidedNormalP(coef / se)
    }

    /// Wald confidence interval coef ± z_{(1+level)/2}·se (level 0.95 by default).
    public func confidenceInterval(level: Double = 0.95) -> (lower: Double, upper: Double) {
        let k = StatisticalFunctions.twoSidedCritical(level: level)
        return (coef - k * se, coef + k * se)
    }
}

/// Input checks shared by the fitters and the validation metrics.
enum FitInputCheck {
    static func sameLength(_ what: String, _ count: Int, expected: Int) throws(FitError) {
        guard count == expected else { throw .lengthMismatch(what: what, expected: expected, got: count) }
    }

    static func finite(_ what: String, _ values: [Double]) throws(FitError) {
        if let i = values.firstIndex(where: { !$0.isFinite }) { throw .nonFinite(what: what, index: i) }
    }

    static func binary(_ what: String, _ values: [Double]) throws(FitError) {
        if let i = values.firstIndex(where: { $0 != 0 && $0 != 1 }) {
            throw .notBinary(what: what, index: i, value: values[i])
        }
    }

    /// Probabilities in the open interval (0, 1) (needed for logits) or the closed [0, 1].
    static func probabilities(_ values: [Double], open: Bool) throws(FitError) {
        for (i, p) in values.enumerated() {
            let ok = open ? (p > 0 && p < 1) : (p >= 0 && p <= 1)
            if !ok { throw .probabilityOutOfRange(index: i, value: p, allowed: open ? "(0, 1) (exclusive, because the metric uses logit(p))" : "[0, 1]") }
        }
    }

    /// Binary outcome with at least one event and one non-event.
    static func binaryWithBoth(_ what: String, _ y: [Double]) throws(FitError) {
        try binary(what, y)
        let events = y.reduce(0, +)
        if events == 0 { throw .degenerateOutcome("\(what) has no events (all 0)") }
        if events == Double(y.count) { throw .degenerateOutcome("\(what) has no non-events (all 1)") }
    }

    /// Columns of a table by name, or a `FitError.unknownColumn`.
    static func column(_ table: CSVTable, _ name: String) throws(FitError) -> [Double] {
        guard let c = table.column(name) else { throw .unknownColumn(name: name, available: table.columnNames) }
        return c
    }
}
