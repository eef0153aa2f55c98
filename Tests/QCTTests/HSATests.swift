import Foundation
import Imaging
import Testing

@testable import QCT

// HSA sections of analytic shapes against their closed-form values: a circular tube and an elliptic
// annulus of fully mineralised bone (1050 mg/cm³) in empty surroundings, on an axis oblique to the
// voxel grid, voxelised with partial volume (4 × 4 × 4 sub-samples per voxel) at 0.5 and 1 mm.
// Closed forms (bending along u, the outer semi-axis a along u and b across it; inner a_i, b_i):
//   CSA = π(ab − a_i b_i), CSMI = π/4 (a³b − a_i³ b_i), Z = CSMI / a, D = 2a.

private struct Annulus {
    var a: Double, b: Double, ai: Double, bi: Double
    /// Fraction of the voxel at p (size h) inside the annulus, by sub-sampling; and inside the outer outline.
    func fractions(_ p: Vec3, h: Double, axis: Vec3, u: Vec3, w: Vec3, centre: Vec3) -> (wall: Double, outline: Double) {
        var wall = 0.0, outline = 0.0
        for s in 0..<64 {
            let o = Vec3((Double(s % 4) + 0.5) / 4 - 0.5, (Double((s / 4) % 4) + 0.5) / 4 - 0.5, (Double(s / 16) + 0.5) / 4 - 0.5) * h
            let d = p + o - centre
            let x = d.dot(u), y = d.dot(w)
            let outer = (x / a) * (x / a) + (y / b) * (y / b) <= 1
            let inner = (x / ai) * (x / ai) + (y / bi) * (y / bi) <= 1
            if outer { outline += 1 }
            if outer && !inner { wall += 1 }
        }
        return (wall / 64, outline / 64)
    }
}

private func measure(_ shape: Annulus, voxel h: Double) throws -> HSASection {
    let axis = Vec3(0.6, 0, 0.8).normalized  // oblique to the grid, like a femoral neck
    let u = Vec3(0, 1, 0).cross(axis).normalized  // bending direction, perpendicular to the axis
    let w = axis.cross(u)
    let n = Int((44 / h).rounded())
    let g = VolumeGeometry(spacing: Vec3(h, h, h), origin: Vec3(-22, -22, -22), direction: .identity)
    let centre = Vec3(0.1, -0.2, 0.15)
    var density = [Double](repeating: 0, count: n * n * n)
    var mask = [UInt8](repeating: 0, count: n * n * n)
    for k in 0..<n { for j in 0..<n { for i in 0..<n {
        let p = g.world(Double(i), Double(j), Double(k))
        let d = p - centre
        // Skip voxels far from the tube (≥ 2 voxels outside the outer ellipse's bounding circle).
        let radial = d - axis * d.dot(axis)
        guard radial.length <= max(shape.a, shape.b) + 2 * h else { continue }
        let f = shape.fractions(p, h: h, axis: axis, u: u, w: w, centre: centre)
        let q = i + n * j + n * n * k
        density[q] = 1050 * f.wall
        if f.outline >= 0.5 { mask[q] = 3 }  // a filled femur mask, as the segmentation makes it
    } } }
    let labels = try Volume(size: Dim3(n, n, n), geometry: g, voxels: mask)
    return try #require(HSA.section(name: "shaft", definition: "", density: { density[$0] }, labels: labels, value: 3,
                                    center: centre, normal: axis, bending: u, halfSize: 20))
}

@Suite("Hip structural analysis")
struct HSATests {
    @Test(arguments: [0.5, 1.0])
    func circularTube(voxel: Double) throws {
        let R = 14.0, r = 11.0
        let s = try measure(Annulus(a: R, b: R, ai: r, bi: r), voxel: voxel)
        let csa = Double.pi * (R * R - r * r) / 100, csmi = Double.pi / 4 * (pow(R, 4) - pow(r, 4)) / 1e4
        #expect(abs(s.csa_cm2 / csa - 1) < 0.03, "CSA \(s.csa_cm2) vs \(csa)")
        #expect(abs(s.csmi_cm4 / csmi - 1) < 0.03, "CSMI \(s.csmi_cm4) vs \(csmi)")
        #expect(abs(s.sectionModulus_cm3 / (csmi * 1e4 / R / 1000) - 1) < 0.03, "Z \(s.sectionModulus_cm3)")
        #expect(abs(s.outerDiameter_mm / (2 * R) - 1) < 0.03, "D \(s.outerDiameter_mm)")
        #expect(abs(s.corticalThicknessMeasured_mm / (R - r) - 1) < 0.03, "measured thickness \(s.corticalThicknessMeasured_mm)")
        // The shaft's 100 % cortical fraction makes the annulus estimate the true wall too.
        #expect(abs(s.corticalThicknessAnnulus_mm / (R - r) - 1) < 0.03, "ECT \(s.corticalThicknessAnnulus_mm)")
        #expect(abs(s.bucklingRatio / (R / (R - r)) - 1) < 0.05, "BR \(s.bucklingRatio)")
    }

    @Test(arguments: [0.5, 1.0])
    func ellipticAnnulus(voxel: Double) throws {
        let a = 16.0, b = 12.0, ai = 13.5, bi = 9.5
        let s = try measure(Annulus(a: a, b: b, ai: ai, bi: bi), voxel: voxel)
        let csa = Double.pi * (a * b - ai * bi) / 100, csmi = Double.pi / 4 * (a * a * a * b - ai * ai * ai * bi) / 1e4
        #expect(abs(s.csa_cm2 / csa - 1) < 0.03, "CSA \(s.csa_cm2) vs \(csa)")
        #expect(abs(s.csmi_cm4 / csmi - 1) < 0.03, "CSMI \(s.csmi_cm4) vs \(csmi)")
        #expect(abs(s.sectionModulus_cm3 / (csmi * 1e4 / a / 1000) - 1) < 0.03, "Z \(s.sectionModulus_cm3)")
        #expect(abs(s.outerDiameter_mm / (2 * a) - 1) < 0.03, "D \(s.outerDiameter_mm)")
        // A 2.5 mm wall: the annulus laid inside the outline, √(ab) − √(a_i b_i).
        let t = (a * b).squareRoot() - (ai * bi).squareRoot()
        #expect(abs(s.corticalThicknessMeasured_mm / t - 1) < 0.03, "measured thickness \(s.corticalThicknessMeasured_mm) vs \(t)")
    }
}
