// QC pictures: what a radiologist looks at before trusting a number. Each picture is a slice (or the
// CTXA projection) in a standard window with the masks and ROIs tinted over it, plus the calibration
// fit as SVG. Legends are written beside the file names (measurements.json), so colour is never the
// only carrier of the meaning.
public import Imaging
import Foundation

public struct QCPicture: Codable, Sendable, Equatable {
    public var file: String
    public var shows: String
    /// Colour (name) → meaning.
    public var legend: [String: String]
    public init(file: String, shows: String, legend: [String: String]) { self.file = file; self.shows = shows; self.legend = legend }
}

public enum QCPictures {
    typealias RGB = (UInt8, UInt8, UInt8)
    static let red: RGB = (220, 50, 47), yellow: RGB = (230, 190, 0), green: RGB = (40, 170, 60), blue: RGB = (38, 110, 230)
    static let cyan: RGB = (0, 190, 220), magenta: RGB = (210, 60, 170), orange: RGB = (245, 130, 30)

    /// Inputs: the CT, the combined label map (labels.nii.gz values), the femur-region map (may be empty).
    public struct Inputs {
        public var ct: Volume<Int16>
        public var labels: [UInt8]
        public var regions: [UInt8]
        public var femora: [FemurMask]
        public var spine: SpineLevels?
        public var bodyComposition: BodyCompositionResult?
        public var hipBodyComposition: HipBodyCompositionResult?
        public var ctxa: [(side: FemurMask.Side, image: CTXAImage)]
        public var calibration: DensityCalibration?

        public init(ct: Volume<Int16>, labels: [UInt8], regions: [UInt8], femora: [FemurMask], spine: SpineLevels?,
                    bodyComposition: BodyCompositionResult?, hipBodyComposition: HipBodyCompositionResult? = nil,
                    ctxa: [(side: FemurMask.Side, image: CTXAImage)], calibration: DensityCalibration?) {
            self.ct = ct; self.labels = labels; self.regions = regions; self.femora = femora; self.spine = spine
            self.bodyComposition = bodyComposition; self.hipBodyComposition = hipBodyComposition; self.ctxa = ctxa; self.calibration = calibration
        }
    }

    /// Renders every picture the inputs allow: description, file bytes, and the raster of a PNG (for a
    /// DICOM Secondary Capture of it).
    public static func render(_ x: Inputs) -> [(picture: QCPicture, bytes: [UInt8], image: RGBImage?)] {
        var out: [(picture: QCPicture, bytes: [UInt8], image: RGBImage?)] = []
        func add(_ p: QCPicture, _ img: RGBImage?) {
            guard let img, let png = try? PNG.encode(img) else { return }
            out.append((p, png, img))
        }
        let v = x.ct, g = v.geometry
        let heads = x.femora.compactMap(\.head)
        let regionLegend = ["red": "femoral head", "yellow": "femoral neck", "green": "trochanter", "blue": "intertrochanter",
                            "cyan": "femur mask outside the regions"]
        func regionColour(_ q: Int) -> RGB? {
            if !x.regions.isEmpty, x.regions[q] >= 10, (x.regions[q] - (x.regions[q] >= 30 ? 30 : 10)) % 4 != 0 {
                let r = (Int(x.regions[q]) - (x.regions[q] >= 30 ? 30 : 10)) / 4
                return [red, yellow, green, blue][min(3, max(0, r))]
            }
            let l = x.labels[q]
            return l == 2 || l == 3 ? cyan : nil
        }
        if !heads.isEmpty {
            let c = heads.reduce(Vec3.zero) { $0 + Vec3($1.center[0], $1.center[1], $1.center[2]) } / Double(heads.count)
            if let idx = g.index(of: c) {
                let j = Int(idx.y.rounded()), k = Int(idx.z.rounded())
                add(QCPicture(file: "qc/coronal-hips.png", shows: "coronal slice through the femoral-head centres, bone window (L 400, W 1800), femur regions tinted", legend: regionLegend),
                    reformat(v, .coronal(row: j), window: (400, 1800), tint: regionColour))
                add(QCPicture(file: "qc/axial-femoral-heads.png", shows: "axial slice through the femoral-head centres, bone window, femur regions tinted", legend: regionLegend),
                    axial(v, slice: k, window: (400, 1800), tint: regionColour))
            }
        }
        if let spine = x.spine, let mid = spine.bodies.first, let idx = g.index(of: Vec3(mid.center[0], mid.center[1], mid.center[2])) {
            let colours: [UInt8: RGB] = [20: orange, 21: red, 22: yellow, 23: green, 24: blue, 25: magenta]
            var legend: [String: String] = [:]
            for b in spine.bodies { if let l = b.level, let c = colours[UInt8(b.labelValue)] { legend[name(c)] = l } }
            if spine.bodies.contains(where: { $0.level == nil }) { legend["cyan"] = "vertebral body, level not assigned" }
            add(QCPicture(file: "qc/sagittal-spine.png", shows: "mid-sagittal slice of the lumbar spine, bone window, vertebral bodies tinted by level (confidence \(spine.confidence))", legend: legend),
                reformat(v, .sagittal(column: Int(idx.x.rounded())), window: (400, 1800), tint: { q in
                    let l = x.labels[q]
                    return colours[l] ?? (l >= 30 && l < 50 ? cyan : nil)
                }))
        }
        if let bc = x.bodyComposition {
            let colours: [UInt8: RGB] = [50: red, 51: yellow, 52: cyan, 53: green]
            add(QCPicture(file: "qc/l3-body-composition.png", shows: "mid-L3 axial slice, soft-tissue window (L 40, W 400), tissues tinted",
                          legend: ["red": "skeletal muscle", "yellow": "intermuscular fat", "cyan": "subcutaneous fat", "green": "visceral fat"]),
                axial(v, slice: bc.sliceIndex, window: (40, 400), tint: { q in colours[x.labels[q]] }))
        }
        if let hip = x.hipBodyComposition {
            let colours: [UInt8: RGB] = [54: red, 55: yellow, 56: cyan, 57: green]
            add(QCPicture(file: "qc/hip-body-composition.png", shows: "axial slice through the femoral-head centres, soft-tissue window (L 40, W 400), tissues tinted",
                          legend: ["red": "skeletal muscle (hip muscles together)", "yellow": "intermuscular fat", "cyan": "subcutaneous fat", "green": "pelvic fat"]),
                axial(v, slice: hip.sliceIndex, window: (40, 400), tint: { q in colours[x.labels[q]] }))
        }
        for (side, img) in x.ctxa {
            var rgb = RGBImage(width: img.width, height: img.height)
            for q in 0..<(img.width * img.height) {
                let a = img.aBMD[q]
                let gray = a.isNaN ? 0 : UInt8(max(0, min(255, a / 1.5 * 255)))
                rgb.set(q % img.width, q / img.width, (gray, gray, gray))
                if img.region[q] == 1 { rgb.blend(q % img.width, q / img.width, yellow, 0.45) }
                if img.region[q] == 2 { rgb.blend(q % img.width, q / img.width, green, 0.25) }
            }
            add(QCPicture(file: "qc/ctxa-\(side.rawValue).png", shows: "CTXA projection of the \(side.rawValue) femur (neck in the image plane, proximal up; grey = aBMD 0–1.5 g/cm²)",
                          legend: ["yellow": "femoral neck box", "green": "rest of the total hip", "untinted": "head and bone below the total-hip ROI"]),
                upscale(rgb, 2))
        }
        if let cal = x.calibration, let svg = calibrationSVG(cal) {
            out.append((QCPicture(file: "qc/calibration.svg", shows: "calibration points (HU against density) and the fitted line", legend: [:]), Array(svg.utf8), nil))
        }
        return out
    }

