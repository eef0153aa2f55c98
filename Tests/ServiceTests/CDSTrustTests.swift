import Foundation
import JWTKit
import Testing

@testable import Service

// The CDS client JWT rules (CDS Hooks 2.0 §Trusting CDS Clients, fhir-cds.md §1.7) against tokens
// signed by jwt-kit (a third-party signer): ES384 and RS384 accepted; alg none, HS256 signed with
// the public key, an unknown kid, a wrong aud, an expired or future token, a replayed jti and an
// issuer not on the list refused, each with a reason.

/// A throwaway RSA key for these tests only (openssl genrsa 2048).
private let rsaPEM = """
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCzjUDgQWjeNyDN
lnMLZlFD/qMmJXlOT5ewK4iHl3hJoZZYQevAnu4YpE5Kawpk9FPN/AtkMSSLcBky
MdhTAwPOzQyBHavaBORuWSTK3E3dL0IbZtDwCMx+bFh6RVPovgxxhtmnQenB4chs
Rtsl0LgBhiowkmqMK/fLIKtJCeUBUrt7VJC4gJ6JGC//Q57vJacXbO77silK9Mcz
AUOUHIjDWVjlnjX3kp0eBWhqpeJD/2gwHplayLBtQkzXNMSVmsXIQOhdLD6Yev/e
NShaiEsuEUinlQYHR9FbjiDy4PsEKQDbDQRYtM81p1nt+v2+tteK0pGhLkbpZmTg
ebTm1YnNAgMBAAECggEAAhEtvocyQGCtGYDSaT6vz9MWKMHEsECdU/NkWn9FbL+V
/gUgRDLwNctqdVPfJkNj1ZrBvNEOBSbwu1G0llwSBqb4rmHbkSJ+SMDw+f7oTJQX
ND6OSD0psYjoyduTeDn75bCyP8kz+j3xs0Frk3dgLvBO+wksfdmhvC5vmmMpRkcb
F5jqymGq9V/tDt2zIcvCK43uHe9wyo45S9zuUbx7UznLmWbmY6g17lcA9TqmwKR0
xBLtdstZ/W4FroHzpwfJw3CSZp9I7+xKgebu2zz7EEnGTYeQ+TBHjmzgenvioSyd
PAXsYzqsA9f+TxIVvNPQGIj1rboGBZ9WCL5hDuZIwQKBgQDuWiIwHB3etB8My07i
4a2nwqtEkpzRKsPj1YNYHiuk8cz3eCLWFwDidw1gAs7UiwHlO8RFyyz3+3EuM749
gl3dRqGbwLGzqhN8zSeDdpXe4vHrxKaaOzzlAdCH0r/8J3vtE4hH46DAJjTUBJUr
h/dTHXul+pD66/tZXgJ8QoJOoQKBgQDA2JV9hP0DrVCHiTOsySMvPEsF5ZYH4hgr
b7ygwi5ILiK/r3m/tZ08Pyp8tKdjdxiETS7iKQiJ3YorLrMJtfOFLzqU/ERnkuLe
x/RyyTKeFDYQnGbe5u5W0gtUdwkJXCtTsLtksniT49hCtYVw3X7oO3GnDKymiGid
47QxQKAHrQKBgFcX0kQ4EeYNdQcMxv96LSUOqdw9olV/xeJbY0nwhEwaGqYWXMxT
zXvyuo1pmT/qpz+m7hn+mqjmVL3oJEx/dWLkayrpZ0VaERLaN+T+kNbHoFRhH+td
V+vqFNN8e7BckRjYuURjdZqgm08ZeZRVc1cIf+TvQMifL9HA2zGib9DhAoGABpdg
hKnG/BkwZ3GJEp7NVQ/6gHkYZ6ySpulqyRPaAR2Sknqs7qCGf0ipaxnBnuSzMdJx
h8lfQVcRIei2td5CNIsotW7p56BdoL+02zeFQ2HtdyPhYD0EaHNFb92hsXA1Cuc/
gHGZLXTcL2uE5Bat/8IIYG1OeWKwMLVXs1dCIQECgYEArM0qYI0fWmo1AxRUTdLM
o+UOnD6QQ0s7cNS+VefgoSJqm8S/dTPA2mbeD35ePRs0SC1iUrk4O/ZOXo6+9Jpj
vHI1s+nCTbE1d2aBQe+dIezKL3jlEwxhjoNonXKiDi3/YoAIG8WkBoQ2GqMcJm0U
Pw81jDuQkfpIeRy58i9po2w=
-----END PRIVATE KEY-----
"""

