// A proximal femur as a voxel FE model under a sideways fall or single-leg stance (ct-core.md §4).
//
// Frame: the femur is resampled onto an isotropic grid (default 1 mm) whose −Y axis is the direction of
// the force on the femoral head, so that the loading platen and the supports act on single DOFs:
//  - sideways fall (Courtney/Pinilla/Bouxsein set-up, ct-core.md §4.2): the shaft 10° to the ground
//    (distal end raised), the femur internally rotated 15°, the head pushed toward the ground, the
//    greater trochanter resting on it. In the femur's own frame "down" is the lateral direction
//    (perpendicular to the shaft, in the neck–shaft plane, toward the trochanter) turned 15° toward
//    posterior (internal rotation), then tilted 10° toward proximal (the raised knee);
//  - stance: the joint force on the head points distally and 20° laterally from the shaft axis in the
//    neck–shaft plane (Keyak 1998's stance configuration, ct-core.md §4.2 [recall]).
// Crop: from the top of the head to 20 mm below the lesser-trochanter apex along the shaft axis (the
// last 10 mm are the distal support); elements where the femur mask covers ≥ half the element
// (sub-sampled 3 × 3 × 3), the largest face-connected piece only.
// Caps (PMMA, E 2500 MPa, ν 0.3; Ogo and parosol-py, ct-core.md §4.2): on the head, every element
// within the head's radius of the load line whose height along −Y is within 5 mm of the head's top,
// plus a 2 mm layer above the top; in a fall, on the greater trochanter likewise at its lowest point.
// The cap elements fill the empty voxels there, bone keeps its own modulus.
// Supports: the head cap's top layer of nodes moves −δ along Y (δ = 1 mm; the platen is frictionless:
// X and Z free); fall: the trochanter cap's bottom nodes are held in Y, the distal 10 mm of the shaft
// in X and Z (free to slide down, as a pivot); stance: the distal 10 mm held in X, Y and Z.
// Material (selectable): K2HPO4 → ash density ρ_ash = 1.06·ρ_K2HPO4 + 38.9 mg/cm³ (Keyak 1994; density
// clamped at −31 mg/cm³ K2HPO4 → ash 6 mg/cm³, the marrow/soft floor) → E = 10500·ρ_ash^2.29 MPa
// (g/cm³); or Morgan 2003 femoral neck E = 6850·ρ_app^1.49 with ρ_app = ρ_ash / 0.6 (Schileo 2008). ν 0.3.
public import Imaging
import Foundation

public enum FemurLoadCase: String, Sendable, Codable, CaseIterable {
    case sidewaysFall = "sideways-fall", stance
}

public enum DensityModulusLaw: String, Sendable, Codable, CaseIterable {
    /// Keyak 1994 K2HPO4 → ash, E = 10500·ρ_ash^2.29 (Ogo, parosol-py defaults).
    case keyakAsh = "keyak-ash"
    /// Morgan 2003 femoral neck, E = 6850·ρ_app^1.49, ρ_app = ρ_ash / 0.6.
    case morganNeck = "morgan-neck"

    /// Young's modulus (MPa) from K2HPO4-equivalent density (mg/cm³).
    public func modulus(k2hpo4 rho: Double) -> Double {
        let ash = (1.06 * max(rho, -31) + 38.9) / 1000  // g/cm³
        switch self {
        case .keyakAsh: return 10500 * pow(ash, 2.29)
        case .morganNeck: return 6850 * pow(ash / 0.6, 1.49)
        }
    }

    public var text: String {
        switch self {
        case .keyakAsh: return "ρ_ash = 1.06·ρ_K2HPO4 + 38.9 mg/cm³ (Keyak 1994; ρ_K2HPO4 ≥ −31), E = 10500·ρ_ash^2.29 MPa (ρ in g/cm³), ν 0.3"
        case .morganNeck: return "ρ_ash = 1.06·ρ_K2HPO4 + 38.9 mg/cm³ (Keyak 1994), ρ_app = ρ_ash/0.6 (Schileo 2008), E = 6850·ρ_app^1.49 MPa (Morgan 2003, femoral neck), ν 0.3"
        }
    }
}

