import Foundation

/// A small dense matrix of `Double`, row-major, for the symmetric systems of model fitting
/// (information matrices, covariance matrices; p ≤ ~100). Not a general linear-algebra library.
public struct DenseMatrix: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    /// Row-major values: element (i, j) is `values[i * columns + j]`.
    public internal(set) var values: [Double]

    /// A `rows × columns` matrix filled with `value`.
    public init(rows: Int, columns: Int, repeating value: Double = 0) {
        precondition(rows >= 0 && columns >= 0, "DenseMatrix: negative dimension")
        self.rows = rows
        self.columns = columns
        values = [Double](repeating: value, count: rows * columns)
    }

    /// A matrix from its rows; every row must have the same length.
    public init(_ rowArrays: [[Double]]) throws(FitError) {
        let c = rowArrays.first?.count ?? 0
        for (i, r) in rowArrays.enumerated() where r.count != c {
            throw .lengthMismatch(what: "matrix row \(i)", expected: c, got: r.count)
        }
        rows = rowArrays.count
        columns = c
        values = rowArrays.flatMap { $0 }
    }

    /// A symmetric n × n matrix from its upper triangle packed row by row
    /// ((0,0), (0,1), …, (0,n−1), (1,1), …).
    init(packedUpper packed: [Double], order n: Int) {
        self.init(rows: n, columns: n)
        var idx = 0
        for i in 0..<n {
            for j in i..<n {
                values[i * n + j] = packed[idx]
                values[j * n + i] = packed[idx]
                idx += 1
            }
        }
    }

    /// The n × n identity.
    public static func identity(_ n: Int) -> DenseMatrix {
        var m = DenseMatrix(rows: n, columns: n)
        for i in 0..<n { m[i, i] = 1 }
        return m
    }

    public subscript(i: Int, j: Int) -> Double {
        get { values[i * columns + j] }
        set { values[i * columns + j] = newValue }
    }

    /// Row i as an array.
    public func row(_ i: Int) -> [Double] { Array(values[(i * columns)..<((i + 1) * columns)]) }

    /// The diagonal (min(rows, columns) values).
    public var diagonal: [Double] { (0..<Swift.min(rows, columns)).map { self[$0, $0] } }

    /// Matrix–vector product A·v.
    public func multiplied(by v: [Double]) throws(FitError) -> [Double] {
        guard v.count == columns else { throw .lengthMismatch(what: "vector", expected: columns, got: v.count) }
        var out = [Double](repeating: 0, count: rows)
        for i in 0..<rows {
            var s = 0.0
            let base = i * columns
            for j in 0..<columns { s += values[base + j] * v[j] }
            out[i] = s
        }
        return out
    }

    /// Cholesky factorisation A = L·Lᵀ of a symmetric positive-definite matrix (only the lower
    /// triangle of `self` is read). Throws `FitError.notPositiveDefinite` naming the first pivot
    /// that is not clearly positive (≤ 1e-12 × the original diagonal element, which also catches
    /// numerically collinear columns). `context` is put into the error message.
    public func cholesky(context: String = "Cholesky factorisation") throws(FitError) -> CholeskyFactor {
        guard rows == columns else {
            throw .invalidArgument("\(context): Cholesky needs a square matrix, got \(rows)×\(columns)")
        }
        let n = rows
        var l = [Double](repeating: 0, count: n * n)
        for j in 0..<n {
            let ajj = values[j * n + j]
            var d = ajj
            for k in 0..<j { d -= l[j * n + k] * l[j * n + k] }
            guard ajj.isFinite, d.isFinite, ajj > 0, d > 1e-12 * ajj else {
                throw .notPositiveDefinite(context: context, pivot: j)
            }
            let ljj = d.squareRoot()
            l[j * n + j] = ljj
            for i in (j + 1)..<n {
                var s = values[i * n + j]
                for k in 0..<j { s -= l[i * n + k] * l[j * n + k] }
                l[i * n + j] = s / ljj
            }
        }
        var lower = DenseMatrix(rows: n, columns: n)
        lower.values = l
        return CholeskyFactor(lower: lower)
    }

    /// Inverse of a symmetric positive-definite matrix via its Cholesky factor.
    public func symmetricInverse(context: String = "matrix inverse") throws(FitError) -> DenseMatrix {
        try cholesky(context: context).inverse()
    }
}

/// The lower-triangular Cholesky factor L of a symmetric positive-definite A = L·Lᵀ.
public struct CholeskyFactor: Sendable, Equatable {
    public let lower: DenseMatrix

    /// Solves A·x = b (forward then back substitution).
    public func solve(_ b: [Double]) throws(FitError) -> [Double] {
        let n = lower.rows
        guard b.count == n else { throw .lengthMismatch(what: "right-hand side", expected: n, got: b.count) }
        return solveUnchecked(b)
    }

    func solveUnchecked(_ b: [Double]) -> [Double] {
        let n = lower.rows
        let l = lower.values
        var y = b
        for i in 0..<n {
            var s = y[i]
            for k in 0..<i { s -= l[i * n + k] * y[k] }
            y[i] = s / l[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = y[i]
            for k in (i + 1)..<n { s -= l[k * n + i] * y[k] }
            y[i] = s / l[i * n + i]
        }
        return y
    }

    /// A⁻¹, symmetric, computed column by column.
    public func inverse() -> DenseMatrix {
        let n = lower.rows
        var inv = DenseMatrix(rows: n, columns: n)
        var e = [Double](repeating: 0, count: n)
        for j in 0..<n {
            e[j] = 1
            let col = solveUnchecked(e)
            e[j] = 0
            for i in 0..<n { inv[i, j] = col[i] }
        }
        // Symmetrise against rounding.
        for i in 0..<n {
            for j in (i + 1)..<n {
                let a = 0.5 * (inv[i, j] + inv[j, i])
                inv[i, j] = a
                inv[j, i] = a
            }
        }
        return inv
    }

    /// log det A = 2 Σ log Lᵢᵢ.
    public var logDeterminant: Double {
        var s = 0.0
        for i in 0..<lower.rows { s += log(lower[i, i]) }
        return 2 * s
    }
}
