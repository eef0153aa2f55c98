import Foundation
import Testing

// osteoct analyze / validate / fhir convert / risk --patient, run as a user would.

private func repo(_ path: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(path).path
}

@Suite("osteoct FHIR commands", .serialized)
struct FHIRCLITests {
    @Test("analyze writes a valid Bundle in JSON and XML, the same bytes every run")
    func analyze() throws {
        let dir = tempDir()
        let phantom = try CLI.run(["phantom", dir + "/study", "--size", "small"])
        #expect(phantom.status == 0, "\(phantom.stderr)")
        var outputs: [Data] = []
        for run in 0..<2 {
            let out = dir + "/out\(run)"
            let r = try CLI.run(["analyze", dir + "/study/dicom", "--patient", repo("Examples/patients/patient-high-risk.json"),
                                 "--out", out, "--issued", "2026-11-25T10:00:00Z"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("Category: high"))
            for f in ["bundle.json", "bundle.xml", "features.json", "risk.json"] {
                #expect(FileManager.default.fileExists(atPath: out + "/" + f), "\(f)")
            }
            outputs.append(try Data(contentsOf: URL(fileURLWithPath: out + "/bundle.json")) + Data(contentsOf: URL(fileURLWithPath: out + "/bundle.xml")))
            // No staging folder is left behind.
            #expect(try FileManager.default.contentsOfDirectory(atPath: out).allSatisfy { !$0.hasPrefix(".osteoct-staging") })
        }
        #expect(outputs[0] == outputs[1])
        // Re-scored with another record from the first analysis folder, no DICOM: the CT part is the
        // same bytes, the risk is the new record's, the resources are a revision of their own.
        let re = try CLI.run(["analyze", dir + "/out0", "--reuse-ct", "--patient", repo("Examples/patients/patient-low-risk.json"),
                              "--out", dir + "/rescore", "--revision", "2", "--issued", "2026-11-26T10:00:00Z"])
        #expect(re.status == 0, "\(re.stderr)")
        for f in ["measurements.json", "study.json"] {
            #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/out0/" + f)) == Data(contentsOf: URL(fileURLWithPath: dir + "/rescore/" + f)), "\(f)")
        }
        func tenYear(_ path: String) throws -> Double? {
            let r = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
            return (r?["probabilities"] as? [[String: Any]])?.first { $0["years"] as? Int == 10 }?["percent"] as? Double
        }
        let before = try tenYear(dir + "/out0/risk.json"), after = try tenYear(dir + "/rescore/risk.json")
        #expect(before != nil && after != nil && after! < before!, "10-year risk \(String(describing: before)) → \(String(describing: after))")
        #expect(try String(contentsOfFile: dir + "/rescore/bundle.json", encoding: .utf8).contains("-r2-risk"))
        let noDICOM = try CLI.run(["analyze", dir + "/out0", "--reuse-ct", "--dicom-out", dir + "/d", "--out", dir + "/x"])
        #expect(noDICOM.status == 2)
        let noRevision = try CLI.run(["analyze", dir + "/out0", "--reuse-ct", "--out", dir + "/z"])
        #expect(noRevision.status == 2 && noRevision.stderr.contains("--revision"))
        let notAnalysis = try CLI.run(["analyze", dir + "/study", "--reuse-ct", "--revision", "2", "--out", dir + "/y"])
        #expect(notAnalysis.status == 1 && notAnalysis.stderr.contains("study.json"))
        // Both files validate against the base rules and OsteoCT's profiles.
        for f in ["bundle.json", "bundle.xml"] {
            let v = try CLI.run(["validate", dir + "/out0/" + f, "--text"])
            #expect(v.status == 0, "\(v.stdout)")
            #expect(v.stdout.contains("0 error(s)"))
        }
        // JSON → XML → JSON through the CLI gives the same JSON.
        let x = try CLI.run(["fhir", "convert", dir + "/out0/bundle.json", "--to", "xml", "--out", dir + "/rt.xml"])
        #expect(x.status == 0, "\(x.stderr)")
        let j = try CLI.run(["fhir", "convert", dir + "/rt.xml", "--to", "json", "--out", dir + "/rt.json"])
        #expect(j.status == 0, "\(j.stderr)")
        let a = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/out0/bundle.json"))) as? NSDictionary
        let b = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/rt.json"))) as? NSDictionary
        #expect(a != nil && a == b)
    }

    @Test("validate prints an OperationOutcome and exits 1 on errors")
    func validate() throws {
        let dir = tempDir()
        let bad = dir + "/ra.json"
        try Data(#"{"resourceType":"RiskAssessment","status":"final","subject":{"reference":"Patient/1"},"prediction":[{"probabilityDecimal":250}]}"#.utf8)
            .write(to: URL(fileURLWithPath: bad))
        let r = try CLI.run(["validate", bad])
        #expect(r.status == 1)
        let outcome = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(outcome?["resourceType"] as? String == "OperationOutcome")
        #expect(r.stdout.contains("ras-2"))
        let xml = try CLI.run(["validate", bad, "--format", "xml"])
        #expect(xml.stdout.contains("<OperationOutcome xmlns=\"http://hl7.org/fhir\">"))
        let unknownProfile = try CLI.run(["validate", bad, "--profile", "http://example.org/nope"])
        #expect(unknownProfile.status == 2)
        let missing = try CLI.run(["validate", dir + "/none.json"])
        #expect(missing.status == 1 && missing.stderr.contains("cannot read"))
        // The shipped profiles validate themselves as R4 resources.
        let profiles = try FileManager.default.contentsOfDirectory(atPath: repo("Profiles")).filter { $0.hasSuffix(".json") }.sorted()
        #expect(profiles.count >= 16)
        for p in profiles {
            let v = try CLI.run(["validate", repo("Profiles/" + p), "--text"])
            #expect(v.status == 0, "\(p): \(v.stdout)")
        }
    }

    @Test("analyze refuses bad input with a clear message")
    func analyzeErrors() throws {
        let dir = tempDir()
        _ = try CLI.run(["phantom", dir + "/study", "--size", "small"])
        let notFHIR = dir + "/p.json"
        try Data(#"{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","gender":"woman"}}]}"#.utf8).write(to: URL(fileURLWithPath: notFHIR))
        let r = try CLI.run(["analyze", dir + "/study/dicom", "--patient", notFHIR, "--out", dir + "/out"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("'woman'") && r.stderr.contains("administrative-gender"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/out/bundle.json"))
        let noStudy = try CLI.run(["analyze", dir, "--out", dir + "/out2"])
        #expect(noStudy.status == 1 || noStudy.status == 0)
        let badDate = try CLI.run(["analyze", dir + "/study/dicom", "--issued", "yesterday"])
        #expect(badDate.status == 2 && badDate.stderr.contains("instant"))
        let badConfig = dir + "/c.json"
        try Data(#"{"referralStatus":"sent"}"#.utf8).write(to: URL(fileURLWithPath: badConfig))
        let c = try CLI.run(["analyze", dir + "/study/dicom", "--config", badConfig, "--out", dir + "/out3"])
        #expect(c.status == 1 && c.stderr.contains("referralStatus"))
    }

    @Test("risk --patient maps the EHR record")
    func riskFromRecord() throws {
        let r = try CLI.run(["risk", "--patient", repo("Examples/patients/patient-low-risk.json"), "--as-of", "2026-11-25", "--json", "--draws", "0"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("vitamin_d_25oh = 74.0 from Observation/lr-vitd"))
        let result = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect((result?["probabilities"] as? [[String: Any]])?.count == 3)
        let both = try CLI.run(["risk", "--patient", "x.json", "--features", "y.json"])
        #expect(both.status == 2)
    }

    /// Each process hashes dictionaries with a new seed, so only separate runs can show a result
    /// that depends on dictionary order (the last digits of a sum did, once).
    @Test("risk gives the same bytes in separate processes")
    func riskDeterministicAcrossProcesses() throws {
        let args = ["risk", "--patient", repo("Examples/patients/patient-high-risk.json"), "--as-of", "2026-11-25", "--json", "--draws", "200"]
        let outputs = try (0..<4).map { _ in try CLI.run(args).stdout }
        #expect(!outputs[0].isEmpty)
        #expect(Set(outputs).count == 1)
    }
}
