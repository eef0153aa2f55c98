// Strain maps for clinicians: the plane through the femoral head centre that holds the neck and shaft
// axes (the coronal view of the neck), 0.5 mm pixels shown at 2×, proximal up and the patient's left on
// the image right (radiological display). Each bone pixel shows the equivalent strain (EES) of the
// element it falls in, in microstrain, scaled to the predicted failure load (where the criterion's
// critical volume of bone exceeds the critical strain), on a fixed sequential scale 0–10,000 µε with
// the critical strain marked, so maps of different patients compare; once alone on black and once over
// the CT (bone window). Labels use a small built-in 5 × 7 pixel font (digits, minus, µ, ε).
public import Imaging
import Foundation

public enum StrainMap {
    public struct Rendered: Sendable {
        public var alone: RGBImage
        public var overCT: RGBImage?
        /// Top of the colour scale (µε) and what the picture shows.
        public var scaleMax_microstrain: Double
        public var description: String
    }

    static let pixel = 0.5

    /// `ct`: the CT the model came from (for the overlay), with its HU.
    /// `loadFactor`: multiplies the solved strains (strength ÷ solved force: the field at the failure load).
    public static func render(_ model: FemurModel, field: FemurStrainField, headCentre: Vec3, neckAxis: Vec3, shaftAxis: Vec3,
                              ct: Volume<Int16>?, loadFactor: Double, criticalStrain: Double, loadText: String) -> Rendered? {
        let m = model.operatorK.mesh
        guard !field.equivalent.isEmpty else { return nil }
        // Element value by element id (bone only).
        var value = [Float](repeating: -1, count: m.elementCount)
        var b = 0
        for e in 0..<m.elementCount where model.isBone[e] { value[e] = Float(Double(field.equivalent[b]) * 1e6 * loadFactor); b += 1 }
        let top = 10_000.0
        // Image axes: up = shaft (proximal), right = the patient's left within the neck–shaft plane.
        let up = shaftAxis.normalized
        let normal = neckAxis.cross(shaftAxis).normalized
        var right = normal.cross(up).normalized
        if right.x < 0 { right = right * -1 }
        // Extent: the bone element centres near the plane, projected.
        var uMin = Double.infinity, uMax = -Double.infinity, vMin = Double.infinity, vMax = -Double.infinity
        for c in field.centres {
            let d = c - headCentre
            guard abs(d.dot(normal)) <= m.h else { continue }
            uMin = min(uMin, d.dot(right)); uMax = max(uMax, d.dot(right)); vMin = min(vMin, d.dot(up)); vMax = max(vMax, d.dot(up))
        }
        guard uMin.isFinite else { return nil }
        let margin = 8.0
        uMin -= margin; uMax += margin; vMin -= margin; vMax += margin
        let w = Int(((uMax - uMin) / pixel).rounded(.up)), h = Int(((vMax - vMin) / pixel).rounded(.up))
        let barWidth = 150
        var alone = RGBImage(width: w, height: h)
        var over = ct.map { _ in RGBImage(width: w, height: h) }
        let inverse = model.frame.transposed
        for y in 0..<h { for x in 0..<w {
            let u = uMin + (Double(x) + 0.5) * pixel, v = vMax - (Double(y) + 0.5) * pixel
            let p = headCentre + right * u + up * v
            if let ct, let f = ct.geometry.index(of: p) {
                let i = Int(f.x.rounded()), j = Int(f.y.rounded()), k = Int(f.z.rounded())
                if i >= 0, j >= 0, k >= 0, i < ct.size.x, j < ct.size.y, k < ct.size.z {
                    let hu = Double(ct.voxels[i + ct.size.x * (j + ct.size.y * k)])
                    let g = UInt8(max(0, min(255, (hu - (400 - 900)) / 1800 * 255)))  // bone window L 400 / W 1800
                    over?.set(x, y, (g, g, g))
                }
            }
            let q = inverse * (p - model.frameOrigin)
            let ei = Int((q.x / m.h).rounded(.down)), ej = Int((q.y / m.h).rounded(.down)), ek = Int((q.z / m.h).rounded(.down))
            guard ei >= 0, ej >= 0, ek >= 0, ei < m.nx, ej < m.ny, ek < m.nz else { continue }
            let e = Int(m.elementAt[ei + m.nx * (ej + m.ny * ek)])
            guard e >= 0, value[e] >= 0 else { continue }
            let c = colour(Double(value[e]) / top)
            alone.set(x, y, c)
            over?.blend(x, y, c, 0.7)
        } }
        // Shown at 2× with the colour bar beside.
        func framed(_ img: RGBImage) -> RGBImage {
            var out = RGBImage(width: 2 * w + barWidth, height: max(2 * h, 300))
            for y in 0..<(2 * h) { for x in 0..<(2 * w) {
                let i = 3 * ((x / 2) + w * (y / 2))
                out.set(x, y, (img.pixels[i], img.pixels[i + 1], img.pixels[i + 2]))
            } }
            drawBar(&out, x0: 2 * w + 20, top: top, critical: criticalStrain * 1e6)
            return out
        }
        alone = framed(alone)
        over = over.map(framed)
        let text = String(format: "equivalent strain (µε) at %@, in the plane of the neck and shaft axes through the head centre, proximal up, patient's left on the right; scale 0–%.0f µε, the critical strain %.0f µε marked", loadText, top, criticalStrain * 1e6)
        return Rendered(alone: alone, overCT: over, scaleMax_microstrain: top, description: text)
    }

