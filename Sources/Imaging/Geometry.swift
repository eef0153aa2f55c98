// Small fixed-size linear algebra for volume geometry. Coordinates are DICOM patient
// coordinates (LPS: +x to the patient's left, +y posterior, +z head), millimetres.

/// A point or direction in patient space (LPS, mm).
public struct Vec3: Hashable, Sendable, Codable, CustomStringConvertible {
    public var x: Double
    public var y: Double
    public var z: Double

    public init(_ x: Double, _ y: Double, _ z: Double) {
        self.x = x; self.y = y; self.z = z
    }

    public static let zero = Vec3(0, 0, 0)

    public static func + (a: Vec3, b: Vec3) -> Vec3 { Vec3(a.x + b.x, a.y + b.y, a.z + b.z) }
    public static func - (a: Vec3, b: Vec3) -> Vec3 { Vec3(a.x - b.x, a.y - b.y, a.z - b.z) }
    public static func * (s: Double, a: Vec3) -> Vec3 { Vec3(s * a.x, s * a.y, s * a.z) }
    public static func * (a: Vec3, s: Double) -> Vec3 { Vec3(s * a.x, s * a.y, s * a.z) }
    public static func / (a: Vec3, s: Double) -> Vec3 { Vec3(a.x / s, a.y / s, a.z / s) }
    public static prefix func - (a: Vec3) -> Vec3 { Vec3(-a.x, -a.y, -a.z) }

    public func dot(_ b: Vec3) -> Double { x * b.x + y * b.y + z * b.z }
    public func cross(_ b: Vec3) -> Vec3 {
        Vec3(y * b.z - z * b.y, z * b.x - x * b.z, x * b.y - y * b.x)
    }
    public var length: Double { dot(self).squareRoot() }
    /// Unit vector in the same direction; the zero vector stays zero.
    public var normalized: Vec3 {
        let l = length
        return l > 0 ? self / l : self
    }

    public var description: String { "(\(x), \(y), \(z))" }
    public var array: [Double] { [x, y, z] }
}

/// A 3×3 matrix stored by columns. As a volume direction matrix its columns are the unit
/// vectors, in patient space, of the voxel index axes i, j, k.
public struct Mat3: Hashable, Sendable, Codable {
    public var c0: Vec3
    public var c1: Vec3
    public var c2: Vec3

    public init(columns c0: Vec3, _ c1: Vec3, _ c2: Vec3) {
        self.c0 = c0; self.c1 = c1; self.c2 = c2
    }

    public static let identity = Mat3(columns: Vec3(1, 0, 0), Vec3(0, 1, 0), Vec3(0, 0, 1))

    public static func * (m: Mat3, v: Vec3) -> Vec3 { m.c0 * v.x + m.c1 * v.y + m.c2 * v.z }
    public static func * (a: Mat3, b: Mat3) -> Mat3 { Mat3(columns: a * b.c0, a * b.c1, a * b.c2) }

    public var transposed: Mat3 {
        Mat3(columns: Vec3(c0.x, c1.x, c2.x), Vec3(c0.y, c1.y, c2.y), Vec3(c0.z, c1.z, c2.z))
    }

    public var determinant: Double { c0.dot(c1.cross(c2)) }

    /// Inverse by the adjugate; nil when the matrix is singular.
    public var inverse: Mat3? {
        let det = determinant
        guard abs(det) > 1e-12 else { return nil }
        // Rows of the inverse are the cross products of the columns, divided by the determinant.
        let r0 = c1.cross(c2) / det, r1 = c2.cross(c0) / det, r2 = c0.cross(c1) / det
        return Mat3(columns: Vec3(r0.x, r1.x, r2.x), Vec3(r0.y, r1.y, r2.y), Vec3(r0.z, r1.z, r2.z))
    }

    /// Whether the columns are unit length and mutually orthogonal within `tolerance`.
    public func isOrthonormal(tolerance: Double = 1e-4) -> Bool {
        abs(c0.length - 1) < tolerance && abs(c1.length - 1) < tolerance && abs(c2.length - 1) < tolerance
            && abs(c0.dot(c1)) < tolerance && abs(c0.dot(c2)) < tolerance && abs(c1.dot(c2)) < tolerance
    }
}

/// Where a voxel grid sits in patient space.
///
/// The world position (LPS, mm) of the centre of voxel (i, j, k) is
/// `origin + direction * (i·spacing.x, j·spacing.y, k·spacing.z)`.
public struct VolumeGeometry: Hashable, Sendable, Codable {
    /// Voxel size along i, j, k in mm.
    public var spacing: Vec3
    /// Centre of voxel (0, 0, 0) in LPS mm.
    public var origin: Vec3
    /// Columns: unit vectors of the i, j, k axes in LPS.
    public var direction: Mat3

    public init(spacing: Vec3, origin: Vec3 = .zero, direction: Mat3 = .identity) {
        self.spacing = spacing
        self.origin = origin
        self.direction = direction
    }

    /// Voxel-index → world (LPS, mm), for continuous indices too.
    public func world(_ i: Double, _ j: Double, _ k: Double) -> Vec3 {
        origin + direction * Vec3(i * spacing.x, j * spacing.y, k * spacing.z)
    }

    /// World (LPS, mm) → continuous voxel index; nil if the direction matrix is singular.
    public func index(of p: Vec3) -> Vec3? {
        guard let inv = direction.inverse else { return nil }
        let v = inv * (p - origin)
        return Vec3(v.x / spacing.x, v.y / spacing.y, v.z / spacing.z)
    }

    /// The 4×4 index→world affine in LPS, row-major, last row (0, 0, 0, 1).
    public var affineLPS: [[Double]] {
        let a = direction.c0 * spacing.x, b = direction.c1 * spacing.y, c = direction.c2 * spacing.z
        return [
            [a.x, b.x, c.x, origin.x],
            [a.y, b.y, c.y, origin.y],
            [a.z, b.z, c.z, origin.z],
            [0, 0, 0, 1],
        ].map { $0.map { $0 == 0 ? 0 : $0 } }  // no −0 in printed output
    }

    /// The same affine in RAS (NIfTI's world frame): x and y negated.
    public var affineRAS: [[Double]] {
        var m = affineLPS
        for c in 0..<4 {
            m[0][c] = m[0][c] == 0 ? 0 : -m[0][c]
            m[1][c] = m[1][c] == 0 ? 0 : -m[1][c]
        }
        return m
    }
}
