// Key pairs for OsteoCT's own signatures: the SMART Backend Services client assertion it sends
// to the EHR (and a CDS client key for tests and the demo). EC P-384 (ES384), written as a private
// JWK and the public JWKS a server registers (RFC 7517/7518: crv, x, y, d as base64url).
import Crypto
public import Foundation

public enum KeyMaterial {
    /// A new ES384 key: (private JWK, public JWKS), both JSON.
    public static func generateES384(kid: String) -> (privateJWK: String, publicJWKS: String) {
        let key = P384.Signing.PrivateKey()
        let point = key.publicKey.x963Representation   // 0x04 ‖ x ‖ y
        let x = b64url(point.dropFirst().prefix(48)), y = b64url(point.dropFirst(49))
        let d = b64url(key.rawRepresentation)
        let pub = #"{"kty":"EC","crv":"P-384","alg":"ES384","use":"sig","kid":"\#(kid)","x":"\#(x)","y":"\#(y)"}"#
        let priv = #"{"kty":"EC","crv":"P-384","alg":"ES384","use":"sig","kid":"\#(kid)","x":"\#(x)","y":"\#(y)","d":"\#(d)"}"#
        return (priv, #"{"keys":[\#(pub)]}"#)
    }

    static func b64url(_ d: some DataProtocol) -> String {
        Data(d).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
