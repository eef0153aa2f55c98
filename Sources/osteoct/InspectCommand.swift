import ArgumentParser
import DICOM
import Foundation
import Imaging

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List the studies and series under files or folders, with an eligibility verdict for hip analysis.",
        discussion: """
            Folders are searched recursively. For each series: modality, kernel, slice thickness and
            spacing, image count, transfer syntaxes (and whether OsteoCT decodes them), contrast,
            body part, scanner. For each study: which series hip analysis would use, and why the
            others were not chosen. Patient names and IDs are not printed.
            """)

    @Argument(help: "DICOM files or folders.")
    var paths: [String]

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let scan: ScanResult
        do { scan = try DICOMScanner.scan(paths) } catch { throw CommandFailure(error.description) }
        let report = InspectReport(scan)
        if json {
            try JSONOut.print(report)
        } else {
            print(report.text)
        }
        if scan.studies.isEmpty {
            throw CommandFailure(
                "no DICOM images found under \(paths.joined(separator: ", "))"
                    + (scan.unreadable.isEmpty ? "" : " (\(scan.unreadable.count) file(s) could not be read; see above)"))
        }
    }
}

struct InspectReport: Encodable {
    struct Problem: Encodable { var path: String; var reason: String }
    struct Syntax: Encodable { var uid: String; var name: String; var decoded: Bool }
    struct Contrast: Encodable { var declared: Bool; var agent: String?; var route: String? }
    struct Eligibility: Encodable { var eligible: Bool; var problems: [String]; var remarks: [String] }
    struct Series: Encodable {
        var seriesInstanceUID: String
        var seriesNumber: Int?
        var description: String?
        var modality: String?
        var manufacturer: String?
        var model: String?
        var stationName: String?
        var kvp: Double?
        var kernel: String?
        var sliceThickness_mm: Double?
        var sliceSpacing_mm: Double?
        var files: Int
        var frames: Int
        var rows: Int?
        var columns: Int?
        var pixelSpacing_mm: [Double]?
        var orientation: String?
        var tiltDegrees: Double?
        var zRange_mm: [Double]?
        var stacks: Int
        var bodyPartExamined: String?
        var imageType: [String]
        var transferSyntaxes: [Syntax]
        var contrast: Contrast
        var skipped: [String]
        var unusable: [String]
        var hipEligibility: Eligibility
    }
    struct Selection: Encodable {
        var seriesInstanceUID: String?
        var description: String?
        var reasons: [String]
        var rejected: [Problem]
    }
    struct Study: Encodable {
        var studyInstanceUID: String
        var studyDate: String?
        var description: String?
        var accessionNumber: String?
        var patientSex: String?
        var patientAge: String?
        var series: [Series]
        var hipAnalysis: Selection
    }
    var studies: [Study]
    var unreadable: [Problem]
    var nonImageObjects: Int

    init(_ scan: ScanResult) {
        unreadable = scan.unreadable.map { Problem(path: $0.path, reason: $0.reason) }
        nonImageObjects = scan.nonImageCount
        studies = scan.studies.map { study in
            let (choice, considered) = SeriesSelection.choose(study)
            let series = study.series.map { s -> Series in
                let stacks = (try? VolumeAssembly.stacks(of: s)) ?? []
                let main = stacks.max { $0.frames.count < $1.frames.count }
                let geo = main.flatMap { try? VolumeAssembly.geometry(of: $0) }
                let verdicts = considered.filter { $0.seriesInstanceUID == s.seriesInstanceUID }.map(\.eligibility)
                let best = verdicts.first { $0.eligible } ?? verdicts.first
                var zRange: [Double]?
                if let main, let n = main.frames.first?.normal, let a = main.frames.first, let b = main.frames.last {
                    zRange = [n.dot(a.position), n.dot(b.position)].map { ($0 * 1000).rounded() / 1000 }
                }
                let f = s.frames.first
                return Series(
                    seriesInstanceUID: s.seriesInstanceUID, seriesNumber: s.seriesNumber, description: s.seriesDescription,
                    modality: s.modality, manufacturer: s.manufacturer, model: s.manufacturerModelName,
                    stationName: s.stationName, kvp: s.kvp, kernel: s.kernel, sliceThickness_mm: s.sliceThickness,
                    sliceSpacing_mm: geo.map { ($0.sliceSpacing * 10000).rounded() / 10000 },
                    files: s.files.count, frames: s.frames.count, rows: f?.pixel.descriptor.rows, columns: f?.pixel.descriptor.columns,
                    pixelSpacing_mm: f.map { [$0.rowSpacing, $0.columnSpacing] }, orientation: main?.orientationName,
                    tiltDegrees: geo.map { ($0.tiltDegrees * 100).rounded() / 100 }, zRange_mm: zRange,
                    stacks: stacks.count, bodyPartExamined: s.bodyPartExamined, imageType: s.imageType,
                    transferSyntaxes: s.transferSyntaxes.sorted().map { uid in
                        let ts = TransferSyntax.lookup(uid)
                        return Syntax(uid: uid, name: ts.name, decoded: PixelCodecs.supportedTransferSyntaxes.contains(ts))
                    },
                    contrast: Contrast(
                        declared: SeriesSelection.contrastDeclared(s), agent: s.contrastBolusAgent, route: s.contrastBolusRoute),
                    skipped: Array(s.skipped.prefix(20)), unusable: Array(s.unusable.prefix(20)),
                    hipEligibility: Eligibility(
                        eligible: best?.eligible ?? false, problems: best?.problems ?? ["no volume could be formed"],
                        remarks: best?.remarks ?? []))
            }
            let selection = Selection(
                seriesInstanceUID: choice?.stack.series.seriesInstanceUID,
                description: choice.map { SeriesSelection.describe($0.stack.series, $0.stack) },
                reasons: choice?.reasons ?? ["no series is eligible for hip analysis"],
                rejected: (choice?.rejected ?? considered.map { ($0.description, $0.eligibility.problems.joined(separator: "; ")) })
                    .map { Problem(path: $0.0, reason: $0.1) })
            return Study(
                studyInstanceUID: study.studyInstanceUID, studyDate: study.studyDate, description: study.studyDescription,
                accessionNumber: study.accessionNumber, patientSex: study.patientSex, patientAge: study.patientAge,
                series: series, hipAnalysis: selection)
        }
    }

