// All default numbers of the phantom, in one place, each with its source.
// "§n" refers to shared/reference/phantom-anatomy.md; "§8" is its table of suggested parameter sets
// (columns: normal young 32 y / standard 72 y osteopenic / osteoporotic 78 y). Tags [V]/[S]/[M] are
// that document's (read / derived / from memory). Numbers marked "assumed" have no source there: they
// only need to look plausible and are recorded in the truth like everything else.

/// Per-preset anatomy and tissue values (§8 table); recorded in the truth.
public struct PhantomAnatomy: Sendable, Codable, Equatable {
    // Proximal femur (§8 rows; §1 for background).
    public var femoralHeadDiameter: Double     // §8: 44 mm all presets
    public var neckShaftAngle_deg: Double      // §8: 129 / 126 / 127°
    public var anteversion_deg: Double         // §8: 14° all presets
    public var femoralOffset: Double           // §8: 38 / 40 / 40 mm
    public var hipAxisLengthDXA: Double        // §8: 104 / 107 / 108 mm (DXA-like projection; recorded, not forced)
    public var narrowNeckWidthSI: Double       // §8: 30 / 31.5 / 32 mm
    public var narrowNeckWidthAP: Double       // §8: 25 / 26 / 26.5 mm
    public var neckLength: Double              // §8: 48 / 49 / 49 mm (head centre → neck base on the neck axis)
    public var interHeadDistance: Double       // §8: 165 / 165 / 162 mm
    public var jointSpaceWidth: Double         // §8: 4.2 / 3.6 / 3.4 mm (apical)
    public var fnCortexSuperior: Double        // §8: superolateral/superoposterior 1.6 / 0.6 / 0.35 mm
    public var fnCortexInferior: Double        // §8: inferomedial/inferoanterior 3.9 / 3.4 / 3.1 mm
    public var fnCortexAntPost: Double         // §8: anterior/posterior 1.8 / 1.1 / 0.8 mm
    public var trochanterLateralCortex: Double // §8: 1.2 / 0.7 / 0.45 mm
    public var shaftOuterDiameter: Double      // §8: subtrochanteric OD 27 / 28.5 / 29 mm
    public var shaftMedialCortex: Double       // §8: 6.5 / 5.5 / 4.5 mm
    public var shaftLateralCortex: Double      // §8: 5.5 / 4.5 / 3.8 mm
    // Densities, mg/cm³ K2HPO4, QCT-apparent (§8 "Density convention").
    public var corticalVBMD: Double            // §8: cortical tissue 1000 / 900 / 850
    public var neckTrabecularVBMD: Double      // §8: FN trabecular 170 / 80 / 40
    public var trochanterTrabecularVBMD: Double // §8: 145 / 75 / 45
    public var headTrabecularVBMD: Double      // §8: 270 / 210 / 180
    public var spineTrabecularVBMD: Double     // §8: L1–L2 trabecular 175 / 100 / 65
    // Lumbar vertebrae (§8 L1–L3 rows).
    public var vertebralHeight: Double         // §8: 26 / 25 / 23.5 mm
    public var vertebralDepth: Double          // §8: 30 / 31 / 31.5 mm
    public var vertebralWidth: Double          // §8: 41 / 42 / 43 mm
    public var vertebralShell: Double          // §8: 0.5 / 0.4 / 0.3 mm
    public var vertebralEndplate: Double       // §8: 0.7 / 0.6 / 0.5 mm
    // L3 body composition (§8).
    public var l3BodyWidth: Double             // §8: L3 section L-R 300 / 340 / 300 mm
    public var l3BodyDepth: Double             // §8: A-P 200 / 240 / 210 mm
    public var l3SMA_cm2: Double               // §8: 121 / 105 / 92 cm²
    public var l3SAT_cm2: Double               // §8: 170 / 230 / 150 cm²
    public var l3VAT_cm2: Double               // §8: 55 / 130 / 85 cm²
    // Soft-tissue HU (§8).
    public var muscleHU: Double                // §8: 43 / 29 / 22 HU
    public var satHU: Double                   // §8: −110 / −105 / −105 HU
    public var vatHU: Double                   // §8: −95 / −92 / −92 HU
    public var imatHU: Double                  // §8: −70 / −65 / −65 HU
    public var bloodHU: Double                 // §8: aorta unenhanced 45 / 40 / 35 HU

