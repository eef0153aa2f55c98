// `osteoct serve`: the HTTP face of the service (Hummingbird 2).
//   GET  /health, /ready, /metrics                  liveness, readiness (store reachable), Prometheus
//   GET  /cds-services                              CDS Hooks discovery
//   POST /cds-services/{id}                         patient-view, order-select, order-sign → cards
//   POST /cds-services/{id}/feedback                accepted / overridden outcomes, stored
//   POST /subscriptions/notify                      FHIR Subscription notifications (R4 backport)
//   POST /dicomweb/studies                          studies pushed by STOW-RS
//   GET  /reports/{id}?exp=&sig=                    the explanation page (signed link from a card)
//   GET  /fhir/metadata, /fhir/{type}[/{id}]        CapabilityStatement, read and search of OsteoCT's results
// Secure by default: with no trusted client configured, every call that would disclose patient
// data is refused; `security.development` opens everything for a local demo and says so in the log.
// Logs carry route templates, statuses and client issuers — never a patient id or a query string.
import AsyncHTTPClient
public import Foundation
public import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HTTPTypes
public import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import ServiceLifecycle
import UnixSignals
import Screening

public final class OsteoCTService: Sendable {
    public let configuration: ServiceConfiguration
    public let store: Store
    public let metrics: ServiceMetrics
    let trust: CDSTrust
    let links: ReportLinks
    let logger: Logger
    let http: HTTPClient
    let started = Date()
    /// The EHR, when configured (`ehr.baseUrl`).
    let ehr: EHRClient?
    /// The PACS's DICOMweb, when configured (`pacs.dicomwebUrl`).
    let dicomweb: DICOMwebClient?

