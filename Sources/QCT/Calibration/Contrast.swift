// Intravenous contrast: from the DICOM tags and from the image (an opacified aorta or iliac artery),
// the phase it suggests, and the documented corrections that follow. Contrast raises trabecular HU
// (Pickhardt 2016: +11.2 ± 19.2 HU at L1; Grünewald: +14.4 late arterial, +25.7 portal venous;
// ct-core.md §2.3), so every density-based output of an enhanced study is flagged.
//
// Image rule: per 20 mm slab, a uniform disk of radius 6–14 mm at 120–500 HU whose surroundings are
// ≥ 60 HU darker in at least 6 of 8 directions, and no cortical bone (> 700 HU) within 3 mm of its core (an opacified vessel; bone and organs are surrounded
// by tissue as bright or brighter, or are larger), seen in at least two slabs within 15 mm: a
// tube along the body. Unenhanced blood (≈ 40 HU, phantom-anatomy.md §4) cannot be told from bowel
// by these rules; the unenhanced blood reference waits for vessel segmentation.
public import Imaging
import Foundation

public enum ContrastPhase: String, Codable, Sendable {
    case none, arterial, portalVenous = "portal-venous", enhancedUnknownPhase = "enhanced-unknown-phase"
}

public struct ContrastAssessment: Codable, Sendable, Equatable {
    /// What the tags say: agent/route present, or the series description names a phase or contrast.
    public var tagsSayContrast: Bool?
    public var tagEvidence: [String]
    /// Mean HU of the opacified vessel found, and where (LPS mm).
    public var vesselHU: Double?
    public var vesselCenter: [Double]?
    public var phase: ContrastPhase
    /// Add these to the unenhanced L1 HU thresholds (TotalSegmentator spine report, ct-core.md §2.3 [code]).
    public var l1ThresholdOffset_HU: Double
    public var flagged: Bool
    public var notes: [String]
}

/// What the DICOM series says about contrast.
public struct ContrastTags: Sendable {
    public var agent: String?
    public var route: String?
    public var seriesDescription: String?
    public var protocolName: String?

    public init(agent: String?, route: String?, seriesDescription: String?, protocolName: String?) {
        self.agent = agent
        self.route = route
        self.seriesDescription = seriesDescription
        self.protocolName = protocolName
    }
}

public enum ContrastDetector {
    /// Aortic HU limits of the phases. Unenhanced blood ≈ 38–50 HU; late arterial aorta 290–360 HU
    /// [V]; portal venous ≈ 150–200 HU [M] (phantom-anatomy.md §4). Above 250 HU (between the two
    /// ranges) is read as arterial; 120–250 as portal venous (our cut points).
    static let enhancedHU = 120.0
    /// The image rule needs diagnostic pixels (our choice from the digital phantom: at 3 mm,
    /// posterior vertebral elements passed for vessels; at 0.74 mm nothing did).
    static let maxPixelForImageRule = 1.5
    /// Opacified blood stays below dense bone: late arterial aorta 290–360 HU [V]; 500 HU leaves room
    /// for a tight bolus and keeps cortical bone (≥ 1000 HU) and dense posterior elements out (our choice).
    static let maxVesselHU = 500.0
    static let arterialHU = 250.0
    /// ct-core.md §2.3: TotalSegmentator threshold offsets.
    static let arterialOffset = 20.0
    static let portalVenousOffset = 14.75

