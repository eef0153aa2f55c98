// The solved model for ParaView: a VTK legacy unstructured grid (ASCII) of the bone elements (hexahedra,
// cell type 12) in LPS millimetres, with cell data: modulus (MPa), max and min principal strain and
// energy-equivalent strain (µε), and point data: displacement (mm).
import Foundation
public import Imaging

public enum FemurVTK {
    public static func write(_ model: FemurModel, field: FemurStrainField, solution: Solution) -> String {
        let m = model.operatorK.mesh
        let bone = (0..<m.elementCount).filter { model.isBone[$0] }
        var used = [Int32](repeating: -1, count: m.nodeCount)
        var points: [Int] = []
        var cells: [[Int]] = []
        // VTK_HEXAHEDRON order: bottom face counter-clockwise, then top (as C3D8).
        let order = [0, 1, 3, 2, 4, 5, 7, 6]
        for e in bone {
            let nodes = m.nodes(ofElement: e)
            cells.append(order.map { l -> Int in
                let n = nodes[l]
                if used[n] < 0 { used[n] = Int32(points.count); points.append(n) }
                return Int(used[n])
            })
        }
        var s = "# vtk DataFile Version 3.0\nOsteoCT femur \(model.loadCase.rawValue) (LPS mm)\nASCII\nDATASET UNSTRUCTURED_GRID\n"
        s += "POINTS \(points.count) double\n"
        for n in points {
            let p = model.frameOrigin + model.frame * (m.position(ofNode: n) - m.origin)
            s += "\(p.x) \(p.y) \(p.z)\n"
        }
        s += "CELLS \(cells.count) \(cells.count * 9)\n"
        for c in cells { s += "8 " + c.map(String.init).joined(separator: " ") + "\n" }
        s += "CELL_TYPES \(cells.count)\n" + String(repeating: "12\n", count: cells.count)
        s += "CELL_DATA \(cells.count)\n"
        func scalars(_ name: String, _ values: [Double]) {
            s += "SCALARS \(name) double 1\nLOOKUP_TABLE default\n"
            for x in values { s += "\(x)\n" }
        }
        scalars("modulus_MPa", bone.map { m.modulus[$0] })
        scalars("max_principal_microstrain", field.maxPrincipal.map { Double($0) * 1e6 })
        scalars("min_principal_microstrain", field.minPrincipal.map { Double($0) * 1e6 })
        scalars("equivalent_microstrain", field.equivalent.map { Double($0) * 1e6 })
        s += "POINT_DATA \(points.count)\nVECTORS displacement_mm double\n"
        for n in points {
            let u = model.frame * Vec3(solution.displacement[3 * n], solution.displacement[3 * n + 1], solution.displacement[3 * n + 2])
            s += "\(u.x) \(u.y) \(u.z)\n"
        }
        return s
    }
}