    public init(configuration: ServiceConfiguration, store: Store, logger: Logger) throws(ServiceError) {
        self.configuration = configuration
        self.store = store
        self.logger = logger
        metrics = ServiceMetrics()
        links = ReportLinks(secret: configuration.reportLinkSecret, lifetimeHours: configuration.reportLinkHours)
        var c = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(10)))
        c.httpVersion = .http1Only
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: c)
        http = client
        do {
            trust = try CDSTrust(clients: configuration.trustedClients, fetcher: JWKSClient(http: client))
            ehr = try configuration.ehr.map { s throws(ServiceError) in try EHRClient(settings: s, http: client) }
            dicomweb = configuration.dicomwebURL.map { DICOMwebClient(baseURL: $0, http: client) }
        } catch {
            try? client.syncShutdown()
            throw error
        }
        if configuration.development {
            logger.warning("DEVELOPMENT MODE: no caller is authenticated and every endpoint discloses patient data to anyone who can reach it. Never run this way with real patients.")
        } else if configuration.trustedClients.isEmpty {
            logger.notice("No CDS client is trusted (security.trustFile): calls that would disclose patient data are refused until one is.")
        }
        if configuration.reportLinkSecret == nil {
            logger.notice("No security.reportLinkSecret: report links are signed with a key made at start and stop working when the service restarts.")
        }
    }

    /// Closes the outgoing HTTP client; call once the server has stopped.
    public func shutdown() async {
        try? await http.shutdown()
    }

    /// The routes, with metrics, CORS and the access log.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: AccessLog(logger: logger))
        router.add(middleware: MetricsRecorder(metrics: metrics))
        if !configuration.corsOrigins.isEmpty {
            let origins = configuration.corsOrigins
            // The allow-list first: a preflight from another origin gets no CORS headers at all.
            router.add(middleware: OriginAllowList(origins: origins))
            router.add(middleware: CORSMiddleware(allowOrigin: origins == ["*"] ? .all : .originBased,
                                                  allowHeaders: [.accept, .authorization, .contentType, .origin],
                                                  allowMethods: [.get, .post, .options]))
        }
        router.get("/health") { _, _ in try Self.json(["status": "pass"]) }
        router.get("/ready") { _, _ in try await self.ready() }
        router.get("/metrics") { _, _ in
            if let counts = try? await self.store.jobCounts() { self.metrics.jobs(counts) }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: self.metrics.text())))
        }
        router.get("/cds-services") { _, _ in try Self.json(CardBuilder.discovery()) }
        router.post("/cds-services/{id}") { request, context in try await self.hook(request, context) }
        router.post("/cds-services/{id}/feedback") { request, context in try await self.feedback(request, context) }
        router.post("/subscriptions/notify") { request, context in try await self.notification(request, context) }
        router.post("/dicomweb/studies") { request, context in try await self.stow(request, context) }
        router.get("/reports/{id}") { request, context in try await self.report(request, context) }
        router.get("/fhir/metadata") { request, _ in try self.metadata(request) }
        router.get("/fhir/{type}") { request, context in try await self.search(request, context) }
        router.get("/fhir/{type}/{id}") { request, context in try await self.read(request, context) }
        return router
    }

    /// The server: plain HTTP, or TLS when a certificate and key are configured.
    public func application(onServerRunning: @escaping @Sendable (Int?) async -> Void = { _ in }) throws(ServiceError) -> some ApplicationProtocol {
        let server: HTTPServerBuilder
        if let cert = configuration.tlsCertificate, let key = configuration.tlsKey {
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(cert).map { NIOSSLCertificateSource.certificate($0) }
                let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
                server = try .tls(.http1(), tlsConfiguration: tls)
            } catch {
                throw .configuration("server.tls: cannot load \(cert) and \(key) as a PEM certificate chain and private key: \(error)")
            }
        } else {
            server = .http1()
        }
        return Application(router: router(), server: server,
                           configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "OsteoCT"),
                           onServerRunning: { channel in await onServerRunning(channel.localAddress?.port) }, logger: logger)
    }

    // MARK: health

    func ready() async throws -> Response {
        do {
            _ = try await store.jobCounts()
            return try Self.json(["status": "ready"])
        } catch {
            return try Self.json(["status": "not ready", "reason": "the store cannot be read"], status: .serviceUnavailable)
        }
    }

    // MARK: authentication

    /// The caller of an endpoint that discloses patient data: a verified CDS client, or
    /// `development` in development mode. Refusals are 401 (bad or no token) or 403 (nobody trusted).
    func authorize(_ request: Request, audience: String, endpoint: String) async throws -> String {
        if configuration.development { return "development" }
        guard !configuration.trustedClients.isEmpty else {
            metrics.refused(endpoint: endpoint)
            throw OutcomeError(.forbidden, code: "security",
                               "no client is trusted yet: list CDS clients and their keys in security.trustFile (or run with security.development for a local demo)")
        }
        do {
            return try await trust.verify(authorization: request.headers[.authorization], audience: audience).iss
        } catch {
            metrics.refused(endpoint: endpoint)
            await audit(endpoint, agent: "unverified", request: request, patientID: nil, entity: nil, outcome: "4", detail: "\(error)")
            if case .refused(let status, let why) = error {
                logger.info("refused", metadata: ["endpoint": "\(endpoint)", "reason": "\(why)"])
                throw OutcomeError(HTTPResponse.Status(code: status), code: "login", why, headers: [.wwwAuthenticate: "Bearer"])
            }
            throw OutcomeError(.unauthorized, code: "login", "\(error)", headers: [.wwwAuthenticate: "Bearer"])
        }
    }

    func audit(_ subtype: String, agent: String, request: Request, patientID: String?, entity: String?, outcome: String = "0", detail: String? = nil) async {
        // No source address: a client-set header (X-Forwarded-For) would let a caller write any.
        let record = AuditRecord(recorded: ScreeningImport.instant(Date()), action: "R", subtype: subtype, outcome: outcome, agent: agent,
                                 sourceAddress: nil, patientID: patientID, entity: entity, detail: detail)
        do { try await store.audit(record) } catch {
            // A disclosure that cannot be audited is still answered (the clinician needs it); the
            // failure is logged and counted so operations see it.
            logger.error("audit record not stored", metadata: ["subtype": "\(subtype)", "error": "\(error)"])
        }
    }

    // MARK: bodies

    func body(_ request: Request) async throws -> ByteBuffer {
        do { return try await request.body.collect(upTo: configuration.maxBodyBytes) } catch is NIOTooManyBytesError {
            throw OutcomeError(.contentTooLarge, code: "too-long", "the request body is larger than \(configuration.maxBodyBytes) bytes (server.maxBodyBytes)")
        }
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return e
    }()

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok, contentType: String = "application/json") throws -> Response {
        Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}

/// An error answered with a FHIR OperationOutcome body (CDS Hooks 3.0 recommends it for non-2xx;
/// FHIR requires it).
struct OutcomeError: HTTPResponseError {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    let headers: HTTPFields

