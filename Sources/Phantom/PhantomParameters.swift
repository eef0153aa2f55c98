// The phantom's knobs, their defaults (from shared/reference/phantom-anatomy.md §8 unless said otherwise)
// and their validation.
public import Imaging

/// Anatomy and density preset (phantom-anatomy.md §8 columns).
public enum PhantomPreset: String, CaseIterable, Codable, Sendable {
    /// Normal young woman (32 y).
    case normalYoung = "normal-young"
    /// 72-year-old osteopenic woman (the default).
    case standard
    /// 78-year-old osteoporotic woman.
    case osteoporotic
}

/// Grid preset.
public enum PhantomSize: String, CaseIterable, Codable, Sendable {
    /// 128×128×100 at 3 mm: both hips and L3–L5, for fast unit tests.
    case small
    /// 512×512×300 at 0.742 mm × 1.25 mm: L1 to below both lesser trochanters.
    case standard
    /// 512×512×375 at 0.742 mm × 1.0 mm over the same range.
    case full
}

/// Intravenous contrast phase.
public enum ContrastPhase: String, CaseIterable, Codable, Sendable {
    case none, arterial
    case portalVenous = "portal-venous"
}

/// A side or none, for options that apply to one hip.
public enum PhantomSideOption: String, CaseIterable, Codable, Sendable {
    case none, left, right
}

/// Patient side (LPS: left is +x).
public enum PhantomSide: String, CaseIterable, Codable, Sendable {
    case left, right
    /// +1 for left (+x), −1 for right.
    var sign: Double { self == .left ? 1 : -1 }
}

/// Every knob of the phantom. `init(preset:size:)` gives the defaults; `validate()` checks ranges.
public struct PhantomParameters: Codable, Sendable, Equatable {
    public var preset: PhantomPreset
    public var size: PhantomSize
    /// Seed of the noise generator.
    public var seed: UInt64
    /// Multiplies the preset's trabecular and cortical apparent densities (1 = preset; < 1 more osteoporotic).
    public var boneDensityScale: Double
    /// Multiplies every cortical (and vertebral shell/endplate) thickness of the preset.
    public var corticalThicknessScale: Double
    /// Angle between the femoral neck axis and the shaft axis (3-D), degrees.
    public var neckShaftAngle_deg: Double
    /// Angle of the neck axis, in the plane perpendicular to the shaft, anterior of the medial direction, degrees.
    public var anteversion_deg: Double
    /// Multiplies the subcutaneous-fat thickness (the soft-tissue envelope); 1 = preset.
    public var bodySizeScale: Double
    /// White-noise standard deviation at the chosen slice thickness, HU.
    public var noiseSigma_HU: Double
    /// Gaussian PSF full width at half maximum in the axial plane, mm.
    public var psfFWHMInPlane_mm: Double
    /// Gaussian PSF full width at half maximum along z (on top of the slice box), mm.
    public var psfFWHMZ_mm: Double
    /// In-plane pixel spacing (square pixels), mm.
    public var pixelSpacing_mm: Double
    /// Slice thickness (the z extent each slice averages over), mm.
    public var sliceThickness_mm: Double
    /// Distance between slice centres, mm.
    public var sliceSpacing_mm: Double
    /// Matrix: columns (x), rows (y), slices (z).
    public var columns: Int
    public var rows: Int
    public var slices: Int
    /// Centre of the reconstructed volume (LPS mm); nil = the default placement of the size preset
    /// (a targeted reconstruction when set).
    public var reconstructionCenter: Vec3?
    public var contrastPhase: ContrastPhase
    /// Hip hemiarthroplasty: titanium stem in the canal and a cobalt-chromium head replacing the femoral head.
    public var prosthesis: PhantomSideOption
    /// Scan field of view that cuts off the lateral part of that proximal femur.
    public var fieldOfViewCut: PhantomSideOption
    /// Calibration phantom (K2HPO4 rods in water-equivalent resin) under the patient.
    public var calibrationPhantom: Bool
    /// Rod concentrations, mg/cm³ K2HPO4, one rod each (1…6 rods).
    public var calibrationRodConcentrations_mgcm3: [Double]

