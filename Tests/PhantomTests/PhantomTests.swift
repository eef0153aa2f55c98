// Tests of the digital hip phantom against values known independently of the generator's own bookkeeping:
// measurements on rendered voxels compared with the analytic truth, determinism, and parameter checks.
import Imaging
@testable import Phantom
import Testing

// MARK: shared phantoms (each generated once per test run)

/// Default small phantom (noise, blur).
let smallScan: Result<PhantomScan, PhantomError> = Result(catching: { () throws(PhantomError) in
    try PhantomGenerator.generate(PhantomParameters(preset: .standard, size: .small))
})

/// Small phantom without noise and blur: voxel values are the partial-volume means.
let cleanScan: Result<PhantomScan, PhantomError> = Result(catching: { () throws(PhantomError) in
    var p = PhantomParameters(preset: .standard, size: .small)
    p.noiseSigma_HU = 0
    p.psfFWHMInPlane_mm = 0
    p.psfFWHMZ_mm = 0
    return try PhantomGenerator.generate(p)
})

/// A 24-slice crop of the small grid through the hips, for the cheaper variants.
func hipCrop(seed: UInt64 = 1) -> PhantomParameters {
    var p = PhantomParameters(preset: .standard, size: .small)
    p.slices = 24
    p.seed = seed
    p.reconstructionCenter = Vec3(0, SizeDefaults.isocenterY_mm, -10)
    return p
}

/// Trilinear sample of a volume at a world point (LPS mm); nil outside.
func sample(_ v: Volume<Int16>, _ p: Vec3) -> Double? {
    guard let q = v.geometry.index(of: p) else { return nil }
    let i0 = Int(q.x.rounded(.down)), j0 = Int(q.y.rounded(.down)), k0 = Int(q.z.rounded(.down))
    guard i0 >= 0, j0 >= 0, k0 >= 0, i0 + 1 < v.size.x, j0 + 1 < v.size.y else { return nil }
    let k1 = min(k0 + 1, v.size.z - 1)
    guard k0 < v.size.z else { return nil }
    let fx = q.x - Double(i0), fy = q.y - Double(j0), fz = v.size.z == 1 ? 0 : q.z - Double(k0)
    var s = 0.0
    for (dk, wk) in [(k0, 1 - fz), (k1, fz)] {
        for (dj, wj) in [(j0, 1 - fy), (j0 + 1, fy)] {
            for (di, wi) in [(i0, 1 - fx), (i0 + 1, fx)] {
                s += wi * wj * wk * Double(v[di, dj, dk])
            }
        }
    }
    return s
}

/// Position along a sampled profile where it crosses `level` between indices a and b (linear).
func crossing(_ prof: [Double], _ ts: [Double], level: Double, from a: Int, to b: Int) -> Double? {
    let step = a < b ? 1 : -1
    var i = a
    while i != b {
        let v0 = prof[i] - level, v1 = prof[i + step] - level
        if v0 == 0 { return ts[i] }
        if (v0 > 0) != (v1 > 0) {
            let f = v0 / (v0 - v1)
            return ts[i] + f * (ts[i + step] - ts[i])
        }
        i += step
    }
    return nil
}

@Suite("Phantom")
struct PhantomTests {

    // MARK: determinism

