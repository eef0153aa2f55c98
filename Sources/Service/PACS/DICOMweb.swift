// DICOMweb as OsteoCT uses it (PS3.18): QIDO-RS to find a study's CT series, WADO-RS retrieval of
// each as multipart/related application/dicom in Explicit VR Little Endian, QIDO-RS to check what
// was stored, STOW-RS to store the results (and a QIDO-RS look afterwards: a 200 from STOW-RS alone
// has been seen to store nothing). Also Orthanc's REST `/changes`, which announces stable studies.
public import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOHTTP1

/// multipart/related bodies (RFC 2387): split and build.
public enum Multipart {
    /// The parts of a body with `boundary` (each part's headers dropped).
    public static func parts(_ body: [UInt8], boundary: String) -> [[UInt8]] {
        body.withUnsafeBufferPointer { b in ranges(b, boundary: boundary).map { Array(b[$0]) } }
    }

    /// Where each part's content lies in `body` (no copy: a large retrieval is split from a mapped file).
    public static func ranges(_ body: UnsafeBufferPointer<UInt8>, boundary: String) -> [Range<Int>] {
        let delimiter = Array(("--" + boundary).utf8)
        var out: [Range<Int>] = []
        var positions: [Int] = []
        var i = 0
        // Delimiters start a line (or the body).
        while let r = find(delimiter, in: body, from: i) {
            if r == 0 || (r >= 2 && body[r - 2] == 13 && body[r - 1] == 10) || (r >= 1 && body[r - 1] == 10) { positions.append(r) }
            i = r + delimiter.count
        }
        for (k, p) in positions.enumerated() where k + 1 < positions.count {
            var start = p + delimiter.count
            if body.count >= start + 2, body[start] == 45, body[start + 1] == 45 { break }   // closing delimiter
            // Skip to the end of the part's headers (an empty line).
            guard let headersEnd = find([13, 10, 13, 10], in: body, from: start).map({ $0 + 4 }) ?? find([10, 10], in: body, from: start).map({ $0 + 2 }) else { continue }
            start = headersEnd
            var end = positions[k + 1]
            if end >= 2 && body[end - 2] == 13 && body[end - 1] == 10 { end -= 2 } else if end >= 1 && body[end - 1] == 10 { end -= 1 }
            if end > start { out.append(start..<end) }
        }
        return out
    }

    /// A multipart/related body of `parts`, each with `contentType`.
    public static func build(_ parts: [[UInt8]], contentType: String, boundary: String) -> [UInt8] {
        var out: [UInt8] = []
        for p in parts {
            out += Array("--\(boundary)\r\nContent-Type: \(contentType)\r\n\r\n".utf8)
            out += p
            out += Array("\r\n".utf8)
        }
        out += Array("--\(boundary)--\r\n".utf8)
        return out
    }

    /// The `boundary` parameter of a Content-Type header.
    public static func boundary(contentType: String) -> String? {
        for param in contentType.split(separator: ";").dropFirst() {
            let kv = param.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if kv.count == 2, kv[0].lowercased() == "boundary" { return kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        }
        return nil
    }

    static func find(_ needle: [UInt8], in h: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        guard !needle.isEmpty, h.count >= needle.count, from <= h.count - needle.count, let base = h.baseAddress else { return nil }
        return needle.withUnsafeBufferPointer { n -> Int? in
            let first = n[0], last = h.count - n.count
            var i = from
            while i <= last {
                if h[i] == first && memcmp(base + i, n.baseAddress!, n.count) == 0 { return i }
                i += 1
            }
            return nil
        }
    }
}

public struct DICOMwebClient: Sendable {
    public let baseURL: String
    let http: HTTPClient

    public init(baseURL: String, http: HTTPClient) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.http = http
    }

    /// QIDO-RS: the study's CT series (Series Instance UIDs), the ones worth retrieving (not the
    /// SEG, SR and SC objects, OsteoCT's own included, nor other modalities).
    public func ctSeries(study studyUID: String) async throws(EHRError) -> [String] {
        guard OsteoCTService.isDICOMUID(studyUID) else { throw EHRError(message: "'\(studyUID)' is not a DICOM UID", retryable: false) }
        var request = HTTPClientRequest(url: "\(baseURL)/studies/\(studyUID)/series?Modality=CT&includefield=0020000E")
        request.headers.add(name: "Accept", value: "application/dicom+json")
        let (status, _, body) = try await send(request, limit: 16 << 20, what: "QIDO-RS series")
        if status == 204 || status == 404 { return [] }
        guard status == 200, case .array(let items)? = try? JSONDecoder().decode(AnyJSON.self, from: Data(body)) else {
            throw EHRError(message: "QIDO-RS series answered \(status)", retryable: status >= 500 || status == 429, status: status)
        }
        var out: [String] = []
        for case .object(let o) in items {
            // Some archives ignore the Modality filter: check it as well.
            if case .object(let m)? = o["00080060"], case .array(let v)? = m["Value"], case .string(let modality)? = v.first, modality != "CT" { continue }
            if case .object(let attr)? = o["0020000E"], case .array(let values)? = attr["Value"], case .string(let uid)? = values.first,
               OsteoCTService.isDICOMUID(uid) { out.append(uid) }
        }
        return out
    }

    /// The study's CT images: its CT series found by QIDO-RS, each retrieved by WADO-RS. Returns the count.
    public func retrieveCT(_ studyUID: String, into folder: String) async throws(EHRError) -> Int {
        let series = try await ctSeries(study: studyUID)
        guard !series.isEmpty else { throw EHRError(message: "QIDO-RS finds no CT series in the study", retryable: true) }
        var total = 0
        for (k, s) in series.enumerated() {
            total += try await retrieve(path: "studies/\(studyUID)/series/\(s)", into: folder, prefix: String(format: "s%02d-", k))
        }
        return total
    }

