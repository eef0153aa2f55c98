// Implicit shapes: each is a function f(p) whose zero set is the surface, negative inside, and whose
// gradient is at most 1 in magnitude (1-Lipschitz). Then |f(p)| never exceeds the true distance to the
// surface, which is what lets the rasterizer skip whole blocks of voxels safely: if |f(centre)| is larger
// than a block's half-diagonal, the surface cannot cross the block.
// For a convex set with gauge (Minkowski functional) g about a centre and inradius ρ there, f = (g − 1)·ρ
// is such a function; that is how ellipses, ellipsoids and superellipses are written below.
import Imaging

/// Axis-aligned bounding box in patient coordinates (LPS, mm).
struct Box: Sendable {
    var lo: Vec3
    var hi: Vec3

    static let everything = Box(lo: Vec3(-1e9, -1e9, -1e9), hi: Vec3(1e9, 1e9, 1e9))
    static let empty = Box(lo: Vec3(1e9, 1e9, 1e9), hi: Vec3(-1e9, -1e9, -1e9))

    init(lo: Vec3, hi: Vec3) { self.lo = lo; self.hi = hi }
    init(center c: Vec3, half h: Vec3) { lo = c - h; hi = c + h }
    init(points: [Vec3], pad: Double) {
        var b = Box.empty
        for p in points { b = b.including(p) }
        self = b.expanded(pad)
    }

    func including(_ p: Vec3) -> Box {
        Box(lo: Vec3(min(lo.x, p.x), min(lo.y, p.y), min(lo.z, p.z)),
            hi: Vec3(max(hi.x, p.x), max(hi.y, p.y), max(hi.z, p.z)))
    }
    func union(_ b: Box) -> Box {
        Box(lo: Vec3(min(lo.x, b.lo.x), min(lo.y, b.lo.y), min(lo.z, b.lo.z)),
            hi: Vec3(max(hi.x, b.hi.x), max(hi.y, b.hi.y), max(hi.z, b.hi.z)))
    }
    func intersection(_ b: Box) -> Box {
        Box(lo: Vec3(max(lo.x, b.lo.x), max(lo.y, b.lo.y), max(lo.z, b.lo.z)),
            hi: Vec3(min(hi.x, b.hi.x), min(hi.y, b.hi.y), min(hi.z, b.hi.z)))
    }
    func expanded(_ d: Double) -> Box { Box(lo: lo - Vec3(d, d, d), hi: hi + Vec3(d, d, d)) }
    var isEmpty: Bool { lo.x > hi.x || lo.y > hi.y || lo.z > hi.z }
    @inline(__always) func intersects(_ b: Box) -> Bool {
        lo.x <= b.hi.x && hi.x >= b.lo.x && lo.y <= b.hi.y && hi.y >= b.lo.y && lo.z <= b.hi.z && hi.z >= b.lo.z
    }
    @inline(__always) func contains(_ p: Vec3) -> Bool {
        p.x >= lo.x && p.x <= hi.x && p.y >= lo.y && p.y <= hi.y && p.z >= lo.z && p.z <= hi.z
    }
}

/// An implicit solid with a bounding box that contains all of it.
struct Shape: Sendable {
    var bounds: Box
    let f: @Sendable (Vec3) -> Double

    init(bounds: Box, _ f: @escaping @Sendable (Vec3) -> Double) {
        self.bounds = bounds
        self.f = f
    }

    @inline(__always) func callAsFunction(_ p: Vec3) -> Double { f(p) }
    @inline(__always) func contains(_ p: Vec3) -> Bool { f(p) < 0 }

    // MARK: combinators (min/max keep the 1-Lipschitz property)

