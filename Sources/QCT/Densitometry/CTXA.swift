// CTXA: DXA-equivalent areal BMD from the calibrated CT of one femur, and T-scores.
//
// Projection. A DXA hip scan images the femur with the neck parallel to the detector (the leg rotated
// inward until the neck lies flat). Here the femur's own axes give that view exactly: the projection
// runs perpendicular to the plane of the neck and shaft axes, so both axes lie in the image. Every
// voxel of the integral hip ROI (femur mask and its two-voxel rim, head down to 10 mm below the lesser
// trochanter; FemurDensitometry) deposits its mineral (calibrated density × volume, split into
// sub-voxels of ≤ 0.35 mm so that the 0.5 mm image has no gaps) into the pixel under it.
// Areal BMD = mineral / projected bone area, g/cm².
//
// Regions, on the image:
//  - femoral neck: a box 15 mm wide along the neck axis (the DXA neck box width), centred on the
//    narrow neck, reaching 30 mm either side of the axis (our placement: centred, as on GE Lunar;
//    Hologic places the box against the greater trochanter).
//  - total hip: all bone lateral of the neck box's medial edge down to the distal limit — neck,
//    trochanter and intertrochanter, the head excluded, as in DXA.
//
// DXA scale. K2HPO4-equivalent CTXA aBMD reads about a quarter below DXA: in 33 women (CT colonography,
// asynchronous K2HPO4 calibration, Lunar DXA; ct-core.md §2.1) DXA = 1.297·CTXA + 0.048 g/cm² (R² 0.907,
// SEE 0.053). That line converts K2HPO4 CTXA to a DXA-equivalent value before the T-score; it was fitted
// at the femoral neck and is applied to the total hip too (no total-hip line is published here). With a
// hydroxyapatite phantom no conversion is applied.
// T-scores: NHANES III non-Hispanic white women aged 20–29 (Looker 1998, Osteoporos Int 8:468; the
// ICSBM femur reference; ct-core.md §2.4): femoral neck 0.858 ± 0.120, total hip 0.942 ± 0.122 g/cm²
// (Hologic scale). Contrast-enhanced CTXA vs DXA: r² 0.82, DXA T-scores 0.18 higher (Ziemlewicz 2016,
// JBMR 31:1835).
public import Imaging
import Foundation

public struct CTXARegion: Codable, Sendable, Equatable {
    public var name: String
    public var definition: String
    public var area_cm2: Double
    public var bmc_g: Double
    /// CTXA areal BMD in the calibration's equivalent (K2HPO4 or hydroxyapatite).
    public var aBMD_gcm2: Double
    /// DXA-equivalent areal BMD: the value a DXA scanner would read (see `CTXAResult.dxaConversion`).
    public var dxaEquivalent_gcm2: Double
    /// From the DXA-equivalent value.
    public var tScore: Double?
    /// Young-adult reference mean and SD, g/cm².
    public var reference: [Double]?
    /// Against the age-matched band of a site-supplied reference (`BMDAgeReference`).
    public var zScore: Double?
    /// The band used: age from, age to, mean, SD (g/cm²).
    public var zReference: [Double]?
}

public struct CTXAResult: Codable, Sendable, Equatable {
    public var side: FemurMask.Side
    public var calibration: String
    public var equivalent: String?
    public var projection: String
    public var pixel_mm: Double
    public var regions: [CTXARegion]
    public var tScoreReference: String
    public var dxaConversion: String
    /// The age reference the regions' Z-scores come from; nil when none was given (see `notes`).
    public var zScoreReference: String?
    public var caveats: [String]
    public var notes: [String]
}

/// The projected image (g/cm² per pixel, NaN outside the bone) and region masks, for the QC picture.
public struct CTXAImage: Sendable {
    public var width: Int
    public var height: Int
    public var pixel_mm: Double
    /// Row-major, row 0 at the top (proximal); x grows laterally.
    public var aBMD: [Double]
    /// 1 neck box, 2 rest of the total hip, 3 head and excluded bone.
    public var region: [UInt8]
}

public enum CTXA {
    static let pixel = 0.5
    static let subVoxel = 0.35
    static let neckBoxWidth = 15.0
    static let neckBoxHalfHeight = 30.0
    /// NHANES III NHW women 20–29 (Looker 1998), g/cm².
    public static let neckReference = (mean: 0.858, sd: 0.120)
    public static let totalHipReference = (mean: 0.942, sd: 0.122)
    /// DXA = 1.297·CTXA(K2HPO4) + 0.048 g/cm² (ct-core.md §2.1, 33 women, Lunar DXA).
    static let k2hpo4ToDXA = (slope: 1.297, intercept: 0.048)