    public init(preset: PhantomPreset = .standard, size: PhantomSize = .standard) {
        let a = PhantomAnatomy.values(preset)
        self.preset = preset
        self.size = size
        seed = 1
        boneDensityScale = 1
        corticalThicknessScale = 1
        neckShaftAngle_deg = a.neckShaftAngle_deg
        anteversion_deg = a.anteversion_deg
        bodySizeScale = 1
        let g = SizeDefaults.values(size)
        pixelSpacing_mm = g.pixelSpacing
        sliceThickness_mm = g.sliceThickness
        sliceSpacing_mm = g.sliceSpacing
        columns = g.columns
        rows = g.rows
        slices = g.slices
        // §8 acquisition default: noise 25 HU at 1 mm, σ ∝ 1/√(slice thickness) (§6).
        noiseSigma_HU = Acquisition.noiseAt1mm_HU / g.sliceThickness.squareRoot()
        // §8: standard kernel PSF FWHM 1.3 mm in-plane, 1.0 mm in z.
        psfFWHMInPlane_mm = Acquisition.psfFWHMInPlane_mm
        psfFWHMZ_mm = Acquisition.psfFWHMZ_mm
        reconstructionCenter = nil
        contrastPhase = .none
        prosthesis = .none
        fieldOfViewCut = .none
        calibrationPhantom = true
        // Brief: default rods 0, 50, 100, 200 mg/cm³ K2HPO4.
        calibrationRodConcentrations_mgcm3 = [0, 50, 100, 200]
    }

    /// Ranges, in one table so that errors and documentation agree.
    enum Limits {
        static let boneDensityScale = 0.2...2.0
        static let corticalThicknessScale = 0.3...2.0
        static let neckShaftAngle = 100.0...150.0
        static let anteversion = -20.0...45.0
        static let bodySizeScale = 0.3...2.5
        static let noiseSigma = 0.0...300.0
        static let psfInPlane = 0.0...5.0
        static let psfZ = 0.0...10.0
        static let pixelSpacing = 0.05...5.0
        static let sliceThickness = 0.05...10.0
        static let sliceSpacing = 0.05...10.0
        static let matrixXY = 8...1024
        static let slices = 1...2048
        /// Centre within this distance of the default placement (mm, each axis).
        static let centerOffset = -400.0...400.0
        static let rodCount = 1...6
        static let rodConcentration = -100.0...1500.0
        /// Voxels per volume (a 1024×1024×256 grid); checked before allocating.
        static let maxVoxels = 1 << 28
    }

