// A voxel hexahedral mesh: each voxel with a modulus > 0 is one 8-node element of side h; nodes are
// the voxel corners that elements touch. Node ids follow the node grid in x-fastest order, element ids
// the voxel grid, so the same input always gives the same numbering (and the same exported deck).
public import Imaging

public struct VoxelMesh: Sendable {
    /// Element size (mm).
    public let h: Double
    /// Voxel (element) grid size.
    public let nx: Int, ny: Int, nz: Int
    /// World position (mm) of node grid point (0, 0, 0): the first voxel's lower corner.
    public let origin: Vec3
    /// Element id per voxel (x fastest), −1 where there is none.
    public let elementAt: [Int32]
    /// Voxel index of each element.
    public let elementVoxel: [Int32]
    /// Young's modulus (MPa) of each element.
    public let modulus: [Double]
    /// Node id per node-grid point ((nx+1)·(ny+1)·(nz+1), x fastest), −1 where no element touches it.
    public let nodeAt: [Int32]
    /// Node-grid index of each node.
    public let nodeGridIndex: [Int32]

    public var elementCount: Int { elementVoxel.count }
    public var nodeCount: Int { nodeGridIndex.count }
    public var dofCount: Int { 3 * nodeCount }

    /// `modulus[v]` for voxel v = i + nx·(j + ny·k); voxels with modulus ≤ 0 are left out.
    public init(h: Double, nx: Int, ny: Int, nz: Int, origin: Vec3, modulus voxelModulus: [Double]) {
        precondition(voxelModulus.count == nx * ny * nz, "one modulus per voxel")
        self.h = h; self.nx = nx; self.ny = ny; self.nz = nz; self.origin = origin
        var elementAt = [Int32](repeating: -1, count: nx * ny * nz)
        var elementVoxel: [Int32] = [], modulus: [Double] = []
        for v in 0..<voxelModulus.count where voxelModulus[v] > 0 {
            elementAt[v] = Int32(elementVoxel.count)
            elementVoxel.append(Int32(v))
            modulus.append(voxelModulus[v])
        }
        let px = nx + 1, py = ny + 1, pz = nz + 1
        var touched = [Bool](repeating: false, count: px * py * pz)
        for v in elementVoxel {
            let v = Int(v)
            let i = v % nx, j = (v / nx) % ny, k = v / (nx * ny)
            for l in 0..<8 {
                let (dx, dy, dz) = HexElement.corner(l)
                touched[(i + dx) + px * ((j + dy) + py * (k + dz))] = true
            }
        }
        var nodeAt = [Int32](repeating: -1, count: px * py * pz)
        var nodeGridIndex: [Int32] = []
        for g in 0..<touched.count where touched[g] {
            nodeAt[g] = Int32(nodeGridIndex.count)
            nodeGridIndex.append(Int32(g))
        }
        self.elementAt = elementAt; self.elementVoxel = elementVoxel; self.modulus = modulus
        self.nodeAt = nodeAt; self.nodeGridIndex = nodeGridIndex
    }

    /// Node-grid coordinates of node n.
    @inline(__always) public func nodeGrid(_ n: Int) -> (Int, Int, Int) {
        let g = Int(nodeGridIndex[n]), px = nx + 1, py = ny + 1
        return (g % px, (g / px) % py, g / (px * py))
    }

    /// World position (mm) of node n.
    public func position(ofNode n: Int) -> Vec3 {
        let (i, j, k) = nodeGrid(n)
        return origin + Vec3(Double(i) * h, Double(j) * h, Double(k) * h)
    }

    /// The 8 node ids of element e in local order (l = dx + 2·dy + 4·dz).
    public func nodes(ofElement e: Int) -> [Int] {
        let v = Int(elementVoxel[e])
        let i = v % nx, j = (v / nx) % ny, k = v / (nx * ny)
        let px = nx + 1, py = ny + 1
        return (0..<8).map { l in
            let (dx, dy, dz) = HexElement.corner(l)
            return Int(nodeAt[(i + dx) + px * ((j + dy) + py * (k + dz))])
        }
    }

    /// Centre (mm) of element e.
    public func centre(ofElement e: Int) -> Vec3 {
        let v = Int(elementVoxel[e])
        let i = v % nx, j = (v / nx) % ny, k = v / (nx * ny)
        return origin + Vec3((Double(i) + 0.5) * h, (Double(j) + 0.5) * h, (Double(k) + 0.5) * h)
    }
}
