// Asynchronous calibration: a phantom scanned on its own (same scanner and protocol) becomes a
// scanner profile; studies from that scanner and protocol without a phantom use it. Profiles are
// keyed by what changes the HU → density relation: the scanner (manufacturer, model, station,
// serial), the tube voltage and the reconstruction kernel (ct-core.md §2.1: asynchronous
// calibration holds for the same scanner and protocol).
public import Foundation

/// The scanner and protocol a calibration holds for. Text fields compare case- and
/// space-insensitively; kVp to 0.5 kV.
public struct ScannerKey: Codable, Sendable, Equatable {
    public var manufacturer: String?
    public var model: String?
    public var stationName: String?
    public var deviceSerialNumber: String?
    public var kvp: Double?
    public var kernel: String?

    public init(manufacturer: String?, model: String?, stationName: String?, deviceSerialNumber: String?, kvp: Double?, kernel: String?) {
        self.manufacturer = manufacturer
        self.model = model
        self.stationName = stationName
        self.deviceSerialNumber = deviceSerialNumber
        self.kvp = kvp
        self.kernel = kernel
    }

    /// What a profile needs at least: a scanner identity, the kVp and the kernel.
    public var missingForProfile: [String] {
        var out: [String] = []
        if manufacturer == nil && model == nil { out.append("Manufacturer / Manufacturer's Model Name (0008,0070)/(0008,1090)") }
        if stationName == nil && deviceSerialNumber == nil { out.append("Station Name (0008,1010) or Device Serial Number (0018,1000)") }
        if kvp == nil { out.append("KVP (0018,0060)") }
        if kernel == nil { out.append("Convolution Kernel (0018,1210)") }
        return out
    }

    static func norm(_ s: String?) -> String? {
        guard let s else { return nil }
        let t = s.uppercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return t.isEmpty ? nil : t
    }

    /// Whether a study from `study` may use a profile made with this key: every field the profile
    /// has must be present and equal in the study.
    public func matches(_ study: ScannerKey) -> [String] {
        var differ: [String] = []
        func text(_ name: String, _ a: String?, _ b: String?) {
            guard let a = Self.norm(a) else { return }
            if Self.norm(b) != a { differ.append("\(name) \(b ?? "absent") ≠ \(a)") }
        }
        text("manufacturer", manufacturer, study.manufacturer)
        text("model", model, study.model)
        text("station", stationName, study.stationName)
        text("serial", deviceSerialNumber, study.deviceSerialNumber)
        text("kernel", kernel, study.kernel)
        if let k = kvp, !(study.kvp.map { abs($0 - k) <= 0.5 } ?? false) {
            differ.append("kVp \(study.kvp.map { String($0) } ?? "absent") ≠ \(k)")
        }
        return differ
    }

    public var summary: String {
        [manufacturer, model, stationName, deviceSerialNumber.map { "serial " + $0 }, kvp.map { "\($0) kVp" }, kernel.map { "kernel " + $0 }]
            .compactMap { $0 }.joined(separator: ", ")
    }
}

public struct ScannerProfile: Codable, Sendable, Equatable {
    public var schema = "osteoct.scanner-profile/1"
    public var name: String
    public var scanner: ScannerKey
    /// When the phantom was scanned (Study Date of the phantom scan, YYYYMMDD) and the profile written.
    public var phantomScanDate: String?
    public var created: String
    /// The phantom fit the profile carries (method synchronous-phantom on the phantom scan).
    public var calibration: DensityCalibration
    /// Mineral-equivalent densities of the reference tissues under that fit, when the phantom was
    /// scanned with a patient: the pre-calibration of phantomless studies (ct-core.md §2.2).
    public var tissueEquivalents: [TissueEquivalent]?

    public init(name: String, scanner: ScannerKey, phantomScanDate: String?, created: String, calibration: DensityCalibration,
                tissueEquivalents: [TissueEquivalent]? = nil) {
        self.name = name
        self.scanner = scanner
        self.phantomScanDate = phantomScanDate
        self.created = created
        self.calibration = calibration
        self.tissueEquivalents = tissueEquivalents
    }
}

