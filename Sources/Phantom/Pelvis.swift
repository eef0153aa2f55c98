// Pelvis: each os coxae (acetabular cup, ilium as a fan of thickened triangles, pubic rami, ischium),
// the sacrum and coccyx, the sacroiliac joints, the pubic symphysis and the hip joint space.
// Shapes are simplified but placed so that axial slices look like a pelvis: the iliac wings from the
// sacroiliac joints to the anterior superior iliac spines, the acetabula around the femoral heads, the
// obturator foramina framed by the pubic and ischial rami. Positions are assumed (typical adult female
// pelvis), expressed relative to the femoral-head centre so that they follow the inter-head distance.
import Imaging

struct PelvisModel: Sendable {
    let headCenters: [Vec3]          // left, right
    let headRadius: Double
    let jointSpace: Double
    let cortex: Double

    init(anatomy a: PhantomAnatomy, femora: [FemurModel], corticalScale k: Double) {
        headCenters = femora.map { $0.headCenter }
        headRadius = a.femoralHeadDiameter / 2
        jointSpace = a.jointSpaceWidth
        cortex = AnatomyConstants.pelvisCortex * k
    }

    var socketRadius: Double { headRadius + jointSpace }

    /// The acetabular opening direction (pointing out of the cup): lateral, inferior, anterior.
    static func openingDirection(_ sgn: Double) -> Vec3 {
        let inc = M.rad(AnatomyConstants.acetabularInclination_deg)
        let av = M.rad(AnatomyConstants.acetabularAnteversion_deg)
        return Vec3(sgn * M.sin(inc) * M.cos(av), -M.sin(inc) * M.sin(av), -M.cos(inc)).normalized
    }

    /// Sacroiliac joint plane: a point and the normal pointing to the ilium (lateral, a little posterior):
    /// the joint lines converge posteriorly, as the sacrum is wider in front.
    static func sacroiliacPlane(_ sgn: Double) -> (Vec3, Vec3) {
        let th = M.rad(20)
        return (Vec3(sgn * 47, 58, 80), Vec3(sgn * M.cos(th), M.sin(th), 0))
    }

