// The catalogue of calibration phantoms: which rods a phantom has, their certified densities, and
// which equations turn rod HU into a calibration. Built-in values are published certificate values
// (ct-core.md §2.1, read in Bonelab/Ogo `ogo/util/Helper.py::get_phantom`); they are serial-specific,
// so a site adds or overrides entries with its own certificate (`--phantom-catalogue FILE`, same JSON).
public import Foundation

/// Mineral the rods (and hence the reported densities) are equivalent to.
public enum MineralEquivalent: String, Codable, Sendable {
    case k2hpo4 = "K2HPO4"
    case hydroxyapatite = "hydroxyapatite"
}

/// How rod HU and certified densities become HU = σ·ρ + β.
public enum CalibrationEquations: String, Codable, Sendable {
    /// Plain least squares of HU on ρ (CHA phantoms and water-equivalent K2HPO4 pads; Ogo
    /// standard_calibration).
    case linear
    /// Mindways K2HPO4-in-water rods (QCT PRO User Guide v5.0 via Ogo mindways_calibration):
    /// fit HU − ρ_water = σ_ref·ρ + β_ref, then σ_CT = σ_ref − 0.2174, β_CT = β_ref + 999.6.
    case mindwaysWaterCorrected = "mindways-water-corrected"
}

public struct CalibrationRodDefinition: Codable, Sendable, Equatable {
    public var name: String
    /// Certified mineral density, mg/cm³ (negative values occur: K2HPO4-in-water rods below water).
    public var density_mgcm3: Double
    /// Certified water density of the rod solution, mg/cm³ (Mindways equations only).
    public var waterDensity_mgcm3: Double?

    public init(name: String, density_mgcm3: Double, waterDensity_mgcm3: Double? = nil) {
        self.name = name
        self.density_mgcm3 = density_mgcm3
        self.waterDensity_mgcm3 = waterDensity_mgcm3
    }
}

public struct CalibrationPhantomDefinition: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var equivalent: MineralEquivalent
    public var equations: CalibrationEquations
    public var rods: [CalibrationRodDefinition]
    /// Rod radius in mm when known; the rod finder searches 3–15 mm otherwise.
    public var rodRadius_mm: Double?
    public var source: String

    public init(id: String, name: String, equivalent: MineralEquivalent, equations: CalibrationEquations,
                rods: [CalibrationRodDefinition], rodRadius_mm: Double?, source: String) {
        self.id = id
        self.name = name
        self.equivalent = equivalent
        self.equations = equations
        self.rods = rods
        self.rodRadius_mm = rodRadius_mm
        self.source = source
    }

    /// Problems that make the definition unusable, in words.
    public func problems() -> [String] {
        var out: [String] = []
        if rods.count < 2 { out.append("phantom '\(id)' needs at least 2 rods, has \(rods.count)") }
        if Set(rods.map(\.density_mgcm3)).count < min(2, rods.count) { out.append("phantom '\(id)': all rods have the same density") }
        if equations == .mindwaysWaterCorrected, rods.contains(where: { $0.waterDensity_mgcm3 == nil }) {
            out.append("phantom '\(id)': the Mindways equations need waterDensity_mgcm3 for every rod (from the certificate)")
        }
        if let r = rodRadius_mm, !(1...50).contains(r) { out.append("phantom '\(id)': rodRadius_mm \(r) is outside 1–50 mm") }
        for rod in rods where !rod.density_mgcm3.isFinite || abs(rod.density_mgcm3) > 3000 {
            out.append("phantom '\(id)' rod \(rod.name): density \(rod.density_mgcm3) mg/cm³ is not plausible")
        }
        return out
    }
}

public struct CalibrationPhantomCatalogue: Sendable {
    public private(set) var phantoms: [CalibrationPhantomDefinition]

