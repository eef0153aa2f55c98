import Foundation
import Imaging
import Testing

@testable import BoneFE

// The voxel solver against closed forms: the patch test (a linear displacement field on the boundary
// is reproduced exactly inside, every element at the same strain), a bar in uniaxial tension
// (reaction = E·A·δ/L exactly for trilinear bricks with free lateral contraction), a cantilever
// against Timoshenko beam theory, and symmetry and equilibrium.

func block(_ nx: Int, _ ny: Int, _ nz: Int, h: Double = 1, E: Double = 1000) -> VoxelMesh {
    VoxelMesh(h: h, nx: nx, ny: ny, nz: nz, origin: Vec3(0, 0, 0), modulus: [Double](repeating: E, count: nx * ny * nz))
}

/// A 4 × 4 mm bar of E 1000 MPa, `length` mm along axis `a` (1 = y, 2 = z): its base held along a,
/// and across it only enough to stop rigid motion (not lateral contraction); its end moved by `stretch`.
func tensionBar(length: Int, axis a: Int, stretch: Double) -> (StiffnessOperator, BoundaryConditions, end: [Int]) {
    var dims = [4, 4, 4]
    dims[a] = length
    let mesh = block(dims[0], dims[1], dims[2])
    let op = StiffnessOperator(mesh: mesh, material: ElasticMaterial(poisson: 0.3))
    let (b, c) = a == 1 ? (0, 2) : (0, 1)
    var bc = BoundaryConditions(dofCount: mesh.dofCount)
    var end: [Int] = []
    for n in 0..<mesh.nodeCount {
        let t = mesh.nodeGrid(n)
        let g = [t.0, t.1, t.2]
        if g[a] == 0 {
            bc.fix(node: n, component: a)
            if g[b] == 0 && g[c] == 0 { bc.fix(node: n, component: b); bc.fix(node: n, component: c) }
            if g[b] == 4 && g[c] == 0 { bc.fix(node: n, component: c) }
        }
        if g[a] == length { bc.fix(node: n, component: a, value: stretch); end.append(n) }
    }
    return (op, bc, end)
}

@Suite("Finite-element solver")
struct SolverTests {
    @Test func referenceStiffnessIsSymmetricWithRigidModes() {
        let k = HexElement.stiffness(h: 1.5, material: ElasticMaterial(poisson: 0.3))
        var asym = 0.0
        for i in 0..<24 { for j in 0..<24 { asym = max(asym, abs(k[i * 24 + j] - k[j * 24 + i])) } }
        #expect(asym < 1e-12)
        // A rigid translation and a rigid rotation about z produce no nodal forces.
        for mode in 0..<2 {
            var u = [Double](repeating: 0, count: 24)
            for l in 0..<8 {
                let (dx, dy, _) = HexElement.corner(l)
                if mode == 0 { u[3 * l] = 1 } else { u[3 * l] = -Double(dy) * 1.5; u[3 * l + 1] = Double(dx) * 1.5 }
            }
            let f = (0..<24).map { i in (0..<24).reduce(0.0) { $0 + k[i * 24 + $1] * u[$1] } }
            #expect(f.map(abs).max()! < 1e-10)
        }
    }

    @Test func patchTest() throws {
        let mesh = block(4, 4, 4)
        let op = StiffnessOperator(mesh: mesh, material: ElasticMaterial(poisson: 0.3))
        // u = A·x with a general (non-symmetric) A: uniform strain plus a rigid rotation.
        let A: [[Double]] = [[1e-3, 2e-4, -3e-4], [5e-4, -2e-3, 1e-4], [-1e-4, 3e-4, 1.5e-3]]
        func exact(_ p: Vec3) -> [Double] { A.map { $0[0] * p.x + $0[1] * p.y + $0[2] * p.z } }
        var bc = BoundaryConditions(dofCount: mesh.dofCount)
        for n in 0..<mesh.nodeCount {
            let (i, j, k) = mesh.nodeGrid(n)
            guard i == 0 || j == 0 || k == 0 || i == 4 || j == 4 || k == 4 else { continue }
            let u = exact(mesh.position(ofNode: n))
            for a in 0..<3 { bc.fix(node: n, component: a, value: u[a]) }
        }
        let s = try FESolver.solve(op, bc, tolerance: 1e-12)
        #expect(s.converged)
        var worst = 0.0
        for n in 0..<mesh.nodeCount {
            let u = exact(mesh.position(ofNode: n))
            for a in 0..<3 { worst = max(worst, abs(s.displacement[3 * n + a] - u[a])) }
        }
        #expect(worst < 1e-12, "interior displacement off by \(worst) mm")
        let want = [A[0][0], A[1][1], A[2][2], A[0][1] + A[1][0], A[1][2] + A[2][1], A[2][0] + A[0][2]]
        for e in 0..<mesh.elementCount {
            let eps = op.centreStrain(element: e, displacement: s.displacement)
            #expect(zip(eps, want).allSatisfy { abs($0 - $1) < 1e-12 })
        }
    }