struct Claims: JWTPayload {
    var iss: String
    var aud: AudienceClaim
    var exp: Int
    var iat: Int
    var jti: String
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

private func b64url(_ d: Data) -> String {
    d.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
}

/// A CDS client: its keys (EC P-384 "ec-1", RSA "rsa-1") and the public JWKS OsteoCT trusts.
struct TestClient {
    let keys = JWTKeyCollection()
    let ec = ES384PrivateKey()
    let rsa: Insecure.RSA.PrivateKey
    let jwks: AnyJSON
    let iss = "https://ehr.example.org"
    let aud = "https://osteoct.example.org/cds-services/osteoct-hip-fracture-risk"

    init() async throws {
        rsa = try Insecure.RSA.PrivateKey(pem: rsaPEM)
        await keys.add(ecdsa: ec, kid: "ec-1")
        await keys.add(rsa: rsa, digestAlgorithm: .sha384, kid: "rsa-1")
        let p = try #require(ec.parameters)
        let prim = try rsa.publicKey.getKeyPrimitives()
        jwks = .object(["keys": .array([
            .object(["kty": .string("EC"), "crv": .string("P-384"), "kid": .string("ec-1"), "x": .string(p.x), "y": .string(p.y), "use": .string("sig")]),
            .object(["kty": .string("RSA"), "kid": .string("rsa-1"), "n": .string(b64url(prim.modulus)), "e": .string(b64url(prim.publicExponent))]),
        ])])
    }

    func token(kid: String = "ec-1", iss: String? = nil, aud: String? = nil, exp: Int = 300, iat: Int = 0, jti: String = UUID().uuidString,
               header: JWTHeader = JWTHeader(), now: Date = Date()) async throws -> String {
        let t = Int(now.timeIntervalSince1970)
        var h = header
        h.typ = "JWT"
        return try await keys.sign(Claims(iss: iss ?? self.iss, aud: AudienceClaim(value: [aud ?? self.aud]), exp: t + exp, iat: t + iat, jti: jti),
                                   kid: JWKIdentifier(string: kid), header: h)
    }

    func trust() throws -> CDSTrust { try CDSTrust(clients: [TrustedCDSClient(iss: iss, jwks: jwks, jku: nil)], fetcher: nil) }
}

private func refusal(_ body: () async throws -> Void) async -> String? {
    do { try await body(); return nil } catch let e as ServiceError {
        if case .refused(401, let why) = e { return why }
        return "unexpected \(e)"
    } catch { return "unexpected \(error)" }
}

@Suite("CDS client JWT trust")
struct CDSTrustTests {
    @Test func es384AndRS384Accepted() async throws {
        let c = try await TestClient()
        let trust = try c.trust()
        let v = try await trust.verify(authorization: "Bearer " + (try await c.token()), audience: c.aud)
        #expect(v.iss == c.iss && v.kid == "ec-1")
        let r = try await trust.verify(authorization: "Bearer " + (try await c.token(kid: "rsa-1")), audience: c.aud)
        #expect(r.kid == "rsa-1")
    }

