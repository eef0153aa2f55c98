import Foundation
import Imaging
import Testing

@testable import QCT

// The head sphere fit on an analytic femur-like label: a ball (the head) on a tilted cylinder (the
// neck and shaft), voxelised at 0.8 × 0.8 × 1.0 mm; the fit must return the ball.

@Suite("Femoral head")
struct FemoralHeadTests {
    @Test func sphereOnANeckIsFound() throws {
        let size = Dim3(90, 90, 110)
        let g = VolumeGeometry(spacing: Vec3(0.8, 0.8, 1.0), origin: Vec3(-36, -36, -80))
        let centre = Vec3(3.3, -2.1, 4.6), r = 21.5
        // Neck: from the centre downward-lateral; radius 14 mm.
        let axis = Vec3(0.55, 0.1, -0.83).normalized
        var voxels = [UInt8](repeating: 0, count: size.x * size.y * size.z)
        for k in 0..<size.z {
            for j in 0..<size.y {
                for i in 0..<size.x {
                    let p = g.world(Double(i), Double(j), Double(k))
                    let d = p - centre
                    let along = d.dot(axis)
                    let radial = (d - axis * along).length
                    if d.length <= r || (along > 0 && radial <= 14) { voxels[i + size.x * (j + size.y * k)] = 3 }
                }
            }
        }
        let v = try Volume(size: size, geometry: g, voxels: voxels)
        let fit = try #require(FemoralHeadFitter.fit(v, value: 3))
        let c = Vec3(fit.center[0], fit.center[1], fit.center[2])
        #expect((c - centre).length < 0.4, "centre \(c)")
        // Boundary voxel centres lie up to half a voxel inside the true surface.
        #expect(abs(fit.radius_mm - r) < 0.6, "radius \(fit.radius_mm)")
        #expect(fit.points > 500)
    }

    @Test func algebraicFitIsExactOnSpherePoints() throws {
        var pts: [Vec3] = []
        for a in stride(from: 0.0, to: 2 * .pi, by: 0.3) {
            for b in stride(from: 0.2, to: .pi, by: 0.3) {
                pts.append(Vec3(10, -5, 7) + Vec3(sin(b) * cos(a), sin(b) * sin(a), cos(b)) * 20)
            }
        }
        let s = try #require(FemoralHeadFitter.sphere(pts))
        #expect((s.center - Vec3(10, -5, 7)).length < 1e-9 && abs(s.radius - 20) < 1e-9)
    }
}

@Suite("Femur axes")
struct FemurAxesTests {
    /// A ball on a neck cylinder meeting a vertical-ish shaft cylinder at a known neck–shaft angle.
    @Test func axesOfAnAnalyticFemur() throws {
        let size = Dim3(100, 70, 130)
        let g = VolumeGeometry(spacing: Vec3(1, 1, 1), origin: Vec3(-30, -35, -100))
        let centre = Vec3(0, 0, 10), r = 20.0
        let nsa = 128.0 * .pi / 180
        let shaft = Vec3(-0.08, 0.02, 1).normalized  // toward the head
        // Neck leaves the head laterally-down so that angle(neck, shaft) = 128°.
        let lateral = Vec3(1, 0, 0) - shaft * Vec3(1, 0, 0).dot(shaft)
        let neck = (shaft * cos(nsa) + lateral.normalized * sin(nsa)).normalized
        let junction = centre + neck * 50
        var voxels = [UInt8](repeating: 0, count: size.x * size.y * size.z)
        for k in 0..<size.z {
            for j in 0..<size.y {
                for i in 0..<size.x {
                    let p = g.world(Double(i), Double(j), Double(k))
                    let d = p - centre
                    let a = d.dot(neck), s = (p - junction).dot(shaft)
                    let inNeck = a > 0 && a < 50 && (d - neck * a).length <= 13
                    let inShaft = s < 5 && (p - junction - shaft * s).length <= 15
                    if d.length <= r || inNeck || inShaft { voxels[i + size.x * (j + size.y * k)] = 2 }
                }
            }
        }
        let v = try Volume(size: size, geometry: g, voxels: voxels)
        let head = try #require(FemoralHeadFitter.fit(v, value: 2))
        let axes = try #require(FemurAxisFinder.axes(v, value: 2, head: head))
        let n = Vec3(axes.neckAxisDirection[0], axes.neckAxisDirection[1], axes.neckAxisDirection[2])
        let s = Vec3(axes.shaftAxisDirection[0], axes.shaftAxisDirection[1], axes.shaftAxisDirection[2])
        #expect(acos(min(1, n.dot(neck))) * 180 / .pi < 3, "neck \(n)")
        #expect(acos(min(1, s.dot(shaft))) * 180 / .pi < 1, "shaft \(s)")
        #expect(abs(axes.neckShaftAngle_deg - 128) < 3, "NSA \(axes.neckShaftAngle_deg)")
    }
}
