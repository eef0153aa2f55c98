// Femur-region densitometry: head, neck, narrow-neck slab, trochanter, intertrochanter and total hip,
// each with integral, trabecular and cortical vBMD and mean HU; and the "proximal femur HU" of the CT
// colonography fracture study.
//
// Regions, from the measured landmarks. s: distance along the neck axis from the head centre; ρ: distance
// from the neck axis; h: height along the shaft axis (proximal +) above X, the point of the neck axis
// nearest the shaft axis; ℓ: distance lateral of the shaft axis, in the plane of the two axes.
//  - head: s < s_HN = √(r² − A_NN/π), where the fitted head sphere narrows to the narrow neck's
//    cross-section (A_NN, the mask area at the narrow neck).
//  - neck: s_HN ≤ s < s_X and ρ ≤ 1.25·√(A_NN/π): a cylinder on the neck axis from the head–neck plane to
//    X, wide enough to hold a narrow-neck ellipse with axis ratio up to 1.56, narrow enough to leave the
//    flare of the neck base and the greater trochanter (which reaches to s < s_X) out. Our definition.
//  - narrow-neck slab: the neck within ±2.5 mm of the narrow neck (5 mm, the width of Beck's HSA strips,
//    ct-core.md §3).
//  - trochanter: the rest at or above the level of the lesser-trochanter apex and lateral of the shaft axis.
//  - intertrochanter: the rest down to 10 mm below the lesser-trochanter apex.
//  - total hip: head + neck + trochanter + intertrochanter.
// These follow the structure of the DXA/CTXA regions (neck, trochanteric, intertrochanteric, total) in 3-D;
// they are not the proprietary definitions of any vendor.
//
// Compartments (ct-core.md: the ROI type is stored with every number):
//  - integral: the femur mask. Its mineral content is summed over the mask and a rim of two voxel
//    layers around it (6-neighbours): blur moves mineral of the cortex outside the mask, the rim takes it
//    back (mass is conserved under blur), so the content depends neither on the scanner's sharpness nor
//    on how tightly the mask hugs the bone; integral vBMD = content / mask volume.
//  - cortical: mask voxels at ≥ 350 mg/cm³ (K2HPO4), the cortical threshold common in volumetric hip QCT
//    (our choice of the commonly used value). Uncalibrated: ≥ 455 HU (the same through 1.3 HU per mg/cm³,
//    the typical 120 kVp slope, phantom-anatomy.md §8).
//  - trabecular: mask voxels at least 2 mm from any cortical voxel and from outside the mask, so that the
//    blurred cortex (PSF FWHM ≈ 1 mm) does not leak in.
public import Imaging
import Foundation

/// One compartment of one region.
public struct DensityCompartment: Codable, Sendable, Equatable {
    public var voxels: Int
    public var volume_cm3: Double
    public var meanHU: Double
    public var sdHU: Double
    /// Calibrated mean density (mg/cm³ of the calibration's equivalent); nil without calibration.
    public var vBMD_mgcm3: Double?
    /// Mineral content, mg (integral compartment only).
    public var bmc_mg: Double?
}

public struct FemurRegionDensity: Codable, Sendable, Equatable {
    /// `femur_<side>_<region>`, the naming of the phantom's truth.json.
    public var name: String
    public var region: String
    public var integral: DensityCompartment
    public var trabecular: DensityCompartment?
    public var cortical: DensityCompartment?
}

/// The "proximal femur HU" screening measure.
public struct ProximalFemurHU: Codable, Sendable, Equatable {
    public var meanHU: Double
    public var voxels: Int
    public var threshold_HU: Double
    public var belowThreshold: Bool
    public var roi: String
    public var source: String
    public var caveats: [String]
}

public struct FemurDensitometry: Codable, Sendable, Equatable {
    public var side: FemurMask.Side
    /// Calibration method behind every vBMD ("none": HU only).
    public var calibration: String
    public var equivalent: String?
    public var regions: [FemurRegionDensity]
    public var proximalFemurHU: ProximalFemurHU?
    /// Region boundaries actually used (mm).
    public var headNeckPlane_mm: Double
    public var neckBasePlane_mm: Double
    public var neckCylinderRadius_mm: Double
    public var lesserTrochanterLevel_mm: Double?
    public var distalLimit_mm: Double
    public var roiDefinitions: [String: String]
    public var notes: [String]
}

