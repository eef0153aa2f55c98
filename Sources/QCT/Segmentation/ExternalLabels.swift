// External label maps in place of the built-in masks: TotalSegmentator v2 `total` ids by default
// (ct-core.md, map_to_binary.py: femur 75/76, hip 77/78, sacrum 25, L5–L1 27–31, gluteus maximus,
// medius, minimus 80–85, iliopsoas 88/89), any other numbering through a mapping file
// ({"femur_left": 75, …}, the same structure names).
//
// What is taken from them:
//  - femora: the mask of each side replaces ours; head sphere, axes, narrow neck and trochanters are
//    fitted to it as to our own.
//  - vertebrae: each labelled vertebra becomes its body by the same 6 mm opening per slice that drops
//    the posterior elements from our column (TotalSegmentator labels the whole vertebra); its level is
//    the label's, not counted by us ("levels-from-external-labels").
//  - muscles: volume in the scan, mean HU of the voxels in the muscle window (−29…150) and the fraction
//    of voxels in the adipose window (−190…−30, intermuscular fat), per muscle.
public import Imaging
import Foundation

public struct ExternalMuscle: Codable, Sendable, Equatable {
    public var name: String
    public var labelValue: Int
    public var volume_cm3: Double
    public var meanHU: Double?
    public var fatFraction: Double
    public var cutByFieldOfView: Bool
}

public struct ExternalLabelImport: Sendable {
    public var source: String
    public var femora: [FemurMask]
    public var boxes: [FemurMask.Side: VoxelBox]
    public var spine: SpineLevels?
    public var muscles: [ExternalMuscle]
    public var notes: [String]
}

public enum ExternalLabels {
    public static let structures = ["femur_left", "femur_right", "hip_left", "hip_right", "sacrum", "vertebrae_L5", "vertebrae_L4",
                                    "vertebrae_L3", "vertebrae_L2", "vertebrae_L1", "gluteus_maximus_left", "gluteus_maximus_right",
                                    "gluteus_medius_left", "gluteus_medius_right", "gluteus_minimus_left", "gluteus_minimus_right",
                                    "iliopsoas_left", "iliopsoas_right"]
    /// TotalSegmentator v2, task `total`.
    public static let totalSegmentatorV2: [String: Int] = [
        "femur_left": 75, "femur_right": 76, "hip_left": 77, "hip_right": 78, "sacrum": 25,
        "vertebrae_L5": 27, "vertebrae_L4": 28, "vertebrae_L3": 29, "vertebrae_L2": 30, "vertebrae_L1": 31,
        "gluteus_maximus_left": 80, "gluteus_maximus_right": 81, "gluteus_medius_left": 82, "gluteus_medius_right": 83,
        "gluteus_minimus_left": 84, "gluteus_minimus_right": 85, "iliopsoas_left": 88, "iliopsoas_right": 89,
    ]

    /// Reads a mapping file: a JSON object of structure name → label value (1…255).
    public static func mapping(json: [UInt8], path: String) throws(QCTError) -> [String: Int] {
        let object: [String: Int]
        do { object = try JSONDecoder().decode([String: Int].self, from: Data(json)) } catch {
            throw .input("\(path): not a label mapping (a JSON object of structure name → label value, e.g. {\"femur_left\": 75}): \(error)")
        }
        let unknown = object.keys.filter { !structures.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw .input("\(path): unknown structure(s) \(unknown.joined(separator: ", ")); known: \(structures.joined(separator: ", "))")
        }
        let bad = object.filter { !(1...255).contains($0.value) }.keys.sorted()
        guard bad.isEmpty else { throw .input("\(path): label values must be 1…255 (\(bad.joined(separator: ", ")))") }
        return object
    }

