// Ground truth of a generated phantom. Codable; arrays are in a fixed order (labels by id, femora
// left then right, vertebrae T12 → L5, rods by index), so sorted-key JSON is byte-stable.
// Units: lengths mm, areas cm² unless the name says mm², densities mg/cm³ K2HPO4 (QCT-apparent), HU.
public import Imaging

public struct PhantomTruth: Codable, Sendable {
    public var schema = "osteoct.phantom.truth/1"
    public var parameters: PhantomParameters
    /// The preset's anatomy values (phantom-anatomy.md §8) before the parameter scales.
    public var presetAnatomy: PhantomAnatomy
    public var grid: GridTruth
    public var labels: [PhantomLabelInfo]
    public var densityModel: DensityModelTruth
    /// One entry per label present in the volume.
    public var regions: [RegionTruth]
    public var femora: [FemurTruth]
    public var vertebrae: [VertebraTruth]
    public var bodyComposition: BodyCompositionTruth
    public var calibrationRods: [CalibrationRodTruth]
    public var acquisition: AcquisitionTruth
    /// How the phantom is made (coordinates, labels, partial volume, image formation, artefact model).
    public var conventions: [String]
}

public struct GridTruth: Codable, Sendable, Equatable {
    public var size: Dim3
    /// Column, row and slice spacing, mm.
    public var spacing: Vec3
    /// Centre of voxel (0, 0, 0), LPS mm.
    public var origin: Vec3
    /// Direction cosines, columns i, j, k (identity: axial).
    public var direction: [Double]
    public var sliceThickness_mm: Double
    /// Scan field of view (circle in the axial plane) when it cuts the image; pixels outside carry
    /// `paddingValue_HU` and the label outside_field_of_view.
    public var fieldOfViewCenter: Vec3?
    public var fieldOfViewRadius_mm: Double?
    public var paddingValue_HU: Double
}

public struct DensityModelTruth: Codable, Sendable, Equatable {
    /// HU = slope · vBMD + intercept, for bone (trabecular and cortical, QCT-apparent) and calibration rods.
    public var slope_HU_per_mgcm3: Double
    public var intercept_HU: Double
    public var equivalent: String
    public var appliesTo: String
    /// Soft tissues carry their own HU and mineral density 0.
    public var softTissueHU: [String: Double]
    /// Added to trabecular-bone HU (not to its density) in the contrast phase.
    public var trabecularContrastEnhancement_HU: Double
    public var source: String
}

public struct RegionTruth: Codable, Sendable, Equatable {
    public var label: UInt8
    public var name: String
    public var tissue: String
    public var voxelCount: Int
    public var volume_cm3: Double
    /// Mean over the region's voxels of the noise-free, pre-blur, partial-volume voxel values.
    public var meanDensity_mgcm3: Double
    public var meanHU: Double
}

public struct QuadrantThickness: Codable, Sendable, Equatable {
    public var superior: Double
    public var inferior: Double
    public var anterior: Double
    public var posterior: Double
}

public struct NarrowNeckTruth: Codable, Sendable, Equatable {
    public var center: Vec3
    /// Unit normal of the section = neck axis direction (head → trochanter).
    public var normal: Vec3
    /// In-plane unit directions of the superior–inferior and anterior–posterior axes.
    public var superiorDirection: Vec3
    public var anteriorDirection: Vec3
    public var distanceFromHeadCenter_mm: Double
    /// Outer (periosteal) widths.
    public var widthSI_mm: Double
    public var widthAP_mm: Double
    /// Cortical thickness along the four in-plane principal directions from the centre.
    public var corticalThickness_mm: QuadrantThickness
    public var totalArea_mm2: Double
    public var corticalArea_mm2: Double
    public var trabecularArea_mm2: Double
    public var corticalVBMD_mgcm3: Double
    public var trabecularVBMD_mgcm3: Double
    /// Σ density × area: mineral per mm of neck length, mg/mm.
    public var mineralPerLength_mg_per_mm: Double
    /// Endosteal ellipse: centre offset (superior, anterior) from the section centre and semi-axes.
    public var endostealCenterOffset_mm: [Double]
    public var endostealSemiAxes_mm: [Double]
}

public struct ShaftSectionTruth: Codable, Sendable, Equatable {
    /// On the shaft axis, 30 mm below the lesser-trochanter apex level; the section is constant below it.
    public var center: Vec3
    public var normal: Vec3
    public var lateralDirection: Vec3
    public var outerDiameter_mm: Double
    public var corticalThickness_mm: [String: Double]
    public var corticalArea_mm2: Double
}