public enum FemurDensitometer {
    public static let regionNames = ["head", "neck", "trochanter", "intertrochanter"]
    /// Label values in femur-regions.nii.gz: base + 4·region + compartment (0 rim outside the mask, whose
    /// mineral counts in the integral content; 1 mask neither trabecular nor cortical; 2 trabecular;
    /// 3 cortical); regions in the order of `regionNames`.
    public static func labelBase(_ side: FemurMask.Side) -> UInt8 { side == .right ? 10 : 30 }
    static let corticalThreshold_mgcm3 = 350.0
    static let uncalibratedSlope = 1.3
    static let trabecularClearance_mm = 2.0
    static let neckCylinderFactor = 1.25
    static let narrowNeckHalfWidth_mm = 2.5
    static let rimLayers = 2
    static let distalBelowLesserTrochanter_mm = 10.0
    /// Osteoporos Int 2020, doi 10.1007/s00198-020-05477-y: 3711 CT colonography patients, 10-year follow-up;
    /// 112 HU gave 80 % sensitivity for fracture.
    static let proximalFemurThreshold_HU = 112.0

    public static let definitions: [String: String] = [
        "head": "femur above the plane perpendicular to the neck axis where the fitted head sphere narrows to the narrow neck's cross-section",
        "neck": "cylinder on the neck axis, radius 1.25 × the narrow neck's equivalent radius, from the head–neck plane to the point where the neck axis meets the shaft axis",
        "narrow_neck": "the neck within ±2.5 mm of the narrow neck (a 5 mm slab perpendicular to the neck axis)",
        "trochanter": "femur outside head and neck, at or above the lesser-trochanter apex, lateral of the shaft axis",
        "intertrochanter": "femur outside head, neck and trochanter, down to 10 mm below the lesser-trochanter apex",
        "total_hip": "head + neck + trochanter + intertrochanter",
        "integral": "femur mask (175 HU, or the external label); mineral summed over the mask and two voxel layers around it (the blurred rim of the cortex), divided by the mask volume",
        "cortical": "mask voxels at ≥ 350 mg/cm³ (≥ 455 HU uncalibrated)",
        "trabecular": "mask voxels ≥ 2 mm from cortical voxels and from outside the mask",
        "proximal_femur_HU": "mean HU of the trabecular compartment of the total hip (head, neck, trochanter, intertrochanter); an automated 3-D analogue of the published measure",
    ]

