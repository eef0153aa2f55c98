// Linear static solve K u = f on a voxel mesh, matrix-free: K is never assembled. The product K·x is
// gathered node by node (each node sums E_e · K0[its rows] · x_e over the ≤ 8 elements it belongs to),
// so parallel workers write disjoint parts of the result and need no locks or colouring.
// Conjugate gradients with a Jacobi (diagonal) preconditioner, double precision throughout; stops at
// ‖r‖ / ‖r₀‖ ≤ tolerance (default 1e-6). Prescribed displacements are lifted: u = u_p on constrained
// DOFs, and CG runs on the free DOFs only. Reactions = K u − f on the constrained DOFs.
public import Imaging
import Foundation

/// Loads and supports of one static solve.
public struct BoundaryConditions: Sendable {
    /// Per DOF (3 per node): whether its displacement is prescribed, and to what (mm).
    public var constrained: [Bool]
    public var prescribed: [Double]
    /// Applied nodal forces (N) per DOF.
    public var force: [Double]

    public init(dofCount: Int) {
        constrained = [Bool](repeating: false, count: dofCount)
        prescribed = [Double](repeating: 0, count: dofCount)
        force = [Double](repeating: 0, count: dofCount)
    }

    /// Fixes DOF `component` (0 x, 1 y, 2 z) of node n at `value` mm.
    public mutating func fix(node n: Int, component: Int, value: Double = 0) {
        constrained[3 * n + component] = true
        prescribed[3 * n + component] = value
    }
}

public struct Solution: Sendable {
    /// Displacement (mm) per DOF.
    public var displacement: [Double]
    /// Reaction force (N) per DOF: K u − f, non-zero on constrained DOFs.
    public var reaction: [Double]
    public var iterations: Int
    public var relativeResidual: Double
    public var converged: Bool
    public var seconds: Double
}

public enum FESolverError: Error, CustomStringConvertible, Sendable {
    case badInput(String)
    public var description: String {
        switch self { case .badInput(let s): return s }
    }
}

/// The matrix-free stiffness operator of a mesh.
public struct StiffnessOperator: Sendable {
    public let mesh: VoxelMesh
    public let material: ElasticMaterial
    /// K0 for E = 1 at the mesh's element size.
    let k0: [Double]
    /// 8 node ids per element.
    let elementNodes: [Int32]

    public init(mesh: VoxelMesh, material: ElasticMaterial) {
        self.mesh = mesh
        self.material = material
        k0 = HexElement.stiffness(h: mesh.h, material: material)
        var en = [Int32](repeating: 0, count: 8 * mesh.elementCount)
        for e in 0..<mesh.elementCount { for (l, n) in mesh.nodes(ofElement: e).enumerated() { en[8 * e + l] = Int32(n) } }
        elementNodes = en
    }

