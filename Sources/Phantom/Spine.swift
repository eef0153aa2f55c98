// Lumbar spine T12–L5: vertebral bodies (elliptic cylinders with rounded edges; cortical shell and
// endplates around a trabecular centrum), the basivertebral foramen, simplified posterior elements,
// intervertebral discs and the spinal canal. Bodies are not tilted (a simplification of the lordosis,
// which is kept only as a change of A-P position between levels).
import Imaging

struct VertebraGeometry: Sendable {
    let level: VertebralLevel?      // nil for S1
    let center: Vec3
    let width: Double
    let depth: Double
    let height: Double
    let shell: Double
    let endplate: Double

    var top: Double { center.z + height / 2 }
    var bottom: Double { center.z - height / 2 }
    var posteriorWallY: Double { center.y + depth / 2 }

    /// Capped elliptic cylinder with rounded rim; 1-Lipschitz (rounded max of two such functions).
    static func bodyShape(center c: Vec3, semiW: Double, semiD: Double, halfH: Double, round r: Double) -> Shape {
        let rho = min(semiW, semiD)
        return Shape(bounds: Box(center: c, half: Vec3(semiW, semiD, halfH))) { p in
            let x = (p.x - c.x) / semiW, y = (p.y - c.y) / semiD
            let e = ((x * x + y * y).squareRoot() - 1) * rho + r
            let q = abs(p.z - c.z) - halfH + r
            let ox = max(e, 0), oz = max(q, 0)
            return (ox * ox + oz * oz).squareRoot() + min(max(e, q), 0) - r
        }
    }
}

struct SpineModel: Sendable {
    let vertebrae: [VertebraGeometry]   // T12, L1 … L5 (index = VertebralLevel.index)
    let s1: VertebraGeometry
    let discs: [(bottom: Double, top: Double, center: Vec3, width: Double, depth: Double)]

    init(anatomy a: PhantomAnatomy, corticalScale k: Double) {
        let hts = AnatomyConstants.discHeights
        // Size factors by level (assumed): T12 smaller, L4–L5 larger than the §8 L1–L3 values.
        let sizeFactor: [Double] = [0.92, 1.0, 1.0, 1.0, 1.03, 1.06]
        let heightFactor: [Double] = [0.92, 1.0, 1.0, 1.0, 1.0, 0.98]
        let ys = AnatomyConstants.vertebralCentreY
        // S1 (part of the sacrum): top at s1EndplateZ.
        let s1Top = AnatomyConstants.s1EndplateZ
        s1 = VertebraGeometry(level: nil, center: Vec3(0, 40, s1Top - 12.5), width: a.vertebralWidth * 1.1,
                              depth: a.vertebralDepth * 0.95, height: 25, shell: a.vertebralShell * k,
                              endplate: a.vertebralEndplate * k)
        var verts: [VertebraGeometry] = []
        var discs: [(Double, Double, Vec3, Double, Double)] = []
        var z = s1Top
        // Build upward from L5 (index 5) to T12 (index 0).
        var byIndex = [VertebraGeometry?](repeating: nil, count: 6)
        for idx in stride(from: 5, through: 0, by: -1) {
            let discH = hts[idx]       // disc below this level
            let h = a.vertebralHeight * heightFactor[idx]
            let w = a.vertebralWidth * sizeFactor[idx], d = a.vertebralDepth * sizeFactor[idx]
            let bottom = z + discH
            let c = Vec3(0, ys[idx], bottom + h / 2)
            byIndex[idx] = VertebraGeometry(level: VertebralLevel.allCases[idx], center: c, width: w, depth: d, height: h,
                                            shell: a.vertebralShell * k, endplate: a.vertebralEndplate * k)
            // Disc between z and bottom: centred between the two bodies.
            let lowerY = idx == 5 ? s1.center.y : ys[idx + 1]
            discs.append((z, bottom, Vec3(0, (lowerY + ys[idx]) / 2, (z + bottom) / 2), w, d))
            z = bottom + h
        }
        for v in byIndex { if let v { verts.append(v) } }
        vertebrae = verts
        // discs were appended L5/S1 first; store in T12/L1 … L5/S1 order.
        self.discs = discs.reversed().map { (bottom: $0.0, top: $0.1, center: $0.2, width: $0.3, depth: $0.4) }
    }

    func vertebra(_ l: VertebralLevel) -> VertebraGeometry { vertebrae[l.index] }

    static let transverseLength: [Double] = [14, 18, 22, 28, 24, 18]   // assumed, T12 … L5

