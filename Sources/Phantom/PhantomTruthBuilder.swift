// Ground truth of a generated phantom: region statistics from the rasterizer's sums, body composition from
// the label map, and the analytic geometry of femora, vertebrae and calibration rods.
import Imaging

extension PhantomWorld {
    // MARK: body composition at L3

    struct L3Areas {
        var index: Int?
        var z: Double?
        var sma: Double?, sat: Double?, vat: Double?, imat: Double?
    }

    func bodyComposition(labels: [UInt8]) -> L3Areas {
        let zc = body.l3Z
        let k = Int(((zc - grid.origin.z) / grid.dz).rounded())
        guard k >= 0 && k < grid.nz else { return L3Areas() }
        var counts = [Int](repeating: 0, count: 256)
        let off = grid.nx * grid.ny * k
        for i in 0..<(grid.nx * grid.ny) { counts[Int(labels[off + i])] += 1 }
        let px = grid.dx * grid.dy / 100
        let sma = PhantomLabel.muscles.reduce(0) { $0 + counts[Int($1)] }
        return L3Areas(index: k, z: grid.origin.z + Double(k) * grid.dz, sma: Double(sma) * px,
                       sat: Double(counts[Int(PhantomLabel.subcutaneousFat)]) * px,
                       vat: Double(counts[Int(PhantomLabel.visceralFat)]) * px,
                       imat: Double(counts[Int(PhantomLabel.intermuscularFat)]) * px)
    }

    // MARK: truth

