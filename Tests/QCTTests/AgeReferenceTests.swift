import Foundation
import Testing

@testable import QCT

// The age-matched reference: file checks, band choice, and Z = (BMD − band mean) / band SD by hand.
// The bands below are test values (round numbers), not a published table.

private let table = #"""
{"source": "test table", "population": "test women", "scale": "Hologic",
 "regions": {"femoral_neck": [{"ageFrom": 20, "ageTo": 49.99, "mean_gcm2": 0.85, "sd_gcm2": 0.12},
                              {"ageFrom": 50, "ageTo": 69.99, "mean_gcm2": 0.75, "sd_gcm2": 0.11},
                              {"ageFrom": 70, "ageTo": 79.99, "mean_gcm2": 0.65, "sd_gcm2": 0.10}],
             "total_hip": [{"ageFrom": 20, "ageTo": 79.99, "mean_gcm2": 0.90, "sd_gcm2": 0.125}]}}
"""#

@Suite("BMD age reference")
struct AgeReferenceTests {
    @Test func bandsAndZScores() throws {
        let ref = try BMDAgeReference.load(json: Array(table.utf8), path: "t.json")
        #expect(ref.band(region: "femoral_neck", age: 55)?.band.mean_gcm2 == 0.75)
        #expect(ref.band(region: "femoral_neck", age: 85)?.beyond == true)
        #expect(ref.band(region: "femoral_neck", age: 18) == nil)
        #expect(ref.band(region: "shaft", age: 55) == nil)
        var r = CTXAResult(side: .left, calibration: "synchronous-phantom", equivalent: "K2HPO4", projection: "", pixel_mm: 0.5,
                           regions: [CTXARegion(name: "femoral_neck", definition: "", area_cm2: 5, bmc_g: 3, aBMD_gcm2: 0.5, dxaEquivalent_gcm2: 0.60),
                                     CTXARegion(name: "total_hip", definition: "", area_cm2: 30, bmc_g: 22, aBMD_gcm2: 0.6, dxaEquivalent_gcm2: 0.75)],
                           tScoreReference: "", dxaConversion: "", zScoreReference: nil, caveats: [],
                           notes: ["Z-score not computed: no table"])
        CTXA.applyAgeReference(&r, reference: ref, age: 72.4)
        #expect(abs(r.regions[0].zScore! - (0.60 - 0.65) / 0.10) < 1e-12)
        #expect(abs(r.regions[1].zScore! - (0.75 - 0.90) / 0.125) < 1e-12)
        #expect(r.regions[0].zReference == [70, 79.99, 0.65, 0.10])
        #expect(r.zScoreReference?.contains("test table") == true)
        #expect(!r.notes.contains { $0.hasPrefix("Z-score not computed") })
        // Above the table: the last band, said so.
        CTXA.applyAgeReference(&r, reference: ref, age: 91)
        #expect(abs(r.regions[0].zScore! - (0.60 - 0.65) / 0.10) < 1e-12)
        #expect(r.notes.contains { $0.contains("above the reference's last age band") })
    }

    @Test func badTablesAreRefusedWithTheReason() {
        func message(_ json: String) -> String {
            do { _ = try BMDAgeReference.load(json: Array(json.utf8), path: "t.json"); return "" } catch { return error.description }
        }
        #expect(message(#"{"source": "x", "population": "y", "regions": {"femoral_neck": [{"ageFrom": 20, "ageTo": 29, "mean_gcm2": 858, "sd_gcm2": 0.12}]}}"#).contains("divided by 1000"))
        #expect(message(#"{"source": "x", "population": "y", "regions": {"femoral_neck": [{"ageFrom": 20, "ageTo": 39, "mean_gcm2": 0.85, "sd_gcm2": 0.12}, {"ageFrom": 30, "ageTo": 49, "mean_gcm2": 0.8, "sd_gcm2": 0.12}]}}"#).contains("overlap"))
        #expect(message(#"{"source": " ", "population": "y", "regions": {"femoral_neck": [{"ageFrom": 20, "ageTo": 29, "mean_gcm2": 0.85, "sd_gcm2": 0.12}]}}"#).contains("source"))
        #expect(message(#"{"population": "y"}"#).contains("not a BMD age reference"))
    }
}