    /// The §8 column of a preset.
    public static func values(_ p: PhantomPreset) -> PhantomAnatomy {
        switch p {
        case .normalYoung:
            return PhantomAnatomy(
                femoralHeadDiameter: 44, neckShaftAngle_deg: 129, anteversion_deg: 14, femoralOffset: 38,
                hipAxisLengthDXA: 104, narrowNeckWidthSI: 30, narrowNeckWidthAP: 25, neckLength: 48,
                interHeadDistance: 165, jointSpaceWidth: 4.2, fnCortexSuperior: 1.6, fnCortexInferior: 3.9,
                fnCortexAntPost: 1.8, trochanterLateralCortex: 1.2, shaftOuterDiameter: 27,
                shaftMedialCortex: 6.5, shaftLateralCortex: 5.5, corticalVBMD: 1000, neckTrabecularVBMD: 170,
                trochanterTrabecularVBMD: 145, headTrabecularVBMD: 270, spineTrabecularVBMD: 175,
                vertebralHeight: 26, vertebralDepth: 30, vertebralWidth: 41, vertebralShell: 0.5,
                vertebralEndplate: 0.7, l3BodyWidth: 300, l3BodyDepth: 200, l3SMA_cm2: 121, l3SAT_cm2: 170,
                l3VAT_cm2: 55, muscleHU: 43, satHU: -110, vatHU: -95, imatHU: -70, bloodHU: 45)
        case .standard:
            return PhantomAnatomy(
                femoralHeadDiameter: 44, neckShaftAngle_deg: 126, anteversion_deg: 14, femoralOffset: 40,
                hipAxisLengthDXA: 107, narrowNeckWidthSI: 31.5, narrowNeckWidthAP: 26, neckLength: 49,
                interHeadDistance: 165, jointSpaceWidth: 3.6, fnCortexSuperior: 0.6, fnCortexInferior: 3.4,
                fnCortexAntPost: 1.1, trochanterLateralCortex: 0.7, shaftOuterDiameter: 28.5,
                shaftMedialCortex: 5.5, shaftLateralCortex: 4.5, corticalVBMD: 900, neckTrabecularVBMD: 80,
                trochanterTrabecularVBMD: 75, headTrabecularVBMD: 210, spineTrabecularVBMD: 100,
                vertebralHeight: 25, vertebralDepth: 31, vertebralWidth: 42, vertebralShell: 0.4,
                vertebralEndplate: 0.6, l3BodyWidth: 340, l3BodyDepth: 240, l3SMA_cm2: 105, l3SAT_cm2: 230,
                l3VAT_cm2: 130, muscleHU: 29, satHU: -105, vatHU: -92, imatHU: -65, bloodHU: 40)
        case .osteoporotic:
            return PhantomAnatomy(
                femoralHeadDiameter: 44, neckShaftAngle_deg: 127, anteversion_deg: 14, femoralOffset: 40,
                hipAxisLengthDXA: 108, narrowNeckWidthSI: 32, narrowNeckWidthAP: 26.5, neckLength: 49,
                interHeadDistance: 162, jointSpaceWidth: 3.4, fnCortexSuperior: 0.35, fnCortexInferior: 3.1,
                fnCortexAntPost: 0.8, trochanterLateralCortex: 0.45, shaftOuterDiameter: 29,
                shaftMedialCortex: 4.5, shaftLateralCortex: 3.8, corticalVBMD: 850, neckTrabecularVBMD: 40,
                trochanterTrabecularVBMD: 45, headTrabecularVBMD: 180, spineTrabecularVBMD: 65,
                // §8: "23.5 (no fracture)".
                vertebralHeight: 23.5, vertebralDepth: 31.5, vertebralWidth: 43, vertebralShell: 0.3,
                vertebralEndplate: 0.5, l3BodyWidth: 300, l3BodyDepth: 210, l3SMA_cm2: 92, l3SAT_cm2: 150,
                l3VAT_cm2: 85, muscleHU: 22, satHU: -105, vatHU: -92, imatHU: -65, bloodHU: 35)
        }
    }
}

/// Acquisition defaults (§8 "Acquisition default" row; §6 for background).
enum Acquisition {
    static let kVp = 120.0                 // §8
    static let noiseAt1mm_HU = 25.0        // §8: 25 HU at 1 mm (≈ 11 HU at 5 mm); σ ∝ 1/√thickness (§6 [M]/[S])
    static let psfFWHMInPlane_mm = 1.3     // §8: standard kernel
    static let psfFWHMZ_mm = 1.0           // §8: 1.0 mm in z
    static let kernelName = "standard (Gaussian PSF model, Nickoloff 1985, §6)"
    /// §4 [V]: 12-bit stored range −1024…3071; metal saturates at 3071 (§7 [V]).
    static let minHU = -1024.0
    static let maxHU = 3071.0
    /// Pixel-padding value for pixels outside the scan field of view (a common vendor value; assumed).
    static let paddingHU = -2000.0
}

