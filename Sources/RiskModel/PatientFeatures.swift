public import Foundation

/// One patient's feature values in canonical units, with their measurement SDs where known.
public struct PatientFeatures: Sendable, Equatable {
    /// Canonical values by feature id (booleans 0/1, categories by code).
    public private(set) var values: [String: Double] = [:]
    /// Measurement standard deviation (canonical unit), e.g. carried from the QCT results.
    public private(set) var sd: [String: Double] = [:]

    public init() {}

    public subscript(_ id: String) -> Double? { values[id] }

    /// Sets a value given in `unit` (nil: the canonical unit), converting and range-checking it.
    public mutating func set(_ id: String, _ value: Double, unit: String? = nil, sd: Double? = nil) throws(RiskError) {
        guard let def = FeatureSchema.definition(id) else { throw .unknownFeature(id) }
        guard value.isFinite else { throw .outOfRange(feature: id, value: "\(value)", valid: rangeText(def)) }
        var v = value
        var factor = 1.0
        if let unit, def.kind == .number, unit != def.unit {
            guard let c = def.alternativeUnits.first(where: { $0.unit == unit }) else {
                throw .unknownUnit(feature: id, unit: unit, accepted: [def.unit ?? ""] + def.alternativeUnits.map(\.unit))
            }
            v = value * c.factor + c.offset
            factor = c.factor
        } else if let unit, def.kind != .number, !unit.isEmpty {
            throw .unknownUnit(feature: id, unit: unit, accepted: ["(none: \(def.kind.rawValue))"])
        }
        switch def.kind {
        case .boolean:
            guard v == 0 || v == 1 else { throw .wrongType(feature: id, expected: "true/false (or 1/0)") }
        case .category:
            guard v == v.rounded(), def.categories?[String(Int(v))] != nil else {
                throw .outOfRange(feature: id, value: "\(value)", valid: rangeText(def))
            }
        case .number:
            if let lo = def.minimum, let hi = def.maximum, !(lo...hi).contains(v) {
                throw .outOfRange(feature: id, value: "\(value)\(unit.map { " " + $0 } ?? "")", valid: rangeText(def))
            }
        }
        values[id] = v
        if let sd {
            guard sd.isFinite, sd >= 0 else { throw .outOfRange(feature: id + ".sd", value: "\(sd)", valid: "a non-negative number") }
            self.sd[id] = sd * factor
        }
    }

    public mutating func remove(_ id: String) {
        values[id] = nil
        sd[id] = nil
    }

    /// Reads a feature file: a JSON object of feature id → number, boolean, category code or label,
    /// or {"value": x, "unit": "…", "sd": s}. Unknown ids and wrong units are errors.
    public static func parse(json data: Data) throws(RiskError) -> PatientFeatures {
        let root: JSONValue
        do { root = try JSONDecoder().decode(JSONValue.self, from: data) } catch {
            throw .invalidInput("not valid JSON: \(error)")
        }
        guard case .object(let dict) = root else {
            throw .invalidInput("the feature file must be a JSON object of feature id → value")
        }
        var f = PatientFeatures()
        for key in dict.keys.sorted() {
            guard let raw = dict[key] else { continue }
            guard let def = FeatureSchema.definition(key) else { throw .unknownFeature(key) }
            var unit: String?
            var sd: Double?
            var valueJSON = raw
            if case .object(let obj) = raw {
                guard let v = obj["value"] else { throw .wrongType(feature: key, expected: "an object with \"value\"") }
                valueJSON = v
                if let u = obj["unit"] {
                    guard case .string(let s) = u else { throw .wrongType(feature: key + ".unit", expected: "a string") }
                    unit = s
                }
                if let s = obj["sd"] {
                    guard case .number(let n) = s else { throw .wrongType(feature: key + ".sd", expected: "a number") }
                    sd = n
                }
            }
            if case .null = valueJSON { continue }
            try f.set(key, try value(valueJSON, def), unit: unit, sd: sd)
        }
        return f
    }

    static func value(_ json: JSONValue, _ def: FeatureDefinition) throws(RiskError) -> Double {
        switch json {
        case .bool(let b):
            return b ? 1 : 0
        case .number(let n):
            return n
        case .string(let s):
            if def.kind == .category, let code = def.categories?.first(where: { $0.value.lowercased() == s.lowercased() })?.key,
                let v = Double(code)
            {
                return v
            }
            if def.kind == .boolean {
                switch s.lowercased() {
                case "true", "yes": return 1
                case "false", "no": return 0
                default: break
                }
            }
            if def.id == "sex" {
                switch s.lowercased() {
                case "female", "f": return 1
                case "male", "m": return 2
                default: break
                }
            }
        default:
            break
        }
        throw .wrongType(feature: def.id, expected: expectation(def))
    }

    static func expectation(_ def: FeatureDefinition) -> String {
        switch def.kind {
        case .boolean: return "true/false"
        case .category: return "a category code (\(rangeText(def)))"
        case .number: return "a number in \(def.unit ?? "")"
        }
    }
}

func rangeText(_ def: FeatureDefinition) -> String {
    if let cats = def.categories {
        return cats.sorted { (Int($0.key) ?? 0) < (Int($1.key) ?? 0) }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }
    let lo = def.minimum.map { String($0) } ?? "−∞", hi = def.maximum.map { String($0) } ?? "∞"
    return "\(lo)…\(hi) \(def.unit ?? "")" + (def.alternativeUnits.isEmpty ? "" : " (also in " + def.alternativeUnits.map(\.unit).joined(separator: ", ") + ")")
}

/// A JSON value, decoded strictly (true is not 1).
enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }
}
