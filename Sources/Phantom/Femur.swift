// Proximal femur: head (sphere), neck (swept ellipse, narrowest at the narrow neck), shaft and metaphysis
// (swept eccentric tube), greater trochanter (ellipsoid), lesser trochanter (rounded cone).
//
// Axes. The shaft axis points proximally along eUp, tilted laterally by the adduction angle. The neck
// axis passes through the head centre H and meets the shaft axis at X; `neckAxis` points from H toward X
// (laterally and inferiorly). The direction toward the head, −neckAxis, is
//     cos(180° − NSA)·eUp + sin(180° − NSA)·(cos(AV)·medial + sin(AV)·anterior),
// with medial and anterior taken perpendicular to the shaft; so the 3-D angle between the neck axis (toward
// the head) and the shaft axis (toward the knee) is the NSA, and the anteversion AV is the angle of the neck
// in the plane perpendicular to the shaft, anterior of the medial direction. Offset = |HX|·sin(NSA).
//
// Narrow neck. The neck cross-section perpendicular to the neck axis at distance s from H is an ellipse
// with semi-axes a(s) (superior–inferior) and b(s) (anterior–posterior), smallest at s = sNN. The endosteal
// boundary is the axis-aligned ellipse through the four points at depth tSup, tInf, tAnt, tPost inside the
// periosteal ellipse on its principal axes (see `endosteal`): the cortex is then exactly that thick along
// the four principal directions from the section centre, and the cortical area is π(ab − AB). Cortical
// thicknesses are constant along the neck, so the plane at sNN holds these values exactly.
import Imaging

struct FemurModel: Sendable {
    let side: PhantomSide
    let sgn: Double
    let headCenter: Vec3
    let headRadius: Double
    let headCortex: Double
    /// From the head centre toward the neck–shaft intersection.
    let neckAxis: Vec3
    /// Shaft axis, pointing proximally.
    let eUp: Vec3
    /// Neck-axis ∩ shaft-axis.
    let shaftPoint: Vec3
    let headToShaft: Double
    /// Cross-section frame of the neck: u superior, v anterior, w = neckAxis; origin H.
    let neckFrame: Frame
    /// Frame of the shaft: u lateral, v anterior, w = eUp; origin X.
    let shaftFrame: Frame

    // Neck
    let sNN: Double
    let aNN: Double, bNN: Double
    let tSup: Double, tInf: Double, tAnt: Double, tPost: Double
    let neckLength: Double
    let sHeadNeck: Double
    let kHeadA: Double, kTrochA: Double, kHeadB: Double, kTrochB: Double
    let aMax: Double, bMax: Double
    let neckEnd: Double

    // Shaft and metaphysis (h measured along eUp from X)
    let shaftRadius: Double
    let tMed: Double, tLat: Double, tAP: Double
    let tMeta: Double
    let hSub: Double
    let hLT: Double
    let hShaftTop: Double
    let rMeta: Double
    let hTop: Double

    // Trochanters
    let gtFrame: Frame
    let gtSemi: Vec3
    let gtCortex: Double
    let ltBase: Vec3
    let ltApex: Vec3
    let ltDirection: Vec3
    let ltRadiusBase: Double, ltRadiusTip: Double
    let ltCortex: Double

    // Prosthesis
    let resected: Bool
    let sCut: Double