    /// WADO-RS: every instance of the study, written as `NNNNN.dcm` into `folder`. Returns the count.
    public func retrieveStudy(_ studyUID: String, into folder: String) async throws(EHRError) -> Int {
        guard OsteoCTService.isDICOMUID(studyUID) else { throw EHRError(message: "'\(studyUID)' is not a DICOM UID", retryable: false) }
        return try await retrieve(path: "studies/\(studyUID)", into: folder, prefix: "")
    }

    /// WADO-RS of a study or series (multipart/related, Explicit VR Little Endian). The response is
    /// streamed to a file and split from a memory map, so a large study does not sit in the
    /// service's memory.
    func retrieve(path: String, into folder: String, prefix: String) async throws(EHRError) -> Int {
        var request = HTTPClientRequest(url: "\(baseURL)/\(path)")
        request.headers.add(name: "Accept", value: #"multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1"#)
        let fm = FileManager.default
        let raw = folder + "." + prefix + "multipart"
        defer { try? fm.removeItem(atPath: raw) }
        let boundary: String
        do {
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let response = try await http.execute(request, timeout: .seconds(300))
            guard response.status == .ok else {
                let code = Int(response.status.code)
                throw EHRError(message: "WADO-RS retrieve answered \(code)", retryable: code == 429 || code >= 500, status: code)
            }
            guard let b = Multipart.boundary(contentType: response.headers.first(name: "Content-Type") ?? "") else {
                throw EHRError(message: "WADO-RS answered without a multipart boundary", retryable: false)
            }
            boundary = b
            guard fm.createFile(atPath: raw, contents: nil), let handle = FileHandle(forWritingAtPath: raw) else {
                throw EHRError(message: "cannot write \(raw)", retryable: true)
            }
            defer { try? handle.close() }
            for try await chunk in response.body { try handle.write(contentsOf: chunk.readableBytesView) }
        } catch let e as EHRError {
            throw e
        } catch {
            throw EHRError(message: "WADO-RS retrieve: \(error)", retryable: true)
        }
        do {
            let mapped = try Data(contentsOf: URL(fileURLWithPath: raw), options: .alwaysMapped)
            let written = try mapped.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Int in
                let body = raw.bindMemory(to: UInt8.self)
                let parts = Multipart.ranges(body, boundary: boundary)
                for (k, r) in parts.enumerated() {
                    try Data(UnsafeBufferPointer(rebasing: body[r])).write(to: URL(fileURLWithPath: folder).appendingPathComponent(prefix + String(format: "%05d.dcm", k)))
                }
                return parts.count
            }
            guard written > 0 else { throw EHRError(message: "WADO-RS returned no instances", retryable: true) }
            return written
        } catch let e as EHRError {
            throw e
        } catch {
            throw EHRError(message: "cannot write the retrieved study to \(folder): \(error)", retryable: true)
        }
    }

    /// QIDO-RS: the SOP Instance UIDs stored under the study (all series).
    public func instanceUIDs(study studyUID: String) async throws(EHRError) -> Set<String> {
        guard OsteoCTService.isDICOMUID(studyUID) else { throw EHRError(message: "'\(studyUID)' is not a DICOM UID", retryable: false) }
        var request = HTTPClientRequest(url: "\(baseURL)/studies/\(studyUID)/instances?includefield=00080018")
        request.headers.add(name: "Accept", value: "application/dicom+json")
        let (status, _, body) = try await send(request, limit: 64 << 20, what: "QIDO-RS")
        if status == 204 || status == 404 { return [] }
        guard status == 200, case .array(let items)? = try? JSONDecoder().decode(AnyJSON.self, from: Data(body)) else {
            throw EHRError(message: "QIDO-RS instances answered \(status)", retryable: status >= 500, status: status)
        }
        var out: Set<String> = []
        for case .object(let o) in items {
            if case .object(let attr)? = o["00080018"], case .array(let values)? = attr["Value"], case .string(let uid)? = values.first { out.insert(uid) }
        }
        return out
    }

    /// STOW-RS of DICOM files, then a QIDO-RS check that every SOP Instance UID is there.
    public func store(files: [[UInt8]], study studyUID: String, sopInstanceUIDs: [String]) async throws(EHRError) {
        let boundary = "osteoct-" + UUID().uuidString
        var request = HTTPClientRequest(url: "\(baseURL)/studies")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: #"multipart/related; type="application/dicom"; boundary=\#(boundary)"#)
        request.headers.add(name: "Accept", value: "application/dicom+json")
        request.body = .bytes(ByteBuffer(bytes: Multipart.build(files, contentType: "application/dicom", boundary: boundary)))
        let (status, _, _) = try await send(request, limit: 16 << 20, what: "STOW-RS")
        guard status == 200 || status == 202 else {
            throw EHRError(message: "STOW-RS answered \(status)", retryable: status == 429 || status >= 500, status: status)
        }
        let stored = try await instanceUIDs(study: studyUID)
        let missing = sopInstanceUIDs.filter { !stored.contains($0) }
        guard missing.isEmpty else {
            throw EHRError(message: "STOW-RS answered \(status) but QIDO-RS finds \(missing.count) of \(sopInstanceUIDs.count) result object(s) missing", retryable: true)
        }
    }

    func send(_ request: HTTPClientRequest, limit: Int, what: String) async throws(EHRError) -> (Int, HTTPHeaders, [UInt8]) {
        do {
            let response = try await http.execute(request, timeout: .seconds(300))
            return (Int(response.status.code), response.headers, Array(buffer: try await response.body.collect(upTo: limit)))
        } catch {
            throw EHRError(message: "\(what): \(error)", retryable: true)
        }
    }
}