    /// Measures one femur. `labels` holds the femur mask (the side's label value); `regionMap`, when
    /// given, receives the region/compartment labels (same grid).
    public static func measure(_ v: Volume<Int16>, labels: Volume<UInt8>, femur: FemurMask, box: VoxelBox,
                               calibration: DensityCalibration, regionMap: inout [UInt8]) -> FemurDensitometry? {
        let value = femur.side.label
        guard let head = femur.head, let axes = femur.axes else { return nil }
        let g = v.geometry
        let nx = v.size.x, ny = v.size.y, nz = v.size.z, plane = nx * ny
        var notes: [String] = []
        let H = Vec3(head.center[0], head.center[1], head.center[2])
        let u = Vec3(axes.neckAxisDirection[0], axes.neckAxisDirection[1], axes.neckAxisDirection[2]).normalized
        let P = Vec3(axes.shaftAxisPoint[0], axes.shaftAxisPoint[1], axes.shaftAxisPoint[2])
        let e = Vec3(axes.shaftAxisDirection[0], axes.shaftAxisDirection[1], axes.shaftAxisDirection[2]).normalized
        // X: the point of the neck axis nearest the shaft axis.
        let w0 = H - P
        let b = u.dot(e), d = u.dot(w0), f = e.dot(w0)
        let den = 1 - b * b
        guard den > 1e-6 else { return nil }
        let sX = (b * f - d) / den
        let X = H + u * sX
        let lateral0 = u - e * u.dot(e)
        guard lateral0.length > 1e-6 else { return nil }
        let lateral = lateral0.normalized
        let r = head.radius_mm
        let nnArea = axes.narrowNeckMaskArea_mm2 ?? 0
        var rNN = (nnArea / .pi).squareRoot()
        if nnArea <= 0 || rNN >= r {
            rNN = 0.65 * r
            notes.append("no narrow neck measured: head–neck plane and neck cylinder from 0.65 × the head radius")
        }
        let sHN = (r * r - rNN * rNN).squareRoot()
        let rCyl = neckCylinderFactor * rNN
        let sNN = axes.narrowNeckDistance_mm
        var hLT: Double?
        if let lt = axes.lesserTrochanterApex { hLT = (Vec3(lt[0], lt[1], lt[2]) - X).dot(e) }
        let hDistal: Double
        if let hLT { hDistal = hLT - distalBelowLesserTrochanter_mm } else {
            hDistal = -(H - X).dot(e) - 2 * r
            notes.append("no lesser trochanter found: the distal limit is placed two head radii below the head centre")
        }
        let hTroch = hLT ?? (hDistal + distalBelowLesserTrochanter_mm)

        // Cortical threshold in HU.
        let corticalHU: Double
        if let s = calibration.slope_HU_per_mgcm3, let i = calibration.intercept_HU, calibration.method != .none {
            corticalHU = s * corticalThreshold_mgcm3 + i
        } else {
            corticalHU = uncalibratedSlope * corticalThreshold_mgcm3
        }

        // Work box: the femur's box grown by the clearance plus one voxel, clipped to the grid.
        let sp = g.spacing
        let pad = (Int((trabecularClearance_mm / min(sp.x, sp.y)).rounded(.up)) + 1, Int((trabecularClearance_mm / sp.z).rounded(.up)) + 1)
        let i0 = max(0, box.i.lowerBound - pad.0), i1 = min(nx - 1, box.i.upperBound + pad.0)
        let j0 = max(0, box.j.lowerBound - pad.0), j1 = min(ny - 1, box.j.upperBound + pad.0)
        let k0 = max(0, box.k.lowerBound - pad.1), k1 = min(nz - 1, box.k.upperBound + pad.1)
        let bx = i1 - i0 + 1, by = j1 - j0 + 1, bz = k1 - k0 + 1, bplane = bx * by
        @inline(__always) func global(_ a: Int, _ bb: Int, _ c: Int) -> Int { (a + i0) + nx * (bb + j0) + plane * (c + k0) }
        // Local classes: 0 outside, 1 rim (grown), 2 mask, 3 cortical (mask ≥ threshold).
        var cls = [UInt8](repeating: 0, count: bx * by * bz)
        for c in 0..<bz { for bb in 0..<by { for a in 0..<bx {
            let q = global(a, bb, c)
            if labels.voxels[q] == value { cls[a + bx * bb + bplane * c] = Double(v.voxels[q]) >= corticalHU ? 3 : 2 }
        } } }
        // Rim: two layers of 6-neighbours around the mask, outside it and off other bones. Two, so that
        // the blur tail is caught also when the mask hugs the bone surface (external label maps).
        for _ in 0..<rimLayers {
            var add: [Int] = []
            for c in 0..<bz { for bb in 0..<by { for a in 0..<bx where cls[a + bx * bb + bplane * c] == 0 {
                let q = global(a, bb, c)
                if labels.voxels[q] > 1 && labels.voxels[q] != value { continue }  // another bone (1 is plain body)
                for (ok, n) in [(a > 0, -1), (a < bx - 1, 1), (bb > 0, -bx), (bb < by - 1, bx), (c > 0, -bplane), (c < bz - 1, bplane)]
                where ok && cls[a + bx * bb + bplane * c + n] != 0 { add.append(a + bx * bb + bplane * c); break }
            } } }
            for q in add { cls[q] = 1 }
        }
        // Trabecular: mask (class 2) voxels farther than the clearance from any class 0/1/3 voxel. Only
        // boundary excluders (those with a class-2 6-neighbour) need to stamp their neighbourhood.
        var near = [Bool](repeating: false, count: cls.count)
        let ri = Int((trabecularClearance_mm / sp.x).rounded(.down)), rj = Int((trabecularClearance_mm / sp.y).rounded(.down))
        let rk = Int((trabecularClearance_mm / sp.z).rounded(.down))
        var offsets: [(Int, Int, Int)] = []
        for dc in -rk...rk { for db in -rj...rj { for da in -ri...ri {
            let dist = ((Double(da) * sp.x) * (Double(da) * sp.x) + (Double(db) * sp.y) * (Double(db) * sp.y) + (Double(dc) * sp.z) * (Double(dc) * sp.z)).squareRoot()
            if dist < trabecularClearance_mm { offsets.append((da, db, dc)) }
        } } }
        for c in 0..<bz { for bb in 0..<by { for a in 0..<bx {
            let q = a + bx * bb + bplane * c
            guard cls[q] != 2 else { continue }
            var touches = false
            for (ok, n) in [(a > 0, -1), (a < bx - 1, 1), (bb > 0, -bx), (bb < by - 1, bx), (c > 0, -bplane), (c < bz - 1, bplane)]
            where ok && cls[q + n] == 2 { touches = true; break }
            guard touches else { continue }
            for (da, db, dc) in offsets {
                let aa = a + da, b2 = bb + db, cc = c + dc
                if aa >= 0 && aa < bx && b2 >= 0 && b2 < by && cc >= 0 && cc < bz { near[aa + bx * b2 + bplane * cc] = true }
            }
        } } }

        // Accumulate per region × compartment: n, ΣHU, ΣHU²; the rim separately (its mineral counts in the
        // integral compartment's content, its volume does not).
        struct Acc { var n = 0; var s = 0.0; var s2 = 0.0
            mutating func add(_ x: Double) { n += 1; s += x; s2 += x * x } }
        var integral = [Acc](repeating: Acc(), count: 4), trab = [Acc](repeating: Acc(), count: 4), cort = [Acc](repeating: Acc(), count: 4)
        var rim = [Acc](repeating: Acc(), count: 4)
        var nnInt = Acc(), nnTrab = Acc(), nnCort = Acc(), nnRim = Acc()
        let base = labelBase(femur.side)
        for c in 0..<bz { for bb in 0..<by { for a in 0..<bx {
            let q = a + bx * bb + bplane * c
            let k = cls[q]
            guard k != 0 else { continue }
            let p = g.world(Double(a + i0), Double(bb + j0), Double(c + k0))
            let dH = p - H
            let s = dH.dot(u)
            let rho = (dH - u * s).length
            let dX = p - X
            let h = dX.dot(e)
            let ell = dX.dot(lateral)
            let region: Int
            if s < sHN { region = 0 }
            else if s < sX && rho <= rCyl { region = 1 }
            else if h < hDistal { continue }
            else if h >= hTroch && ell > 0 { region = 2 }
            else { region = 3 }
            let hu = Double(v.voxels[global(a, bb, c)])
            let inNN = region == 1 && sNN.map { abs(s - $0) <= narrowNeckHalfWidth_mm } == true
            if k == 1 {
                rim[region].add(hu)
                if inNN { nnRim.add(hu) }
                if !regionMap.isEmpty { regionMap[global(a, bb, c)] = base + UInt8(4 * region) }
                continue
            }
            integral[region].add(hu)
            let isTrab = k == 2 && !near[q], isCort = k == 3
            if isTrab { trab[region].add(hu) }
            if isCort { cort[region].add(hu) }
            if inNN { nnInt.add(hu); if isTrab { nnTrab.add(hu) }; if isCort { nnCort.add(hu) } }
            if !regionMap.isEmpty {
                regionMap[global(a, bb, c)] = base + UInt8(4 * region) + (isTrab ? 2 : isCort ? 3 : 1)
            }
        } } }

        let voxel_cm3 = sp.x * sp.y * sp.z / 1000
        let calibrated = calibration.method != .none && calibration.slope_HU_per_mgcm3 != nil
        /// With `rim`: the integral compartment — mean HU and volume of the mask, mineral of mask + rim.
        func compartment(_ acc: Acc, rim: Acc? = nil) -> DensityCompartment? {
            guard acc.n > 0 else { return nil }
            let m = acc.s / Double(acc.n)
            let sd = acc.n > 1 ? max(0, (acc.s2 - acc.s * m) / Double(acc.n - 1)).squareRoot() : 0
            let vol = Double(acc.n) * voxel_cm3
            var vb: Double?
            if calibrated, let sigma = calibration.slope_HU_per_mgcm3, let beta = calibration.intercept_HU {
                let r = rim ?? Acc()
                vb = ((acc.s + r.s) - Double(acc.n + r.n) * beta) / (sigma * Double(acc.n))
            }
            return DensityCompartment(voxels: acc.n, volume_cm3: vol, meanHU: m, sdHU: sd, vBMD_mgcm3: vb,
                                      bmc_mg: rim != nil ? vb.map { $0 * vol } : nil)
        }
        func merged(_ accs: [Acc]) -> Acc { accs.reduce(into: Acc()) { $0.n += $1.n; $0.s += $1.s; $0.s2 += $1.s2 } }
        let side = femur.side.rawValue
        var regions: [FemurRegionDensity] = []
        for (ri, name) in regionNames.enumerated() {
            guard let ic = compartment(integral[ri], rim: rim[ri]) else {
                notes.append("\(name): no voxels (outside the scan or the mask)")
                continue
            }
            regions.append(FemurRegionDensity(name: "femur_\(side)_\(name)", region: name, integral: ic,
                                              trabecular: compartment(trab[ri]), cortical: compartment(cort[ri])))
        }
        if let ic = compartment(nnInt, rim: nnRim) {
            regions.insert(FemurRegionDensity(name: "femur_\(side)_narrow_neck", region: "narrow_neck", integral: ic,
                                              trabecular: compartment(nnTrab), cortical: compartment(nnCort)),
                           at: min(2, regions.count))
        }
        let allTrab = merged(trab)
        if let ic = compartment(merged(integral), rim: merged(rim)) {
            regions.append(FemurRegionDensity(name: "femur_\(side)_total_hip", region: "total_hip", integral: ic,
                                              trabecular: compartment(allTrab), cortical: compartment(merged(cort))))
        }
        var pfhu: ProximalFemurHU?
        if allTrab.n > 0 {
            let m = allTrab.s / Double(allTrab.n)
            var caveats = ["the published ROIs were drawn by hand on CT colonography (non-contrast, 120 kVp); this automated 3-D ROI may read differently, so the threshold carries over approximately"]
            if let phase = calibration.contrast?.phase, phase != .none {
                caveats.append("contrast-enhanced scan (\(phase.rawValue)): trabecular HU is raised; the threshold was derived without contrast")
            }
            pfhu = ProximalFemurHU(meanHU: m, voxels: allTrab.n, threshold_HU: proximalFemurThreshold_HU, belowThreshold: m < proximalFemurThreshold_HU,
                                   roi: definitions["proximal_femur_HU"]!,
                                   source: "Osteoporos Int 2020, doi 10.1007/s00198-020-05477-y (3711 CT colonography patients; 112 HU: 80 % sensitivity for 10-year fracture)",
                                   caveats: caveats)
        }
        if !calibrated { notes.append("no density calibration: HU only, vBMD not reported") }
        return FemurDensitometry(side: femur.side, calibration: calibration.method.rawValue, equivalent: calibrated ? calibration.equivalent?.rawValue : nil,
                                 regions: regions, proximalFemurHU: pfhu, headNeckPlane_mm: sHN, neckBasePlane_mm: sX, neckCylinderRadius_mm: rCyl,
                                 lesserTrochanterLevel_mm: hLT, distalLimit_mm: hDistal, roiDefinitions: definitions, notes: notes)
    }
}
