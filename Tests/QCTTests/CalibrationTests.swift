import Foundation
import Imaging
import Phantom
import Testing

@testable import QCT

// Calibration against independently known values: hand-computed regressions, the Mindways
// equations run backwards, and the digital phantom, whose truth gives HU = 1.30·ρ + 0 for its rods
// (truth.json densityModel) and the rods' certified concentrations.

private func smallPhantom(seed: UInt64 = 5, rods: [Double]? = nil, pad: Bool = true) throws -> PhantomScan {
    var p = PhantomParameters(preset: .standard, size: .small)
    p.seed = seed
    p.calibrationPhantom = pad
    if let rods { p.calibrationRodConcentrations_mgcm3 = rods }
    return try PhantomGenerator.generate(p)
}

@Suite("Calibration")
struct CalibrationTests {
    @Test func lineFitMatchesHandComputation() throws {
        // x = 0…3, y = 1, 3, 2, 5: slope 5.5/5 = 1.1, intercept 1.1, SSE 2.7, s² = 1.35,
        // SE(slope) = √(1.35/5), SE(intercept) = √(1.35·(1/4 + 1.5²/5)).
        let f = try #require(LineFit(x: [0, 1, 2, 3], y: [1, 3, 2, 5]))
        #expect(abs(f.slope - 1.1) < 1e-12 && abs(f.intercept - 1.1) < 1e-12)
        #expect(abs(f.slopeSE - (1.35 / 5).squareRoot()) < 1e-12)
        #expect(abs(f.interceptSE - (1.35 * 0.7).squareRoot()) < 1e-12)
        #expect(abs(f.rSquared - (1 - 2.7 / 8.75)) < 1e-12)
        #expect(LineFit(x: [2, 2], y: [1, 3]) == nil)
    }

