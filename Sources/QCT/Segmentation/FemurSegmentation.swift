// Left and right proximal femur, classical rules (no model):
//  1. bone = HU > 175 inside the body (our choice from the digital phantom: muscle 29 HU plus noise
//     stays below it, femoral cortex and most trabecular bone above; between 150 and 200 HU the femur
//     Dice changed by < 0.005);
//  2. 3-D components (6-connected): at this threshold the hip joint space (3–5 mm of cartilage and
//     fluid, phantom-anatomy.md §1) keeps femur and acetabulum apart;
//  3. the femur of a side is the component holding most bone in the lowest 5 % of slices on that
//     side of the body's mid-line (the shaft leaves the scan at its inferior end);
//  4. holes inside that component are filled slice by slice (marrow and low-density trabecular
//     bone lie inside the cortex ring), never across components (the joint space stays open).
// A femur that still reaches the pelvis (joint space narrowed, or blurred shut by thick slices) is
// reported as not separated instead of being measured: its component comes within 40 mm of the
// body's mid-line (the pubis does; a femoral head's medial edge lies ≈ 60 mm out, heads ≈ 85 mm from
// the mid-line, phantom-anatomy.md §1) or exceeds 500 cm³.
public import Imaging
import Foundation

public struct FemurMask: Codable, Sendable {
    public enum Side: String, Codable, Sendable {
        case left, right
        /// The side's value in the label map.
        public var label: UInt8 { self == .left ? FemurSegmenter.leftLabel : FemurSegmenter.rightLabel }
    }
    public var side: Side
    public var voxels: Int
    public var volume_cm3: Double
    /// Superior–inferior extent (mm) of the mask.
    public var extent_mm: Double
    public var separated: Bool
    /// The femoral head sphere (when separated).
    public var head: FemoralHeadFit?
    public var axes: FemurAxes?
    public var notes: [String]
}

public struct FemurSegmentation: Sendable {
    /// 0 none, `FemurSegmenter.rightLabel`, `FemurSegmenter.leftLabel`.
    public var labels: Volume<UInt8>
    public var femora: [FemurMask]
    public var notes: [String]
    /// Voxel bounding box of each separated femur.
    public var boxes: [FemurMask.Side: VoxelBox]
}

public enum FemurSegmenter {
    public static let rightLabel: UInt8 = 2
    public static let leftLabel: UInt8 = 3
    static let boneHU: Int16 = 175
    /// A proximal femur in a hip scan is well under this (phantom: ≈ 150 cm³ over 88 mm below the
    /// head to the head's top); more means the component took in pelvis or spine.
    static let maxFemurVolume_cm3 = 500.0
    static let midlineClearance_mm = 40.0

