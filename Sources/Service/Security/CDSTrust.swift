// Verifying the JWT a CDS client sends with every call (CDS Hooks 2.0 §Trusting CDS Clients;
// fhir-cds.md §1.7): `Authorization: Bearer <JWS>` signed with the client's private key; only ES384
// and RS384 are accepted (never `none` or a symmetric algorithm); the header names the key (`kid`,
// `typ` JWT) and may point to the client's JWKS (`jku`), which is used only when allow-listed for
// that issuer; `iss` must be allow-listed; `aud` must be exactly the URL called; `exp` and `iat`
// are checked with a minute of clock skew; a `jti` seen before is a replay and refused.
//
// jwt-kit checks the signature. The rest is done here, before it, because jwt-kit would fall back
// to a collection's first key for an unknown `kid` and takes the algorithm from the header.
public import Foundation
import JWTKit

/// A CDS client OsteoCT trusts: its issuer and where its public keys come from.
public struct TrustedCDSClient: Codable, Sendable, Equatable {
    /// The `iss` the client puts in its JWTs.
    public var iss: String
    /// Its JWKS (`{"keys": [...]}`) given out of band, inline.
    public var jwks: AnyJSON?
    /// `jku` URLs this client may name in its JWT header; the JWKS is fetched from there.
    public var jku: [String]?
    public init(iss: String, jwks: AnyJSON?, jku: [String]?) { self.iss = iss; self.jwks = jwks; self.jku = jku }
}

/// A verified caller.
public struct VerifiedClient: Sendable, Equatable {
    public var iss: String
    public var kid: String
    public var jti: String
    public var tenant: String?
}

/// Fetches a JWKS document from a `jku` URL (an HTTP GET; replaced in tests).
public protocol JWKSFetching: Sendable {
    func fetch(_ url: String) async throws -> [UInt8]
}

