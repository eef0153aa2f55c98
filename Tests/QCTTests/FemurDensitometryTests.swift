import Foundation
import Imaging
import Phantom
import Testing

@testable import QCT

// Regional densitometry of one femur on a crop of the phantom's left hip (0.8 × 0.8 × 1.25 mm, the
// phantom's noise and blur), with the phantom's own femur label and landmarks as input so that only
// the ROI placement and the statistics are under test (segmentation is tested separately). The truth
// of every ROI is the phantom's density map over the same voxels.

private func leftHip(boneScale: Double = 1) throws -> PhantomScan {
    try leftHipCrop(seed: 17, boneScale: boneScale, densityMap: true)
}

private func inputs(_ scan: PhantomScan) throws -> (labels: Volume<UInt8>, femur: FemurMask, box: VoxelBox) {
    let f = try #require(scan.truth.femora.first { $0.side == .left })
    let ids = Set(scan.truth.labels.filter { $0.name.hasPrefix("femur_left") }.map(\.id))
    // The mask as the segmentation draws it: the bone plus the blurred edge above 175 HU next to it (the
    // label alone stops at the true surface, inside the 175 HU boundary).
    var mask = scan.labels
    for q in 0..<mask.voxels.count { mask.voxels[q] = ids.contains(mask.voxels[q]) ? FemurSegmenter.leftLabel : 0 }
    let nx = mask.size.x, plane = nx * mask.size.y
    let bone = mask.voxels
    for q in 0..<bone.count where bone[q] == 0 && scan.hu.voxels[q] > 175 {
        let i = q % nx, j = (q / nx) % mask.size.y, k = q / plane
        if (i > 0 && bone[q - 1] != 0) || (i < nx - 1 && bone[q + 1] != 0) || (j > 0 && bone[q - nx] != 0)
            || (j < mask.size.y - 1 && bone[q + nx] != 0) || (k > 0 && bone[q - plane] != 0) || (k < mask.size.z - 1 && bone[q + plane] != 0) {
            mask.voxels[q] = FemurSegmenter.leftLabel
        }
    }
    let head = FemoralHeadFit(center: f.headCenter.array, radius_mm: f.headRadius_mm, rmsResidual_mm: 0, points: 0)
    let axes = FemurAxes(neckAxisDirection: f.neckAxisDirection.array, shaftAxisPoint: f.shaftAxisPoint.array,
                         shaftAxisDirection: f.shaftAxisDirection.array, neckShaftAngle_deg: f.neckShaftAngle_deg, shaftLengthUsed_mm: 0,
                         narrowNeckDistance_mm: f.narrowNeck.distanceFromHeadCenter_mm, narrowNeckCenter: f.narrowNeck.center.array,
                         narrowNeckMaskArea_mm2: f.narrowNeck.totalArea_mm2, greaterTrochanterTip: f.greaterTrochanterTip.array,
                         lesserTrochanterApex: f.lesserTrochanterApex.array)
    let femur = FemurMask(side: .left, voxels: 0, volume_cm3: 0, extent_mm: 0, separated: true, head: head, axes: axes, notes: [])
    return (try Volume(size: mask.size, geometry: mask.geometry, voxels: mask.voxels), femur, VoxelBox(mask.size))
}

/// The phantom's density line (σ 1.3 HU per mg/cm³, β 0) as if a phantom had measured it.
private func trueLine(_ scan: PhantomScan) -> DensityCalibration {
    var c = DensityCalibration.none(reason: "")
    c.method = .synchronousPhantom
    c.equivalent = .k2hpo4
    c.slope_HU_per_mgcm3 = scan.truth.densityModel.slope_HU_per_mgcm3
    c.intercept_HU = scan.truth.densityModel.intercept_HU
    c.qc = CalibrationQC(passed: true, problems: [])
    return c
}