    static func name(_ c: RGB) -> String {
        let names: [(RGB, String)] = [(red, "red"), (yellow, "yellow"), (green, "green"), (blue, "blue"), (cyan, "cyan"), (magenta, "magenta")]
        return names.first { $0.0 == c }?.1 ?? "orange"
    }

    @inline(__always) static func gray(_ hu: Int16, _ w: (level: Double, width: Double)) -> UInt8 {
        UInt8(max(0, min(255, ((Double(hu) - (w.level - w.width / 2)) / w.width * 255).rounded())))
    }

    static func axial(_ v: Volume<Int16>, slice k: Int, window: (Double, Double), tint: (Int) -> RGB?) -> RGBImage? {
        let nx = v.size.x, ny = v.size.y, plane = nx * ny
        guard k >= 0, k < v.size.z else { return nil }
        var img = RGBImage(width: nx, height: ny)
        for j in 0..<ny { for i in 0..<nx {
            let q = i + nx * j + plane * k
            let g = gray(v.voxels[q], window)
            img.set(i, j, (g, g, g))
            if let c = tint(q) { img.blend(i, j, c, 0.4) }
        } }
        return img
    }

    /// A vertical reformat, z up, resampled to square pixels of the in-plane spacing: coronal (fixed row
    /// j, x across) or sagittal (fixed column i, y across, anterior left).
    enum Reformat { case coronal(row: Int), sagittal(column: Int) }

    static func reformat(_ v: Volume<Int16>, _ r: Reformat, window: (Double, Double), tint: (Int) -> RGB?) -> RGBImage? {
        let nx = v.size.x, ny = v.size.y, nz = v.size.z, plane = nx * ny
        let g = v.geometry
        let (across, pixel): (Int, Double)
        switch r {
        case .coronal(let j): guard j >= 0, j < ny else { return nil }; (across, pixel) = (nx, g.spacing.x)
        case .sagittal(let i): guard i >= 0, i < nx else { return nil }; (across, pixel) = (ny, g.spacing.y)
        }
        let rows = max(1, Int((Double(nz) * abs(g.spacing.z) / pixel).rounded()))
        let up = g.direction.c2.z >= 0
        var img = RGBImage(width: across, height: rows)
        for row in 0..<rows {
            let kk = Int((Double(row) * pixel / abs(g.spacing.z)).rounded(.down))
            let k = up ? nz - 1 - min(nz - 1, kk) : min(nz - 1, kk)
            for a in 0..<across {
                let q: Int
                switch r {
                case .coronal(let j): q = a + nx * j + plane * k
                case .sagittal(let i): q = i + nx * a + plane * k
                }
                let gv = gray(v.voxels[q], window)
                img.set(a, row, (gv, gv, gv))
                if let c = tint(q) { img.blend(a, row, c, 0.4) }
            }
        }
        return img
    }

