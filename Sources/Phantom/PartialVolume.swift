// Partial-volume fractions for a box cut by locally planar surfaces.
//
// Near a surface the implicit function is replaced by its first-order model d + n·(x − c) (d the distance
// at the box centre, n the unit normal, both from the function value and its finite-difference gradient).
// One surface in the box: the covered fraction is exact for that plane (the CDF of a sum of three uniform
// variables). Several surfaces: the painter's rule is integrated exactly along lines parallel to the axis
// the normals point along most, on an M×M grid of lines across the other two axes.

/// Fraction of the box with edge lengths (wx, wy, wz) centred at the origin where d + n·x < 0.
func boxFractionInside(d: Double, nx: Double, ny: Double, nz: Double, wx: Double, wy: Double, wz: Double) -> Double {
    // n·x over the box is a sum of three uniforms on [−a_i/2, a_i/2], a_i = |n_i|·w_i.
    var a0 = abs(nx) * wx, a1 = abs(ny) * wy, a2 = abs(nz) * wz
    // Sort descending.
    if a0 < a1 { swap(&a0, &a1) }
    if a1 < a2 { swap(&a1, &a2) }
    if a0 < a1 { swap(&a0, &a1) }
    let total = a0 + a1 + a2
    // P(Σ V_i < t) with V_i uniform on [0, a_i] and t = total/2 − d.
    let t = total / 2 - d
    if t <= 0 { return 0 }
    if t >= total { return 1 }
    let eps = 1e-9 * max(total, 1e-300)
    if a1 <= eps {
        return clamp(t / a0, 0, 1)
    }
    if a2 <= eps {
        // Two uniforms: piecewise quadratic.
        func q(_ x: Double) -> Double { x > 0 ? x * x : 0 }
        let v = (q(t) - q(t - a0) - q(t - a1) + q(t - a0 - a1)) / (2 * a0 * a1)
        return clamp(v, 0, 1)
    }
    func c(_ x: Double) -> Double { x > 0 ? x * x * x : 0 }
    let v = (c(t) - c(t - a0) - c(t - a1) - c(t - a2) + c(t - a0 - a1) + c(t - a0 - a2) + c(t - a1 - a2)
        - c(t - a0 - a1 - a2)) / (6 * a0 * a1 * a2)
    return clamp(v, 0, 1)
}

/// Scratch space for one worker: the linear models of the surfaces in the current box.
struct PlaneSet {
    static let capacity = 48
    var count = 0
    let d: UnsafeMutablePointer<Double>
    let n0: UnsafeMutablePointer<Double>
    let n1: UnsafeMutablePointer<Double>
    let n2: UnsafeMutablePointer<Double>
    let hu: UnsafeMutablePointer<Double>
    let den: UnsafeMutablePointer<Double>
    let brk: UnsafeMutablePointer<Double>

    init() {
        d = .allocate(capacity: PlaneSet.capacity)
        n0 = .allocate(capacity: PlaneSet.capacity)
        n1 = .allocate(capacity: PlaneSet.capacity)
        n2 = .allocate(capacity: PlaneSet.capacity)
        hu = .allocate(capacity: PlaneSet.capacity)
        den = .allocate(capacity: PlaneSet.capacity)
        brk = .allocate(capacity: PlaneSet.capacity + 2)
    }
    func free() {
        d.deallocate(); n0.deallocate(); n1.deallocate(); n2.deallocate()
        hu.deallocate(); den.deallocate(); brk.deallocate()
    }

    /// Painter's-rule mean (hu, density) over a box of edge lengths w, planes ordered top (index 0) to
    /// bottom, `baseHU/baseDen` underneath; `lines` lines per transverse axis.
    func paintedMean(wx: Double, wy: Double, wz: Double, baseHU: Double, baseDen: Double, lines: Int) -> (Double, Double) {
        // Integration axis: the one the normals point along most.
        var sx = 0.0, sy = 0.0, sz = 0.0
        for i in 0..<count { sx += abs(n0[i]); sy += abs(n1[i]); sz += abs(n2[i]) }
        // Permute so that axis "a" is the integration axis and (b, c) the transverse ones.
        let axis: Int = (sx >= sy && sx >= sz) ? 0 : (sy >= sz ? 1 : 2)
        let wa: Double, wb: Double, wc: Double
        switch axis {
        case 0: wa = wx; wb = wy; wc = wz
        case 1: wa = wy; wb = wx; wc = wz
        default: wa = wz; wb = wx; wc = wy
        }
        let ha = wa / 2
        var sumHU = 0.0, sumDen = 0.0
        for lb in 0..<lines {
            let ob = ((Double(lb) + 0.5) / Double(lines) - 0.5) * wb
            for lc in 0..<lines {
                let oc = ((Double(lc) + 0.5) / Double(lines) - 0.5) * wc
                // Breakpoints along the line.
                var nb = 0
                brk[nb] = -ha; nb += 1
                for i in 0..<count {
                    let (na, nbv, ncv) = permuted(i, axis)
                    let off = d[i] + nbv * ob + ncv * oc
                    if na != 0 {
                        let t = -off / na
                        if t > -ha && t < ha { brk[nb] = t; nb += 1 }
                    }
                }
                brk[nb] = ha; nb += 1
                // Insertion sort (few entries).
                if nb > 3 {
                    for x in 2..<(nb - 1) {
                        let v = brk[x]
                        var y = x - 1
                        while y >= 1 && brk[y] > v { brk[y + 1] = brk[y]; y -= 1 }
                        brk[y + 1] = v
                    }
                }
                var lineHU = 0.0, lineDen = 0.0
                for sIdx in 0..<(nb - 1) {
                    let len = brk[sIdx + 1] - brk[sIdx]
                    if len <= 0 { continue }
                    let tm = (brk[sIdx + 1] + brk[sIdx]) / 2
                    var vh = baseHU, vd = baseDen
                    for i in 0..<count {
                        let (na, nbv, ncv) = permuted(i, axis)
                        if d[i] + nbv * ob + ncv * oc + na * tm < 0 { vh = hu[i]; vd = den[i]; break }
                    }
                    lineHU += len * vh
                    lineDen += len * vd
                }
                sumHU += lineHU / wa
                sumDen += lineDen / wa
            }
        }
        let nl = Double(lines * lines)
        return (sumHU / nl, sumDen / nl)
    }

    @inline(__always) private func permuted(_ i: Int, _ axis: Int) -> (Double, Double, Double) {
        switch axis {
        case 0: return (n0[i], n1[i], n2[i])
        case 1: return (n1[i], n0[i], n2[i])
        default: return (n2[i], n0[i], n1[i])
        }
    }
}