    func truth(sums: LabelSums, body l3: L3Areas) -> PhantomTruth {
        let p = params
        let voxelVolume = grid.dx * grid.dy * grid.dz / 1000
        var regions: [RegionTruth] = []
        for info in PhantomLabel.table {
            let i = Int(info.id)
            let c = sums.count[i]
            guard c > 0 else { continue }
            regions.append(RegionTruth(label: info.id, name: info.name, tissue: info.tissue, voxelCount: c,
                                       volume_cm3: Double(c) * voxelVolume, meanDensity_mgcm3: sums.sumDensity[i] / Double(c),
                                       meanHU: sums.sumHU[i] / Double(c)))
        }
        let gridTruth = GridTruth(size: Dim3(grid.nx, grid.ny, grid.nz), spacing: Vec3(grid.dx, grid.dy, grid.dz),
                                  origin: grid.origin, direction: [1, 0, 0, 0, 1, 0, 0, 0, 1],
                                  sliceThickness_mm: grid.boxZ, fieldOfViewCenter: fov?.center, fieldOfViewRadius_mm: fov?.radius,
                                  paddingValue_HU: Acquisition.paddingHU)
        let density = DensityModelTruth(
            slope_HU_per_mgcm3: DensityModel.slope, intercept_HU: DensityModel.intercept, equivalent: "K2HPO4",
            appliesTo: "bone compartments (QCT-apparent vBMD, marrow included) and calibration rods; HU = slope·vBMD + intercept (+ trabecular contrast enhancement)",
            softTissueHU: tissues.softTissueTable(), trabecularContrastEnhancement_HU: tissues.trabecularEnhancement,
            source: "phantom-anatomy.md §8 density convention (σ = 1.30 HU per mg/cm³ K2HPO4, β = 0 at 120 kVp; §4 xraylib [S])")
        let femurTruths = femora.map { femurTruth($0) }
        let vertebraTruths = spine.vertebrae.compactMap { v -> VertebraTruth? in
            guard let level = v.level else { return nil }
            let zLo = grid.origin.z - grid.boxZ / 2, zHi = grid.origin.z + Double(grid.nz - 1) * grid.dz + grid.boxZ / 2
            let xLo = grid.origin.x - grid.dx / 2, xHi = grid.origin.x + Double(grid.nx - 1) * grid.dx + grid.dx / 2
            let yLo = grid.origin.y - grid.dy / 2, yHi = grid.origin.y + Double(grid.ny - 1) * grid.dy + grid.dy / 2
            let fully = v.bottom >= zLo && v.top <= zHi && v.center.x - v.width / 2 >= xLo && v.center.x + v.width / 2 <= xHi
                && v.center.y - v.depth / 2 >= yLo && v.center.y + v.depth / 2 <= yHi
            let partly = v.top > zLo && v.bottom < zHi
            let fc = Vec3(0, v.posteriorWallY - AnatomyConstants.basivertebralDepth / 2 + 0.5, v.center.z + v.height * 0.18)
            return VertebraTruth(level: level, center: v.center, height_mm: v.height, depth_mm: v.depth, width_mm: v.width,
                                 shellThickness_mm: v.shell, endplateThickness_mm: v.endplate,
                                 trabecularVBMD_mgcm3: tissues.spineTrabecular,
                                 trabecularHU: DensityModel.hu(tissues.spineTrabecular) + tissues.trabecularEnhancement,
                                 inFieldOfView: fully, partlyInFieldOfView: partly, basivertebralForamenCenter: fc,
                                 basivertebralForamenSize_mm: [AnatomyConstants.basivertebralWidth,
                                                               AnatomyConstants.basivertebralDepth,
                                                               AnatomyConstants.basivertebralHeight])
        }
        let bc = BodyCompositionTruth(
            l3SliceIndex: l3.index, l3SliceZ_mm: l3.z, l3CenterZ_mm: body.l3Z, skeletalMuscleArea_cm2: l3.sma,
            subcutaneousFatArea_cm2: l3.sat, visceralFatArea_cm2: l3.vat, intermuscularFatArea_cm2: l3.imat,
            targetSMA_cm2: anatomy.l3SMA_cm2, targetSAT_cm2: anatomy.l3SAT_cm2, targetVAT_cm2: anatomy.l3VAT_cm2,
            muscleHU: tissues.muscle(0).hu, subcutaneousFatHU: tissues.sat.hu, visceralFatHU: tissues.vat.hu,
            intermuscularFatHU: tissues.imat.hu)
        let zMid = grid.origin.z + Double(grid.nz - 1) * grid.dz / 2
        let rods = equipment.rods.map { r in
            CalibrationRodTruth(index: r.index, label: PhantomLabel.calibrationRod(r.index),
                                center: Vec3(r.center.x, r.center.y, zMid), radius_mm: r.radius,
                                concentration_mgcm3: r.concentration, hu: DensityModel.hu(r.concentration))
        }
        let acq = AcquisitionTruth(
            kVp: Acquisition.kVp, kernel: Acquisition.kernelName, pixelSpacing_mm: p.pixelSpacing_mm,
            sliceThickness_mm: p.sliceThickness_mm, sliceSpacing_mm: p.sliceSpacing_mm,
            psfFWHMInPlane_mm: p.psfFWHMInPlane_mm, psfFWHMZ_mm: p.psfFWHMZ_mm, noiseSigma_HU: p.noiseSigma_HU,
            noiseModel: "white Gaussian, added after blur; xoshiro256** per slice seeded by SplitMix64(seed, slice index); Box–Muller",
            contrastPhase: p.contrastPhase, aortaHU: tissues.arterialBloodHU, venousHU: tissues.venousBloodHU,
            trabecularBoneEnhancement_HU: tissues.trabecularEnhancement, storedRange_HU: [Acquisition.minHU, Acquisition.maxHU],
            metalClip_HU: Acquisition.maxHU, seed: p.seed)
        return PhantomTruth(
            parameters: p, presetAnatomy: anatomy, grid: gridTruth, labels: PhantomLabel.table, densityModel: density,
            regions: regions, femora: femurTruths, vertebrae: vertebraTruths, bodyComposition: bc, calibrationRods: rods,
            acquisition: acq, conventions: PhantomWorld.conventions)
    }