    public static func segment(_ v: Volume<Int16>, body: BodyMask, exclude: Set<FemurMask.Side> = []) -> FemurSegmentation {
        let nx = v.size.x, ny = v.size.y, nz = v.size.z, plane = nx * ny
        var notes: [String] = []
        let up = v.geometry.direction.c2.z >= 0  // k grows toward the head
        let midX = body.midlineX  // patient's left is +x
        // 1–3. Only components reaching the lowest 5 % of slices can hold a shaft: they are flooded
        // from there (one byte per voxel, ids 1…254), and per side the one with most voxels in that
        // slab wins.
        var comp = [UInt8](repeating: 0, count: v.voxels.count)
        var next: UInt8 = 0
        var stack: [Int32] = []
        let low = max(1, nz / 20)
        var votes: [FemurMask.Side: [UInt8: Int]] = [.left: [:], .right: [:]]
        func isBone(_ q: Int) -> Bool { body.mask.voxels[q] != 0 && v.voxels[q] > boneHU }
        for t in 0..<low {
            let k = up ? t : nz - 1 - t
            for p in 0..<plane {
                let start = p + plane * k
                if comp[start] == 0 && isBone(start) && next < 254 {
                    next += 1
                    comp[start] = next
                    stack.append(Int32(start))
                    while let q32 = stack.popLast() {
                        let q = Int(q32)
                        let i = q % nx, j = (q / nx) % ny, kk = q / plane
                        for (ok, n) in [(i > 0, q - 1), (i < nx - 1, q + 1), (j > 0, q - nx), (j < ny - 1, q + nx), (kk > 0, q - plane), (kk < nz - 1, q + plane)]
                        where ok && comp[n] == 0 && isBone(n) {
                            comp[n] = next
                            stack.append(Int32(n))
                        }
                    }
                }
                if comp[start] != 0 {
                    let x = v.geometry.world(Double(p % nx), Double(p / nx), Double(k)).x
                    votes[x >= midX ? .left : .right]![comp[start], default: 0] += 1
                }
            }
        }
        if next == 254 { notes.append("more than 254 bone pieces at the inferior end of the scan; the smaller ones were not considered") }
        // The winning component of each side keeps its label value (2 right, 3 left) in `comp`, which
        // becomes the label map (no second volume-sized array); everything else is cleared.
        var chosen: [FemurMask.Side: UInt8] = [:]
        for side in [FemurMask.Side.right, .left] where !exclude.contains(side) {
            if let (id, n) = votes[side]!.max(by: { ($0.value, $1.key) < ($1.value, $0.key) }), n >= 10 { chosen[side] = id }
        }
        let sameComponent = chosen[.right] != nil && chosen[.right] == chosen[.left]
        for q in 0..<comp.count where comp[q] != 0 {
            let c = comp[q]
            comp[q] = c == chosen[.right] ? rightLabel : (c == chosen[.left] && !sameComponent ? leftLabel : 0)
        }
        var femora: [FemurMask] = []
        var boxes: [FemurMask.Side: VoxelBox] = [:]  // where each femur lies: the fits scan only that
        let voxel_cm3 = v.geometry.spacing.x * v.geometry.spacing.y * v.geometry.spacing.z / 1000
        for side in [FemurMask.Side.right, .left] {
            if exclude.contains(side) { notes.append("\(side.rawValue) femur not segmented: excluded (metal)"); continue }
            guard chosen[side] != nil else {
                notes.append("no \(side.rawValue) femoral shaft at the inferior end of the scan: the \(side.rawValue) femur is not segmented")
                continue
            }
            // One bone piece holding both shafts: joined through the pelvis; reported on both sides.
            let value = side == .left && sameComponent ? rightLabel : (side == .left ? leftLabel : rightLabel)
            // Joined to the pelvis when the component reaches near the mid-line.
            var nearMidline = false
            for q in 0..<comp.count where comp[q] == value {
                let x = v.geometry.world(Double(q % nx), Double((q / nx) % ny), Double(q / plane)).x
                if abs(x - midX) < midlineClearance_mm { nearMidline = true; break }
            }
            // 4. The component, holes filled per slice within its bounding box.
            var total = 0, kMin = nz, kMax = -1
            var bi0 = nx, bi1 = -1, bj0 = ny, bj1 = -1
            for k in 0..<nz {
                var i0 = nx, i1 = -1, j0 = ny, j1 = -1
                for p in 0..<plane where comp[p + plane * k] == value {
                    let i = p % nx, j = p / nx
                    i0 = min(i0, i); i1 = max(i1, i); j0 = min(j0, j); j1 = max(j1, j)
                }
                guard i1 >= 0 else { continue }
                kMin = min(kMin, k); kMax = max(kMax, k)
                bi0 = min(bi0, i0); bi1 = max(bi1, i1); bj0 = min(bj0, j0); bj1 = max(bj1, j1)
                // Background = reached from the box edge (4-connected) without crossing the component.
                let w = i1 - i0 + 3, h = j1 - j0 + 3
                var outside = [Bool](repeating: false, count: w * h)
                func inside(_ a: Int, _ b: Int) -> Bool {
                    let i = a + i0 - 1, j = b + j0 - 1
                    return i >= i0 && i <= i1 && j >= j0 && j <= j1 && comp[i + nx * j + plane * k] == value
                }
                var s = [0]
                outside[0] = true
                while let c = s.popLast() {
                    let a = c % w, b = c / w
                    for (ok, na, nb) in [(a > 0, a - 1, b), (a < w - 1, a + 1, b), (b > 0, a, b - 1), (b < h - 1, a, b + 1)]
                    where ok && !outside[nb * w + na] && !inside(na, nb) {
                        outside[nb * w + na] = true
                        s.append(nb * w + na)
                    }
                }
                for b in 1..<(h - 1) {
                    for a in 1..<(w - 1) where !outside[b * w + a] {
                        let q = (a + i0 - 1) + nx * (b + j0 - 1) + plane * k
                        if comp[q] == 0 || comp[q] == value { comp[q] = value; total += 1 }
                    }
                }
            }
            // 5. Holes filled again in coronal and sagittal planes: the neck runs obliquely through axial
            // slices, so where its trabecular bone falls under the threshold (osteoporosis) the cortex
            // seldom closes a ring in an axial slice, but it does in the plane of the neck.
            if kMax >= kMin {
                total += fillHoles(&comp, value: value, nx: nx, ny: ny, box: VoxelBox(i: bi0...bi1, j: bj0...bj1, k: kMin...kMax), plane: .coronal)
                total += fillHoles(&comp, value: value, nx: nx, ny: ny, box: VoxelBox(i: bi0...bi1, j: bj0...bj1, k: kMin...kMax), plane: .sagittal)
            }
            let volume = Double(total) * voxel_cm3
            let separated = volume <= maxFemurVolume_cm3 && !nearMidline && !sameComponent
            var fnotes: [String] = []
            if !separated {
                fnotes.append(String(format: "the %@ femur is joined to the pelvis (component of %.0f cm³%@; joint space narrowed or blurred shut by thick slices): not measured",
                                     side.rawValue, volume, nearMidline ? String(format: " reaching within %.0f mm of the mid-line", midlineClearance_mm) : ""))
                if !(sameComponent && side == .right) { for q in 0..<comp.count where comp[q] == value { comp[q] = 0 } }
            }
            if separated && kMax >= kMin { boxes[side] = VoxelBox(i: bi0...bi1, j: bj0...bj1, k: kMin...kMax) }
            femora.append(FemurMask(side: side, voxels: separated ? total : 0, volume_cm3: separated ? volume : 0,
                                    extent_mm: Double(max(0, kMax - kMin + 1)) * v.geometry.spacing.z, separated: separated, head: nil, axes: nil, notes: fnotes))
        }
        let mask = (try? Volume(size: v.size, geometry: v.geometry, voxels: comp)) ?? body.mask
        for i in femora.indices where femora[i].separated {
            let value = femora[i].side.label, box = boxes[femora[i].side]
            femora[i].head = FemoralHeadFitter.fit(mask, value: value, within: box)
            if let head = femora[i].head {
                femora[i].axes = FemurAxisFinder.axes(mask, value: value, head: head, within: box)
            } else {
                femora[i].notes.append("no femoral head sphere could be fitted to the top of the mask")
            }
        }
        return FemurSegmentation(labels: mask, femora: femora, notes: notes, boxes: boxes)
    }

