// Solving a femur model and what comes out of it: stiffness, the force on the head, femoral strength
// by a Pistoia-type criterion, the low-strength flag, and per-element strain fields.
//
// Pistoia et al. (Bone 2002;30:842; ct-core.md §4.3): energy-equivalent strain EES = √(2·SED/E) per bone
// element; failure load = reaction × ε_crit / EES at the (100 − V_crit) percentile. Defaults V_crit 2 %,
// ε_crit 0.7 % come from HR-pQCT of the distal radius and are NOT calibrated for clinical CT of the hip:
// the strength is a relative index until recalibrated (ct-core.md §4.3).
// Low femoral strength: < 3000 N in women in a sideways fall (Keaveny 2010, ct-core.md §4.4).
import Foundation
public import Imaging

public struct FemurFEResult: Codable, Sendable, Equatable {
    /// left or right, set by the caller.
    public var side: String?
    public var loadCase: String
    public var law: String
    public var voxel_mm: Double
    public var elements: Int
    public var boneElements: Int
    public var nodes: Int
    public var dofs: Int
    public var iterations: Int
    public var relativeResidual: Double
    public var converged: Bool
    public var solveSeconds: Double
    public var appliedDisplacement_mm: Double
    /// Force on the head for the applied displacement (N) and the stiffness (N/mm).
    public var reactionForce_N: Double
    public var stiffness_N_per_mm: Double
    /// Sum of all support reactions along the load (N): ≈ 0 (equilibrium check).
    public var equilibriumError_N: Double
    public var strength_N: Double?
    public var criticalVolume_percent: Double
    public var criticalStrain: Double
    public var criticalEES: Double?
    /// Strength < 3000 N (women, sideways fall); nil unless the criterion is declared calibrated.
    public var lowStrength: Bool?
    public var lowStrengthThreshold_N: Double?
    /// Load direction on the head (LPS unit vector).
    public var loadDirection: [Double]
    public var boundaryConditions: String
    public var caveats: [String]
    public var notes: [String]
}

/// Per bone element: centre (LPS mm), max and min principal strain, equivalent strain (EES), in strain (not µε).
public struct FemurStrainField: Sendable {
    public var centres: [Vec3]
    public var maxPrincipal: [Float]
    public var minPrincipal: [Float]
    public var equivalent: [Float]
}

extension FemurModel {
    public static let lowStrengthWomen_N = 3000.0

    public var boundaryText: String {
        switch loadCase {
        case .sidewaysFall:
            return "sideways fall: shaft 10° to the ground (distal end raised), 15° internal rotation; the head cap's top nodes displaced \(displacement_mm) mm toward the ground (frictionless platen: only that component set), the greater-trochanter cap's lowest nodes held along the load, the distal 10 mm of the shaft held across it (free to slide along the load); PMMA caps E 2500 MPa, 5 mm into the bone + 2 mm above it"
        case .stance:
            return "single-leg stance: load on the head 20° lateral of the shaft axis toward distal; the head cap's top nodes displaced \(displacement_mm) mm along the load (frictionless platen), the distal 10 mm of the shaft fixed in x, y, z; PMMA cap E 2500 MPa"
        }
    }