    /// Built-in phantoms. Values are certificate values of particular serials; use your own certificate.
    public static let builtIn = CalibrationPhantomCatalogue(phantoms: [
        // ct-core.md §2.1 [code: Ogo Helper.get_phantom]: serials #4541A/#4560.
        .init(id: "mindways-model-3-ct", name: "Mindways Model 3 CT (serials 4541A/4560)", equivalent: .k2hpo4,
              equations: .mindwaysWaterCorrected,
              rods: zip(["A", "B", "C", "D", "E"], zip([-51.83, -53.40, 58.88, 157.05, 375.83], [1012.25, 1056.95, 1103.57, 1119.52, 923.20]))
                .map { CalibrationRodDefinition(name: $0, density_mgcm3: $1.0, waterDensity_mgcm3: $1.1) },
              rodRadius_mm: nil, source: "ct-core.md §2.1 (Bonelab/Ogo Helper.get_phantom); certificate values of serials 4541A/4560"),
        .init(id: "mindways-model-3-qa", name: "Mindways Model 3 QA", equivalent: .k2hpo4, equations: .mindwaysWaterCorrected,
              rods: zip(["A", "B", "C", "D"], zip([58.88, -53.40, 157.05, 157.13], [1103.57, 1056.95, 1119.52, 1120.10]))
                .map { CalibrationRodDefinition(name: $0, density_mgcm3: $1.0, waterDensity_mgcm3: $1.1) },
              rodRadius_mm: nil, source: "ct-core.md §2.1 (Bonelab/Ogo Helper.get_phantom)"),
        .init(id: "qrm-bdc-3", name: "QRM-BDC 3-rod", equivalent: .hydroxyapatite, equations: .linear,
              rods: zip(["A", "B", "C"], [100.0, 400, 800]).map { CalibrationRodDefinition(name: $0, density_mgcm3: $1) },
              rodRadius_mm: nil, source: "ct-core.md §2.1 (Bonelab/Ogo Helper.get_phantom)"),
        .init(id: "qrm-bdc-6", name: "QRM-BDC 6-rod", equivalent: .hydroxyapatite, equations: .linear,
              rods: zip(["A", "B", "C", "D", "E", "F"], [0.0, 100, 200, 400, 600, 800]).map { CalibrationRodDefinition(name: $0, density_mgcm3: $1) },
              rodRadius_mm: nil, source: "ct-core.md §2.1 (Bonelab/Ogo Helper.get_phantom)"),
        .init(id: "image-analysis-qct-3d-plus", name: "Image Analysis QCT-3D Plus", equivalent: .hydroxyapatite, equations: .linear,
              rods: zip(["A", "B", "C"], [8.0, 97.3, 189.8]).map { CalibrationRodDefinition(name: $0, density_mgcm3: $1) },
              rodRadius_mm: nil, source: "ct-core.md §2.1 (Bonelab/Ogo Helper.get_phantom)"),
        .init(id: "b-mas-200", name: "B-MAS 200", equivalent: .hydroxyapatite, equations: .linear,
              rods: zip(["A", "B", "C", "D", "E"], [0.0, 50, 100, 150, 200]).map { CalibrationRodDefinition(name: $0, density_mgcm3: $1) },
              rodRadius_mm: nil, source: "ct-core.md §2.1 (Bonelab/Ogo Helper.get_phantom)"),
        .init(id: "siemens-osteo", name: "Siemens Osteo", equivalent: .hydroxyapatite, equations: .linear,
              rods: zip(["A", "B"], [0.0, 200]).map { CalibrationRodDefinition(name: $0, density_mgcm3: $1) },
              rodRadius_mm: nil, source: "ct-core.md §2.1 (Bonelab/Ogo Helper.get_phantom)"),
        // The pad of `osteoct phantom` (Sources/Phantom/Equipment.swift): K2HPO4 rods Ø 18 mm in
        // water-equivalent resin, default concentrations.
        .init(id: "osteoct-digital", name: "OsteoCT digital phantom pad (default rods)", equivalent: .k2hpo4, equations: .linear,
              rods: zip(["1", "2", "3", "4"], [0.0, 50, 100, 200]).map { CalibrationRodDefinition(name: $0, density_mgcm3: $1) },
              rodRadius_mm: 9, source: "osteoct phantom defaults (calibrationRodConcentrations_mgcm3)"),
    ])

    public init(phantoms: [CalibrationPhantomDefinition]) { self.phantoms = phantoms }

    public func phantom(_ id: String) -> CalibrationPhantomDefinition? { phantoms.first { $0.id == id } }

    /// Adds a site's entries from a JSON array of definitions; an entry with an existing id replaces it.
    public mutating func add(contentsOf url: URL) throws(QCTError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw QCTError.input("cannot read the phantom catalogue \(url.path): \(error.localizedDescription)")
        }
        let entries: [CalibrationPhantomDefinition]
        do { entries = try JSONDecoder().decode([CalibrationPhantomDefinition].self, from: data) } catch {
            throw QCTError.input("\(url.path) is not a phantom catalogue (a JSON array of {id, name, equivalent, equations, rods, rodRadius_mm, source}): \(error)")
        }
        for e in entries {
            let p = e.problems()
            if !p.isEmpty { throw QCTError.input("\(url.path): " + p.joined(separator: "; ")) }
            phantoms.removeAll { $0.id == e.id }
            phantoms.append(e)
        }
    }
}
