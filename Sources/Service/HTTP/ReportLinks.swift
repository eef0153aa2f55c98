// Links to the explanation page that a clinician's browser can open: the CDS card carries
// `/reports/{id}?exp=…&sig=…`, an HMAC-SHA256 over the screening id and the expiry with the
// service's key, so the page opens without the CDS client's JWT (which the browser never has) and
// only for the screening and the hours it was issued for.
import Crypto
public import Foundation

public struct ReportLinks: Sendable {
    let key: SymmetricKey
    let lifetime: TimeInterval

    /// `secret`: the configured key (any string); nil makes a random one (links die at restart).
    public init(secret: String?, lifetimeHours: Double) {
        if let secret { key = SymmetricKey(data: SHA256.hash(data: Data(secret.utf8))) } else { key = SymmetricKey(size: .bits256) }
        lifetime = lifetimeHours * 3600
    }

    /// The path and query of a link to screening `id`, valid from `now` for the configured hours.
    public func path(id: String, now: Date = Date()) -> String {
        let exp = Int(now.timeIntervalSince1970 + lifetime)
        return "/reports/\(id)?exp=\(exp)&sig=\(signature(id: id, exp: exp))"
    }

    /// Whether `sig` is this service's signature of `id` and `exp`, and `exp` is still ahead.
    public func verify(id: String, exp: String?, sig: String?, now: Date = Date()) -> Bool {
        guard let exp, let e = Int(exp), let sig, let mac = Base64URL.decode(sig) else { return false }
        guard Double(e) >= now.timeIntervalSince1970 else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data("report|\(id)|\(e)".utf8), using: key)
    }

    func signature(id: String, exp: Int) -> String {
        Base64URL.encode(Data(HMAC<SHA256>.authenticationCode(for: Data("report|\(id)|\(exp)".utf8), using: key)))
    }
}
