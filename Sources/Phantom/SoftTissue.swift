// Soft tissue: body outline, skin, subcutaneous fat (SAT), the deep envelope (fascia) filled with
// intermuscular fat, the abdominal and pelvic cavity (visceral fat, VAT), muscles, organs and vessels.
//
// Cross-sections are convex, between an ellipse and a squircle, with semi-axes that vary with z (piecewise-
// linear profiles);
// the torso stops at the perineum and continues as two thighs. At L3 the outline is the §8 body section
// (width × depth), SAT thickness is solved so that the analytic SAT area matches the §8 target, muscles
// are scaled toward the §8 SMA, and the bowel is sized so that the remaining cavity fat approximates the
// §8 VAT; the truth reports the areas measured on the label map.
import Imaging

struct BodyModel: Sendable {
    let outline: Shape        // skin surface
    let fascia: Shape         // deep envelope (SAT inside the outline, outside this)
    let cavity: Shape         // abdominal and pelvic cavity (VAT)
    let l3Z: Double
    let muscleScale: Double
    /// Radius of a unit bowel loop at L3, mm.
    let bowelInset: Double
    let cavitySweep: ZSweep
    /// Posterior limit of the fascia (y of its back surface) as a function of z.
    let fasciaBack: Profile
    let spineY: Profile

    /// Bowel loops in normalised cavity coordinates (u across, v front (−) to back (+)), relative radius
    /// and lowest z: ascending and descending colon at the flanks, small-bowel loops in front (assumed).
    static let loops: [(u: Double, v: Double, r: Double, z0: Double)] = [
        (-0.70, 0.02, 0.95, 90), (0.72, 0.06, 0.8, 90),
        (-0.36, -0.50, 1.0, 50), (0.0, -0.58, 1.0, 40), (0.36, -0.50, 1.0, 50),
        (-0.38, -0.04, 0.9, 60), (0.02, -0.14, 0.9, 45), (0.40, -0.04, 0.9, 60),
    ]

    /// Empirical corrections, tuned once on the label maps of the standard-size phantom so that the L3
    /// areas land near the §8 targets (the analytic estimates above ignore clipping by the fascia, bones
    /// painted over muscle, and loop overlap): a factor on the muscle scale, and the area (mm²) of cavity
    /// contents other than fat and bowel at L3.
    static func calibration(_ p: PhantomPreset) -> (muscle: Double, otherCavityContents: Double) {
        switch p {
        case .normalYoung: return (1.107, 3100)
        case .standard: return (0.957, 4400)
        case .osteoporotic: return (0.925, 2800)
        }
    }

    /// Table contact plane (posterior surface of back and buttocks), assumed.
    static let tableContactY = 112.0
    static let perineumZ = -68.0