    init(side: PhantomSide, anatomy a: PhantomAnatomy, nsa: Double, anteversion: Double, corticalScale k: Double,
         resected: Bool) {
        self.side = side
        let sgn = side.sign
        self.sgn = sgn
        headRadius = a.femoralHeadDiameter / 2
        headCortex = AnatomyConstants.femoralHeadCortex * k
        let H = Vec3(sgn * a.interHeadDistance / 2, AnatomyConstants.headCentreY, 0)
        headCenter = H
        let add = M.rad(AnatomyConstants.shaftAdduction_deg)
        let up = Vec3(sgn * M.sin(add), 0, M.cos(add))
        eUp = up
        // Medial and anterior, perpendicular to the shaft.
        let lateralRaw = Vec3(sgn, 0, 0)
        let lateral = (lateralRaw - up * lateralRaw.dot(up)).normalized
        let medial = -lateral
        let anterior = Vec3(0, -1, 0)
        let theta = M.rad(180 - nsa), phi = M.rad(anteversion)
        let toHead = up * M.cos(theta) + (medial * M.cos(phi) + anterior * M.sin(phi)) * M.sin(theta)
        let u = (-toHead).normalized
        neckAxis = u
        headToShaft = a.femoralOffset / M.sin(M.rad(nsa))
        let X = H + u * headToShaft
        shaftPoint = X
        // Neck frame: superior = +z made perpendicular to the neck axis; anterior completes it.
        let zhat = Vec3(0, 0, 1)
        let sup = (zhat - u * zhat.dot(u)).normalized
        var ant = u.cross(sup).normalized
        if ant.y > 0 { ant = -ant }
        neckFrame = Frame(origin: H, u: sup, v: ant, w: u)
        shaftFrame = Frame(origin: X, u: lateral, v: anterior, w: up)

        sNN = AnatomyConstants.narrowNeckDistance
        aNN = a.narrowNeckWidthSI / 2
        bNN = a.narrowNeckWidthAP / 2
        tSup = a.fnCortexSuperior * k
        tInf = a.fnCortexInferior * k
        tAnt = a.fnCortexAntPost * k
        tPost = a.fnCortexAntPost * k
        neckLength = a.neckLength
        // Head–neck junction: where the neck ellipse leaves the head sphere (≈ 15 mm for a 44 mm head).
        sHeadNeck = 15
        // Flare constants (assumed): gentle toward the head so the neck stays inside the sphere there,
        // strong toward the trochanter (neck base ≈ 54 mm S-I).
        kHeadA = 0.006; kHeadB = 0.006
        kTrochA = 0.021; kTrochB = 0.011
        aMax = 28; bMax = 20
        neckEnd = headToShaft + 14

        shaftRadius = a.shaftOuterDiameter / 2
        tMed = a.shaftMedialCortex * k
        tLat = a.shaftLateralCortex * k
        // Anterior/posterior shaft cortex: mean of medial and lateral (assumed).
        tAP = (tMed + tLat) / 2
        tMeta = AnatomyConstants.metaphysisCortex * k
        // Lesser trochanter apex level along the shaft axis.
        let ltZ = H.z - AnatomyConstants.lesserTrochanterApexBelowHead
        hLT = (ltZ - X.z) / up.z
        hSub = hLT - AnatomyConstants.subtrochantericBelowLT
        hShaftTop = hLT - 12
        rMeta = 20
        hTop = 14

        // Greater trochanter: ellipsoid aligned with the shaft; tip 5 mm below the head centre (§1 [M]).
        let gtHalf = Vec3(15, AnatomyConstants.greaterTrochanterAP / 2, 24)
        gtSemi = gtHalf
        let tipZ = H.z - AnatomyConstants.greaterTrochanterTipBelowHead
        // Lateral pole 6 mm beyond the metaphysis surface, 4 mm posterior (assumed); the height puts the
        // tip (centre + eUp·c) exactly at tipZ.
        let gtLateral = rMeta + 6 - gtHalf.x
        let gtUp = (tipZ - X.z - lateral.z * gtLateral) / up.z - gtHalf.z
        let gtCenter = X + lateral * gtLateral + anterior * (-4) + up * gtUp
        gtFrame = Frame(origin: gtCenter, u: lateral, v: anterior, w: up)
        gtCortex = a.trochanterLateralCortex * k

        // Lesser trochanter: posteromedial cone whose apex protrudes 10 mm beyond the local shaft surface.
        let ltDir = (medial * 0.55 + (-anterior) * 0.83).normalized
        ltDirection = ltDir
        let base = X + up * hLT
        ltBase = base
        let rLocal = FemurModel.outerRadius(h: hLT, shaftRadius: shaftRadius, hSub: hSub, rMeta: rMeta, hTop: hTop)
        ltApex = base + ltDir * (rLocal + AnatomyConstants.lesserTrochanterProtrusion)
        ltRadiusBase = 9
        ltRadiusTip = 4
        ltCortex = AnatomyConstants.lesserTrochanterCortex * k

        self.resected = resected
        sCut = a.neckLength - 12
    }