    func posteriorElements(_ v: VertebraGeometry, inset t: Double) -> Shape {
        let c = v.center
        let yW = v.posteriorWallY
        let hw = v.width / 2
        let idx = v.level?.index ?? 5
        var parts: [Shape] = []
        for sgn in [1.0, -1.0] {
            func P(_ x: Double, _ y: Double, _ z: Double) -> Vec3 { Vec3(sgn * x, y, z) }
            // Pedicle.
            parts.append(Shape.capsule(P(hw - 8, yW - 4, c.z + 3), P(hw - 6, yW + 12, c.z + 3), 4.5 - t))
            // Lamina (a plate converging to the midline).
            parts.append(Shape.quadPlate([P(hw - 6, yW + 12, c.z + 9), P(2, yW + 22, c.z + 9),
                                          P(2, yW + 22, c.z - 9), P(hw - 6, yW + 12, c.z - 6)],
                                         [3 - t, 3 - t, 3 - t, 3 - t]))
            // Transverse process.
            parts.append(Shape.capsule(P(hw - 4, yW + 10, c.z + 2), P(hw + SpineModel.transverseLength[idx], yW + 14, c.z + 2),
                                       4.2 - t, 3 - t))
            // Articular processes (superior and inferior).
            parts.append(Shape.capsule(P(hw - 5, yW + 16, c.z - 10), P(hw - 5, yW + 17, c.z + 15), 5 - t))
        }
        // Spinous process: a plate in the mid-sagittal plane.
        parts.append(Shape.quadPlate([Vec3(0, yW + 20, c.z + 7), Vec3(0, yW + 46, c.z + 3),
                                      Vec3(0, yW + 46, c.z - 9), Vec3(0, yW + 20, c.z - 10)],
                                     [3.5 - t, 3.5 - t, 3.5 - t, 3.5 - t]))
        var s = parts[0]
        for p in parts.dropFirst() { s = s.smoothUnion(p, k: 3) }
        return s
    }

    var canalPath: [Vec3] {
        var pts: [Vec3] = []
        for v in vertebrae { pts.append(Vec3(0, v.posteriorWallY + 9, v.center.z)) }
        // Top continues upward, bottom into the sacral canal.
        if let first = vertebrae.first { pts.insert(Vec3(0, first.posteriorWallY + 9, first.center.z + 60), at: 0) }
        pts.append(Vec3(0, 58, 102))
        return pts
    }

    func layers(into b: inout SceneBuilder, tissues: TissueTable) {
        b.add("spinal_canal", Shape.tube(canalPath, [Double](repeating: 9, count: canalPath.count)), tissues.canal)
        for (i, d) in discs.enumerated() {
            // Slightly overlapping the endplates; the bodies are painted over them.
            let shape = VertebraGeometry.bodyShape(center: d.center, semiW: d.width / 2 - 0.5, semiD: d.depth / 2 - 0.5,
                                                   halfH: (d.top - d.bottom) / 2 + 0.6, round: 1.5)
            b.add("disc_\(i)", shape, tissues.disc(PhantomLabel.discBase + UInt8(i)))
        }
        for v in vertebrae {
            guard let level = v.level else { continue }
            let c = v.center
            let post = posteriorElements(v, inset: 0)
            let postInner = posteriorElements(v, inset: AnatomyConstants.posteriorElementCortex)
            b.add("vertebra_\(level.rawValue)_posterior_cortical", post,
                  tissues.cortex(PhantomLabel.vertebra(level, body: false, .cortical)))
            b.add("vertebra_\(level.rawValue)_posterior_trabecular", postInner,
                  tissues.trabecular(PhantomLabel.vertebra(level, body: false, .trabecular), vbmd: tissues.spineTrabecular))
            b.add("vertebra_\(level.rawValue)_body_cortical",
                  VertebraGeometry.bodyShape(center: c, semiW: v.width / 2, semiD: v.depth / 2, halfH: v.height / 2, round: 2),
                  tissues.cortex(PhantomLabel.vertebra(level, body: true, .cortical)))
            // Trabecular centrum: shell thickness exact on the principal axes, endplates exact on the axis.
            b.add("vertebra_\(level.rawValue)_body_trabecular",
                  VertebraGeometry.bodyShape(center: c, semiW: v.width / 2 - v.shell, semiD: v.depth / 2 - v.shell,
                                             halfH: v.height / 2 - v.endplate, round: 2 - v.shell),
                  tissues.trabecular(PhantomLabel.vertebra(level, body: true, .trabecular), vbmd: tissues.spineTrabecular))
            // Basivertebral foramen (§5 [V] He 2023): posterior wall, between the pedicles, upper half.
            let fc = Vec3(0, v.posteriorWallY - AnatomyConstants.basivertebralDepth / 2 + 0.5, c.z + v.height * 0.18)
            b.add("basivertebral_\(level.rawValue)",
                  Shape.orientedBox(Frame.axisAligned(fc),
                                    half: Vec3(AnatomyConstants.basivertebralWidth / 2, AnatomyConstants.basivertebralDepth / 2 + 0.5,
                                               AnatomyConstants.basivertebralHeight / 2), round: 1.5),
                  TissueSample(label: PhantomLabel.basivertebralVein, hu: tissues.venousBloodHU, density: 0))
        }
    }
}