    init(preset: PhantomPreset, anatomy a: PhantomAnatomy, spine: SpineModel, bodySizeScale: Double) {
        let l3 = spine.vertebra(.L3)
        let l3Z = l3.center.z
        self.l3Z = l3Z
        // Spine A-P position as a function of z (centre of the bodies).
        var zs: [Double] = [-200, 60], ys: [Double] = [60, 60]
        for v in spine.vertebrae.reversed() { zs.append(v.center.z); ys.append(v.center.y) }
        zs.append(400); ys.append(spine.vertebrae[0].center.y)
        spineY = Profile(z: zs, v: ys)

        // Standard-woman profiles (§8 standard: L3 section 340 × 240 mm), then scaled to the preset's L3 section;
        // hips follow 40 % of the abdominal scaling (the pelvis does not scale with fat).
        let zc: [Double] = [BodyModel.perineumZ - 10, -20, 20, 60, 100, 140, l3Z, 330]
        let kx = a.l3BodyWidth / 340, ky = a.l3BodyDepth / 240
        func blend(_ k: Double, _ z: Double) -> Double {
            let w = smoothstep(40, 130, z)
            return 1 + (k - 1) * (0.4 + 0.6 * w)
        }
        let aStd: [Double] = [176, 180, 182, 178, 172, 170, 170, 165]
        let bStd: [Double] = [110, 112, 116, 118, 120, 120, 120, 116]   // half A-P extent
        let overhang: [Double] = [10, 10, 10, 6, 2, 0, 0, 0]             // flattened against the table
        let A = Profile(z: zc, v: zip(aStd, zc).map { $0 * blend(kx, $1) })
        let Bhalf = Profile(z: zc, v: zip(bStd, zc).map { $0 * blend(ky, $1) })
        let yc = Profile(z: zc, v: zip(zc.indices, zc).map { i, z in BodyModel.tableContactY + overhang[i] - Bhalf.at(z) })
        // SAT thickness pattern (assumed: thicker in front and at the flanks, thinner over the spine).
        let tLat0 = Profile(z: zc, v: [34, 34, 34, 32, 30, 28, 28, 26])
        let tAnt0 = Profile(z: zc, v: [24, 24, 26, 30, 34, 35, 35, 32])
        let tPost0 = Profile(z: zc, v: [26, 28, 28, 22, 16, 15, 15, 15])
        // Solve the SAT scale at L3 so that area(outline − skin) − area(fascia) = §8 SAT target.
        let outer = ZSweep(xc: 0, A: A.adding(Profile(z: zc, v: zc.map { _ in -AnatomyConstants.skinThickness })),
                           Bant: Bhalf.adding(Profile(z: zc, v: zc.map { _ in -AnatomyConstants.skinThickness })),
                           Bpost: Bhalf.adding(Profile(z: zc, v: zc.map { _ in -AnatomyConstants.skinThickness })),
                           yc: yc, z0: -1000, z1: 1000)
        func satArea(_ f: Double) -> Double {
            let inner = ZSweep(xc: 0, A: A.adding(tLat0.scaled(-f)), Bant: Bhalf.adding(tAnt0.scaled(-f)),
                               Bpost: Bhalf.adding(tPost0.scaled(-f)), yc: yc, z0: -1000, z1: 1000)
            return outer.area(at: l3Z) - inner.area(at: l3Z)
        }
        var lo = 0.05, hi = 3.0
        for _ in 0..<60 {
            let mid = (lo + hi) / 2
            if satArea(mid) < a.l3SAT_cm2 * 100 { lo = mid } else { hi = mid }
        }
        let f = (lo + hi) / 2 * bodySizeScale
        // Outline grows with the body-size scale around a fixed fascia.
        let fA = A.adding(tLat0.scaled(-(lo + hi) / 2)), fBant = Bhalf.adding(tAnt0.scaled(-(lo + hi) / 2))
        let fBpost = Bhalf.adding(tPost0.scaled(-(lo + hi) / 2))
        let oA = fA.adding(tLat0.scaled(f)), oBant = fBant.adding(tAnt0.scaled(f)), oBpost = fBpost.adding(tPost0.scaled(f))
        // Outline and fascia share the centre; a larger body extends past the table plane and is flattened.
        let ycF = yc
        let torsoO = ZSweep(xc: 0, A: oA, Bant: oBant, Bpost: oBpost, yc: ycF, z0: BodyModel.perineumZ - 10, z1: 1000).shape()
        let torsoF = ZSweep(xc: 0, A: fA, Bant: fBant, Bpost: fBpost, yc: ycF, z0: BodyModel.perineumZ - 8, z1: 1000).shape()
        fasciaBack = Profile(z: zc, v: zc.map { min(ycF.at($0) + fBpost.at($0), BodyModel.tableContactY - 8) })
        // Thighs: round, resting on the table, joined to the torso with a smooth union.
        let thighR = 84.0
        let tThigh = 30 * (lo + hi) / 2     // thigh SAT (assumed ≈ 30 mm at the standard scale)
        func thigh(_ sgn: Double, _ r: Double) -> Shape {
            let cy = BodyModel.tableContactY - thighR
            let c = Vec3(sgn * 92, cy, 0)
            return Shape(bounds: Box(lo: Vec3(c.x - r, cy - r, -1000), hi: Vec3(c.x + r, cy + r, 0))) { p in
                let d = ((p.x - c.x) * (p.x - c.x) + (p.y - c.y) * (p.y - c.y)).squareRoot() - r
                return max(d, p.z - 0)
            }
        }
        let fThighR = thighR - tThigh, oThighR = fThighR + 30 * f
        let table = Shape.halfSpace(point: Vec3(0, BodyModel.tableContactY, 0), outward: Vec3(0, 1, 0))
        outline = torsoO.smoothUnion(thigh(1, oThighR).union(thigh(-1, oThighR)), k: 30).intersection(table)
        fascia = torsoF.smoothUnion(thigh(1, fThighR).union(thigh(-1, fThighR)), k: 24)
            .intersection(Shape.halfSpace(point: Vec3(0, BodyModel.tableContactY - 8, 0), outward: Vec3(0, 1, 0)))

        // Muscle scaling toward the §8 SMA (the standard geometry gives ≈ 105 cm²).
        muscleScale = (a.l3SMA_cm2 / 105).squareRoot() * BodyModel.calibration(preset).muscle

        // Cavity: inside the abdominal wall; in the pelvis between the bony walls; ends at the pelvic floor.
        let cz: [Double] = [-38, -15, 20, 60, 100, 140, l3Z, 330]
        let wall = 6.5 * muscleScale       // abdominal wall thickness (assumed; rectus ≈ 10 mm, thinner with age)
        let cA = Profile(z: cz, v: [30, 45, 58, 80, 112, fA.at(140) - wall, fA.at(l3Z) - wall, fA.at(330) - wall])
        let frontY = Profile(z: cz, v: cz.map { z in ycF.at(z) - fBant.at(z) + wall })
        let backY = Profile(z: cz, v: [55, 60, 62, 60, 66, 70, 72, 72])
        let cyc = Profile(z: cz, v: cz.map { (frontY.at($0) + backY.at($0)) / 2 })
        let cB = Profile(z: cz, v: cz.map { (backY.at($0) - frontY.at($0)) / 2 })
        cavitySweep = ZSweep(xc: 0, A: cA, Bant: cB, Bpost: cB, yc: cyc, z0: -38, z1: 1000)
        // Kept one wall thickness inside the torso's fascia (the torso part alone: cheaper than the full
        // fascia with the thighs, and the cavity ends above the perineum).
        let wallP = Profile(z: zc, v: zc.map { _ in -wall })
        let torsoInner = ZSweep(xc: 0, A: fA.adding(wallP), Bant: fBant.adding(wallP), Bpost: fBpost.adding(wallP), yc: ycF,
                                z0: -40, z1: 1000).shape()
        cavity = cavitySweep.shape().intersection(torsoInner)
        // Bowel loops: tubes running along z inside the cavity, sized so that the cavity fat left at L3
        // approximates the VAT target. The other cavity contents at L3 (psoas, kidneys, vessels, spine) and
        // the overlap of loops are an empirical allowance (tuned on the standard preset).
        let cArea = cavitySweep.area(at: l3Z)
        let others = BodyModel.calibration(preset).otherCavityContents
        let loopArea = max(2000, cArea - a.l3VAT_cm2 * 100 - others)
        let rel2 = BodyModel.loops.reduce(0) { $0 + $1.r * $1.r }
        bowelInset = (loopArea / (Double.pi * rel2)).squareRoot()
    }