    // MARK: profiles

    static func outerRadius(h: Double, shaftRadius: Double, hSub: Double, rMeta: Double, hTop: Double) -> Double {
        // Widens from the subtrochanteric level to the metaphysis, then rounds off above X.
        let widen = smoothstep(hSub, -6, h)
        let dome = smoothstep(-6, hTop, h)
        return shaftRadius + (rMeta - shaftRadius) * widen - (rMeta - 11) * dome
    }

    func neckA(_ s: Double) -> Double {
        let d = s - sNN
        return min(aMax, aNN + (d < 0 ? kHeadA : kTrochA) * d * d)
    }
    func neckB(_ s: Double) -> Double {
        let d = s - sNN
        return min(bMax, bNN + (d < 0 ? kHeadB : kTrochB) * d * d)
    }
    var neckMaxSlope: Double {
        let sa = ((aMax - aNN) / kTrochA).squareRoot(), sb = ((bMax - bNN) / kTrochB).squareRoot()
        return max(2 * kTrochA * sa, 2 * kTrochB * sb)
    }
    func corticalShaft(_ h: Double) -> (med: Double, lat: Double, ap: Double) {
        let t = smoothstep(hSub, hSub + 40, h)
        return (mix(tMed, tMeta, t), mix(tLat, tMeta, t), mix(tAP, tMeta, t))
    }
    func radius(_ h: Double) -> Double {
        FemurModel.outerRadius(h: h, shaftRadius: shaftRadius, hSub: hSub, rMeta: rMeta, hTop: hTop)
    }

    /// Endosteal ellipse (semi-axes A along u, B along v, centre (cu, cv)) through the points at depth
    /// tS, tI on the u axis and tA, tP on the v axis inside the periosteal ellipse (a, b):
    /// cu = (tI − tS)/2, cv = (tP − tA)/2, P = a − (tS + tI)/2, Q = b − (tA + tP)/2, and
    /// P²/A² + cv²/B² = 1, cu²/A² + Q²/B² = 1 solved for 1/A², 1/B².
    static func endosteal(a: Double, b: Double, tS: Double, tI: Double, tA: Double, tP: Double)
        -> (A: Double, B: Double, cu: Double, cv: Double) {
        let cu = (tI - tS) / 2, cv = (tP - tA) / 2
        let P = a - (tS + tI) / 2, Q = b - (tA + tP) / 2
        let det = P * P * Q * Q - cu * cu * cv * cv
        let invA2 = (Q * Q - cv * cv) / det, invB2 = (P * P - cu * cu) / det
        return ((1 / invA2).squareRoot(), (1 / invB2).squareRoot(), cu, cv)
    }

    func endostealNeck(_ s: Double) -> (A: Double, B: Double, cu: Double, cv: Double) {
        FemurModel.endosteal(a: neckA(s), b: neckB(s), tS: tSup, tI: tInf, tA: tAnt, tP: tPost)
    }

    // MARK: shapes

    func neckShape(inner: Bool) -> Shape {
        let me = self
        let sweep = EllipticSweep(
            frame: neckFrame, s0: 4, s1: neckEnd,
            a: { s in inner ? me.endostealNeck(s).A : me.neckA(s) },
            b: { s in inner ? me.endostealNeck(s).B : me.neckB(s) },
            cu: { s in inner ? me.endostealNeck(s).cu : 0 },
            cv: { s in inner ? me.endostealNeck(s).cv : 0 },
            maxSlope: neckMaxSlope, maxRadius: max(aMax, bMax))
        return sweep.shape()
    }

