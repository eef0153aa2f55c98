import Imaging
import Foundation

/// Whether a stack is fit for hip analysis, and why.
public struct HipEligibility: Sendable {
    public var eligible: Bool
    /// Reasons it is not eligible (empty when eligible).
    public var problems: [String]
    /// Facts in its favour or against it that do not decide eligibility (kernel, contrast).
    public var remarks: [String]
    /// Higher is better among eligible stacks; see `SeriesSelection.score`.
    public var score: Double
}

/// One stack that selection looked at, with its verdict.
public struct SelectionCandidate: Sendable {
    public var seriesInstanceUID: String
    public var description: String
    public var eligibility: HipEligibility
}

/// The series chosen for bone analysis in a study, with the reasons.
public struct SeriesChoice: Sendable {
    public var stack: ImageStack
    public var eligibility: HipEligibility
    public var reasons: [String]
    /// The other candidates and why they lost.
    public var rejected: [(description: String, why: String)]
}

/// Series selection for hip analysis in a study with several series (thin and thick, phases,
/// kernels): the choice and its reasons are reported with the result.
public enum SeriesSelection {
    /// Thinnest slices accepted for bone analysis (issue #2: ≤ 3 mm); CTXA and HSA need thin slices.
    public static let maxSliceThickness = 3.0
    /// A transverse field of view this wide reaches both proximal femora (inter-head distance ≈ 165 mm,
    /// greater trochanters ≈ 300–340 mm apart in women; phantom-anatomy.md §1 and §8).
    public static let minTransverseFOV = 300.0
    /// Coverage along z needed from above the femoral heads to below the lesser trochanters
    /// (head radius ≈ 22 mm + lesser trochanter ≈ 45–60 mm below the head centre; phantom-anatomy.md §1).
    public static let minCraniocaudalCoverage = 90.0

    /// Sharp (bone/lung/edge) kernel names by vendor; soft/standard kernels are preferred because
    /// sharp kernels raise noise and bias thin-cortex HU (phantom-anatomy.md §6: MTF of B30 vs D45).
    static let sharpKernelPatterns = [
        "BONE", "LUNG", "SHARP", "EDGE", "DETAIL", "HIGH", "YA", "YB", "YC", "YD", "FC3", "FC5", "FC8",
        "B6", "B7", "B8", "I6", "I7", "D5", "D6", "D7", "BR6", "BR7", "BR8", "BR59", "BR64",
    ]

    public static func isSharpKernel(_ kernel: String?) -> Bool {
        guard let k = kernel?.uppercased(), !k.isEmpty else { return false }
        return sharpKernelPatterns.contains { k.hasPrefix($0) || k.contains($0 + " ") || k == $0 }
            || k.contains("BONE") || k.contains("LUNG") || k.contains("SHARP")
    }

    /// Contrast agent declared in the header (Contrast/Bolus Agent or Route), or named in the description.
    public static func contrastDeclared(_ s: SeriesInfo) -> Bool {
        if let a = s.contrastBolusAgent?.trimmingSpaces(), !a.isEmpty, !["NONE", "NO", "N/A"].contains(a.uppercased()) {
            return true
        }
        if let r = s.contrastBolusRoute?.trimmingSpaces(), !r.isEmpty { return true }
        let text = ((s.seriesDescription ?? "") + " " + (s.protocolName ?? "")).uppercased()
        for word in ["ARTERIAL", "VENOUS", "PORTAL", "C+", "W/ CONTRAST", "WITH CONTRAST", "CONTRAST ENH", "DELAYED", "NEPHRO"] {
            if text.contains(word) && !text.contains("NON-CON") && !text.contains("WITHOUT") { return true }
        }
        return false
    }

