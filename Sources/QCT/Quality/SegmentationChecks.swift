// Quality flags about the masks themselves: a femur the field of view cuts, and fits that look wrong.
//
//  - femur-<side>-cut-by-fov (exclude): femur voxels touch the edge of the reconstructed field of view
//    (pixels at the padding value) or of the image. Bone is missing, and the neck axis and narrow neck
//    are fitted to an incomplete femur (the digital phantom's cut moved the narrow neck by 4.6 mm and
//    halved its area): that side's regions and CTXA are not measured.
//  - femur-<side>-low-confidence (warning): the head sphere fits badly (RMS residual > 1.5 mm), its
//    radius is outside 17–32 mm (adult femoral heads, phantom-anatomy.md §1: 40–55 mm diameter with
//    margin), or the neck–shaft angle is outside 100–150° (the phantom's parameter range; adult
//    femora ≈ 115–140°), or there is no narrow neck.
//  - spine-levels-<confidence> (warning): the level count is not "high" (see SpineSegmenter).
public import Imaging
import Foundation

public enum SegmentationChecks {
    static let maxHeadResidual_mm = 1.5
    static let headRadius_mm = 17.0...32.0
    static let neckShaftAngle_deg = 100.0...150.0

    public static func femurFlags(_ v: Volume<Int16>, labels: Volume<UInt8>, femora: [FemurMask], boxes: [FemurMask.Side: VoxelBox],
                                  padding: Int16?) -> [QualityFlag] {
        var flags: [QualityFlag] = []
        let nx = v.size.x, ny = v.size.y, plane = nx * ny
        for f in femora where f.separated {
            let side = f.side.rawValue
            let value = f.side.label
            if let box = boxes[f.side] {
                var cut = 0
                for k in box.k { for j in box.j { for i in box.i where labels.voxels[i + nx * j + plane * k] == value {
                    if i == 0 || j == 0 || i == nx - 1 || j == ny - 1 { cut += 1; continue }
                    guard let pad = padding else { continue }
                    let q = i + nx * j + plane * k
                    if v.voxels[q - 1] == pad || v.voxels[q + 1] == pad || v.voxels[q - nx] == pad || v.voxels[q + nx] == pad { cut += 1 }
                } } }
                if cut > 0 {
                    flags.append(QualityFlag(code: "femur-\(side)-cut-by-fov", severity: "exclude",
                                             message: "the \(side) femur reaches the edge of the reconstructed field of view (\(cut) voxels): bone is missing and its axes are fitted to part of it, so its regions and CTXA are not measured; reconstruct with a larger field of view"))
                }
            }
            var why: [String] = []
            if let h = f.head {
                if h.rmsResidual_mm > maxHeadResidual_mm { why.append(String(format: "head sphere fits with %.1f mm RMS residual (> %.1f)", h.rmsResidual_mm, maxHeadResidual_mm)) }
                if !headRadius_mm.contains(h.radius_mm) { why.append(String(format: "head radius %.1f mm outside %.0f–%.0f", h.radius_mm, headRadius_mm.lowerBound, headRadius_mm.upperBound)) }
            } else {
                why.append("no head sphere")
            }
            if let a = f.axes {
                if !neckShaftAngle_deg.contains(a.neckShaftAngle_deg) { why.append(String(format: "neck–shaft angle %.0f° outside %.0f–%.0f°", a.neckShaftAngle_deg, neckShaftAngle_deg.lowerBound, neckShaftAngle_deg.upperBound)) }
                if a.narrowNeckDistance_mm == nil { why.append("no narrow neck") }
            } else {
                why.append("no neck and shaft axes")
            }
            if !why.isEmpty {
                flags.append(QualityFlag(code: "femur-\(side)-low-confidence", severity: "warning",
                                         message: "the \(side) femur's geometry looks wrong (" + why.joined(separator: "; ") + "): check qc/coronal-hips.png before trusting its regions"))
            }
        }
        return flags
    }

    /// With contrast, opacified aorta and cava (≈ 150–300 HU) lie against the vertebral bodies and can
    /// join the column; the vessel-aware extraction (SpineSegmenter) keeps L2–L4 of the phantom's
    /// portal-venous variant in place, but L5 still read 12 HU high and L1 was not delimited. Flagged.
    public static func spineFlags(_ levels: SpineLevels, contrast: Bool = false) -> [QualityFlag] {
        var flags: [QualityFlag] = []
        if contrast && !levels.bodies.isEmpty && levels.confidence != "external" {
            flags.append(QualityFlag(code: "spine-contrast", severity: "warning",
                                     message: "contrast-enhanced scan: opacified vessels beside the vertebral bodies can join their masks and raise the L1–L5 ROI values; check qc/sagittal-spine.png"))
        }
        guard !levels.bodies.isEmpty, levels.confidence != "high", levels.confidence != "external" else { return flags }
        return flags + [QualityFlag(code: "spine-levels-\(levels.confidence)", severity: "warning",
                            message: "vertebral levels counted with \(levels.confidence) confidence (" + levels.flags.filter { $0 != "ribs-not-checked" }.joined(separator: ", ")
                                + "): " + (levels.confidence == "none" ? "no level assigned, no L1 HU or L3 body composition" : "check qc/sagittal-spine.png"))]
    }
}
