import ArgumentParser
import Foundation
import Imaging
import Phantom

struct PhantomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phantom",
        abstract: "Write a digital hip phantom CT (an older woman's pelvis and proximal femora) with its ground truth.",
        discussion: """
            Writes OUTDIR/dicom/ (a CT series, one file per slice; or OUTDIR/ct.nii.gz with --format nifti),
            OUTDIR/labels.nii.gz (every structure labelled) and OUTDIR/truth.json (true densities in
            mg/cm³ K2HPO4 and HU, cortical thickness, head centre and radius, neck axis, narrow-neck
            cross-section, the HU↔density relation, all parameters). Defaults come from the preset
            (shared/reference/phantom-anatomy.md §8); options override them. Same options and seed ⇒
            byte-identical files.
            """)

    @Argument(help: "Output folder (created if needed).")
    var outdir: String

    @Option(help: "Noise seed.") var seed: UInt64 = 1
    @Option(help: "Grid: small (≈128×128×100, 3 mm), standard (512×512×300, 0.742×1.25 mm), full (512×512×375, 1 mm).")
    var size: String = "standard"
    @Option(help: "Anatomy and density: standard (72 y osteopenic), normal-young, osteoporotic.")
    var preset: String = "standard"
    @Option(help: "Output format of the CT: dicom or nifti.") var format: String = "dicom"
    @Option(help: "Scale of bone densities (1 = preset; < 1 more osteoporotic).") var boneDensityScale: Double?
    @Option(help: "Scale of cortical thicknesses (1 = preset).") var corticalThicknessScale: Double?
    @Option(help: "Neck–shaft angle, degrees.") var neckShaftAngle: Double?
    @Option(help: "Femoral anteversion, degrees.") var anteversion: Double?
    @Option(help: "Scale of the subcutaneous fat envelope (1 = preset).") var bodySizeScale: Double?
    @Option(help: "Noise σ in HU at the slice thickness.") var noise: Double?
    @Option(help: "In-plane PSF FWHM, mm.") var psfFwhm: Double?
    @Option(help: "PSF FWHM along z, mm.") var psfFwhmZ: Double?
    @Option(help: "Pixel spacing, mm.") var pixelSpacing: Double?
    @Option(help: "Slice thickness, mm.") var sliceThickness: Double?
    @Option(help: "Slice spacing, mm.") var sliceSpacing: Double?
    @Option(help: "Matrix columns.") var columns: Int?
    @Option(help: "Matrix rows.") var rows: Int?
    @Option(help: "Number of slices.") var slices: Int?
    @Option(help: "Contrast phase: none, arterial, portal-venous.") var contrast: String = "none"
    @Option(help: "Metal hip prosthesis: none, left, right.") var prosthesis: String = "none"
    @Option(help: "Field of view cutting the lateral proximal femur: none, left, right.") var fovCut: String = "none"
    @Flag(help: "Leave out the calibration phantom under the patient.") var noCalibrationPhantom = false
    @Option(help: "Calibration rod concentrations, mg/cm³ K2HPO4, comma-separated.") var rods: String?
    @Flag(help: "Also write density.nii.gz: each voxel's QCT-apparent density before blur and noise ((true HU − β)/σ, mg/cm³ K2HPO4; bone: its vBMD), so phantom-check can take the truth of any measured ROI. Costs 4 bytes per voxel.")
    var densityMap = false
    @Flag(help: "Print a JSON summary.") var json = false

    func parameters() throws -> PhantomParameters {
        guard let s = PhantomSize(rawValue: size) else {
            throw ValidationError("--size must be one of \(PhantomSize.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let pr = PhantomPreset(rawValue: preset) else {
            throw ValidationError("--preset must be one of \(PhantomPreset.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let defaults = PhantomParameters(preset: pr, size: s)
        var p = defaults
        p.seed = seed
        if let v = boneDensityScale { p.boneDensityScale = v }
        if let v = corticalThicknessScale { p.corticalThicknessScale = v }
        if let v = neckShaftAngle { p.neckShaftAngle_deg = v }
        if let v = anteversion { p.anteversion_deg = v }
        if let v = bodySizeScale { p.bodySizeScale = v }
        if let v = sliceThickness, v > 0 {
            p.sliceThickness_mm = v
            // Noise scales as 1/√(slice thickness) (phantom-anatomy.md §6) unless given.
            p.noiseSigma_HU = defaults.noiseSigma_HU * (defaults.sliceThickness_mm / v).squareRoot()
        }
        if let v = noise { p.noiseSigma_HU = v }
        if let v = psfFwhm { p.psfFWHMInPlane_mm = v }
        if let v = psfFwhmZ { p.psfFWHMZ_mm = v }
        if let v = pixelSpacing { p.pixelSpacing_mm = v }
        if let v = sliceSpacing { p.sliceSpacing_mm = v }
        if let v = columns { p.columns = v }
        if let v = rows { p.rows = v }
        if let v = slices { p.slices = v }
        guard let c = ContrastPhase(rawValue: contrast) else {
            throw ValidationError("--contrast must be one of \(ContrastPhase.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        p.contrastPhase = c
        guard let pro = PhantomSideOption(rawValue: prosthesis), let cut = PhantomSideOption(rawValue: fovCut) else {
            throw ValidationError("--prosthesis and --fov-cut must be none, left or right")
        }
        p.prosthesis = pro
        p.fieldOfViewCut = cut
        p.calibrationPhantom = !noCalibrationPhantom
        if let rods {
            let values = rods.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
                throw ValidationError("--rods must be numbers separated by commas, e.g. 0,50,100,200")
            }
            p.calibrationRodConcentrations_mgcm3 = values.compactMap { $0 }
        }
        return p
    }

    func validate() throws {
        guard format == "dicom" || format == "nifti" else { throw ValidationError("--format must be dicom or nifti") }
        // Out-of-range values are usage errors (exit 2), with the valid range in the message.
        do { try parameters().validate() } catch let e as PhantomError { throw ValidationError(e.description) }
    }

    func run() throws {
        let p = try parameters()
        let written: PhantomOutput.Written
        do {
            let scan = try PhantomGenerator.generate(p, densityMap: densityMap)
            written = try PhantomOutput.write(scan, to: outdir, format: format == "nifti" ? .nifti : .dicom)
        } catch {
            throw CommandFailure("\(error)")
        }
        if json {
            try JSONOut.print(written)
        } else {
            print("wrote \(written.ct) (\(written.size.map(String.init).joined(separator: "×")) voxels), \(written.labels), \(written.truth)\(written.density.map { ", " + $0 } ?? "")")
        }
    }
}
