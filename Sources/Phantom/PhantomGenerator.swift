// Builds the phantom: anatomy → scene → partial-volume voxels → blur → metal streaks → noise → Int16,
// and the ground truth alongside.
public import Imaging

/// A generated phantom: HU volume, label volume (same grid) and ground truth.
public struct PhantomScan: Sendable {
    public let hu: Volume<Int16>
    public let labels: Volume<UInt8>
    public let truth: PhantomTruth
    /// QCT-apparent density (mg/cm³ K2HPO4) of each voxel before blur and noise: (true HU − β)/σ with the
    /// density model, partial volume included; only when asked for (4 bytes per voxel). The truth of any
    /// calibrated ROI measurement (bone voxels: their vBMD).
    public let density: Volume<Float>?
}

public enum PhantomGenerator {
    /// Generates the phantom for the parameters; the same parameters (seed included) give bit-identical
    /// voxels and truth on every run and thread count.
    public static func generate(_ p: PhantomParameters, densityMap: Bool = false) throws(PhantomError) -> PhantomScan {
        try p.validate()
        let world = PhantomWorld(p)
        let grid = world.grid
        let n = grid.nx * grid.ny * grid.nz
        let size = Dim3(grid.nx, grid.ny, grid.nz)
        let geometry = VolumeGeometry(spacing: Vec3(grid.dx, grid.dy, grid.dz), origin: grid.origin, direction: .identity)

        var huF = [Float](repeating: 0, count: n)
        var labels = [UInt8](repeating: 0, count: n)
        var sums = LabelSums()
        huF.withUnsafeMutableBufferPointer { hb in
            labels.withUnsafeMutableBufferPointer { lb in
                guard let hp = hb.baseAddress, let lp = lb.baseAddress else { return }
                sums = world.rasterizer.run(hu: SharedPointer(p: hp), labels: SharedPointer(p: lp))
            }
        }
        // The density map: the noise-free, blur-free HU through the density model — what an ideal,
        // perfectly calibrated scanner reads in any ROI (bone: its vBMD; soft tissue: its HU/σ).
        var densityF = [Float]()
        if densityMap {
            let slope = Float(DensityModel.slope), intercept = Float(DensityModel.intercept)
            densityF = huF.map { ($0 - intercept) / slope }
        }
        let body = world.bodyComposition(labels: labels)

        // Image formation: blur, streaks, noise, quantisation.
        var out = [Int16](repeating: 0, count: n)
        huF.withUnsafeMutableBufferPointer { hb in
            labels.withUnsafeMutableBufferPointer { lb in
                out.withUnsafeMutableBufferPointer { ob in
                    guard let hp = hb.baseAddress, let lp = lb.baseAddress, let op = ob.baseAddress else { return }
                    let buf = SharedPointer(p: hp), lab = SharedPointer(p: lp)
                    ImageFormation.blur(buf, nx: grid.nx, ny: grid.ny, nz: grid.nz,
                                        kx: ImageFormation.kernel(fwhm: p.psfFWHMInPlane_mm, spacing: grid.dx),
                                        ky: ImageFormation.kernel(fwhm: p.psfFWHMInPlane_mm, spacing: grid.dy),
                                        kz: ImageFormation.kernel(fwhm: p.psfFWHMZ_mm, spacing: grid.dz))
                    if p.prosthesis != .none {
                        MetalArtifacts.addStreaks(buf, labels: lab, nx: grid.nx, ny: grid.ny, nz: grid.nz,
                                                  pixel: grid.dx, paddingLabel: PhantomLabel.outsideFieldOfView)
                    }
                    ImageFormation.quantize(buf, labels: lab, out: SharedPointer(p: op), nx: grid.nx, ny: grid.ny,
                                            nz: grid.nz, sigma: p.noiseSigma_HU, seed: p.seed,
                                            paddingLabel: PhantomLabel.outsideFieldOfView,
                                            paddingHU: Int16(Acquisition.paddingHU),
                                            minHU: Acquisition.minHU, maxHU: Acquisition.maxHU)
                }
            }
        }
        let huVolume: Volume<Int16>, labelVolume: Volume<UInt8>, densityVolume: Volume<Float>?
        do {
            huVolume = try Volume(size: size, geometry: geometry, voxels: out)
            labelVolume = try Volume(size: size, geometry: geometry, voxels: labels)
            densityVolume = densityMap ? try Volume(size: size, geometry: geometry, voxels: densityF) : nil
        } catch {
            throw .imaging(error.description)
        }
        let truth = world.truth(sums: sums, body: body)
        return PhantomScan(hu: huVolume, labels: labelVolume, truth: truth, density: densityVolume)
    }
}

/// Everything derived from the parameters: anatomy models, tissues, scene, grid.
struct PhantomWorld: Sendable {
    let params: PhantomParameters
    let anatomy: PhantomAnatomy
    let tissues: TissueTable
    let femora: [FemurModel]
    let pelvis: PelvisModel
    let spine: SpineModel
    let body: BodyModel
    let equipment: EquipmentModel
    let scene: Scene
    let grid: RasterGrid
    let fov: (center: Vec3, radius: Double)?
    let rasterizer: Rasterizer

