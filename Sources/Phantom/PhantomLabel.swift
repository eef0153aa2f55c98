// The label table: one id per structure (≤ 255), with its name and tissue. Written into the truth.

/// Proximal-femur sub-regions (labelling convention of this phantom, not the Hologic/CTXA ROIs).
public enum FemurRegion: String, CaseIterable, Codable, Sendable {
    case head, neck
    case greaterTrochanter = "greater_trochanter"
    case intertrochanter, shaft
}

/// Bone compartment.
public enum BoneCompartment: String, CaseIterable, Codable, Sendable {
    case cortical, trabecular
}

/// Vertebral levels present in the phantom.
public enum VertebralLevel: String, CaseIterable, Codable, Sendable {
    case T12, L1, L2, L3, L4, L5
    var index: Int { VertebralLevel.allCases.firstIndex(of: self) ?? 0 }
}

/// One row of the label table.
public struct PhantomLabelInfo: Codable, Sendable, Equatable {
    public let id: UInt8
    public let name: String
    /// Tissue class (e.g. "cortical_bone", "muscle", "adipose").
    public let tissue: String
}

/// Label ids. Each voxel's label is the structure at the voxel centre.
public enum PhantomLabel {
    public static let air: UInt8 = 0
    public static let tableShell: UInt8 = 1
    public static let tableFoam: UInt8 = 2
    public static let calibrationResin: UInt8 = 3
    public static let calibrationTubeWall: UInt8 = 4
    /// Rod i (0-based) has id calibrationRodBase + i (up to 6 rods).
    public static let calibrationRodBase: UInt8 = 5
    public static let skin: UInt8 = 11
    public static let subcutaneousFat: UInt8 = 12
    public static let visceralFat: UInt8 = 13
    public static let intermuscularFat: UInt8 = 14
    public static let iliopsoasLeft: UInt8 = 20
    public static let iliopsoasRight: UInt8 = 21
    public static let paraspinalLeft: UInt8 = 22
    public static let paraspinalRight: UInt8 = 23
    public static let quadratusLumborumLeft: UInt8 = 24
    public static let quadratusLumborumRight: UInt8 = 25
    public static let abdominalWall: UInt8 = 26
    public static let gluteusMaximusLeft: UInt8 = 27
    public static let gluteusMaximusRight: UInt8 = 28
    public static let gluteusMediusMinimusLeft: UInt8 = 29
    public static let gluteusMediusMinimusRight: UInt8 = 30
    public static let thighMusclesLeft: UInt8 = 31
    public static let thighMusclesRight: UInt8 = 32
    public static let pelvicFloorMuscles: UInt8 = 33
    public static let liver: UInt8 = 40
    public static let kidneyLeft: UInt8 = 41
    public static let kidneyRight: UInt8 = 42
    public static let bowel: UInt8 = 43
    public static let bladder: UInt8 = 44
    public static let pelvicOrgans: UInt8 = 45
    public static let aorta: UInt8 = 50
    public static let inferiorVenaCava: UInt8 = 51
    public static let iliofemoralArteries: UInt8 = 52
    public static let iliofemoralVeins: UInt8 = 53
    public static let basivertebralVein: UInt8 = 54
    public static let spinalCanal: UInt8 = 55
    /// Discs T12/L1 … L5/S1: discBase + 0 … 5.
    public static let discBase: UInt8 = 84
    public static let sacrumCortical: UInt8 = 90
    public static let sacrumTrabecular: UInt8 = 91
    public static let sacroiliacJoints: UInt8 = 92
    public static let pubicSymphysis: UInt8 = 93
    public static let jointSpaceLeft: UInt8 = 98
    public static let jointSpaceRight: UInt8 = 99
    public static let prosthesisHead: UInt8 = 140
    public static let prosthesisStem: UInt8 = 141
    /// Pixels outside the scan field of view (HU = padding value).
    public static let outsideFieldOfView: UInt8 = 255

    /// Os coxae of one side.
    public static func pelvis(_ side: PhantomSide, _ c: BoneCompartment) -> UInt8 {
        UInt8(94 + (side == .left ? 0 : 2) + (c == .cortical ? 0 : 1))
    }
    /// Proximal femur sub-region and compartment.
    public static func femur(_ side: PhantomSide, _ region: FemurRegion, _ c: BoneCompartment) -> UInt8 {
        let r = FemurRegion.allCases.firstIndex(of: region) ?? 0
        return UInt8(100 + (side == .left ? 0 : 20) + 2 * r + (c == .cortical ? 0 : 1))
    }
    /// Vertebra: body (cortical shell + endplates, trabecular centrum) or posterior elements.
    public static func vertebra(_ level: VertebralLevel, body: Bool, _ c: BoneCompartment) -> UInt8 {
        UInt8(60 + 4 * level.index + (body ? 0 : 2) + (c == .cortical ? 0 : 1))
    }
    /// Disc below `level` (T12 → T12/L1, …, L5 → L5/S1).
    public static func disc(below level: VertebralLevel) -> UInt8 { discBase + UInt8(level.index) }
    public static func calibrationRod(_ i: Int) -> UInt8 { calibrationRodBase + UInt8(max(0, min(5, i))) }

    /// Skeletal-muscle labels (for SMA).
    public static let muscles: [UInt8] = [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33]