    /// Imports `labels` (same grid as the CT) into `body.mask` (femora 2/3, vertebral bodies 21…25).
    public static func apply(_ labels: Volume<UInt8>, mapping: [String: Int], source: String, ct v: Volume<Int16>,
                             body: inout BodyMask, exclude: Set<FemurMask.Side>) throws(QCTError) -> ExternalLabelImport {
        guard labels.size == v.size else {
            throw .input("the label map is \(labels.size.x)×\(labels.size.y)×\(labels.size.z), the CT \(v.size.x)×\(v.size.y)×\(v.size.z): resample the labels to the CT grid (or segment `osteoct convert`'s NIfTI of this series)")
        }
        let g = v.geometry, lg = labels.geometry
        for corner in [(0.0, 0.0, 0.0), (Double(v.size.x - 1), Double(v.size.y - 1), Double(v.size.z - 1))] {
            let d = (g.world(corner.0, corner.1, corner.2) - lg.world(corner.0, corner.1, corner.2)).length
            guard d <= 0.5 * min(g.spacing.x, g.spacing.y, abs(g.spacing.z)) else {
                throw .input(String(format: "the label map's voxels lie %.1f mm from the CT's (different origin, spacing or orientation): export the labels on the CT's grid", d))
            }
        }
        let nx = v.size.x, ny = v.size.y, nz = v.size.z, plane = nx * ny
        var notes: [String] = []
        // One pass over the map: the voxels of each mapped value, in index order (slice by slice).
        let mapped = Set(mapping.values.map { UInt8($0) })
        var voxelsOf: [UInt8: [Int]] = [:]
        for q in 0..<labels.voxels.count where mapped.contains(labels.voxels[q]) { voxelsOf[labels.voxels[q], default: []].append(q) }
        func value(_ name: String) -> UInt8? { mapping[name].flatMap { voxelsOf[UInt8($0)] != nil ? UInt8($0) : nil } }
        // Femora.
        var femora: [FemurMask] = [], boxes: [FemurMask.Side: VoxelBox] = [:]
        let voxel_cm3 = g.spacing.x * g.spacing.y * abs(g.spacing.z) / 1000
        for side in [FemurMask.Side.right, .left] {
            let name = "femur_\(side.rawValue)"
            if exclude.contains(side) { notes.append("\(name): excluded (metal)"); continue }
            guard let ext = value(name) else { notes.append("\(name) (\(mapping[name].map(String.init) ?? "no id")) not in the label map"); continue }
            let ours = side.label
            var count = 0, i0 = nx, i1 = -1, j0 = ny, j1 = -1, k0 = nz, k1 = -1
            for q in voxelsOf[ext] ?? [] {
                body.mask.voxels[q] = ours
                count += 1
                let i = q % nx, j = (q / nx) % ny, k = q / plane
                i0 = min(i0, i); i1 = max(i1, i); j0 = min(j0, j); j1 = max(j1, j); k0 = min(k0, k); k1 = max(k1, k)
            }
            let box = VoxelBox(i: i0...i1, j: j0...j1, k: k0...k1)
            boxes[side] = box
            var f = FemurMask(side: side, voxels: count, volume_cm3: Double(count) * voxel_cm3, extent_mm: Double(k1 - k0 + 1) * abs(g.spacing.z),
                              separated: true, head: nil, axes: nil, notes: ["mask from \(source) (\(name) = \(ext))"])
            f.head = FemoralHeadFitter.fit(body.mask, value: ours, within: box)
            if let h = f.head { f.axes = FemurAxisFinder.axes(body.mask, value: ours, head: h, within: box) } else {
                f.notes.append("no femoral head sphere could be fitted to the top of the mask")
            }
            femora.append(f)
        }
        // Vertebral bodies.
        var bodies: [VertebralBody] = []
        for level in ["L5", "L4", "L3", "L2", "L1"] {
            guard let ext = value("vertebrae_\(level)"), let ours = SpineSegmenter.labelValue(level) else { continue }
            var count = 0, cs = Vec3.zero, zlo = Double.infinity, zhi = -Double.infinity
            var touchesEnd = false
            let bySlice = Dictionary(grouping: voxelsOf[ext] ?? [], by: { $0 / plane })
            for k in bySlice.keys.sorted() {
                let px = bySlice[k]!.map { $0 % plane }
                if k == 0 || k == nz - 1 { touchesEnd = true }
                let i0 = px.map { $0 % nx }.min()! - 1, j0 = px.map { $0 / nx }.min()! - 1
                let w = px.map { $0 % nx }.max()! - i0 + 2, h = px.map { $0 / nx }.max()! - j0 + 2
                var m = [Bool](repeating: false, count: w * h)
                for q in px { m[(q % nx - i0) + w * (q / nx - j0)] = true }
                let opened = SpineSegmenter.open(m, w: w, h: h, r: SpineSegmenter.opening_mm, sx: g.spacing.x, sy: g.spacing.y)
                // The largest piece left is the body.
                let best = SpineSegmenter.pieces(opened, w: w, h: h).max { $0.count < $1.count } ?? []
                for c in best {
                    let q = (c % w + i0) + nx * (c / w + j0) + plane * k
                    body.mask.voxels[q] = ours
                    count += 1
                    let p = g.world(Double(c % w + i0), Double(c / w + j0), Double(k))
                    cs = cs + p
                    zlo = min(zlo, p.z); zhi = max(zhi, p.z)
                }
            }
            guard count > 0 else { continue }
            bodies.append(VertebralBody(level: level, labelValue: Int(ours), zRange_mm: [zlo - abs(g.spacing.z) / 2, zhi + abs(g.spacing.z) / 2],
                                        center: (cs / Double(count)).array, height_mm: zhi - zlo + abs(g.spacing.z), volume_cm3: Double(count) * voxel_cm3,
                                        complete: !touchesEnd))
        }
        var spine: SpineLevels?
        if !bodies.isEmpty {
            spine = SpineLevels(bodies: bodies, discs_mm: [], sacrumFound: value("sacrum") != nil, confidence: "external",
                                flags: ["levels-from-external-labels"],
                                notes: ["levels as the label map names them (\(source)); not counted by OsteoCT"])
        }
        // Muscles.
        var muscles: [ExternalMuscle] = []
        for name in structures where name.hasPrefix("gluteus") || name.hasPrefix("iliopsoas") {
            guard let ext = value(name) else { continue }
            var n = 0, inWindow = 0, fat = 0, sum = 0.0, cut = false
            for q in voxelsOf[ext] ?? [] {
                n += 1
                let h = Double(v.voxels[q])
                if (-29...150).contains(h) { inWindow += 1; sum += h } else if (-190 ... -30).contains(h) { fat += 1 }
                let k = q / plane
                if k == 0 || k == nz - 1 { cut = true }
            }
            muscles.append(ExternalMuscle(name: name, labelValue: Int(ext), volume_cm3: Double(n) * voxel_cm3,
                                          meanHU: inWindow > 0 ? sum / Double(inWindow) : nil, fatFraction: Double(fat) / Double(max(1, n)),
                                          cutByFieldOfView: cut))
        }
        return ExternalLabelImport(source: source, femora: femora, boxes: boxes, spine: spine, muscles: muscles, notes: notes)
    }
}
