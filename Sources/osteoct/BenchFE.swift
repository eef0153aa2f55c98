import ArgumentParser
import BoneFE
import DICOM
import Dispatch
import Foundation
import Imaging
import QCT

/// `osteoct bench fe`: the finite-element solver on voxel blocks of ≈ 650 k and 1 M DOFs and, given a
/// study, on its femur at 1 mm: time, iterations, time per iteration, one matrix-free product, memory.
struct BenchFE: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fe",
        abstract: "Time the finite-element solver on voxel blocks (≈ 650 k and 1 M DOFs) and a femur.",
        discussion: """
            Blocks: N³ elements of 1 mm (N = 60: 666,000 DOFs, the size CalculiX's table in
            reference/dicom-perf.md §4.3 uses; N = 69: 1.03 M DOFs) with a smooth heterogeneous modulus
            field of 100–15,100 MPa, base fixed, top pressed 1 % along z. With STUDY, also its left (else
            right) femur at 1 mm in a sideways fall. Reported per model: DOFs, build and solve seconds,
            iterations, seconds per iteration, the time of one matrix-free product K·x with the memory
            traffic it implies (bytes it must move ÷ time), and peak resident memory (VmHWM, reset
            before each model) per million DOFs. --export-inp DIR writes the 60³ block for ccx (ITERATIVE
            SCALING) and a 30³ block (SPOOLES, whose memory grows too fast for 60³ here) so the interop
            script can time ccx on the same models.
            """)

    @Option(help: "A DICOM study whose femur is also solved at 1 mm.") var study: String?
    @Option(help: "Write block-60.inp (ITERATIVE SCALING), block-30.inp (SPOOLES) and their OsteoCT results into this folder.") var exportInp: String?
    @Option(help: "Block sizes (elements per side).") var sizes: [Int] = [60, 69]
    @Flag(help: "Print JSON (always JSON; accepted for consistency).") var json = false

    struct Figures: Encodable {
        var model: String
        var dofs: Int
        var elements: Int
        var buildSeconds: Double
        var solveSeconds: Double
        var iterations: Int
        var secondsPerIteration: Double
        var multigridLevels: [Int]
        var productSeconds: Double
        var productBytes: Double
        var productGBps: Double
        var peakRSSMegabytes: Double
        var megabytesPerMillionDOFs: Double
        var reactionForce_N: Double
        var threads: Int
    }

    static func block(_ n: Int) -> (StiffnessOperator, BoundaryConditions, [Int]) {
        var e = [Double](repeating: 0, count: n * n * n)
        for k in 0..<n { for j in 0..<n { for i in 0..<n {
            let s = 0.5 + 0.5 * sin(2 * .pi * Double(i) / 20) * sin(2 * .pi * Double(j) / 17) * sin(2 * .pi * Double(k) / 23)
            e[i + n * (j + n * k)] = 100 + 15000 * s * s
        } } }
        let mesh = VoxelMesh(h: 1, nx: n, ny: n, nz: n, origin: .zero, modulus: e)
        var bc = BoundaryConditions(dofCount: mesh.dofCount)
        var top: [Int] = []
        for node in 0..<mesh.nodeCount {
            let (_, _, k) = mesh.nodeGrid(node)
            if k == 0 { for a in 0..<3 { bc.fix(node: node, component: a) } }
            if k == n { bc.fix(node: node, component: 2, value: -0.01 * Double(n)); top.append(node) }
        }
        return (StiffnessOperator(mesh: mesh, material: ElasticMaterial(poisson: 0.3)), bc, top)
    }

    func run() throws {
        var out: [Figures] = []
        func measure(_ name: String, build: () throws -> (StiffnessOperator, BoundaryConditions, [Int])) throws {
            try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)  // reset VmHWM
            let t0 = DispatchTime.now().uptimeNanoseconds
            let (op, bc, loaded) = try build()
            let built = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            let s = try FESolver.solve(op, bc)
            let mg = MultigridPreconditioner(op, constrained: bc.constrained)
            // One product, best of 5.
            var y = [Double](repeating: 0, count: op.mesh.dofCount)
            var best = Double.infinity
            for _ in 0..<5 {
                let a = DispatchTime.now().uptimeNanoseconds
                op.apply(s.displacement, into: &y)
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - a) / 1e9)
            }
            // Bytes a product must move at least: x and y (8 B per DOF each), per element its 8 node ids,
            // modulus and grid entry (44 B), per node its grid index (4 B).
            let bytes = Double(op.mesh.dofCount) * 16 + Double(op.mesh.elementCount) * 44 + Double(op.mesh.nodeCount) * 4
            let peak = peakRSSMegabytes()
            let force = -loaded.reduce(0.0) { $0 + s.reaction[3 * $1 + (name.hasPrefix("block") ? 2 : 1)] }
            out.append(Figures(model: name, dofs: op.mesh.dofCount, elements: op.mesh.elementCount, buildSeconds: built, solveSeconds: s.seconds,
                               iterations: s.iterations, secondsPerIteration: s.seconds / Double(max(1, s.iterations)),
                               multigridLevels: mg.dofsPerLevel, productSeconds: best, productBytes: bytes, productGBps: bytes / best / 1e9,
                               peakRSSMegabytes: peak, megabytesPerMillionDOFs: peak / (Double(op.mesh.dofCount) / 1e6),
                               reactionForce_N: abs(force), threads: Parallel.workerCount))
        }
        for n in sizes {
            guard n >= 4, n <= 120 else { throw ValidationError("--sizes: 4…120 elements per side") }
            try measure("block-\(n)") { Self.block(n) }
        }
        if let study {
            let scan: ScanResult
            do { scan = try DICOMScanner.scan([study]) } catch { throw CommandFailure("\(study): \(error)") }
            var model: FemurModel?
            let options = try CalibrationOptions.parse(["--profiles", FileManager.default.temporaryDirectory.appendingPathComponent("osteoct-bench-no-profiles").path])
            _ = try analyzeCT(scan: scan, options: options, stopAfterFemora: true, femurHook: { stage in
                guard let f = stage.femora.first(where: { $0.side == .left }) ?? stage.femora.first, let landmarks = femurLandmarks(f) else { return }
                let cal = stage.calibration, v = stage.ct
                model = try FemurModel.build(mask: stage.labels, value: f.side.label, density: { q in cal.density(hu: Double(v.voxels[q])) ?? 0 },
                                             femur: landmarks, loadCase: .sidewaysFall, voxel: 1,
                                             equivalent: cal.equivalent?.rawValue ?? "none")
            })
            guard let model else { throw CommandFailure("\(study): no measurable femur") }
            try measure("femur-1mm") { (model.operatorK, model.conditions, model.loadNodes) }
        }
        if let exportInp {
            try FileManager.default.createDirectory(atPath: exportInp, withIntermediateDirectories: true)
            for (n, solver) in [(60, CalculiXSolver.iterativeScaling), (30, .spooles)] {
                let (op, bc, top) = Self.block(n)
                let binned = op.mesh.binned(bins: 256)
                let bop = StiffnessOperator(mesh: binned.mesh, material: op.material)
                let deck = CalculiXDeck.write(bop, bc, heading: "OsteoCT bench block \(n)^3", solver: solver, reactionSets: [("NLOAD", top)])
                try Data(deck.utf8).write(to: URL(fileURLWithPath: "\(exportInp)/block-\(n).inp"))
                let s = try FESolver.solve(bop, bc)
                var csv = "node,u1,u2,u3\n"
                for i in 0..<bop.mesh.nodeCount { csv += "\(i + 1),\(s.displacement[3 * i]),\(s.displacement[3 * i + 1]),\(s.displacement[3 * i + 2])\n" }
                try Data(csv.utf8).write(to: URL(fileURLWithPath: "\(exportInp)/block-\(n).csv"))
                let force = -top.reduce(0.0) { $0 + s.reaction[3 * $1 + 2] }
                let result = #"{"reactionForce_N": \#(abs(force)), "axis": 2, "solveSeconds": \#(s.seconds), "iterations": \#(s.iterations)}"#
                try Data(result.utf8).write(to: URL(fileURLWithPath: "\(exportInp)/block-\(n).json"))
            }
        }
        try JSONOut.print(out)
    }
}