    var text: String {
        var lines: [String] = []
        for st in studies {
            lines.append("Study \(st.studyInstanceUID)  date \(st.studyDate ?? "?")  \(st.description ?? "")")
            if st.patientSex != nil || st.patientAge != nil {
                lines.append("  patient: sex \(st.patientSex ?? "?"), age \(st.patientAge ?? "?")")
            }
            for s in st.series {
                let thick = s.sliceThickness_mm.map { "\($0) mm" } ?? "?"
                let spacing = s.sliceSpacing_mm.map { "\($0) mm" } ?? "?"
                let matrix = s.rows.flatMap { r in s.columns.map { "\($0)×\(r)" } } ?? "?"
                lines.append("  Series \(s.seriesNumber.map(String.init) ?? "?") \"\(s.description ?? "")\" \(s.modality ?? "?")  \(s.frames) images \(matrix)  thickness \(thick), spacing \(spacing)  kernel \(s.kernel ?? "?")  \(s.orientation ?? "")")
                lines.append("    scanner: \(s.manufacturer ?? "?") \(s.model ?? "")  kVp \(s.kvp.map { String($0) } ?? "?")  body part \(s.bodyPartExamined ?? "?")  contrast: \(s.contrast.declared ? "yes (\(s.contrast.agent ?? s.contrast.route ?? "described"))" : "none declared")")
                lines.append("    transfer syntax: " + s.transferSyntaxes.map { "\($0.name)\($0.decoded ? "" : " [NOT DECODED]")" }.joined(separator: ", "))
                if (s.tiltDegrees ?? 0) > 0 { lines.append("    gantry tilt \(s.tiltDegrees ?? 0)°") }
                lines.append("    hip analysis: " + (s.hipEligibility.eligible ? "eligible" : "not eligible: " + s.hipEligibility.problems.joined(separator: "; "))
                    + (s.hipEligibility.remarks.isEmpty ? "" : " (" + s.hipEligibility.remarks.joined(separator: "; ") + ")"))
                for k in s.skipped.prefix(3) { lines.append("    skipped: \(k)") }
                for k in s.unusable.prefix(3) { lines.append("    UNUSABLE: \(k)") }
            }
            if let chosen = st.hipAnalysis.description {
                lines.append("  → hip analysis would use \(chosen): " + st.hipAnalysis.reasons.joined(separator: "; "))
            } else {
                lines.append("  → no series is eligible for hip analysis")
            }
            for r in st.hipAnalysis.rejected { lines.append("    not chosen: \(r.path): \(r.reason)") }
        }
        if nonImageObjects > 0 { lines.append("\(nonImageObjects) DICOM object(s) without images (reports, dose, SR) ignored") }
        for u in unreadable.prefix(50) { lines.append("unreadable: \(u.path): \(u.reason)") }
        if unreadable.count > 50 { lines.append("… and \(unreadable.count - 50) more unreadable file(s)") }
        return lines.joined(separator: "\n")
    }
}
