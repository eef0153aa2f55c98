// The femoral head as a sphere fitted to the femur mask's surface. The head is the top of the
// proximal femur: above the head centre nothing else of the femur rises (the greater trochanter tip
// lies level with it or up to 10 mm below, phantom-anatomy.md §1), so the boundary voxels of the
// top 15 mm seed an algebraic least-squares sphere; the fit is then repeated on every boundary
// voxel within 3 mm of the first sphere above its centre minus half a radius (the head's surface
// down to the neck), which averages over many more points.
public import Imaging
import Foundation

public struct FemoralHeadFit: Codable, Sendable, Equatable {
    /// Centre in patient coordinates (LPS mm) and radius (mm).
    public var center: [Double]
    public var radius_mm: Double
    /// RMS distance of the fitted surface points from the sphere (mm) and how many there were.
    public var rmsResidual_mm: Double
    public var points: Int
}

public enum FemoralHeadFitter {
    /// `within`: the voxel box holding the label (the whole grid when nil), to scan only that.
    public static func fit(_ labels: Volume<UInt8>, value: UInt8, within: VoxelBox? = nil) -> FemoralHeadFit? {
        let nx = labels.size.x, ny = labels.size.y, nz = labels.size.z, plane = nx * ny
        let g = labels.geometry
        // Surface voxels (6-neighbourhood touches the outside) in world coordinates.
        var surface: [Vec3] = []
        let box = within ?? VoxelBox(labels.size)
        for k in box.k {
            for j in box.j {
                for i in box.i where labels.voxels[i + nx * j + plane * k] == value {
                    let q = i + nx * j + plane * k
                    let edge = i == 0 || i == nx - 1 || j == 0 || j == ny - 1 || k == 0 || k == nz - 1
                        || labels.voxels[q - 1] != value || labels.voxels[q + 1] != value || labels.voxels[q - nx] != value
                        || labels.voxels[q + nx] != value || labels.voxels[q - plane] != value || labels.voxels[q + plane] != value
                    if edge { surface.append(g.world(Double(i), Double(j), Double(k))) }
                }
            }
        }
        guard let top = surface.map(\.z).max() else { return nil }
        let seed = surface.filter { $0.z >= top - 15 }
        guard var s = sphere(seed), s.radius > 5, s.radius < 40 else { return nil }
        for _ in 0..<3 {
            let near = surface.filter { p in p.z >= s.center.z - s.radius / 2 && abs((p - s.center).length - s.radius) <= 3 }
            guard let next = sphere(near) else { break }
            s = next
        }
        let used = surface.filter { p in p.z >= s.center.z - s.radius / 2 && abs((p - s.center).length - s.radius) <= 3 }
        let rms = (used.reduce(0) { $0 + pow(($1 - s.center).length - s.radius, 2) } / Double(max(1, used.count))).squareRoot()
        return FemoralHeadFit(center: s.center.array, radius_mm: s.radius, rmsResidual_mm: rms, points: used.count)
    }

    /// Algebraic sphere fit: |p|² = 2c·p + (r² − |c|²), linear in (c, d); solved by normal equations.
    static func sphere(_ p: [Vec3]) -> (center: Vec3, radius: Double)? {
        guard p.count >= 10 else { return nil }
        // Centre the points for conditioning.
        let m = p.reduce(Vec3.zero, +) / Double(p.count)
        var a = [[Double]](repeating: [Double](repeating: 0, count: 4), count: 4)
        var b = [Double](repeating: 0, count: 4)
        for q in p {
            let d = q - m
            let row = [2 * d.x, 2 * d.y, 2 * d.z, 1.0]
            let rhs = d.dot(d)
            for r in 0..<4 {
                b[r] += row[r] * rhs
                for c in 0..<4 { a[r][c] += row[r] * row[c] }
            }
        }
        guard let x = solve(a, b) else { return nil }
        let c = Vec3(x[0], x[1], x[2])
        let r2 = x[3] + c.dot(c)
        guard r2 > 0 else { return nil }
        return (m + c, r2.squareRoot())
    }

    /// Gaussian elimination with partial pivoting (4 × 4).
    static func solve(_ a0: [[Double]], _ b0: [Double]) -> [Double]? {
        var a = a0, b = b0
        let n = b.count
        for col in 0..<n {
            guard let piv = (col..<n).max(by: { abs(a[$0][col]) < abs(a[$1][col]) }), abs(a[piv][col]) > 1e-12 else { return nil }
            a.swapAt(col, piv); b.swapAt(col, piv)
            for r in (col + 1)..<n {
                let f = a[r][col] / a[col][col]
                for c in col..<n { a[r][c] -= f * a[col][c] }
                b[r] -= f * b[col]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for r in stride(from: n - 1, through: 0, by: -1) {
            var s = b[r]
            for c in (r + 1)..<n { s -= a[r][c] * x[c] }
            x[r] = s / a[r][r]
        }
        return x
    }
}

/// An inclusive box of voxel indices.
public struct VoxelBox: Sendable, Equatable {
    public var i: ClosedRange<Int>
    public var j: ClosedRange<Int>
    public var k: ClosedRange<Int>

    public init(i: ClosedRange<Int>, j: ClosedRange<Int>, k: ClosedRange<Int>) {
        self.i = i
        self.j = j
        self.k = k
    }

    /// The whole grid.
    public init(_ size: Dim3) { self.init(i: 0...(size.x - 1), j: 0...(size.y - 1), k: 0...(size.z - 1)) }
}
