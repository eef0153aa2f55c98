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
// A femur that still reaches the pelvis (joint space narrowed, or blurred shut by thick slices) —
// its component comes within 40 mm of the body's mid-line (the pubis does; a femoral head's medial
// edge lies ≈ 60 mm out, heads ≈ 85 mm from the mid-line, phantom-anatomy.md §1) or exceeds 500 cm³ —
// is parted along the joint space (`splitAtJoint`, `trimRoof`, `trimMedial`); when that leaves no
// plausible femoral head it is reported as not separated instead of being measured.
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
    /// Component ids 1…maxPieces; the values above mark the watershed's pelvis and femora.
    static let maxPieces: UInt8 = 240
    static let splitPelvis: UInt8 = 250, splitRight: UInt8 = 251, splitLeft: UInt8 = 252

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
                if comp[start] == 0 && isBone(start) && next < maxPieces {
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
        if next == maxPieces { notes.append("more than \(maxPieces) bone pieces at the inferior end of the scan; the smaller ones were not considered") }
        // The winning component of each side keeps its label value (2 right, 3 left) in `comp`, which
        // becomes the label map (no second volume-sized array); everything else is cleared.
        var chosen: [FemurMask.Side: UInt8] = [:]
        for side in [FemurMask.Side.right, .left] where !exclude.contains(side) {
            if let (id, n) = votes[side]!.max(by: { ($0.value, $1.key) < ($1.value, $0.key) }), n >= 10 { chosen[side] = id }
        }
        // A femur joined to the pelvis (joint space blurred shut by thick slices, or narrowed): the
        // component is split along the joint space by a seeded watershed on HU.
        var split: [FemurMask.Side: String] = [:]
        for id in Set(chosen.values) {
            let sides = chosen.filter { $0.value == id }.map(\.key).sorted { $0.rawValue < $1.rawValue }
            guard let result = splitAtJoint(v, comp: &comp, id: id, sides: sides, low: low, up: up, midX: midX) else { continue }
            for side in sides {
                chosen[side] = side == .right ? Self.splitRight : Self.splitLeft
                split[side] = result
            }
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
            if let how = split[side] { fnotes.append(how) }
            if !separated {
                fnotes.append(String(format: "the %@ femur is joined to the pelvis (component of %.0f cm³%@; joint space narrowed or blurred shut by thick slices): not measured",
                                     side.rawValue, volume, nearMidline ? String(format: " reaching within %.0f mm of the mid-line", midlineClearance_mm) : ""))
                if !(sameComponent && side == .right) { for q in 0..<comp.count where comp[q] == value { comp[q] = 0 } }
            }
            if separated && kMax >= kMin { boxes[side] = VoxelBox(i: bi0...bi1, j: bj0...bj1, k: kMin...kMax) }
            femora.append(FemurMask(side: side, voxels: separated ? total : 0, volume_cm3: separated ? volume : 0,
                                    extent_mm: Double(max(0, kMax - kMin + 1)) * v.geometry.spacing.z, separated: separated, head: nil, axes: nil, notes: fnotes))
        }
        var mask = (try? Volume(size: v.size, geometry: v.geometry, voxels: comp)) ?? body.mask
        for i in femora.indices where femora[i].separated {
            let value = femora[i].side.label, box = boxes[femora[i].side]
            femora[i].head = FemoralHeadFitter.fit(mask, value: value, within: box)
            if let head = femora[i].head, split[femora[i].side] != nil, let box {
                let roof = trimRoof(&mask, value: value, head: head, box: box, up: up)
                if !roof.isEmpty {
                    if let refit = FemoralHeadFitter.fit(mask, value: value, within: box) {
                        femora[i].voxels -= roof.count
                        femora[i].notes.append(String(format: "%.1f cm³ of acetabular roof that the watershed had joined to the femoral head removed (slices above the head where the cross-section grows again)", Double(roof.count) * voxel_cm3))
                        femora[i].head = refit
                    } else {
                        // Without those slices no head is left to fit: the cut was not the roof.
                        for q in roof { mask.voxels[q] = value }
                    }
                }
            }
            if let head = femora[i].head, split[femora[i].side] != nil, let box {
                let removed = trimMedial(&mask, value: value, head: head, midX: midX, box: box, up: up)
                if removed > 0 {
                    femora[i].voxels -= removed
                    femora[i].notes.append(String(format: "%.1f cm³ of pelvis that the watershed had joined to the femur removed (bone medial of the femoral head's medial edge)", Double(removed) * voxel_cm3))
                }
            }
            femora[i].volume_cm3 = Double(femora[i].voxels) * voxel_cm3
            // A split must leave a femoral head: else the cut went astray (pixels too coarse for the
            // joint space) and the side is reported as joined rather than measured.
            if split[femora[i].side] != nil {
                let plausible = femora[i].head.map { SegmentationChecks.headRadius_mm.contains($0.radius_mm) && $0.rmsResidual_mm <= SegmentationChecks.maxHeadResidual_mm } ?? false
                if !plausible {
                    let why = femora[i].head.map { String(format: "sphere radius %.1f mm, RMS residual %.1f mm", $0.radius_mm, $0.rmsResidual_mm) } ?? "no sphere"
                    femora[i].notes.insert("the \(femora[i].side.rawValue) femur is joined to the pelvis and parting it along the joint space left no plausible femoral head (\(why)): not measured", at: 0)
                    femora[i].separated = false
                    femora[i].voxels = 0
                    femora[i].volume_cm3 = 0
                    femora[i].head = nil
                    boxes[femora[i].side] = nil
                    for q in 0..<mask.voxels.count where mask.voxels[q] == value { mask.voxels[q] = 0 }
                    continue
                }
            }
            if let head = femora[i].head {
                femora[i].axes = FemurAxisFinder.axes(mask, value: value, head: head, within: box)
            } else {
                femora[i].notes.append("no femoral head sphere could be fitted to the top of the mask")
            }
        }
        return FemurSegmentation(labels: mask, femora: femora, notes: notes, boxes: boxes)
    }

    /// Splits bone component `id` when it joins a femur to the pelvis: it reaches within 40 mm of the
    /// mid-line or exceeds 500 cm³. A seeded watershed on HU (priority flood, brightest first): the
    /// femoral shafts in the lowest slices and the component's bone within 40 mm of the mid-line (pubis,
    /// sacrum) are the seeds; each voxel goes to the seed whose brightest path reaches it first, so the
    /// fronts meet in the joint space, the darkest band between femoral head and acetabulum (cartilage
    /// and fluid, 3–5 mm). The voxels are relabelled in place (`splitRight`, `splitLeft`, pelvis and
    /// unreached voxels `splitPelvis`). Returns a note, or nil when the component was not joined or
    /// has no mid-line bone to seed the pelvis.
    static func splitAtJoint(_ v: Volume<Int16>, comp: inout [UInt8], id: UInt8, sides: [FemurMask.Side], low: Int, up: Bool, midX: Double) -> String? {
        let nx = v.size.x, ny = v.size.y, nz = v.size.z, plane = nx * ny
        let g = v.geometry
        let voxel_cm3 = g.spacing.x * g.spacing.y * g.spacing.z / 1000
        var count = 0
        var seeds: [(q: Int, label: UInt8)] = []
        for q in 0..<comp.count where comp[q] == id {
            count += 1
            let i = q % nx, j = (q / nx) % ny, k = q / plane
            let x = g.world(Double(i), Double(j), Double(k)).x
            if abs(x - midX) < midlineClearance_mm {
                seeds.append((q, splitPelvis))
            } else if (up ? k : nz - 1 - k) < low, let side = sides.first(where: { ($0 == .left) == (x >= midX) }) {
                seeds.append((q, side == .right ? splitRight : splitLeft))
            }
        }
        let joined = seeds.contains { $0.label == splitPelvis } || Double(count) * voxel_cm3 > maxFemurVolume_cm3
        guard joined, seeds.contains(where: { $0.label == splitPelvis }), seeds.contains(where: { $0.label != splitPelvis }) else { return nil }
        // Bucket queue over HU: bone is 176…3071 HU (stored values are clamped above).
        let lo = Int(boneHU) + 1, hi = 3071
        var buckets = [[Int32]](repeating: [], count: hi - lo + 1)
        @inline(__always) func level(_ q: Int) -> Int { min(hi, max(lo, Int(v.voxels[q]))) - lo }
        for s in seeds { comp[s.q] = s.label; buckets[level(s.q)].append(Int32(s.q)) }
        var current = hi - lo
        while current >= 0 {
            guard let q32 = buckets[current].popLast() else { current -= 1; continue }
            let q = Int(q32), label = comp[q]
            let i = q % nx, j = (q / nx) % ny, k = q / plane
            for (ok, n) in [(i > 0, q - 1), (i < nx - 1, q + 1), (j > 0, q - nx), (j < ny - 1, q + nx), (k > 0, q - plane), (k < nz - 1, q + plane)]
            where ok && comp[n] == id {
                comp[n] = label
                buckets[min(level(n), current)].append(Int32(n))
            }
        }
        for q in 0..<comp.count where comp[q] == id { comp[q] = splitPelvis }
        return "joined to the pelvis in one bone component (joint space blurred shut or narrowed): parted along the joint space by a watershed on HU seeded at the shaft and the mid-line bone"
    }

    /// After a watershed split: above the head centre a femoral head's axial cross-section only
    /// shrinks (a sphere's cap). Where it grows again by more than 10 % from one slice to the next, the
    /// acetabular roof came with it across a joint space that thick slices blur most in z: that slice
    /// and those above are removed. Returns the voxels removed.
    static func trimRoof(_ mask: inout Volume<UInt8>, value: UInt8, head: FemoralHeadFit, box: VoxelBox, up: Bool) -> [Int] {
        let g = mask.geometry, nx = mask.size.x, plane = nx * mask.size.y
        guard let kc = g.index(of: Vec3(head.center[0], head.center[1], head.center[2]))?.z else { return [] }
        let start = Int(kc.rounded())
        guard box.k.contains(start) else { return [] }  // a head centre outside the femur's slices: nothing to trim safely
        let ks = up ? Array(max(start, box.k.lowerBound)...box.k.upperBound) : Array((box.k.lowerBound...min(start, box.k.upperBound)).reversed())
        guard ks.count >= 2 else { return [] }
        func area(_ k: Int) -> Int {
            var n = 0
            for j in box.j { for i in box.i where mask.voxels[i + nx * j + plane * k] == value { n += 1 } }
            return n
        }
        var previous = area(ks[0])
        var cut: Int?
        for t in 1..<ks.count {
            let a = area(ks[t])
            if a == 0 { break }
            // Only in the upper half of the cap: lower down the slices cut the head near its equator,
            // where coarse sampling alone can make the area jitter.
            let dz = abs(Double(ks[t]) - kc) * abs(g.spacing.z)
            if Double(a) > 1.1 * Double(previous) && dz >= head.radius_mm / 2 { cut = t; break }
            previous = a
        }
        guard let cut else { return [] }
        var removed: [Int] = []
        for k in ks[cut...] { for j in box.j { for i in box.i where mask.voxels[i + nx * j + plane * k] == value {
            mask.voxels[i + nx * j + plane * k] = 0; removed.append(i + nx * j + plane * k)
        } } }
        return removed
    }

    /// After a watershed split: bone of the femur medial of the femoral head's medial edge (less 2 mm)
    /// below the head is pelvis (ischium, pubis) that a blurred gap let in — the proximal femur lies
    /// lateral of that edge below the head in any hip position a CT is taken in. Those voxels and any
    /// piece no longer joined to the shaft are removed. Returns the number removed.
    static func trimMedial(_ mask: inout Volume<UInt8>, value: UInt8, head: FemoralHeadFit, midX: Double, box: VoxelBox, up: Bool) -> Int {
        let g = mask.geometry, nx = mask.size.x, ny = mask.size.y, plane = nx * ny
        let c = Vec3(head.center[0], head.center[1], head.center[2])
        let edge = abs(c.x - midX) - head.radius_mm - 2
        var removed = 0
        for k in box.k { for j in box.j { for i in box.i {
            let q = i + nx * j + plane * k
            guard mask.voxels[q] == value else { continue }
            let p = g.world(Double(i), Double(j), Double(k))
            if p.z < c.z - head.radius_mm / 2 && abs(p.x - midX) < edge { mask.voxels[q] = 0; removed += 1 }
        } } }
        guard removed > 0 else { return 0 }
        // Keep what the shaft (the box's lowest slice) still reaches.
        var keep = Set<Int>()
        var stack: [Int] = []
        let k0 = up ? box.k.lowerBound : box.k.upperBound
        for j in box.j { for i in box.i where mask.voxels[i + nx * j + plane * k0] == value { let q = i + nx * j + plane * k0; keep.insert(q); stack.append(q) } }
        while let q = stack.popLast() {
            let i = q % nx, j = (q / nx) % ny, k = q / plane
            for (ok, n) in [(i > box.i.lowerBound, q - 1), (i < box.i.upperBound, q + 1), (j > box.j.lowerBound, q - nx), (j < box.j.upperBound, q + nx),
                            (k > box.k.lowerBound, q - plane), (k < box.k.upperBound, q + plane)]
            where ok && mask.voxels[n] == value && !keep.contains(n) {
                keep.insert(n); stack.append(n)
            }
        }
        for k in box.k { for j in box.j { for i in box.i {
            let q = i + nx * j + plane * k
            if mask.voxels[q] == value && !keep.contains(q) { mask.voxels[q] = 0; removed += 1 }
        } } }
        return removed
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
