import Foundation
import Imaging
import Phantom
import Testing

@testable import QCT

// External label maps: the phantom's own labels renumbered as TotalSegmentator v2 would number them
// replace the built-in masks; the fits on them land where the phantom's geometry puts them.

@Suite("External label maps")
struct ExternalLabelsTests {
    @Test func totalSegmentatorFemurGivesTheHeadAndAxes() throws {
        let scan = try leftHipCrop(seed: 31)
        let femurIDs = Set(scan.truth.labels.filter { $0.name.hasPrefix("femur_left") }.map(\.id))
        let glut = scan.truth.labels.first { $0.name == "gluteus_medius_minimus_left" }?.id
        let tsVoxels: [UInt8] = scan.labels.voxels.map { femurIDs.contains($0) ? 75 : ($0 == glut ? 82 : 0) }
        let ts = try Volume(size: scan.labels.size, geometry: scan.labels.geometry, voxels: tsVoxels)
        var body = BodyMask(mask: try Volume(size: scan.hu.size, geometry: scan.hu.geometry, voxels: [UInt8](repeating: 1, count: scan.hu.voxels.count)),
                            voxels: scan.hu.voxels.count, equipmentPixels: 0, midlineX: 0, notes: [])
        let imported = try ExternalLabels.apply(ts, mapping: ExternalLabels.totalSegmentatorV2, source: "test", ct: scan.hu, body: &body, exclude: [])
        let f = try #require(imported.femora.first { $0.side == .left })
        let truth = try #require(scan.truth.femora.first { $0.side == .left })
        let h = try #require(f.head)
        #expect((Vec3(h.center[0], h.center[1], h.center[2]) - truth.headCenter).length < 1, "head centre \(h.center)")
        let a = try #require(f.axes)
        let angle = acos(Vec3(a.neckAxisDirection[0], a.neckAxisDirection[1], a.neckAxisDirection[2]).dot(truth.neckAxisDirection)) * 180 / .pi
        #expect(angle < 3, "neck axis \(angle)°")
        let notes = imported.notes
        #expect(imported.femora.count == 1 && notes.contains { $0.contains("femur_right") })
        // The label's voxels are now the left femur (3) in the combined map.
        #expect(zip(ts.voxels, body.mask.voxels).allSatisfy { $0.0 == 75 ? $0.1 == FemurSegmenter.leftLabel : true })
        let muscle = try #require(imported.muscles.first { $0.name == "gluteus_medius_left" })
        #expect(abs((muscle.meanHU ?? 0) - 29) < 3, "gluteus medius \(String(describing: muscle.meanHU)) HU")
    }

    @Test func aLabelMapOnAnotherGridIsRefusedWithTheReason() throws {
        let g = VolumeGeometry(spacing: Vec3(1, 1, 1), origin: Vec3(0, 0, 0))
        let ct = try Volume<Int16>(size: Dim3(4, 4, 4), geometry: g, voxels: [Int16](repeating: 0, count: 64))
        var body = BodyMask(mask: try Volume(size: ct.size, geometry: g, voxels: [UInt8](repeating: 1, count: 64)), voxels: 64, equipmentPixels: 0, midlineX: 0, notes: [])
        let shifted = try Volume<UInt8>(size: ct.size, geometry: VolumeGeometry(spacing: Vec3(1, 1, 1), origin: Vec3(2, 0, 0)), voxels: [UInt8](repeating: 0, count: 64))
        #expect(throws: QCTError.self) { try ExternalLabels.apply(shifted, mapping: ExternalLabels.totalSegmentatorV2, source: "t", ct: ct, body: &body, exclude: []) }
        do { _ = try ExternalLabels.apply(shifted, mapping: ExternalLabels.totalSegmentatorV2, source: "t", ct: ct, body: &body, exclude: []) } catch {
            #expect(error.description.contains("2.0 mm") && error.description.contains("grid"), "\(error)")
        }
        let smaller = try Volume<UInt8>(size: Dim3(4, 4, 3), geometry: g, voxels: [UInt8](repeating: 0, count: 48))
        #expect(throws: QCTError.self) { try ExternalLabels.apply(smaller, mapping: ExternalLabels.totalSegmentatorV2, source: "t", ct: ct, body: &body, exclude: []) }
        do { _ = try ExternalLabels.apply(smaller, mapping: ExternalLabels.totalSegmentatorV2, source: "t", ct: ct, body: &body, exclude: []) } catch {
            #expect(error.description.contains("4×4×3") && error.description.contains("resample"), "\(error)")
        }
    }

    @Test func mappingFilesAreChecked() throws {
        let m = try ExternalLabels.mapping(json: Array(#"{"femur_left": 3, "vertebrae_L1": 21}"#.utf8), path: "m.json")
        #expect(m == ["femur_left": 3, "vertebrae_L1": 21])
        #expect(throws: QCTError.self) { try ExternalLabels.mapping(json: Array(#"{"femur": 3}"#.utf8), path: "m.json") }
        #expect(throws: QCTError.self) { try ExternalLabels.mapping(json: Array(#"{"femur_left": 300}"#.utf8), path: "m.json") }
        #expect(throws: QCTError.self) { try ExternalLabels.mapping(json: Array("[1, 2]".utf8), path: "m.json") }
    }
}