    func union(_ o: Shape) -> Shape {
        let a = f, b = o.f
        return Shape(bounds: bounds.union(o.bounds)) { p in min(a(p), b(p)) }
    }
    func intersection(_ o: Shape) -> Shape {
        let a = f, b = o.f
        return Shape(bounds: bounds.intersection(o.bounds)) { p in max(a(p), b(p)) }
    }
    func subtracting(_ o: Shape) -> Shape {
        let a = f, b = o.f
        return Shape(bounds: bounds) { p in max(a(p), -b(p)) }
    }
    /// Polynomial smooth minimum (blend radius k mm); its gradient is a convex combination of the two.
    func smoothUnion(_ o: Shape, k: Double) -> Shape {
        let a = f, b = o.f
        return Shape(bounds: bounds.union(o.bounds).expanded(k * 0.25)) { p in
            let da = a(p), db = b(p)
            let h = max(k - abs(da - db), 0) / k
            return min(da, db) - h * h * k * 0.25
        }
    }
    /// Grown (r > 0) or shrunk (r < 0) by r mm along the distance field.
    func offset(_ r: Double) -> Shape {
        let a = f
        return Shape(bounds: r > 0 ? bounds.expanded(r) : bounds) { p in a(p) - r }
    }
    /// Clipped to a bounding box (keeps the shape, tightens the bounds it reports).
    func clipped(to b: Box) -> Shape {
        let a = f
        let box = Shape.box(b)
        let bf = box.f
        return Shape(bounds: bounds.intersection(b)) { p in max(a(p), bf(p)) }
    }

    static func union(_ shapes: [Shape]) -> Shape {
        guard var s = shapes.first else { return Shape.nothing }
        for o in shapes.dropFirst() { s = s.union(o) }
        return s
    }

    static let nothing = Shape(bounds: Box.empty) { _ in 1e9 }

    // MARK: primitives

    static func sphere(_ c: Vec3, _ r: Double) -> Shape {
        Shape(bounds: Box(center: c, half: Vec3(r, r, r))) { p in (p - c).length - r }
    }

    /// Axis-aligned box (exact distance).
    static func box(_ b: Box) -> Shape {
        let c = (b.lo + b.hi) * 0.5, h = (b.hi - b.lo) * 0.5
        return Shape(bounds: b) { p in
            let qx = abs(p.x - c.x) - h.x, qy = abs(p.y - c.y) - h.y, qz = abs(p.z - c.z) - h.z
            let ox = max(qx, 0), oy = max(qy, 0), oz = max(qz, 0)
            return (ox * ox + oy * oy + oz * oz).squareRoot() + min(max(qx, max(qy, qz)), 0)
        }
    }

    /// Box with half sizes `half` in an orthonormal frame, edges rounded by `round` mm.
    static func orientedBox(_ frame: Frame, half: Vec3, round: Double = 0) -> Shape {
        let hx = half.x - round, hy = half.y - round, hz = half.z - round
        return Shape(bounds: frame.bounds(half: half)) { p in
            let q = frame.local(p)
            let qx = abs(q.x) - hx, qy = abs(q.y) - hy, qz = abs(q.z) - hz
            let ox = max(qx, 0), oy = max(qy, 0), oz = max(qz, 0)
            return (ox * ox + oy * oy + oz * oz).squareRoot() + min(max(qx, max(qy, qz)), 0) - round
        }
    }

    /// Ellipsoid with semi-axes (a, b, c) along the frame axes (u, v, w).
    static func ellipsoid(_ frame: Frame, _ a: Double, _ b: Double, _ c: Double) -> Shape {
        let rho = min(a, min(b, c))
        return Shape(bounds: frame.bounds(half: Vec3(a, b, c))) { p in
            let q = frame.local(p)
            let g = ((q.x / a) * (q.x / a) + (q.y / b) * (q.y / b) + (q.z / c) * (q.z / c)).squareRoot()
            return (g - 1) * rho
        }
    }

