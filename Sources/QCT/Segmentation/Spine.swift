// Lumbar vertebral bodies and their levels, counted from the sacrum.
//
//  1. Column: in every axial slice, within 45 mm of the body's mid-line and behind its front 30 %,
//     the pixels whose 3 × 3 mean is ≥ 60 HU (between muscle, ≈ 30, and disc or trabecular bone, ≥ 70),
//     opened with a 6 mm disk: laminae, pedicles and spinous processes (< 12 mm thick) fall away and
//     the vertebral body or disc remains. Of the pieces ≥ 400 mm² within 15 mm of the mid-line, the
//     largest (thick posterior elements can survive the opening as a second, smaller piece).
//  2. Levels: along the column, the mean HU inside the piece (3 mm in from its edge) peaks at every
//     endplate (cortical plates; ≈ +400 HU at 1.25 mm slices). Between consecutive endplates lies a
//     body (≥ 15 mm) or a disc (< 15 mm). The sacrum is the bone below the lowest disc when it runs
//     ≥ 40 mm (S1–S5 have no discs); the body above that disc is L5, and upward L4 … L1, T12.
//  3. Confidence: "high" when the sacrum is found and bodies and discs alternate; "none" (no levels
//     assigned) when the sacrum is out of the field of view — counting from the top would guess.
//     Flags: sacrum out of view; a lowest disc less than half as high as the one above (possible
//     transitional lumbosacral vertebra); ribs are not detected, so four or six lumbar-type
//     vertebrae cannot be told from five (said in every result).
public import Imaging
import Foundation

public struct VertebralBody: Codable, Sendable, Equatable {
    /// "L1" … "L5", "T12"; nil when levels could not be assigned.
    public var level: String?
    /// Value in labels.nii.gz.
    public var labelValue: Int
    /// Superior and inferior endplate heights, z in mm (LPS).
    public var zRange_mm: [Double]
    public var center: [Double]
    public var height_mm: Double
    public var volume_cm3: Double
    /// False when the field of view cuts it.
    public var complete: Bool
}

public struct SpineLevels: Codable, Sendable, Equatable {
    public var bodies: [VertebralBody]
    public var discs_mm: [[Double]]
    public var sacrumFound: Bool
    /// high | moderate | none
    public var confidence: String
    public var flags: [String]
    public var notes: [String]
}


public enum SpineSegmenter {
    /// Label values: T12 20, L1 21 … L5 25; unassigned bodies 30, 31, … from the bottom.
    public static func labelValue(_ level: String) -> UInt8? {
        ["T12": 20, "L1": 21, "L2": 22, "L3": 23, "L4": 24, "L5": 25][level]
    }
    static let columnHU = 60.0
    static let halfWidth_mm = 45.0
    static let opening_mm = 6.0
    static let minArea_mm2 = 400.0
    static let endplateRise = 80.0
    static let bodyMinHeight_mm = 15.0
    static let sacrumMinLength_mm = 40.0
    /// Muscle around the spine (psoas, crura), phantom-anatomy.md / ct-core.md body composition: ≈ 30 HU.
    static let softTissueHU = 30.0

    @inline(__always) static func mean3x3(_ v: Volume<Int16>, _ q: Int, nx: Int) -> Double {
        var s = 0
        for db in -1...1 { for da in -1...1 { s += Int(v.voxels[q + da + nx * db]) } }
        return Double(s) / 9
    }

    struct Piece { var pixels: [Int]; var cx: Double; var cy: Double; var innerMean: Double? }

    /// Vertebral-body label values (20…49) in a combined label map.
    @inline(__always) public static func isVertebra(_ l: UInt8) -> Bool { l >= 20 && l < 50 }