    /// Projects the integral hip ROI of `regionMap` (values base…base+15 of FemurDensitometer) with the
    /// per-voxel density `density(q)` in mg/cm³.
    public static func measure(labels: Volume<UInt8>, regionMap: [UInt8], femur: FemurMask, densitometry d: FemurDensitometry,
                               calibration: DensityCalibration, density: (Int) -> Double) -> (CTXAResult, CTXAImage)? {
        guard let head = femur.head, let axes = femur.axes, let sNN = axes.narrowNeckDistance_mm, regionMap.count == labels.voxels.count else { return nil }
        let g = labels.geometry, size = labels.size, value = femur.side.label
        let H = Vec3(head.center[0], head.center[1], head.center[2])
        let u = Vec3(axes.neckAxisDirection[0], axes.neckAxisDirection[1], axes.neckAxisDirection[2]).normalized
        let e = Vec3(axes.shaftAxisDirection[0], axes.shaftAxisDirection[1], axes.shaftAxisDirection[2]).normalized
        let X = H + u * d.neckBasePlane_mm
        let lateral0 = u - e * u.dot(e)
        guard lateral0.length > 1e-6 else { return nil }
        let l = lateral0.normalized
        // In-plane unit normal to the neck axis (toward superior): the box's height direction.
        let m0 = e - u * e.dot(u)
        let m = m0.normalized
        let base = FemurDensitometer.labelBase(femur.side)
        let nx = size.x, ny = size.y, plane = nx * ny
        // Image extent from the ROI's voxels.
        var lo = (x: Double.infinity, y: Double.infinity), hi = (x: -Double.infinity, y: -Double.infinity)
        var members: [Int] = []
        for q in 0..<regionMap.count where regionMap[q] >= base && regionMap[q] < base + 16 {
            members.append(q)
            let p = g.world(Double(q % nx), Double((q / nx) % ny), Double(q / plane)) - X
            let x = p.dot(l), y = p.dot(e)
            lo = (min(lo.x, x), min(lo.y, y)); hi = (max(hi.x, x), max(hi.y, y))
        }
        guard !members.isEmpty else { return nil }
        let margin = 2.0
        let x0 = lo.x - margin, yTop = hi.y + margin
        let w = Int(((hi.x - lo.x + 2 * margin) / pixel).rounded(.up)), h = Int(((hi.y - lo.y + 2 * margin) / pixel).rounded(.up))
        var mass = [Double](repeating: 0, count: w * h)  // mg
        var hit = [Bool](repeating: false, count: w * h)
        let sp = g.spacing
        let na = max(1, Int((sp.x / subVoxel).rounded(.up))), nb = max(1, Int((sp.y / subVoxel).rounded(.up))), nc = max(1, Int((sp.z / subVoxel).rounded(.up)))
        let subVolume = sp.x * sp.y * sp.z / 1000 / Double(na * nb * nc)  // cm³
        // Index-space steps of one sub-voxel, projected: world = origin + D·diag(spacing)·index.
        let ci = g.world(1, 0, 0) - g.world(0, 0, 0), cj = g.world(0, 1, 0) - g.world(0, 0, 0), ck = g.world(0, 0, 1) - g.world(0, 0, 0)
        for q in members {
            let rho = density(q)
            let centre = g.world(Double(q % nx), Double((q / nx) % ny), Double(q / plane)) - X
            let dm = rho * subVolume  // mg
            let inMask = labels.voxels[q] == value
            for a in 0..<na { for b in 0..<nb { for c in 0..<nc {
                let off = ci * ((Double(a) + 0.5) / Double(na) - 0.5) + cj * ((Double(b) + 0.5) / Double(nb) - 0.5) + ck * ((Double(c) + 0.5) / Double(nc) - 0.5)
                let p = centre + off
                let px = Int(((p.dot(l) - x0) / pixel).rounded(.down)), py = Int(((yTop - p.dot(e)) / pixel).rounded(.down))
                guard px >= 0, px < w, py >= 0, py < h else { continue }
                mass[px + w * py] += dm
                if inMask { hit[px + w * py] = true }
            } } }
        }
        // Classify pixels by their centre.
        var region = [UInt8](repeating: 0, count: w * h)
        var acc = [(n: 0.0, m: 0.0), (n: 0.0, m: 0.0)]  // bone area in pixels, mineral: neck box, total hip
        var image = [Double](repeating: .nan, count: w * h)
        let pixelArea = pixel * pixel  // mm²
        // Bone area is the projected mask (the 175 HU boundary). Mineral is summed over every pixel the
        // ROI reaches, so the blurred rim's mineral that lands just outside the footprint still counts.
        for py in 0..<h { for px in 0..<w where hit[px + w * py] || mass[px + w * py] != 0 {
            let i = px + w * py
            let p = X + l * (x0 + (Double(px) + 0.5) * pixel) + e * (yTop - (Double(py) + 0.5) * pixel)
            let s = (p - H).dot(u), across = (p - H).dot(m)
            let y = (p - X).dot(e)
            let inNeckBox = abs(s - sNN) <= neckBoxWidth / 2 && abs(across) <= neckBoxHalfHeight
            let inTotalHip = s >= sNN - neckBoxWidth / 2 && y >= d.distalLimit_mm
            // A pixel on the edge of the footprint is on average half bone (the footprint takes every pixel
            // a sub-voxel lands in, which widens it by about one pixel).
            var wgt = 0.0
            if hit[i] {
                image[i] = mass[i] / pixelArea * 0.1  // mg/mm² → g/cm²
                region[i] = inNeckBox ? 1 : inTotalHip ? 2 : 3
                let edge = px == 0 || px == w - 1 || py == 0 || py == h - 1 || !hit[i - 1] || !hit[i + 1] || !hit[i - w] || !hit[i + w]
                wgt = edge ? 0.5 : 1.0
            }
            if inNeckBox { acc[0].n += wgt; acc[0].m += mass[i] }
            if inTotalHip || inNeckBox { acc[1].n += wgt; acc[1].m += mass[i] }
        } }
        func make(_ name: String, _ a: (n: Double, m: Double), _ ref: (mean: Double, sd: Double), _ def: String) -> CTXARegion? {
            guard a.n > 0 else { return nil }
            let area = a.n * pixelArea / 100  // cm²
            let bmd = a.m / 1000 / area  // g/cm²
            let dxa = calibration.equivalent == .hydroxyapatite ? bmd : k2hpo4ToDXA.slope * bmd + k2hpo4ToDXA.intercept
            return CTXARegion(name: name, definition: def, area_cm2: area, bmc_g: a.m / 1000, aBMD_gcm2: bmd, dxaEquivalent_gcm2: dxa,
                              tScore: (dxa - ref.mean) / ref.sd, reference: [ref.mean, ref.sd])
        }
        var regions: [CTXARegion] = []
        if let r = make("femoral_neck", acc[0], neckReference, "box 15 mm wide along the neck axis, centred on the narrow neck, ±30 mm across it") { regions.append(r) }
        if let r = make("total_hip", acc[1], totalHipReference, "bone lateral of the neck box's medial edge down to 10 mm below the lesser trochanter (neck, trochanter, intertrochanter; head excluded)") { regions.append(r) }
        var caveats = ["the DXA-equivalent value comes from a published CT-to-DXA line (SEE 0.053 g/cm², about 0.4 T units), fitted at the femoral neck against Lunar DXA; the T-score reference is Hologic-scale NHANES III; treat T-scores from CT as an estimate of DXA's, not a substitute"]
        if let phase = calibration.contrast?.phase, phase != .none {
            caveats.append("contrast-enhanced scan (\(phase.rawValue)): aBMD is raised by iodine in the marrow")
        }
        if calibration.method == .internalTissues { caveats.append("phantomless calibration: uncertainty larger than with a phantom") }
        let result = CTXAResult(
            side: femur.side, calibration: calibration.method.rawValue, equivalent: calibration.equivalent?.rawValue,
            projection: "perpendicular to the plane of the neck and shaft axes (the neck in the image plane, as in a DXA hip scan)",
            pixel_mm: pixel, regions: regions,
            tScoreReference: "NHANES III non-Hispanic white women aged 20–29 (Looker 1998, Osteoporos Int 8:468): neck 0.858 ± 0.120, total hip 0.942 ± 0.122 g/cm²",
            dxaConversion: calibration.equivalent == .hydroxyapatite ? "none (hydroxyapatite-equivalent aBMD taken as DXA-equivalent)"
                : "DXA = 1.297 × CTXA(K2HPO4) + 0.048 g/cm² (33 women, CT colonography with asynchronous calibration vs Lunar DXA; R² 0.907, SEE 0.053; ct-core.md §2.1)",
            zScoreReference: nil, caveats: caveats,
            notes: ["Z-score not computed: it needs an age-specific reference table and the age at the scan (analyze --bmd-age-reference FILE; OsteoCT ships no table)"])
        return (result, CTXAImage(width: w, height: h, pixel_mm: pixel, aBMD: image, region: region))
    }
}