    enum FillPlane { case coronal, sagittal }

    /// Fills holes of the component `value` slice by slice in coronal (fixed j) or sagittal (fixed i)
    /// planes inside `box`: pixels not reached from the slice's border without crossing the
    /// component. Only empty voxels are filled. Returns the number filled.
    static func fillHoles(_ comp: inout [UInt8], value: UInt8, nx: Int, ny: Int, box: VoxelBox, plane which: FillPlane) -> Int {
        let plane = nx * ny
        let (outer, u, w) = which == .coronal ? (box.j, box.i, box.k) : (box.i, box.j, box.k)
        let uw = u.count + 2, ww = w.count + 2
        var filled = 0
        for o in outer {
            @inline(__always) func index(_ a: Int, _ b: Int) -> Int {
                // a along u, b along w (with a one-pixel margin), back to the volume.
                let uu = a + u.lowerBound - 1, kk = b + w.lowerBound - 1
                return which == .coronal ? uu + nx * o + plane * kk : o + nx * uu + plane * kk
            }
            func isComp(_ a: Int, _ b: Int) -> Bool {
                a >= 1 && b >= 1 && a <= u.count && b <= w.count && comp[index(a, b)] == value
            }
            var any = false
            for b in 1...w.count { for a in 1...u.count where comp[index(a, b)] == value { any = true; break }; if any { break } }
            guard any else { continue }
            var outside = [Bool](repeating: false, count: uw * ww)
            var stack = [0]
            outside[0] = true
            while let c = stack.popLast() {
                let a = c % uw, b = c / uw
                for (ok, na, nb) in [(a > 0, a - 1, b), (a < uw - 1, a + 1, b), (b > 0, a, b - 1), (b < ww - 1, a, b + 1)]
                where ok && !outside[nb * uw + na] && !isComp(na, nb) {
                    outside[nb * uw + na] = true
                    stack.append(nb * uw + na)
                }
            }
            for b in 1...w.count { for a in 1...u.count where !outside[b * uw + a] {
                let q = index(a, b)
                if comp[q] == 0 { comp[q] = value; filled += 1 }
            } }
        }
        return filled
    }
}