    init(_ status: HTTPResponse.Status, code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status; self.code = code; self.message = message; self.headers = headers
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let body: AnyJSON = .object([
            "resourceType": .string("OperationOutcome"),
            "issue": .array([.object(["severity": .string("error"), "code": .string(code), "diagnostics": .string(message)])]),
        ])
        var h = headers
        h[.contentType] = "application/fhir+json"
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: try OsteoCTService.encoder.encode(body))))
    }
}

/// One log line per request: method, route template, status, time — no path, no query, no body.
struct AccessLog<Context: RequestContext>: RouterMiddleware {
    let logger: Logger
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let r = try await next(request, context)
            log(request, context, r.status.code, start)
            return r
        } catch {
            log(request, context, (error as? any HTTPResponseError)?.status.code ?? 500, start)
            throw error
        }
    }

    func log(_ request: Request, _ context: Context, _ status: Int, _ start: ContinuousClock.Instant) {
        let ms = (ContinuousClock.now - start).components
        logger.info("request", metadata: [
            "method": "\(request.method.rawValue)", "route": "\(context.endpointPath ?? "unmatched")", "status": "\(status)",
            "ms": "\(String(format: "%.1f", Double(ms.seconds) * 1000 + Double(ms.attoseconds) * 1e-15))",
        ])
    }
}

/// CORS for browser CDS clients: only the configured origins get the CORS headers; requests from
/// other origins are refused before they reach a handler.
struct OriginAllowList<Context: RequestContext>: RouterMiddleware {
    let origins: [String]
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let origin = request.headers[.origin], !origins.contains("*"), !origins.contains(origin) {
            throw OutcomeError(.forbidden, code: "security", "origin \(origin) is not allowed (server.corsOrigins)")
        }
        return try await next(request, context)
    }
}

/// Fetches a client's JWKS from its allow-listed `jku` (no redirects, 64 KiB at most).
struct JWKSClient: JWKSFetching {
    let http: HTTPClient
    func fetch(_ url: String) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        let response = try await http.execute(request, timeout: .seconds(10))
        guard response.status == .ok else { throw ServiceError.refused(status: 401, "GET \(url) answered \(response.status.code)") }
        return Array(buffer: try await response.body.collect(upTo: 65_536))
    }
}

extension OsteoCTService {
    /// Creates the Subscription unless one was created and accepted before (its id is kept in the
    /// store only when the EHR set it requested or active); a failure is tried at the next start.
    func subscribeOnce(topic: String) async {
        guard (try? await store.cursor("subscription")) == nil else { return }
        do {
            let created = try await subscribe(topic: topic, content: configuration.subscriptionContent)
            guard ["requested", "active"].contains(created.status) else {
                logger.warning("the EHR set the Subscription to \(created.status) (handshake failed?); tried again at the next start")
                return
            }
            try await store.setCursor("subscription", created.id)
            logger.notice("Subscription/\(created.id) created on the EHR (\(created.status))")
        } catch {
            logger.warning("the Subscription could not be created; it is tried again at the next start")
        }
    }

    /// `osteoct serve`: the HTTP server, the workers and (when configured) the Orthanc follower,
    /// until SIGTERM or SIGINT; then, in reverse order, the follower stops, the workers terminate a
    /// running analysis (its job goes back to the queue for the next start), and the server finishes
    /// the calls in flight.
    public static func serve(configuration: ServiceConfiguration, logger: Logger,
                             onListening: @escaping @Sendable (String) async -> Void = { _ in }) async throws {
        let store = try Store(path: configuration.storePath)
        let service = try OsteoCTService(configuration: configuration, store: store, logger: logger)
        if let ehr = service.ehr {
            for problem in await ehr.checkCapabilities() { logger.warning("EHR: \(problem)") }
        }
        let scheme = configuration.tlsCertificate == nil ? "http" : "https"
        let app = try service.application { port in
            await onListening("\(scheme)://\(configuration.host):\(port ?? configuration.port)")
            // The Subscription, once, now that the handshake can reach the service.
            if let topic = configuration.subscriptionTopic { Task { await service.subscribeOnce(topic: topic) } }
        }
        var services: [any ServiceLifecycle.Service] = [app, JobRunner(service: service), STOWStableStudies(service: service)]
        if let orthanc = configuration.orthancURL { services.append(OrthancChanges(service: service, baseURL: orthanc)) }
        if configuration.ehr != nil && configuration.ehrPollSeconds > 0 { services.append(EHRPoller(service: service)) }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do { try await group.run() } catch {
            await service.shutdown()
            throw error
        }
        await service.shutdown()
    }
}