    @Test("same parameters and seed give identical voxels and truth; another seed changes only the noise")
    func determinism() throws {
        let a = try PhantomGenerator.generate(hipCrop(seed: 7))
        let b = try PhantomGenerator.generate(hipCrop(seed: 7))
        let c = try PhantomGenerator.generate(hipCrop(seed: 8))
        #expect(a.hu.voxels == b.hu.voxels)
        #expect(a.labels.voxels == b.labels.voxels)
        #expect(a.truth.regions == b.truth.regions)
        #expect(a.truth.femora == b.truth.femora)
        #expect(a.labels.voxels == c.labels.voxels)
        #expect(a.truth.regions == c.truth.regions)
        let differing = zip(a.hu.voxels, c.hu.voxels).filter { $0 != $1 }.count
        #expect(differing > a.hu.voxels.count / 2)
        // Noise statistics in air-free soft tissue: mean difference ≈ 0, SD ≈ σ·√2.
        let sigma = hipCrop().noiseSigma_HU
        var diffs: [Double] = []
        for i in 0..<a.hu.voxels.count where a.labels.voxels[i] == PhantomLabel.subcutaneousFat {
            diffs.append(Double(a.hu.voxels[i]) - Double(c.hu.voxels[i]))
        }
        #expect(diffs.count > 1000)
        let mean = diffs.reduce(0, +) / Double(diffs.count)
        let sd = (diffs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(diffs.count - 1)).squareRoot()
        #expect(abs(mean) < 1.5)
        #expect(abs(sd - sigma * 2.0.squareRoot()) < 0.1 * sigma * 2.0.squareRoot())
    }

    // MARK: labels and HU