    @Test func barInTension() throws {
        // 4 × 4 mm section, 40 mm long, E 1000 MPa, 0.1 mm elongation.
        let (op, bc, top) = tensionBar(length: 40, axis: 2, stretch: 0.1)
        let mesh = op.mesh
        // Tight tolerance: the lateral contraction is 3 % of the elongation and converges last.
        let s = try FESolver.solve(op, bc, tolerance: 1e-11)
        #expect(s.converged)
        let force = top.reduce(0.0) { $0 + s.reaction[3 * $1 + 2] }
        let exact = 1000 * 16 * 0.1 / 40
        #expect(abs(force / exact - 1) < 1e-5, "reaction \(force) N vs \(exact)")
        // Equilibrium: the base holds what the top pulls.
        let total = (0..<mesh.nodeCount).reduce(0.0) { $0 + s.reaction[3 * $1 + 2] }
        #expect(abs(total) < 1e-6 * exact)
        // Lateral contraction: ν·ε at the free sides.
        let corner = try #require((0..<mesh.nodeCount).first { let g = mesh.nodeGrid($0); return g.0 == 4 && g.1 == 4 && g.2 == 20 })
        let ux = s.displacement[3 * corner], eps = 0.1 / 40
        #expect(abs(ux / (-0.3 * eps * 4) - 1) < 1e-4, "u_x \(ux)")
    }

    @Test func cantileverAgainstTimoshenko() throws {
        // 60 mm long, 6 × 6 mm section at 0.5 mm elements, clamped at x = 0, 10 N down at the free end.
        let h = 0.5, L = 60.0, d = 6.0
        let nx = Int(L / h), nyz = Int(d / h)
        let mesh = block(nx, nyz, nyz, h: h)
        let op = StiffnessOperator(mesh: mesh, material: ElasticMaterial(poisson: 0.3))
        var bc = BoundaryConditions(dofCount: mesh.dofCount)
        var end: [Int] = []
        for n in 0..<mesh.nodeCount {
            let (i, _, _) = mesh.nodeGrid(n)
            if i == 0 { for a in 0..<3 { bc.fix(node: n, component: a) } }
            if i == nx { end.append(n) }
        }
        // The load spread over the end face by the trapezoidal rule (consistent for bilinear faces).
        let P = 10.0
        var weights: [Int: Double] = [:]
        for n in end {
            let (_, j, k) = mesh.nodeGrid(n)
            weights[n] = (j == 0 || j == nyz ? 0.5 : 1) * (k == 0 || k == nyz ? 0.5 : 1)
        }
        let total = weights.values.reduce(0, +)
        for (n, w) in weights { bc.force[3 * n + 2] = -P * w / total }
        let s = try FESolver.solve(op, bc)
        #expect(s.converged)
        let tip = end.reduce(0.0) { $0 + s.displacement[3 * $1 + 2] * weights[$1]! } / total
        let E = 1000.0, nu = 0.3, I = d * d * d * d / 12, A = d * d, G = E / (2 * (1 + nu))
        let kappa = 10 * (1 + nu) / (12 + 11 * nu)  // Cowper's shear coefficient for a rectangle
        let exact = -(P * L * L * L / (3 * E * I) + P * L / (kappa * G * A))
        #expect(abs(tip / exact - 1) < 0.02, "tip \(tip) mm vs \(exact)")
        // Equilibrium: the clamp holds the load.
        let held = (0..<mesh.nodeCount).reduce(0.0) { $0 + s.reaction[3 * $1 + 2] }
        #expect(abs(held - P) < 1e-6 * P)
    }

    @Test func symmetricLoadGivesASymmetricField() throws {
        // A 6 × 6 × 4 block, base fixed, the top pressed in its middle: u_x mirrors across x = 3.
        let mesh = block(6, 6, 4)
        let op = StiffnessOperator(mesh: mesh, material: ElasticMaterial(poisson: 0.3))
        var bc = BoundaryConditions(dofCount: mesh.dofCount)
        var index: [Int: Int] = [:]
        for n in 0..<mesh.nodeCount {
            let (i, j, k) = mesh.nodeGrid(n)
            index[i + 7 * (j + 7 * k)] = n
            if k == 0 { for a in 0..<3 { bc.fix(node: n, component: a) } }
            if k == 4 && (2...4).contains(i) && (2...4).contains(j) { bc.force[3 * n + 2] = -1 }
        }
        let s = try FESolver.solve(op, bc, tolerance: 1e-10)
        var worst = 0.0, scale = 0.0
        for (g, n) in index {
            let i = g % 7, j = (g / 7) % 7, k = g / 49
            let m = index[(6 - i) + 7 * (j + 7 * k)]!
            worst = max(worst, abs(s.displacement[3 * n] + s.displacement[3 * m]), abs(s.displacement[3 * n + 2] - s.displacement[3 * m + 2]))
            scale = max(scale, abs(s.displacement[3 * n + 2]))
        }
        #expect(worst < 1e-8 * scale, "asymmetry \(worst) of \(scale)")
        let held = (0..<mesh.nodeCount).reduce(0.0) { $0 + s.reaction[3 * $1 + 2] }
        #expect(abs(held - 9) < 1e-6)
    }
}