/// The femur's landmarks the model needs (LPS mm, unit directions).
public struct FemurLandmarks: Sendable {
    public var headCentre: Vec3
    public var headRadius: Double
    /// Head centre → neck–shaft junction (lateral).
    public var neckAxis: Vec3
    /// A point on the shaft axis and its direction toward the head.
    public var shaftPoint: Vec3
    public var shaftAxis: Vec3
    public var lesserTrochanter: Vec3?
    public init(headCentre: Vec3, headRadius: Double, neckAxis: Vec3, shaftPoint: Vec3, shaftAxis: Vec3, lesserTrochanter: Vec3?) {
        self.headCentre = headCentre; self.headRadius = headRadius; self.neckAxis = neckAxis.normalized
        self.shaftPoint = shaftPoint; self.shaftAxis = shaftAxis.normalized; self.lesserTrochanter = lesserTrochanter
    }
}

public struct FemurModel: Sendable {
    public var loadCase: FemurLoadCase
    public var law: DensityModulusLaw
    public var operatorK: StiffnessOperator
    public var conditions: BoundaryConditions
    /// Element roles: true for the bone (false: cap).
    public var isBone: [Bool]
    /// Nodes the head platen moves, the trochanter support's nodes, the distal support's nodes.
    public var loadNodes: [Int]
    public var trochanterNodes: [Int]
    public var distalNodes: [Int]
    /// Model frame: columns X, Y, Z in LPS (Y = −load direction); world = origin + R·(model).
    public var frame: Mat3
    public var frameOrigin: Vec3
    public var displacement_mm: Double
    public var notes: [String]

    static let capModulus = 2500.0
    static let capDepth = 5.0
    static let capThickness = 2.0
    static let distalSupport = 10.0
    static let belowLesserTrochanter = 20.0

    /// The direction of the force on the head (LPS, unit) for a load case, from the femur's axes.
    public static func loadDirection(_ f: FemurLandmarks, _ loadCase: FemurLoadCase) -> Vec3 {
        let s = f.shaftAxis
        // Lateral: the neck axis (head → trochanter) made perpendicular to the shaft.
        let lateral = (f.neckAxis - s * f.neckAxis.dot(s)).normalized
        switch loadCase {
        case .sidewaysFall:
            // Posterior is +y in LPS; made perpendicular to the shaft and the lateral direction.
            var posterior = Vec3(0, 1, 0) - s * s.y
            posterior = (posterior - lateral * posterior.dot(lateral)).normalized
            let deg = Double.pi / 180
            let ground = lateral * cos(15 * deg) + posterior * sin(15 * deg)
            return (ground * cos(10 * deg) + s * sin(10 * deg)).normalized
        case .stance:
            let deg = Double.pi / 180
            return (s * -cos(20 * deg) + lateral * sin(20 * deg)).normalized
        }
    }

