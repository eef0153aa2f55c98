import ArgumentParser
import DICOM
import Foundation
import Imaging

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure speed and memory on a release build; prints figures as JSON.",
        subcommands: [BenchDICOM.self])
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

    private func peakRSSMegabytes() -> Double {
        // VmHWM: the resident-set high-water mark of this process, in kB (proc(5)).
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
            return kb / 1024
        }
        return 0
    }
}
