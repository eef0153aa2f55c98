// Element strains at the element centre (ξ = η = ζ = 0, where the trilinear element's strain is its
// volume average for the constant and linear parts) and the scalar measures of them.

extension StiffnessOperator {
    /// Strain (ε_xx, ε_yy, ε_zz, γ_xy, γ_yz, γ_zx) at the centre of element e.
    public func centreStrain(element e: Int, displacement u: [Double]) -> [Double] {
        let b = HexElement.strainDisplacement(h: mesh.h, xi: 0, eta: 0, zeta: 0)
        var eps = [Double](repeating: 0, count: 6)
        for l in 0..<8 {
            let n = Int(elementNodes[8 * e + l])
            for a in 0..<3 {
                let ua = u[3 * n + a]
                for r in 0..<6 { eps[r] += b[r * 24 + 3 * l + a] * ua }
            }
        }
        return eps
    }

    /// Strain energy (N·mm) of element e: ½ u_eᵀ E_e K0 u_e.
    public func strainEnergy(element e: Int, displacement u: [Double]) -> Double {
        var ue = [Double](repeating: 0, count: 24)
        for l in 0..<8 {
            let n = Int(elementNodes[8 * e + l])
            for a in 0..<3 { ue[3 * l + a] = u[3 * n + a] }
        }
        var s = 0.0
        for i in 0..<24 {
            var row = 0.0
            for j in 0..<24 { row += k0[i * 24 + j] * ue[j] }
            s += ue[i] * row
        }
        return 0.5 * mesh.modulus[e] * s
    }
}