    static let conventions: [String] = [
        "Coordinates: DICOM patient LPS, mm (+x patient's left, +y posterior, +z head); patient supine, head first; axial slices, direction identity, ordered feet→head (k increases with z). The femoral-head centres lie at z = 0.",
        "Labels: each voxel's label is the structure at the voxel centre (no partial volume); pixels outside the scan field of view get label 255 and the padding value.",
        "Voxel values: mean over the voxel box (pixel × pixel × slice thickness) of the piecewise-constant tissue map. Voxels that no surface crosses take the tissue value directly (1-Lipschitz implicit surfaces make this test exact); crossed voxels use a first-order (planar) model of each surface: the exact box–half-space fraction for one surface, exact painter's-rule integration along 3×3 lines for several; voxels above 1.5 mm that several surfaces cross are first split into sub-boxes.",
        "Image formation order (phantom-anatomy.md §8): partial-volume voxels → Gaussian PSF blur (in-plane and z FWHM, separable, edge-replicated) → metal streaks (visual approximation) → white Gaussian noise → round, clamp to −1024…3071 HU → padding outside the field of view. The z response is the slice box (thickness) convolved with the z Gaussian.",
        "Density: bone HU = 1.30·vBMD_app + 0 (QCT-apparent K2HPO4-equivalent, marrow included); contrast adds to trabecular HU only. Mineral density of soft tissue is 0; calibration rods carry their concentration.",
        "Metal streaks: error sinogram −κ·P² of the metal path P over 90 parallel-beam angles, reconstructed by Ram-Lak filtered back-projection on ≤ 256² pixels and interpolated; a visual approximation of beam hardening/photon starvation, not a physical simulation. Metal saturates at 3071 HU; its true HU (Ti 7140, CoCr 13127, §7) is in the region means.",
        "Femur sub-region labels (head, neck, greater trochanter, intertrochanter, shaft) are a labelling convention of this phantom, not the Hologic/CTXA regions of interest.",
    ]

    // MARK: femur truth

    func femurTruth(_ f: FemurModel) -> FemurTruth {
        let u = f.neckAxis, up = f.eUp
        let nsa = M.deg(M.acos(u.dot(up)))
        // Anteversion: the head direction projected on the plane ⊥ shaft, angle from medial toward anterior.
        let toHead = -u
        let proj = toHead - up * toHead.dot(up)
        let lateral = f.shaftFrame.u, anterior = f.shaftFrame.v
        let av = M.deg(M.atan2(proj.dot(anterior), proj.dot(-lateral)))
        let offset = (toHead - up * toHead.dot(up)).length * f.headToShaft
        let endo = f.endostealNN
        let nn = NarrowNeckTruth(
            center: f.narrowNeckCenter, normal: u, superiorDirection: f.neckFrame.u, anteriorDirection: f.neckFrame.v,
            distanceFromHeadCenter_mm: f.sNN, widthSI_mm: 2 * f.aNN, widthAP_mm: 2 * f.bNN,
            corticalThickness_mm: QuadrantThickness(superior: f.tSup, inferior: f.tInf, anterior: f.tAnt, posterior: f.tPost),
            totalArea_mm2: Double.pi * f.aNN * f.bNN, corticalArea_mm2: f.corticalAreaNN, trabecularArea_mm2: f.trabecularAreaNN,
            corticalVBMD_mgcm3: tissues.cortical, trabecularVBMD_mgcm3: tissues.neckTrabecular,
            mineralPerLength_mg_per_mm: (tissues.cortical * f.corticalAreaNN + tissues.neckTrabecular * f.trabecularAreaNN) / 1000,
            endostealCenterOffset_mm: [endo.cu, endo.cv], endostealSemiAxes_mm: [endo.A, endo.B])
        let R = f.shaftRadius
        let shaft = ShaftSectionTruth(
            center: f.subtrochantericPoint, normal: up, lateralDirection: lateral, outerDiameter_mm: 2 * R,
            corticalThickness_mm: ["medial": f.tMed, "lateral": f.tLat, "anterior": f.tAP, "posterior": f.tAP],
            corticalArea_mm2: Double.pi * (R * R - (R - (f.tMed + f.tLat) / 2) * (R - f.tAP)))
        let (latPt, medPt) = hipAxisEnds(f)
        let hal = (latPt - medPt).length
        let d = latPt - medPt
        let halCoronal = (d.x * d.x + d.z * d.z).squareRoot()
        let cut: Bool
        if let fov {
            let g = f.greaterTrochanterLateral
            cut = (g.x - fov.center.x) * (g.x - fov.center.x) + (g.y - fov.center.y) * (g.y - fov.center.y) > fov.radius * fov.radius
        } else {
            cut = false
        }
        return FemurTruth(
            side: f.side, headCenter: f.headCenter, headRadius_mm: f.headRadius, headCortex_mm: f.headCortex,
            neckAxisPoint: f.headCenter, neckAxisDirection: u, shaftAxisPoint: f.shaftPoint, shaftAxisDirection: up,
            neckShaftAngle_deg: nsa, anteversion_deg: av, femoralOffset_mm: offset, neckLength_mm: f.neckLength,
            narrowNeck: nn, subtrochantericShaft: shaft, greaterTrochanterTip: f.greaterTrochanterTip,
            greaterTrochanterLateral: f.greaterTrochanterLateral, greaterTrochanterLateralCortex_mm: f.gtCortex,
            lesserTrochanterApex: f.ltApex, hipAxisLength_mm: hal, hipAxisLengthCoronal_mm: halCoronal,
            hipAxisLateralPoint: latPt, hipAxisMedialPoint: medPt, headTrabecularVBMD_mgcm3: tissues.headTrabecular,
            neckTrabecularVBMD_mgcm3: tissues.neckTrabecular, trochanterTrabecularVBMD_mgcm3: tissues.trochanterTrabecular,
            corticalVBMD_mgcm3: tissues.cortical, cutByFieldOfView: cut, prosthesis: f.resected, narrowNeckResected: f.resected)
    }