    /// `exclude`: centres (LPS mm) and radii of known non-vessels, such as the calibration rods.
    public static func assess(_ v: Volume<Int16>, padding: Int16?, tags: ContrastTags?, exclude: [(center: Vec3, radius: Double)] = []) -> ContrastAssessment {
        var evidence: [String] = []
        var tagSays: Bool?
        var tagPhase: ContrastPhase?
        if let tags {
            tagSays = false
            if let a = tags.agent?.trimmingCharacters(in: .whitespaces), !a.isEmpty { tagSays = true; evidence.append("Contrast/Bolus Agent (0018,0010) '\(a)'") }
            if let r = tags.route?.trimmingCharacters(in: .whitespaces), !r.isEmpty { tagSays = true; evidence.append("Contrast/Bolus Route (0018,1040) '\(r)'") }
            let text = [tags.seriesDescription, tags.protocolName].compactMap { $0?.uppercased() }.joined(separator: " ")
            let negative = ["NON CONTRAST", "NONCONTRAST", "NON-CONTRAST", "W/O", "WITHOUT", "NATIVE", "UNENHANCED", " C-"].first { text.contains($0) }
            if let negative { evidence.append("description says '\(negative.trimmingCharacters(in: .whitespaces))'") }
            else {
                if text.contains("ARTERIAL") || text.contains("ANGIO") { tagSays = true; tagPhase = .arterial; evidence.append("description names an arterial phase") }
                else if text.contains("PORTAL") || text.contains("VENOUS") || text.contains(" PV") { tagSays = true; tagPhase = .portalVenous; evidence.append("description names a portal-venous phase") }
                else if text.contains("CONTRAST") || text.contains(" C+") || text.contains("ENHANCED") { tagSays = true; evidence.append("description mentions contrast") }
            }
        }
        var notes: [String] = []
        // At coarse pixels partial volumes of bone pass for small bright disks: tags only there.
        let fineEnough = v.geometry.spacing.x <= maxPixelForImageRule
        let vessel = fineEnough ? findOpacifiedVessel(v, padding: padding, exclude: exclude) : nil
        if !fineEnough {
            notes.append(String(format: "pixels of %.2f mm are too coarse to look for an opacified vessel (≤ %.1f mm): judged from the tags only", v.geometry.spacing.x, maxPixelForImageRule))
        }
        var phase: ContrastPhase = .none
        if let vessel {
            phase = vessel.hu >= arterialHU ? .arterial : .portalVenous
            notes.append(String(format: "opacified vessel of %.0f HU → %@ phase (aorta > 250 HU arterial, 120–250 portal venous)", vessel.hu, phase.rawValue))
            if let tagPhase, tagPhase != phase { notes.append("the description names the \(tagPhase.rawValue) phase; the image suggests \(phase.rawValue): the image wins") }
        } else if tagSays == true {
            phase = tagPhase ?? .enhancedUnknownPhase
            notes.append("the tags say contrast but no opacified vessel was found in the image (delayed phase, vessel outside the field of view, or a wrong tag)")
        } else if tagSays == nil {
            notes.append(fineEnough ? "no DICOM tags (NIfTI input): judged from the image only" : "no DICOM tags (NIfTI input) and pixels too coarse: contrast unknown, assumed none")
        }
        let offset: Double
        switch phase {
        case .none: offset = 0
        case .arterial: offset = arterialOffset
        case .portalVenous, .enhancedUnknownPhase: offset = portalVenousOffset
        }
        if phase != .none {
            notes.append("density results are flagged: contrast raises trabecular HU (+11.2 ± 19.2 HU at L1, Pickhardt 2016; ct-core.md §2.3); L1 HU thresholds are raised by \(offset) HU")
        }
        return ContrastAssessment(tagsSayContrast: tagSays, tagEvidence: evidence, vesselHU: vessel?.hu, vesselCenter: vessel?.center.array,
                                  phase: phase, l1ThresholdOffset_HU: offset, flagged: phase != .none, notes: notes)
    }

    struct Vessel { var hu: Double; var center: Vec3 }

