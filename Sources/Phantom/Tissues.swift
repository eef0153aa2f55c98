// Tissue values: HU of every soft tissue, the bone densities of the chosen preset (scaled), and the
// contrast enhancement of the chosen phase. Bone: HU = σ·vBMD_app + β (DensityModel, §8).

struct TissueTable: Sendable {
    let anatomy: PhantomAnatomy
    let phase: ContrastPhase
    let boneScale: Double

    // Bone apparent densities after the density scale (mg/cm³ K2HPO4).
    var cortical: Double { anatomy.corticalVBMD * boneScale }
    var headTrabecular: Double { anatomy.headTrabecularVBMD * boneScale }
    var neckTrabecular: Double { anatomy.neckTrabecularVBMD * boneScale }
    var trochanterTrabecular: Double { anatomy.trochanterTrabecularVBMD * boneScale }
    var spineTrabecular: Double { anatomy.spineTrabecularVBMD * boneScale }
    var pelvisTrabecular: Double { anatomy.spineTrabecularVBMD * AnatomyConstants.pelvisTrabecularFraction * boneScale }
    /// Fatty marrow of the femoral canal is not bone: not scaled.
    var medullary: Double { AnatomyConstants.medullaryVBMD }

    /// Enhancement of trabecular bone (marrow perfusion): §4 [S] late arterial +14.4 HU (Grünewald);
    /// §8 portal venous "+15 to +25 HU" → +20.
    var trabecularEnhancement: Double {
        switch phase {
        case .none: return 0
        case .arterial: return 14
        case .portalVenous: return 20
        }
    }

    func cortex(_ label: UInt8) -> TissueSample {
        TissueSample(label: label, hu: DensityModel.hu(cortical), density: cortical)
    }
    func trabecular(_ label: UInt8, vbmd: Double) -> TissueSample {
        TissueSample(label: label, hu: DensityModel.hu(vbmd) + trabecularEnhancement, density: vbmd)
    }

    /// Soft tissue with no mineral.
    func soft(_ label: UInt8, _ hu: Double) -> TissueSample { TissueSample(label: label, hu: hu, density: 0) }

    // MARK: soft tissues (HU at 120 kVp)

    /// §4 [V]: air −1000 HU.
    var air: TissueSample { soft(PhantomLabel.air, -1000) }
    var sat: TissueSample { soft(PhantomLabel.subcutaneousFat, anatomy.satHU) }     // §8
    var vat: TissueSample { soft(PhantomLabel.visceralFat, anatomy.vatHU) }         // §8
    var imat: TissueSample { soft(PhantomLabel.intermuscularFat, anatomy.imatHU) }  // §8
    /// Skin (assumed ≈ 40 HU, dense connective tissue).
    var skin: TissueSample { soft(PhantomLabel.skin, 40) }
    /// §8 muscle HU; enhancement assumed +5 HU arterial, +10 HU portal venous.
    func muscle(_ label: UInt8) -> TissueSample {
        soft(label, anatomy.muscleHU + (phase == .none ? 0 : phase == .arterial ? 5 : 10))
    }
    /// Arterial blood: §8 unenhanced per preset; arterial 320, portal venous 170 HU (§8 "Optional contrast").
    var arterialBloodHU: Double {
        switch phase {
        case .none: return anatomy.bloodHU
        case .arterial: return 320
        case .portalVenous: return 170
        }
    }
    /// Venous blood (assumed): not yet opacified in the arterial phase below the renal veins; portal venous
    /// ≈ 150 HU, near the portal vein's 145 ± 20 HU (§4 [V]).
    var venousBloodHU: Double {
        switch phase {
        case .none, .arterial: return anatomy.bloodHU
        case .portalVenous: return 150
        }
    }
    /// Liver: unenhanced 55 HU (assumed); portal venous 110 HU (§4 [M] "≈ 100–120"); arterial +15 (assumed).
    var liver: TissueSample {
        soft(PhantomLabel.liver, phase == .none ? 55 : phase == .arterial ? 70 : 110)
    }
    /// Kidney: 32 HU unenhanced, +120 arterial (cortex), +140 portal venous (assumed).
    func kidney(_ label: UInt8) -> TissueSample {
        soft(label, phase == .none ? 32 : phase == .arterial ? 152 : 172)
    }
    /// Bowel and pelvic organs (collapsed bowel, uterus, rectum): 38 HU, +15 / +30 enhanced (assumed).
    func organ(_ label: UInt8) -> TissueSample {
        soft(label, phase == .none ? 38 : phase == .arterial ? 53 : 68)
    }
    /// Urine: water-like (assumed 5 HU); no excreted contrast in these early phases.
    var bladder: TissueSample { soft(PhantomLabel.bladder, 5) }
    /// Cerebrospinal fluid and cord (assumed 12 HU).
    var canal: TissueSample { soft(PhantomLabel.spinalCanal, 12) }
    /// Disc (assumed 80 HU).
    func disc(_ label: UInt8) -> TissueSample { soft(label, 80) }
    /// Hip joint space: cartilage and synovial fluid; brief: 50–80 HU → 65 HU.
    func jointSpace(_ label: UInt8) -> TissueSample { soft(label, 65) }
    /// Sacroiliac joint cartilage (assumed 65 HU) and pubic symphysis fibrocartilage (assumed 80 HU).
    var sacroiliac: TissueSample { soft(PhantomLabel.sacroiliacJoints, 65) }
    var symphysis: TissueSample { soft(PhantomLabel.pubicSymphysis, 80) }

