import ArgumentParser
import Foundation
import Imaging
import Phantom
import QCT

/// `osteoct phantom-check TRUTH MEASUREMENTS`: each measured value beside the phantom's truth.
struct PhantomCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phantom-check",
        abstract: "Compare measurements.json of a scanned phantom with its truth.json: each value, its truth, the error.",
        discussion: """
            The routine QA after scanning a phantom (the digital phantom's truth.json, or a physical
            phantom's values in the same format). Compared so far: the calibration line and each rod,
            the femoral heads (centre, radius), neck and shaft axes, neck–shaft angle, narrow neck, trochanters
            (tolerance 3 mm, our choice).
            Values the measurements lack are listed as not measured. Exit 1 when a value is outside its
            tolerance (the issue-3 targets where there is one: head centre 1 mm, neck axis 3°).
            """
    )

    @Argument(help: "truth.json of the phantom.") var truth: String
    @Argument(help: "measurements.json from `osteoct analyze`.") var measurements: String
    @Option(help: "The phantom's density map (default: density.nii.gz beside TRUTH, written by `osteoct phantom --density-map`). With it, each femur region's vBMD and HU are compared with the truth of the same ROI.")
    var density: String?
    @Option(help: "The femur region map (default: femur-regions.nii.gz beside MEASUREMENTS).")
    var regions: String?
    @Flag(help: "Print JSON.") var json = false

    struct Row: Encodable {
        var quantity: String
        var measured: Double?
        var truth: Double
        var error: Double?
        var unit: String
        var tolerance: Double?
        var pass: Bool?
    }

    func run() throws {
        let t: PhantomTruth, m: MeasurementsFile
        do { t = try JSONDecoder().decode(PhantomTruth.self, from: Data(try readFile(truth))) } catch let e as CommandFailure { throw e } catch {
            throw CommandFailure("\(truth): not a phantom truth file (osteoct.phantom.truth/1): \(error)")
        }
        do { m = try JSONDecoder().decode(MeasurementsFile.self, from: Data(try readFile(measurements))) } catch let e as CommandFailure { throw e } catch {
            throw CommandFailure("\(measurements): not an OsteoCT measurements file: \(error)")
        }
        var rows: [Row] = []
        func add(_ q: String, _ measured: Double?, _ truth: Double, _ unit: String, tolerance: Double?, error: Double? = nil) {
            let e = error ?? measured.map { $0 - truth }
            rows.append(Row(quantity: q, measured: measured, truth: truth, error: e, unit: unit, tolerance: tolerance,
                            pass: tolerance.flatMap { tol in e.map { abs($0) <= tol } }))
        }
        let cal = m.calibration
        add("calibration slope σ", cal?.slope_HU_per_mgcm3, t.densityModel.slope_HU_per_mgcm3, "HU per mg/cm³", tolerance: 0.01 * t.densityModel.slope_HU_per_mgcm3)
        add("calibration intercept β", cal?.intercept_HU, t.densityModel.intercept_HU, "HU", tolerance: 2)
        for rod in t.calibrationRods {
            // A rod's HU read back through the calibration: within ±2 mg/cm³ (issue 3, synchronous).
            add("rod \(rod.index + 1) (\(rod.concentration_mgcm3) mg/cm³) read back", cal?.density(hu: rod.hu), rod.concentration_mgcm3, "mg/cm³",
                tolerance: max(2, 0.02 * rod.concentration_mgcm3))
        }
        for f in t.femora {
            let side = f.side.rawValue
            let mf = m.femora?.first { $0.side.rawValue == side }
            if f.cutByFieldOfView {
                // A femur the field of view cuts must be flagged and left unmeasured.
                let flagged = m.qualityFlags.contains { $0.code == "femur-\(side)-cut-by-fov" }
                let measured = m.femurDensitometry?.contains { $0.side.rawValue == side } == true
                rows.append(Row(quantity: "\(side) femur (cut by the field of view: must be flagged, not measured)", measured: flagged && !measured ? 1 : 0,
                                truth: 1, error: nil, unit: "flagged", tolerance: 0, pass: flagged && !measured))
                continue
            }
            if f.prosthesis {
                rows.append(Row(quantity: "\(side) femur (prosthesis: must be excluded)", measured: mf?.separated == true ? 1 : 0, truth: 0, error: nil, unit: "measured",
                                tolerance: 0, pass: mf?.separated != true))
                continue
            }
            let h = mf?.head
            let centre = h.map { Vec3($0.center[0], $0.center[1], $0.center[2]) }
            add("\(side) head centre", centre.map { ($0 - f.headCenter).length }, 0, "mm (distance)", tolerance: 1)
            add("\(side) head radius", h?.radius_mm, f.headRadius_mm, "mm", tolerance: nil)
            let a = mf?.axes
            func angle(_ u: [Double]?, _ v: Vec3) -> Double? {
                u.map { acos(max(-1, min(1, Vec3($0[0], $0[1], $0[2]).dot(v.normalized)))) * 180 / .pi }
            }
            add("\(side) neck axis", angle(a?.neckAxisDirection, f.neckAxisDirection), 0, "° (angle)", tolerance: 3)
            add("\(side) shaft axis", angle(a?.shaftAxisDirection, f.shaftAxisDirection), 0, "° (angle)", tolerance: 3)
            add("\(side) neck–shaft angle", a?.neckShaftAngle_deg, f.neckShaftAngle_deg, "°", tolerance: 3)
            add("\(side) narrow neck distance from head centre", a?.narrowNeckDistance_mm, f.narrowNeck.distanceFromHeadCenter_mm, "mm", tolerance: 3)
            add("\(side) greater trochanter tip", a?.greaterTrochanterTip.map { (Vec3($0[0], $0[1], $0[2]) - f.greaterTrochanterTip).length }, 0, "mm (distance)", tolerance: 3)
            add("\(side) lesser trochanter apex", a?.lesserTrochanterApex.map { (Vec3($0[0], $0[1], $0[2]) - f.lesserTrochanterApex).length }, 0, "mm (distance)", tolerance: 3)
            add("\(side) narrow neck area (mask)", a?.narrowNeckMaskArea_mm2, f.narrowNeck.totalArea_mm2, "mm²", tolerance: 0.1 * f.narrowNeck.totalArea_mm2)
            // HSA: the narrow neck's mineral per mm as fully mineralised bone (the phantom integrates it
            // analytically), its superior–inferior width, the shaft's outer diameter, the hip axis length.
            if let hsa = m.hsa?.first(where: { $0.side.rawValue == side }) {
                let nn = hsa.sections.first { $0.name == "narrow_neck" }, shaft = hsa.sections.first { $0.name == "shaft" }
                let csa = f.narrowNeck.mineralPerLength_mg_per_mm / HSA.rhoC * 10
                add("\(side) HSA narrow-neck CSA", nn?.csa_cm2, csa, "cm²", tolerance: 0.05 * csa)
                add("\(side) HSA narrow-neck width", nn?.outerDiameter_mm, f.narrowNeck.widthSI_mm, "mm", tolerance: 0.08 * f.narrowNeck.widthSI_mm)
                add("\(side) HSA shaft outer diameter", shaft?.outerDiameter_mm, f.subtrochantericShaft.outerDiameter_mm, "mm",
                    tolerance: 0.08 * f.subtrochantericShaft.outerDiameter_mm)
                add("\(side) HSA hip axis length", hsa.hipAxisLength_mm, f.hipAxisLength_mm, "mm", tolerance: 0.03 * f.hipAxisLength_mm)
            }
        }
        rows += try regionRows(t, m)
        rows += spineRows(t, m)
        if json {
            try JSONOut.print(rows)
        } else {
            for r in rows {
                let measured = r.measured.map { String(format: "%.3f", $0) } ?? "not measured"
                let verdict = r.pass.map { $0 ? "ok" : "OUT" } ?? "-"
                func pad(_ x: String, _ n: Int) -> String { x.count >= n ? x : x + String(repeating: " ", count: n - x.count) }
                let error = r.error.map { String(format: "%+.3f", $0) } ?? "-"
                print(pad(r.quantity, 46) + " " + pad(measured, 13) + String(format: " truth %9.3f", r.truth) + "  error " + pad(error, 8) + " " + pad(r.unit, 16) + " " + verdict)
            }
            print("not measured by this version: " + m.notMeasuredYet.joined(separator: "; "))
        }
        if rows.contains(where: { $0.pass == false || ($0.tolerance != nil && $0.measured == nil) }) { throw ExitCode(1) }
    }

    /// Femur-region rows: each ROI of femur-regions.nii.gz, its measured vBMD and mean HU against the
    /// density map's truth over the same voxels. Tolerances (issue 3): integral and trabecular vBMD ±2 %
    /// (at least ±2 mg/cm³) with a phantom or scanner-profile calibration, ±5 % phantomless; trabecular
    /// HU ±3 HU. Cortical vBMD is listed without a tolerance: cortices thinner than about twice the PSF
    /// read low by partial volume, a limit of the image rather than of the ROI. CTXA aBMD: within 2 % of the
    /// density map projected the same way over the same masks.
    func regionRows(_ t: PhantomTruth, _ m: MeasurementsFile) throws -> [Row] {
        guard let dens = m.femurDensitometry, !dens.isEmpty else { return [] }
        let densityPath = density ?? ((truth as NSString).deletingLastPathComponent as NSString).appendingPathComponent("density.nii.gz")
        let regionsPath = regions ?? ((measurements as NSString).deletingLastPathComponent as NSString).appendingPathComponent("femur-regions.nii.gz")
        guard FileManager.default.fileExists(atPath: densityPath), FileManager.default.fileExists(atPath: regionsPath) else {
            if density != nil || regions != nil { throw CommandFailure("\(densityPath) or \(regionsPath) does not exist") }
            return []
        }
        let truthDensity: [Float], map: Volume<UInt8>
        do {
            truthDensity = try NIfTI.read(path: densityPath).floatValues()
            map = try NIfTI.read(path: regionsPath).labelVolume(path: regionsPath)
        } catch { throw CommandFailure("\(error)") }
        guard truthDensity.count == map.voxels.count else {
            throw CommandFailure("\(densityPath) and \(regionsPath) are on different grids (\(truthDensity.count) vs \(map.voxels.count) voxels)")
        }
        // Σ truth density per label value.
        var sum = [Double](repeating: 0, count: 256), count = [Int](repeating: 0, count: 256)
        for q in 0..<map.voxels.count where map.voxels[q] != 0 {
            sum[Int(map.voxels[q])] += Double(truthDensity[q]); count[Int(map.voxels[q])] += 1
        }
        let method = m.calibration?.method
        let relative = method == .synchronousPhantom || method == .asynchronousProfile ? 0.02 : 0.05
        let slope = t.densityModel.slope_HU_per_mgcm3, intercept = t.densityModel.intercept_HU
        var rows: [Row] = []
        for d in dens {
            let base = Int(FemurDensitometer.labelBase(d.side))
            for r in d.regions {
                // The narrow-neck slab is a part of the neck that the map does not label separately.
                let idx: [Int]
                if r.region == "total_hip" { idx = Array(0..<FemurDensitometer.regionNames.count) }
                else if let i = FemurDensitometer.regionNames.firstIndex(of: r.region) { idx = [i] } else { continue }
                // Integral: mineral over mask + rim (compartments 0–3) per mask voxel (1–3), as measured.
                for (compartment, c, offsets, volume) in [("integral", r.integral, [0, 1, 2, 3], [1, 2, 3]), ("trabecular", r.trabecular, [2], [2]),
                                                           ("cortical", r.cortical, [3], [3])] {
                    guard let c else { continue }
                    let labels = idx.flatMap { i in offsets.map { base + 4 * i + $0 } }
                    let n = idx.flatMap { i in volume.map { base + 4 * i + $0 } }.reduce(0) { $0 + count[$1] }
                    guard n > 0 else { continue }
                    let truthMean = labels.reduce(0.0) { $0 + sum[$1] } / Double(n)
                    let tol: Double? = compartment == "cortical" ? nil : max(2, relative * abs(truthMean))
                    rows.append(Row(quantity: "\(r.name) \(compartment) vBMD", measured: c.vBMD_mgcm3, truth: truthMean,
                                    error: c.vBMD_mgcm3.map { $0 - truthMean }, unit: "mg/cm³", tolerance: tol,
                                    pass: tol.flatMap { tol in c.vBMD_mgcm3.map { abs($0 - truthMean) <= tol } }))
                    if compartment == "trabecular" {
                        let truthHU = slope * truthMean + intercept
                        rows.append(Row(quantity: "\(r.name) trabecular HU", measured: c.meanHU, truth: truthHU, error: c.meanHU - truthHU,
                                        unit: "HU", tolerance: 3, pass: abs(c.meanHU - truthHU) <= 3))
                    }
                }
            }
        }
        // CTXA: the same projection of the density map over the same masks is the truth.
        let labelsPath = ((regionsPath as NSString).deletingLastPathComponent as NSString).appendingPathComponent("labels.nii.gz")
        if let ctxa = m.ctxa, !ctxa.isEmpty, let cal = m.calibration, FileManager.default.fileExists(atPath: labelsPath) {
            let femurLabels: Volume<UInt8>
            do { femurLabels = try NIfTI.read(path: labelsPath).labelVolume(path: labelsPath) } catch { throw CommandFailure("\(error)") }
            for c in ctxa {
                guard let f = m.femora?.first(where: { $0.side == c.side }), let d = dens.first(where: { $0.side == c.side }),
                      let (ideal, _) = CTXA.measure(labels: femurLabels, regionMap: map.voxels, femur: f, densitometry: d, calibration: cal,
                                                     density: { q in Double(truthDensity[q]) }) else { continue }
                for r in c.regions {
                    guard let t = ideal.regions.first(where: { $0.name == r.name }) else { continue }
                    let tol = 0.02 * t.aBMD_gcm2
                    rows.append(Row(quantity: "\(c.side.rawValue) CTXA \(r.name) aBMD", measured: r.aBMD_gcm2, truth: t.aBMD_gcm2, error: r.aBMD_gcm2 - t.aBMD_gcm2,
                                    unit: "g/cm²", tolerance: tol, pass: abs(r.aBMD_gcm2 - t.aBMD_gcm2) <= tol))
                }
            }
        }
        return rows
    }

    /// Vertebral bodies: each complete body of the phantom found at its level (centre within 3 mm, our
    /// tolerance), its ROI trabecular HU within 3 HU and vBMD within 2 % (at least 2 mg/cm³) of the
    /// phantom's uniform trabecular values, and the L1 HU measure.
    func spineRows(_ t: PhantomTruth, _ m: MeasurementsFile) -> [Row] {
        var rows: [Row] = []
        guard let spine = m.spine else { return rows }
        let sd = m.spineDensitometry
        for v in t.vertebrae where v.inFieldOfView {
            let level = v.level.rawValue
            let b = spine.bodies.first { $0.level == level }
            rows.append(Row(quantity: "\(level) body centre", measured: b.map { (Vec3($0.center[0], $0.center[1], $0.center[2]) - v.center).length },
                            truth: 0, error: b.map { (Vec3($0.center[0], $0.center[1], $0.center[2]) - v.center).length }, unit: "mm (distance)",
                            tolerance: 3, pass: b.map { (Vec3($0.center[0], $0.center[1], $0.center[2]) - v.center).length <= 3 } ?? false))
            let d = sd?.levels.first { $0.level == level }
            rows.append(Row(quantity: "\(level) trabecular HU (oval ROI)", measured: d?.meanHU, truth: v.trabecularHU, error: d.map { $0.meanHU - v.trabecularHU },
                            unit: "HU", tolerance: 3, pass: d.map { abs($0.meanHU - v.trabecularHU) <= 3 } ?? false))
            // QCT-apparent density (contrast enhancement included, as a scanner reads it): the truth HU
            // through the phantom's density line; equals the mineral value without contrast.
            let apparent = (v.trabecularHU - t.densityModel.intercept_HU) / t.densityModel.slope_HU_per_mgcm3
            let tol = max(2, 0.02 * apparent)
            let vb = d?.vBMD_mgcm3
            rows.append(Row(quantity: "\(level) trabecular vBMD (oval ROI)", measured: vb, truth: apparent, error: vb.map { $0 - apparent },
                            unit: "mg/cm³", tolerance: tol, pass: vb.map { abs($0 - apparent) <= tol } ?? false))
            if level == "L1" {
                rows.append(Row(quantity: "L1 HU (central 5 mm)", measured: sd?.l1?.meanHU, truth: v.trabecularHU, error: sd?.l1.map { $0.meanHU - v.trabecularHU },
                                unit: "HU", tolerance: 3, pass: sd?.l1.map { abs($0.meanHU - v.trabecularHU) <= 3 } ?? false))
            }
        }
        return rows
    }
}