    init(_ p: PhantomParameters) {
        params = p
        let a = PhantomAnatomy.values(p.preset)
        anatomy = a
        let tissues = TissueTable(anatomy: a, phase: p.contrastPhase, boneScale: p.boneDensityScale)
        self.tissues = tissues
        let k = p.corticalThicknessScale
        let femora = PhantomSide.allCases.map { side in
            FemurModel(side: side, anatomy: a, nsa: p.neckShaftAngle_deg, anteversion: p.anteversion_deg, corticalScale: k,
                       resected: p.prosthesis.rawValue == side.rawValue)
        }
        self.femora = femora
        let pelvis = PelvisModel(anatomy: a, femora: femora, corticalScale: k)
        self.pelvis = pelvis
        let spine = SpineModel(anatomy: a, corticalScale: k)
        self.spine = spine
        let body = BodyModel(preset: p.preset, anatomy: a, spine: spine, bodySizeScale: p.bodySizeScale)
        self.body = body
        let equipment = EquipmentModel(calibrationPhantom: p.calibrationPhantom, concentrations: p.calibrationRodConcentrations_mgcm3)
        self.equipment = equipment

        let build: @Sendable () -> Scene = {
            PhantomWorld.buildScene(tissues: tissues, femora: femora, pelvis: pelvis, spine: spine, body: body,
                                    equipment: equipment)
        }
        scene = build()

        // Grid: centred on the reconstruction centre.
        let c = p.reconstructionCenter ?? SizeDefaults.defaultCenter(p)
        let origin = Vec3(c.x - Double(p.columns - 1) / 2 * p.pixelSpacing_mm,
                          c.y - Double(p.rows - 1) / 2 * p.pixelSpacing_mm,
                          c.z - Double(p.slices - 1) / 2 * p.sliceSpacing_mm)
        let grid = RasterGrid(nx: p.columns, ny: p.rows, nz: p.slices, origin: origin, dx: p.pixelSpacing_mm,
                              dy: p.pixelSpacing_mm, dz: p.sliceSpacing_mm, boxZ: p.sliceThickness_mm)
        self.grid = grid

        // Field-of-view cut: a 500 mm scan field (assumed typical) shifted so that its edge passes 12 mm
        // medial of the lateral pole of that greater trochanter.
        if p.fieldOfViewCut != .none {
            let f = femora[p.fieldOfViewCut == .left ? 0 : 1]
            let r = 250.0
            let gl = f.greaterTrochanterLateral
            let cy = SizeDefaults.isocenterY_mm
            let dy = gl.y - cy
            let edgeX = gl.x - f.sgn * 12
            let cx = edgeX - f.sgn * (r * r - dy * dy).squareRoot()
            fov = (Vec3(cx, cy, 0), r)
        } else {
            fov = nil
        }
        let fovCopy = fov
        let inside: @Sendable (Double, Double) -> Bool
        if let fc = fovCopy {
            inside = { x, y in (x - fc.center.x) * (x - fc.center.x) + (y - fc.center.y) * (y - fc.center.y) <= fc.radius * fc.radius }
        } else {
            inside = { _, _ in true }
        }
        // Voxels larger than 1.5 mm that several surfaces cross are split into ≤ 1.5 mm sub-boxes first.
        func split(_ d: Double) -> Int { max(1, Int((d / 1.5).rounded(.up))) }
        rasterizer = Rasterizer(makeScene: build, grid: grid, sub: (split(grid.dx), split(grid.dy), split(grid.boxZ)),
                                lines: 3, insideFOV: inside, paddingLabel: PhantomLabel.outsideFieldOfView,
                                paddingHU: Acquisition.paddingHU)
    }

    /// Painting order: equipment, soft tissue, organs, muscles, vessels, spine, pelvis, joint spaces, femora,
    /// prosthesis.
    static func buildScene(tissues: TissueTable, femora: [FemurModel], pelvis: PelvisModel,
                           spine: SpineModel, body: BodyModel, equipment: EquipmentModel) -> Scene {
        var b = SceneBuilder()
        equipment.layers(into: &b, tissues: tissues)
        body.layers(into: &b, tissues: tissues, spine: spine, femora: femora)
        spine.layers(into: &b, tissues: tissues)
        pelvis.layers(into: &b, tissues: tissues, s1: spine.s1)
        for f in femora {
            b.add("joint_space_\(f.side.rawValue)", pelvis.jointSpaceShape(f.side),
                  tissues.jointSpace(f.side == .left ? PhantomLabel.jointSpaceLeft : PhantomLabel.jointSpaceRight))
            f.layers(into: &b, tissues: tissues)
            if f.resected { f.prosthesisLayers(into: &b, tissues: tissues) }
        }
        return Scene(layers: b.layers, background: tissues.air)
    }
}
