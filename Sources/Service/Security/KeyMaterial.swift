// Key pairs for OsteoCT's own signatures: the SMART Backend Services client assertion it sends
// to the EHR (and a CDS client key for tests and the demo). EC P-384 (ES384), written as a private
// JWK and the public JWKS a server registers (RFC 7517/7518: crv, x, y, d as base64url).
import Crypto
import JWTKit
public import Foundation

public enum KeyMaterial {
    /// A new ES384 key: (private JWK, public JWKS), both JSON.
    public static func generateES384(kid: String) -> (privateJWK: String, publicJWKS: String) {
        let key = P384.Signing.PrivateKey()
        let point = key.publicKey.x963Representation   // 0x04 ‖ x ‖ y
        let x = Base64URL.encode(point.dropFirst().prefix(48)), y = Base64URL.encode(point.dropFirst(49))
        let d = Base64URL.encode(key.rawRepresentation)
        let pub = #"{"kty":"EC","crv":"P-384","alg":"ES384","use":"sig","kid":"\#(kid)","x":"\#(x)","y":"\#(y)"}"#
        let priv = #"{"kty":"EC","crv":"P-384","alg":"ES384","use":"sig","kid":"\#(kid)","x":"\#(x)","y":"\#(y)","d":"\#(d)"}"#
        return (priv, #"{"keys":[\#(pub)]}"#)
    }
}

extension KeyMaterial {
    /// A short-lived JWT signed with a private JWK (ES384 or RS384) as a CDS client sends it:
    /// header kid and typ JWT; claims iss, aud, iat, exp (+5 min), a fresh jti. For testing a
    /// service's trust set-up and for the demo.
    public static func clientJWT(privateJWK: String, iss: String, aud: String, now: Date = Date()) async throws(ServiceError) -> String {
        struct Claims: JWTPayload {
            var iss: String, aud: String, iat: Int, exp: Int, jti: String
            func verify(using algorithm: some JWTAlgorithm) async throws {}
        }
        let t = Int(now.timeIntervalSince1970)
        return try await sign(Claims(iss: iss, aud: aud, iat: t, exp: t + 300, jti: UUID().uuidString), privateJWK: privateJWK)
    }

    /// Signs claims with a private JWK (ES384 or RS384; `alg` taken from the key type when absent),
    /// header `kid` and `typ: JWT`.
    static func sign(_ claims: some JWTPayload, privateJWK: String) async throws(ServiceError) -> String {
        do {
            var key = try JSONDecoder().decode(JWK.self, from: Data(privateJWK.utf8))
            guard let kid = key.keyIdentifier else { throw ServiceError.configuration("the private key has no kid") }
            if key.algorithm == nil { key.algorithm = key.keyType == .ecdsa ? .es384 : .rs384 }
            guard key.algorithm == .es384 || key.algorithm == .rs384 else { throw ServiceError.configuration("the private key must be for ES384 or RS384") }
            let keys = JWTKeyCollection()
            try await keys.add(jwk: key)
            var header = JWTHeader()
            header.typ = "JWT"
            return try await keys.sign(claims, kid: kid, header: header)
        } catch let e as ServiceError {
            throw e
        } catch {
            throw .configuration("cannot sign with the private key: \(error)")
        }
    }
}
