// Body composition on the axial slice through the middle of L3: skeletal muscle area and attenuation,
// intermuscular, subcutaneous and visceral fat, and the skeletal muscle index when height is known.
//
// HU windows (ct-core.md §5, Mitsiopoulos 1998 / Mourtzakis 2008 via the Alberta protocol): muscle −29…150,
// adipose −190…−30. What is muscle and what is an organ of the same HU is decided by where it lies:
//  - rays from the centre of the body every 1°, walked inward from the skin: the first fat run is
//    subcutaneous fat, the next soft-tissue run the muscle wall (abdominal muscles, quadratus lumborum,
//    paraspinals; runs of fat shorter than 3 mm inside it are intermuscular fat), ending at a fat run
//    ≥ 3 mm, gas, bone or 70 mm (within 50° of straight back) / 25 mm (elsewhere). The two boundaries are smoothed by a running median over 9°.
//  - between the skin and the subcutaneous boundary: adipose = SAT;
//    between that and the wall's inner boundary: muscle-window = muscle, adipose = IMAT;
//    inside the wall: adipose = VAT, and muscle-window pixels joined to the sides of the vertebral body
//    (within 70 mm of the mid-line, no farther forward than 5 mm in front of the body; opened with a
//    3 mm disk so that touching bowel comes apart) = psoas, the rest organs and bowel.
// Cut-offs (women): SMI < 38.5 cm²/m² (Prado 2008) and < 41 (Martin 2013); low muscle attenuation
// < 41 HU with BMI < 25, < 33 HU with BMI ≥ 25 (Martin 2013). From cancer cohorts: covariates, not
// diagnoses (ct-core.md).
public import Imaging
import Foundation

public struct BodyCompositionResult: Codable, Sendable, Equatable {
    public var level: String
    public var sliceIndex: Int
    public var z_mm: Double
    public var skeletalMuscleArea_cm2: Double
    public var muscleMeanHU: Double
    public var intermuscularFatArea_cm2: Double
    public var subcutaneousFatArea_cm2: Double
    public var visceralFatArea_cm2: Double
    public var subcutaneousFatMeanHU: Double?
    public var visceralFatMeanHU: Double?
    /// cm²/m², when height is known.
    public var skeletalMuscleIndex: Double?
    public var height_m: Double?
    public var bmi: Double?
    /// Codes: low-smi-prado, low-smi-martin, low-muscle-attenuation.
    public var findings: [String]
    public var method: String
    public var notes: [String]
}

extension BodyCompositionResult {
    static let heightNote = "height unknown: no skeletal muscle index"
    static let bmiNote = "BMI unknown: the muscle-attenuation cut-off (41 HU below BMI 25, 33 HU above) is not applied"

    /// The parts that depend on the woman's height and BMI (from her record, not the CT): the
    /// skeletal muscle index and the cut-off findings. Applied again when a re-score brings a new
    /// height or weight (`analyze --reuse-ct`).
    public mutating func applyAnthropometrics(height_m: Double?, bmi: Double?) {
        self.height_m = height_m
        self.bmi = bmi
        skeletalMuscleIndex = nil
        findings = []
        notes.removeAll { $0 == Self.heightNote || $0 == Self.bmiNote }
        if let h = height_m, h > 0.5, h < 2.5 {
            let s = skeletalMuscleArea_cm2 / (h * h)
            skeletalMuscleIndex = s
            if s < 38.5 { findings.append("low-smi-prado") }
            if s < 41 { findings.append("low-smi-martin") }
        } else {
            notes.append(Self.heightNote)
        }
        if let b = bmi {
            if muscleMeanHU < (b < 25 ? 41 : 33) { findings.append("low-muscle-attenuation") }
        } else {
            notes.append(Self.bmiNote)
        }
    }
}

public enum BodyCompositionAnalyzer {
    static let muscleHU = -29.0...150.0
    static let fatHU = -190.0 ... -30.0
    static let rays = 360
    /// Deepest muscle wall along a ray: paraspinals and quadratus behind (within 50° of straight back),
    /// the thinner abdominal wall elsewhere (rectus and obliques ≈ 10–20 mm; bowel often lies against it).
    static let maxWallBack_mm = 70.0
    static let maxWallFront_mm = 25.0
    static let fatGap_mm = 3.0
    public static let methodText = "single axial slice at mid-L3; muscle −29…150 HU, adipose −190…−30 HU; subcutaneous fat and the muscle wall found along rays from the body centre (first fat run, then soft tissue until ≥ 3 mm of fat, gas, bone, or 70 mm at the back and 25 mm elsewhere); psoas = muscle-window pixels joined to the sides of the vertebral body; IMAT = adipose within the muscle wall"

