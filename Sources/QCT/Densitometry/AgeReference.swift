// Z-scores of DXA-equivalent areal BMD against an age-matched reference that the site supplies.
//
// OsteoCT ships no age table: the published NHANES III age-group means and SDs (Looker 1998,
// Osteoporos Int 8:468, Table 5/7) could not be obtained from a primary source here, and a DXA
// site's own densitometer reference (manufacturer or national) is what its clinicians compare Z-scores
// with anyway. The file names its source; every Z-score carries it.
//
// Format (JSON):
//   { "source": "…citation…", "population": "…", "scale": "Hologic|Lunar|…",
//     "regions": { "femoral_neck": [ {"ageFrom": 20, "ageTo": 29.99, "mean_gcm2": …, "sd_gcm2": …}, … ],
//                  "total_hip": [ … ] } }
// Bands must not overlap; an age above the last band uses the last band (said in the note), an age
// below the first band gets no Z-score.
public import Foundation

public struct BMDAgeReference: Codable, Sendable, Equatable {
    public struct Band: Codable, Sendable, Equatable {
        public var ageFrom: Double
        public var ageTo: Double
        public var mean_gcm2: Double
        public var sd_gcm2: Double
        public init(ageFrom: Double, ageTo: Double, mean_gcm2: Double, sd_gcm2: Double) {
            self.ageFrom = ageFrom; self.ageTo = ageTo; self.mean_gcm2 = mean_gcm2; self.sd_gcm2 = sd_gcm2
        }
    }
    public var source: String
    public var population: String
    public var scale: String?
    /// Region name (as in `CTXARegion.name`: femoral_neck, total_hip) → age bands.
    public var regions: [String: [Band]]

    public init(source: String, population: String, scale: String?, regions: [String: [Band]]) {
        self.source = source; self.population = population; self.scale = scale; self.regions = regions
    }

    /// Reads and checks a reference file: a source, bands in order without overlap, positive SDs,
    /// plausible means. Errors say what is wrong and where.
    public static func load(json: [UInt8], path: String) throws(QCTError) -> BMDAgeReference {
        let r: BMDAgeReference
        do { r = try JSONDecoder().decode(BMDAgeReference.self, from: Data(json)) } catch {
            throw .input("\(path): not a BMD age reference (\(error)); expected {\"source\", \"population\", \"regions\": {\"femoral_neck\": [{\"ageFrom\", \"ageTo\", \"mean_gcm2\", \"sd_gcm2\"}…]}}")
        }
        guard !r.source.trimmingCharacters(in: .whitespaces).isEmpty else { throw .input("\(path): \"source\" is empty; name the publication or manufacturer table the values come from") }
        guard !r.regions.isEmpty else { throw .input("\(path): no regions") }
        for (name, bands) in r.regions {
            guard !bands.isEmpty else { throw .input("\(path): region \(name) has no age bands") }
            for (i, b) in bands.enumerated() {
                guard b.ageTo >= b.ageFrom else { throw .input("\(path): \(name) band \(i + 1): ageTo \(b.ageTo) is below ageFrom \(b.ageFrom)") }
                guard b.sd_gcm2 > 0, b.sd_gcm2 < 0.5 else { throw .input("\(path): \(name) band \(i + 1): SD \(b.sd_gcm2) g/cm² is not plausible (0–0.5)") }
                guard b.mean_gcm2 > 0.2, b.mean_gcm2 < 2 else { throw .input("\(path): \(name) band \(i + 1): mean \(b.mean_gcm2) g/cm² is not plausible (0.2–2; values in mg/cm² must be divided by 1000)") }
                if i > 0, b.ageFrom <= bands[i - 1].ageTo { throw .input("\(path): \(name) bands \(i) and \(i + 1) overlap or are out of order") }
            }
        }
        return r
    }

    /// The band for an age: the one containing it, the last one above the table (flagged), nil below.
    public func band(region: String, age: Double) -> (band: Band, beyond: Bool)? {
        guard let bands = regions[region], let first = bands.first, let last = bands.last, age >= first.ageFrom else { return nil }
        if let b = bands.first(where: { age >= $0.ageFrom && age <= $0.ageTo }) { return (b, false) }
        if age > last.ageTo { return (last, true) }
        // In a gap between bands: the band below.
        return bands.last(where: { $0.ageTo < age }).map { ($0, false) }
    }
}

extension CTXA {
    /// Sets each region's Z-score from the reference (DXA-equivalent BMD, age at the scan).
    public static func applyAgeReference(_ r: inout CTXAResult, reference: BMDAgeReference, age: Double) {
        var beyond = false
        var missing: [String] = []
        for i in r.regions.indices {
            guard let (b, over) = reference.band(region: r.regions[i].name, age: age) else { missing.append(r.regions[i].name); continue }
            r.regions[i].zScore = (r.regions[i].dxaEquivalent_gcm2 - b.mean_gcm2) / b.sd_gcm2
            r.regions[i].zReference = [b.ageFrom, b.ageTo, b.mean_gcm2, b.sd_gcm2]
            beyond = beyond || over
        }
        r.notes.removeAll { $0.hasPrefix("Z-score not computed") }
        r.zScoreReference = "\(reference.population), \(reference.source)" + (reference.scale.map { " (\($0) scale)" } ?? "")
            + String(format: "; age at the scan %.1f y", age)
        if beyond { r.notes.append(String(format: "age %.1f y is above the reference's last age band: that band is used", age)) }
        // The DXA-equivalent values come from a line fitted against Lunar DXA (CTXA.swift); a table on
        // another manufacturer's scale reads systematically apart.
        if let scale = reference.scale, !scale.lowercased().contains("lunar"), r.equivalent == "K2HPO4" {
            r.notes.append("the age reference is on the \(scale) scale while the DXA-equivalent values follow a line fitted against Lunar DXA: the Z-scores carry that scale difference")
        }
        if !missing.isEmpty { r.notes.append("no Z-score for \(missing.joined(separator: ", ")): the reference has no band for that region at this age") }
    }
}
