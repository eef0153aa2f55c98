import ArgumentParser
import BoneFE
import DICOM
import Foundation
import Imaging
import QCT

/// `osteoct fe STUDY`: the voxel finite-element model of one or both proximal femora, solved.
struct FECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fe",
        abstract: "Finite-element femoral strength (sideways fall or stance) from a CT study.",
        discussion: """
            Runs the CT part (calibration, femur segmentation, axes), builds a voxel hexahedral model of
            the femur from the head to 20 mm below the lesser trochanter, maps calibrated density to
            modulus, applies the load case and solves it matrix-free (Jacobi-preconditioned conjugate
            gradients to a relative residual of 1e-6). Prints stiffness, the force on the head, the
            Pistoia-type strength and the low-strength flag (sideways fall, < 3000 N in women).
            Boundary conditions: README, "Finite-element strength".
            """)

    @Argument(help: "DICOM study folder (the hip series is chosen as analyze does).") var study: String
    @Option(help: "left, right, or both eligible sides (default).") var side: String?
    @Option(help: "Load case: sideways-fall or stance.") var load: String = "sideways-fall"
    @Option(help: "Element size in mm (0.7, 1.0, 1.5, 2.0 are usual).") var voxel: Double = 1.0
    @Option(help: "Density → modulus law: keyak-ash (default) or morgan-neck.") var law: String = "keyak-ash"
    @Option(help: "Bin the moduli into this many log-spaced materials before solving (0: every element its own modulus; --export-inp bins into this many, 256 when 0).")
    var bins: Int = 0
    @Option(help: "Pistoia critical volume, % of bone elements.") var criticalVolume: Double = 2
    @Option(help: "Pistoia critical strain (0.007 = 0.7 %).") var criticalStrain: Double = 0.007
    @Flag(help: "Declare --critical-volume/--critical-strain calibrated against failure loads of femora on clinical CT: only then is the low-strength flag (< 3000 N) applied.")
    var criterionCalibrated = false
    @Option(help: "Relative residual at which the solver stops.") var tolerance: Double = 1e-6
    @Option(help: "CG preconditioner: multigrid (default) or jacobi.") var preconditioner: String = "multigrid"
    @Option(help: "Write the model as a CalculiX/Abaqus deck (C3D8; moduli binned into 256 log-spaced materials, and solved with the same binned moduli). With both sides, -left/-right is added before the extension.")
    var exportInp: String?
    @Option(help: "ccx solver named in the deck: SPOOLES, ITERATIVE SCALING or ITERATIVE CHOLESKY.") var inpSolver: String = "SPOOLES"
    @Option(help: "Write the bone elements with modulus and strains as a VTK legacy unstructured grid (ParaView).") var exportVtk: String?
    @Option(help: "Write the nodal displacements (deck node id, u1, u2, u3 in the deck's frame, mm) as CSV, to compare with another solver run on --export-inp's deck.")
    var exportDisplacements: String?
    @Option(help: "Write strain-<side>.png and strain-over-ct-<side>.png (equivalent strain in the plane of the neck, colour bar in µε) into this folder.")
    var strainMaps: String?
    @OptionGroup var calibrationOptions: CalibrationOptions
    @Flag(help: "Print the results as JSON.") var json = false

    func run() throws {
        guard let loadCase = FemurLoadCase(rawValue: load) else {
            throw ValidationError("--load must be one of \(FemurLoadCase.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let densityLaw = DensityModulusLaw(rawValue: law) else {
            throw ValidationError("--law must be one of \(DensityModulusLaw.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let pc = Preconditioner(rawValue: preconditioner) else {
            throw ValidationError("--preconditioner must be one of \(Preconditioner.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard voxel >= 0.5 && voxel <= 3 else { throw ValidationError("--voxel must be between 0.5 and 3 mm") }
        guard bins == 0 || (2...4096).contains(bins) else { throw ValidationError("--bins must be 0 (none) or 2–4096") }
        guard let solver = CalculiXSolver(rawValue: inpSolver.uppercased()) else {
            throw ValidationError("--inp-solver must be one of \(CalculiXSolver.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let sides: [FemurMask.Side]
        switch side {
        case nil: sides = [.left, .right]
        case "left": sides = [.left]
        case "right": sides = [.right]
        default: throw ValidationError("--side must be left or right")
        }
        let scan: ScanResult
        do { scan = try DICOMScanner.scan([study]) } catch { throw CommandFailure("\(study): \(error)") }
        guard scan.studies.count == 1 else {
            throw CommandFailure("\(study) holds \(scan.studies.count) studies; point at one study")
        }
        let showProgress = !json && isatty(2) != 0
        var results: [FemurFEResult] = []
        var files: [(path: String, bytes: [UInt8])] = []
        var stageSeen = false
        let (file, _, _) = try analyzeCT(scan: scan, options: calibrationOptions, stopAfterFemora: true, femurHook: { stage in
            stageSeen = true
            guard stage.calibration.method != .none, stage.calibration.density(hu: 0) != nil else {
                throw CommandFailure("the CT is not calibrated (no phantom, profile or reference tissues): finite elements need density; see `osteoct calibrate`")
            }
            for s in sides {
                guard let f = stage.femora.first(where: { $0.side == s }), let landmarks = femurLandmarks(f) else {
                    if side != nil { throw CommandFailure("the \(s.rawValue) femur is not measurable in this CT (see `osteoct analyze` quality flags)") }
                    continue
                }
                let cal = stage.calibration, v = stage.ct
                var model: FemurModel
                do {
                    model = try FemurModel.build(mask: stage.labels, value: s.label, density: { q in cal.density(hu: Double(v.voxels[q])) ?? 0 },
                                                 femur: landmarks, loadCase: loadCase, law: densityLaw, voxel: voxel,
                                                 equivalent: cal.equivalent?.rawValue ?? "none")
                } catch { throw CommandFailure("\(s.rawValue) femur: \(error)") }
                let suffix = sides.count > 1 ? "-\(s.rawValue)" : ""
                if bins > 0 && exportInp == nil {
                    model.operatorK = StiffnessOperator(mesh: model.operatorK.mesh.binned(bins: bins).mesh, material: model.operatorK.material)
                }
                if let exportInp {
                    // The deck and the solve use the same binned moduli.
                    let binned = model.operatorK.mesh.binned(bins: bins > 0 ? bins : 256)
                    model.operatorK = StiffnessOperator(mesh: binned.mesh, material: model.operatorK.material)
                    let deck = CalculiXDeck.write(model.operatorK, model.conditions, heading: "OsteoCT \(OsteoCTVersion.string) \(s.rawValue) femur, \(loadCase.rawValue), \(voxel) mm voxels",
                                                  solver: solver, reactionSets: [("NLOAD", model.loadNodes)])
                    files.append((Self.suffixed(exportInp, suffix), Array(deck.utf8)))
                }
                if showProgress {
                    FileHandle.standardError.write(Data(String(format: "%@ femur: %d elements, %d DOFs; solving…\n", s.rawValue, model.operatorK.mesh.elementCount, model.operatorK.mesh.dofCount).utf8))
                }
                let (result, field, solution): (FemurFEResult, FemurStrainField, Solution)
                do {
                    (result, field, solution) = try model.analyse(tolerance: tolerance, preconditioner: pc, criticalVolume: criticalVolume, criticalStrain: criticalStrain,
                                                                    criterionCalibrated: criterionCalibrated) { it, rel in
                        if showProgress { FileHandle.standardError.write(Data(String(format: "\r  iteration %d, relative residual %.2e", it, rel).utf8)) }
                    }
                } catch { throw CommandFailure("\(s.rawValue) femur: \(error)") }
                if showProgress { FileHandle.standardError.write(Data("\n".utf8)) }
                var sided = result
                sided.side = s.rawValue
                results.append(sided)
                if let strainMaps, let map = StrainMap.render(model, result: result, field: field, landmarks: landmarks, ct: v) {
                    for (name, image) in [("strain-\(s.rawValue).png", map.alone), ("strain-over-ct-\(s.rawValue).png", map.overCT)] {
                        guard let image else { continue }
                        do { files.append(("\(strainMaps)/\(name)", try PNG.encode(image))) } catch { throw CommandFailure("\(name): \(error)") }
                    }
                }
                if let exportDisplacements {
                    var csv = "node,u1,u2,u3\n"
                    for n in 0..<model.operatorK.mesh.nodeCount {
                        csv += "\(n + 1),\(solution.displacement[3 * n]),\(solution.displacement[3 * n + 1]),\(solution.displacement[3 * n + 2])\n"
                    }
                    files.append((Self.suffixed(exportDisplacements, suffix), Array(csv.utf8)))
                }
                if let exportVtk {
                    files.append((Self.suffixed(exportVtk, suffix), Array(FemurVTK.write(model, field: field, solution: solution).utf8)))
                }
            }
        })
        guard stageSeen else { throw CommandFailure("the CT part did not reach the femora: \(file.reason ?? ctNothingReason(file))") }
        guard !results.isEmpty else { throw CommandFailure("no femur is measurable in this CT: \(ctNothingReason(file))") }
        if let strainMaps {
            do { try FileManager.default.createDirectory(atPath: strainMaps, withIntermediateDirectories: true) } catch {
                throw CommandFailure("cannot create \(strainMaps): \(error.localizedDescription)")
            }
        }
        for f in files {
            do { try Data(f.bytes).write(to: URL(fileURLWithPath: f.path), options: .atomic) } catch {
                throw CommandFailure("cannot write \(f.path): \(error.localizedDescription)")
            }
        }
        if json {
            try JSONOut.print(results)
        } else {
            for r in results {
                print(String(format: "%@ femur, %@: stiffness %.0f N/mm, force %.0f N at %.1f mm, strength %@ (Pistoia %.0f %% / %.2f %%)%@; %d elements, %d DOFs, %d iterations to %.1e, %.1f s",
                             r.side ?? "", r.loadCase, r.stiffness_N_per_mm, r.reactionForce_N, r.appliedDisplacement_mm,
                             r.strength_N.map { String(format: "%.0f N", $0) } ?? "not computed", r.criticalVolume_percent, r.criticalStrain * 100,
                             r.lowStrength == true ? " — LOW (< 3000 N)" : r.lowStrength == nil && r.loadCase == "sideways-fall" ? " (uncalibrated index: no low-strength flag)" : "", r.elements, r.dofs, r.iterations, r.relativeResidual, r.solveSeconds))
            }
        }
    }

    static func suffixed(_ path: String, _ suffix: String) -> String {
        guard !suffix.isEmpty else { return path }
        let ext = (path as NSString).pathExtension
        return ext.isEmpty ? path + suffix : (path as NSString).deletingPathExtension + suffix + "." + ext
    }
}