    // MARK: equipment (assumed values; only their appearance matters)

    /// Carbon-fibre couch skin (assumed +250 HU) and foam core (assumed −900 HU).
    var tableShell: TissueSample { soft(PhantomLabel.tableShell, 250) }
    var tableFoam: TissueSample { soft(PhantomLabel.tableFoam, -900) }
    /// Water-equivalent resin: 0 HU by definition of water equivalence.
    var resin: TissueSample { soft(PhantomLabel.calibrationResin, 0) }
    /// PMMA tube wall (assumed +120 HU at 120 kVp).
    var tubeWall: TissueSample { soft(PhantomLabel.calibrationTubeWall, 120) }
    /// K2HPO4 solution rod: HU = σ·c + β, the same relation as bone (§4 Mindways convention).
    func rod(_ i: Int, concentration c: Double) -> TissueSample {
        TissueSample(label: PhantomLabel.calibrationRod(i), hu: DensityModel.hu(c), density: c)
    }

    // MARK: metal (§7)

    /// CoCrMo head: true HU on an extended scale, taken as steel at 120 kV (§7 [V]: 13127 HU); clipped to 3071.
    var cocr: TissueSample { soft(PhantomLabel.prosthesisHead, 13127) }
    /// Ti-6Al-4V stem: §7 [V] titanium 7140 HU at 120 kV; clipped to 3071.
    var titanium: TissueSample { soft(PhantomLabel.prosthesisStem, 7140) }

    /// Soft-tissue HU values recorded in the truth.
    func softTissueTable() -> [String: Double] {
        [
            "air": -1000, "skin": skin.hu, "subcutaneous_fat": sat.hu, "visceral_fat": vat.hu,
            "intermuscular_fat": imat.hu, "muscle": muscle(0).hu, "arterial_blood": arterialBloodHU,
            "venous_blood": venousBloodHU, "liver": liver.hu, "kidney": kidney(0).hu, "bowel_and_pelvic_organs": organ(0).hu,
            "urine": bladder.hu, "csf": canal.hu, "intervertebral_disc": 80, "hip_joint_space": 65,
            "sacroiliac_joint": 65, "pubic_symphysis": 80, "table_shell": tableShell.hu, "table_foam": tableFoam.hu,
            "calibration_resin": resin.hu, "calibration_tube_wall": tubeWall.hu, "cocr_true": cocr.hu,
            "titanium_true": titanium.hu,
        ]
    }
}
