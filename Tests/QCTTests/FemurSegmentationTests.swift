import Foundation
import Imaging
import Phantom
import Testing

@testable import QCT

// Proximal femora against the phantom's labels (every femur_left_* / femur_right_* label), on a
// 1.2 mm reconstruction of both hips (noise and blur of the phantom's defaults).

private func hips(prosthesis: PhantomSideOption = .none) throws -> PhantomScan {
    var p = PhantomParameters(preset: .standard, size: .small)
    p.seed = 51
    p.pixelSpacing_mm = 1.2
    // 360 mm: the scan's field-of-view circle must not cut the shafts (x ≈ ±120 mm).
    p.columns = 300
    p.rows = 300
    p.sliceThickness_mm = 2.5
    p.sliceSpacing_mm = 2.5
    p.slices = 52
    p.reconstructionCenter = Vec3(0, 10, -24)
    p.prosthesis = prosthesis
    return try PhantomGenerator.generate(p)
}

private func dice(_ labels: Volume<UInt8>, _ value: UInt8, _ truth: Volume<UInt8>, _ ids: Set<UInt8>) -> Double {
    var both = 0, a = 0, b = 0
    for q in 0..<labels.voxels.count {
        let m = labels.voxels[q] == value, t = ids.contains(truth.voxels[q])
        if m { a += 1 }
        if t { b += 1 }
        if m && t { both += 1 }
    }
    return 2 * Double(both) / Double(max(1, a + b))
}

@Suite("Femur segmentation")
struct FemurSegmentationTests {
    /// At 2.5 mm slices and 1.2 mm pixels the joint space blurs shut and femur and pelvis form one
    /// bone component: the watershed must part them along the joint, giving each femur against the
    /// phantom's labels and its head centre against the truth. (Dice on the standard 0.742 × 1.25 mm
    /// phantom is checked in Tests/interop/run.sh.)
    @Test func aFemurJoinedToThePelvisIsPartedAtTheJoint() throws {
        let scan = try hips()
        let body = try BodySegmenter.segment(scan.hu, padding: Int16(scan.truth.grid.paddingValue_HU))
        let seg = FemurSegmenter.segment(scan.hu, body: body)
        #expect(seg.femora.count == 2)
        for f in seg.femora {
            #expect(f.separated)
            #expect(f.notes.contains { $0.contains("parted along the joint space") }, "the split is said: \(f.notes)")
            let ids = Set(scan.truth.labels.filter { $0.name.hasPrefix("femur_\(f.side.rawValue)") }.map(\.id))
            let d = dice(seg.labels, f.side.label, scan.labels, ids)
            #expect(d >= 0.93, "\(f.side) Dice \(d)")
            let truth = try #require(scan.truth.femora.first { $0.side.rawValue == f.side.rawValue })
            let head = try #require(f.head)
            let c = Vec3(head.center[0], head.center[1], head.center[2])
            #expect((c - truth.headCenter).length <= 1.5, "\(f.side) head centre \((c - truth.headCenter).length) mm off")
        }
    }

    @Test func aSideWithMetalIsExcluded() throws {
        let scan = try hips(prosthesis: .right)
        let body = try BodySegmenter.segment(scan.hu, padding: Int16(scan.truth.grid.paddingValue_HU))
        let flags = QualityChecks.metal(scan.hu, body: body)
        #expect(flags.map(\.code) == ["metal-right"])
        let seg = FemurSegmenter.segment(scan.hu, body: body, exclude: [.right])
        #expect(seg.femora.map(\.side) == [.left])
        #expect(!seg.labels.voxels.contains(FemurSegmenter.rightLabel))
    }
}