    /// Finds the bodies and their levels and writes their labels into `body.mask` (which stays non-zero
    /// wherever the body is: one map for body, femora and vertebrae, one byte per voxel).
    /// `opacifiedVessels`: the scan has intravenous contrast (aorta and cava ≥ 120 HU can touch the
    /// bodies and join the column); the body is then taken as the part of its piece that a disk of
    /// 75 % of the piece's deepest inscribed radius can reach, plus 3 mm — a vessel narrower than the
    /// body falls away.
    public static func segment(_ v: Volume<Int16>, body: inout BodyMask, opacifiedVessels: Bool = false) -> SpineLevels {
        let nx = v.size.x, ny = v.size.y, nz = v.size.z, plane = nx * ny
        let g = v.geometry, sx = g.spacing.x, sy = g.spacing.y
        var notes: [String] = []
        // Window: columns within ±45 mm of the mid-line (axial direction assumed: i along x).
        let iMid = g.index(of: Vec3(body.midlineX, 0, 0))?.x ?? Double(nx) / 2
        let i0 = max(0, Int(iMid - halfWidth_mm / sx)), i1 = min(nx - 1, Int(iMid + halfWidth_mm / sx))
        let w = i1 - i0 + 1
        var pieces = [Piece?](repeating: nil, count: nz)
        for k in 0..<nz {
            // Leave out the anterior 30 % of the body's depth (abdominal wall, bowel): the spine is behind it.
            var jLo = ny, jHi = -1
            for j in 0..<ny { for i in stride(from: i0, through: i1, by: 2) where body.mask.voxels[i + nx * j + plane * k] != 0 { jLo = min(jLo, j); jHi = max(jHi, j); break } }
            guard jHi > jLo else { continue }
            // Posterior is +y (LPS); rows grow with y when the row direction points that way.
            let posteriorRows = g.direction.c1.y >= 0
            let cut = Int(0.3 * Double(jHi - jLo))
            let j0 = posteriorRows ? jLo + cut : jLo, j1 = posteriorRows ? jHi : jHi - cut
            let h = j1 - j0 + 1
            guard h > 2, w > 2 else { continue }
            var mask = [Bool](repeating: false, count: w * h)
            for b in 1..<(h - 1) { for a in 1..<(w - 1) {
                let q = (a + i0) + nx * (b + j0) + plane * k
                guard body.mask.voxels[q] != 0 else { continue }
                var s = 0
                for db in -1...1 { for da in -1...1 { s += Int(v.voxels[q + da + nx * db]) } }
                mask[a + w * b] = Double(s) / 9 >= columnHU
            } }
            let opened = open(mask, w: w, h: h, r: opening_mm, sx: sx, sy: sy)
            // Pieces, 4-connected.
            var best: Piece?
            for px in SpineSegmenter.pieces(opened, w: w, h: h) {
                guard Double(px.count) * sx * sy >= minArea_mm2 else { continue }
                let cx = px.reduce(0.0) { $0 + Double($1 % w) } / Double(px.count)
                let cy = px.reduce(0.0) { $0 + Double($1 / w) } / Double(px.count)
                let piece = Piece(pixels: px.map { ($0 % w + i0) + nx * ($0 / w + j0) }, cx: (cx + Double(i0)), cy: cy + Double(j0), innerMean: nil)
                // Of the pieces on the mid-line (within 15 mm) the largest — the body or disc, not the
                // posterior elements behind it; else the one nearest the mid-line.
                func onMidline(_ p: Piece) -> Bool { abs(p.cx - iMid) * sx <= 15 }
                if let b = best {
                    if onMidline(piece) && (!onMidline(b) || piece.pixels.count > b.pixels.count) { best = piece }
                    else if !onMidline(piece) && !onMidline(b) && abs(piece.cx - iMid) < abs(b.cx - iMid) { best = piece }
                } else {
                    best = piece
                }
            }
            guard var p = best else { continue }
            if opacifiedVessels {
                var m = [Bool](repeating: false, count: w * h)
                for q in p.pixels { m[(q % nx - i0) + w * ((q / nx) % ny - j0)] = true }
                let dmax = distance(m, w: w, h: h, sx: sx, sy: sy).max() ?? 0
                let r2 = 0.75 * dmax
                if r2 > 8 {
                    let core = open(m, w: w, h: h, r: r2, sx: sx, sy: sy)
                    let toCore = distance(core.map { !$0 }, w: w, h: h, sx: sx, sy: sy, edgeIsBackground: false)
                    let kept = (0..<(w * h)).map { m[$0] && (core[$0] || toCore[$0] <= 3) }
                    if let biggest = SpineSegmenter.pieces(kept, w: w, h: h).max(by: { $0.count < $1.count }), Double(biggest.count) * sx * sy >= minArea_mm2 {
                        p.pixels = biggest.map { ($0 % w + i0) + nx * ($0 / w + j0) }
                        p.cx = p.pixels.reduce(0.0) { $0 + Double($1 % nx) } / Double(p.pixels.count)
                        p.cy = p.pixels.reduce(0.0) { $0 + Double(($1 / nx) % ny) } / Double(p.pixels.count)
                    }
                }
            }
            // A closed bony ring (body, pedicles, lamina) around the spinal canal survives the opening
            // when the pedicles are thick: the canal is then a hole in the piece, and everything from its
            // front edge backwards is posterior elements, not body.
            do {
                var m = [Bool](repeating: false, count: w * h)
                for q in p.pixels { m[(q % nx - i0) + w * ((q / nx) % ny - j0)] = true }
                let filled = fillHoles(m, w: w, h: h)
                var holeRows: [Int] = [], hole = 0
                for c in 0..<(w * h) where filled[c] && !m[c] { hole += 1; holeRows.append(c / w) }
                if Double(hole) * sx * sy >= 40, let front = posteriorRows ? holeRows.min() : holeRows.max() {
                    let keep = p.pixels.filter { q in
                        let b = (q / nx) % ny - j0
                        return posteriorRows ? b < front : b > front
                    }
                    if Double(keep.count) * sx * sy >= minArea_mm2 {
                        p.pixels = keep
                        p.cx = keep.reduce(0.0) { $0 + Double($1 % nx) } / Double(keep.count)
                        p.cy = keep.reduce(0.0) { $0 + Double(($1 / nx) % ny) } / Double(keep.count)
                    }
                }
            }
            // Inner mean: pixels ≥ 3 mm inside the piece.
            var inner = [Bool](repeating: false, count: w * h)
            for q in p.pixels { inner[(q % nx - i0) + w * ((q / nx) % ny - j0)] = true }
            let dist = distance(inner, w: w, h: h, sx: sx, sy: sy)
            var s = 0.0, c = 0.0
            for q in p.pixels where dist[(q % nx - i0) + w * ((q / nx) % ny - j0)] >= 3 { s += Double(v.voxels[q + plane * k]); c += 1 }
            if c >= 20 { p.innerMean = s / c }
            pieces[k] = p
        }
        // Continuity: drop slices whose piece jumps > 15 mm from the median of its neighbours.
        for k in 0..<nz {
            guard let p = pieces[k] else { continue }
            let near = (max(0, k - 5)...min(nz - 1, k + 5)).compactMap { $0 == k ? nil : pieces[$0] }
            guard near.count >= 3 else { continue }
            let mx = near.map(\.cx).sorted()[near.count / 2], my = near.map(\.cy).sorted()[near.count / 2]
            if ((p.cx - mx) * sx).magnitude > 15 || ((p.cy - my) * sy).magnitude > 15 { pieces[k] = nil }
        }
        // The column's longest run of slices, bridging gaps of up to 5 mm (noise can break a disc's
        // piece for a slice or two); the profile is interpolated across a gap.
        let dz = abs(g.spacing.z)
        let maxGap = max(1, Int((5 / dz).rounded(.down)))
        var run = (start: 0, end: -1), cur: (start: Int, end: Int)? = nil
        for k in 0..<nz where pieces[k]?.innerMean != nil {
            if let c = cur, k - c.end <= maxGap + 1 { cur = (c.start, k) } else { cur = (k, k) }
            if let c = cur, c.end - c.start > run.end - run.start { run = c }
        }
        let up = g.direction.c2.z >= 0
        func zOf(_ k: Double) -> Double { g.world(0, 0, k).z }
        guard Double(run.end - run.start + 1) * dz >= 30 else {
            notes.append("no vertebral column found (no run of ≥ 30 mm of a midline bony piece behind the body centre)")
            return SpineLevels(bodies: [], discs_mm: [], sacrumFound: false, confidence: "none", flags: ["no-spine"], notes: notes)
        }
        let ks = Array(run.start...run.end)
        var profile = ks.map { pieces[$0]?.innerMean ?? .nan }
        for t in profile.indices where profile[t].isNaN {
            let before = (0..<t).last { !profile[$0].isNaN }, after = ((t + 1)..<profile.count).first { !profile[$0].isNaN }
            if let b = before, let a = after { profile[t] = profile[b] + (profile[a] - profile[b]) * Double(t - b) / Double(a - b) }
            else { profile[t] = before.map { profile[$0] } ?? after.map { profile[$0] } ?? 0 }
        }
        // Endplate peaks: ≥ 80 HU above the running median over ±12 mm; adjacent peak slices merged.
        let half = max(2, Int((12 / dz).rounded()))
        var isPeak = [Bool](repeating: false, count: ks.count)
        for t in 0..<ks.count {
            let win = profile[max(0, t - half)...min(ks.count - 1, t + half)].sorted()
            let med = win[win.count / 2]
            if profile[t] - med >= endplateRise { isPeak[t] = true }
        }
        var peaks: [Double] = []  // fractional slice index within ks
        var t = 0
        while t < ks.count {
            if isPeak[t] {
                var e = t
                while e + 1 < ks.count && (isPeak[e + 1] || (e + 2 < ks.count && isPeak[e + 2] && e + 2 - t <= 3)) { e += 1 }
                var sw = 0.0, swt = 0.0
                for q in t...e where isPeak[q] { let wgt = profile[q]; sw += wgt * Double(q); swt += wgt }
                peaks.append(sw / swt)
                t = e + 1
            } else { t += 1 }
        }
        // Intervals between peaks, inferior to superior.
        struct Interval { var lo: Double; var hi: Double; var isBody: Bool; var cutBelow: Bool; var cutAbove: Bool }
        var intervals: [Interval] = []
        let inferiorFirst = up  // index order = inferior → superior when k grows toward the head
        var bounds = peaks
        if !inferiorFirst { bounds = bounds.map { Double(ks.count - 1) - $0 }.reversed() }
        let first = 0.0, last = Double(ks.count - 1)
        var edges = [first] + bounds + [last]
        edges = edges.enumerated().filter { $0.offset == 0 || $0.element - edges[$0.offset - 1] > 0.5 || $0.offset == edges.count - 1 }.map(\.element)
        for q in 0..<(edges.count - 1) {
            let lo = edges[q], hi = edges[q + 1]
            let len = (hi - lo) * dz
            intervals.append(Interval(lo: lo, hi: hi, isBody: len >= bodyMinHeight_mm, cutBelow: q == 0, cutAbove: q == edges.count - 2))
        }
        // The sacrum: the lowest interval, below a disc, running ≥ 40 mm.
        var flags: [String] = ["ribs-not-checked"]
        var sacrumFound = false
        var bodyIntervals: [Interval] = []
        var discs: [Interval] = []
        for iv in intervals { if iv.isBody { bodyIntervals.append(iv) } else if !iv.cutBelow && !iv.cutAbove { discs.append(iv) } }
        // The lowest body interval; a short piece below it at the scan's edge (part of a disc or of the
        // sacrum's end) does not count.
        let lowestBody = intervals.firstIndex(where: \.isBody)
        if let f = lowestBody, f == 0 || (f == 1 && intervals[0].cutBelow), (intervals[f].hi - intervals[f].lo) * dz >= sacrumMinLength_mm,
           intervals.count > f + 1 {
            sacrumFound = true
            bodyIntervals.removeFirst()
            if intervals[f + 1].isBody {
                // No L5/S1 disc between them: missed (thin, or its endplate lost in the sacrum's bright
                // bone) or absent (a sacralised L5). Counted as L5 above the sacrum, with the doubt said.
                flags.append("lumbosacral-disc-not-seen")
                notes.append("no L5/S1 disc was seen between the sacrum and the body above it: a sacralised L5 would shift every level")
            }
        }
        if !sacrumFound {
            flags.append("sacrum-out-of-fov")
            notes.append("the sacrum is not in the field of view (or not recognised): levels are not assigned, since counting from the top would guess")
        }
        // Alternation check: bodies and discs alternate above the sacrum.
        var alternates = true
        // Intervals cut by the field of view are left out: a short one may be a partial body.
        let inner = intervals.dropFirst(sacrumFound ? (lowestBody ?? 0) + 1 : 0).filter { !$0.cutAbove && !$0.cutBelow }
        var prevBody: Bool?
        for iv in inner { if let p = prevBody, p == iv.isBody { alternates = false }; prevBody = iv.isBody }
        if !alternates {
            flags.append("irregular-column")
            notes.append("bodies and discs do not alternate along the column (fused or collapsed vertebra, or a missed endplate)")
        }
        if sacrumFound, discs.count >= 2 {
            let lowestDisc = (discs[0].hi - discs[0].lo) * dz, above = (discs[1].hi - discs[1].lo) * dz
            if lowestDisc < 0.5 * above {
                flags.append("possible-transitional-lumbosacral")
                notes.append(String(format: "the lowest disc (%.1f mm) is less than half as high as the next (%.1f mm): a transitional lumbosacral vertebra would shift every level", lowestDisc, above))
            }
        }
        let doubtful = flags.contains("possible-transitional-lumbosacral") || flags.contains("lumbosacral-disc-not-seen")
        if bodyIntervals.isEmpty {
            flags.append("no-vertebral-bodies")
            notes.append("a bony column was found but no vertebral body could be delimited along it (no endplates seen: slices or pixels too coarse, or the lumbar spine is outside the scan)")
        }
        let confidence = !sacrumFound || bodyIntervals.isEmpty ? "none" : (alternates && !doubtful ? "high" : "moderate")
        notes.append("levels are counted upward from the sacrum; ribs are not detected, so four or six lumbar-type vertebrae cannot be told from five")
        // Label the bodies.
        let names = ["L5", "L4", "L3", "L2", "L1", "T12"]
        var bodies: [VertebralBody] = []
        let voxel_cm3 = sx * sy * dz / 1000
        for (n, iv) in bodyIntervals.enumerated() {
            let level: String? = sacrumFound && n < names.count ? names[n] : nil
            let value = level.flatMap(labelValue) ?? UInt8(30 + min(n, 20))
            // Slices from endplate to endplate (the peaks belong to the body).
            let a = Int(iv.lo.rounded()), b = Int(iv.hi.rounded())
            var count = 0
            var cs = Vec3.zero
            // The body's edge at half-way between its trabecular HU (median inner mean of its slices) and
            // soft tissue (≈ 30 HU, muscle): the 60 HU column threshold sits outside it.
            let inners = (a...b).compactMap { tt in pieces[inferiorFirst ? ks[tt] : ks[ks.count - 1 - tt]]?.innerMean }.sorted()
            let edge = inners.isEmpty ? columnHU : max(columnHU, (inners[inners.count / 2] + softTissueHU) / 2)
            for tt in a...b {
                let kk = inferiorFirst ? ks[tt] : ks[ks.count - 1 - tt]
                guard let p = pieces[kk] else { continue }
                // The piece's pixels above the edge, holes (noise) filled, on a window with a margin.
                let pi0 = p.pixels.map { $0 % nx }.min()! - 1, pj0 = p.pixels.map { $0 / nx }.min()! - 1
                let pw = p.pixels.map { $0 % nx }.max()! - pi0 + 2, ph = p.pixels.map { $0 / nx }.max()! - pj0 + 2
                var m = [Bool](repeating: false, count: pw * ph)
                for q in p.pixels where Double(v.voxels[q + plane * kk]) >= edge && mean3x3(v, q + plane * kk, nx: nx) >= edge {
                    m[(q % nx - pi0) + pw * (q / nx - pj0)] = true
                }
                let filled = fillHoles(m, w: pw, h: ph)
                for c in 0..<(pw * ph) where filled[c] {
                    let q = (c % pw + pi0) + nx * (c / pw + pj0)
                    body.mask.voxels[q + plane * kk] = value
                    count += 1
                    cs = cs + g.world(Double(q % nx), Double((q / nx) % ny), Double(kk))
                }
            }
            guard count > 0 else { continue }
            let zlo = zOf(Double(inferiorFirst ? ks[0] : ks[ks.count - 1]) + (inferiorFirst ? iv.lo : -iv.lo))
            let zhi = zOf(Double(inferiorFirst ? ks[0] : ks[ks.count - 1]) + (inferiorFirst ? iv.hi : -iv.hi))
            bodies.append(VertebralBody(level: level, labelValue: Int(value), zRange_mm: [min(zlo, zhi), max(zlo, zhi)], center: (cs / Double(count)).array,
                                        height_mm: abs(zhi - zlo), volume_cm3: Double(count) * voxel_cm3, complete: !iv.cutAbove && !iv.cutBelow))
        }
        let discRanges = discs.map { iv -> [Double] in
            let base = Double(inferiorFirst ? ks[0] : ks[ks.count - 1])
            let z1 = zOf(base + (inferiorFirst ? iv.lo : -iv.lo)), z2 = zOf(base + (inferiorFirst ? iv.hi : -iv.hi))
            return [min(z1, z2), max(z1, z2)]
        }
        return SpineLevels(bodies: bodies, discs_mm: discRanges, sacrumFound: sacrumFound, confidence: confidence, flags: flags, notes: notes)
    }