    /// Label values in labels.nii.gz for the L3 slice's tissues.
    public static let labelValues: [String: UInt8] = ["skeletal muscle (L3 slice)": 50, "intermuscular fat (L3 slice)": 51,
                                                      "subcutaneous fat (L3 slice)": 52, "visceral fat (L3 slice)": 53]

    /// `labels`: the combined label map (non-zero inside the body, vertebral bodies 20…49). Returns the
    /// result and the tissue label of each classified pixel of the slice (voxel index, label value).
    public static func measure(_ v: Volume<Int16>, labels: [UInt8], levels: SpineLevels, height_m: Double?, bmi: Double?)
        -> (BodyCompositionResult, [(index: Int, label: UInt8)])? {
        guard labels.count == v.voxels.count, let l3 = levels.bodies.first(where: { $0.level == "L3" }) else { return nil }
        let g = v.geometry, nx = v.size.x, ny = v.size.y, plane = nx * ny
        let zc = (l3.zRange_mm[0] + l3.zRange_mm[1]) / 2
        guard let kf = g.index(of: Vec3(l3.center[0], l3.center[1], zc))?.z else { return nil }
        let k = Int(kf.rounded())
        guard k >= 0, k < v.size.z else { return nil }
        let sx = g.spacing.x, sy = g.spacing.y
        let px_cm2 = sx * sy / 100
        var notes: [String] = []
        // The body's pixels in this slice, and its centre.
        var cx = 0.0, cy = 0.0, n = 0.0
        for j in 0..<ny { for i in 0..<nx where labels[i + nx * j + plane * k] != 0 { cx += Double(i); cy += Double(j); n += 1 } }
        guard n > 0 else { return nil }
        cx /= n; cy /= n
        @inline(__always) func hu(_ i: Int, _ j: Int) -> Double { Double(v.voxels[i + nx * j + plane * k]) }
        @inline(__always) func inBody(_ i: Int, _ j: Int) -> Bool { i >= 0 && j >= 0 && i < nx && j < ny && labels[i + nx * j + plane * k] != 0 }
        // Rays: distance (mm) of the skin, the SAT's inner boundary, the wall's inner boundary.
        let step = 0.5 * min(sx, sy)
        var rSAT = [Double](repeating: 0, count: rays), rWall = [Double](repeating: 0, count: rays)
        for a in 0..<rays {
            let th = Double(a) * 2 * .pi / Double(rays)
            let dx = cos(th), dy = sin(th)
            // Straight back is +y (LPS); rows run along +y when the row direction does.
            let back = (g.direction.c1.y >= 0 ? dy : -dy) > cos(50 * .pi / 180)
            let maxWall = back ? maxWallBack_mm : maxWallFront_mm
            let samples = raySamples(angle: th, hu: hu, inBody: inBody, cx: cx, cy: cy, sx: sx, sy: sy, step: step)
            let m = samples.count
            guard m > 4 else { continue }
            func isFat(_ h: Double) -> Bool { fatHU.contains(h) }
            let gap = Int((fatGap_mm / step).rounded())
            let lastFat = subcutaneousInnerIndex(samples, step: step)
            rSAT[a] = Double(lastFat) * step
            // Wall: soft tissue inward until a fat run ≥ gap, gas, bone or the maximum depth.
            var t = lastFat - 1
            var lastSoft = lastFat
            var fatRun = 0
            while t > 0 && Double(lastFat - t) * step <= maxWall {
                let h = samples[t]
                if h < fatHU.lowerBound || h > 300 { break }  // gas or bone
                if isFat(h) { fatRun += 1; if fatRun >= gap { break } } else { fatRun = 0; lastSoft = t }
                t -= 1
            }
            rWall[a] = Double(lastSoft) * step
        }
        let sat = smooth(rSAT), wall = smooth(rWall)
        // Psoas seeds: muscle-window pixels touching the vertebral body's label on this slice.
        let l3Value = UInt8(l3.labelValue)
        let scx = l3.center[0], scy = l3.center[1]
        var psoas = [Bool](repeating: false, count: plane)
        var stack: [Int] = []
        // The psoas lies along the sides of the body, its front near the body's front: no farther forward
        // than 5 mm in front of the body, within 70 mm of the mid-line (set once the body is known).
        var bodyFront = scy - 20
        func nearSpine(_ i: Int, _ j: Int) -> Bool {
            let p = g.world(Double(i), Double(j), Double(k))
            return (p.x - scx).magnitude <= 70 && p.y >= bodyFront - 5
        }
        // Seeds: muscle-window pixels within 8 mm of the body's side (lateral of its centre by more than a
        // third of its half-width; the psoas lies along the sides, often behind a thin fat plane).
        var bodyPx: [(Double, Double)] = []
        do {
            for j in 0..<ny { for i in 0..<nx where labels[i + nx * j + plane * k] == l3Value {
                let p = g.world(Double(i), Double(j), Double(k)); bodyPx.append((p.x, p.y))
            } }
        }
        let halfWidth = bodyPx.isEmpty ? 0 : (bodyPx.map(\.0).max()! - bodyPx.map(\.0).min()!) / 2
        if let front = bodyPx.map(\.1).min() { bodyFront = front }
        let reach = 8.0
        if !bodyPx.isEmpty {
            let bi0 = max(0, Int((g.index(of: Vec3(scx - halfWidth - reach, 0, 0))?.x ?? 0).rounded(.down)) - 1)
            let bi1 = min(nx - 1, Int((g.index(of: Vec3(scx + halfWidth + reach, 0, 0))?.x ?? Double(nx - 1)).rounded(.up)) + 1)
            for j in 0..<ny { for i in min(bi0, bi1)...max(bi0, bi1) {
                let q = i + nx * j
                guard muscleHU.contains(hu(i, j)), !SpineSegmenter.isVertebra(labels[q + plane * k]) else { continue }
                let p = g.world(Double(i), Double(j), Double(k))
                guard (p.x - scx).magnitude > halfWidth / 3, (p.y - scy).magnitude < 30 else { continue }
                if bodyPx.contains(where: { ($0.0 - p.x) * ($0.0 - p.x) + ($0.1 - p.y) * ($0.1 - p.y) <= reach * reach }) {
                    psoas[q] = true; stack.append(q)
                }
            } }
        }
        // Grow through the muscle window, staying near the spine and inside the wall.
        func region(_ i: Int, _ j: Int) -> Int {
            // 0 outside/skin-SAT, 1 wall, 2 inside the wall.
            let dx = (Double(i) - cx) * sx, dy = (Double(j) - cy) * sy
            let r = (dx * dx + dy * dy).squareRoot()
            var th = atan2(dy / sy * sy, dx / sx * sx)
            if th < 0 { th += 2 * .pi }
            let a = Int((th / (2 * .pi) * Double(rays)).rounded()) % rays
            return r > sat[a] ? 0 : (r > wall[a] ? 1 : 2)
        }
        // The psoas box: the muscle window near the spine and inside the wall, opened with a 3 mm disk so
        // that bowel loops touching the muscle along a narrow contact come apart; the pieces holding a
        // seed are psoas.
        if let lo = g.index(of: Vec3(scx - 80, scy - 40, 0)), let hi = g.index(of: Vec3(scx + 80, scy + 40, 0)) {
            let bi0 = max(0, Int(min(lo.x, hi.x))), bi1 = min(nx - 1, Int(max(lo.x, hi.x)) + 1)
            let bj0 = max(0, Int(min(lo.y, hi.y))), bj1 = min(ny - 1, Int(max(lo.y, hi.y)) + 1)
            let w = bi1 - bi0 + 1, h = bj1 - bj0 + 1
            var m = [Bool](repeating: false, count: w * h)
            for b in 0..<h { for a in 0..<w {
                let i = a + bi0, j = b + bj0
                m[a + w * b] = inBody(i, j) && muscleHU.contains(hu(i, j)) && nearSpine(i, j) && region(i, j) == 2
                    && !SpineSegmenter.isVertebra(labels[i + nx * j + plane * k])
            } }
            let opened = SpineSegmenter.open(m, w: w, h: h, r: 3, sx: sx, sy: sy)
            var keep = [Bool](repeating: false, count: w * h)
            var st: [Int] = []
            for q in stack {
                let a = q % nx - bi0, b = q / nx - bj0
                if a >= 0, b >= 0, a < w, b < h, opened[a + w * b], !keep[a + w * b] { keep[a + w * b] = true; st.append(a + w * b) }
            }
            while let c = st.popLast() {
                let a = c % w, b = c / w
                for (ok, nb) in [(a > 0, c - 1), (a < w - 1, c + 1), (b > 0, c - w), (b < h - 1, c + w)] where ok && opened[nb] && !keep[nb] {
                    keep[nb] = true; st.append(nb)
                }
            }
            psoas = [Bool](repeating: false, count: plane)
            for c in 0..<(w * h) where keep[c] { psoas[(c % w + bi0) + nx * (c / w + bj0)] = true }
        }
        // The spinal canal (CSF, in the muscle window) lies right behind the body, within 12 mm of the
        // mid-line and 30 mm back from the body's centre plus half its depth: never muscle.
        let bodyBack = bodyPx.map(\.1).max() ?? scy
        func inCanal(_ p: Vec3) -> Bool { (p.x - scx).magnitude <= 12 && p.y >= bodyBack - 2 && p.y <= bodyBack + 30 }
        // Classify.
        var tissue: [(index: Int, label: UInt8)] = []
        var muscle = 0, muscleSum = 0.0, imat = 0, satN = 0, satSum = 0.0, vat = 0, vatSum = 0.0
        for j in 0..<ny { for i in 0..<nx where inBody(i, j) {
            let h = hu(i, j), q = i + nx * j
            if SpineSegmenter.isVertebra(labels[q + plane * k]) { continue }
            let reg = region(i, j)
            var label: UInt8 = 0
            if fatHU.contains(h) {
                switch reg {
                case 0: satN += 1; satSum += h; label = 52
                case 1: imat += 1; label = 51
                default: vat += 1; vatSum += h; label = 53
                }
            } else if muscleHU.contains(h) && (reg == 1 || psoas[q]) && !inCanal(g.world(Double(i), Double(j), Double(k))) {
                muscle += 1; muscleSum += h; label = 50
            }
            if label != 0 && labels[q + plane * k] <= 1 { tissue.append((q + plane * k, label)) }
        } }
        guard muscle > 0 else { return nil }
        let sma = Double(muscle) * px_cm2
        let mHU = muscleSum / Double(muscle)
        var result = BodyCompositionResult(level: "L3", sliceIndex: k, z_mm: g.world(0, 0, Double(k)).z, skeletalMuscleArea_cm2: sma, muscleMeanHU: mHU,
                                           intermuscularFatArea_cm2: Double(imat) * px_cm2, subcutaneousFatArea_cm2: Double(satN) * px_cm2,
                                           visceralFatArea_cm2: Double(vat) * px_cm2, subcutaneousFatMeanHU: satN > 0 ? satSum / Double(satN) : nil,
                                           visceralFatMeanHU: vat > 0 ? vatSum / Double(vat) : nil, skeletalMuscleIndex: nil, height_m: nil, bmi: nil,
                                           findings: [], method: methodText, notes: notes)
        result.applyAnthropometrics(height_m: height_m, bmi: bmi)
        return (result, tissue)
    }