    @Test func mindwaysEquationsRecoverTheScannerLine() throws {
        // Rod HU made from σ_CT = 1.25, β_CT = −3 through the QCT PRO relations run backwards:
        // HU = ρ_water + σ_ref·ρ + β_ref with σ_ref = σ_CT + 0.2174, β_ref = β_CT − 999.6.
        let def = try #require(CalibrationPhantomCatalogue.builtIn.phantom("mindways-model-3-ct"))
        let hu = def.rods.map { $0.waterDensity_mgcm3! + (1.25 + 0.2174) * $0.density_mgcm3 + (-3 - 999.6) }
        let n = hu.count
        let c = try #require(PhantomFit.fit(def, hu: hu, sd: Array(repeating: 10, count: n), voxels: Array(repeating: 100, count: n),
                                            centers: Array(repeating: nil, count: n), radius: nil, notes: []))
        #expect(abs(c.slope_HU_per_mgcm3! - 1.25) < 1e-9)
        #expect(abs(c.intercept_HU! + 3) < 1e-9)
        #expect(c.qc.passed)
        #expect(abs(c.density(hu: 1.25 * 150 - 3)! - 150) < 1e-9)
    }

    @Test func phantomRodsFoundAndFitted() throws {
        let scan = try smallPhantom()
        let truth = scan.truth.densityModel
        let c = try PhantomCalibration.calibrate(scan.hu, padding: nil,
                                                 phantom: CalibrationPhantomCatalogue.builtIn.phantom("osteoct-digital"))
        #expect(c.qc.passed, "\(c.qc.problems)")
        #expect(abs(c.slope_HU_per_mgcm3! / truth.slope_HU_per_mgcm3 - 1) < 0.01, "slope \(c.slope_HU_per_mgcm3!)")
        #expect(abs(c.intercept_HU! - truth.intercept_HU) < 2)
        // Densities of bone-like HU come back within ±2 mg/cm³ (the issue's synchronous target).
        for rho in [50.0, 150, 300, 800] {
            let back = c.density(hu: truth.slope_HU_per_mgcm3 * rho + truth.intercept_HU)!
            #expect(abs(back - rho) <= max(2, 0.02 * rho), "\(rho) → \(back)")
        }
        // Each rod where the truth put it.
        for (point, rod) in zip(c.points.sorted { $0.density_mgcm3 < $1.density_mgcm3 }, scan.truth.calibrationRods.sorted { $0.concentration_mgcm3 < $1.concentration_mgcm3 }) {
            let centre = try #require(point.center)
            #expect(abs(centre[0] - rod.center.x) <= 1.5 && abs(centre[1] - rod.center.y) <= 1.5, "\(centre) vs \(rod.center)")
        }
    }

    @Test func siteCertificateWithOtherRodsAndAnyOrder() throws {
        // Five rods the built-in catalogue does not know; the site lists them in another order than
        // they lie in the pad. Chosen automatically from the catalogue with the site's entry added.
        let rods = [25.0, 150, 300, 600, 1000]
        let scan = try smallPhantom(seed: 9, rods: rods)
        let site = CalibrationPhantomDefinition(
            id: "site-pad", name: "Site pad", equivalent: .k2hpo4, equations: .linear,
            rods: [600.0, 25, 1000, 150, 300].enumerated().map { CalibrationRodDefinition(name: "R\($0.offset)", density_mgcm3: $0.element) },
            rodRadius_mm: 9, source: "test certificate")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("site-catalogue-\(UUID().uuidString).json")
        try JSONEncoder().encode([site]).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        var catalogue = CalibrationPhantomCatalogue.builtIn
        try catalogue.add(contentsOf: file)
        let c = try PhantomCalibration.calibrate(scan.hu, padding: nil, phantom: nil, catalogue: catalogue)
        #expect(c.reference == "site-pad")
        #expect(c.qc.passed, "\(c.qc.problems)")
        #expect(abs(c.slope_HU_per_mgcm3! / scan.truth.densityModel.slope_HU_per_mgcm3 - 1) < 0.01)
        for p in c.points { #expect(abs(p.residual_mgcm3) < 5, "\(p.name) \(p.residual_mgcm3)") }
    }

    @Test func wrongCertificateFailsQC() throws {
        let scan = try smallPhantom()
        var def = try #require(CalibrationPhantomCatalogue.builtIn.phantom("osteoct-digital"))
        def.rods[2].density_mgcm3 = 140   // the image holds 100
        let c = try PhantomCalibration.calibrate(scan.hu, padding: nil, phantom: def)
        #expect(!c.qc.passed)
        #expect(c.qc.problems.contains { $0.contains("off the line") })
    }

    @Test func noPhantomIsAClearError() throws {
        let scan = try smallPhantom(pad: false)
        #expect(throws: QCTError.self) {
            try PhantomCalibration.calibrate(scan.hu, padding: nil, phantom: CalibrationPhantomCatalogue.builtIn.phantom("osteoct-digital"))
        }
        do {
            _ = try PhantomCalibration.calibrate(scan.hu, padding: nil, phantom: nil)
            Issue.record("a scan without a phantom was calibrated")
        } catch {
            #expect(error.description.contains("no calibration phantom"))
        }
    }

    @Test func catalogueEntriesAreChecked() throws {
        for def in CalibrationPhantomCatalogue.builtIn.phantoms { #expect(def.problems().isEmpty, "\(def.id)") }
        let bad = CalibrationPhantomDefinition(id: "bad", name: "x", equivalent: .k2hpo4, equations: .mindwaysWaterCorrected,
                                               rods: [.init(name: "A", density_mgcm3: 10)], rodRadius_mm: nil, source: "")
        #expect(bad.problems().count == 2)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bad-catalogue-\(UUID().uuidString).json")
        try Data("{\"not\": \"an array\"}".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        var c = CalibrationPhantomCatalogue.builtIn
        #expect(throws: QCTError.self) { try c.add(contentsOf: file) }
    }
}