    public static func eligibility(_ stack: ImageStack, geometry: StackGeometry?) -> HipEligibility {
        var problems: [String] = []
        var remarks: [String] = []
        let s = stack.series
        if let m = s.modality, m != "CT" { problems.append("modality is \(m), not CT") }
        if stack.orientationName != "axial" {
            problems.append("\(stack.orientationName) slices (axial reconstructions are analysed)")
        }
        if stack.frames.count < 10 { problems.append("only \(stack.frames.count) image(s); a volume is needed") }
        if !s.unusable.isEmpty { problems.append("\(s.unusable.count) image(s) cannot be used: \(s.unusable[0])") }
        let thickness = stack.frames.first?.sliceThickness ?? s.sliceThickness
        let spacing = geometry?.sliceSpacing
        let effective = max(thickness ?? 0, spacing ?? 0)
        if effective > maxSliceThickness {
            problems.append("slices \(fmt(effective, 2)) mm thick or apart; at most \(fmt(maxSliceThickness, 1)) mm is needed")
        }
        if let g = geometry {
            let fovX = Double(g.size.x) * g.geometry.spacing.x
            let fovY = Double(g.size.y) * g.geometry.spacing.y
            let fov = min(fovX, fovY)
            if fov < minTransverseFOV {
                problems.append("field of view \(Int(fov)) mm is narrower than the \(Int(minTransverseFOV)) mm that holds both hips")
            }
            let coverage = Double(g.size.z - 1) * g.sliceSpacing
            if coverage < minCraniocaudalCoverage {
                problems.append("covers \(Int(coverage)) mm along the body; at least \(Int(minCraniocaudalCoverage)) mm (femoral heads to lesser trochanters) is needed")
            }
            if g.tiltDegrees > 0 { remarks.append("gantry tilt \(fmt(g.tiltDegrees, 1))°: resampled") }
        } else {
            problems.append("slice geometry could not be established")
        }
        let imageType = s.imageType.map { $0.uppercased() }
        if imageType.contains("DERIVED") && (imageType.contains("MPR") || imageType.contains("MIP")) {
            problems.append("derived reformat (\(s.imageType.joined(separator: "\\"))), not an original reconstruction")
        }
        let sharp = isSharpKernel(s.kernel)
        if sharp { remarks.append("sharp kernel \(s.kernel ?? "") (soft/standard preferred)") }
        let contrast = contrastDeclared(s)
        if contrast { remarks.append("contrast-enhanced (non-contrast preferred; densities will be flagged)") }
        // Score: thin beats thick, soft beats sharp, plain beats contrast; ties → more slices.
        var score = 100.0 - 10 * (effective > 0 ? effective : 3)
        if sharp { score -= 15 }
        if contrast { score -= 20 }
        score += min(5, Double(stack.frames.count) / 200)
        return HipEligibility(eligible: problems.isEmpty, problems: problems, remarks: remarks, score: score)
    }

    /// Chooses among the stacks of a study; nil with the reasons when none is eligible.
    public static func choose(_ study: StudyInfo) -> (choice: SeriesChoice?, considered: [SelectionCandidate]) {
        var candidates: [(ImageStack, HipEligibility, String)] = []
        var considered: [SelectionCandidate] = []
        for series in study.series {
            let stacks: [ImageStack]
            do { stacks = try VolumeAssembly.stacks(of: series) } catch {
                let e = HipEligibility(eligible: false, problems: [error.description], remarks: [], score: 0)
                considered.append(SelectionCandidate(seriesInstanceUID: series.seriesInstanceUID, description: describe(series, nil), eligibility: e))
                continue
            }
            for stack in stacks {
                var geometry: StackGeometry?
                var e: HipEligibility
                do {
                    geometry = try VolumeAssembly.geometry(of: stack)
                    e = eligibility(stack, geometry: geometry)
                } catch {
                    e = eligibility(stack, geometry: nil)
                    e.problems.insert(error.description, at: 0)
                    e.eligible = false
                }
                let d = describe(series, stack)
                considered.append(SelectionCandidate(seriesInstanceUID: series.seriesInstanceUID, description: d, eligibility: e))
                candidates.append((stack, e, d))
            }
        }
        let eligible = candidates.filter { $0.1.eligible }.sorted { $0.1.score > $1.1.score }
        guard let best = eligible.first else { return (nil, considered) }
        var reasons = ["CT, axial, \(best.0.frames.count) images"]
        let thickness = best.0.frames.first?.sliceThickness ?? best.0.series.sliceThickness
        if let t = thickness { reasons.append("slice thickness \(fmt(t, 2)) mm (≤ \(fmt(maxSliceThickness, 1)) mm)") }
        reasons.append(isSharpKernel(best.0.series.kernel) ? "sharp kernel (no softer thin series available)" : "soft/standard kernel \(best.0.series.kernel ?? "(not stated)")")
        reasons.append(contrastDeclared(best.0.series) ? "contrast-enhanced (no non-contrast thin series available)" : "no contrast declared")
        reasons.append("field of view ≥ \(Int(minTransverseFOV)) mm and ≥ \(Int(minCraniocaudalCoverage)) mm along the body: room for both proximal femora (from the geometry; the femora themselves are not looked for here)")
        let rejected = candidates.filter { $0.2 != best.2 }.map { c -> (String, String) in
            if !c.1.eligible { return (c.2, c.1.problems.joined(separator: "; ")) }
            return (c.2, "eligible but ranked lower (" + (c.1.remarks.isEmpty ? "thicker slices or fewer images" : c.1.remarks.joined(separator: "; ")) + ")")
        }
        return (SeriesChoice(stack: best.0, eligibility: best.1, reasons: reasons, rejected: rejected), considered)
    }

    public static func describe(_ s: SeriesInfo, _ stack: ImageStack?) -> String {
        var d = "series \(s.seriesNumber.map(String.init) ?? "?")"
        if let desc = s.seriesDescription, !desc.isEmpty { d += " \"\(desc)\"" }
        if let stack, !stack.label.isEmpty { d += " (\(stack.label))" }
        return d
    }
}
