import Foundation
import Imaging
import Phantom
import Testing

@testable import QCT

// Reference tissues against the phantom's truth (air −1000 HU, subcutaneous fat per preset), and
// the phantomless calibration pre-calibrated on another phantom scan recovering the truth line
// (HU = 1.30·ρ) within the issue's ±5 %.

private func phantom(seed: UInt64, pad: Bool, bodySize: Double = 1) throws -> PhantomScan {
    var p = PhantomParameters(preset: .standard, size: .small)
    p.seed = seed
    p.calibrationPhantom = pad
    p.bodySizeScale = bodySize
    return try PhantomGenerator.generate(p)
}

@Suite("Reference tissues and phantomless calibration")
struct InternalCalibrationTests {
    @Test func referenceTissuesMatchTruth() throws {
        let scan = try phantom(seed: 11, pad: false)
        let t = ReferenceTissueFinder.measure(scan.hu, padding: nil)
        let air = try #require(t.air), fat = try #require(t.subcutaneousFat)
        #expect(abs(air.meanHU - (scan.truth.densityModel.softTissueHU["air"] ?? 0)) < 5, "\(air.meanHU)")
        #expect(abs(fat.meanHU - scan.truth.bodyComposition.subcutaneousFatHU) < 5, "\(fat.meanHU)")
        #expect(air.withinQCWindow && fat.withinQCWindow)
        #expect(air.voxels > 1000 && fat.voxels > 1000)
    }

    @Test func phantomlessCalibrationRecoversTheLine() throws {
        // Pre-calibration: a patient scanned on the pad.
        let withPad = try phantom(seed: 12, pad: true)
        let sync = try PhantomCalibration.calibrate(withPad.hu, padding: nil, phantom: CalibrationPhantomCatalogue.builtIn.phantom("osteoct-digital"))
        let eq = try #require(InternalCalibration.equivalents(ReferenceTissueFinder.measure(withPad.hu, padding: nil), under: sync))
        // Another, larger patient without a pad.
        let study = try phantom(seed: 13, pad: false, bodySize: 1.15)
        let c = InternalCalibration.calibrate(ReferenceTissueFinder.measure(study.hu, padding: nil), reference: eq, profile: "p", equivalent: .k2hpo4)
        #expect(c.method == .internalTissues && c.qc.passed, "\(c.qc.problems)")
        let truth = study.truth.densityModel
        #expect(abs(c.slope_HU_per_mgcm3! / truth.slope_HU_per_mgcm3 - 1) < 0.05)
        for rho in [80.0, 150, 300] {
            let back = c.density(hu: truth.slope_HU_per_mgcm3 * rho + truth.intercept_HU)!
            #expect(abs(back / rho - 1) < 0.05, "\(rho) → \(back)")
        }
    }

    @Test func tissueOutsideItsWindowFailsQC() {
        let air = TissueSample(tissue: "air", meanHU: -1000, sdHU: 10, voxels: 500, roi: "", qcWindowHU: [-1030, -980], withinQCWindow: true)
        let fat = TissueSample(tissue: "subcutaneous_fat", meanHU: -150, sdHU: 10, voxels: 500, roi: "", qcWindowHU: [-130, -70], withinQCWindow: false)
        let ref = [TissueEquivalent(tissue: "air", density_mgcm3: -770, meanHU: -1000), TissueEquivalent(tissue: "subcutaneous_fat", density_mgcm3: -80, meanHU: -104)]
        let c = InternalCalibration.calibrate(ReferenceTissues(air: air, subcutaneousFat: fat, notes: []), reference: ref, profile: "p", equivalent: .k2hpo4)
        #expect(!c.qc.passed && c.qc.problems.first?.contains("subcutaneous_fat") == true)
        // Only one tissue: no line, no calibration.
        let one = InternalCalibration.calibrate(ReferenceTissues(air: air, subcutaneousFat: nil, notes: []), reference: ref, profile: "p", equivalent: .k2hpo4)
        #expect(one.method == .none)
    }
}
