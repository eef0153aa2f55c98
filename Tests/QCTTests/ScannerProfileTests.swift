import Foundation
import Testing

@testable import QCT

// Scanner profiles: which studies a profile may calibrate, and that only sound profiles are kept.

private func fit(passed: Bool = true) -> DensityCalibration {
    DensityCalibration(method: .synchronousPhantom, equivalent: .k2hpo4, reference: "osteoct-digital", slope_HU_per_mgcm3: 1.3,
                       intercept_HU: 2, slopeSE: 0.01, interceptSE: 1, rSquared: 0.9999, rmsResidual_mgcm3: 0.5, maxAbsResidual_mgcm3: 0.7,
                       points: [], qc: CalibrationQC(passed: passed, problems: passed ? [] : ["rod 3 off the line"]), notes: [])
}

private let scanner = ScannerKey(manufacturer: "SIEMENS", model: "SOMATOM Force", stationName: "CT01", deviceSerialNumber: "73421",
                                 kvp: 120, kernel: "Br40d")

private func tempStore() -> ScannerProfileStore {
    ScannerProfileStore(directory: FileManager.default.temporaryDirectory.appendingPathComponent("profiles-\(UUID().uuidString)"))
}

@Suite("Scanner profiles")
struct ScannerProfileTests {
    @Test func keysMatchOnScannerKVpAndKernel() {
        var study = scanner
        study.manufacturer = "Siemens "
        study.kvp = 120.3
        #expect(scanner.matches(study).isEmpty)
        study.kvp = 100
        #expect(scanner.matches(study) == ["kVp 100.0 ≠ 120.0"])
        study.kvp = 120
        study.kernel = "Br64d"
        #expect(scanner.matches(study).count == 1)
        study.kernel = nil
        #expect(scanner.matches(study).first?.hasPrefix("kernel absent") == true)
        // Fields the profile lacks are not required of the study.
        var loose = scanner
        loose.deviceSerialNumber = nil
        var other = scanner
        other.deviceSerialNumber = "99999"
        #expect(loose.matches(other).isEmpty)
        #expect(!scanner.matches(other).isEmpty)
    }

    @Test func saveRefusesUnsoundProfiles() throws {
        let store = tempStore()
        defer { try? FileManager.default.removeItem(at: store.directory) }
        #expect(throws: QCTError.self) { try store.save(ScannerProfile(name: "bad", scanner: scanner, phantomScanDate: nil, created: "t", calibration: fit(passed: false))) }
        var noKernel = scanner
        noKernel.kernel = nil
        #expect(throws: QCTError.self) { try store.save(ScannerProfile(name: "nokernel", scanner: noKernel, phantomScanDate: nil, created: "t", calibration: fit())) }
        #expect(throws: QCTError.self) { try store.save(ScannerProfile(name: "../escape", scanner: scanner, phantomScanDate: nil, created: "t", calibration: fit())) }
        let p = ScannerProfile(name: "ct01-120-br40", scanner: scanner, phantomScanDate: "20261101", created: "2026-11-02T08:00:00Z", calibration: fit())
        _ = try store.save(p)
        #expect(throws: QCTError.self) { try store.save(p) }
        _ = try store.save(p, replace: true)
        #expect(store.all().profiles == [p])
    }

    @Test func theMostSpecificMatchingProfileWins() throws {
        let store = tempStore()
        defer { try? FileManager.default.removeItem(at: store.directory) }
        var general = scanner
        general.stationName = nil
        general.deviceSerialNumber = "73421"
        var c2 = fit()
        c2.slope_HU_per_mgcm3 = 1.25
        _ = try store.save(ScannerProfile(name: "model-wide", scanner: ScannerKey(manufacturer: "SIEMENS", model: "SOMATOM Force", stationName: nil, deviceSerialNumber: "73421", kvp: 120, kernel: "Br40d"),
                                          phantomScanDate: nil, created: "2026-01-01T00:00:00Z", calibration: c2))
        _ = try store.save(ScannerProfile(name: "ct01", scanner: scanner, phantomScanDate: nil, created: "2025-01-01T00:00:00Z", calibration: fit()))
        var at100 = scanner
        at100.kvp = 100
        _ = try store.save(ScannerProfile(name: "ct01-100", scanner: at100, phantomScanDate: nil, created: "2026-06-01T00:00:00Z", calibration: fit()))
        // A stray file is reported, not fatal.
        try Data("{}".utf8).write(to: store.directory.appendingPathComponent("junk.json"))
        let (best, rejected) = store.match(scanner)
        #expect(best?.name == "ct01")
        #expect(rejected.contains { $0.hasPrefix("ct01-100: kVp") })
        #expect(rejected.contains { $0.contains("junk.json") })
        let applied = ScannerProfileStore.apply(try #require(best))
        #expect(applied.method == .asynchronousProfile && applied.reference == "ct01")
        #expect(applied.density(hu: 1.3 * 100 + 2) == 100)
        var elsewhere = scanner
        elsewhere.kernel = "Qr40"
        #expect(store.match(elsewhere).profile == nil)
    }
}
