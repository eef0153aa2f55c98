/// Errors of the RiskModel module; each says which input was wrong and what is accepted.
public enum RiskError: Error, Equatable, CustomStringConvertible {
    /// A value outside its valid range.
    case outOfRange(feature: String, value: String, valid: String)
    /// A value in a unit OsteoCT does not know for that feature.
    case unknownUnit(feature: String, unit: String, accepted: [String])
    /// A feature id that the schema does not define.
    case unknownFeature(String)
    /// A value of the wrong kind (text where a number is needed…).
    case wrongType(feature: String, expected: String)
    /// The person is outside the population the model was built for (men, women under 30…).
    case outsidePopulation(String)
    /// A model file that cannot be used.
    case invalidModel(String)
    /// A feature file or JSON that cannot be read.
    case invalidInput(String)

    public var description: String {
        switch self {
        case .outOfRange(let f, let v, let r):
            return "feature '\(f)' = \(v) is out of range; valid: \(r)"
        case .unknownUnit(let f, let u, let a):
            return "feature '\(f)' has unit '\(u)'; use one of: \(a.joined(separator: ", "))"
        case .unknownFeature(let f):
            return "unknown feature '\(f)'; `osteoct risk --list-features` lists the feature ids"
        case .wrongType(let f, let e):
            return "feature '\(f)' must be \(e)"
        case .outsidePopulation(let s):
            return "outside the model's population: \(s)"
        case .invalidModel(let s):
            return "model file not usable: \(s)"
        case .invalidInput(let s):
            return "input not usable: \(s)"
        }
    }
}