    /// Hip-axis end points by marching the (noise-free, continuous) scene along the neck axis: laterally
    /// to the last exit from the femur, medially through the head, joint space and acetabulum to the exit
    /// from the pelvic bone (the inner pelvic surface); each refined by bisection to 1 µm.
    func hipAxisEnds(_ f: FemurModel) -> (Vec3, Vec3) {
        let side = f.side
        func isFemur(_ p: Vec3) -> Bool {
            let l = scene.classify(p).label
            let lo = PhantomLabel.femur(side, .head, .cortical), hi = PhantomLabel.femur(side, .shaft, .trabecular)
            return (l >= lo && l <= hi) || l == PhantomLabel.prosthesisHead || l == PhantomLabel.prosthesisStem
        }
        func isPelvis(_ p: Vec3) -> Bool {
            let l = scene.classify(p).label
            return l == PhantomLabel.pelvis(side, .cortical) || l == PhantomLabel.pelvis(side, .trabecular)
        }
        func refine(_ a: Double, _ b: Double, _ test: (Double) -> Bool) -> Double {
            // test(a) true, test(b) false
            var lo = a, hi = b
            for _ in 0..<30 {
                let m = (lo + hi) / 2
                if test(m) { lo = m } else { hi = m }
            }
            return (lo + hi) / 2
        }
        let H = f.headCenter, u = f.neckAxis
        let step = 0.1
        // Lateral: last femur point within 140 mm.
        var lastIn = 0.0
        var t = 0.0
        while t < 140 {
            if isFemur(H + u * t) { lastIn = t }
            t += step
        }
        let tLat = refine(lastIn, lastIn + step) { isFemur(H + u * $0) }
        // Medial: enter the pelvis, then leave it.
        t = 0
        var entered = false
        var tMed = 0.0
        while t < 80 {
            let inP = isPelvis(H - u * t)
            if inP { entered = true } else if entered {
                tMed = refine(t - step, t) { isPelvis(H - u * $0) }
                break
            }
            t += step
        }
        return (H + u * tLat, H - u * tMed)
    }
}
