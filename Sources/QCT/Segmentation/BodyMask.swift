// The body: everything of the patient, without the table and the calibration pad. Classical rules:
//  1. foreground = HU > −500 (between air/foam at −1000…−900 and fat at ≈ −100; Bonelab uses −400
//     for its skin mask, ct-core.md §6);
//  2. equipment is what stays the same along the whole scan: pixels whose HU varies along z only by
//     noise (z-SD ≤ 1.5·σ + 2 HU) and that are foreground are taken out in every slice — the couch
//     and pad do not change between slices, anatomy over the length of a hip scan does;
//  3. the largest 3-D connected piece (6-connectivity) is the patient;
//  4. holes inside each slice are filled (lungs and bowel gas belong to the body).
// Limit: a patient-skin row lying on the pad along the whole scan is z-constant too and goes with
// the pad (≈ one pixel row at the contact).
public import Imaging

public struct BodyMask: Sendable {
    /// 1 inside the body, 0 outside; same grid as the CT.
    public var mask: Volume<UInt8>
    public var voxels: Int
    /// Pixels (per slice) taken as equipment.
    public var equipmentPixels: Int
    /// The body's left–right mid-line, x in LPS mm (the patient's left is +x): the median x of the bone
    /// inside the body (the mean x of the mask when there is little bone).
    public var midlineX: Double
    public var notes: [String]
}

public enum BodySegmenter {
    static let foregroundHU: Int16 = -500

    public static func segment(_ v: Volume<Int16>, padding: Int16?) throws(QCTError) -> BodyMask {
        let nx = v.size.x, ny = v.size.y, nz = v.size.z
        let plane = nx * ny
        var notes: [String] = []
        // 2. z-constant foreground = equipment (needs enough slices for "constant" to mean something).
        var equipment = [Bool](repeating: false, count: plane)
        if nz >= 8 {
            let z = RodFinder.zStats(v, padding: padding, fraction: 1)
            let noise = RodFinder.noiseEstimate(z)
            let limit = 1.5 * noise + 2
            for p in 0..<plane where z.valid[p] && z.mean[p] > Double(foregroundHU) && z.sd[p] <= limit { equipment[p] = true }
        } else {
            notes.append("fewer than 8 slices: the table and pad could not be told from the patient by their constancy along z")
        }
        let equipmentPixels = equipment.reduce(0) { $0 + ($1 ? 1 : 0) }
        // 1 + 3. Foreground without equipment; the largest 6-connected component. One byte per
        // voxel: 0 background, 1 foreground not yet visited, 2 visited, 3 the chosen component.
        var body = [UInt8](repeating: 0, count: plane * nz)
        for k in 0..<nz {
            for p in 0..<plane where !equipment[p] {
                let h = v.voxels[p + plane * k]
                if h > foregroundHU && h != padding { body[p + plane * k] = 1 }
            }
        }
        var stack: [Int32] = []
        func flood(from start: Int, _ from: UInt8, _ to: UInt8) -> Int {
            var size = 0
            body[start] = to
            stack.append(Int32(start))
            while let q32 = stack.popLast() {
                let q = Int(q32)
                size += 1
                let i = q % nx, j = (q / nx) % ny, k = q / plane
                if i > 0, body[q - 1] == from { body[q - 1] = to; stack.append(Int32(q - 1)) }
                if i < nx - 1, body[q + 1] == from { body[q + 1] = to; stack.append(Int32(q + 1)) }
                if j > 0, body[q - nx] == from { body[q - nx] = to; stack.append(Int32(q - nx)) }
                if j < ny - 1, body[q + nx] == from { body[q + nx] = to; stack.append(Int32(q + nx)) }
                if k > 0, body[q - plane] == from { body[q - plane] = to; stack.append(Int32(q - plane)) }
                if k < nz - 1, body[q + plane] == from { body[q + plane] = to; stack.append(Int32(q + plane)) }
            }
            return size
        }
        var best = (size: 0, seed: -1)
        for start in 0..<body.count where body[start] == 1 {
            let size = flood(from: start, 1, 2)
            if size > best.size { best = (size, start) }
        }
        guard best.seed >= 0 else { throw .notMeasurable("no body found: nothing above −500 HU apart from the table") }
        _ = flood(from: best.seed, 2, 3)
        for q in 0..<body.count { body[q] = body[q] == 3 ? 1 : 0 }
        // 4. Fill holes per slice: background is what the image border reaches (4-connectivity).
        for k in 0..<nz {
            let off = plane * k
            var outside = [Bool](repeating: false, count: plane)
            var s: [Int] = []
            for i in 0..<nx { s.append(i); s.append((ny - 1) * nx + i) }
            for j in 0..<ny { s.append(j * nx); s.append(j * nx + nx - 1) }
            for p in s where body[off + p] == 0 { outside[p] = true }
            s = s.filter { outside[$0] }
            while let p = s.popLast() {
                let i = p % nx, j = p / nx
                for (ok, n) in [(i > 0, p - 1), (i < nx - 1, p + 1), (j > 0, p - nx), (j < ny - 1, p + nx)] where ok && !outside[n] && body[off + n] == 0 {
                    outside[n] = true
                    s.append(n)
                }
            }
            for p in 0..<plane where !outside[p] { body[off + p] = 1 }
        }
        var count = 0, si = 0.0, sj = 0.0, sk = 0.0
        for k in 0..<nz {
            for j in 0..<ny {
                var rowCount = 0, rowI = 0
                let base = nx * (j + ny * k)
                for i in 0..<nx where body[base + i] != 0 { rowCount += 1; rowI += i }
                count += rowCount
                si += Double(rowI); sj += Double(rowCount * j); sk += Double(rowCount * k)
            }
        }
        // Voxel → world is affine, so the mean of the world x is the world x of the mean index.
        let n = Double(max(1, count))
        var midlineX = count > 0 ? v.geometry.world(si / n, sj / n, sk / n).x : v.geometry.world(Double(nx - 1) / 2, 0, 0).x
        // The skeleton is more symmetric than the soft tissue a field of view may cut off on one side:
        // the median column of the bone (> 175 HU) inside the body, when there is enough of it.
        var boneColumns = [Int](repeating: 0, count: nx), bone = 0
        for q in 0..<body.count where body[q] != 0 && v.voxels[q] > 175 { boneColumns[q % nx] += 1; bone += 1 }
        if bone >= 1000 {
            var acc = 0, median = 0
            for i in 0..<nx { acc += boneColumns[i]; if 2 * acc >= bone { median = i; break } }
            midlineX = v.geometry.world(Double(median), sj / n, sk / n).x
        }
        let mask: Volume<UInt8>
        do { mask = try Volume(size: v.size, geometry: v.geometry, voxels: body) } catch {
            throw .notMeasurable("body mask: \(error)")
        }
        return BodyMask(mask: mask, voxels: count, equipmentPixels: equipmentPixels, midlineX: midlineX, notes: notes)
    }
}
