// The service's one error type (DESIGN.md): each case says what was wrong and what to do.
public enum ServiceError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The configuration file or environment is wrong.
    case configuration(String)
    /// The store (SQLite) failed.
    case store(String)
    /// A request was refused: HTTP status and the reason the caller is told.
    case refused(status: Int, String)
    /// A job failed (the reason is kept with the job).
    case job(String)

    public var description: String {
        switch self {
        case .configuration(let s): return "configuration: \(s)"
        case .store(let s): return s
        case .refused(let status, let s): return "\(status): \(s)"
        case .job(let s): return s
        }
    }
}
