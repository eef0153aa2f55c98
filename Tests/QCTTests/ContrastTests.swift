import Foundation
import Imaging
import Phantom
import Testing

@testable import QCT

// Contrast from the image: the phantom's aorta is 40 HU unenhanced, 170 HU portal venous and
// 320 HU arterial (truth.json softTissueHU arterial_blood); a 1 mm reconstruction around the
// abdominal aorta (the phantom's pad lies outside it).

private func aortaScan(_ phase: Phantom.ContrastPhase) throws -> PhantomScan {
    var p = PhantomParameters(preset: .standard, size: .small)
    p.seed = 31
    p.contrastPhase = phase
    p.pixelSpacing_mm = 1.0
    p.columns = 160
    p.rows = 160
    p.sliceThickness_mm = 2.5
    p.sliceSpacing_mm = 2.5
    p.slices = 24
    p.reconstructionCenter = Vec3(0, 10, 200)
    return try PhantomGenerator.generate(p)
}

@Suite("Contrast")
struct ContrastTests {
    @Test(arguments: [(Phantom.ContrastPhase.none, QCT.ContrastPhase.none), (.portalVenous, .portalVenous), (.arterial, .arterial)])
    func phaseFromTheAorta(_ phase: Phantom.ContrastPhase, _ expected: QCT.ContrastPhase) throws {
        let scan = try aortaScan(phase)
        let a = ContrastDetector.assess(scan.hu, padding: Int16(scan.truth.grid.paddingValue_HU), tags: nil)
        #expect(a.phase == expected, "\(a.notes)")
        if expected != .none {
            let truthHU = try #require(scan.truth.densityModel.softTissueHU["arterial_blood"])
            #expect(abs(a.vesselHU! - truthHU) < 15, "\(a.vesselHU!) vs \(truthHU)")
            #expect(a.flagged && a.l1ThresholdOffset_HU == (expected == .arterial ? 20 : 14.75))
        } else {
            #expect(a.vesselHU == nil && !a.flagged)
        }
    }

    @Test func tagsAloneAndContradictions() throws {
        let scan = try aortaScan(.none)
        let pad = Int16(scan.truth.grid.paddingValue_HU)
        let pv = ContrastDetector.assess(scan.hu, padding: pad, tags: ContrastTags(agent: "IOHEXOL 350", route: "IV", seriesDescription: "ABD PORTAL VENOUS", protocolName: nil))
        #expect(pv.tagsSayContrast == true && pv.phase == .portalVenous && pv.flagged)
        #expect(pv.notes.contains { $0.contains("no opacified vessel") })
        let native = ContrastDetector.assess(scan.hu, padding: pad, tags: ContrastTags(agent: nil, route: nil, seriesDescription: "ABD/PELVIS WITHOUT CONTRAST", protocolName: nil))
        #expect(native.tagsSayContrast == false && native.phase == .none)
    }
}