    /// Solves and post-processes.
    /// `criterionCalibrated`: the caller vouches that the critical volume and strain were calibrated
    /// against experimental failure loads of femora on clinical CT; only then is the low-strength flag
    /// (< 3000 N, a threshold set on the cadaver scale) applied.
    public func analyse(tolerance: Double = 1e-6, preconditioner: Preconditioner = .multigrid, criticalVolume: Double = 2, criticalStrain: Double = 0.007,
                        criterionCalibrated: Bool = false,
                        progress: (Int, Double) -> Void = { _, _ in }) throws(FESolverError) -> (FemurFEResult, FemurStrainField, Solution) {
        let s = try FESolver.solve(operatorK, conditions, tolerance: tolerance, preconditioner: preconditioner, progress: progress)
        let m = operatorK.mesh
        // The force the platen applies: minus the reactions along Y at the load nodes.
        let force = -loadNodes.reduce(0.0) { $0 + s.reaction[3 * $1 + 1] }
        var ySum = 0.0
        for n in 0..<m.nodeCount { ySum += s.reaction[3 * n + 1] }
        var centres: [Vec3] = [], maxP: [Float] = [], minP: [Float] = [], ees: [Float] = []
        let volume = m.h * m.h * m.h
        for e in 0..<m.elementCount where isBone[e] {
            let eps = operatorK.centreStrain(element: e, displacement: s.displacement)
            let (p1, _, p3) = Self.principal(eps)
            let u = operatorK.strainEnergy(element: e, displacement: s.displacement)
            centres.append(frameOrigin + frame * m.centre(ofElement: e))
            maxP.append(Float(p1)); minP.append(Float(p3))
            ees.append(Float((2 * u / volume / m.modulus[e]).squareRoot()))
        }
        let sorted = ees.sorted(by: >)
        let index = min(sorted.count - 1, Int((criticalVolume / 100 * Double(sorted.count)).rounded(.down)))
        let critical = sorted.isEmpty ? nil : Double(sorted[max(0, index)])
        let strength = critical.flatMap { $0 > 0 ? abs(force) * criticalStrain / $0 : nil }
        var caveats = ["the Pistoia criterion's \(criticalVolume) % / \(criticalStrain * 100) % defaults come from HR-pQCT of the distal radius and are not calibrated for clinical CT of the hip: the strength is an index until recalibrated against experiments",
                       "linear elastic model: no yield or post-yield behaviour; boundary conditions change predicted stiffness by tens of percent between published set-ups (Rossman 2015)"]
        if !s.converged { caveats.append(String(format: "the solver stopped at a relative residual of %.1e (target %.0e): values are approximate", s.relativeResidual, tolerance)) }
        let low: Bool? = loadCase == .sidewaysFall && criterionCalibrated ? strength.map { $0 < Self.lowStrengthWomen_N } : nil
        var notes = self.notes
        if loadCase == .sidewaysFall && !criterionCalibrated {
            notes.append("low-strength flag (< 3000 N, Keaveny 2010) not applied: that threshold is on the cadaver scale and this strength index is not calibrated to it")
        }
        let direction = frame * Vec3(0, -1, 0)
        let result = FemurFEResult(
            side: nil, loadCase: loadCase.rawValue, law: law.text, voxel_mm: m.h, elements: m.elementCount, boneElements: ees.count, nodes: m.nodeCount,
            dofs: m.dofCount, iterations: s.iterations, relativeResidual: s.relativeResidual, converged: s.converged, solveSeconds: s.seconds,
            appliedDisplacement_mm: displacement_mm, reactionForce_N: abs(force), stiffness_N_per_mm: abs(force) / displacement_mm,
            equilibriumError_N: ySum, strength_N: strength, criticalVolume_percent: criticalVolume, criticalStrain: criticalStrain,
            criticalEES: critical, lowStrength: low, lowStrengthThreshold_N: loadCase == .sidewaysFall ? Self.lowStrengthWomen_N : nil,
            loadDirection: direction.array, boundaryConditions: boundaryText, caveats: caveats, notes: notes)
        return (result, FemurStrainField(centres: centres, maxPrincipal: maxP, minPrincipal: minP, equivalent: ees), s)
    }

    /// Principal strains (descending) of a Voigt strain with engineering shears, by the trigonometric
    /// solution of the symmetric 3 × 3 eigenproblem.
    public static func principal(_ e: [Double]) -> (Double, Double, Double) {
        let a = e[0], b = e[1], c = e[2], d = e[3] / 2, f = e[4] / 2, g = e[5] / 2  // xy, yz, zx
        let p1 = d * d + f * f + g * g
        if p1 == 0 { let s = [a, b, c].sorted(by: >); return (s[0], s[1], s[2]) }
        let q = (a + b + c) / 3
        let p2 = (a - q) * (a - q) + (b - q) * (b - q) + (c - q) * (c - q) + 2 * p1
        let p = (p2 / 6).squareRoot()
        // B = (A − qI)/p; r = det(B)/2
        let b11 = (a - q) / p, b22 = (b - q) / p, b33 = (c - q) / p, b12 = d / p, b23 = f / p, b13 = g / p
        let det = b11 * (b22 * b33 - b23 * b23) - b12 * (b12 * b33 - b23 * b13) + b13 * (b12 * b23 - b22 * b13)
        let r = max(-1, min(1, det / 2))
        let phi = acos(r) / 3
        let l1 = q + 2 * p * cos(phi), l3 = q + 2 * p * cos(phi + 2 * .pi / 3)
        return (l1, 3 * q - l1 - l3, l3)
    }
}
