// The 8-node trilinear hexahedron of a voxel mesh: every element is the same cube of side h, so one
// reference stiffness matrix for E = 1 serves all of them (element stiffness = E_e · K0): the basis of
// matrix-free voxel solvers (van Rietbergen et al., J Biomech 1995; the µFE approach).
//
// Local node l = dx + 2·dy + 4·dz at the cube's corner (dx, dy, dz) ∈ {0, 1}³; DOFs 3l, 3l+1, 3l+2 are
// u_x, u_y, u_z. Strains in Voigt order (ε_xx, ε_yy, ε_zz, γ_xy, γ_yz, γ_zx) with engineering shears.
// Full 2 × 2 × 2 Gauss integration (exact for the trilinear cube).

/// Isotropic linear elasticity.
public struct ElasticMaterial: Sendable, Equatable {
    public var poisson: Double
    public init(poisson: Double) { self.poisson = poisson }

    /// The 6 × 6 constitutive matrix for E = 1 (row-major).
    public var unitD: [Double] {
        let nu = poisson
        let lambda = nu / ((1 + nu) * (1 - 2 * nu)), mu = 1 / (2 * (1 + nu))
        var d = [Double](repeating: 0, count: 36)
        for i in 0..<3 { for j in 0..<3 { d[i * 6 + j] = lambda + (i == j ? 2 * mu : 0) } }
        for i in 3..<6 { d[i * 6 + i] = mu }
        return d
    }
}

public enum HexElement {
    /// Corner of local node l: (dx, dy, dz).
    @inline(__always) public static func corner(_ l: Int) -> (Int, Int, Int) { (l & 1, (l >> 1) & 1, (l >> 2) & 1) }

    /// Strain–displacement matrix B (6 × 24, row-major) at natural coordinates (ξ, η, ζ) ∈ [−1, 1]³ of
    /// a cube of side h.
    public static func strainDisplacement(h: Double, xi: Double, eta: Double, zeta: Double) -> [Double] {
        var b = [Double](repeating: 0, count: 6 * 24)
        for l in 0..<8 {
            let (dx, dy, dz) = corner(l)
            let sx = Double(2 * dx - 1), sy = Double(2 * dy - 1), sz = Double(2 * dz - 1)
            // dN/dx = (2/h) dN/dξ for a cube.
            let nx = 2 / h * 0.125 * sx * (1 + sy * eta) * (1 + sz * zeta)
            let ny = 2 / h * 0.125 * sy * (1 + sx * xi) * (1 + sz * zeta)
            let nz = 2 / h * 0.125 * sz * (1 + sx * xi) * (1 + sy * eta)
            let c = 3 * l
            b[0 * 24 + c] = nx
            b[1 * 24 + c + 1] = ny
            b[2 * 24 + c + 2] = nz
            b[3 * 24 + c] = ny; b[3 * 24 + c + 1] = nx
            b[4 * 24 + c + 1] = nz; b[4 * 24 + c + 2] = ny
            b[5 * 24 + c] = nz; b[5 * 24 + c + 2] = nx
        }
        return b
    }

    /// Reference stiffness K0 (24 × 24, row-major) of a cube of side h for E = 1: ∫ Bᵀ D B dV by 2 × 2 × 2 Gauss.
    public static func stiffness(h: Double, material: ElasticMaterial) -> [Double] {
        let d = material.unitD
        let g = 1 / 3.0.squareRoot()
        let w = h * h * h / 8  // Jacobian det (h/2)³ × Gauss weight 1
        var k = [Double](repeating: 0, count: 576)
        for p in 0..<8 {
            let (a, bb, c) = corner(p)
            let bm = strainDisplacement(h: h, xi: Double(2 * a - 1) * g, eta: Double(2 * bb - 1) * g, zeta: Double(2 * c - 1) * g)
            // DB (6 × 24)
            var db = [Double](repeating: 0, count: 144)
            for i in 0..<6 { for j in 0..<24 {
                var s = 0.0
                for m in 0..<6 { s += d[i * 6 + m] * bm[m * 24 + j] }
                db[i * 24 + j] = s
            } }
            for i in 0..<24 { for j in 0..<24 {
                var s = 0.0
                for m in 0..<6 { s += bm[m * 24 + i] * db[m * 24 + j] }
                k[i * 24 + j] += w * s
            } }
        }
        return k
    }
}
