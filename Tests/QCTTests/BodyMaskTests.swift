import Foundation
import Imaging
import Phantom
import Testing

@testable import QCT

// The body mask against the phantom's label map: the body is every label except air, the couch,
// the calibration pad (resin, tube walls, rods) and outside-the-field-of-view.

private func isBody(_ l: UInt8) -> Bool {
    !(l <= PhantomLabel.calibrationRod(5) || l == PhantomLabel.outsideFieldOfView)
}

private func dice(_ mask: Volume<UInt8>, _ labels: Volume<UInt8>) -> Double {
    var both = 0, a = 0, b = 0
    for i in 0..<mask.voxels.count {
        let m = mask.voxels[i] != 0, t = isBody(labels.voxels[i])
        if m { a += 1 }
        if t { b += 1 }
        if m && t { both += 1 }
    }
    return 2 * Double(both) / Double(a + b)
}

@Suite("Body mask")
struct BodyMaskTests {
    @Test(arguments: [true, false])
    func bodyWithoutTableAndPad(pad: Bool) throws {
        var p = PhantomParameters(preset: .standard, size: .small)
        p.seed = 41
        p.calibrationPhantom = pad
        let scan = try PhantomGenerator.generate(p)
        let body = try BodySegmenter.segment(scan.hu, padding: nil)
        let d = dice(body.mask, scan.labels)
        print("body mask Dice (pad: \(pad)): \(d)")
        #expect(d >= 0.97, "Dice \(d)")
        // Of the pad or couch at most the contact row is left in the mask (partial volume with the
        // patient along z: ≈ one row of pixels per slice where she lies on it, ≈ 0.4 % here).
        var equipmentInMask = 0
        for i in 0..<scan.labels.voxels.count where body.mask.voxels[i] != 0 && scan.labels.voxels[i] >= 1 && scan.labels.voxels[i] <= PhantomLabel.calibrationRod(5) {
            equipmentInMask += 1
        }
        #expect(Double(equipmentInMask) < 0.005 * Double(body.voxels), "\(equipmentInMask) equipment voxels in the body")
    }
}
