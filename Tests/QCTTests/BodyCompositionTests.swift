import Foundation
import Imaging
import Phantom
import Testing

@testable import QCT

// Muscle and fat on the mid-L3 slice of a 25 mm slab of the phantom around L3 (0.8 mm pixels, full
// body width), against the areas the phantom's truth counts on its label map. The body mask and the
// L3 body come from the phantom's labels, so that only the tissue classification is under test.

/// A slab of the standard phantom at 0.8 × 1.25 mm, noise 20 HU, full body width, centred at height z.
private func slab(seed: UInt64, slices: Int, z: Double) throws -> PhantomScan {
    var p = PhantomParameters(preset: .standard, size: .small)
    p.seed = seed
    p.pixelSpacing_mm = 0.8
    p.columns = 460
    p.rows = 340
    p.sliceThickness_mm = 1.25
    p.sliceSpacing_mm = 1.25
    p.noiseSigma_HU = 20
    p.slices = slices
    p.reconstructionCenter = Vec3(0, 10, z)
    return try PhantomGenerator.generate(p)
}

private func l3Slab() throws -> PhantomScan { try slab(seed: 29, slices: 20, z: 188) }

@Suite("Body composition")
struct BodyCompositionTests {
    @Test func l3AreasMatchThePhantom() throws {
        let scan = try l3Slab()
        let names = Dictionary(uniqueKeysWithValues: scan.truth.labels.map { ($0.id, $0.name) })
        let outside: Set<String> = ["air", "table_shell", "table_foam", "calibration_resin", "calibration_tube_wall"]
        // The combined label map: 1 inside the body, 23 the L3 body.
        let l3ids = Set(scan.truth.labels.filter { $0.name == "vertebra_L3_body_cortical" || $0.name == "vertebra_L3_body_trabecular" }.map(\.id))
        let labels = scan.labels.voxels.map { id -> UInt8 in
            let n = names[id] ?? "air"
            if l3ids.contains(id) { return 23 }
            return outside.contains(n) || n.hasPrefix("calibration_rod") ? 0 : 1
        }
        let v = try #require(scan.truth.vertebrae.first { $0.level.rawValue == "L3" })
        let l3 = VertebralBody(level: "L3", labelValue: 23, zRange_mm: [v.center.z - v.height_mm / 2, v.center.z + v.height_mm / 2],
                               center: v.center.array, height_mm: v.height_mm, volume_cm3: 0, complete: true)
        let levels = SpineLevels(bodies: [l3], discs_mm: [], sacrumFound: true, confidence: "high", flags: [], notes: [])
        let measured = BodyCompositionAnalyzer.measure(scan.hu, labels: labels, levels: levels, height_m: 1.60, bmi: 24)
        #expect(measured != nil)
        guard let (r, tissue) = measured else { return }
        #expect(tissue.allSatisfy { [50, 51, 52, 53].contains($0.label) && $0.index / (scan.hu.size.x * scan.hu.size.y) == r.sliceIndex })
        // The truth counts labels on the slice nearest the L3 centre; ours is the same slice.
        let k = r.sliceIndex
        let plane = scan.labels.size.x * scan.labels.size.y
        var count: [String: Int] = [:]
        for q in 0..<plane { count[names[scan.labels.voxels[q + plane * k]] ?? "?", default: 0] += 1 }
        let px = 0.8 * 0.8 / 100
        let muscles = ["iliopsoas_left", "iliopsoas_right", "paraspinal_left", "paraspinal_right", "quadratus_lumborum_left",
                       "quadratus_lumborum_right", "abdominal_wall_muscles"]
        let sma = Double(muscles.reduce(0) { $0 + (count[$1] ?? 0) }) * px
        let sat = Double(count["subcutaneous_fat"] ?? 0) * px, vat = Double(count["visceral_fat"] ?? 0) * px
        let imat = Double(count["intermuscular_fat"] ?? 0) * px
        #expect(abs(r.skeletalMuscleArea_cm2 / sma - 1) < 0.10, "SMA \(r.skeletalMuscleArea_cm2) vs \(sma) cm²")
        #expect(abs(r.visceralFatArea_cm2 / vat - 1) < 0.10, "VAT \(r.visceralFatArea_cm2) vs \(vat) cm²")
        // The phantom's intermuscular fat lies against the subcutaneous fat with no fascia between: it
        // is counted as SAT, so SAT + IMAT is compared.
        #expect(abs((r.subcutaneousFatArea_cm2 + r.intermuscularFatArea_cm2) / (sat + imat) - 1) < 0.10,
                "SAT + IMAT \(r.subcutaneousFatArea_cm2 + r.intermuscularFatArea_cm2) vs \(sat + imat) cm²")
        // Muscle 29 HU in the phantom; partial volume with fat pulls the window's mean down a little.
        #expect(r.muscleMeanHU > 24 && r.muscleMeanHU < 31, "muscle \(r.muscleMeanHU) HU")
        // SMI by hand and the cut-offs it implies.
        let smi = try #require(r.skeletalMuscleIndex)
        #expect(abs(smi - r.skeletalMuscleArea_cm2 / (1.60 * 1.60)) < 1e-9)
        #expect(r.findings.contains("low-smi-prado") == (smi < 38.5) && r.findings.contains("low-smi-martin") == (smi < 41))
        #expect(r.findings.contains("low-muscle-attenuation") == (r.muscleMeanHU < 41))
    }

    // The femoral-head slice of a 20 mm slab around the heads: muscle, SAT and pelvic fat against the
    // phantom's label map on the same slice. The body and femur masks come from the phantom's labels.
    @Test func hipAreasMatchThePhantom() throws {
        let scan = try slab(seed: 31, slices: 16, z: 0)
        let names = Dictionary(uniqueKeysWithValues: scan.truth.labels.map { ($0.id, $0.name) })
        let outside: Set<String> = ["air", "table_shell", "table_foam", "calibration_resin", "calibration_tube_wall"]
        let labels = scan.labels.voxels.map { id -> UInt8 in
            let n = names[id] ?? "air"
            if n.hasPrefix("femur_left") { return FemurMask.Side.left.label }
            if n.hasPrefix("femur_right") { return FemurMask.Side.right.label }
            return outside.contains(n) || n.hasPrefix("calibration_rod") ? 0 : 1
        }
        let heads = scan.truth.femora.map(\.headCenter)
        #expect(heads.count == 2)
        let measured = HipBodyCompositionAnalyzer.measure(scan.hu, labels: labels, headCentres: heads, midlineX: 0)
        #expect(measured != nil)
        guard let (r, tissue) = measured else { return }
        #expect(tissue.allSatisfy { (54...57).contains($0.label) && $0.index / (scan.hu.size.x * scan.hu.size.y) == r.sliceIndex })
        let k = r.sliceIndex
        let plane = scan.labels.size.x * scan.labels.size.y
        var count: [String: Int] = [:]
        for q in 0..<plane { count[names[scan.labels.voxels[q + plane * k]] ?? "?", default: 0] += 1 }
        let px = 0.8 * 0.8 / 100
        func area(_ prefixes: [String], side: String? = nil) -> Double {
            Double(count.filter { e in prefixes.contains { e.key.hasPrefix($0) } && (side.map { e.key.hasSuffix($0) } ?? true) }
                .reduce(0) { $0 + $1.value }) * px
        }
        let muscles = ["gluteus_", "thigh_muscles", "iliopsoas_", "pelvic_wall_floor_muscles"]
        let sma = area(muscles)
        let left = area(["gluteus_", "thigh_muscles", "iliopsoas_"], side: "_left"), right = area(["gluteus_", "thigh_muscles", "iliopsoas_"], side: "_right")
        let sat = area(["subcutaneous_fat", "intermuscular_fat"]), pelvicFat = area(["visceral_fat"])
        #expect(sma > 100 && left > 30 && pelvicFat > 10, "the slice holds the hip muscles and pelvic fat")
        #expect(abs(r.skeletalMuscleArea_cm2 / sma - 1) < 0.10, "muscle \(r.skeletalMuscleArea_cm2) vs \(sma) cm²")
        // The pelvic-wall muscles straddle the mid-line split; each side is compared without them.
        let wall = area(["pelvic_wall_floor_muscles"]) / 2
        #expect(abs(r.leftMuscleArea_cm2 / (left + wall) - 1) < 0.12, "left \(r.leftMuscleArea_cm2) vs \(left + wall) cm²")
        #expect(abs(r.rightMuscleArea_cm2 / (right + wall) - 1) < 0.12, "right \(r.rightMuscleArea_cm2) vs \(right + wall) cm²")
        #expect(abs((r.subcutaneousFatArea_cm2 + r.intermuscularFatArea_cm2) / sat - 1) < 0.10,
                "SAT + IMAT \(r.subcutaneousFatArea_cm2 + r.intermuscularFatArea_cm2) vs \(sat) cm²")
        #expect(abs(r.pelvicFatArea_cm2 / pelvicFat - 1) < 0.15, "pelvic fat \(r.pelvicFatArea_cm2) vs \(pelvicFat) cm²")
        #expect(r.muscleMeanHU > 22 && r.muscleMeanHU < 33, "muscle \(r.muscleMeanHU) HU")
    }
}