    /// A sequential scale of five anchors (dark blue → blue → teal → yellow → white-yellow); monotone
    /// in lightness so it reads in grey too.
    static func colour(_ t: Double) -> (UInt8, UInt8, UInt8) {
        let anchors: [(Double, Double, Double)] = [(20, 20, 90), (40, 90, 200), (30, 170, 150), (240, 210, 40), (255, 255, 200)]
        let s = max(0, min(1, t)) * Double(anchors.count - 1)
        let i = min(anchors.count - 2, Int(s)), f = s - Double(i)
        let a = anchors[i], b = anchors[i + 1]
        return (UInt8(a.0 + (b.0 - a.0) * f), UInt8(a.1 + (b.1 - a.1) * f), UInt8(a.2 + (b.2 - a.2) * f))
    }

    static func drawBar(_ img: inout RGBImage, x0: Int, top: Double, critical: Double) {
        let y0 = 40, height = 200, width = 20
        for y in 0..<height {
            let c = colour(1 - Double(y) / Double(height - 1))
            for x in 0..<width { img.set(x0 + x, y0 + y, c) }
        }
        // Ticks at 0, ¼, ½, ¾, 1 of the scale, labelled.
        for t in 0...4 {
            let y = y0 + Int(Double(height - 1) * (1 - Double(t) / 4))
            for x in 0..<6 { img.set(x0 + width + x, y, (255, 255, 255)) }
            drawText(&img, String(format: "%.0f", top * Double(t) / 4), x: x0 + width + 10, y: y - 7)
        }
        drawText(&img, "µε", x: x0, y: y0 - 26)
        // The critical strain: a red line across the bar, labelled.
        let yc = y0 + Int(Double(height - 1) * (1 - min(1, critical / top)))
        for x in -4..<(width + 4) { img.set(x0 + x, yc, (230, 40, 40)); img.set(x0 + x, yc + 1, (230, 40, 40)) }
    }

    /// 5 × 7 glyphs, one row per string ("#" on), scaled 2×.
    static let glyphs: [Character: [String]] = [
        "0": [" ### ", "#   #", "#  ##", "# # #", "##  #", "#   #", " ### "],
        "1": ["  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "],
        "2": [" ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####"],
        "3": ["#### ", "    #", "    #", " ### ", "    #", "    #", "#### "],
        "4": ["   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # "],
        "5": ["#####", "#    ", "#### ", "    #", "    #", "#   #", " ### "],
        "6": [" ### ", "#    ", "#    ", "#### ", "#   #", "#   #", " ### "],
        "7": ["#####", "    #", "   # ", "  #  ", " #   ", " #   ", " #   "],
        "8": [" ### ", "#   #", "#   #", " ### ", "#   #", "#   #", " ### "],
        "9": [" ### ", "#   #", "#   #", " ####", "    #", "    #", " ### "],
        "-": ["     ", "     ", "     ", "#####", "     ", "     ", "     "],
        "µ": ["     ", "#   #", "#   #", "#   #", "##  #", "# ## ", "#    "],
        "ε": ["     ", " ### ", "#    ", " ### ", "#    ", "#    ", " ### "],
    ]

    static func drawText(_ img: inout RGBImage, _ s: String, x: Int, y: Int) {
        var cx = x
        for ch in s {
            if let g = glyphs[ch] {
                for (r, row) in g.enumerated() {
                    for (c, on) in row.enumerated() where on == "#" {
                        for dy in 0..<2 { for dx in 0..<2 {
                            let px = cx + 2 * c + dx, py = y + 2 * r + dy
                            if px >= 0, py >= 0, px < img.width, py < img.height { img.set(px, py, (255, 255, 255)) }
                        } }
                    }
                }
            }
            cx += 12
        }
    }
}

extension StrainMap {
    /// The maps at the Pistoia failure load of `result` (or at the solved displacement when there is no strength).
    public static func render(_ model: FemurModel, result: FemurFEResult, field: FemurStrainField, landmarks f: FemurLandmarks, ct: Volume<Int16>?) -> Rendered? {
        let factor = result.strength_N.map { $0 / max(result.reactionForce_N, 1e-9) } ?? 1
        let text = result.strength_N.map { String(format: "the predicted failure load (%.0f N, Pistoia index)", $0) }
            ?? String(format: "%.1f mm applied displacement", result.appliedDisplacement_mm)
        return render(model, field: field, headCentre: f.headCentre, neckAxis: f.neckAxis, shaftAxis: f.shaftAxis, ct: ct,
                      loadFactor: factor, criticalStrain: result.criticalStrain, loadText: text)
    }
}
