public import DICOM
import Foundation
public import Imaging

/// Writes a generated phantom to disk: the CT (DICOM series or NIfTI), the label map and the truth.
public enum PhantomOutput {
    public enum Format: String, Sendable { case dicom, nifti }

    /// What was written, for the CLI's summary.
    public struct Written: Encodable, Sendable {
        public var ct: String
        public var labels: String
        public var truth: String
        public var density: String?
        public var format: String
        public var size: [Int]
        public var spacing_mm: [Double]
        public var files: Int
    }

    /// Who the phantom pretends to be, per preset (phantom-anatomy.md §8: age, height, weight).
    static func patient(_ p: PhantomPreset) -> (age: String, height_m: Double, weight_kg: Double) {
        switch p {
        case .normalYoung: return ("032Y", 1.65, 62)
        case .standard: return ("072Y", 1.60, 66)
        case .osteoporotic: return ("078Y", 1.57, 55)
        }
    }

    public static func write(_ scan: PhantomScan, to dir: String, format: Format) throws(PhantomError) -> Written {
        let p = scan.truth.parameters
        do { try FileIO.makeDirectory(dir) } catch { throw .output(error.description) }
        // UIDs derive from the parameters, so the same parameters always give the same files and
        // different ones never collide.
        let key: String
        do { key = String(decoding: try canonicalJSON(p), as: UTF8.self) } catch { throw .output("\(error)") }
        let ctPath: String
        var files = 0
        switch format {
        case .dicom:
            let who = patient(p.preset)
            var d = CTSeriesDescription(
                studyInstanceUID: DICOMUID.derived(from: "osteoct-phantom-study " + key),
                seriesInstanceUID: DICOMUID.derived(from: "osteoct-phantom-series " + key),
                frameOfReferenceUID: DICOMUID.derived(from: "osteoct-phantom-for " + key),
                sopInstanceUIDPrefix: DICOMUID.derived(from: "osteoct-phantom-sop " + key),
                sliceThickness_mm: p.sliceThickness_mm)
            d.patientID = "PHANTOM-\(p.preset.rawValue)-\(p.seed)"
            d.patientAge = who.age
            d.patientSize_m = who.height_m
            d.patientWeight_kg = who.weight_kg
            d.seriesDescription = "PHANTOM AXIAL \(formatNumber(p.sliceThickness_mm)) MM STANDARD"
            d.studyDescription = "CT ABDOMEN PELVIS (DIGITAL HIP PHANTOM)"
            d.convolutionKernel = "STANDARD"  // SH ≤ 16 characters; the PSF model is in truth.json
            d.kvp = scan.truth.acquisition.kVp
            if p.contrastPhase != .none {
                d.contrastAgent = "IOHEXOL 350"
                d.contrastRoute = "IV"
                d.seriesDescription += p.contrastPhase == .arterial ? " ARTERIAL" : " PORTAL VENOUS"
            }
            if scan.hu.voxels.contains(Int16(clamping: Int(scan.truth.grid.paddingValue_HU))) {
                d.paddingHU = Int16(clamping: Int(scan.truth.grid.paddingValue_HU))
            }
            ctPath = dir + "/dicom"
            do { files = try CTSeriesWriter.write(scan.hu, d, to: ctPath).count } catch { throw .output(error.description) }
        case .nifti:
            ctPath = dir + "/ct.nii.gz"
            do { try NIfTI.write(scan.hu, to: ctPath) } catch { throw .output(error.description) }
            files = 1
        }
        let labelsPath = dir + "/labels.nii.gz"
        do { try NIfTI.write(scan.labels, to: labelsPath) } catch { throw .output(error.description) }
        var densityPath: String?
        if let density = scan.density {
            let path = dir + "/density.nii.gz"
            do { try NIfTI.write(density, to: path) } catch { throw .output(error.description) }
            densityPath = path
        }
        let truthPath = dir + "/truth.json"
        do {
            var json = try canonicalJSON(scan.truth, pretty: true)
            json.append(0x0A)
            try FileIO.writeAtomically(Array(json), to: truthPath)
        } catch {
            throw .output("\(truthPath): \(error)")
        }
        let g = scan.hu.geometry
        return Written(
            ct: ctPath, labels: labelsPath, truth: truthPath, density: densityPath, format: format.rawValue,
            size: [scan.hu.size.x, scan.hu.size.y, scan.hu.size.z], spacing_mm: [g.spacing.x, g.spacing.y, g.spacing.z],
            files: files + (densityPath == nil ? 2 : 3))
    }

    static func canonicalJSON<T: Encodable>(_ v: T, pretty: Bool = false) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try e.encode(v)
    }

    static func formatNumber(_ x: Double) -> String {
        x == x.rounded() ? String(Int(x)) : String(x)
    }
}