    /// y = K x (all DOFs).
    public func apply(_ x: [Double], into y: inout [Double]) {
        let m = mesh
        let nx = m.nx, ny = m.ny, nz = m.nz
        y.withUnsafeMutableBufferPointer { yb in
            let out = SharedMutableBuffer(yb)
            x.withUnsafeBufferPointer { xb in
                k0.withUnsafeBufferPointer { kb in
                    elementNodes.withUnsafeBufferPointer { enb in
                        m.elementAt.withUnsafeBufferPointer { eab in
                            m.modulus.withUnsafeBufferPointer { mb in
                                m.nodeGridIndex.withUnsafeBufferPointer { ngb in
                                    let xs = UnsafeSendable(xb), ks = UnsafeSendable(kb), ens = UnsafeSendable(enb)
                                    let eas = UnsafeSendable(eab), ms = UnsafeSendable(mb), ngs = UnsafeSendable(ngb)
                                    Parallel.forChunks(m.nodeCount, minChunk: 2048) { range in
                                        let x = xs.p, k = ks.p, en = ens.p, ea = eas.p, mod = ms.p, ng = ngs.p
                                        let px = nx + 1, py = ny + 1
                                        for n in range {
                                            let g = Int(ng[n])
                                            let i = g % px, j = (g / px) % py, kk = g / (px * py)
                                            var a0 = 0.0, a1 = 0.0, a2 = 0.0
                                            for slot in 0..<8 {
                                                let ei = i - (slot & 1), ej = j - ((slot >> 1) & 1), ek = kk - ((slot >> 2) & 1)
                                                guard ei >= 0, ej >= 0, ek >= 0, ei < nx, ej < ny, ek < nz else { continue }
                                                let e = Int(ea[ei + nx * (ej + ny * ek)])
                                                guard e >= 0 else { continue }
                                                let E = mod[e]
                                                let r0 = (3 * slot) * 24, r1 = r0 + 24, r2 = r1 + 24
                                                var s0 = 0.0, s1 = 0.0, s2 = 0.0
                                                for l in 0..<8 {
                                                    let q = 3 * Int(en[8 * e + l])
                                                    let u0 = x[q], u1 = x[q + 1], u2 = x[q + 2]
                                                    let c = 3 * l
                                                    s0 += k[r0 + c] * u0 + k[r0 + c + 1] * u1 + k[r0 + c + 2] * u2
                                                    s1 += k[r1 + c] * u0 + k[r1 + c + 1] * u1 + k[r1 + c + 2] * u2
                                                    s2 += k[r2 + c] * u0 + k[r2 + c + 1] * u1 + k[r2 + c + 2] * u2
                                                }
                                                a0 += E * s0; a1 += E * s1; a2 += E * s2
                                            }
                                            out[3 * n] = a0; out[3 * n + 1] = a1; out[3 * n + 2] = a2
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The diagonal of K.
    public func diagonal() -> [Double] {
        var d = [Double](repeating: 0, count: mesh.dofCount)
        for e in 0..<mesh.elementCount {
            let E = mesh.modulus[e]
            for l in 0..<8 {
                let n = Int(elementNodes[8 * e + l])
                for a in 0..<3 { d[3 * n + a] += E * k0[(3 * l + a) * 24 + 3 * l + a] }
            }
        }
        return d
    }
}

/// Pointer wrapper for read-only buffers shared by parallel workers.
struct UnsafeSendable<T>: @unchecked Sendable {
    let p: UnsafePointer<T>
    init(_ b: UnsafeBufferPointer<T>) { p = b.baseAddress ?? UnsafePointer(UnsafeMutablePointer<T>.allocate(capacity: 1)) }
}

public enum Preconditioner: String, Sendable, CaseIterable {
    /// Geometric multigrid V-cycle with Chebyshev smoothing (Multigrid.swift).
    case multigrid
    /// The diagonal of K.
    case jacobi
}

public enum FESolver {
    /// Solves K u = f with the prescribed displacements; `progress(iteration, relative residual)` every 25
    /// iterations (every iteration with multigrid).
    public static func solve(_ op: StiffnessOperator, _ bc: BoundaryConditions, tolerance: Double = 1e-6, maxIterations: Int = 20_000,
                             preconditioner: Preconditioner = .multigrid,
                             progress: (Int, Double) -> Void = { _, _ in }) throws(FESolverError) -> Solution {
        let n = op.mesh.dofCount
        guard bc.constrained.count == n, bc.prescribed.count == n, bc.force.count == n else {
            throw .badInput("boundary conditions for \(bc.constrained.count) DOFs on a mesh of \(n)")
        }
        guard bc.constrained.contains(true) else { throw .badInput("no DOF is constrained: the model can move as a rigid body") }
        let started = Date()
        var u = [Double](repeating: 0, count: n)
        for i in 0..<n where bc.constrained[i] { u[i] = bc.prescribed[i] }
        var ku = [Double](repeating: 0, count: n)
        op.apply(u, into: &ku)
        var r = [Double](repeating: 0, count: n)
        for i in 0..<n { r[i] = bc.constrained[i] ? 0 : bc.force[i] - ku[i] }
        let diag = op.diagonal()
        var inv = [Double](repeating: 0, count: n)
        for i in 0..<n where !bc.constrained[i] {
            guard diag[i] > 0 else { throw .badInput("DOF \(i) has no stiffness (a node no element holds)") }
            inv[i] = 1 / diag[i]
        }
        let mg = preconditioner == .multigrid ? MultigridPreconditioner(op, constrained: bc.constrained) : nil
        func precondition(_ r: [Double]) -> [Double] {
            if let mg { return mg.apply(r) }
            var z = [Double](repeating: 0, count: n)
            for i in 0..<n { z[i] = inv[i] * r[i] }
            return z
        }
        let r0 = norm(r)
        var iterations = 0
        var rel = 0.0
        if r0 > 0 {
            var z = precondition(r)
            var rz = dot(r, z)
            // A preconditioner that is not positive definite here (rz ≤ 0): fall back to Jacobi.
            var jacobiOnly = false
            if !(rz > 0) {
                jacobiOnly = true
                for i in 0..<n { z[i] = inv[i] * r[i] }
                rz = dot(r, z)
            }
            var p = z
            var q = [Double](repeating: 0, count: n)
            rel = 1
            while iterations < maxIterations {
                op.apply(p, into: &q)
                for i in 0..<n where bc.constrained[i] { q[i] = 0 }
                let pq = dot(p, q)
                guard pq > 0 else { break }
                let alpha = rz / pq
                for i in 0..<n { u[i] += alpha * p[i]; r[i] -= alpha * q[i] }
                iterations += 1
                rel = norm(r) / r0
                if mg != nil || iterations % 25 == 0 { progress(iterations, rel) }
                if rel <= tolerance { break }
                z = jacobiOnly ? zip(inv, r).map { $0 * $1 } : precondition(r)
                var rzNew = dot(r, z)
                if !(rzNew > 0) && !jacobiOnly {
                    // Restart from here with Jacobi: keeps CG's recurrences valid.
                    jacobiOnly = true
                    z = zip(inv, r).map { $0 * $1 }
                    rzNew = dot(r, z)
                    rz = rzNew
                    p = z
                    continue
                }
                let beta = rzNew / rz
                rz = rzNew
                for i in 0..<n { p[i] = z[i] + beta * p[i] }
            }
        }
        op.apply(u, into: &ku)
        var reaction = [Double](repeating: 0, count: n)
        for i in 0..<n where bc.constrained[i] { reaction[i] = ku[i] - bc.force[i] }
        return Solution(displacement: u, reaction: reaction, iterations: iterations, relativeResidual: rel,
                        converged: r0 == 0 || rel <= tolerance, seconds: Date().timeIntervalSince(started))
    }

    /// Sums in fixed blocks of 4096 in order, so the result does not depend on the thread count.
    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0
        a.withUnsafeBufferPointer { ab in
            b.withUnsafeBufferPointer { bb in
                var i = 0
                while i < ab.count {
                    let hi = min(ab.count, i + 4096)
                    var part = 0.0
                    for j in i..<hi { part += ab[j] * bb[j] }
                    s += part
                    i = hi
                }
            }
        }
        return s
    }

    static func norm(_ a: [Double]) -> Double { dot(a, a).squareRoot() }
}