    static func findOpacifiedVessel(_ v: Volume<Int16>, padding: Int16?, exclude: [(center: Vec3, radius: Double)]) -> Vessel? {
        let nx = v.size.x, ny = v.size.y, nz = v.size.z
        guard abs(v.geometry.direction.c2.z) > 0.95 else { return nil }
        let sp = v.geometry.spacing.x
        let perSlab = max(1, Int((20 / v.geometry.spacing.z).rounded()))
        var hits: [(slab: Int, i: Double, j: Double, hu: Double, score: Double, k: Int)] = []
        var slabIndex = 0
        var k0 = 0
        while k0 < nz {
            let slices = k0..<min(k0 + perSlab, nz)
            k0 = slices.upperBound
            defer { slabIndex += 1 }
            let (mean, valid) = slabMean(v, slices: slices, padding: padding)
            let sum = RodFinder.Integral(mean, nx: nx, ny: ny), sq = RodFinder.Integral(mean.map { $0 * $0 }, nx: nx, ny: ny)
            // Cortical bone (> 700 HU on the slab mean) and 3 mm around it: bone marrow and partial
            // volumes of cortex near it look like small bright disks; vessels keep away from it.
            let nearCortex = RodFinder.Integral(mean.map { $0 > 700 ? 1 : 0 }, nx: nx, ny: ny)
            let grow = max(1, Int((3 / sp).rounded()))
            var best: (i: Double, j: Double, hu: Double, score: Double)?
            for radius in stride(from: 6.0, through: 14.0, by: 2.0) {
                let h = max(0, Int(((radius - max(1.5 * sp, 1.5)) / 2.0.squareRoot() / sp).rounded(.down)))
                let reach = Int(((radius + 4) / sp).rounded(.up)) + 1
                guard nx > 2 * reach, ny > 2 * reach else { continue }
                for j in reach..<(ny - reach) {
                    for i in reach..<(nx - reach) {
                        let c = mean[j * nx + i]
                        guard c >= enhancedHU, c <= maxVesselHU, valid[j * nx + i] else { continue }
                        let n = Double((2 * h + 1) * (2 * h + 1))
                        let mu = sum.sum(i - h, j - h, i + h, j + h) / n
                        guard mu >= enhancedHU, mu <= maxVesselHU, sq.sum(i - h, j - h, i + h, j + h) / n - mu * mu <= 20 * 20 else { continue }
                        if !exclude.isEmpty {
                            let w = v.geometry.world(Double(i), Double(j), Double(slices.lowerBound))
                            if exclude.contains(where: { e in
                                let dx = w.x - e.center.x, dy = w.y - e.center.y
                                return (dx * dx + dy * dy).squareRoot() < e.radius + radius + 5
                            }) { continue }
                        }
                        let g = h + grow
                        guard i - g >= 0, j - g >= 0, i + g < nx, j + g < ny, nearCortex.sum(i - g, j - g, i + g, j + g) == 0 else { continue }
                        var darker = 0
                        for a in 0..<8 {
                            let ang = Double(a) * .pi / 4
                            var ring = 0.0
                            for q in 0..<3 {
                                let rr = radius + 1 + Double(q) * 1.5
                                let x = Int((Double(i) + rr / sp * cos(ang)).rounded()), y = Int((Double(j) + rr / sp * sin(ang)).rounded())
                                ring += mean[y * nx + x]
                            }
                            if ring / 3 <= mu - 60 { darker += 1 }
                        }
                        guard darker >= 6 else { continue }
                        let score = mu * Double(darker)
                        if best == nil || score > best!.score { best = (Double(i), Double(j), mu, score) }
                    }
                }
            }
            if let b = best { hits.append((slabIndex, b.i, b.j, b.hu, b.score, slices.lowerBound + slices.count / 2)) }
        }
        // A tube: hits in neighbouring slabs within 15 mm of each other.
        var bestTrack: [Int] = []
        for a in hits.indices {
            var track = [a]
            for b in hits.indices where hits[b].slab == hits[track.last!].slab + 1 {
                let d = ((hits[b].i - hits[track.last!].i) * sp, (hits[b].j - hits[track.last!].j) * sp)
                if (d.0 * d.0 + d.1 * d.1).squareRoot() <= 15 { track.append(b) }
            }
            if track.count > bestTrack.count { bestTrack = track }
        }
        guard bestTrack.count >= 2 else { return nil }
        let hus = bestTrack.map { hits[$0].hu }.sorted()
        let mid = hits[bestTrack[bestTrack.count / 2]]
        return Vessel(hu: hus[hus.count / 2], center: v.geometry.world(mid.i, mid.j, Double(mid.k)))
    }
}