    @Test func hostileTokensRefused() async throws {
        let c = try await TestClient()
        let trust = try c.trust()
        let aud = c.aud
        // alg none: header and payload of a valid token, no signature.
        let good = try await c.token()
        let parts = good.split(separator: ".")
        let t = Int(Date().timeIntervalSince1970)
        let none = b64url(Data(#"{"alg":"none","typ":"JWT","kid":"ec-1"}"#.utf8)) + "." + parts[1] + "."
        #expect(await refusal { _ = try await trust.verify(authorization: "Bearer " + none, audience: aud) }?.contains("not accepted") == true)
        // HS256 keyed with the public key (the classic algorithm-confusion attack).
        let hs = JWTKeyCollection()
        await hs.add(hmac: HMACKey(from: c.rsa.publicKey.pemRepresentation), digestAlgorithm: .sha256, kid: "rsa-1")
        let confused = try await hs.sign(Claims(iss: c.iss, aud: AudienceClaim(value: [aud]), exp: t + 300, iat: t, jti: "x1"), kid: "rsa-1")
        #expect(await refusal { _ = try await trust.verify(authorization: "Bearer " + confused, audience: aud) }?.contains("HS256") == true)
        // The client's EC key signing under the RSA key's kid: ES384 named with an RSA key.
        let mislabelled = JWTKeyCollection()
        await mislabelled.add(ecdsa: c.ec, kid: "rsa-1")
        let swapped = try await mislabelled.sign(Claims(iss: c.iss, aud: AudienceClaim(value: [aud]), exp: t + 300, iat: t, jti: "x3"), kid: "rsa-1")
        #expect(await refusal { _ = try await trust.verify(authorization: "Bearer " + swapped, audience: aud) }?.contains("not a key for ES384") == true)
        // Tampered payload.
        let tampered = parts[0] + "." + b64url(Data(#"{"iss":"https://ehr.example.org","aud":"x"}"#.utf8)) + "." + parts[2]
        #expect(await refusal { _ = try await trust.verify(authorization: "Bearer " + tampered, audience: aud) }?.contains("signature") == true)
        #expect(await refusal { _ = try await trust.verify(authorization: "Bearer " + (try await c.token(aud: "https://other.example.org/cds-services/x")), audience: aud) }?.contains("aud") == true)
        #expect(await refusal { _ = try await trust.verify(authorization: "Bearer " + (try await c.token(exp: -120, iat: -400)), audience: aud) }?.contains("expired") == true)
        #expect(await refusal { _ = try await trust.verify(authorization: "Bearer " + (try await c.token(iat: 600)), audience: aud) }?.contains("future") == true)
        #expect(await refusal { _ = try await trust.verify(authorization: "Bearer " + (try await c.token(iss: "https://evil.example.org")), audience: aud) }?.contains("not a trusted") == true)
        #expect(await refusal { _ = try await trust.verify(authorization: nil, audience: aud) } != nil)
        #expect(await refusal { _ = try await trust.verify(authorization: "Bearer abc.def", audience: aud) } != nil)
        // An unknown kid (no fallback to another key of the client).
        let other = JWTKeyCollection()
        await other.add(ecdsa: ES384PrivateKey(), kid: "ec-2")
        let unknown = try await other.sign(Claims(iss: c.iss, aud: AudienceClaim(value: [aud]), exp: t + 300, iat: t, jti: "x2"), kid: "ec-2")
        #expect(await refusal { _ = try await trust.verify(authorization: "Bearer " + unknown, audience: aud) }?.contains("not in the JWKS") == true)
        // No typ (CDS Hooks requires typ JWT).
        let noTyp = b64url(Data(#"{"alg":"ES384","kid":"ec-1"}"#.utf8)) + "." + parts[1] + "." + parts[2]
        #expect(await refusal { _ = try await trust.verify(authorization: "Bearer " + noTyp, audience: aud) }?.contains("typ") == true)
        // A jku not allow-listed.
        var h = JWTHeader()
        h.jku = "https://evil.example.org/jwks"
        #expect(await refusal { _ = try await trust.verify(authorization: "Bearer " + (try await c.token(header: h)), audience: aud) }?.contains("jku") == true)
    }

    @Test func replayedJTIRefused() async throws {
        let c = try await TestClient()
        let trust = try c.trust()
        let token = try await c.token(jti: "once")
        _ = try await trust.verify(authorization: "Bearer " + token, audience: c.aud)
        #expect(await refusal { _ = try await trust.verify(authorization: "Bearer " + token, audience: c.aud) }?.contains("replayed") == true)
    }

    @Test func jkuFetchedWhenAllowListed() async throws {
        struct Fetcher: JWKSFetching {
            let body: [UInt8]
            func fetch(_ url: String) async throws -> [UInt8] { body }
        }
        let c = try await TestClient()
        let url = "https://ehr.example.org/.well-known/jwks.json"
        let trust = try CDSTrust(clients: [TrustedCDSClient(iss: c.iss, jwks: nil, jku: [url])],
                                 fetcher: Fetcher(body: Array(try JSONEncoder().encode(c.jwks))))
        var h = JWTHeader()
        h.jku = url
        let v = try await trust.verify(authorization: "Bearer " + (try await c.token(kid: "rsa-1", header: h)), audience: c.aud)
        #expect(v.kid == "rsa-1")
    }

    @Test func trustFileErrors() throws {
        #expect(throws: ServiceError.self) { try CDSTrust(clients: [TrustedCDSClient(iss: "a", jwks: nil, jku: nil)], fetcher: nil) }
        #expect(throws: ServiceError.self) { try CDSTrust(clients: [TrustedCDSClient(iss: "a", jwks: .object(["nokeys": .null]), jku: nil)], fetcher: nil) }
    }
}