@Suite("Femur densitometry")
struct FemurDensitometryTests {
    @Test func regionsMatchTheDensityMapAndTheirAnalyticBoundaries() throws {
        let scan = try leftHip()
        let (labels, femur, box) = try inputs(scan)
        var map = [UInt8](repeating: 0, count: labels.voxels.count)
        let d = try #require(FemurDensitometer.measure(scan.hu, labels: labels, femur: femur, box: box,
                                                       calibration: trueLine(scan), regionMap: &map))
        let f = try #require(scan.truth.femora.first { $0.side == .left })
        // Head–neck plane: where a 22 mm sphere narrows to the narrow neck's area, √(r² − A/π).
        #expect(abs(d.headNeckPlane_mm - (22.0 * 22 - f.narrowNeck.totalArea_mm2 / .pi).squareRoot()) < 1e-9)
        // X lies offset / sin(NSA) from the head centre (phantom construction: 40 mm, 126°).
        #expect(abs(d.neckBasePlane_mm - f.femoralOffset_mm / sin(f.neckShaftAngle_deg * .pi / 180)) < 1e-6)
        let density = try #require(scan.density).voxels
        let base = Int(FemurDensitometer.labelBase(.left))
        var checked = 0
        for r in d.regions {
            let idx: [Int]
            if r.region == "total_hip" { idx = [0, 1, 2, 3] } else if let i = FemurDensitometer.regionNames.firstIndex(of: r.region) { idx = [i] } else { continue }
            // Integral: mineral over mask + rim (compartments 0–3) per mask voxel (1–3).
            for (c, offsets, volume) in [(r.integral, [0, 1, 2, 3], [1, 2, 3]), (try #require(r.trabecular), [2], [2])] {
                let ids = Set(idx.flatMap { i in offsets.map { UInt8(base + 4 * i + $0) } })
                let volumeIDs = Set(idx.flatMap { i in volume.map { UInt8(base + 4 * i + $0) } })
                var s = 0.0, n = 0
                for q in 0..<map.count {
                    if ids.contains(map[q]) { s += Double(density[q]) }
                    if volumeIDs.contains(map[q]) { n += 1 }
                }
                #expect(n == c.voxels, "\(r.name): map and statistics disagree on the ROI")
                let truth = s / Double(n), measured = try #require(c.vBMD_mgcm3)
                #expect(abs(measured - truth) <= max(2, 0.02 * truth), "\(r.name) \(offsets.count == 1 ? "trabecular" : "integral"): \(measured) vs \(truth)")
                checked += 1
            }
        }
        #expect(checked == 10)
        // The neck's trabecular bone is 80 mg/cm³ in the phantom, the trochanter's 75, the head's 210
        // (with smooth ramps between them at the region borders).
        let neck = try #require(d.regions.first { $0.region == "narrow_neck" }?.trabecular?.vBMD_mgcm3)
        #expect(abs(neck - 80) < 3, "narrow-neck trabecular \(neck)")
        #expect(d.proximalFemurHU.map { !$0.belowThreshold } == true)
    }

    @Test func withoutCalibrationOnlyHUAndALowFemurFallsBelow112HU() throws {
        let scan = try leftHip(boneScale: 0.45)
        let (labels, femur, box) = try inputs(scan)
        var map: [UInt8] = []
        let d = try #require(FemurDensitometer.measure(scan.hu, labels: labels, femur: femur, box: box,
                                                       calibration: .none(reason: "test"), regionMap: &map))
        #expect(d.regions.allSatisfy { $0.integral.vBMD_mgcm3 == nil && $0.trabecular?.vBMD_mgcm3 == nil })
        #expect(d.notes.contains { $0.contains("HU only") })
        let pf = try #require(d.proximalFemurHU)
        // Trabecular 0.45 × (75…210 mg/cm³) × 1.3 HU per mg/cm³ is well under 112 HU.
        #expect(pf.belowThreshold && pf.meanHU < 112, "\(pf.meanHU)")
    }
}