    /// The whole table, sorted by id.
    public static let table: [PhantomLabelInfo] = {
        var t: [PhantomLabelInfo] = [
            .init(id: air, name: "air", tissue: "air"),
            .init(id: tableShell, name: "table_shell", tissue: "carbon_fibre"),
            .init(id: tableFoam, name: "table_foam", tissue: "foam"),
            .init(id: calibrationResin, name: "calibration_resin", tissue: "water_equivalent_resin"),
            .init(id: calibrationTubeWall, name: "calibration_tube_wall", tissue: "pmma"),
        ]
        for i in 0..<6 {
            t.append(.init(id: calibrationRod(i), name: "calibration_rod_\(i + 1)", tissue: "k2hpo4_solution"))
        }
        t += [
            .init(id: skin, name: "skin", tissue: "skin"),
            .init(id: subcutaneousFat, name: "subcutaneous_fat", tissue: "adipose"),
            .init(id: visceralFat, name: "visceral_fat", tissue: "adipose"),
            .init(id: intermuscularFat, name: "intermuscular_fat", tissue: "adipose"),
            .init(id: iliopsoasLeft, name: "iliopsoas_left", tissue: "muscle"),
            .init(id: iliopsoasRight, name: "iliopsoas_right", tissue: "muscle"),
            .init(id: paraspinalLeft, name: "paraspinal_left", tissue: "muscle"),
            .init(id: paraspinalRight, name: "paraspinal_right", tissue: "muscle"),
            .init(id: quadratusLumborumLeft, name: "quadratus_lumborum_left", tissue: "muscle"),
            .init(id: quadratusLumborumRight, name: "quadratus_lumborum_right", tissue: "muscle"),
            .init(id: abdominalWall, name: "abdominal_wall_muscles", tissue: "muscle"),
            .init(id: gluteusMaximusLeft, name: "gluteus_maximus_left", tissue: "muscle"),
            .init(id: gluteusMaximusRight, name: "gluteus_maximus_right", tissue: "muscle"),
            .init(id: gluteusMediusMinimusLeft, name: "gluteus_medius_minimus_left", tissue: "muscle"),
            .init(id: gluteusMediusMinimusRight, name: "gluteus_medius_minimus_right", tissue: "muscle"),
            .init(id: thighMusclesLeft, name: "thigh_muscles_left", tissue: "muscle"),
            .init(id: thighMusclesRight, name: "thigh_muscles_right", tissue: "muscle"),
            .init(id: pelvicFloorMuscles, name: "pelvic_wall_floor_muscles", tissue: "muscle"),
            .init(id: liver, name: "liver", tissue: "liver"),
            .init(id: kidneyLeft, name: "kidney_left", tissue: "kidney"),
            .init(id: kidneyRight, name: "kidney_right", tissue: "kidney"),
            .init(id: bowel, name: "bowel", tissue: "soft_tissue"),
            .init(id: bladder, name: "urinary_bladder", tissue: "urine"),
            .init(id: pelvicOrgans, name: "pelvic_organs", tissue: "soft_tissue"),
            .init(id: aorta, name: "aorta", tissue: "blood"),
            .init(id: inferiorVenaCava, name: "inferior_vena_cava", tissue: "blood"),
            .init(id: iliofemoralArteries, name: "iliofemoral_arteries", tissue: "blood"),
            .init(id: iliofemoralVeins, name: "iliofemoral_veins", tissue: "blood"),
            .init(id: basivertebralVein, name: "basivertebral_foramen", tissue: "blood"),
            .init(id: spinalCanal, name: "spinal_canal", tissue: "csf"),
        ]
        for level in VertebralLevel.allCases {
            for body in [true, false] {
                for c in BoneCompartment.allCases {
                    t.append(.init(id: vertebra(level, body: body, c),
                                   name: "vertebra_\(level.rawValue)_\(body ? "body" : "posterior")_\(c.rawValue)",
                                   tissue: c == .cortical ? "cortical_bone" : "trabecular_bone"))
                }
            }
        }
        let discNames = ["T12_L1", "L1_L2", "L2_L3", "L3_L4", "L4_L5", "L5_S1"]
        for (i, n) in discNames.enumerated() {
            t.append(.init(id: discBase + UInt8(i), name: "disc_\(n)", tissue: "intervertebral_disc"))
        }
        t += [
            .init(id: sacrumCortical, name: "sacrum_cortical", tissue: "cortical_bone"),
            .init(id: sacrumTrabecular, name: "sacrum_trabecular", tissue: "trabecular_bone"),
            .init(id: sacroiliacJoints, name: "sacroiliac_joints", tissue: "cartilage"),
            .init(id: pubicSymphysis, name: "pubic_symphysis", tissue: "fibrocartilage"),
        ]
        for side in PhantomSide.allCases {
            for c in BoneCompartment.allCases {
                t.append(.init(id: pelvis(side, c), name: "pelvis_\(side.rawValue)_\(c.rawValue)",
                               tissue: c == .cortical ? "cortical_bone" : "trabecular_bone"))
            }
        }
        t += [
            .init(id: jointSpaceLeft, name: "hip_joint_space_left", tissue: "cartilage"),
            .init(id: jointSpaceRight, name: "hip_joint_space_right", tissue: "cartilage"),
        ]
        for side in PhantomSide.allCases {
            for r in FemurRegion.allCases {
                for c in BoneCompartment.allCases {
                    let tissue: String
                    if c == .cortical { tissue = "cortical_bone" } else { tissue = r == .shaft ? "trabecular_bone_and_marrow" : "trabecular_bone" }
                    t.append(.init(id: femur(side, r, c), name: "femur_\(side.rawValue)_\(r.rawValue)_\(c.rawValue)",
                                   tissue: tissue))
                }
            }
        }
        t += [
            .init(id: prosthesisHead, name: "prosthesis_head", tissue: "cocr_alloy"),
            .init(id: prosthesisStem, name: "prosthesis_stem", tissue: "titanium_alloy"),
            .init(id: outsideFieldOfView, name: "outside_field_of_view", tissue: "padding"),
        ]
        return t.sorted { $0.id < $1.id }
    }()

    public static func info(_ id: UInt8) -> PhantomLabelInfo? { table.first { $0.id == id } }
}
