// Metal streaks — a visual approximation, not a scanner simulation.
//
// Per slice with metal, path lengths through the slice are projected over 180 angles (parallel beam): the
// metal path P_m (titanium-equivalent mm; CoCr counts 2.5× titanium per mm, a rough attenuation ratio at
// 120 kVp, assumed) and the bone path P_b (cortical-equivalent mm from the pre-blur HU). The projection
// error of beam hardening and photon starvation is modelled as −κ_m·P_m² − κ_b·P_m·P_b: it grows faster
// than the metal path and is worst along rays that also cross dense bone. That error sinogram is
// reconstructed by filtered back-projection (Shepp–Logan filter) on a grid of at most 160² pixels and interpolated to
// the image, giving dark bands along the longest metal(+bone) paths and bright streaks beside them. The
// κ values are tuned by eye so that streaks reach a few hundred HU near the implant, as in clinical images
// (§7 [M]: "periprosthetic trabecular HU biased by ± hundreds of HU within ~2–5 cm").
import Dispatch

enum MetalArtifacts {
    static let angles = 180
    /// HU·mm per mm² of squared Ti-equivalent path, and per mm² of (metal × bone) path.
    static let kappaMetal = 14.0
    static let kappaBone = 8.0
    static let cocrWeight = 2.5

    static func addStreaks(_ buf: SharedPointer<Float>, labels: SharedPointer<UInt8>, nx: Int, ny: Int, nz: Int,
                           pixel: Double, paddingLabel: UInt8) {
        // Downsample factor so the reconstruction grid is at most 160² (streaks are broad; cost matters).
        let f = max(1, (max(nx, ny) + 159) / 160)
        let mx = (nx + f - 1) / f, my = (ny + f - 1) / f
        let tau = pixel * Double(f)          // bin spacing = coarse pixel size (mm)
        let nb = Int((Double(mx * mx + my * my).squareRoot()).rounded(.up)) + 4
        let na = angles
        let cosT = (0..<na).map { M.cos(Double.pi * Double($0) / Double(na)) }
        let sinT = (0..<na).map { M.sin(Double.pi * Double($0) / Double(na)) }
        // Shepp–Logan kernel (Kak & Slaney): h(n) = −2 / (π²τ²(4n² − 1)).
        let h: [Double] = (-nb...nb).map { n in -2 / (Double.pi * Double.pi * tau * tau * Double(4 * n * n - 1)) }
        let cx = Double(mx - 1) / 2, cy = Double(my - 1) / 2
        let bc = Double(nb - 1) / 2
        DispatchQueue.concurrentPerform(iterations: nz) { k in
            let off = nx * ny * k
            // Metal (Ti-equivalent) and bone (cortical-equivalent) fractions per coarse pixel.
            var metal = [Double](repeating: 0, count: mx * my)
            var bone = [Double](repeating: 0, count: mx * my)
            var any = false
            for j in 0..<ny {
                for i in 0..<nx {
                    let l = labels.p[off + i + nx * j]
                    let c = i / f + mx * (j / f)
                    if l == PhantomLabel.prosthesisHead || l == PhantomLabel.prosthesisStem {
                        metal[c] += (l == PhantomLabel.prosthesisHead ? cocrWeight : 1) / Double(f * f)
                        any = true
                    } else {
                        let h = Double(buf.p[off + i + nx * j])
                        if h > 200 { bone[c] += min(1.5, (h - 200) / 1300) / Double(f * f) }
                    }
                }
            }
            guard any else { return }
            // Sinograms of the path lengths (mm): each coarse pixel contributes area/τ, split between two bins.
            func project(_ img: [Double]) -> [Double] {
                var sino = [Double](repeating: 0, count: na * nb)
                for j in 0..<my {
                    for i in 0..<mx where img[i + mx * j] > 0 {
                        let w = img[i + mx * j] * tau        // τ² area / τ bin width
                        let x = Double(i) - cx, y = Double(j) - cy
                        for a in 0..<na {
                            let t = x * cosT[a] + y * sinT[a] + bc
                            let t0 = Int(t.rounded(.down))
                            let fr = t - Double(t0)
                            if t0 >= 0 && t0 + 1 < nb {
                                sino[a * nb + t0] += w * (1 - fr)
                                sino[a * nb + t0 + 1] += w * fr
                            }
                        }
                    }
                }
                return sino
            }
            let sino = project(metal)
            let sinoBone = project(bone)
            // Error sinogram and ramp filtering.
            var q = [Double](repeating: 0, count: na * nb)
            for a in 0..<na {
                for b in 0..<nb {
                    let p = sino[a * nb + b]
                    if p <= 0 { continue }
                    let e = -kappaMetal * p * p - kappaBone * p * sinoBone[a * nb + b]
                    for b2 in 0..<nb { q[a * nb + b2] += e * h[b2 - b + nb] * tau }
                }
            }
            // Back-projection onto the coarse grid.
            var img = [Double](repeating: 0, count: mx * my)
            let scale = Double.pi / Double(na)
            for j in 0..<my {
                let y = Double(j) - cy
                for i in 0..<mx {
                    let x = Double(i) - cx
                    var s = 0.0
                    for a in 0..<na {
                        let t = x * cosT[a] + y * sinT[a] + bc
                        let t0 = Int(t.rounded(.down))
                        if t0 >= 0 && t0 + 1 < nb {
                            let fr = t - Double(t0)
                            s += q[a * nb + t0] * (1 - fr) + q[a * nb + t0 + 1] * fr
                        }
                    }
                    img[i + mx * j] = s * scale
                }
            }
            // Bilinear interpolation to the image grid; metal itself is left alone (it saturates).
            for j in 0..<ny {
                let gy = min(Double(my - 1), max(0, (Double(j) + 0.5) / Double(f) - 0.5))
                let j0 = min(my - 2, Int(gy)), fy = gy - Double(max(0, j0))
                for i in 0..<nx {
                    let l = labels.p[off + i + nx * j]
                    if l == PhantomLabel.prosthesisHead || l == PhantomLabel.prosthesisStem || l == paddingLabel { continue }
                    let gx = min(Double(mx - 1), max(0, (Double(i) + 0.5) / Double(f) - 0.5))
                    let i0 = min(mx - 2, Int(gx)), fx = gx - Double(max(0, i0))
                    let a0 = max(0, i0), b0 = max(0, j0)
                    let v = img[a0 + mx * b0] * (1 - fx) * (1 - fy) + img[a0 + 1 + mx * b0] * fx * (1 - fy)
                        + img[a0 + mx * (b0 + 1)] * (1 - fx) * fy + img[a0 + 1 + mx * (b0 + 1)] * fx * fy
                    buf.p[off + i + nx * j] += Float(v)
                }
            }
        }
    }
}