// CTXA on an analytic neck: a uniform cylinder of density ρ and radius R seen from the side has the
// areal density ρ·πR/2 on average over its projected width 2R (mass πR²ρ per unit length over 2R).
@Suite("CTXA")
struct CTXATests {
    @Test func aUniformCylinderProjectsToRhoPiROverTwo() throws {
        let rho = 300.0, R = 12.0, sp = 0.5  // mg/cm³, mm, mm
        let u = Vec3(0.73, 0.2, -0.65).normalized, e = Vec3(0.087, 0, 0.996).normalized
        let H = Vec3.zero, length = 50.0
        let lo = Vec3(-R - 2, -R - 2 + min(0, u.y * length), u.z * length - R - 2), hi = Vec3(u.x * length + R + 2, u.y * length + R + 2, R + 2)
        let size = Dim3(Int((hi.x - lo.x) / sp), Int((hi.y - lo.y) / sp), Int((hi.z - lo.z) / sp))
        let g = VolumeGeometry(spacing: Vec3(sp, sp, sp), origin: lo)
        var mask = [UInt8](repeating: 0, count: size.x * size.y * size.z)
        var map = mask
        for k in 0..<size.z { for j in 0..<size.y { for i in 0..<size.x {
            let d = g.world(Double(i), Double(j), Double(k)) - H
            let s = d.dot(u), radial = (d - u * s).length
            let q = i + size.x * (j + size.y * k)
            if s >= 0 && s <= length && radial <= R { mask[q] = 3; map[q] = 31 }  // left neck, trabecular
        } } }
        let labels = try Volume(size: size, geometry: g, voxels: mask)
        let head = FemoralHeadFit(center: H.array, radius_mm: 20, rmsResidual_mm: 0, points: 0)
        let axes = FemurAxes(neckAxisDirection: u.array, shaftAxisPoint: (H + u * length).array, shaftAxisDirection: e.array,
                             neckShaftAngle_deg: 126, shaftLengthUsed_mm: 0, narrowNeckDistance_mm: 25, narrowNeckCenter: (u * 25).array,
                             narrowNeckMaskArea_mm2: .pi * R * R, greaterTrochanterTip: nil, lesserTrochanterApex: nil)
        let femur = FemurMask(side: .left, voxels: 0, volume_cm3: 0, extent_mm: 0, separated: true, head: head, axes: axes, notes: [])
        let d = FemurDensitometry(side: .left, calibration: "synchronous-phantom", equivalent: "K2HPO4", regions: [], proximalFemurHU: nil,
                                  headNeckPlane_mm: 10, neckBasePlane_mm: length, neckCylinderRadius_mm: R, lesserTrochanterLevel_mm: nil,
                                  distalLimit_mm: -200, roiDefinitions: [:], notes: [])
        var cal = DensityCalibration.none(reason: "")
        cal.method = .synchronousPhantom
        cal.equivalent = .k2hpo4
        let (result, image) = try #require(CTXA.measure(labels: labels, regionMap: map, femur: femur, densitometry: d, calibration: cal,
                                                        density: { q in mask[q] != 0 ? rho : 0 }))
        let neck = try #require(result.regions.first { $0.name == "femoral_neck" })
        let expected = rho / 1000 * .pi * R / 2 * 0.1  // mg/mm³ × mm = mg/mm² → g/cm²
        #expect(abs(neck.aBMD_gcm2 / expected - 1) < 0.02, "aBMD \(neck.aBMD_gcm2) vs \(expected)")
        #expect(abs(neck.area_cm2 / (2 * R * 15 / 100) - 1) < 0.03, "area \(neck.area_cm2)")
        #expect(abs(neck.bmc_g / (rho / 1000 * .pi * R * R * 15 / 1000) - 1) < 0.02, "BMC \(neck.bmc_g)")
        // T-score from the DXA-equivalent value, by hand.
        let dxa = 1.297 * neck.aBMD_gcm2 + 0.048
        #expect(abs(neck.dxaEquivalent_gcm2 - dxa) < 1e-12)
        #expect(abs(try #require(neck.tScore) - (dxa - 0.858) / 0.120) < 1e-12)
        #expect(image.region.contains(1) && image.aBMD.count == image.width * image.height)
    }

    @Test func phantomHipAgreesWithTheProjectedDensityMap() throws {
        let scan = try leftHip()
        let (labels, femur, box) = try inputs(scan)
        let cal = trueLine(scan)
        var map = [UInt8](repeating: 0, count: labels.voxels.count)
        let d = try #require(FemurDensitometer.measure(scan.hu, labels: labels, femur: femur, box: box,
                                                       calibration: cal, regionMap: &map))
        let hu = scan.hu.voxels, truth = try #require(scan.density).voxels
        let measured = try #require(CTXA.measure(labels: labels, regionMap: map, femur: femur, densitometry: d,
                                                 calibration: cal, density: { q in Double(hu[q]) / 1.3 }))
        let ideal = try #require(CTXA.measure(labels: labels, regionMap: map, femur: femur, densitometry: d,
                                              calibration: cal, density: { q in Double(truth[q]) }))
        for name in ["femoral_neck", "total_hip"] {
            let m = try #require(measured.0.regions.first { $0.name == name }), t = try #require(ideal.0.regions.first { $0.name == name })
            #expect(abs(m.aBMD_gcm2 / t.aBMD_gcm2 - 1) < 0.02, "\(name): \(m.aBMD_gcm2) vs \(t.aBMD_gcm2) g/cm²")
        }
    }
}