    /// Capsule around segment a→b with radius varying linearly from ra to rb ("rounded cone").
    static func capsule(_ a: Vec3, _ b: Vec3, _ ra: Double, _ rb: Double? = nil) -> Shape {
        let rb = rb ?? ra
        let ab = b - a
        let len2 = max(ab.dot(ab), 1e-12)
        let len = len2.squareRoot()
        // Radius slope makes the function (1 + |Δr|/L)-Lipschitz; divide to stay conservative.
        let k = 1 / (1 + abs(rb - ra) / len)
        let rmax = max(ra, rb)
        return Shape(bounds: Box(points: [a, b], pad: rmax)) { p in
            let ap = p - a
            let t = clamp(ap.dot(ab) / len2, 0, 1)
            let d = (ap - ab * t).length
            return (d - (ra + (rb - ra) * t)) * k
        }
    }

    /// Capsules along a polyline, radius per vertex.
    static func tube(_ pts: [Vec3], _ radii: [Double]) -> Shape {
        var parts: [Shape] = []
        for i in 0..<(pts.count - 1) { parts.append(capsule(pts[i], pts[i + 1], radii[i], radii[i + 1])) }
        return union(parts)
    }

    /// A triangle thickened by a radius interpolated from its vertices (a "plate").
    static func plate(_ v0: Vec3, _ v1: Vec3, _ v2: Vec3, _ r0: Double, _ r1: Double, _ r2: Double) -> Shape {
        let rmax = max(r0, max(r1, r2))
        // Radius gradient across the triangle bounds the Lipschitz constant: 1 + |∇r|.
        let e1 = v1 - v0, e2 = v2 - v0
        let n = e1.cross(e2)
        let area2 = max(n.length, 1e-9)
        // |∇r| on the triangle plane: from barycentric gradients.
        let gr = ((e2.cross(n) * (r1 - r0) + n.cross(e1) * (r2 - r0)) / (area2 * area2)).length
        let k = 1 / (1 + gr)
        let tri = Triangle(v0, v1, v2)
        return Shape(bounds: Box(points: [v0, v1, v2], pad: rmax)) { p in
            let (q, w0, w1, w2) = tri.closest(p)
            return ((p - q).length - (w0 * r0 + w1 * r1 + w2 * r2)) * k
        }
    }

    /// A quad (v0 v1 v2 v3 in order) thickened by per-vertex radii: two plates.
    static func quadPlate(_ v: [Vec3], _ r: [Double]) -> Shape {
        plate(v[0], v[1], v[2], r[0], r[1], r[2]).union(plate(v[0], v[2], v[3], r[0], r[2], r[3]))
    }

    /// Half-space n·(p − p0) > 0 is outside (n need not be unit).
    static func halfSpace(point p0: Vec3, outward n: Vec3, bounds: Box = .everything) -> Shape {
        let u = n.normalized
        return Shape(bounds: bounds) { p in (p - p0).dot(u) }
    }
}

/// An orthonormal frame: origin and three unit axes.
struct Frame: Sendable {
    let origin: Vec3
    let u: Vec3
    let v: Vec3
    let w: Vec3

    init(origin: Vec3, u: Vec3, v: Vec3, w: Vec3) {
        self.origin = origin; self.u = u; self.v = v; self.w = w
    }
    /// Frame with w along `axis` and u as close as possible to `hint`.
    init(origin: Vec3, axis: Vec3, hint: Vec3) {
        let w = axis.normalized
        var u = hint - w * hint.dot(w)
        if u.length < 1e-9 { u = abs(w.x) < 0.9 ? Vec3(1, 0, 0) : Vec3(0, 1, 0); u = u - w * u.dot(w) }
        let uu = u.normalized
        self.init(origin: origin, u: uu, v: w.cross(uu), w: w)
    }
    static func axisAligned(_ o: Vec3) -> Frame { Frame(origin: o, u: Vec3(1, 0, 0), v: Vec3(0, 1, 0), w: Vec3(0, 0, 1)) }