    @Test("voxels deep inside a uniform tissue carry exactly its HU (noise-free render)")
    func labelHUConsistency() throws {
        let scan = try cleanScan.get()
        let t = TissueTable(anatomy: PhantomAnatomy.values(.standard), phase: .none, boneScale: 1)
        let expected: [UInt8: Double] = [
            PhantomLabel.subcutaneousFat: t.sat.hu, PhantomLabel.visceralFat: t.vat.hu,
            PhantomLabel.paraspinalLeft: t.muscle(0).hu, PhantomLabel.thighMusclesRight: t.muscle(0).hu,
            PhantomLabel.bladder: t.bladder.hu, PhantomLabel.tableFoam: t.tableFoam.hu, PhantomLabel.air: -1000,
            PhantomLabel.calibrationRod(3): DensityModel.hu(200),
            PhantomLabel.vertebra(.L4, body: true, .trabecular): DensityModel.hu(t.spineTrabecular),
        ]
        let v = scan.labels
        var checked = [UInt8: Int](), exact = [UInt8: Int]()
        for k in 1..<(v.size.z - 1) {
            for j in 1..<(v.size.y - 1) {
                for i in 1..<(v.size.x - 1) {
                    let l = v[i, j, k]
                    guard let hu = expected[l] else { continue }
                    // Interior: the whole 3×3×3 neighbourhood has the same label.
                    var interior = true
                    outer: for dk in -1...1 { for dj in -1...1 { for di in -1...1 where v[i + di, j + dj, k + dk] != l {
                        interior = false; break outer
                    } } }
                    guard interior else { continue }
                    // A structure thinner than the voxel spacing can still graze the box (partial volume):
                    // allow a little, and require nearly all voxels to be exact.
                    let err = abs(Double(scan.hu[i, j, k]) - max(-1024, hu))
                    #expect(err <= 12, "label \(l) at \(i),\(j),\(k): \(err) HU off")
                    checked[l, default: 0] += 1
                    if err <= 0.5 { exact[l, default: 0] += 1 }
                }
            }
        }
        for l in expected.keys {
            let n = checked[l] ?? 0
            #expect(n > 0, "no interior voxel of label \(l)")
            #expect(Double(exact[l] ?? 0) >= 0.97 * Double(n), "label \(l): \(exact[l] ?? 0) of \(n) exact")
        }
        // Every label in the volume is in the table, and the truth counts match the label volume.
        var counts = [Int](repeating: 0, count: 256)
        for l in v.voxels { counts[Int(l)] += 1 }
        for r in scan.truth.regions { #expect(counts[Int(r.label)] == r.voxelCount) }
        for (id, n) in counts.enumerated() where n > 0 { #expect(PhantomLabel.info(UInt8(id)) != nil) }
    }

    @Test("every voxel's label is the tissue of the continuous scene at its centre (sampled)")
    func labelsAtCentres() throws {
        let scan = try cleanScan.get()
        let world = PhantomWorld(scan.truth.parameters)
        let v = scan.labels
        var checked = 0
        var i = 0
        while i < v.voxels.count {
            let x = i % v.size.x, y = (i / v.size.x) % v.size.y, z = i / (v.size.x * v.size.y)
            let c = v.geometry.world(Double(x), Double(y), Double(z))
            #expect(v.voxels[i] == world.scene.classify(c).label, "voxel \(x),\(y),\(z)")
            checked += 1
            i += 7
        }
        #expect(checked > 200_000)
    }

    @Test("label table: unique ids and names")
    func labelTable() {
        let ids = PhantomLabel.table.map(\.id), names = PhantomLabel.table.map(\.name)
        #expect(Set(ids).count == ids.count)
        #expect(Set(names).count == names.count)
        #expect(PhantomLabel.femur(.right, .shaft, .trabecular) != PhantomLabel.femur(.left, .shaft, .trabecular))
        #expect(PhantomLabel.info(PhantomLabel.femur(.left, .neck, .cortical))?.name == "femur_left_neck_cortical")
    }

    // MARK: narrow neck

    @Test("narrow-neck cortical thickness and widths measured on a noise-free high-resolution render",
          arguments: [PhantomSide.left, .right])
    func narrowNeckThickness(side: PhantomSide) throws {
        let truth = try smallScan.get().truth
        let f = try #require(truth.femora.first { $0.side == side })
        let nn = f.narrowNeck
        let t = nn.corticalThickness_mm
        let quadrants: [(dir: Vec3, semi: Double, thick: Double)] = [
            (nn.superiorDirection, nn.widthSI_mm / 2, t.superior), (-nn.superiorDirection, nn.widthSI_mm / 2, t.inferior),
            (nn.anteriorDirection, nn.widthAP_mm / 2, t.anterior), (-nn.anteriorDirection, nn.widthAP_mm / 2, t.posterior),
        ]
        var outerEdges: [Double] = []
        for q in quadrants {
            // A small targeted reconstruction around the middle of this cortex, no noise, no blur.
            let voxel = q.thick < 1 ? 0.1 : 0.2
            let half = q.thick / 2 + 1.2
            let n = Int((2 * half / voxel).rounded(.up)) + 3
            var p = PhantomParameters(preset: .standard, size: .small)
            p.noiseSigma_HU = 0; p.psfFWHMInPlane_mm = 0; p.psfFWHMZ_mm = 0
            p.pixelSpacing_mm = voxel; p.sliceThickness_mm = voxel; p.sliceSpacing_mm = voxel
            p.columns = n; p.rows = n; p.slices = n
            let mid = nn.center + q.dir * (q.semi - q.thick / 2)
            p.reconstructionCenter = mid
            p.calibrationPhantom = false
            let vol = try PhantomGenerator.generate(p).hu
            // Profile along the quadrant direction through the cortex.
            let ts = stride(from: -half, through: half, by: voxel / 4).map { $0 }
            let prof = try ts.map { try #require(sample(vol, mid + q.dir * $0)) }
            let cortexHU = DensityModel.hu(nn.corticalVBMD_mgcm3)
            let inside = prof.first ?? 0, outside = prof.last ?? 0
            let c = ts.count / 2
            let inner = try #require(crossing(prof, ts, level: (cortexHU + inside) / 2, from: c, to: 0))
            let outer = try #require(crossing(prof, ts, level: (cortexHU + outside) / 2, from: c, to: ts.count - 1))
            #expect(abs((outer - inner) - q.thick) < 0.05, "measured \(outer - inner) mm, truth \(q.thick) mm")
            outerEdges.append(q.semi - q.thick / 2 + outer)
        }
        #expect(abs(outerEdges[0] + outerEdges[1] - nn.widthSI_mm) < 0.06)
        #expect(abs(outerEdges[2] + outerEdges[3] - nn.widthAP_mm) < 0.06)
        // Analytic cortical area from the truth's own ellipses.
        let a = nn.widthSI_mm / 2, b = nn.widthAP_mm / 2
        let ai = nn.endostealSemiAxes_mm[0], bi = nn.endostealSemiAxes_mm[1]
        #expect(abs(nn.corticalArea_mm2 - Double.pi * (a * b - ai * bi)) < 1e-9)
    }

    @Test("the continuous scene at the narrow neck: periosteal and endosteal ellipses exactly where the truth puts them",
          arguments: PhantomPreset.allCases)
    func narrowNeckSection(preset: PhantomPreset) throws {
        let world = PhantomWorld(PhantomParameters(preset: preset, size: .small))
        let truth = world.truth(sums: LabelSums(), body: PhantomWorld.L3Areas())
        for f in truth.femora {
            let nn = f.narrowNeck
            let cortical = PhantomLabel.femur(f.side, .neck, .cortical)
            let trabecular = PhantomLabel.femur(f.side, .neck, .trabecular)
            let a = nn.widthSI_mm / 2, b = nn.widthAP_mm / 2
            let ai = nn.endostealSemiAxes_mm[0], bi = nn.endostealSemiAxes_mm[1]
            let cu = nn.endostealCenterOffset_mm[0], cv = nn.endostealCenterOffset_mm[1]
            let eps = 0.01
            // Around both ellipses: just inside and just outside each boundary (along the in-plane normal).
            for step in 0..<72 {
                let th = Double(step) * Double.pi / 36
                let (ct, st) = (M.cos(th), M.sin(th))
                func point(_ x: Double, _ y: Double) -> Vec3 { nn.center + nn.superiorDirection * x + nn.anteriorDirection * y }
                // Outer boundary point and its normal (gradient of x²/a² + y²/b²).
                let ox = a * ct, oy = b * st
                let on = Vec3(ox / (a * a), oy / (b * b), 0).normalized
                #expect(world.scene.classify(point(ox - on.x * eps, oy - on.y * eps)).label == cortical)
                let outside = world.scene.classify(point(ox + on.x * eps, oy + on.y * eps)).label
                #expect(outside != cortical && outside != trabecular)
                let ix = cu + ai * ct, iy = cv + bi * st
                let inn = Vec3((ix - cu) / (ai * ai), (iy - cv) / (bi * bi), 0).normalized
                #expect(world.scene.classify(point(ix - inn.x * eps, iy - inn.y * eps)).label == trabecular)
                #expect(world.scene.classify(point(ix + inn.x * eps, iy + inn.y * eps)).label == cortical)
            }
            // The four quadrant thicknesses along the principal directions from the centre.
            let t = nn.corticalThickness_mm
            for (d, semi, thick) in [(nn.superiorDirection, a, t.superior), (-nn.superiorDirection, a, t.inferior),
                                     (nn.anteriorDirection, b, t.anterior), (-nn.anteriorDirection, b, t.posterior)] {
                #expect(world.scene.classify(nn.center + d * (semi - thick - eps)).label == trabecular)
                #expect(world.scene.classify(nn.center + d * (semi - thick + eps)).label == cortical)
            }
        }
    }

    @Test("partial volume conserves mineral at the narrow neck (targeted 0.6 mm render vs analytic integral)")
    func narrowNeckMineral() throws {
        let world = PhantomWorld(PhantomParameters(preset: .standard, size: .small))
        let f = world.femora[0]
        var p = PhantomParameters(preset: .standard, size: .small)
        p.noiseSigma_HU = 0; p.psfFWHMInPlane_mm = 0; p.psfFWHMZ_mm = 0
        let vox = 0.6, n = 60
        p.pixelSpacing_mm = vox; p.sliceThickness_mm = vox; p.sliceSpacing_mm = vox
        p.columns = n; p.rows = n; p.slices = n
        p.calibrationPhantom = false
        p.reconstructionCenter = f.narrowNeckCenter
        // Doubling the bone density changes only bone voxels: the HU difference is the mineral alone.
        let a = try PhantomGenerator.generate(p).hu
        p.boneDensityScale = 2
        let b = try PhantomGenerator.generate(p).hu
        let L = 4.0
        var sum = 0.0
        for k in 0..<n {
            for j in 0..<n {
                for i in 0..<n {
                    let d = a.geometry.world(Double(i), Double(j), Double(k)) - f.headCenter
                    let s = d.dot(f.neckAxis)
                    guard abs(s - f.sNN) < L / 2, (d - f.neckAxis * s).length < 22 else { continue }
                    sum += Double(b[i, j, k]) - Double(a[i, j, k])
                }
            }
        }
        let mineral = sum / DensityModel.slope * vox * vox * vox / 1000
        var expected = 0.0
        let steps = 200
        for m in 0..<steps {
            let s = f.sNN - L / 2 + (Double(m) + 0.5) * L / Double(steps)
            let e = f.endostealNeck(s)
            let inner = Double.pi * e.A * e.B, total = Double.pi * f.neckA(s) * f.neckB(s)
            expected += (world.tissues.cortical * (total - inner) + world.tissues.neckTrabecular * inner) / 1000 * L / Double(steps)
        }
        #expect(abs(mineral / expected - 1) < 0.015, "slab mineral \(mineral) mg vs analytic \(expected) mg")
    }

    // MARK: partial volume and density

    @Test("partial volume conserves mineral: rod cross-sections on 3 mm pixels")
    func rodMineral() throws {
        let scan = try cleanScan.get()
        let g = scan.hu.geometry
        let k = scan.hu.size.z / 2
        for rod in scan.truth.calibrationRods where rod.concentration_mgcm3 != 0 {
            // Σ (HU − resin HU)/σ over the pixels near the rod = c·π r² (resin and tube are 0 and 120 HU:
            // take the tube out by its own analytic area).
            var sum = 0.0
            for j in 0..<scan.hu.size.y {
                for i in 0..<scan.hu.size.x {
                    let p = g.world(Double(i), Double(j), Double(k))
                    let d = ((p.x - rod.center.x) * (p.x - rod.center.x) + (p.y - rod.center.y) * (p.y - rod.center.y)).squareRoot()
                    if d < rod.radius_mm + 6 { sum += Double(scan.hu[i, j, k]) * g.spacing.x * g.spacing.y }
                }
            }
            let r = rod.radius_mm, wall = EquipmentModel.tubeWall
            let tubeHU = TissueTable(anatomy: PhantomAnatomy.values(.standard), phase: .none, boneScale: 1).tubeWall.hu
            let expected = rod.hu * Double.pi * r * r + tubeHU * Double.pi * ((r + wall) * (r + wall) - r * r)
            // Rounding to integers adds at most ±0.5 HU per pixel.
            #expect(abs(sum - expected) < 0.015 * expected, "rod \(rod.index): \(sum) vs \(expected)")
        }
    }

    @Test("HU = 1.30·vBMD + 0 recovered by regression over trabecular regions and rods (noisy image)")
    func densityRegression() throws {
        let scan = try smallScan.get()
        let truth = scan.truth
        var xs: [Double] = [], ys: [Double] = []
        func interiorMean(_ label: UInt8, near centre: Vec3? = nil, radius: Double = 1e9) -> Double? {
            let v = scan.labels, g = v.geometry
            var s = 0.0, n = 0
            for k in 1..<(v.size.z - 1) {
                for j in 1..<(v.size.y - 1) {
                    for i in 1..<(v.size.x - 1) where v[i, j, k] == label {
                        if let c = centre, (g.world(Double(i), Double(j), Double(k)) - c).length > radius { continue }
                        if v[i - 1, j, k] != label || v[i + 1, j, k] != label || v[i, j - 1, k] != label
                            || v[i, j + 1, k] != label || v[i, j, k - 1] != label || v[i, j, k + 1] != label { continue }
                        s += Double(scan.hu[i, j, k]); n += 1
                    }
                }
            }
            return n > 20 ? s / Double(n) : nil
        }
        for rod in truth.calibrationRods {
            if let m = interiorMean(rod.label) { xs.append(rod.concentration_mgcm3); ys.append(m) }
        }
        for v in truth.vertebrae where v.inFieldOfView {
            if let m = interiorMean(PhantomLabel.vertebra(v.level, body: true, .trabecular)) { xs.append(v.trabecularVBMD_mgcm3); ys.append(m) }
        }
        for f in truth.femora {
            // Within 9 mm of the head centre the head value is exact (the ramp to the neck starts 10 mm out).
            if let m = interiorMean(PhantomLabel.femur(f.side, .head, .trabecular), near: f.headCenter, radius: 9) {
                xs.append(f.headTrabecularVBMD_mgcm3); ys.append(m)
            }
        }
        #expect(xs.count >= 8)
        let n = Double(xs.count)
        let mx = xs.reduce(0, +) / n, my = ys.reduce(0, +) / n
        let sxy = zip(xs, ys).map { ($0 - mx) * ($1 - my) }.reduce(0, +)
        let sxx = xs.map { ($0 - mx) * ($0 - mx) }.reduce(0, +)
        let slope = sxy / sxx, intercept = my - slope * mx
        #expect(abs(slope - truth.densityModel.slope_HU_per_mgcm3) < 0.04, "slope \(slope)")
        #expect(abs(intercept - truth.densityModel.intercept_HU) < 6, "intercept \(intercept)")
    }

    // MARK: truth

    @Test("truth geometry: angles recomputed from the axes, landmarks, body composition near the §8 targets")
    func truthGeometry() throws {
        let truth = try smallScan.get().truth
        let p = truth.parameters
        #expect(truth.femora.count == 2)
        for f in truth.femora {
            #expect(abs(f.neckShaftAngle_deg - p.neckShaftAngle_deg) < 1e-9)
            #expect(abs(f.anteversion_deg - p.anteversion_deg) < 1e-9)
            #expect(abs(f.femoralOffset_mm - truth.presetAnatomy.femoralOffset) < 1e-9)
            #expect(abs(f.headRadius_mm - 22) < 1e-12)
            #expect(f.lesserTrochanterApex.z < f.headCenter.z - 40)
            #expect(f.greaterTrochanterTip.z <= f.headCenter.z)
            #expect(f.hipAxisLength_mm > 90 && f.hipAxisLength_mm < 130)
            // Head centre is on the neck axis; the shaft axis passes through the neck–shaft point.
            let d = f.shaftAxisPoint - f.neckAxisPoint
            #expect((d - f.neckAxisDirection * d.dot(f.neckAxisDirection)).length < 1e-9)
            #expect(!f.cutByFieldOfView && !f.prosthesis)
        }
        #expect(abs(truth.femora[0].headCenter.x - truth.femora[1].headCenter.x - 165) < 1e-9)
        let bc = truth.bodyComposition
        let sma = try #require(bc.skeletalMuscleArea_cm2), sat = try #require(bc.subcutaneousFatArea_cm2)
        let vat = try #require(bc.visceralFatArea_cm2)
        #expect(abs(sma - bc.targetSMA_cm2) < 0.2 * bc.targetSMA_cm2)
        #expect(abs(sat - bc.targetSAT_cm2) < 0.2 * bc.targetSAT_cm2)
        #expect(abs(vat - bc.targetVAT_cm2) < 0.25 * bc.targetVAT_cm2)
        let l3 = try #require(truth.vertebrae.first { $0.level == .L3 })
        #expect(l3.inFieldOfView)
        #expect(abs(l3.trabecularHU - 130) < 1e-9)
        #expect(truth.calibrationRods.map(\.concentration_mgcm3) == [0, 50, 100, 200])
    }

    // MARK: options

    @Test("field-of-view cut pads the lateral hip; a prosthesis saturates at 3071 HU")
    func fovAndMetal() throws {
        var p = hipCrop()
        p.fieldOfViewCut = .left
        p.prosthesis = .right
        let scan = try PhantomGenerator.generate(p)
        let left = try #require(scan.truth.femora.first { $0.side == .left })
        let right = try #require(scan.truth.femora.first { $0.side == .right })
        #expect(left.cutByFieldOfView && !right.cutByFieldOfView)
        #expect(right.prosthesis && right.narrowNeckResected)
        var padded = 0, metal = 0, saturated = 0
        for (h, l) in zip(scan.hu.voxels, scan.labels.voxels) {
            if l == PhantomLabel.outsideFieldOfView { padded += 1; #expect(h == -2000) } else { #expect(h >= -1024 && h <= 3071) }
            if l == PhantomLabel.prosthesisHead || l == PhantomLabel.prosthesisStem {
                metal += 1
                if h == 3071 { saturated += 1 }
                #expect(h > 1000)   // edge voxels hold some soft tissue (partial volume)
            }
        }
        #expect(padded > 0 && metal > 0)
        #expect(Double(saturated) > 0.8 * Double(metal))
        // The lateral pole of the left greater trochanter lies outside the field of view.
        let g = left.greaterTrochanterLateral
        let c = try #require(scan.truth.grid.fieldOfViewCenter), r = try #require(scan.truth.grid.fieldOfViewRadius_mm)
        #expect((g.x - c.x) * (g.x - c.x) + (g.y - c.y) * (g.y - c.y) > r * r)
    }

    @Test("contrast raises arterial blood and trabecular HU, not bone density")
    func contrast() throws {
        var p = hipCrop()
        p.contrastPhase = .portalVenous
        let t = try PhantomGenerator.generate(p).truth
        #expect(t.acquisition.aortaHU == 170)
        #expect(t.densityModel.trabecularContrastEnhancement_HU == 20)
        let head = try #require(t.femora.first).headTrabecularVBMD_mgcm3
        #expect(head == 210)
    }

    // MARK: validation

    @Test("invalid parameters name the parameter and its valid range")
    func validation() {
        func error(_ edit: (inout PhantomParameters) -> Void) -> PhantomError? {
            var p = PhantomParameters(preset: .standard, size: .small)
            edit(&p)
            do { try p.validate(); return nil } catch { return error }
        }
        let cases: [(String, (inout PhantomParameters) -> Void)] = [
            ("boneDensityScale", { $0.boneDensityScale = 0 }),
            ("corticalThicknessScale", { $0.corticalThicknessScale = 5 }),
            ("neckShaftAngle_deg", { $0.neckShaftAngle_deg = 170 }),
            ("anteversion_deg", { $0.anteversion_deg = .nan }),
            ("bodySizeScale", { $0.bodySizeScale = -1 }),
            ("noiseSigma_HU", { $0.noiseSigma_HU = -3 }),
            ("psfFWHMInPlane_mm", { $0.psfFWHMInPlane_mm = 50 }),
            ("pixelSpacing_mm", { $0.pixelSpacing_mm = 0 }),
            ("sliceThickness_mm", { $0.sliceThickness_mm = .infinity }),
            ("columns", { $0.columns = 0 }),
            ("slices", { $0.slices = 100_000 }),
            ("calibrationRodConcentrations_mgcm3.count", { $0.calibrationRodConcentrations_mgcm3 = [] }),
            ("calibrationRodConcentrations_mgcm3[1]", { $0.calibrationRodConcentrations_mgcm3 = [0, 5000] }),
            ("reconstructionCenter.x", { $0.reconstructionCenter = Vec3(1000, 0, 0) }),
        ]
        for (name, edit) in cases {
            let e = error(edit)
            guard case .outOfRange(let parameter, _, let valid)? = e else {
                Issue.record("\(name): expected outOfRange, got \(String(describing: e))")
                continue
            }
            #expect(parameter.hasPrefix(name))
            #expect(valid.contains("…"))
            #expect(e?.description.contains(name) == true)
        }
        #expect(error { $0.columns = 1024; $0.rows = 1024; $0.slices = 2048 } == .tooLarge(voxels: 1024 * 1024 * 2048, limit: 1 << 28))
        #expect(error { _ in } == nil)
        // generate() refuses before doing any work.
        var p = PhantomParameters(preset: .standard, size: .small)
        p.noiseSigma_HU = 1000
        #expect(throws: PhantomError.self) { try PhantomGenerator.generate(p) }
    }
}
