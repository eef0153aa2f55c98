import DICOM
import Foundation
import Imaging
import Testing

/// Runs the built `osteoct` binary as a user would.
struct CLI {
    static var binary: String {
        // Tests/OsteoctCLITests/CLITests.swift → package root → .build/debug/osteoct
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/osteoct").path
    }

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ args: [String]) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }
}

func tempDir() -> String {
    let dir = NSTemporaryDirectory() + "osteoct-cli-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

@Suite("osteoct command line", .serialized)
struct CLITests {
    @Test("--help on every command, exit 0")
    func help() throws {
        for args in [["--help"], ["inspect", "--help"], ["convert", "--help"], ["bench", "dicom", "--help"], ["dump", "--help"]] {
            let r = try CLI.run(args)
            #expect(r.status == 0, "\(args)")
            #expect(r.stdout.contains("USAGE"), "\(args)")
        }
    }

    @Test("bad usage exits 2 with a message; a failed command exits 1 with one")
    func exitCodes() throws {
        let missing = try CLI.run(["inspect"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("Missing expected argument"))
        let badOutput = try CLI.run(["convert", "in", "out.txt"])
        #expect(badOutput.status == 2)
        #expect(badOutput.stderr.contains(".nii"))
        let unknown = try CLI.run(["frobnicate"])
        #expect(unknown.status == 2)
        let nothing = try CLI.run(["inspect", "/nonexistent/osteoct"])
        #expect(nothing.status == 1)
        #expect(nothing.stderr.contains("no such file or directory"))
        // fe: a load case, law or voxel size it does not know is a usage error naming the valid ones.
        let badLoad = try CLI.run(["fe", "/tmp", "--load", "jump"])
        #expect(badLoad.status == 2 && badLoad.stderr.contains("sideways-fall"))
        let badVoxel = try CLI.run(["fe", "/tmp", "--voxel", "0.1"])
        #expect(badVoxel.status == 2 && badVoxel.stderr.contains("0.5 and 3"))
        let noStudy = try CLI.run(["fe", "/nonexistent/osteoct"])
        #expect(noStudy.status == 1)
    }

    @Test("inspect --json and convert on a written series")
    func inspectAndConvert() throws {
        let dir = tempDir()
        let g = VolumeGeometry(spacing: Vec3(0.8, 0.8, 1.25), origin: Vec3(-10, -10, 50))
        let voxels: [Int16] = (0..<(16 * 16 * 5)).map { (i: Int) -> Int16 in Int16(i % 2000 - 1000) }
        let v = try Volume(size: Dim3(16, 16, 5), geometry: g, voxels: voxels)
        var d = CTSeriesDescription(
            studyInstanceUID: DICOMUID.derived(from: "cli-study"), seriesInstanceUID: DICOMUID.derived(from: "cli-series"),
            frameOfReferenceUID: DICOMUID.derived(from: "cli-for"), sopInstanceUIDPrefix: DICOMUID.derived(from: "cli-sop"),
            sliceThickness_mm: 1.25)
        d.seriesNumber = 7
        try CTSeriesWriter.write(v, d, to: dir + "/dicom")
        let inspect = try CLI.run(["inspect", dir, "--json"])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any]
        let studies = json?["studies"] as? [[String: Any]]
        let series = studies?.first?["series"] as? [[String: Any]]
        #expect(series?.first?["seriesNumber"] as? Int == 7)
        #expect(series?.first?["frames"] as? Int == 5)
        let out = dir + "/ct.nii.gz"
        let convert = try CLI.run(["convert", dir + "/dicom", out, "--json"])
        #expect(convert.status == 0, "\(convert.stderr)")
        let (back, _) = try NIfTI.read(path: out).int16Volume()
        #expect(back.voxels == voxels)
        // The same input converts to the same bytes.
        let out2 = dir + "/ct2.nii.gz"
        _ = try CLI.run(["convert", dir + "/dicom", out2])
        #expect(try FileIO.readAll(path: out) == FileIO.readAll(path: out2))
    }

    @Test("phantom: the same options write byte-identical files; bad options exit 2 with the valid range")
    func phantomDeterminism() throws {
        let a = tempDir(), b = tempDir()
        for dir in [a, b] {
            let r = try CLI.run(["phantom", dir, "--size", "small", "--seed", "3", "--slices", "12", "--json"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let files = try FileIO.listFiles(a).map { String($0.dropFirst(a.count)) }
        #expect(files.contains("/truth.json"))
        #expect(files.contains("/labels.nii.gz"))
        #expect(files.filter { $0.hasPrefix("/dicom/") }.count == 12)
        for f in files {
            #expect(try FileIO.readAll(path: a + f) == FileIO.readAll(path: b + f), "\(f)")
        }
        let bad = try CLI.run(["phantom", tempDir(), "--size", "small", "--neck-shaft-angle", "200"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("100.0…150.0"))
        let badSize = try CLI.run(["phantom", tempDir(), "--size", "huge"])
        #expect(badSize.status == 2)
        #expect(badSize.stderr.contains("small, standard, full"))
    }

    @Test("calibrate: finds the phantom pad's rods and prints the fit (truth: HU = 1.30·ρ); errors exit 1")
    func calibrate() throws {
        let dir = tempDir()
        let p = try CLI.run(["phantom", dir, "--size", "small", "--seed", "4"])
        #expect(p.status == 0, "\(p.stderr)")
        let r = try CLI.run(["calibrate", "phantom", dir + "/dicom", "--phantom", "osteoct-digital", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(abs((json?["slope_HU_per_mgcm3"] as? Double ?? 0) - 1.30) < 0.013)
        #expect((json?["points"] as? [Any])?.count == 4)
        let list = try CLI.run(["calibrate", "phantom", "--list-phantoms"])
        #expect(list.stdout.contains("mindways-model-3-ct"))
        let unknown = try CLI.run(["calibrate", "phantom", dir + "/dicom", "--phantom", "nope"])
        #expect(unknown.status == 1 && unknown.stderr.contains("known:"))
        let missing = try CLI.run(["calibrate", "phantom", dir + "/nothing-here"])
        #expect(missing.status == 1)
        // Asynchronous: the phantom scan becomes a scanner profile that a study without a pad
        // (same scanner tags) is calibrated with; without profiles it is HU only.
        let profiles = tempDir() + "/profiles"
        let save = try CLI.run(["calibrate", "phantom", dir + "/dicom", "--phantom", "osteoct-digital", "--save-profile", "pad-120", "--profiles", profiles])
        #expect(save.status == 0 && save.stdout.contains("scanner profile saved"), "\(save.stderr)")
        let noPad = tempDir()
        #expect(try CLI.run(["phantom", noPad, "--size", "small", "--seed", "6", "--no-calibration-phantom"]).status == 0)
        let study = try CLI.run(["calibrate", "study", noPad + "/dicom", "--profiles", profiles, "--json"])
        let sj = try JSONSerialization.jsonObject(with: Data(study.stdout.utf8)) as? [String: Any]
        #expect(sj?["method"] as? String == "asynchronous-profile" && sj?["reference"] as? String == "pad-120", "\(study.stderr)")
        let none = try CLI.run(["calibrate", "study", noPad + "/dicom", "--profiles", tempDir() + "/empty", "--json"])
        let nj = try JSONSerialization.jsonObject(with: Data(none.stdout.utf8)) as? [String: Any]
        #expect(nj?["method"] as? String == "none")
    }

    @Test("analyze: measurements.json with the calibration and quality flags; a prosthesis side is flagged and excluded")
    func analyzeCTPart() throws {
        let dir = tempDir()
        #expect(try CLI.run(["phantom", dir, "--size", "small", "--seed", "8", "--prosthesis", "right"]).status == 0)
        let out = dir + "/out"
        let patient = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Examples/patients/patient-low-risk.json").path
        let r = try CLI.run(["analyze", dir + "/dicom", "--patient", patient, "--out", out, "--issued", "2026-11-25T10:00:00Z", "--profiles", dir + "/none"])
        #expect(r.status == 0, "\(r.stderr)")
        let m = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/measurements.json"))) as? [String: Any]
        #expect(m?["schema"] as? String == "osteoct.measurements/0.1" && m?["status"] as? String == "done")
        let codes = (m?["qualityFlags"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
        #expect(codes.contains("metal-right") && !codes.contains("metal-left"), "\(codes)")
        let cal = m?["calibration"] as? [String: Any]
        #expect(cal?["method"] as? String == "synchronous-phantom")
        #expect(abs((cal?["slope_HU_per_mgcm3"] as? Double ?? 0) - 1.30) < 0.013)
        let labels = try NIfTI.read(path: out + "/labels.nii.gz").labelVolume(path: out + "/labels.nii.gz")
        // Femora and vertebral bodies lie inside the body: every non-zero label is body.
        let bodyVoxels = labels.voxels.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
        let volume = (m?["body"] as? [String: Any])?["volume_cm3"] as? Double ?? 0
        #expect(abs(Double(bodyVoxels) * 27 / 1000 - volume) < 0.1, "3 mm voxels: 0.027 cm³ each")
        // QA against the truth: calibration and rods in tolerance; at 3 mm the other femur is not
        // separated from the pelvis, so its geometry is "not measured" and the check fails.
        let check = try CLI.run(["phantom-check", dir + "/truth.json", out + "/measurements.json", "--json"])
        #expect(check.status == 1)
        let rows = try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [[String: Any]] ?? []
        let slope = rows.first { ($0["quantity"] as? String) == "calibration slope σ" }
        #expect(slope?["pass"] as? Bool == true)
        #expect(rows.filter { ($0["quantity"] as? String ?? "").hasPrefix("rod ") }.allSatisfy { $0["pass"] as? Bool == true })
        #expect(rows.contains { ($0["quantity"] as? String ?? "").contains("right femur (prosthesis") && $0["pass"] as? Bool == true })
    }

    @Test("risk: a feature file gives probabilities, category and Shapley values; bad features exit 1 naming the feature")
    func risk() throws {
        let dir = tempDir()
        let file = dir + "/f.json"
        try Data(#"{"age": 70, "bmi": 25, "falls_history": true}"#.utf8).write(to: URL(fileURLWithPath: file))
        let r = try CLI.run(["risk", "--features", file, "--json", "--draws", "200"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let probabilities = json?["probabilities"] as? [[String: Any]]
        let ten = probabilities?.first { ($0["years"] as? Int) == 10 }
        // QFracture-2012 regression point (qfracture-2012-hip-women.md): 70 y, BMI 25, falls → 3.3131 %.
        #expect(abs((ten?["percent"] as? Double ?? 0) - 3.3131) < 0.00005)
        #expect((json?["category"] as? [String: Any])?["level"] as? String == "high")
        let bad = dir + "/bad.json"
        try Data(#"{"age": 70, "vitamin_d_25oh": {"value": 20, "unit": "mg/dL"}}"#.utf8).write(to: URL(fileURLWithPath: bad))
        let e = try CLI.run(["risk", "--features", bad])
        #expect(e.status == 1)
        #expect(e.stderr.contains("vitamin_d_25oh") && e.stderr.contains("nmol/L"))
        let usage = try CLI.run(["risk"])
        #expect(usage.status == 2)
        let card = try CLI.run(["model", "show", "--card"])
        #expect(card.stdout.contains("Validation status: Not validated"))
    }
}
