import ArgumentParser
import DICOM
import Dispatch
import Foundation
import Imaging
import QCT

/// `osteoct bench qct SERIES`: the CT part of `analyze` on one series, step by step.
struct BenchQCT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qct",
        abstract: "Time the quantitative-CT part of analyze on a CT series, step by step, with peak memory against the HU volume.",
        discussion: """
            Make the standard phantom first (`osteoct phantom DIR --size standard`) and pass DIR/dicom.
            Steps: load (read + decode + assemble), calibration (phantom search over the catalogue,
            reference tissues, contrast), body mask, quality flags, femora (segmentation, head, axes,
            narrow neck, trochanters), densitometry (femur regions and compartments). Each step is the best of --repeat runs; peak memory is the
            process's resident high-water mark, reported as a multiple of the HU volume's size. Only
            the steps built so far are timed: CTXA, the spine and body composition are not built.
            """
    )

    @Argument(help: "A DICOM series folder (one series).") var series: String
    @Option(name: .customLong("repeat"), help: "Timed repetitions of each step (best is reported).") var repetitions = 3
    @Flag(help: "Print JSON (always JSON; accepted for consistency).") var json = false

    struct Figures: Encodable {
        var size: [Int]
        var volumeMegabytes: Double
        var seconds: [String: Double]
        var totalSeconds: Double
        var peakRSSMegabytes: Double
        var peakOverVolume: Double
        var threads: Int
    }

    func run() throws {
        func best(_ body: () throws -> Void) rethrows -> Double {
            var t = Double.infinity
            for _ in 0..<max(1, repetitions) {
                let start = DispatchTime.now().uptimeNanoseconds
                try body()
                t = min(t, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            return t
        }
        var seconds: [String: Double] = [:]
        var ct: LoadedCT?
        seconds["load"] = try best { ct = try loadCT(series, series: nil) }
        let loaded = ct!
        let options = try CalibrationOptions.parse(["--profiles", FileManager.default.temporaryDirectory.appendingPathComponent("osteoct-bench-no-profiles").path])
        var calibration: DensityCalibration?
        seconds["calibration"] = try best {
            let catalogue = try options.catalogue()
            calibration = try studyCalibration(loaded, definition: nil, catalogue: catalogue, store: options.store)
        }
        var body: BodyMask?
        seconds["bodyMask"] = try best { body = try BodySegmenter.segment(loaded.volume, padding: loaded.padding) }
        var flags: [QualityFlag] = []
        seconds["qualityFlags"] = best { flags = QualityChecks.assess(loaded.volume, body: body, calibration: calibration!, sliceThickness: nil) }
        var femora: FemurSegmentation?
        seconds["femora"] = best { femora = FemurSegmenter.segment(loaded.volume, body: body!) }
        var regions: [FemurDensitometry] = []
        seconds["densitometry"] = best {
            var map = [UInt8](repeating: 0, count: loaded.volume.voxels.count)
            regions = femora!.femora.compactMap { f in
                guard let box = femora!.boxes[f.side] else { return nil }
                return FemurDensitometer.measure(loaded.volume, labels: femora!.labels, value: f.side == .left ? FemurSegmenter.leftLabel : FemurSegmenter.rightLabel,
                                                 femur: f, box: box, calibration: calibration!, regionMap: &map)
            }
        }
        _ = (regions, flags)
        let v = loaded.volume
        let volumeMB = Double(v.voxels.count * 2) / 1_048_576
        let peak = peakRSSMegabytes()
        try JSONOut.print(Figures(size: [v.size.x, v.size.y, v.size.z], volumeMegabytes: volumeMB, seconds: seconds,
                                  totalSeconds: seconds.values.reduce(0, +), peakRSSMegabytes: peak, peakOverVolume: peak / volumeMB,
                                  threads: Parallel.workerCount))
    }
}
