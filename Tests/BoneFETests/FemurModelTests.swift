import Foundation
import Imaging
import Testing

@testable import BoneFE

// The femur model's pieces against independent values: the load directions of the two load cases
// from a femur with known axes (trigonometry), the Pistoia strength of a bar in uniaxial tension
// (EES = ε there, so strength = E·A·ε_crit), the density → modulus laws at Ogo's documented floor, and
// a femur-shaped solid under the sideways fall in equilibrium.

@Suite("Femur finite-element model")
struct FemurModelTests {
    @Test func loadDirections() {
        // A left femur: shaft along +z, neck toward +x (lateral) and down, no anteversion.
        let f = FemurLandmarks(headCentre: Vec3(0, 0, 0), headRadius: 22, neckAxis: Vec3(1, 0, -0.7), shaftPoint: Vec3(40, 0, -40),
                               shaftAxis: Vec3(0, 0, 1), lesserTrochanter: nil)
        let deg = Double.pi / 180
        let fall = FemurModel.loadDirection(f, .sidewaysFall)
        // 10° toward proximal, the rest lateral turned 15° toward posterior (+y).
        #expect(abs(fall.z - sin(10 * deg)) < 1e-12)
        #expect(abs(fall.x - cos(10 * deg) * cos(15 * deg)) < 1e-12 && abs(fall.y - cos(10 * deg) * sin(15 * deg)) < 1e-12)
        let stance = FemurModel.loadDirection(f, .stance)
        #expect(abs(stance.z + cos(20 * deg)) < 1e-12 && abs(stance.x - sin(20 * deg)) < 1e-12 && abs(stance.y) < 1e-12)
    }

    @Test func densityModulusLaws() {
        // Ogo: the clamp at −31 mg/cm³ K2HPO4 gives ash ≈ 6 mg/cm³ (1.06·(−31) + 38.9 = 6.04) and E ≈ 0.1 MPa.
        let floor = DensityModulusLaw.keyakAsh.modulus(k2hpo4: -31)
        #expect(abs(floor - 10500 * pow(0.00604, 2.29)) < 1e-12 && floor > 0.08 && floor < 0.1)
        #expect(DensityModulusLaw.keyakAsh.modulus(k2hpo4: -200) == DensityModulusLaw.keyakAsh.modulus(k2hpo4: -31))
        // Cortical bone of 1000 mg/cm³ K2HPO4: ash 1.0989 g/cm³ → ≈ 12.8 GPa (cortical bone is 10–20 GPa).
        let cortical = DensityModulusLaw.keyakAsh.modulus(k2hpo4: 1000)
        #expect(cortical > 12_000 && cortical < 13_500)
        #expect(abs(DensityModulusLaw.morganNeck.modulus(k2hpo4: 200) - 6850 * pow((1.06 * 200 + 38.9) / 1000 / 0.6, 1.49)) < 1e-9)
    }

    @Test func pistoiaStrengthOfABar() throws {
        // 4 × 4 mm, 20 mm long, E 1000 MPa, pressed 0.05 mm: uniform ε = 0.0025, EES = ε everywhere,
        // strength = F·ε_crit/ε = E·A·ε_crit = 1000·16·0.007 = 112 N.
        let (op, bc, top) = tensionBar(length: 20, axis: 1, stretch: -0.05)
        let model = FemurModel(loadCase: .stance, law: .keyakAsh, operatorK: op, conditions: bc, isBone: [Bool](repeating: true, count: 320),
                               loadNodes: top, trochanterNodes: [], distalNodes: [], frame: .identity, frameOrigin: .zero,
                               displacement_mm: 0.05, notes: [])
        let (r, field, _) = try model.analyse(tolerance: 1e-11)
        #expect(abs(r.reactionForce_N / (1000 * 16 * 0.0025) - 1) < 1e-6)
        #expect(abs(try #require(r.criticalEES) / 0.0025 - 1) < 1e-6)
        #expect(abs(try #require(r.strength_N) / 112 - 1) < 1e-6)
        // Principal strains of uniaxial compression along y: −ε along the bar, +ν·ε across.
        #expect(abs(Double(field.minPrincipal[0]) + 0.0025) < 1e-8 && abs(Double(field.maxPrincipal[0]) - 0.3 * 0.0025) < 1e-8)
    }