    func layers(into b: inout SceneBuilder, tissues: TissueTable, spine: SpineModel, femora: [FemurModel]) {
        b.add("skin", outline, tissues.skin)
        b.add("subcutaneous_fat", outline.offset(-AnatomyConstants.skinThickness), tissues.sat)
        b.add("fascia_intermuscular_fat", fascia, tissues.imat)
        let ms = muscleScale
        let fascia = self.fascia
        func clipF(_ s: Shape) -> Shape { s.intersection(fascia.offset(-1)) }

        // Abdominal wall: the fascia in front of the back muscles above the pelvis (the cavity is painted over
        // it; posterolaterally it stands for the obliques and latissimus reaching the lumbar fascia).
        let spineY = self.spineY
        // y − spineY(z) has gradient length √(1 + slope²): divide to stay 1-Lipschitz.
        let kSpine = 1 / (1 + spineY.maxSlope * spineY.maxSlope).squareRoot()
        let wall = Shape(bounds: fascia.bounds.intersection(Box(lo: Vec3(-1e9, -1e9, 40), hi: Vec3(1e9, 1e9, 1e9)))) { p in
            max(fascia.f(p), max((p.y - (spineY.at(p.z) + 42)) * kSpine, 40 - p.z))
        }
        b.add("abdominal_wall", wall, tissues.muscle(PhantomLabel.abdominalWall))
        // Hip and thigh muscles fill the fascia below the iliac crests (anterior hip muscles, adductors,
        // quadriceps, hamstrings, deep hip rotators), one label per side.
        for side in PhantomSide.allCases {
            let sgn = side.sign
            let half = Shape(bounds: fascia.bounds.intersection(Box(lo: Vec3(sgn > 0 ? 0 : -1e9, -1e9, -1e9),
                                                                    hi: Vec3(sgn > 0 ? 1e9 : 0, 1e9, 70)))) { p in
                max(fascia.f(p), max(-sgn * p.x, p.z - 70))
            }
            b.add("thigh_hip_muscles_\(side.rawValue)", half,
                  tissues.muscle(side == .left ? PhantomLabel.thighMusclesLeft : PhantomLabel.thighMusclesRight))
        }
        b.add("cavity", cavity, tissues.vat)

        // Organs.
        let cav = cavity
        let cs = cavitySweep
        let q = bowelInset
        let l3 = spine.vertebra(.L3)
        var loops: [Shape] = []
        let aL3 = cs.A.at(l3Z)
        for (i, l) in BodyModel.loops.enumerated() {
            // Centres follow the cavity's normalised coordinates with a gentle meander (deterministic).
            let zsL = stride(from: 40.0, through: 330.0, by: 30.0).map { $0 }
            let ph = Double(i) * 1.7
            let cx = Profile(z: zsL, v: zsL.map { z in (l.u + 0.07 * M.sin(z / 41 + ph)) * cs.A.at(z) })
            let cy = Profile(z: zsL, v: zsL.map { z in cs.yc.at(z) + (l.v + 0.06 * M.cos(z / 33 + ph)) * cs.Bant.at(z) })
            let r = Profile(z: zsL, v: zsL.map { z in l.r * q * min(1, cs.A.at(z) / aL3) })
            loops.append(ZTube(cx: cx, cy: cy, r: r, z0: l.z0, z1: 330).shape())
        }
        b.add("bowel", Shape.union(loops).intersection(cav.offset(-2)), tissues.organ(PhantomLabel.bowel))
        b.add("liver", Shape.ellipsoid(Frame.axisAligned(Vec3(-70, -10, 305)), 80, 75, 70).intersection(cav),
              tissues.liver)
        b.add("kidney_left", Shape.ellipsoid(Frame.axisAligned(Vec3(74, 44, 228)), 27, 22, 55), tissues.kidney(PhantomLabel.kidneyLeft))
        b.add("kidney_right", Shape.ellipsoid(Frame.axisAligned(Vec3(-74, 44, 213)), 27, 22, 55), tissues.kidney(PhantomLabel.kidneyRight))
        b.add("bladder", Shape.ellipsoid(Frame.axisAligned(Vec3(0, -36, 14)), 38, 28, 30), tissues.bladder)
        b.add("uterus", Shape.ellipsoid(Frame.axisAligned(Vec3(0, 4, 42)), 27, 18, 24), tissues.organ(PhantomLabel.pelvicOrgans))
        b.add("rectum", Shape.tube([Vec3(0, 48, 78), Vec3(0, 56, 30), Vec3(0, 52, -30)], [13, 15, 12]),
              tissues.organ(PhantomLabel.pelvicOrgans))

        // Muscles (scaled toward the SMA target).
        for side in PhantomSide.allCases {
            let sgn = side.sign
            let fem = femora[side == .left ? 0 : 1]
            let H = fem.headCenter, hx = abs(H.x), hy = H.y
            func P(_ x: Double, _ y: Double, _ z: Double) -> Vec3 { Vec3(sgn * x, y, z) }
            let L = { (l: VertebralLevel) in spine.vertebra(l) }
            // Psoas along the lumbar bodies, then iliopsoas in front of the hip to the lesser trochanter.
            let psoasPts = [
                P(24, L(.T12).center.y + 6, L(.T12).center.z), P(29, L(.L1).center.y, L(.L1).center.z),
                P(35, L(.L2).center.y - 2, L(.L2).center.z), P(40, L(.L3).center.y - 4, L(.L3).center.z),
                P(46, L(.L4).center.y - 8, L(.L4).center.z), P(54, L(.L5).center.y - 16, L(.L5).center.z),
                P(hx - 20, hy - 22, 60), P(hx - 10, hy - 42, 12), P(hx - 8, hy - 36, -22),
                fem.ltApex + fem.ltDirection * (-4),
            ]
            let psoasR: [Double] = [5, 9, 12, 14.5, 17, 19, 18, 15, 13, 8].map { $0 * ms }
            let label = side == .left ? PhantomLabel.iliopsoasLeft : PhantomLabel.iliopsoasRight
            b.add("iliopsoas_\(side.rawValue)", Shape.tube(psoasPts, psoasR), tissues.muscle(label))
            // Iliacus: a thick plate on the inner surface of the iliac wing.
            b.add("iliacus_\(side.rawValue)",
                  Shape.quadPlate([P(hx + 22, hy - 12, 122), P(hx - 12, hy + 42, 118), P(hx - 18, hy + 10, 62),
                                   P(hx + 4, hy - 30, 58)], [9 * ms, 9 * ms, 13 * ms, 13 * ms]),
                  tissues.muscle(label))
            // Quadratus lumborum, lateral to the transverse processes.
            let ql = Shape.tube([P(52, L(.T12).center.y + 24, L(.T12).center.z), P(60, L(.L3).center.y + 24, L(.L3).center.z),
                                 P(66, L(.L5).center.y + 26, 140)], [7 * ms, 11 * ms, 8 * ms])
            b.add("quadratus_lumborum_\(side.rawValue)", ql,
                  tissues.muscle(side == .left ? PhantomLabel.quadratusLumborumLeft : PhantomLabel.quadratusLumborumRight))
            // Paraspinal muscles (erector spinae + multifidus): elliptic columns beside the spinous processes.
            let zTop = 400.0
            let para = ZSweep(xc: sgn * 33, A: Profile(z: [60, 110, 200], v: [15 * ms, 27 * ms, 31 * ms]),
                              Bant: Profile(z: [60, 110, 200], v: [12 * ms, 22 * ms, 26 * ms]),
                              Bpost: Profile(z: [60, 110, 200], v: [12 * ms, 22 * ms, 26 * ms]),
                              yc: Profile(z: spineY.z, v: spineY.v.map { $0 + 15.5 + 36 }), z0: 50, z1: zTop).shape()
            // Clipped at the back of the fascia (a cheap stand-in for the full fascia surface here).
            let back = fasciaBack
            let kb = 1 / (1 + back.maxSlope * back.maxSlope).squareRoot()
            let paraClipped = Shape(bounds: para.bounds) { p in max(para.f(p), (p.y - back.at(p.z) + 1) * kb) }
            b.add("paraspinal_\(side.rawValue)", paraClipped,
                  tissues.muscle(side == .left ? PhantomLabel.paraspinalLeft : PhantomLabel.paraspinalRight))
            // Gluteus medius and minimus: on the outer surface of the ilium down to the greater trochanter.
            let gt = fem.greaterTrochanterTip
            b.add("gluteus_medius_minimus_\(side.rawValue)",
                  clipF(Shape.quadPlate([P(hx + 50, hy - 10, 132), P(hx + 22, hy + 62, 118),
                                         Vec3(gt.x + sgn * 2, gt.y + 14, gt.z + 4), Vec3(gt.x + sgn * 6, gt.y - 16, gt.z + 8)],
                                        [13 * ms, 14 * ms, 16 * ms, 15 * ms])),
                  tissues.muscle(side == .left ? PhantomLabel.gluteusMediusMinimusLeft : PhantomLabel.gluteusMediusMinimusRight))
            // Gluteus maximus: the buttock, from the sacrum and coccyx to the gluteal tuberosity.
            b.add("gluteus_maximus_\(side.rawValue)",
                  clipF(Shape.quadPlate([P(22, 94, 92), P(hx + 64, 72, 40), P(hx + 50, 56, -78), P(30, 92, -30)],
                                        [18 * ms, 24 * ms, 16 * ms, 20 * ms])),
                  tissues.muscle(side == .left ? PhantomLabel.gluteusMaximusLeft : PhantomLabel.gluteusMaximusRight))
            // Obturator internus / levator ani lining the lateral pelvic wall and floor.
            b.add("pelvic_wall_floor_\(side.rawValue)",
                  Shape.quadPlate([P(hx - 34, hy - 30, 8), P(hx - 36, hy + 40, 8), P(20, hy + 58, -36), P(18, hy - 34, -36)],
                                  [6, 6, 5, 5]),
                  tissues.muscle(PhantomLabel.pelvicFloorMuscles))
        }

        // Vessels: aorta and IVC in front of the spine; iliac and femoral vessels to the groins.
        let l4 = spine.vertebra(.L4), l5 = spine.vertebra(.L5), t12 = spine.vertebra(.T12)
        let aortaY = { (v: VertebraGeometry) in v.center.y - v.depth / 2 - 12 }
        let aorta = Shape.tube([Vec3(12, aortaY(t12), 420), Vec3(12, aortaY(l3), l3.center.z), Vec3(8, aortaY(l4), l4.center.z)],
                               [10, 10, 9])
        b.add("aorta", aorta, TissueSample(label: PhantomLabel.aorta, hu: tissues.arterialBloodHU, density: 0))
        let ivc = Shape.tube([Vec3(-22, aortaY(t12) + 4, 420), Vec3(-20, aortaY(l3) + 4, l3.center.z),
                              Vec3(-12, aortaY(l5) + 6, l5.center.z)], [11, 11, 10])
        b.add("inferior_vena_cava", ivc, TissueSample(label: PhantomLabel.inferiorVenaCava, hu: tissues.venousBloodHU, density: 0))
        var arteries = Shape.nothing, veins = Shape.nothing
        for side in PhantomSide.allCases {
            let sgn = side.sign
            let H = femora[side == .left ? 0 : 1].headCenter, hx = abs(H.x), hy = H.y
            func P(_ x: Double, _ y: Double, _ z: Double) -> Vec3 { Vec3(sgn * x, y, z) }
            arteries = arteries.union(Shape.tube([Vec3(8, aortaY(l4), l4.center.z), P(36, aortaY(l5) + 2, 112),
                                                  P(50, hy + 8, 78), P(hx - 26, hy - 40, 30), P(hx - 20, hy - 56, -10),
                                                  P(hx - 12, hy - 52, -120)], [6, 5.5, 5, 4.5, 4.5, 4]))
            veins = veins.union(Shape.tube([Vec3(-12, aortaY(l5) + 6, l5.center.z), P(30, aortaY(l5) + 14, 100),
                                            P(44, hy + 22, 76), P(hx - 36, hy - 34, 30), P(hx - 30, hy - 50, -10),
                                            P(hx - 22, hy - 46, -120)], [8, 7, 7, 6, 6, 5.5]))
        }
        b.add("iliofemoral_veins", veins, TissueSample(label: PhantomLabel.iliofemoralVeins, hu: tissues.venousBloodHU, density: 0))
        b.add("iliofemoral_arteries", arteries,
              TissueSample(label: PhantomLabel.iliofemoralArteries, hu: tissues.arterialBloodHU, density: 0))
    }
}
