import ArgumentParser
import DICOM
import Foundation
import Imaging
import QCT

/// `osteoct calibrate`: HU → mineral density for one CT series.
struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "HU → bone-mineral density (mg/cm³) for a CT series: finds the calibration phantom's rods and fits them.",
        discussion: """
            Synchronous calibration: the rods of a calibration phantom scanned with the patient are found
            automatically (uniform disks that stay the same along the table, in a row), matched to the
            certified rod densities and fitted (plain least squares, or the Mindways water-corrected
            equations). Prints the fit, every rod with its residual, and a QC verdict; exit 1 when no
            phantom is found or QC fails. --phantom names the phantom (`--list-phantoms`); without it
            every catalogue phantom is tried and the best fit wins. A site adds its certificate values
            with --phantom-catalogue (a JSON array in the format `--list-phantoms --json` prints).
            """
    )

    @Argument(help: "CT series: a DICOM folder or file, or a NIfTI volume (.nii/.nii.gz, HU).")
    var input: String?

    @Option(help: "Series to use when the input holds several: Series Instance UID, series number, or 'hip'.")
    var series: String?

    @Option(help: "Calibration phantom id (see --list-phantoms).")
    var phantom: String?

    @Option(help: "Additional phantom definitions (JSON array), e.g. your phantom's certificate values.")
    var phantomCatalogue: String?

    @Flag(help: "List the phantoms of the catalogue.")
    var listPhantoms = false

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        if !listPhantoms && input == nil { throw ValidationError("give a CT series (DICOM folder/file or NIfTI), or --list-phantoms") }
    }

    func run() throws {
        var catalogue = CalibrationPhantomCatalogue.builtIn
        if let phantomCatalogue {
            do { try catalogue.add(contentsOf: URL(fileURLWithPath: phantomCatalogue)) } catch { throw CommandFailure(error.description) }
        }
        if listPhantoms {
            if json { try JSONOut.print(catalogue.phantoms); return }
            for p in catalogue.phantoms {
                let rods = p.rods.map { "\($0.name) \(fmt($0.density_mgcm3))" }.joined(separator: ", ")
                print("\(p.id): \(p.name) — \(p.equivalent.rawValue), \(p.equations.rawValue); rods \(rods) mg/cm³; source: \(p.source)")
            }
            return
        }
        var definition: CalibrationPhantomDefinition?
        if let phantom {
            guard let d = catalogue.phantom(phantom) else {
                throw CommandFailure("no phantom '\(phantom)' in the catalogue; known: \(catalogue.phantoms.map(\.id).joined(separator: ", "))")
            }
            definition = d
        }
        let (volume, padding) = try loadCT(input!, series: series)
        let calibration: DensityCalibration
        do { calibration = try PhantomCalibration.calibrate(volume, padding: padding, phantom: definition, catalogue: catalogue) } catch {
            throw CommandFailure("\(input!): \(error.description)")
        }
        if json {
            try JSONOut.print(calibration)
        } else {
            print(Self.describe(calibration))
        }
        if !calibration.qc.passed { throw ExitCode(1) }
    }

    static func describe(_ c: DensityCalibration) -> String {
        var lines: [String] = []
        lines.append("calibration: \(c.method.rawValue) with \(c.reference ?? "-") (\(c.equivalent?.rawValue ?? "HU only"))")
        if let s = c.slope_HU_per_mgcm3, let b = c.intercept_HU {
            lines.append(String(format: "  HU = %.4f · ρ %@ %.2f   (σ SE %.4f, β SE %.2f HU; R² %.5f; RMS residual %.2f mg/cm³)",
                                s, b < 0 ? "−" : "+", abs(b), c.slopeSE ?? 0, c.interceptSE ?? 0, c.rSquared ?? 0, c.rmsResidual_mgcm3 ?? 0))
            lines.append(String(format: "  ρ (mg/cm³) = (HU − %.2f) / %.4f", b, s))
        }
        for p in c.points {
            lines.append(String(format: "  rod %@: %8.2f mg/cm³  mean %8.2f HU  SD %6.1f  %6d voxels  residual %+.2f mg/cm³",
                                p.name, p.density_mgcm3, p.meanHU, p.sdHU, p.voxels, p.residual_mgcm3))
        }
        lines.append("  QC: " + (c.qc.passed ? "passed" : "FAILED — " + c.qc.problems.joined(separator: "; ")))
        for n in c.notes { lines.append("  note: \(n)") }
        return lines.joined(separator: "\n")
    }
}

private func fmt(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }

/// A CT volume in HU from a DICOM series or a NIfTI file, with the padding value outside the field of view.
func loadCT(_ path: String, series: String?) throws -> (Volume<Int16>, Int16?) {
    if path.hasSuffix(".nii") || path.hasSuffix(".nii.gz") {
        do {
            let (v, _) = try NIfTI.read(path: path).int16Volume()
            return (v, nil)
        } catch { throw CommandFailure("\(path): \(error)") }
    }
    do {
        let scan = try DICOMScanner.scan([path])
        let stack = try StackLookup.find(in: scan, selector: series)
        let loaded = try VolumeAssembly.load(stack)
        return (loaded.volume, loaded.paddingHU)
    } catch {
        throw CommandFailure("\(path): \(error.description)")
    }
}