    static func upscale(_ a: RGBImage, _ f: Int) -> RGBImage {
        var b = RGBImage(width: a.width * f, height: a.height * f)
        for y in 0..<b.height { for x in 0..<b.width {
            let o = 3 * (x / f + a.width * (y / f))
            b.set(x, y, (a.pixels[o], a.pixels[o + 1], a.pixels[o + 2]))
        } }
        return b
    }

    /// The calibration points and line as a small SVG plot (density across, HU up).
    static func calibrationSVG(_ c: DensityCalibration) -> String? {
        guard let s = c.slope_HU_per_mgcm3, let b = c.intercept_HU, !c.points.isEmpty else { return nil }
        let xs = c.points.map(\.density_mgcm3), ys = c.points.map(\.meanHU)
        let x0 = min(0, xs.min()!), x1 = max(xs.max()!, 1) * 1.1
        let y0 = min(ys.min()!, s * x0 + b) - 20, y1 = max(ys.max()!, s * x1 + b) + 20
        let W = 480.0, H = 320.0, L = 60.0, R = 20.0, T = 40.0, B = 50.0
        func px(_ x: Double) -> Double { L + (x - x0) / (x1 - x0) * (W - L - R) }
        func py(_ y: Double) -> Double { H - B - (y - y0) / (y1 - y0) * (H - T - B) }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(W))\" height=\"\(Int(H))\" viewBox=\"0 0 \(Int(W)) \(Int(H))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        svg += "<title>Calibration: HU = \(String(format: "%.4f", s)) × density \(b >= 0 ? "+" : "−") \(String(format: "%.2f", abs(b))) (\(c.method.rawValue))</title>\n"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        svg += "<line x1=\"\(f(L))\" y1=\"\(f(H - B))\" x2=\"\(f(W - R))\" y2=\"\(f(H - B))\" stroke=\"black\"/><line x1=\"\(f(L))\" y1=\"\(f(T))\" x2=\"\(f(L))\" y2=\"\(f(H - B))\" stroke=\"black\"/>\n"
        svg += "<text x=\"\(f((L + W - R) / 2))\" y=\"\(f(H - 12))\" text-anchor=\"middle\">density, mg/cm³ \(c.equivalent?.rawValue ?? "")</text>\n"
        svg += "<text x=\"14\" y=\"\(f((T + H - B) / 2))\" transform=\"rotate(-90 14 \(f((T + H - B) / 2)))\" text-anchor=\"middle\">mean HU</text>\n"
        for t in stride(from: 0.0, through: x1, by: x1 > 400 ? 100 : 50) {
            svg += "<line x1=\"\(f(px(t)))\" y1=\"\(f(H - B))\" x2=\"\(f(px(t)))\" y2=\"\(f(H - B + 4))\" stroke=\"black\"/><text x=\"\(f(px(t)))\" y=\"\(f(H - B + 16))\" text-anchor=\"middle\">\(Int(t))</text>\n"
        }
        let step = (y1 - y0) > 600 ? 200.0 : 50.0
        for t in stride(from: (y0 / step).rounded(.up) * step, through: y1, by: step) {
            svg += "<line x1=\"\(f(L - 4))\" y1=\"\(f(py(t)))\" x2=\"\(f(L))\" y2=\"\(f(py(t)))\" stroke=\"black\"/><text x=\"\(f(L - 6))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\">\(Int(t))</text>\n"
        }
        svg += "<line x1=\"\(f(px(x0)))\" y1=\"\(f(py(s * x0 + b)))\" x2=\"\(f(px(x1)))\" y2=\"\(f(py(s * x1 + b)))\" stroke=\"#1f5fbf\" stroke-width=\"2\"/>\n"
        for p in c.points {
            svg += "<circle cx=\"\(f(px(p.density_mgcm3)))\" cy=\"\(f(py(p.meanHU)))\" r=\"4\" fill=\"#d62728\"><title>\(p.name): \(f(p.meanHU)) HU at \(f(p.density_mgcm3)) mg/cm³, residual \(String(format: "%+.2f", p.residual_mgcm3)) mg/cm³</title></circle>\n"
        }
        svg += "<text x=\"\(f(L + 8))\" y=\"\(f(T - 14))\">HU = \(String(format: "%.4f", s)) × ρ \(b >= 0 ? "+" : "−") \(String(format: "%.2f", abs(b)))\(c.rSquared.map { String(format: ", R² %.5f", $0) } ?? "") — \(c.method.rawValue)\(c.qc.passed ? "" : " (QC failed)")</text>\n"
        svg += "</svg>\n"
        return svg
    }
}