    @Test func femurShapedSolidInASidewaysFall() throws {
        // Head sphere (r 22) at the origin, neck (r 13) to (35, 0, −30), shaft (r 14) along z below it; 1 mm CT voxels.
        let n = 120, h = 1.0
        let g = VolumeGeometry(spacing: Vec3(h, h, h), origin: Vec3(-30, -40, -130), direction: .identity)
        var mask = [UInt8](repeating: 0, count: n * n * 160)
        let neckEnd = Vec3(35, 0, -30), shaftTop = Vec3(35, 0, -10)
        func nearSegment(_ p: Vec3, _ a: Vec3, _ b: Vec3, _ r: Double) -> Bool {
            let ab = b - a, t = max(0, min(1, (p - a).dot(ab) / ab.dot(ab)))
            return (p - (a + ab * t)).length <= r
        }
        for k in 0..<160 { for j in 0..<n { for i in 0..<n {
            let p = g.world(Double(i), Double(j), Double(k))
            if p.length <= 22 || nearSegment(p, .zero, neckEnd, 13) || nearSegment(p, shaftTop, Vec3(35, 0, -128), 14) { mask[i + n * (j + n * k)] = 3 }
        } } }
        let labels = try Volume(size: Dim3(n, n, 160), geometry: g, voxels: mask)
        let f = FemurLandmarks(headCentre: .zero, headRadius: 22, neckAxis: neckEnd, shaftPoint: Vec3(35, 0, -60), shaftAxis: Vec3(0, 0, 1),
                               lesserTrochanter: Vec3(30, 0, -55))
        // The laws start from K2HPO4 density: a hydroxyapatite-calibrated CT is refused, saying why.
        #expect(throws: FESolverError.self) {
            try FemurModel.build(mask: labels, value: 3, density: { _ in 300 }, femur: f, loadCase: .sidewaysFall, voxel: 2, equivalent: "hydroxyapatite")
        }
        let model = try FemurModel.build(mask: labels, value: 3, density: { _ in 300 }, femur: f, loadCase: .sidewaysFall, voxel: 2)
        #expect(!model.loadNodes.isEmpty && !model.trochanterNodes.isEmpty && !model.distalNodes.isEmpty)
        let (r, field, s) = try model.analyse()
        #expect(r.converged)
        #expect(r.reactionForce_N > 0 && r.strength_N != nil)
        // Equilibrium along the load and across it: all reactions sum to zero (no external force).
        for c in 0..<3 {
            let total = (0..<model.operatorK.mesh.nodeCount).reduce(0.0) { $0 + s.reaction[3 * $1 + c] }
            #expect(abs(total) < 1e-4 * r.reactionForce_N, "component \(c): \(total) N")
        }
        // The strain map at the failure load: 2 % of the bone must exceed the critical strain there, so
        // some pixels show colours above the critical mark; the colour bar runs from colour(0) to colour(1).
        let map = try #require(StrainMap.render(model, result: r, field: field, landmarks: f, ct: nil))
        let img = map.alone
        var hot = 0
        let critical = StrainMap.colour(0.7)
        // The map itself, left of the 150-pixel colour-bar strip (whose white labels would count).
        for y in 0..<img.height { for x in 0..<(img.width - 150) {
            let q = 3 * (x + img.width * y)
            if Int(img.pixels[q]) + Int(img.pixels[q + 1]) > Int(critical.0) + Int(critical.1) { hot += 1 }
        } }
        #expect(hot > 0)
        // Lightness grows along the scale (readable in grey).
        let light = (0...10).map { t -> Int in let c = StrainMap.colour(Double(t) / 10); return 299 * Int(c.0) + 587 * Int(c.1) + 114 * Int(c.2) }
        #expect(zip(light, light.dropFirst()).allSatisfy { $0 < $1 })
    }
}