public struct ScannerProfileStore: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    /// `OSTEOCT_SCANNER_PROFILES`, else ~/.osteoct/scanner-profiles.
    public static func defaultDirectory() -> URL {
        if let d = ProcessInfo.processInfo.environment["OSTEOCT_SCANNER_PROFILES"], !d.isEmpty { return URL(fileURLWithPath: d) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".osteoct/scanner-profiles")
    }

    static func validName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.allSatisfy { $0.isLetter || $0.isNumber || "-_.".contains($0) } && !name.hasPrefix(".")
    }

    /// Writes a profile (atomically: a half-written profile never exists). Refuses a calibration that failed QC.
    public func save(_ profile: ScannerProfile, replace: Bool = false) throws(QCTError) -> URL {
        guard Self.validName(profile.name) else {
            throw .input("profile name '\(profile.name)' must be 1–64 letters, digits, '-', '_' or '.'")
        }
        guard profile.calibration.qc.passed else {
            throw .input("the phantom calibration failed QC (\(profile.calibration.qc.problems.joined(separator: "; "))); no profile saved")
        }
        let missing = profile.scanner.missingForProfile
        guard missing.isEmpty else {
            throw .input("the phantom scan lacks " + missing.joined(separator: ", ") + ": a profile could not be matched to studies safely")
        }
        let url = directory.appendingPathComponent(profile.name + ".json")
        if !replace && FileManager.default.fileExists(atPath: url.path) {
            throw .input("a profile '\(profile.name)' exists already (\(url.path)); choose another name or replace it")
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try e.encode(profile).write(to: url, options: .atomic)
        } catch {
            throw .input("cannot write the profile to \(url.path): \(error.localizedDescription)")
        }
        return url
    }

    /// Every readable profile; unreadable files are reported, not fatal.
    public func all() -> (profiles: [ScannerProfile], problems: [String]) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return ([], []) }
        var out: [ScannerProfile] = [], problems: [String] = []
        for n in names.sorted() where n.hasSuffix(".json") {
            let url = directory.appendingPathComponent(n)
            do {
                out.append(try JSONDecoder().decode(ScannerProfile.self, from: Data(contentsOf: url)))
            } catch {
                problems.append("\(url.path) is not a scanner profile: \(error)")
            }
        }
        return (out, problems)
    }

    /// The profile for a study: all of the profile's key fields equal; the most specific, then the
    /// newest wins. With the reasons others did not match.
    public func match(_ study: ScannerKey) -> (profile: ScannerProfile?, rejected: [String]) {
        let (profiles, problems) = all()
        var rejected = problems
        var ok: [ScannerProfile] = []
        for p in profiles {
            let d = p.scanner.matches(study)
            if d.isEmpty { ok.append(p) } else { rejected.append("\(p.name): " + d.joined(separator: ", ")) }
        }
        func specificity(_ k: ScannerKey) -> Int {
            [k.manufacturer, k.model, k.stationName, k.deviceSerialNumber, k.kernel].compactMap { $0 }.count + (k.kvp == nil ? 0 : 1)
        }
        let best = ok.max { (specificity($0.scanner), $0.created, $0.name) < (specificity($1.scanner), $1.created, $1.name) }
        return (best, rejected)
    }

    /// A profile whose tissue equivalents may pre-calibrate a phantomless study: same manufacturer,
    /// model and kVp (the tissues' mineral equivalents depend on the beam's effective energy);
    /// station, serial and kernel may differ. Newest first.
    public func tissueReference(for study: ScannerKey) -> ScannerProfile? {
        let k = ScannerKey(manufacturer: study.manufacturer, model: study.model, stationName: nil, deviceSerialNumber: nil, kvp: study.kvp, kernel: nil)
        return all().profiles.filter { p in
            guard let t = p.tissueEquivalents, t.count >= 2 else { return false }
            let pk = ScannerKey(manufacturer: p.scanner.manufacturer, model: p.scanner.model, stationName: nil, deviceSerialNumber: nil, kvp: p.scanner.kvp, kernel: nil)
            return pk.matches(k).isEmpty
        }.max { ($0.created, $0.name) < ($1.created, $1.name) }
    }

    /// The study calibrated by a profile: the profile's line, method asynchronous.
    public static func apply(_ p: ScannerProfile) -> DensityCalibration {
        var c = p.calibration
        c.method = .asynchronousProfile
        c.reference = p.name
        c.notes = ["scanner profile '\(p.name)' (\(p.scanner.summary)) from a phantom scan" + (p.phantomScanDate.map { " of \($0)" } ?? "") +
                   ", phantom \(p.calibration.reference ?? "?"); asynchronous calibration is only as good as the scanner's stability since then"]
        return c
    }
}