    /// Distance (mm) from each foreground pixel to the nearest background pixel (or the window edge);
    /// 0 on background. Two-pass chamfer with the true pixel steps (error < 8 %, enough for erosions).
    static func distance(_ m: [Bool], w: Int, h: Int, sx: Double, sy: Double, edgeIsBackground: Bool = true) -> [Double] {
        let big = 1e9
        // Beyond the window: background at one step, or nothing (infinitely far).
        let ex = edgeIsBackground ? sx : big, ey = edgeIsBackground ? sy : big
        let ed = edgeIsBackground ? (sx * sx + sy * sy).squareRoot() : big
        var d = m.map { $0 ? big : 0 }
        let dd = (sx * sx + sy * sy).squareRoot()
        for b in 0..<h { for a in 0..<w where m[a + w * b] {
            var v = d[a + w * b]
            v = min(v, a > 0 ? d[a - 1 + w * b] + sx : ex)
            v = min(v, b > 0 ? d[a + w * (b - 1)] + sy : ey)
            v = min(v, a > 0 && b > 0 ? d[a - 1 + w * (b - 1)] + dd : ed)
            v = min(v, a < w - 1 && b > 0 ? d[a + 1 + w * (b - 1)] + dd : ed)
            d[a + w * b] = v
        } }
        for b in stride(from: h - 1, through: 0, by: -1) { for a in stride(from: w - 1, through: 0, by: -1) where m[a + w * b] {
            var v = d[a + w * b]
            v = min(v, a < w - 1 ? d[a + 1 + w * b] + sx : ex)
            v = min(v, b < h - 1 ? d[a + w * (b + 1)] + sy : ey)
            v = min(v, a < w - 1 && b < h - 1 ? d[a + 1 + w * (b + 1)] + dd : ed)
            v = min(v, a > 0 && b < h - 1 ? d[a - 1 + w * (b + 1)] + dd : ed)
            d[a + w * b] = v
        } }
        return d
    }

