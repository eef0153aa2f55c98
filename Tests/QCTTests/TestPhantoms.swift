import Imaging
import Phantom

/// A crop of the phantom's left hip (0.8 × 0.8 × 1.25 mm, noise 20 HU, the phantom's blur): the left
/// head centre at (82.5, −12, 0), the greater trochanter out to x ≈ 145, the lesser trochanter at
/// z ≈ −51. Small enough for debug-build tests.
func leftHipCrop(seed: UInt64, boneScale: Double = 1, densityMap: Bool = false) throws -> PhantomScan {
    var p = PhantomParameters(preset: .standard, size: .small)
    p.seed = seed
    p.boneDensityScale = boneScale
    p.pixelSpacing_mm = 0.8
    p.columns = 150
    p.rows = 115
    p.sliceThickness_mm = 1.25
    p.sliceSpacing_mm = 1.25
    p.noiseSigma_HU = 20
    p.slices = 84
    p.reconstructionCenter = Vec3(100, -5, -27)
    return try PhantomGenerator.generate(p, densityMap: densityMap)
}