    /// Throws the first parameter that is out of range, naming it and its valid range.
    public func validate() throws(PhantomError) {
        func check(_ name: String, _ v: Double, _ r: ClosedRange<Double>) throws(PhantomError) {
            guard v.isFinite, r.contains(v) else {
                throw .outOfRange(parameter: name, value: "\(v)", valid: "\(r.lowerBound)…\(r.upperBound)")
            }
        }
        func checkInt(_ name: String, _ v: Int, _ r: ClosedRange<Int>) throws(PhantomError) {
            guard r.contains(v) else {
                throw .outOfRange(parameter: name, value: "\(v)", valid: "\(r.lowerBound)…\(r.upperBound)")
            }
        }
        try check("boneDensityScale", boneDensityScale, Limits.boneDensityScale)
        try check("corticalThicknessScale", corticalThicknessScale, Limits.corticalThicknessScale)
        try check("neckShaftAngle_deg", neckShaftAngle_deg, Limits.neckShaftAngle)
        try check("anteversion_deg", anteversion_deg, Limits.anteversion)
        try check("bodySizeScale", bodySizeScale, Limits.bodySizeScale)
        try check("noiseSigma_HU", noiseSigma_HU, Limits.noiseSigma)
        try check("psfFWHMInPlane_mm", psfFWHMInPlane_mm, Limits.psfInPlane)
        try check("psfFWHMZ_mm", psfFWHMZ_mm, Limits.psfZ)
        try check("pixelSpacing_mm", pixelSpacing_mm, Limits.pixelSpacing)
        try check("sliceThickness_mm", sliceThickness_mm, Limits.sliceThickness)
        try check("sliceSpacing_mm", sliceSpacing_mm, Limits.sliceSpacing)
        try checkInt("columns", columns, Limits.matrixXY)
        try checkInt("rows", rows, Limits.matrixXY)
        try checkInt("slices", slices, Limits.slices)
        let voxels = columns * rows * slices
        guard voxels <= Limits.maxVoxels else {
            throw .tooLarge(voxels: voxels, limit: Limits.maxVoxels)
        }
        if let c = reconstructionCenter {
            let d = SizeDefaults.defaultCenter(self)
            try check("reconstructionCenter.x (offset from the default \(d.x) mm)", c.x - d.x, Limits.centerOffset)
            try check("reconstructionCenter.y (offset from the default \(d.y) mm)", c.y - d.y, Limits.centerOffset)
            try check("reconstructionCenter.z (offset from the default \(d.z) mm)", c.z - d.z, Limits.centerOffset)
        }
        if calibrationPhantom {
            try checkInt("calibrationRodConcentrations_mgcm3.count", calibrationRodConcentrations_mgcm3.count,
                         Limits.rodCount)
            for (i, v) in calibrationRodConcentrations_mgcm3.enumerated() {
                try check("calibrationRodConcentrations_mgcm3[\(i)]", v, Limits.rodConcentration)
            }
        }
        // Derived anatomy must stay possible (cortices thinner than the bone they line).
        let a = PhantomAnatomy.values(preset)
        let k = corticalThicknessScale
        if (a.fnCortexSuperior + a.fnCortexInferior) * k > a.narrowNeckWidthSI - 4
            || 2 * a.fnCortexAntPost * k > a.narrowNeckWidthAP - 4 {
            throw .invalidCombination("corticalThicknessScale \(k) makes the narrow-neck cortex thicker than the neck of preset \(preset.rawValue); use at most \(((a.narrowNeckWidthSI - 4) / (a.fnCortexSuperior + a.fnCortexInferior) * 100).rounded(.down) / 100)")
        }
        if (a.shaftMedialCortex + a.shaftLateralCortex) * k > a.shaftOuterDiameter - 4 {
            throw .invalidCombination("corticalThicknessScale \(k) makes the shaft cortex fill the canal of preset \(preset.rawValue)")
        }
    }
}

/// Grid defaults of each size preset.
enum SizeDefaults {
    struct Values {
        let columns: Int, rows: Int, slices: Int
        let pixelSpacing: Double, sliceThickness: Double, sliceSpacing: Double
    }
    static func values(_ s: PhantomSize) -> Values {
        switch s {
        case .small:
            // Brief: ≈128×128×100 at ≈3 mm covering both hips and at least L4–L5 (here up to L3).
            return Values(columns: 128, rows: 128, slices: 100, pixelSpacing: 3.0, sliceThickness: 3.0, sliceSpacing: 3.0)
        case .standard:
            // §6/§8: DFOV 380 mm / 512 = 0.742 mm; brief: ≈300 slices at 1.25 mm, L1 to below the lesser trochanters.
            return Values(columns: 512, rows: 512, slices: 300, pixelSpacing: 0.742, sliceThickness: 1.25, sliceSpacing: 1.25)
        case .full:
            // §8 acquisition default: 512², 0.742 mm, 1.0 mm slices at 1.0 mm, same z range as standard.
            return Values(columns: 512, rows: 512, slices: 375, pixelSpacing: 0.742, sliceThickness: 1.0, sliceSpacing: 1.0)
        }
    }

    /// Lower edge of the default z coverage (mm; the femoral-head centres are at z = 0): 88 mm below the
    /// head centres reaches ≈3 cm below the lesser trochanters (Napoli 2012 subtrochanteric level, §1).
    static let coverageBottom_mm = -88.0
    /// Isocentre y (mm): body centre at y = 0, a little posterior to include the table.
    static let isocenterY_mm = 10.0

    /// Default volume centre for the parameters' grid.
    static func defaultCenter(_ p: PhantomParameters) -> Vec3 {
        let zLen = Double(p.slices) * p.sliceSpacing_mm
        return Vec3(0, isocenterY_mm, coverageBottom_mm + zLen / 2)
    }
}