    func shaftShape(inner: Bool) -> Shape {
        let me = self
        let sweep = EllipticSweep(
            frame: shaftFrame, s0: -300, s1: hTop,
            a: { h in
                let r = me.radius(h)
                if !inner { return r }
                let t = me.corticalShaft(h)
                return r - (t.med + t.lat) / 2
            },
            b: { h in
                let r = me.radius(h)
                return inner ? r - me.corticalShaft(h).ap : r
            },
            cu: { h in
                if !inner { return 0 }
                let t = me.corticalShaft(h)
                return (t.med - t.lat) / 2
            },
            cv: { _ in 0 },
            maxSlope: 0.8, maxRadius: rMeta + 2)
        return sweep.shape()
    }

    func greaterTrochanterShape(inner: Bool) -> Shape {
        let t = inner ? gtCortex : 0
        return Shape.ellipsoid(gtFrame, gtSemi.x - t, gtSemi.y - t, gtSemi.z - t)
    }

    /// Fills the saddle between the superior neck base and the greater trochanter (assumed shape). It starts
    /// 18 mm lateral of the narrow neck so that no blend reaches the narrow-neck section.
    func trochantericBridgeShape(inner: Bool) -> Shape {
        let t = inner ? gtCortex : 0
        let start = headCenter + neckAxis * (sNN + 18) + neckFrame.u * 7
        let end = gtFrame.world(-5, 0, 2)
        return Shape.capsule(start, end, 9.5 - t, 11 - t)
    }

    func lesserTrochanterShape(inner: Bool) -> Shape {
        let t = inner ? ltCortex : 0
        let start = ltBase + ltDirection * 4
        let tipCentre = ltApex - ltDirection * ltRadiusTip
        return Shape.capsule(start, tipCentre, ltRadiusBase - t, ltRadiusTip - t)
    }

    func headShape(inner: Bool) -> Shape {
        Shape.sphere(headCenter, inner ? headRadius - headCortex : headRadius)
    }

    /// Periosteal (inner = false) or endosteal (inner = true) surface of the whole proximal femur.
    ///
    /// Head and neck are blended (k = 3 mm, which cannot reach the narrow neck 26 mm from the head centre);
    /// shaft, trochanters and bridge are blended among themselves; the two groups are then joined by a blend
    /// whose radius fades to zero (a plain union) medial of s = sNN + 6, so that no blend can touch the
    /// narrow-neck section and the truth there stays exact.
    func boneShape(inner: Bool) -> Shape {
        let proximal = headShape(inner: inner).smoothUnion(neckShape(inner: inner), k: 3)
        var distal = shaftShape(inner: inner).smoothUnion(greaterTrochanterShape(inner: inner), k: 8)
        distal = distal.smoothUnion(trochantericBridgeShape(inner: inner), k: 6)
        distal = distal.smoothUnion(lesserTrochanterShape(inner: inner), k: 5)
        let H = headCenter, u = neckAxis
        let s0 = sNN + 6, s1 = sNN + 14, kMax = 8.0
        let pa = proximal.f, pb = distal.f
        // f = mix(min, smin_k, w(s)); |∇| ≤ 1 + |w'|·(k/4) ≤ 1 + (1.5/8)·2 < 1.4, so divide by 1.4.
        var s = Shape(bounds: proximal.bounds.union(distal.bounds).expanded(kMax / 4)) { p in
            let da = pa(p), db = pb(p)
            let w = smoothstep(s0, s1, (p - H).dot(u))
            let h = max(kMax - abs(da - db), 0) / kMax
            return (min(da, db) - w * h * h * kMax * 0.25) / 1.4
        }
        if resected {
            // Neck osteotomy: everything on the head side of the plane s = sCut is gone.
            let cut = Shape.halfSpace(point: headCenter + neckAxis * sCut, outward: -neckAxis)
            s = s.intersection(cut)
        }
        // Nothing of the femur lies far from its own parts; a box keeps the culling tight.
        let box = Box(points: [headCenter, shaftPoint, shaftPoint - eUp * 300, gtFrame.origin, ltApex], pad: 35)
        return s.clipped(to: box)
    }