    /// The 4-connected pieces of a 2-D mask (window indices), in scan order.
    static func pieces(_ m: [Bool], w: Int, h: Int) -> [[Int]] {
        var seen = [Bool](repeating: false, count: w * h), out: [[Int]] = []
        for start in 0..<(w * h) where m[start] && !seen[start] {
            var stack = [start], piece: [Int] = []
            seen[start] = true
            while let c = stack.popLast() {
                piece.append(c)
                let a = c % w, b = c / w
                for (ok, nb) in [(a > 0, c - 1), (a < w - 1, c + 1), (b > 0, c - w), (b < h - 1, c + w)] where ok && m[nb] && !seen[nb] {
                    seen[nb] = true
                    stack.append(nb)
                }
            }
            out.append(piece)
        }
        return out
    }

    /// The mask with its holes filled: background is what the window's corner reaches, 4-connected
    /// (callers leave a one-pixel margin around the object).
    static func fillHoles(_ m: [Bool], w: Int, h: Int) -> [Bool] {
        var outside = [Bool](repeating: false, count: w * h)
        guard !m[0] else { return m }
        var stack = [0]
        outside[0] = true
        while let c = stack.popLast() {
            let a = c % w, b = c / w
            for (ok, nb) in [(a > 0, c - 1), (a < w - 1, c + 1), (b > 0, c - w), (b < h - 1, c + w)] where ok && !m[nb] && !outside[nb] {
                outside[nb] = true
                stack.append(nb)
            }
        }
        return outside.map { !$0 }
    }

    /// Morphological opening with a disk of radius r (mm): erosion by distance, then dilation by the
    /// distance from the eroded set.
    static func open(_ m: [Bool], w: Int, h: Int, r: Double, sx: Double, sy: Double) -> [Bool] {
        let d = distance(m, w: w, h: h, sx: sx, sy: sy)
        let eroded = d.map { $0 > r }
        let outside = distance(eroded.map { !$0 }, w: w, h: h, sx: sx, sy: sy, edgeIsBackground: false)
        // `outside` is the distance from a non-eroded pixel to the eroded set; ≤ r is within the disk.
        var out = [Bool](repeating: false, count: w * h)
        for q in 0..<(w * h) where m[q] && (eroded[q] || outside[q] <= r) { out[q] = true }
        return out
    }
}