public actor CDSTrust {
    public let clients: [String: TrustedCDSClient]
    let fetcher: (any JWKSFetching)?
    /// Allowed clock skew, seconds.
    let skew: Double = 60
    /// Tokens issued longer ago than this are refused even before they expire (replay window bound).
    let maxAge: Double = 3600
    /// `iss|jti` → expiry of the token it came with (kept until then; a replay after expiry fails on exp).
    var seenJTI: [String: Double] = [:]
    /// JWKS fetched from `jku` URLs, with when they were fetched.
    var fetched: [String: (keys: [String: JWK], at: Date)] = [:]
    let jkuCacheSeconds: Double = 300

    /// CDS Hooks requires `iat`; a SMART client assertion need not carry it (but then `sub` must equal `iss`).
    let smartAssertion: Bool

    /// `smartAssertion`: verify SMART Backend Services client assertions (fhir-cds.md §4) instead of
    /// CDS client JWTs — `iat` optional, `sub` = `iss`, `exp` at most 5 minutes ahead.
    public init(clients: [TrustedCDSClient], fetcher: (any JWKSFetching)?, smartAssertion: Bool = false) throws(ServiceError) {
        self.smartAssertion = smartAssertion
        var map: [String: TrustedCDSClient] = [:]
        for c in clients {
            guard map[c.iss] == nil else { throw .configuration("CDS client '\(c.iss)' is listed twice in the trust file") }
            guard c.jwks != nil || !(c.jku ?? []).isEmpty else {
                throw .configuration("CDS client '\(c.iss)' has neither a JWKS nor an allowed jku: give one of them")
            }
            if let jwks = c.jwks { _ = try Self.keys(fromJWKS: try Self.bytes(jwks), source: "the JWKS of '\(c.iss)'") }
            map[c.iss] = c
        }
        self.clients = map
        self.fetcher = fetcher
    }

    public var isEmpty: Bool { clients.isEmpty }

    /// Verifies the bearer JWT of a call to `audience` (the exact URL called).
    public func verify(authorization: String?, audience: String, now: Date = Date()) async throws(ServiceError) -> VerifiedClient {
        guard let authorization, authorization.lowercased().hasPrefix("bearer ") else {
            throw .refused(status: 401, "this endpoint needs `Authorization: Bearer <JWT>` signed by a trusted CDS client (CDS Hooks 2.0 security)")
        }
        let token = String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, token.utf8.count <= 16_384 else { throw .refused(status: 401, "the bearer token is not a compact JWS (three base64url parts)") }
        guard let headerBytes = Self.base64URL(parts[0]), case .object(let header)? = try? JSONDecoder().decode(AnyJSON.self, from: Data(headerBytes)),
              let payloadBytes = Self.base64URL(parts[1]), case .object(let claims)? = try? JSONDecoder().decode(AnyJSON.self, from: Data(payloadBytes)) else {
            throw .refused(status: 401, "the JWT's header or payload is not base64url-encoded JSON")
        }
        guard case .string(let alg)? = header["alg"], ["ES384", "RS384"].contains(alg) else {
            throw .refused(status: 401, "JWT algorithm '\(Self.text(header["alg"]) ?? "missing")' is not accepted: CDS clients sign with ES384 or RS384")
        }
        guard case .string(let typ)? = header["typ"], typ.uppercased() == "JWT" else { throw .refused(status: 401, "the JWT header's typ must be 'JWT' (required by CDS Hooks)") }
        guard case .string(let kid)? = header["kid"], !kid.isEmpty else { throw .refused(status: 401, "the JWT header has no kid (required by CDS Hooks)") }
        guard case .string(let iss)? = claims["iss"], let client = clients[iss] else {
            throw .refused(status: 401, "JWT issuer '\(Self.text(claims["iss"]) ?? "missing")' is not a trusted CDS client; add it to the trust file")
        }

        // The key: from the allow-listed jku when the header names one, else the JWKS on file.
        let key: JWK
        if case .string(let jku)? = header["jku"] {
            guard (client.jku ?? []).contains(jku) else { throw .refused(status: 401, "jku '\(jku)' is not allow-listed for issuer '\(iss)'") }
            key = try await jkuKey(jku, kid: kid, now: now)
        } else {
            guard let jwks = client.jwks, let k = try Self.keys(fromJWKS: try Self.bytes(jwks), source: "the JWKS of '\(iss)'")[kid] else {
                throw .refused(status: 401, "key '\(kid)' is not in the JWKS on file for issuer '\(iss)'")
            }
            key = k
        }
        switch (alg, key.keyType) {
        case ("ES384", .ecdsa):
            guard key.curve?.rawValue == "P-384" else { throw .refused(status: 401, "key '\(kid)' is not a P-384 key, which ES384 needs") }
        case ("RS384", .rsa): break
        default: throw .refused(status: 401, "key '\(kid)' is not a key for \(alg)")
        }
        if let keyAlg = key.algorithm, keyAlg.rawValue != alg { throw .refused(status: 401, "key '\(kid)' is for \(keyAlg.rawValue), not \(alg)") }

        // The signature (jwt-kit), with only this key in the collection.
        let collection = JWTKeyCollection()
        do {
            try await collection.add(jwk: key)
            _ = try await collection.verify(token, as: SignatureOnly.self)
        } catch {
            throw .refused(status: 401, "the JWT's signature does not verify with key '\(kid)' of '\(iss)'")
        }

        // The claims.
        let t = now.timeIntervalSince1970
        let audiences: [String]
        switch claims["aud"] {
        case .string(let a)?: audiences = [a]
        case .array(let list)?: audiences = list.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
        default: audiences = []
        }
        guard audiences.contains(audience) else {
            throw .refused(status: 401, "JWT aud \(audiences.isEmpty ? "is missing" : "'\(audiences.joined(separator: ", "))'") but must be exactly '\(audience)', the URL called")
        }
        guard case .number(let exp)? = claims["exp"] else { throw .refused(status: 401, "the JWT has no exp") }
        guard exp + skew >= t else { throw .refused(status: 401, "the JWT expired \(Int(t - exp)) s ago") }
        let iat: Double
        if case .number(let i)? = claims["iat"] { iat = i } else if smartAssertion { iat = t } else { throw .refused(status: 401, "the JWT has no iat") }
        guard iat <= t + skew else { throw .refused(status: 401, "the JWT's iat is in the future; check the client's clock") }
        guard t - iat <= maxAge else { throw .refused(status: 401, "the JWT was issued \(Int(t - iat)) s ago, more than \(Int(maxAge)) s") }
        if smartAssertion {
            guard case .string(iss)? = claims["sub"] else { throw .refused(status: 401, "the client assertion's sub must equal its iss (the client_id)") }
            guard exp <= t + 300 + skew else { throw .refused(status: 401, "the client assertion expires more than 5 minutes ahead") }
        }
        guard case .string(let jti)? = claims["jti"], !jti.isEmpty else { throw .refused(status: 401, "the JWT has no jti (a nonce, required for replay protection)") }
        let seenKey = iss + "|" + jti
        if let until = seenJTI[seenKey], until + skew >= t { throw .refused(status: 401, "the JWT's jti was used before: a replayed token") }
        seenJTI[seenKey] = max(exp, iat + maxAge)
        if seenJTI.count > 100_000 { seenJTI = seenJTI.filter { $0.value + skew >= t } }
        return VerifiedClient(iss: iss, kid: kid, jti: jti, tenant: Self.text(claims["tenant"]))
    }

    /// The key `kid` from the JWKS at `jku`: cached for five minutes; an unknown kid fetches again
    /// once (the client may have rotated its keys).
    func jkuKey(_ jku: String, kid: String, now: Date) async throws(ServiceError) -> JWK {
        if let cached = fetched[jku] {
            if let k = cached.keys[kid], now.timeIntervalSince(cached.at) < jkuCacheSeconds { return k }
            // An unknown kid fetches again at most every 30 s, so unsigned tokens with made-up kids
            // cannot make the service hammer the client's JWKS URL.
            if now.timeIntervalSince(cached.at) < 30 {
                guard let k = cached.keys[kid] else { throw .refused(status: 401, "key '\(kid)' is not in the JWKS at '\(jku)'") }
                return k
            }
        }
        guard let fetcher else { throw .refused(status: 401, "jku '\(jku)' cannot be fetched (no HTTP client configured)") }
        let bytes: [UInt8]
        do { bytes = try await fetcher.fetch(jku) } catch {
            throw .refused(status: 401, "the JWKS at '\(jku)' could not be fetched: \(error)")
        }
        let keys = try Self.keys(fromJWKS: bytes, source: jku)
        fetched[jku] = (keys, now)
        guard let k = keys[kid] else { throw .refused(status: 401, "key '\(kid)' is not in the JWKS at '\(jku)'") }
        return k
    }

    /// The keys of a JWKS by kid; keys without a kid cannot be named and are left out.
    static func keys(fromJWKS bytes: [UInt8], source: String) throws(ServiceError) -> [String: JWK] {
        let jwks: JWKS
        do { jwks = try JSONDecoder().decode(JWKS.self, from: Data(bytes)) } catch {
            throw .configuration("\(source) is not a JWKS ({\"keys\": [...]}): \(error)")
        }
        var out: [String: JWK] = [:]
        for k in jwks.keys { if let kid = k.keyIdentifier?.string { out[kid] = k } }
        return out
    }

    static func bytes(_ json: AnyJSON) throws(ServiceError) -> [UInt8] {
        do { return Array(try JSONEncoder().encode(json)) } catch { throw .configuration("cannot encode a JWKS: \(error)") }
    }

    static func base64URL(_ s: Substring) -> [UInt8]? { Base64URL.decode(String(s)).map { [UInt8]($0) } }

    static func text(_ v: AnyJSON?) -> String? { if case .string(let s)? = v { return s } else { return nil } }
}

/// base64url without padding (RFC 4648 §5), as JOSE writes it.
enum Base64URL {
    static func encode(_ d: some DataProtocol) -> String {
        Data(d).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ s: String) -> Data? {
        var b = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b.count % 4 != 0 { b += "=" }
        return Data(base64Encoded: b)
    }
}

/// The claims are checked by `CDSTrust` itself; jwt-kit only checks the signature.
struct SignatureOnly: JWTPayload {
    func verify(using algorithm: some JWTAlgorithm) async throws {}
    init(from decoder: any Decoder) throws {}
    func encode(to encoder: any Encoder) throws {}
}