/// HU ↔ density relation (§8 "Density convention", §4 [S]).
enum DensityModel {
    /// σ: HU per mg/cm³ K2HPO4 at 120 kVp (§4 [S]: xraylib 1.35 at 70 keV; §8 picks 1.30).
    static let slope = 1.30
    /// β: HU at zero K2HPO4 (§8: 0, water-calibrated scanner; §4 [M] ± 10 HU).
    static let intercept = 0.0
    static func hu(_ vbmd: Double) -> Double { slope * vbmd + intercept }
}

/// Other anatomy constants. Many are assumed (no source in phantom-anatomy.md); they shape the phantom but
/// carry no ground truth that later code is tested against, except through the truth file.
enum AnatomyConstants {
    /// Femoral head subchondral cortex, §2 [M] "≈ 0.5–1 mm".
    static let femoralHeadCortex = 0.7
    /// Narrow-neck position: distance from the head centre along the neck axis (assumed; just lateral to the
    /// head–neck junction of a 44 mm head).
    static let narrowNeckDistance = 26.0
    /// Shaft adduction: the shaft axis tilts medially going distally by this angle from the z axis (assumed,
    /// "slightly adducted" per the brief; about half the ≈ 6–9° anatomical-axis angle, supine).
    static let shaftAdduction_deg = 5.0
    /// Greater trochanter tip below the head centre, §1 [M] "level with, or up to 10 mm below".
    static let greaterTrochanterTipBelowHead = 5.0
    /// Lesser trochanter apex below the head centre, §1 [M] "≈ 45–60 mm, posteromedial".
    static let lesserTrochanterApexBelowHead = 52.0
    /// Greater trochanter A-P size, §1 [M] "≈ 25–35 mm".
    static let greaterTrochanterAP = 30.0
    /// Lesser trochanter protrusion beyond the shaft surface (assumed).
    static let lesserTrochanterProtrusion = 10.0
    /// Cortex of the metaphysis / intertrochanteric region and the lesser trochanter (assumed).
    static let metaphysisCortex = 1.5
    static let lesserTrochanterCortex = 1.0
    /// Subtrochanteric reference level: 30 mm below the lesser trochanter (Napoli 2012, §1 [V]).
    static let subtrochantericBelowLT = 30.0
    /// Femoral canal (yellow marrow) apparent density: §4 [M] fatty marrow −50 to −100 HU → −40 mg/cm³ (−52 HU).
    static let medullaryVBMD = -40.0

    /// Acetabulum (assumed unless noted): wall thickness beyond the joint space, opening direction.
    static let acetabularWall = 7.0
    static let acetabularInclination_deg = 45.0
    static let acetabularAnteversion_deg = 20.0
    /// Pelvic cortical thickness (assumed; thin as in older women, cf. §2 trochanter 0.4–1.0 mm [M]).
    static let pelvisCortex = 0.9
    /// Pelvic trabecular density as a fraction of the preset's L1–L2 trabecular value (assumed).
    static let pelvisTrabecularFraction = 1.0
    /// Sacroiliac joint gap (assumed: adult SI joint 2–4 mm).
    static let sacroiliacGap = 3.0
    /// Posterior-element cortex (assumed).
    static let posteriorElementCortex = 1.0
    /// Lumbar disc heights T12/L1 … L5/S1 (assumed: typical 7–11 mm).
    static let discHeights: [Double] = [7, 8, 9, 10, 11, 10]
    /// S1 superior endplate height above the head centres (assumed, pelvic incidence of an average woman).
    static let s1EndplateZ = 95.0
    /// Vertebral body centres, A-P (mm, +posterior) for T12, L1 … L5: a lumbar lordosis (assumed).
    static let vertebralCentreY: [Double] = [44, 38, 32, 28, 27, 31]
    /// Femoral head centres A-P position (assumed; slightly anterior to the body centre).
    static let headCentreY = -12.0
    /// Skin thickness (assumed, 1.5–3 mm).
    static let skinThickness = 2.0
    /// Basivertebral foramen (§8/§5 [V], He 2023): width 8, depth 12, height 5 mm, upper half of the body.
    static let basivertebralWidth = 8.0
    static let basivertebralDepth = 12.0
    static let basivertebralHeight = 5.0
}
