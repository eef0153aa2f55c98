import Foundation
import Imaging
import Phantom
import Testing

@testable import QCT

// Vertebral bodies, levels and the L1 ROI on a crop of the phantom's spine (0.8 mm pixels, 1.25 mm
// slices, noise 20 HU, the phantom's blur), against its labels and truth.

private func spine(zLow: Double, zHigh: Double, contrast: Phantom.ContrastPhase = .none) throws -> PhantomScan {
    var p = PhantomParameters(preset: .standard, size: .small)
    p.contrastPhase = contrast
    p.seed = 23
    p.pixelSpacing_mm = 0.8
    p.columns = 125
    p.rows = 200
    p.sliceThickness_mm = 1.25
    p.sliceSpacing_mm = 1.25
    p.noiseSigma_HU = 20
    p.slices = Int((zHigh - zLow) / 1.25)
    // x −50…50, y −50…110 (the bodies lie at y 12…54), z as asked.
    p.reconstructionCenter = Vec3(0, 30, (zLow + zHigh) / 2)
    return try PhantomGenerator.generate(p)
}

/// The levels and the combined label map holding the bodies.
private func segment(_ scan: PhantomScan, contrast: Bool = false) throws -> (levels: SpineLevels, labels: [UInt8]) {
    var body = try BodySegmenter.segment(scan.hu, padding: Int16(scan.truth.grid.paddingValue_HU))
    let levels = SpineSegmenter.segment(scan.hu, body: &body, opacifiedVessels: contrast)
    return (levels, body.mask.voxels)
}

@Suite("Spine")
struct SpineTests {
    @Test func bodiesAreFoundAndCountedFromTheSacrum() throws {
        let scan = try spine(zLow: 40, zHigh: 285)
        let seg = try segment(scan)
        let levels = seg.levels
        #expect(levels.sacrumFound)
        #expect(levels.confidence == "high", "\(levels.confidence) \(levels.flags)")
        for v in scan.truth.vertebrae where v.inFieldOfView {
            let level = v.level.rawValue
            let found = levels.bodies.first { $0.level == level }
            #expect(found != nil, "\(level) not found")
            guard let b = found else { continue }
            let c = Vec3(b.center[0], b.center[1], b.center[2])
            #expect((c - v.center).length < 3, "\(level) centre \(c) vs \(v.center)")
            #expect(abs(b.height_mm - v.height_mm) < 4, "\(level) height \(b.height_mm)")
            // Dice against the phantom's body labels (cortical shell + trabecular centrum).
            let ids = Set(scan.truth.labels.filter { $0.name == "vertebra_\(level)_body_cortical" || $0.name == "vertebra_\(level)_body_trabecular" }.map(\.id))
            var both = 0, a = 0, t = 0
            for q in 0..<seg.labels.count {
                let m = seg.labels[q] == UInt8(b.labelValue), tr = ids.contains(scan.labels.voxels[q])
                if m { a += 1 }; if tr { t += 1 }; if m && tr { both += 1 }
            }
            let dice = 2 * Double(both) / Double(a + t)
            #expect(dice >= 0.90, "\(level) Dice \(dice)")
        }
    }

    @Test func l1RoiReadsTheTrabecularValueAndTheACRCategory() throws {
        let scan = try spine(zLow: 40, zHigh: 285)
        let seg = try segment(scan)
        var cal = DensityCalibration.none(reason: "")
        cal.method = .synchronousPhantom
        cal.equivalent = .k2hpo4
        cal.slope_HU_per_mgcm3 = scan.truth.densityModel.slope_HU_per_mgcm3
        cal.intercept_HU = scan.truth.densityModel.intercept_HU
        let measured = SpineDensitometer.measure(scan.hu, labels: seg.labels, levels: seg.levels, calibration: cal)
        #expect(measured != nil, "\(seg.levels.confidence) \(seg.levels.flags)")
        guard let d = measured else { return }
        let l1 = try #require(scan.truth.vertebrae.first { $0.level.rawValue == "L1" })
        let hu = try #require(d.l1)
        #expect(abs(hu.meanHU - l1.trabecularHU) <= 3, "L1 HU \(hu.meanHU)")
        // 130 HU lies between 100 and 160.
        #expect(hu.category == "indeterminate")
        let v = try #require(d.l1l2vBMD_mgcm3)
        #expect(abs(v - 100) <= 2, "L1–L2 vBMD \(v)")
        #expect(d.acrCategory == "low-bone-density")
        // The ROI stays clear of the basivertebral foramen (blood, 40 HU) and the cortex: no voxel under it reads like either.
        let summary = d.levels.map { "\($0.level) \($0.meanHU) HU, SD \($0.sdHU), \($0.roiArea_mm2) mm²" }
        #expect(d.levels.allSatisfy { $0.roiArea_mm2 > 150 && abs($0.meanHU - 130) <= 3 }, "\(summary)")
    }

    @Test func withoutTheSacrumNoLevelIsGuessed() throws {
        let scan = try spine(zLow: 130, zHigh: 300)
        let seg = try segment(scan)
        let levels = seg.levels
        #expect(!levels.sacrumFound)
        #expect(levels.confidence == "none")
        #expect(levels.flags.contains("sacrum-out-of-fov"))
        #expect(levels.bodies.count >= 3 && levels.bodies.allSatisfy { $0.level == nil })
        let measured = SpineDensitometer.measure(scan.hu, labels: seg.labels, levels: levels, calibration: .none(reason: ""))
        #expect(measured == nil)
    }

    /// Portal-venous contrast: the opacified cava and aorta (170 HU) touch the bodies. With the
    /// vessel-aware body extraction the mid-lumbar bodies stay in place and their ROI reads the
    /// enhanced trabecular value (truth: 130 + 20 HU enhancement).
    @Test func contrastEnhancedVesselsDoNotJoinTheMidLumbarBodies() throws {
        let scan = try spine(zLow: 40, zHigh: 285, contrast: .portalVenous)
        let seg = try segment(scan, contrast: true)
        var cal = DensityCalibration.none(reason: "")
        cal.method = .synchronousPhantom
        cal.slope_HU_per_mgcm3 = 1.3
        cal.intercept_HU = 0
        let measured = SpineDensitometer.measure(scan.hu, labels: seg.labels, levels: seg.levels, calibration: cal)
        for level in ["L2", "L3", "L4"] {
            let v = try #require(scan.truth.vertebrae.first { $0.level.rawValue == level })
            let b = seg.levels.bodies.first { $0.level == level }
            let c = b.map { Vec3($0.center[0], $0.center[1], $0.center[2]) }
            #expect(c.map { ($0 - v.center).length < 3 } == true, "\(level) centre \(String(describing: c))")
            let hu = measured?.levels.first { $0.level == level }?.meanHU
            #expect(hu.map { abs($0 - v.trabecularHU) <= 3 } == true, "\(level) ROI \(String(describing: hu)) vs \(v.trabecularHU)")
        }
    }
}