    /// HU sampled every `step` mm from (cx, cy) (pixel indices) along the direction `angle` until the ray
    /// leaves the body.
    static func raySamples(angle: Double, hu: (Int, Int) -> Double, inBody: (Int, Int) -> Bool,
                           cx: Double, cy: Double, sx: Double, sy: Double, step: Double) -> [Double] {
        let dx = cos(angle), dy = sin(angle)
        var samples: [Double] = []
        var r = 0.0
        while true {
            let i = Int((cx + r * dx / sx).rounded()), j = Int((cy + r * dy / sy).rounded())
            guard inBody(i, j) else { break }
            samples.append(hu(i, j))
            r += step
        }
        return samples
    }

    /// Inward from the skin (the last sample): skip up to 6 mm of skin, then the fat run (up to
    /// `fatGap_mm` of non-fat tolerated inside it for noise); the index of its inner end.
    static func subcutaneousInnerIndex(_ samples: [Double], step: Double) -> Int {
        let m = samples.count
        let gap = Int((fatGap_mm / step).rounded())
        var t = m - 1
        while t > 0 && !fatHU.contains(samples[t]) && Double(m - 1 - t) * step < 6 { t -= 1 }
        var lastFat = t
        while t > 0 {
            if fatHU.contains(samples[t]) { lastFat = t } else if lastFat - t > gap { break }
            t -= 1
        }
        return lastFat
    }

    /// Running median over 9 rays (9°): one stray ray does not move a boundary.
    static func smooth(_ x: [Double]) -> [Double] {
        let n = x.count
        return (0..<n).map { a in (-4...4).map { x[(a + $0 + n) % n] }.sorted()[4] }
    }

    /// Distance (mm) from (cx, cy) to the inner boundary of the subcutaneous fat on each of `rays` rays, smoothed.
    static func subcutaneousBoundary(hu: (Int, Int) -> Double, inBody: (Int, Int) -> Bool,
                                     cx: Double, cy: Double, sx: Double, sy: Double) -> [Double] {
        let step = 0.5 * min(sx, sy)
        var r = [Double](repeating: 0, count: rays)
        for a in 0..<rays {
            let samples = raySamples(angle: Double(a) * 2 * .pi / Double(rays), hu: hu, inBody: inBody, cx: cx, cy: cy, sx: sx, sy: sy, step: step)
            guard samples.count > 4 else { continue }
            r[a] = Double(subcutaneousInnerIndex(samples, step: step)) * step
        }
        return smooth(r)
    }
}