    /// One os coxae, before the socket is hollowed (raw) — offset by −t for the trabecular interior.
    func osCoxae(_ side: PhantomSide, inset t: Double) -> (ilium: Shape, rest: Shape) {
        let sgn = side.sign
        let H = headCenters[side == .left ? 0 : 1]
        let hx = abs(H.x), hy = H.y
        func P(_ x: Double, _ y: Double, _ z: Double) -> Vec3 { Vec3(sgn * x, y, z) }
        // Iliac wing: fan of plates from a thin centre (iliac fossa) to thick rims.
        let c = P(hx + 8, hy + 18, 82)
        let rc = 2.2
        let rim: [(Vec3, Double)] = [
            (P(hx + 14, hy - 28, 42), 7),     // anterior inferior iliac spine
            (P(hx + 34, hy - 44, 96), 6),     // anterior superior iliac spine
            (P(hx + 46, hy - 14, 128), 6),    // crest, anterior
            (P(hx + 40, hy + 28, 146), 7),    // crest, top (≈ L4/L5 level)
            (P(hx + 8, hy + 66, 136), 8),     // crest, posterior
            (P(hx - 34, hy + 94, 112), 9),    // posterior superior iliac spine
            (P(hx - 32, hy + 74, 100), 11),   // sacroiliac, upper
            (P(hx - 34, hy + 74, 56), 11),    // sacroiliac, lower
            (P(hx - 18, hy + 50, 36), 10),    // greater sciatic notch
            (P(hx - 8, hy + 24, 24), 13),     // iliac body, posterior
            (P(hx - 16, hy + 4, 22), 12),     // iliac body, medial (above the socket)
            (P(hx + 14, hy - 6, 26), 12),     // acetabular roof, lateral
        ]
        var plates: [Shape] = []
        for i in 0..<rim.count {
            let (v1, r1) = rim[i], (v2, r2) = rim[(i + 1) % rim.count]
            plates.append(Shape.plate(c, v1, v2, rc - t, r1 - t, r2 - t))
        }
        var ilium = Shape.union(plates)
        // Cut at the sacroiliac joint (posterior part only).
        let (sp, sn) = PelvisModel.sacroiliacPlane(sgn)
        let gap = AnatomyConstants.sacroiliacGap / 2 + t
        let cutRegion = Shape(bounds: .everything) { p in max((p - sp).dot(sn) - gap, 25 - p.y) }
        ilium = ilium.subtracting(cutRegion)

        // Acetabular cup: spherical shell on the closed side of the opening.
        let rOut = socketRadius + AnatomyConstants.acetabularWall - t
        let n = PelvisModel.openingDirection(sgn)
        let cup = Shape.sphere(H, rOut).intersection(Shape.halfSpace(point: H + n * (-t), outward: n))
        // Rami and ischium (radii in mm, assumed).
        let supRamus = Shape.capsule(P(hx - 20, hy - 22, -6), P(16, hy - 52, -16), 10 - t, 8 - t)
        let pubicBody = Shape.capsule(P(13, hy - 56, -10), P(13, hy - 50, -40), 9 - t, 8 - t)
        let infRamus = Shape.capsule(P(14, hy - 48, -40), P(40, hy - 8, -58), 6 - t, 5.5 - t)
        let ischBody = Shape.capsule(P(hx - 8, hy + 24, -14), P(hx - 20, hy + 32, -50), 13 - t, 12 - t)
        let tuber = Shape.capsule(P(hx - 20, hy + 32, -50), P(hx - 30, hy + 24, -62), 12 - t, 10 - t)
        let ischRamus = Shape.capsule(P(hx - 30, hy + 22, -62), P(40, hy - 8, -58), 7 - t, 5.5 - t)
        let brim = Shape.capsule(P(hx - 22, hy + 8, 18), P(hx - 36, hy + 70, 58), 8 - t, 9 - t)
        var rest = cup.smoothUnion(supRamus, k: 6).smoothUnion(ischBody, k: 6).smoothUnion(brim, k: 5)
        rest = rest.smoothUnion(pubicBody, k: 4).smoothUnion(infRamus, k: 4).smoothUnion(tuber, k: 4)
            .smoothUnion(ischRamus, k: 4)
        // Symphyseal face: flat, 2.5 mm from the midline.
        let face = Shape.halfSpace(point: Vec3(sgn * (2.5 + t), 0, 0), outward: Vec3(-sgn, 0, 0))
        rest = rest.intersection(face)
        return (ilium, rest)
    }

    /// The os coxae in two parts (iliac wing; acetabulum with rami and ischium), each with the socket
    /// hollowed out; `inner` for the trabecular interior. The parts are painted as separate layers (all
    /// cortical layers first, then all trabecular ones), which is their union with a shared cortex, and
    /// keeps each part's bounding box tight.
    func osCoxaeParts(_ side: PhantomSide, inner: Bool) -> [Shape] {
        let t = inner ? cortex : 0
        let (ilium, rest) = osCoxae(side, inset: t)
        let H = headCenters[side == .left ? 0 : 1]
        let socket = Shape.sphere(H, socketRadius + t)
        return [ilium.subtracting(socket), rest.subtracting(socket)]
    }

    // MARK: sacrum

