// CDS Hooks 2.0 wire types (fhir-cds.md §1, from HL7/cds-hooks v2.0.1): discovery, request, response,
// card, suggestion, action, link, coding, feedback. JSON rules of the spec: no null, no empty string,
// array or object — optional members without a value are omitted (Swift's encoder omits nil; empty
// arrays are turned into nil by the builders), except `{"cards": []}`.
import Foundation

public enum CDSHooks {
    public struct Coding: Codable, Sendable, Equatable {
        public var code: String
        public var system: String
        public var display: String?
        public init(code: String, system: String, display: String?) { self.code = code; self.system = system; self.display = display }
    }

    public struct Service: Codable, Sendable, Equatable {
        public var hook: String
        public var title: String?
        public var description: String
        public var id: String
        public var prefetch: [String: String]?
        public var usageRequirements: String?
    }

    public struct Discovery: Codable, Sendable, Equatable {
        public var services: [Service]
    }

    public struct Source: Codable, Sendable, Equatable {
        public var label: String
        public var url: String?
        public var topic: Coding?
    }

    public enum ActionType: String, Codable, Sendable { case create, update, delete }

    public struct Action: Codable, Sendable {
        public var type: ActionType
        public var description: String
        /// The FHIR resource as JSON (an object), kept as raw bytes so the Swift FHIR model writes it.
        public var resource: RawJSON?
        public var resourceId: String?
    }

    public struct Suggestion: Codable, Sendable {
        public var label: String
        public var uuid: String?
        public var isRecommended: Bool?
        public var actions: [Action]?
    }

    public enum LinkType: String, Codable, Sendable { case absolute, smart }

    public struct Link: Codable, Sendable, Equatable {
        public var label: String
        public var url: String
        public var type: LinkType
    }

    public enum Indicator: String, Codable, Sendable { case info, warning, critical }

    public struct Card: Codable, Sendable {
        public var uuid: String?
        public var summary: String
        public var detail: String?
        public var indicator: Indicator
        public var source: Source
        public var suggestions: [Suggestion]?
        public var selectionBehavior: String?
        public var overrideReasons: [Coding]?
        public var links: [Link]?
    }

    public struct Response: Codable, Sendable {
        public var cards: [Card]
    }

    public struct Feedback: Codable, Sendable, Equatable {
        public struct Accepted: Codable, Sendable, Equatable { public var id: String }
        public struct OverrideReason: Codable, Sendable, Equatable {
            public var reason: Coding?
            public var userComment: String?
        }
        public var card: String
        public var outcome: String
        public var acceptedSuggestions: [Accepted]?
        public var overrideReason: OverrideReason?
        public var outcomeTimestamp: String
    }
}

/// A JSON value carried through unchanged (a FHIR resource inside a CDS Hooks action).
public struct RawJSON: Codable, Sendable {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer().decode(AnyJSON.self)
        bytes = Array(try JSONEncoder().encode(value))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(try JSONDecoder().decode(AnyJSON.self, from: Data(bytes)))
    }
}

/// Any JSON value, for carrying objects whose shape another module owns.
public indirect enum AnyJSON: Codable, Sendable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([AnyJSON]), object([String: AnyJSON])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([AnyJSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: AnyJSON].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n): try c.encode(n)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}