    /// Builds the model. `density(q)`: K2HPO4-equivalent density (mg/cm³) of CT voxel q; `mask`: the
    /// CT label map with the femur as `value`.
    /// `equivalent`: the calibration's mineral equivalent; both laws start from K2HPO4-equivalent
    /// density (Keyak 1994's ash conversion is for K2HPO4), so anything else is refused.
    public static func build(mask: Volume<UInt8>, value: UInt8, density: (Int) -> Double, femur f: FemurLandmarks,
                             loadCase: FemurLoadCase, law: DensityModulusLaw = .keyakAsh, voxel h: Double = 1.0,
                             poisson: Double = 0.3, equivalent: String = "K2HPO4") throws(FESolverError) -> FemurModel {
        guard equivalent == "K2HPO4" else {
            throw .badInput("the density → modulus laws start from K2HPO4-equivalent density (Keyak 1994's ash conversion) and this CT is calibrated to \(equivalent): no finite-element model (calibrate with a K2HPO4 phantom or profile)")
        }
        guard h >= 0.5, h <= 3 else { throw .badInput("voxel size \(h) mm: use 0.5–3 mm (0.7, 1.0, 1.5 or 2.0 are usual)") }
        var notes: [String] = []
        let down = loadDirection(f, loadCase)
        // Model frame: Y = −down; X perpendicular to Y in the plane of Y and the shaft; Z = X × Y.
        let Y = down * -1
        var Xv = f.shaftAxis - Y * f.shaftAxis.dot(Y)
        if Xv.length < 1e-6 { Xv = Vec3(1, 0, 0) - Y * Y.x }
        let X = Xv.normalized, Z = X.cross(Y).normalized
        let R = Mat3(columns: X, Y, Z)
        // The femur voxels inside the crop (head top to 20 mm below the lesser trochanter along the shaft).
        let g = mask.geometry, nx = mask.size.x, ny = mask.size.y, plane = nx * ny
        let lt = f.lesserTrochanter ?? (f.headCentre - f.shaftAxis * 50)
        let cutS = (lt - f.shaftPoint).dot(f.shaftAxis) - belowLesserTrochanter
        var lo = Vec3(.infinity, .infinity, .infinity), hi = Vec3(-.infinity, -.infinity, -.infinity)
        var lowestS = Double.infinity
        for q in 0..<mask.voxels.count where mask.voxels[q] == value {
            let p = g.world(Double(q % nx), Double((q / nx) % mask.size.y), Double(q / plane))
            let sAlong = (p - f.shaftPoint).dot(f.shaftAxis)
            lowestS = min(lowestS, sAlong)
            guard sAlong >= cutS else { continue }
            let m = R.transposed * (p - f.headCentre)
            lo = Vec3(min(lo.x, m.x), min(lo.y, m.y), min(lo.z, m.z)); hi = Vec3(max(hi.x, m.x), max(hi.y, m.y), max(hi.z, m.z))
        }
        guard lo.x.isFinite else { throw .badInput("the femur mask is empty") }
        if lowestS > cutS + 1 {
            notes.append(String(format: "the scan ends %.0f mm short of 20 mm below the lesser trochanter: the model is cut where the mask ends", lowestS - cutS))
        }
        let effectiveCut = max(cutS, lowestS)
        // Grid in the model frame, padded for the caps.
        let pad = capThickness + 2 * h + 2
        lo = lo - Vec3(pad, pad, pad); hi = hi + Vec3(pad, pad, pad)
        let mx = Int(((hi.x - lo.x) / h).rounded(.up)), my = Int(((hi.y - lo.y) / h).rounded(.up)), mz = Int(((hi.z - lo.z) / h).rounded(.up))
        guard mx * my * mz < 60_000_000 else { throw .badInput("model grid \(mx)×\(my)×\(mz) at \(h) mm is too large; use a larger --voxel") }
        // Sample: mask fraction (3 × 3 × 3 nearest samples) and mean density (trilinear at the same points).
        var frac = [Float](repeating: 0, count: mx * my * mz)
        var rho = [Float](repeating: 0, count: mx * my * mz)
        let sub = 3
        for k in 0..<mz { for j in 0..<my { for i in 0..<mx {
            var inside = 0, sum = 0.0
            for s in 0..<(sub * sub * sub) {
                let a = (Double(s % sub) + 0.5) / Double(sub), b = (Double((s / sub) % sub) + 0.5) / Double(sub), c = (Double(s / (sub * sub)) + 0.5) / Double(sub)
                let m = lo + Vec3((Double(i) + a) * h, (Double(j) + b) * h, (Double(k) + c) * h)
                let p = f.headCentre + R * m
                guard (p - f.shaftPoint).dot(f.shaftAxis) >= effectiveCut, let idx = g.index(of: p) else { continue }
                let ii = Int(idx.x.rounded()), jj = Int(idx.y.rounded()), kk = Int(idx.z.rounded())
                guard ii >= 0, jj >= 0, kk >= 0, ii < nx, jj < mask.size.y, kk < mask.size.z else { continue }
                if mask.voxels[ii + nx * jj + plane * kk] == value {
                    inside += 1
                    sum += trilinear(density, idx, nx: nx, ny: mask.size.y, nz: mask.size.z)
                }
            }
            let v = i + mx * (j + my * k)
            frac[v] = Float(inside) / Float(sub * sub * sub)
            rho[v] = inside > 0 ? Float(sum / Double(inside)) : 0
        } } }
        // Bone elements: ≥ half covered; the largest face-connected piece.
        var bone = frac.map { $0 >= 0.5 }
        keepLargestPiece(&bone, mx, my, mz)
        // Caps in the model frame: head top = highest bone Y near the load line; trochanter = lowest.
        let centreM = R.transposed * (f.headCentre - f.headCentre) - lo  // head centre in grid mm
        func center(_ v: Int) -> Vec3 { Vec3((Double(v % mx) + 0.5) * h, (Double((v / mx) % my) + 0.5) * h, (Double(v / (mx * my)) + 0.5) * h) }
        var headTop = -Double.infinity, trochBottom = Double.infinity
        var trochXZ = Vec3.zero
        for v in 0..<bone.count where bone[v] {
            let c = center(v)
            let rXZ = ((c.x - centreM.x) * (c.x - centreM.x) + (c.z - centreM.z) * (c.z - centreM.z)).squareRoot()
            if rXZ <= f.headRadius { headTop = max(headTop, c.y) }
            if c.y < trochBottom { trochBottom = c.y; trochXZ = c }
        }
        guard headTop.isFinite else { throw .badInput("no bone on the load line through the femoral head") }
        var modulus = [Double](repeating: 0, count: mx * my * mz)
        var isCap = [Bool](repeating: false, count: mx * my * mz)
        for v in 0..<modulus.count {
            let c = center(v)
            if bone[v] { modulus[v] = law.modulus(k2hpo4: Double(rho[v])) }
            let rHead = ((c.x - centreM.x) * (c.x - centreM.x) + (c.z - centreM.z) * (c.z - centreM.z)).squareRoot()
            let rTroch = ((c.x - trochXZ.x) * (c.x - trochXZ.x) + (c.z - trochXZ.z) * (c.z - trochXZ.z)).squareRoot()
            let inHeadCap = rHead <= f.headRadius && c.y >= headTop - capDepth && c.y <= headTop + capThickness
            // The trochanter rests on the ground only in a fall; in stance the lowest bone is the cut shaft.
            let inTrochCap = loadCase == .sidewaysFall && rTroch <= f.headRadius && c.y <= trochBottom + capDepth && c.y >= trochBottom - capThickness
            if (inHeadCap || inTrochCap) && !bone[v] { modulus[v] = capModulus; isCap[v] = true }
        }
        let mesh = VoxelMesh(h: h, nx: mx, ny: my, nz: mz, origin: Vec3.zero, modulus: modulus)
        let op = StiffnessOperator(mesh: mesh, material: ElasticMaterial(poisson: poisson))
        var bc = BoundaryConditions(dofCount: mesh.dofCount)
        // Node heights (grid j) of the cap surfaces.
        let topJ = (0..<mesh.elementCount).filter { isCap[Int(mesh.elementVoxel[$0])] && center(Int(mesh.elementVoxel[$0])).y > headTop - capDepth }
            .map { Int(mesh.elementVoxel[$0]) / mx % my + 1 }.max() ?? 0
        let bottomJ = (0..<mesh.elementCount).filter { isCap[Int(mesh.elementVoxel[$0])] && center(Int(mesh.elementVoxel[$0])).y < trochBottom + capDepth }
            .map { Int(mesh.elementVoxel[$0]) / mx % my }.min() ?? 0
        var loadNodes: [Int] = [], trochNodes: [Int] = [], distalNodes: [Int] = []
        let delta = 1.0
        for n in 0..<mesh.nodeCount {
            let (i, j, k) = mesh.nodeGrid(n)
            let p = Vec3(Double(i) * h, Double(j) * h, Double(k) * h)
            let rHead = ((p.x - centreM.x) * (p.x - centreM.x) + (p.z - centreM.z) * (p.z - centreM.z)).squareRoot()
            if j == topJ && rHead <= f.headRadius + h { loadNodes.append(n); bc.fix(node: n, component: 1, value: -delta) }
            if loadCase == .sidewaysFall {
                let rT = ((p.x - trochXZ.x) * (p.x - trochXZ.x) + (p.z - trochXZ.z) * (p.z - trochXZ.z)).squareRoot()
                if j == bottomJ && rT <= f.headRadius + h { trochNodes.append(n); bc.fix(node: n, component: 1) }
            }
            let world = f.headCentre + R * (p + lo)
            if (world - f.shaftPoint).dot(f.shaftAxis) <= effectiveCut + distalSupport {
                distalNodes.append(n)
                bc.fix(node: n, component: 0); bc.fix(node: n, component: 2)
                if loadCase == .stance { bc.fix(node: n, component: 1) }
            }
        }
        guard !loadNodes.isEmpty else { throw .badInput("no nodes on the head cap's top") }
        guard loadCase == .stance || !trochNodes.isEmpty else { throw .badInput("no nodes under the greater trochanter's cap") }
        guard !distalNodes.isEmpty else { throw .badInput("no distal shaft to hold") }
        let isBone = (0..<mesh.elementCount).map { !isCap[Int(mesh.elementVoxel[$0])] }
        return FemurModel(loadCase: loadCase, law: law, operatorK: op, conditions: bc, isBone: isBone, loadNodes: loadNodes,
                          trochanterNodes: trochNodes, distalNodes: distalNodes, frame: R, frameOrigin: f.headCentre + R * lo,
                          displacement_mm: delta, notes: notes)
    }

