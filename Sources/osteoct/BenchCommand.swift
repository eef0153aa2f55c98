import ArgumentParser
import DICOM
import Foundation
import Imaging
import RiskModel

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure speed and memory on a release build; prints figures as JSON.",
        subcommands: [BenchDICOM.self, BenchRisk.self, BenchFHIR.self, BenchQCT.self, BenchFE.self, BenchService.self, BenchServiceLoad.self])
}

struct BenchDICOM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dicom",
        abstract: "Read and decode DICOM series from disk into HU volumes: seconds, MB/s of pixel data, slices/s, peak memory.",
        discussion: """
            Each folder is read once to warm the page cache, then --repeat times; the best time is
            reported (the full path: scan headers, sort, decode every frame, rescale to HU).
            Run one transfer syntax per process to get its own peak memory; `Scripts/bench-dicom.sh`
            does that and compares with pydicom and dcm2niix.
            """)

    @Argument(help: "Series folders (one series each).")
    var folders: [String]

    @Option(name: .customLong("repeat"), help: "Timed repetitions after the warm-up read.")
    var repetitions: Int = 5

    @Flag(help: "Print JSON (always JSON; the flag is accepted for consistency).")
    var json = false

    struct Figure: Encodable {
        var folder: String
        var transferSyntax: String
        var slices: Int
        var size: [Int]
        var pixelMegabytes: Double
        var bestSeconds: Double
        /// Of which: finding the files and parsing their headers (best run).
        var bestHeaderScanSeconds: Double
        var medianSeconds: Double
        var megabytesPerSecond: Double
        var slicesPerSecond: Double
        var peakRSSMegabytes: Double
        var threads: Int
        var checksum: Int64
    }

    func validate() throws {
        guard repetitions >= 1, repetitions <= 1000 else { throw ValidationError("--repeat must be 1…1000") }
    }

    func run() throws {
        var figures: [Figure] = []
        for folder in folders {
            var times: [Double] = []
            var scanTimes: [Double] = []
            var last: LoadedVolume?
            for i in 0...repetitions {
                last = nil  // one volume alive at a time, so the peak is that of a single load
                let t0 = DispatchTime.now().uptimeNanoseconds
                let loaded: LoadedVolume
                do throws(DICOMError) {
                    let scan = try DICOMScanner.scan([folder])
                    let stack = try StackLookup.find(in: scan, selector: nil)
                    if i > 0 { scanTimes.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9) }
                    loaded = try VolumeAssembly.load(stack)
                } catch {
                    throw CommandFailure(error.description)
                }
                let t = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                if i > 0 { times.append(t) }  // run 0 warms the page cache
                last = loaded
            }
            guard let v = last?.volume, let stack = last?.stack else { continue }
            let pixelMB = Double(v.voxels.count * 2) / 1e6
            let best = times.min() ?? 0
            var sum: Int64 = 0
            for x in v.voxels { sum &+= Int64(x) }
            figures.append(
                Figure(
                    folder: folder, transferSyntax: stack.series.transferSyntaxes.sorted().joined(separator: ","),
                    slices: v.size.z, size: [v.size.x, v.size.y, v.size.z], pixelMegabytes: pixelMB,
                    bestSeconds: best, bestHeaderScanSeconds: scanTimes.min() ?? 0, medianSeconds: times.sorted()[times.count / 2],
                    megabytesPerSecond: pixelMB / best, slicesPerSecond: Double(v.size.z) / best,
                    peakRSSMegabytes: peakRSSMegabytes(), threads: Parallel.workerCount, checksum: sum))
        }
        try JSONOut.print(figures)
    }

}

/// The resident-set high-water mark of this process, MB (VmHWM in /proc/self/status, proc(5)).
func peakRSSMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kb / 1024
    }
    return 0
}

struct BenchRisk: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "risk",
        abstract: "Time one prediction (with exact Shapley values), with and without the 95 % interval, and a Cox fit on 100,000 rows × 20 covariates.")

    @Option(help: "Predictions to time.") var patients: Int = 200
    @Option(help: "Monte Carlo draws for the interval.") var draws: Int = 2000
    @Option(help: "Rows of the Cox fit.") var rows: Int = 100_000
    @Option(help: "Covariates of the Cox fit.") var covariates: Int = 20

    struct Figures: Encodable {
        var patientFactors: Int
        var predictionWithoutIntervalMilliseconds: Double
        var predictionWithIntervalMilliseconds: Double
        var intervalDraws: Int
        var coxRows: Int
        var coxCovariates: Int
        var coxEvents: Int
        var coxFitSeconds: Double
        var coxIterations: Int
    }

    func run() throws {
        // A woman with eight factors that differ from the reference (2^8 coalitions).
        var f = PatientFeatures()
        do {
            try f.set("age", 78); try f.set("bmi", 21.5); try f.set("smoking", 1); try f.set("falls_count_12m", 2)
            try f.set("prior_fracture_years_ago", 1); try f.set("vitamin_d_25oh", 35); try f.set("ctxa_fn_tscore", -2.8, sd: 0.45)
            try f.set("muscle_attenuation", 19); try f.set("glucocorticoid_dose", 10)
        } catch { throw CommandFailure("\(error)") }
        let predictor = RiskPredictor(model: try ModelFiles.load(nil))
        func time(_ n: Int, _ options: PredictionOptions) throws -> (Double, Int) {
            var factors = 0
            let t0 = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<n {
                do { factors = try predictor.predict(f, options: options).shapley.values.count } catch { throw CommandFailure("\(error)") }
            }
            return (Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6 / Double(n), factors)
        }
        let (plain, factors) = try time(patients, PredictionOptions(intervalDraws: 0))
        let (withInterval, _) = try time(max(1, patients / 10), PredictionOptions(intervalDraws: draws))
        // Cox data: correlated normal covariates, exponential event times, uniform censoring.
        var state: UInt64 = 42
        func uniform() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return (Double((z ^ (z >> 31)) >> 11) + 0.5) / 9_007_199_254_740_992
        }
        func normal() -> Double { (-2 * log(uniform())).squareRoot() * cos(2 * .pi * uniform()) }
        var x = [[Double]](repeating: [Double](repeating: 0, count: rows), count: covariates)
        var t = [Double](repeating: 0, count: rows), e = [Double](repeating: 0, count: rows)
        for i in 0..<rows {
            var previous = 0.0, lp = 0.0
            for j in 0..<covariates {
                let v = 0.3 * previous + 0.95 * normal()
                x[j][i] = v
                previous = v
                lp += (j % 2 == 0 ? 0.2 : -0.1) * v
            }
            let eventTime = -log(uniform()) / (0.05 * exp(lp))
            let censor = 20 * uniform()
            t[i] = (min(eventTime, censor) * 10).rounded() / 10  // tenths of a year: many ties
            e[i] = eventTime <= censor ? 1 : 0
        }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let fit: CoxFit
        do { fit = try CoxRegression.fit(time: t, event: e, covariates: x, names: (0..<covariates).map { "x\($0)" }) } catch {
            throw CommandFailure("\(error)")
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        try JSONOut.print(Figures(
            patientFactors: factors, predictionWithoutIntervalMilliseconds: plain, predictionWithIntervalMilliseconds: withInterval,
            intervalDraws: draws, coxRows: rows, coxCovariates: covariates, coxEvents: fit.events, coxFitSeconds: seconds,
            coxIterations: fit.iterations))
    }
}
