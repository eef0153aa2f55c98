// Errors of the Phantom module; each says which input was wrong and what is accepted.

public enum PhantomError: Error, Equatable, CustomStringConvertible {
    /// A parameter outside its valid range.
    case outOfRange(parameter: String, value: String, valid: String)
    /// Parameters that are valid one by one but not together.
    case invalidCombination(String)
    /// The requested grid exceeds the voxel limit (checked before allocating).
    case tooLarge(voxels: Int, limit: Int)
    /// The volume could not be built (Imaging refused the grid).
    case imaging(String)
    /// Writing the phantom's files failed.
    case output(String)

    public var description: String {
        switch self {
        case .outOfRange(let p, let v, let r):
            return "phantom parameter \(p) = \(v) is out of range; valid range \(r)"
        case .invalidCombination(let s):
            return "phantom parameters do not fit together: \(s)"
        case .tooLarge(let n, let limit):
            return "phantom grid of \(n) voxels exceeds the limit of \(limit); reduce columns, rows or slices"
        case .imaging(let s):
            return "phantom volume could not be created: \(s)"
        case .output(let s):
            return "phantom files could not be written: \(s)"
        }
    }
}