    func sacrumRaw(inset t: Double, s1: VertebraGeometry) -> Shape {
        // S1 body: like a vertebral body below the L5/S1 disc.
        let body = VertebraGeometry.bodyShape(center: s1.center, semiW: s1.width / 2 - t, semiD: s1.depth / 2 - t,
                                              halfH: s1.height / 2 - t, round: 2)
        var parts: [Shape] = [body]
        for sgn in [1.0, -1.0] {
            func P(_ x: Double, _ y: Double, _ z: Double) -> Vec3 { Vec3(sgn * x, y, z) }
            // Ala reaching the sacroiliac joint.
            parts.append(Shape.quadPlate([P(18, 36, 93), P(64, 52, 98), P(64, 66, 50), P(18, 50, 58)],
                                         [12 - t, 12 - t, 12 - t, 14 - t]))
        }
        // Dorsal wall (laminae and median crest) closing the sacral canal from behind.
        parts.append(Shape.quadPlate([Vec3(-22, 62, 98), Vec3(22, 62, 98), Vec3(12, 84, 14), Vec3(-12, 84, 14)],
                                     [8 - t, 8 - t, 6 - t, 6 - t]))
        // Lower sacrum (S2–S5) curving posteriorly, and the coccyx.
        parts.append(Shape.plate(Vec3(-34, 50, 62), Vec3(34, 50, 62), Vec3(0, 78, -2), 12 - t, 12 - t, 7 - t))
        parts.append(Shape.capsule(Vec3(0, 78, 0), Vec3(0, 72, -24), 6 - t, 3.5 - t))
        var s = parts[0]
        for p in parts.dropFirst() { s = s.smoothUnion(p, k: 6) }
        // Medial side of both sacroiliac joints.
        for sgn in [1.0, -1.0] {
            let (sp, sn) = PelvisModel.sacroiliacPlane(sgn)
            s = s.intersection(Shape.halfSpace(point: sp - sn * (AnatomyConstants.sacroiliacGap / 2 + t), outward: sn))
        }
        return s
    }

    func layers(into b: inout SceneBuilder, tissues: TissueTable, s1: VertebraGeometry) {
        // Joints first, bone over them.
        var siBand = Shape.nothing
        for sgn in [1.0, -1.0] {
            let (sp, sn) = PelvisModel.sacroiliacPlane(sgn)
            let half = AnatomyConstants.sacroiliacGap / 2 + 0.5
            let slab = Shape(bounds: Box(lo: Vec3(sgn > 0 ? 25 : -75, 25, 35), hi: Vec3(sgn > 0 ? 75 : -25, 105, 115))) { p in
                abs((p - sp).dot(sn)) - half
            }
            siBand = siBand.union(slab)
        }
        let near = sacrumRaw(inset: -6, s1: s1)
        b.add("sacroiliac_joints", siBand.intersection(near), tissues.sacroiliac)
        let hy = headCenters[0].y
        b.add("pubic_symphysis", Shape.orientedBox(Frame.axisAligned(Vec3(0, hy - 53, -25)), half: Vec3(4, 9, 19), round: 3),
              tissues.symphysis)

        for side in PhantomSide.allCases {
            for (i, part) in osCoxaeParts(side, inner: false).enumerated() {
                b.add("pelvis_\(side.rawValue)_cortical_\(i)", part, tissues.cortex(PhantomLabel.pelvis(side, .cortical)))
            }
            for (i, part) in osCoxaeParts(side, inner: true).enumerated() {
                b.add("pelvis_\(side.rawValue)_trabecular_\(i)", part,
                      tissues.trabecular(PhantomLabel.pelvis(side, .trabecular), vbmd: tissues.pelvisTrabecular))
            }
        }
        b.add("sacrum_cortical", sacrumRaw(inset: 0, s1: s1), tissues.cortex(PhantomLabel.sacrumCortical))
        b.add("sacrum_trabecular", sacrumRaw(inset: cortex, s1: s1),
              tissues.trabecular(PhantomLabel.sacrumTrabecular, vbmd: tissues.pelvisTrabecular))
        // Sacral canal, continuing the lumbar canal.
        b.add("sacral_canal", Shape.tube([Vec3(0, 58, 102), Vec3(0, 64, 60), Vec3(0, 80, 10)], [8, 7, 3.5]),
              tissues.canal)
    }

    /// Hip joint spaces (cartilage and fluid) — painted just below each femur.
    func jointSpaceShape(_ side: PhantomSide) -> Shape {
        Shape.sphere(headCenters[side == .left ? 0 : 1], socketRadius)
    }
}
