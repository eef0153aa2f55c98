// Hip structural analysis (Beck HSA, ct-core.md §3) on true 3-D cross-sections of the calibrated CT,
// perpendicular to the local axis of the bone (the engineering form of Beck's DXA profile method).
//
// Sections (Beck TJ et al., Invest Radiol 1990;25:6 and JBMR 2000;15:2297, via ct-core.md §3):
//  - narrow neck (NN): through the narrow-neck centre, perpendicular to the neck axis;
//  - intertrochanter (IT): the plane holding the bisector of the neck–shaft angle (through the
//    intersection of the neck and shaft axes) and the normal of the neck–shaft plane;
//  - shaft (S): perpendicular to the shaft axis, 1.5 × the narrow-neck width distal to the intersection
//    of the neck and shaft axes.
// Each section is a 5 mm slab (Beck's strips are ≈ 5 mm wide) sampled on 0.25 mm pixels by trilinear
// interpolation. Bone = the femur mask's section (interpolated mask ≥ 0.5, the piece at the centre)
// and a 1.5 mm rim around it that holds the partial-volume edge; each pixel weighs its density (inside
// the mask from water, as QCT mineral is counted; in the rim only the part above the surrounding soft
// tissue, the median of a 1.5–4 mm ring outside), divided by the density of fully mineralised bone
// ρc = 1050 mg/cm³ (ct-core.md §3: ≈ 1.05 g/cm³):
//  - CSA = Σ w·a (cm², cortical-equivalent area); centroid ū along the bending direction u;
//  - CSMI = Σ w·(u − ū)²·a (cm⁴) for bending in the neck–shaft plane (as DXA-HSA sees it);
//  - outer diameter D = the mask section's extent along u; d_max = the larger centroid-to-edge
//    distance along u; section modulus Z = CSMI / d_max (cm³);
//  - annulus model (Beck): R = D/2, f·CSA = π(R² − r²) with f = 60 % NN, 70 % IT, 100 % S; estimated
//    cortical thickness ECT = R − r; buckling ratio BR = d_max / ECT (> 10: local-buckling instability);
//  - measured cortical thickness: the mass above the section's trabecular density (median of the
//    pixels ≥ 3 mm inside the mask edge) as an area of fully mineralised bone, laid as an annulus
//    inside the mask's outline: √(A/π) − √((A − A_c)/π). Mass-based, so blur does not thicken it
//    (thresholded thickness overestimates cortices under ≈ 2 mm on clinical CT, ct-core.md §3).
// Hip axis length: along the neck axis from the lateral surface of the femur to the inner pelvic brim
// (the inner cortex of the pelvic wall behind the acetabulum: the last point > 175 HU before ≥ 8 mm
// without bone); femoral neck axis length: to the head's apex instead.
public import Imaging
import Foundation

public struct HSASection: Codable, Sendable, Equatable {
    /// narrow_neck, intertrochanter, shaft.
    public var name: String
    public var definition: String
    public var center: [Double]
    /// Unit normal of the section plane and the bending direction (in the plane), LPS.
    public var normal: [Double]
    public var bendingDirection: [Double]
    public var csa_cm2: Double
    public var csmi_cm4: Double
    public var sectionModulus_cm3: Double
    public var outerDiameter_mm: Double
    public var dMax_mm: Double
    public var corticalThicknessMeasured_mm: Double
    /// Beck's assumed cortical fraction of CSA for this section.
    public var corticalFraction: Double
    public var corticalThicknessAnnulus_mm: Double
    public var bucklingRatio: Double
    public var trabecularDensity_mgcm3: Double?
    public var softTissueDensity_mgcm3: Double
}

public struct HSAResult: Codable, Sendable, Equatable {
    public var side: FemurMask.Side
    public var sections: [HSASection]
    public var neckShaftAngle_deg: Double
    public var hipAxisLength_mm: Double?
    public var femoralNeckAxisLength_mm: Double?
    /// Density taken as fully mineralised bone (mg/cm³, in the calibration's equivalent).
    public var fullyMineralisedDensity_mgcm3: Double
    public var equivalent: String?
    public var method: String
    public var notes: [String]
}

