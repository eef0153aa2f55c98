import ArgumentParser
import DICOM
import Foundation
import Imaging

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a DICOM series (folder or files) to a NIfTI volume of HU.",
        discussion: """
            Voxel values are HU (Rescale Slope/Intercept applied) stored as int16; the NIfTI qform and
            sform hold the DICOM geometry converted from LPS to RAS, so world positions agree with
            dcm2niix's output (which stores raw values with scl_slope/scl_inter; the axis order may
            differ). Gantry-tilted series are resampled onto an orthogonal grid (or refused with
            --tilt refuse). Padding pixels outside the reconstructed field of view keep their value.
            """)

    @Argument(help: "DICOM folder or files.")
    var input: String

    @Argument(help: "Output path ending in .nii or .nii.gz.")
    var output: String

    @Option(help: "Series to convert when the input holds several: Series Instance UID, series number, or 'hip'.")
    var series: String?

    @Option(help: "Gantry tilt: resample or refuse.")
    var tilt: String = "resample"

    @Flag(help: "Write NIfTI-2 instead of NIfTI-1.")
    var nifti2 = false

    @Flag(help: "Print a JSON report.")
    var json = false

    func validate() throws {
        guard output.hasSuffix(".nii") || output.hasSuffix(".nii.gz") else {
            throw ValidationError("output must end in .nii or .nii.gz, got '\(output)'")
        }
        guard TiltPolicy(rawValue: tilt) != nil else {
            throw ValidationError("--tilt must be 'resample' or 'refuse', got '\(tilt)'")
        }
    }

    struct Report: Encodable {
        var output: String
        var seriesInstanceUID: String
        var size: [Int]
        var spacing_mm: [Double]
        var affineRAS: [[Double]]
        var tiltDegrees: Double
        var clampedVoxels: Int
        var paddingHU: Int16?
        var notes: [String]
    }

    func run() throws {
        let loaded: LoadedVolume
        do {
            let scan = try DICOMScanner.scan([input])
            let stack = try StackLookup.find(in: scan, selector: series)
            loaded = try VolumeAssembly.load(stack, tilt: TiltPolicy(rawValue: tilt) ?? .resample)
        } catch {
            throw CommandFailure(error.description)
        }
        do {
            try NIfTI.write(loaded.volume, to: output, version: nifti2 ? .two : .one)
        } catch {
            throw CommandFailure(error.description)
        }
        let v = loaded.volume
        let report = Report(
            output: output, seriesInstanceUID: loaded.stack.series.seriesInstanceUID, size: [v.size.x, v.size.y, v.size.z],
            spacing_mm: [v.geometry.spacing.x, v.geometry.spacing.y, v.geometry.spacing.z], affineRAS: v.geometry.affineRAS,
            tiltDegrees: loaded.geometry.tiltDegrees, clampedVoxels: loaded.clampedVoxels, paddingHU: loaded.paddingHU,
            notes: loaded.notes)
        if json {
            try JSONOut.print(report)
        } else {
            print("wrote \(output): \(v.size) voxels, spacing \(v.geometry.spacing.x)×\(v.geometry.spacing.y)×\(v.geometry.spacing.z) mm")
            for n in loaded.notes { print("note: \(n)") }
        }
    }
}
