// The model as a CalculiX/Abaqus input deck: C3D8 elements, one material and solid section per
// modulus bin (ccx 2.20 has no per-element modulus table; reference/dicom-perf.md §4.2), supports and
// prescribed displacements as *BOUNDARY, forces as *CLOAD, and print requests for the displacements
// and the reactions on the supports, so the deck runs unchanged with `ccx -i JOB`.
// Units: mm, N, MPa.
import Foundation
import Imaging

public enum CalculiXSolver: String, Sendable, CaseIterable {
    case spooles = "SPOOLES", iterativeScaling = "ITERATIVE SCALING", iterativeCholesky = "ITERATIVE CHOLESKY"
}

extension VoxelMesh {
    /// A copy whose moduli are the geometric centres of at most `bins` bins, equal in log E between the
    /// smallest and largest modulus (the deck's materials; the solver uses the same values when the
    /// two are compared). Returns the mesh and the bin of each element.
    public func binned(bins: Int = 256) -> (mesh: VoxelMesh, bin: [Int], moduli: [Double]) {
        guard let lo = modulus.min(), let hi = modulus.max(), hi > lo, bins > 1 else {
            return (self, [Int](repeating: 0, count: elementCount), [modulus.first ?? 0])
        }
        let a = log(lo), step = (log(hi) - a) / Double(bins)
        let bin = modulus.map { min(bins - 1, Int((log($0) - a) / step)) }
        let centres = (0..<bins).map { exp(a + (Double($0) + 0.5) * step) }
        var voxel = [Double](repeating: 0, count: nx * ny * nz)
        for e in 0..<elementCount { voxel[Int(elementVoxel[e])] = centres[bin[e]] }
        return (VoxelMesh(h: h, nx: nx, ny: ny, nz: nz, origin: origin, modulus: voxel), bin, centres)
    }
}

public enum CalculiXDeck {
    /// Local node order of a C3D8 from OsteoCT's (l = dx + 2·dy + 4·dz): bottom face counter-clockwise, then top.
    static let c3d8Order = [0, 1, 3, 2, 4, 5, 7, 6]

    /// The deck text. The mesh's moduli are written as they are, one material per distinct value (bin
    /// the mesh first); `reactionSets` name node sets whose total reaction ccx prints.
    public static func write(_ op: StiffnessOperator, _ bc: BoundaryConditions, heading: String, solver: CalculiXSolver = .spooles,
                             reactionSets: [(name: String, nodes: [Int])] = []) -> String {
        let m = op.mesh
        var out = "*HEADING\n\(heading.replacingOccurrences(of: "\n", with: " "))\n*NODE, NSET=NALL\n"
        out.reserveCapacity(m.nodeCount * 40 + m.elementCount * 60)
        for n in 0..<m.nodeCount {
            let p = m.position(ofNode: n)
            out += "\(n + 1),\(fmt(p.x)),\(fmt(p.y)),\(fmt(p.z))\n"
        }
        out += "*ELEMENT, TYPE=C3D8, ELSET=EALL\n"
        for e in 0..<m.elementCount {
            let nodes = m.nodes(ofElement: e)
            out += "\(e + 1)," + c3d8Order.map { String(nodes[$0] + 1) }.joined(separator: ",") + "\n"
        }
        // One set, material and section per distinct modulus.
        var groups: [Double: [Int]] = [:]
        for e in 0..<m.elementCount { groups[m.modulus[e], default: []].append(e) }
        for (b, (E, elements)) in groups.sorted(by: { $0.key < $1.key }).enumerated() {
            out += "*ELSET, ELSET=B\(b)\n" + lines(elements.map { $0 + 1 })
            out += "*MATERIAL, NAME=M\(b)\n*ELASTIC\n\(fmt(E)),\(fmt(op.material.poisson))\n"
            out += "*SOLID SECTION, ELSET=B\(b), MATERIAL=M\(b)\n"
        }
        for set in reactionSets { out += "*NSET, NSET=\(set.name)\n" + lines(set.nodes.map { $0 + 1 }) }
        out += "*STEP\n*STATIC, SOLVER=\(solver.rawValue)\n*BOUNDARY\n"
        for i in 0..<m.dofCount where bc.constrained[i] {
            out += "\(i / 3 + 1),\(i % 3 + 1),\(i % 3 + 1),\(fmt(bc.prescribed[i]))\n"
        }
        let loads = (0..<m.dofCount).filter { bc.force[$0] != 0 }
        if !loads.isEmpty {
            out += "*CLOAD\n"
            for i in loads { out += "\(i / 3 + 1),\(i % 3 + 1),\(fmt(bc.force[i]))\n" }
        }
        out += "*NODE PRINT, NSET=NALL\nU\n"
        for set in reactionSets { out += "*NODE PRINT, NSET=\(set.name), TOTALS=ONLY\nRF\n" }
        out += "*END STEP\n"
        return out
    }

    /// Shortest round-trip text of a double (ccx reads free-format numbers).
    static func fmt(_ x: Double) -> String { x == 0 ? "0." : "\(x)" }

    /// Ids, 16 per line (the format's limit).
    static func lines(_ ids: [Int]) -> String {
        var s = ""
        var i = 0
        while i < ids.count {
            s += ids[i..<min(ids.count, i + 16)].map(String.init).joined(separator: ",") + "\n"
            i += 16
        }
        return s
    }
}
