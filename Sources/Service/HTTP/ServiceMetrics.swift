// Prometheus metrics of the service (`GET /metrics`, text exposition 0.0.4). The registry is the
// service's own, not a process-wide bootstrap, so tests and several services in one process do not
// collide. No label carries patient data: routes are the templates (`/cds-services/{id}`), not paths.
import Hummingbird
import HTTPTypes
import Prometheus

public final class ServiceMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    // Buckets around the CDS Hooks latency budget (~500 ms) and the 50 ms p99 target.
    static let buckets: [Duration] = [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(20),
                                      .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5)]

    public init() {}

    func request(route: String, method: String, status: Int, seconds: Double) {
        registry.makeCounter(descriptor: .init(namespace: "osteoct", metricName: "http_requests", unitName: "total",
                                               helpText: "HTTP requests by route template, method and status"),
                             labels: [("route", route), ("method", method), ("status", String(status))]).increment()
        registry.makeDurationHistogram(descriptor: .init(namespace: "osteoct", metricName: "http_request_duration", unitName: "seconds",
                                                         helpText: "Time to answer an HTTP request, by route template"),
                                       labels: [("route", route)], buckets: Self.buckets)
            .record(.nanoseconds(Int64(seconds * 1e9)))
    }

    func refused(endpoint: String) {
        registry.makeCounter(descriptor: .init(namespace: "osteoct", metricName: "auth_refused", unitName: "total",
                                               helpText: "Calls refused for missing or invalid credentials"),
                             labels: [("endpoint", endpoint)]).increment()
    }

    func cards(service: String, count: Int) {
        registry.makeCounter(descriptor: .init(namespace: "osteoct", metricName: "cds_cards", unitName: "total", helpText: "CDS Hooks cards returned"),
                             labels: [("service", service)]).increment(by: Int64(count))
    }

    /// Event sources the metrics know; anything else (it comes from request content) counts as `other`.
    static let sources: Set<String> = ["orthanc", "stow", "poll", "subscription", "subscription-handshake", "subscription-heartbeat", "subscription-ImagingStudy",
                                       "subscription-Observation", "subscription-Condition", "subscription-MedicationStatement",
                                       "subscription-MedicationRequest", "subscription-FamilyMemberHistory", "test"]

    func event(source: String, new: Bool) {
        let source = Self.sources.contains(source) ? source : "other"
        registry.makeCounter(descriptor: .init(namespace: "osteoct", metricName: "events", unitName: "total",
                                               helpText: "Events received, new or recognised as duplicates"),
                             labels: [("source", source), ("outcome", new ? "new" : "duplicate")]).increment()
    }

    func missedEvents(_ n: Int) {
        registry.makeCounter(descriptor: .init(namespace: "osteoct", metricName: "subscription_events_missed", unitName: "total",
                                               helpText: "Subscription events the EHR counted but OsteoCT never received")).increment(by: Int64(n))
    }

    func jobs(_ counts: [Job.State: Int]) {
        for state in [Job.State.queued, .running, .done, .failed, .dead] {
            registry.makeGauge(descriptor: .init(namespace: "osteoct", metricName: "jobs", unitName: "", helpText: "Jobs in the queue by state"),
                               labels: [("state", state.rawValue)]).set(to: Double(counts[state] ?? 0))
        }
    }

    func text() -> [UInt8] {
        var out: [UInt8] = []
        registry.emit(into: &out)
        return out
    }
}

/// Counts every request and its time by route template and status (errors included).
struct MetricsRecorder<Context: RequestContext>: RouterMiddleware {
    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        func seconds() -> Double {
            let d = ContinuousClock.now - start
            return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
        do {
            let response = try await next(request, context)
            metrics.request(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: response.status.code, seconds: seconds())
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.request(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: status, seconds: seconds())
            throw error
        }
    }
}