public struct FemurTruth: Codable, Sendable, Equatable {
    public var side: PhantomSide
    public var headCenter: Vec3
    public var headRadius_mm: Double
    public var headCortex_mm: Double
    /// Neck axis: through the head centre, unit direction head → neck–shaft intersection.
    public var neckAxisPoint: Vec3
    public var neckAxisDirection: Vec3
    /// Shaft axis: through the neck–shaft intersection, unit direction proximal.
    public var shaftAxisPoint: Vec3
    public var shaftAxisDirection: Vec3
    /// Recomputed from the axes (3-D angle between neck toward the head and shaft toward the knee).
    public var neckShaftAngle_deg: Double
    /// Recomputed from the axes (in the plane perpendicular to the shaft, anterior of medial).
    public var anteversion_deg: Double
    /// Perpendicular distance from the head centre to the shaft axis.
    public var femoralOffset_mm: Double
    public var neckLength_mm: Double
    public var narrowNeck: NarrowNeckTruth
    public var subtrochantericShaft: ShaftSectionTruth
    public var greaterTrochanterTip: Vec3
    public var greaterTrochanterLateral: Vec3
    public var greaterTrochanterLateralCortex_mm: Double
    public var lesserTrochanterApex: Vec3
    /// Hip axis length along the neck axis, lateral femoral cortex to inner pelvic surface (3-D), and its
    /// projection on the coronal (x–z) plane (DXA-like, without magnification).
    public var hipAxisLength_mm: Double
    public var hipAxisLengthCoronal_mm: Double
    public var hipAxisLateralPoint: Vec3
    public var hipAxisMedialPoint: Vec3
    public var headTrabecularVBMD_mgcm3: Double
    public var neckTrabecularVBMD_mgcm3: Double
    public var trochanterTrabecularVBMD_mgcm3: Double
    public var corticalVBMD_mgcm3: Double
    public var cutByFieldOfView: Bool
    public var prosthesis: Bool
    /// With a prosthesis the head and the neck down to the osteotomy (including the narrow neck) are gone;
    /// the narrow-neck values are then the anatomy before resection.
    public var narrowNeckResected: Bool
}

public struct VertebraTruth: Codable, Sendable, Equatable {
    public var level: VertebralLevel
    public var center: Vec3
    public var height_mm: Double
    public var depth_mm: Double
    public var width_mm: Double
    public var shellThickness_mm: Double
    public var endplateThickness_mm: Double
    public var trabecularVBMD_mgcm3: Double
    public var trabecularHU: Double
    /// The body lies entirely within the volume (z and in-plane).
    public var inFieldOfView: Bool
    /// At least part of the body lies within the volume.
    public var partlyInFieldOfView: Bool
    public var basivertebralForamenCenter: Vec3
    public var basivertebralForamenSize_mm: [Double]
}

public struct BodyCompositionTruth: Codable, Sendable, Equatable {
    /// Slice nearest the L3 body centre; nil when outside the volume.
    public var l3SliceIndex: Int?
    public var l3SliceZ_mm: Double?
    public var l3CenterZ_mm: Double
    /// Areas counted on the label map of that slice (pixel area × count).
    public var skeletalMuscleArea_cm2: Double?
    public var subcutaneousFatArea_cm2: Double?
    public var visceralFatArea_cm2: Double?
    public var intermuscularFatArea_cm2: Double?
    public var targetSMA_cm2: Double
    public var targetSAT_cm2: Double
    public var targetVAT_cm2: Double
    public var muscleHU: Double
    public var subcutaneousFatHU: Double
    public var visceralFatHU: Double
    public var intermuscularFatHU: Double
}

public struct CalibrationRodTruth: Codable, Sendable, Equatable {
    public var index: Int
    public var label: UInt8
    /// A point on the rod axis (at the volume's centre z); the axis runs along z.
    public var center: Vec3
    public var radius_mm: Double
    public var concentration_mgcm3: Double
    public var hu: Double
}

public struct AcquisitionTruth: Codable, Sendable, Equatable {
    public var kVp: Double
    public var kernel: String
    public var pixelSpacing_mm: Double
    public var sliceThickness_mm: Double
    public var sliceSpacing_mm: Double
    public var psfFWHMInPlane_mm: Double
    public var psfFWHMZ_mm: Double
    public var noiseSigma_HU: Double
    public var noiseModel: String
    public var contrastPhase: ContrastPhase
    /// HU after enhancement (or unenhanced values when none).
    public var aortaHU: Double
    public var venousHU: Double
    public var trabecularBoneEnhancement_HU: Double
    public var storedRange_HU: [Double]
    public var metalClip_HU: Double
    public var seed: UInt64
}
