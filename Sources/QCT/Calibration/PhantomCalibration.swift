// Synchronous calibration: the phantom's rods found in the patient's scan, matched to the
// definition's rods and fitted. Which found rod is which certified rod is decided by the fit: of
// all assignments, the one with HU rising with density and the straightest line (phantoms differ
// in which end rod A sits, and a study may be scanned feet first).
public import Imaging
import Foundation

public enum PhantomCalibration {
    /// Calibrates with the named phantom, or, when `phantom` is nil, with whichever phantom of the
    /// catalogue fits best: QC passed first, then more rods (two points always fit a line), then R².
    public static func calibrate(_ v: Volume<Int16>, padding: Int16?, phantom: CalibrationPhantomDefinition?,
                                 catalogue: CalibrationPhantomCatalogue = .builtIn) throws(QCTError) -> DensityCalibration {
        if let phantom {
            let p = phantom.problems()
            guard p.isEmpty else { throw .input(p.joined(separator: "; ")) }
            return try calibrate(try RodFinder.Prepared(v, padding: padding), definition: phantom)
        }
        let prepared = try RodFinder.Prepared(v, padding: padding)
        var results: [DensityCalibration] = []
        var reasons: [String] = []
        // Definitions with the same rod count and radius search the same candidates; the fit decides.
        for def in catalogue.phantoms where def.problems().isEmpty {
            do { results.append(try calibrate(prepared, definition: def)) } catch { reasons.append("\(def.id): \(error)") }
        }
        guard var best = results.max(by: { a, b in
            (a.qc.passed ? 1 : 0, a.points.count, a.rSquared ?? 0) < (b.qc.passed ? 1 : 0, b.points.count, b.rSquared ?? 0)
        }) else {
            // One reason when every phantom failed alike (typically: no rods at all).
            let texts = reasons.map { String($0.drop { $0 != ":" }.dropFirst(2)) }
            let detail = Set(texts).count == 1 ? texts[0] : reasons.prefix(3).joined(separator: "; ") + (reasons.count > 3 ? "; …" : "")
            throw .notMeasurable("no calibration phantom of the catalogue was found in the scan (\(detail))")
        }
        let others = results.filter { $0.reference != best.reference }.map { "\($0.reference ?? "?") R² \(String(format: "%.4f", $0.rSquared ?? 0))" }
        best.notes.append("phantom chosen automatically as the best fit of the catalogue" + (others.isEmpty ? "" : " (also fitted: " + others.joined(separator: ", ") + ")") + "; name it with --phantom to be sure")
        return best
    }

    static func calibrate(_ prepared: RodFinder.Prepared, definition def: CalibrationPhantomDefinition) throws(QCTError) -> DensityCalibration {
        let search = try RodFinder.find(in: prepared, count: def.rods.count, radius: def.rodRadius_mm)
        let found = search.rods
        var best: (fit: DensityCalibration, order: [Int])?
        for perm in permutations(found.count) {
            let hu = perm.map { found[$0].meanHU }
            guard let fit = PhantomFit.fit(def, hu: hu, sd: perm.map { found[$0].sdHU }, voxels: perm.map { found[$0].voxels },
                                           centers: perm.map { found[$0].center.array }, radius: def.rodRadius_mm, notes: []),
                  (fit.slope_HU_per_mgcm3 ?? 0) > 0 else { continue }
            if best == nil || (fit.rSquared ?? 0) > (best!.fit.rSquared ?? 0) { best = (fit, perm) }
        }
        guard var result = best?.fit else {
            throw .notMeasurable("the rods found do not fit phantom '\(def.id)': no assignment makes HU rise with density")
        }
        result.notes = search.notes + [
            String(format: "voxel noise %.1f HU; %d rods matched to the definition by the best straight-line fit", search.noiseSD_HU, found.count),
        ]
        return result
    }

    /// All orderings of 0..<n (n ≤ 6 for phantoms: at most 720).
    static func permutations(_ n: Int) -> [[Int]] {
        guard n > 0 else { return [[]] }
        var out: [[Int]] = []
        func rec(_ prefix: [Int], _ rest: [Int]) {
            if rest.isEmpty { out.append(prefix); return }
            for (i, x) in rest.enumerated() {
                var r = rest
                r.remove(at: i)
                rec(prefix + [x], r)
            }
        }
        rec([], Array(0..<n))
        return out
    }
}