public enum HSA {
    /// Fully mineralised bone, mg/cm³ (ct-core.md §3, Beck: ≈ 1.05 g/cm³).
    public static let rhoC = 1050.0
    static let pixel = 0.25
    static let slab = 5.0
    static let rim = 1.5
    /// Beck's cortical fractions of CSA: 60 % narrow neck, 70 % intertrochanter, 100 % shaft.
    public static let corticalFraction: [String: Double] = ["narrow_neck": 0.6, "intertrochanter": 0.7, "shaft": 1.0]
    public static let methodText = "Beck HSA on 3-D sections perpendicular to the local axis: 5 mm slab, 0.25 mm pixels, trilinear sampling; bone = femur mask section (density from water) + 1.5 mm rim (density above the surrounding soft tissue), ÷ 1050 mg/cm³; CSMI and Z for bending in the neck–shaft plane; annulus-model cortical thickness with 60/70/100 % cortical fractions (NN/IT/S) and buckling ratio d_max/ECT; measured cortical thickness from the mass above the trabecular density"

    /// The three sections, hip axis length and femoral neck axis length of one femur.
    /// `density(q)`: calibrated density (mg/cm³) of voxel q; `hu(q)`: its HU (for the pelvic brim).
    public static func measure(labels: Volume<UInt8>, femur: FemurMask, density: (Int) -> Double, hu: (Int) -> Double,
                               equivalent: String?) -> HSAResult? {
        guard let head = femur.head, let axes = femur.axes, let nnc = axes.narrowNeckCenter else { return nil }
        let value = femur.side.label
        let c = Vec3(head.center[0], head.center[1], head.center[2])
        let nd = Vec3(axes.neckAxisDirection[0], axes.neckAxisDirection[1], axes.neckAxisDirection[2]).normalized  // head → lateral
        let sd = Vec3(axes.shaftAxisDirection[0], axes.shaftAxisDirection[1], axes.shaftAxisDirection[2]).normalized  // proximal
        let sp = Vec3(axes.shaftAxisPoint[0], axes.shaftAxisPoint[1], axes.shaftAxisPoint[2])
        var notes: [String] = []
        var sections: [HSASection] = []
        // Narrow neck: bending in the neck–shaft plane, i.e. along the shaft direction made perpendicular to the neck.
        let nnBend = sd - nd * sd.dot(nd)
        guard nnBend.length > 1e-6, let nn = section(name: "narrow_neck", definition: "perpendicular to the neck axis through the narrow neck (the smallest cross-section 0.8–2.2 head radii out)",
                                                  density: density, labels: labels, value: value, center: Vec3(nnc[0], nnc[1], nnc[2]),
                                                  normal: nd, bending: nnBend, halfSize: 30) else {
            return nil
        }
        sections.append(nn)
        // Intersection of the neck and shaft axes (closest points of the two lines; their midpoint).
        let w0 = c - sp
        let b = nd.dot(sd), d = nd.dot(w0), e = sd.dot(w0)
        let den = 1 - b * b
        if den > 1e-6 {
            let s = (b * e - d) / den, t = (e - b * d) / den
            let x = ((c + nd * s) + (sp + sd * t)) * 0.5
            // Intertrochanter: the bisector of the angle between the neck toward the head (−nd) and the
            // shaft toward the knee (−sd), through x.
            let bis = (nd * -1 + sd * -1).normalized
            let planeNormal = nd.cross(sd).normalized
            let itNormal = planeNormal.cross(bis).normalized
            if let it = section(name: "intertrochanter", definition: "along the bisector of the neck–shaft angle through the intersection of the neck and shaft axes",
                                density: density, labels: labels, value: value, center: x, normal: itNormal, bending: bis, halfSize: 50) {
                sections.append(it)
            } else {
                notes.append("intertrochanter section: no bone at the intersection of the neck and shaft axes")
            }
            let xs = sp + sd * t
            let shaftCentre = xs - sd * (1.5 * nn.outerDiameter_mm)
            let shaftBend = nd - sd * nd.dot(sd)
            if shaftBend.length > 1e-6, let s = section(name: "shaft", definition: String(format: "perpendicular to the shaft axis, 1.5 × the narrow-neck width (%.1f mm) distal to the intersection of the neck and shaft axes", 1.5 * nn.outerDiameter_mm),
                                                       density: density, labels: labels, value: value, center: shaftCentre, normal: sd, bending: shaftBend, halfSize: 30) {
                sections.append(s)
            } else {
                notes.append(String(format: "shaft section not measured: %.0f mm distal to the axes' intersection lies outside the femur in the scan", 1.5 * nn.outerDiameter_mm))
            }
        } else {
            notes.append("neck and shaft axes parallel: no intertrochanter or shaft section")
        }
        // Axis lengths along the neck axis.
        let g = labels.geometry, nx = labels.size.x, ny = labels.size.y, nz = labels.size.z
        func voxel(_ p: Vec3) -> Int? {
            guard let f = g.index(of: p) else { return nil }
            let i = Int(f.x.rounded()), j = Int(f.y.rounded()), k = Int(f.z.rounded())
            guard i >= 0, j >= 0, k >= 0, i < nx, j < ny, k < nz else { return nil }
            return i + nx * j + nx * ny * k
        }
        func inFemur(_ p: Vec3) -> Bool { voxel(p).map { labels.voxels[$0] == value } ?? false }
        let step = 0.25
        var lateral: Double?
        var s = 0.0
        while s < 200 { if inFemur(c + nd * s) { lateral = s }; s += step }
        var apex: Double?
        s = 0
        while s < 60 { if !inFemur(c - nd * s) { apex = s; break }; s += step }
        var brim: Double?
        if let a = apex {
            // Past the apex: the joint space, the acetabulum's articular cortex (> 175 HU), the pelvic
            // wall (its trabecular bone may read below 175 HU), and its inner cortex: the last bone
            // point followed by ≥ 8 mm without bone (the pelvis' interior: obturator internus, fat).
            var t = a, lastBone: Double?
            while t < a + 50 {
                guard let q = voxel(c - nd * t) else { break }
                if hu(q) > 175 { lastBone = t } else if let l = lastBone, t - l >= 8 { brim = l; break }
                if lastBone == nil && t > a + 15 { break }  // no acetabulum within 15 mm of the head
                t += step
            }
        }
        var hal: Double?, fnal: Double?
        if let l = lateral, let a = apex {
            fnal = l + a
            if let bm = brim { hal = l + bm } else { notes.append("hip axis length not measured: no inner pelvic brim found along the neck axis within 50 mm past the head") }
        }
        return HSAResult(side: femur.side, sections: sections, neckShaftAngle_deg: axes.neckShaftAngle_deg, hipAxisLength_mm: hal,
                         femoralNeckAxisLength_mm: fnal, fullyMineralisedDensity_mgcm3: rhoC, equivalent: equivalent, method: methodText, notes: notes)
    }

