import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Service
import TestEHR

/// `osteoct test-ehr`: the small in-memory FHIR server that plays the EHR in tests and the demo.
struct TestEHRCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-ehr",
        abstract: "FOR TESTS AND DEMOS ONLY: an in-memory FHIR R4 server playing the EHR (records, transactions, SMART backend tokens, Subscriptions).")

    @Option(help: "Loopback port.") var port = 18090
    @Option(help: "Registered backend clients (JSON {\"cdsClients\": [{\"iss\": client_id, \"jwks\": {...}}]}); none: no authentication.") var clients: String?
    @Option(help: "FHIR Bundles whose resources are loaded (PUT by id) at start, e.g. Examples/patients/patient-high-risk.json.") var load: [String] = []

    func run() async throws {
        let logger = serviceLogger()
        var trusted: [TrustedCDSClient] = []
        if let clients {
            do { trusted = try ServiceConfiguration.trustFile(clients) } catch { throw CommandFailure("--clients: \(error)") }
        }
        let base = "http://127.0.0.1:\(port)"
        let ehr = try TestEHR(baseURL: base, clients: trusted, logger: logger)
        for path in load {
            guard let d = FileManager.default.contents(atPath: path), let n = await ehr.store.load(bundle: [UInt8](d)) else {
                throw CommandFailure("--load \(path) is not a FHIR Bundle (JSON)")
            }
            logger.notice("loaded \(n) resources from \(path)")
        }
        let app = Application(router: ehr.router(), configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "OsteoCT-test-EHR"),
                              logger: logger)
        logger.notice("TEST EHR (not an EHR: in memory, for tests and demos) at \(base)/fhir")
        try await app.runService()
        await ehr.shutdown()
    }
}

/// `osteoct keygen`: an ES384 key pair for SMART backend services or a CDS client.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make an ES384 key pair: the private JWK (keep it secret: ehr.privateKey) and the public JWKS (register it with the EHR).")

    @Option(help: "Key id (kid).") var kid: String
    @Option(help: "Private JWK file to write (mode 600).") var privateKey: String
    @Option(help: "Public JWKS file to write.") var jwks: String

    func run() throws {
        let (priv, pub) = KeyMaterial.generateES384(kid: kid)
        guard FileManager.default.createFile(atPath: privateKey, contents: Data(priv.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CommandFailure("cannot write \(privateKey)")
        }
        do { try Data(pub.utf8).write(to: URL(fileURLWithPath: jwks)) } catch { throw CommandFailure("cannot write \(jwks): \(error)") }
        print("Wrote \(privateKey) (private, keep secret) and \(jwks) (public)")
    }
}

/// `osteoct jwt`: a CDS-client-style JWT, for testing a trust set-up (and the demo).
struct JWTCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jwt",
        abstract: "Print a 5-minute JWT signed with a private JWK, as a CDS client sends it (iss, aud, iat, exp, jti; kid, typ JWT).")

    @Option(help: "Private JWK (from `osteoct keygen`).") var key: String
    @Option(help: "Issuer (the client's iss in the service's trust file).") var iss: String
    @Option(help: "Audience: the exact URL to be called, e.g. https://osteoct.example.org/cds-services/osteoct-hip-fracture-risk.") var aud: String

    func run() async throws {
        guard let d = FileManager.default.contents(atPath: key) else { throw CommandFailure("cannot read \(key)") }
        do { print(try await KeyMaterial.clientJWT(privateJWK: String(decoding: d, as: UTF8.self), iss: iss, aud: aud)) } catch {
            throw CommandFailure("\(error)")
        }
    }
}
