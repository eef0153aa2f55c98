// Errors of the quantitative-CT core: what was wrong and what to do, in words.

public enum QCTError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Unusable input (file, options, catalogue).
    case input(String)
    /// The image does not allow the step (no phantom found, too few tissues…).
    case notMeasurable(String)

    public var description: String {
        switch self {
        case .input(let s), .notMeasurable(let s): return s
        }
    }
}