    @inline(__always) func local(_ p: Vec3) -> Vec3 {
        let d = p - origin
        return Vec3(d.dot(u), d.dot(v), d.dot(w))
    }
    @inline(__always) func world(_ a: Double, _ b: Double, _ c: Double) -> Vec3 { origin + u * a + v * b + w * c }
    func bounds(half h: Vec3) -> Box {
        let ex = abs(u.x) * h.x + abs(v.x) * h.y + abs(w.x) * h.z
        let ey = abs(u.y) * h.x + abs(v.y) * h.y + abs(w.y) * h.z
        let ez = abs(u.z) * h.x + abs(v.z) * h.y + abs(w.z) * h.z
        return Box(center: origin, half: Vec3(ex, ey, ez))
    }
}

/// A triangle with the closest-point query (Ericson, Real-Time Collision Detection, §5.1.5).
struct Triangle: Sendable {
    let a: Vec3, b: Vec3, c: Vec3
    init(_ a: Vec3, _ b: Vec3, _ c: Vec3) { self.a = a; self.b = b; self.c = c }

    /// Closest point and its barycentric weights (for a, b, c).
    func closest(_ p: Vec3) -> (Vec3, Double, Double, Double) {
        let ab = b - a, ac = c - a, ap = p - a
        let d1 = ab.dot(ap), d2 = ac.dot(ap)
        if d1 <= 0 && d2 <= 0 { return (a, 1, 0, 0) }
        let bp = p - b
        let d3 = ab.dot(bp), d4 = ac.dot(bp)
        if d3 >= 0 && d4 <= d3 { return (b, 0, 1, 0) }
        let vc = d1 * d4 - d3 * d2
        if vc <= 0 && d1 >= 0 && d3 <= 0 {
            let t = d1 / (d1 - d3)
            return (a + ab * t, 1 - t, t, 0)
        }
        let cp = p - c
        let d5 = ab.dot(cp), d6 = ac.dot(cp)
        if d6 >= 0 && d5 <= d6 { return (c, 0, 0, 1) }
        let vb = d5 * d2 - d1 * d6
        if vb <= 0 && d2 >= 0 && d6 <= 0 {
            let t = d2 / (d2 - d6)
            return (a + ac * t, 1 - t, 0, t)
        }
        let va = d3 * d6 - d5 * d4
        if va <= 0 && (d4 - d3) >= 0 && (d5 - d6) >= 0 {
            let t = (d4 - d3) / ((d4 - d3) + (d5 - d6))
            return (b + (c - b) * t, 0, 1 - t, t)
        }
        let denom = 1 / (va + vb + vc)
        let v = vb * denom, w = vc * denom
        return (a + ab * v + ac * w, 1 - v - w, v, w)
    }
}

/// A generalised cylinder: along the frame's w axis, for s in [s0, s1], an ellipse with semi-axes
/// a(s) (along u) and b(s) (along v) centred at (cu(s), cv(s)). `maxSlope` bounds the derivative of
/// the profile functions; the in-plane part is divided by √(1 + slope²) to stay 1-Lipschitz.
struct EllipticSweep: Sendable {
    let frame: Frame
    let s0: Double
    let s1: Double
    let a: @Sendable (Double) -> Double
    let b: @Sendable (Double) -> Double
    let cu: @Sendable (Double) -> Double
    let cv: @Sendable (Double) -> Double
    let maxSlope: Double
    let maxRadius: Double

    func shape() -> Shape {
        let fr = frame, s0 = s0, s1 = s1, a = a, b = b, cu = cu, cv = cv
        let k = 1 / (1 + maxSlope * maxSlope).squareRoot()
        let mid = (s0 + s1) / 2, half = (s1 - s0) / 2
        let bounds = Frame(origin: fr.world(0, 0, mid), u: fr.u, v: fr.v, w: fr.w)
            .bounds(half: Vec3(maxRadius, maxRadius, half))
        return Shape(bounds: bounds) { p in
            let q = fr.local(p)
            let s = clamp(q.z, s0, s1)
            let aa = a(s), bb = b(s)
            let x = (q.x - cu(s)) / aa, y = (q.y - cv(s)) / bb
            let g = (x * x + y * y).squareRoot()
            let radial = (g - 1) * min(aa, bb) * k
            let axial = abs(q.z - mid) - half
            return max(radial, axial)
        }
    }
}
