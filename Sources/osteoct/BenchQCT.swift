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
            narrow neck, trochanters), densitometry (femur regions and compartments), CTXA, spine
            (bodies, levels, L1 ROI), HSA (three sections, hip axis length), body composition at L3 and at the femoral heads, QC pictures. Each step is the best of --repeat runs; peak memory is the
            process's resident high-water mark, reported as a multiple of the HU volume's size. Not
            timed: writing the files (gzip of the label maps) and the FHIR part of analyze.
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
        // As analyze does: the body mask becomes the one label map (femora, vertebrae, L3 tissues).
        var femora: [FemurMask] = [], boxes: [FemurMask.Side: VoxelBox] = [:]
        var combined = body!
        seconds["femora"] = best {
            combined = body!
            let f = FemurSegmenter.segment(loaded.volume, body: combined)
            for q in 0..<f.labels.voxels.count where f.labels.voxels[q] != 0 { combined.mask.voxels[q] = f.labels.voxels[q] }
            femora = f.femora; boxes = f.boxes
        }
        body = nil
        var regions: [FemurDensitometry] = []
        var regionMap: [UInt8] = []
        seconds["densitometry"] = best {
            regionMap = []
            var map = [UInt8](repeating: 0, count: loaded.volume.voxels.count)
            regions = femora.compactMap { f in
                guard let box = boxes[f.side] else { return nil }
                return FemurDensitometer.measure(loaded.volume, labels: combined.mask, femur: f, box: box, calibration: calibration!, regionMap: &map)
            }
            regionMap = map
        }
        var ctxaImages: [(side: FemurMask.Side, image: CTXAImage)] = []
        seconds["ctxa"] = best {
            ctxaImages = []
            guard let cal = calibration, cal.density(hu: 0) != nil else { return }
            for d in regions {
                guard let f = femora.first(where: { $0.side == d.side }) else { continue }
                if let (_, img) = CTXA.measure(labels: combined.mask, regionMap: regionMap, femur: f, densitometry: d, calibration: calibration!,
                                               density: { q in cal.density(hu: Double(loaded.volume.voxels[q])) ?? 0 }) {
                    ctxaImages.append((d.side, img))
                }
            }
        }
        seconds["hsa"] = best {
            guard let cal = calibration, cal.density(hu: 0) != nil else { return }
            for d in regions {
                guard let f = femora.first(where: { $0.side == d.side }) else { continue }
                _ = HSA.measure(labels: combined.mask, femur: f, density: { q in cal.density(hu: Double(loaded.volume.voxels[q])) ?? 0 },
                                hu: { q in Double(loaded.volume.voxels[q]) }, equivalent: cal.equivalent?.rawValue)
            }
        }
        var spine: SpineLevels?
        seconds["spine"] = best {
            spine = SpineSegmenter.segment(loaded.volume, body: &combined)
            _ = SpineDensitometer.measure(loaded.volume, labels: combined.mask.voxels, levels: spine!, calibration: calibration!)
        }
        var composition: BodyCompositionResult?
        seconds["bodyComposition"] = best {
            if let (c, tissue) = BodyCompositionAnalyzer.measure(loaded.volume, labels: combined.mask.voxels, levels: spine!, height_m: 1.6, bmi: 25) {
                composition = c
                for t in tissue { combined.mask.voxels[t.index] = t.label }
            }
        }
        var hipComposition: HipBodyCompositionResult?
        seconds["hipBodyComposition"] = best {
            let heads = femora.compactMap { $0.head.map { Vec3($0.center[0], $0.center[1], $0.center[2]) } }
            if let (c, tissue) = HipBodyCompositionAnalyzer.measure(loaded.volume, labels: combined.mask.voxels, headCentres: heads, midlineX: combined.midlineX) {
                hipComposition = c
                for t in tissue { combined.mask.voxels[t.index] = t.label }
            }
        }
        seconds["qcPictures"] = best {
            _ = QCPictures.render(.init(ct: loaded.volume, labels: combined.mask.voxels, regions: regionMap, femora: femora, spine: spine!,
                                        bodyComposition: composition, hipBodyComposition: hipComposition, ctxa: ctxaImages, calibration: calibration))
        }
        _ = flags
        let v = loaded.volume
        let volumeMB = Double(v.voxels.count * 2) / 1_048_576
        let peak = peakRSSMegabytes()
        try JSONOut.print(Figures(size: [v.size.x, v.size.y, v.size.z], volumeMegabytes: volumeMB, seconds: seconds,
                                  totalSeconds: seconds.values.reduce(0, +), peakRSSMegabytes: peak, peakOverVolume: peak / volumeMB,
                                  threads: Parallel.workerCount))
    }
}