    // MARK: regions and densities

    /// Neck-axis coordinate (mm from the head centre) and shaft-axis coordinate (mm above X).
    @inline(__always) func axes(_ p: Vec3) -> (s: Double, h: Double) {
        ((p - headCenter).dot(neckAxis), (p - shaftPoint).dot(eUp))
    }

    func region(_ p: Vec3) -> FemurRegion {
        let (s, h) = axes(p)
        if s < sHeadNeck { return .head }
        if h < hShaftTop { return .shaft }
        let q = gtFrame.local(p)
        let g = (q.x / gtSemi.x) * (q.x / gtSemi.x) + (q.y / gtSemi.y) * (q.y / gtSemi.y) + (q.z / gtSemi.z) * (q.z / gtSemi.z)
        if g < 1.1 && s > neckLength - 8 { return .greaterTrochanter }
        if s <= neckLength { return .neck }
        return .intertrochanter
    }

    /// Trabecular apparent density: head, neck, trochanteric values with smooth ramps between them (head→neck
    /// over s ∈ [sHN − 5, sHN + 7], neck→trochanter over [L − 5, L + 5]) and the fatty-marrow canal below the
    /// lesser trochanter. Exactly the neck value for s in [sHN + 7, L − 5], which contains the narrow neck.
    func trabecularDensity(_ p: Vec3, tissues: TissueTable) -> Double {
        let (s, h) = axes(p)
        var rho = mix(tissues.headTrabecular, tissues.neckTrabecular, smoothstep(sHeadNeck - 5, sHeadNeck + 7, s))
        rho = mix(rho, tissues.trochanterTrabecular, smoothstep(neckLength - 5, neckLength + 5, s))
        rho = mix(rho, tissues.medullary, smoothstep(hShaftTop + 5, hShaftTop - 25, h))
        return rho
    }

    func layers(into b: inout SceneBuilder, tissues: TissueTable) {
        let me = self
        let sideName = side.rawValue
        let side = self.side
        b.add("femur_\(sideName)_cortical", boneShape(inner: false)) { p in
            tissues.cortex(PhantomLabel.femur(side, me.region(p), .cortical))
        }
        b.add("femur_\(sideName)_trabecular", boneShape(inner: true)) { p in
            tissues.trabecular(PhantomLabel.femur(side, me.region(p), .trabecular),
                               vbmd: me.trabecularDensity(p, tissues: tissues))
        }
    }

    /// Prosthesis (hemiarthroplasty): CoCr head of the native size, Ti stem along the neck and down the canal.
    func prosthesisLayers(into b: inout SceneBuilder, tissues: TissueTable) {
        let X = shaftPoint
        let neck = Shape.capsule(headCenter, X + eUp * 4, 6.5)
        // Stem (assumed 130 mm, §7 [M] 120–160 mm), tapering 9 → 4.5 mm radius.
        let body = Shape.tube([X + eUp * 6, X - eUp * 40, X - eUp * 130], [9, 7.5, 4.5])
        b.add("prosthesis_stem", neck.union(body), tissues.titanium)
        b.add("prosthesis_head", Shape.sphere(headCenter, headRadius), tissues.cocr)
    }

    // MARK: truth helpers

    var narrowNeckCenter: Vec3 { headCenter + neckAxis * sNN }
    var endostealNN: (A: Double, B: Double, cu: Double, cv: Double) { endostealNeck(sNN) }
    var corticalAreaNN: Double { Double.pi * (aNN * bNN - endostealNN.A * endostealNN.B) }
    var trabecularAreaNN: Double { Double.pi * endostealNN.A * endostealNN.B }
    var greaterTrochanterTip: Vec3 { gtFrame.world(0, 0, gtSemi.z) }
    var greaterTrochanterLateral: Vec3 { gtFrame.world(gtSemi.x, 0, 0) }
    /// Subtrochanteric reference point on the shaft axis (constant cross-section there).
    var subtrochantericPoint: Vec3 { shaftPoint + eUp * hSub }
}