    static func trilinear(_ density: (Int) -> Double, _ f: Vec3, nx: Int, ny: Int, nz: Int) -> Double {
        let i0 = max(0, min(nx - 2, Int(f.x.rounded(.down)))), j0 = max(0, min(ny - 2, Int(f.y.rounded(.down)))), k0 = max(0, min(nz - 2, Int(f.z.rounded(.down))))
        let fx = max(0, min(1, f.x - Double(i0))), fy = max(0, min(1, f.y - Double(j0))), fz = max(0, min(1, f.z - Double(k0)))
        var r = 0.0
        for dk in 0...1 { for dj in 0...1 { for di in 0...1 {
            let w = (di == 0 ? 1 - fx : fx) * (dj == 0 ? 1 - fy : fy) * (dk == 0 ? 1 - fz : fz)
            if w > 0 { r += w * density((i0 + di) + nx * ((j0 + dj) + ny * (k0 + dk))) }
        } } }
        return r
    }

    /// Keeps the largest face-connected piece of a 3-D mask.
    static func keepLargestPiece(_ m: inout [Bool], _ nx: Int, _ ny: Int, _ nz: Int) {
        var label = [Int32](repeating: 0, count: m.count)
        var best = (id: Int32(0), size: 0), next: Int32 = 0
        var stack: [Int] = []
        for s in 0..<m.count where m[s] && label[s] == 0 {
            next += 1
            label[s] = next
            stack.append(s)
            var size = 0
            while let q = stack.popLast() {
                size += 1
                let i = q % nx, j = (q / nx) % ny, k = q / (nx * ny)
                for (ok, n) in [(i > 0, q - 1), (i < nx - 1, q + 1), (j > 0, q - nx), (j < ny - 1, q + nx), (k > 0, q - nx * ny), (k < nz - 1, q + nx * ny)]
                where ok && m[n] && label[n] == 0 {
                    label[n] = next; stack.append(n)
                }
            }
            if size > best.size { best = (next, size) }
        }
        for q in 0..<m.count where m[q] && label[q] != best.id { m[q] = false }
    }
}