    /// One section: the slab perpendicular to `normal` through `center`, bending along `bending`.
    public static func section(name: String, definition: String, density: (Int) -> Double, labels: Volume<UInt8>, value: UInt8,
                               center: Vec3, normal: Vec3, bending: Vec3, halfSize: Double) -> HSASection? {
        let n = normal.normalized
        let u = (bending - n * bending.dot(n)).normalized
        let w = n.cross(u)
        let g = labels.geometry, nx = labels.size.x, ny = labels.size.y, nz = labels.size.z, plane = nx * ny
        let m = Int((2 * halfSize / pixel).rounded())
        let a_mm2 = pixel * pixel
        var rho = [Double](repeating: 0, count: m * m)
        var maskF = [Double](repeating: 0, count: m * m)
        var near = [Bool](repeating: false, count: m * m)
        let offsets = stride(from: -(slab - 1) / 2, through: (slab - 1) / 2 + 1e-9, by: 1.0).map { $0 }
        for bIdx in 0..<m { for aIdx in 0..<m {
            let pu = -halfSize + (Double(aIdx) + 0.5) * pixel, pw = -halfSize + (Double(bIdx) + 0.5) * pixel
            var sumR = 0.0, sumM = 0.0, cnt = 0.0, nearAny = false
            for t in offsets {
                let p = center + u * pu + w * pw + n * t
                guard let f = g.index(of: p) else { continue }
                let i0 = Int(f.x.rounded(.down)), j0 = Int(f.y.rounded(.down)), k0 = Int(f.z.rounded(.down))
                guard i0 >= 0, j0 >= 0, k0 >= 0, i0 + 1 < nx, j0 + 1 < ny, k0 + 1 < nz else { continue }
                let fx = f.x - Double(i0), fy = f.y - Double(j0), fz = f.z - Double(k0)
                var r = 0.0, mk = 0.0
                for dk in 0...1 { for dj in 0...1 { for di in 0...1 {
                    let wt = (di == 0 ? 1 - fx : fx) * (dj == 0 ? 1 - fy : fy) * (dk == 0 ? 1 - fz : fz)
                    let q = (i0 + di) + nx * (j0 + dj) + plane * (k0 + dk)
                    r += wt * density(q)
                    if labels.voxels[q] == value { mk += wt; nearAny = true }
                } } }
                sumR += r; sumM += mk; cnt += 1
            }
            guard cnt > 0 else { continue }
            rho[aIdx + m * bIdx] = sumR / cnt
            maskF[aIdx + m * bIdx] = sumM / cnt
            near[aIdx + m * bIdx] = nearAny
        } }
        // The mask's piece at the centre (or the nearest piece within 5 mm).
        let inside = maskF.map { $0 >= 0.5 }
        let mid = m / 2
        var seed: Int?
        var bestD = Double.infinity
        for q in 0..<(m * m) where inside[q] {
            let da = Double(q % m - mid), db = Double(q / m - mid)
            let d2 = da * da + db * db
            if d2 < bestD { bestD = d2; seed = q }
        }
        guard let seed, bestD.squareRoot() * pixel <= 5 else { return nil }
        var piece = [Bool](repeating: false, count: m * m)
        var stack = [seed]
        piece[seed] = true
        while let q = stack.popLast() {
            let a = q % m, b = q / m
            for (ok, nb) in [(a > 0, q - 1), (a < m - 1, q + 1), (b > 0, q - m), (b < m - 1, q + m)] where ok && inside[nb] && !piece[nb] {
                piece[nb] = true; stack.append(nb)
            }
        }
        // Distances (mm) outside and inside the piece's edge (chamfer 3-4 on the pixel grid).
        // (Spine's chamfer: distance to the nearest pixel outside the given mask; the window's edge is not bone.)
        let outside = SpineSegmenter.distance(piece.map { !$0 }, w: m, h: m, sx: pixel, sy: pixel, edgeIsBackground: false)
        let depth = SpineSegmenter.distance(piece, w: m, h: m, sx: pixel, sy: pixel, edgeIsBackground: false)
        // Soft tissue: ring 1.5–4 mm outside the piece, away from other bone.
        var ring: [Double] = []
        for q in 0..<(m * m) where !piece[q] && !near[q] && outside[q] >= rim && outside[q] <= 4 { ring.append(rho[q]) }
        let soft = ring.isEmpty ? 0 : median(ring)
        let bone = (0..<(m * m)).map { piece[$0] || (near[$0] && outside[$0] <= rim) }
        // Inside the mask the density counts from water (0 mg/cm³), as the QCT mineral does; in the rim
        // only what stands above the soft tissue (the bone's blurred edge).
        func weight(_ q: Int) -> Double { piece[q] ? rho[q] : max(0, rho[q] - soft) }
        var mass = 0.0, mu = 0.0
        for q in 0..<(m * m) where bone[q] {
            let e = weight(q)
            mass += e * a_mm2
            mu += e * a_mm2 * (-halfSize + (Double(q % m) + 0.5) * pixel)
        }
        guard mass > 0 else { return nil }
        let ubar = mu / mass
        var csmi = 0.0
        for q in 0..<(m * m) where bone[q] {
            let e = weight(q)
            let du = -halfSize + (Double(q % m) + 0.5) * pixel - ubar
            csmi += e * a_mm2 * du * du
        }
        csmi /= rhoC  // mm⁴
        let csa = mass / rhoC  // mm²
        var uMin = Double.infinity, uMax = -Double.infinity, area = 0.0
        var deep: [Double] = []
        for q in 0..<(m * m) where piece[q] {
            let pu = -halfSize + (Double(q % m) + 0.5) * pixel
            uMin = min(uMin, pu - pixel / 2); uMax = max(uMax, pu + pixel / 2)
            area += a_mm2
            if depth[q] >= 3 { deep.append(rho[q]) }
        }
        let dOuter = uMax - uMin
        let dMax = max(uMax - ubar, ubar - uMin)
        let trab = deep.isEmpty ? nil : median(deep)
        // Measured: mass above the trabecular level as fully mineralised bone, laid inside the outline.
        let base = max(trab ?? soft, soft)
        var cortical = 0.0
        for q in 0..<(m * m) where bone[q] { cortical += max(0, rho[q] - base) * a_mm2 }
        let ac = min(area, cortical / (rhoC - base))
        let measured = (area / .pi).squareRoot() - max(0, (area - ac) / .pi).squareRoot()
        let f = corticalFraction[name] ?? 1
        let r = dOuter / 2
        let inner2 = r * r - f * csa / .pi
        let ect = r - max(0, inner2).squareRoot()
        return HSASection(name: name, definition: definition, center: center.array, normal: n.array, bendingDirection: u.array,
                          csa_cm2: csa / 100, csmi_cm4: csmi / 1e4, sectionModulus_cm3: csmi / dMax / 1000, outerDiameter_mm: dOuter,
                          dMax_mm: dMax, corticalThicknessMeasured_mm: measured, corticalFraction: f, corticalThicknessAnnulus_mm: ect,
                          bucklingRatio: ect > 0 ? dMax / ect : .infinity, trabecularDensity_mgcm3: trab, softTissueDensity_mgcm3: soft)
    }

    static func median(_ x: [Double]) -> Double {
        let s = x.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
