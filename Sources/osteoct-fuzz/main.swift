// Seeded mutation fuzzer for the DICOM reader and pixel codecs (a developer tool, not part of the
// product CLI). It mutates seed files (bit flips, byte overwrites, truncation, insertion and
// deletion, corrupted length fields), parses each result and decodes every frame. Any crash is a
// bug; every error must be a typed DICOMError. Deterministic: the same seed gives the same inputs.
//
//   osteoct-fuzz [--iterations N] [--seed S] SEEDFILE...
import DICOM
import Foundation
import Imaging

func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
    var b = input
    let rounds = 1 + rng.below(4)
    for _ in 0..<rounds {
        guard !b.isEmpty else { break }
        switch rng.below(8) {
        case 0:  // flip one bit
            let i = rng.below(b.count)
            b[i] ^= UInt8(1 << rng.below(8))
        case 1:  // overwrite a byte with an interesting value
            let i = rng.below(b.count)
            b[i] = [0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE, 0xE0, 0xDD][rng.below(8)]
        case 2:  // truncate
            b.removeLast(rng.below(b.count))
        case 3:  // delete a range
            let i = rng.below(b.count)
            let n = min(b.count - i, 1 + rng.below(64))
            b.removeSubrange(i..<(i + n))
        case 4:  // insert random bytes
            let i = rng.below(b.count)
            b.insert(contentsOf: (0..<(1 + rng.below(16))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: i)
        case 5:  // corrupt a 32-bit little-endian field (element lengths, offsets)
            let i = rng.below(max(1, b.count - 4))
            let v: UInt32 = [0xFFFF_FFFF, 0x7FFF_FFFF, 0, 1, UInt32(b.count), UInt32(truncatingIfNeeded: rng.next())][rng.below(6)]
            for k in 0..<4 where i + k < b.count { b[i + k] = UInt8((v >> (8 * UInt32(k))) & 0xFF) }
        case 6:  // corrupt a 16-bit field (short lengths, US values such as Rows)
            let i = rng.below(max(1, b.count - 2))
            let v = UInt16(truncatingIfNeeded: rng.next())
            b[i] = UInt8(v & 0xFF)
            if i + 1 < b.count { b[i + 1] = UInt8(v >> 8) }
        default:  // duplicate a chunk (repeated items, markers)
            let i = rng.below(b.count)
            let n = min(b.count - i, 1 + rng.below(256))
            b.insert(contentsOf: b[i..<(i + n)], at: rng.below(b.count))
        }
    }
    return b
}

var iterations = 100_000
var seed: UInt64 = 1
var paths: [String] = []
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--iterations": iterations = Int(args.popFirst() ?? "") ?? iterations
    case "--seed": seed = UInt64(args.popFirst() ?? "") ?? seed
    default: paths.append(a)
    }
}
var seeds: [[UInt8]] = []
for p in paths {
    for f in (try? FileIO.listFiles(p)) ?? [] {
        if let b = try? FileIO.readAll(path: f) { seeds.append(b) }
    }
}
guard !seeds.isEmpty else {
    FileHandle.standardError.write(Data("usage: osteoct-fuzz [--iterations N] [--seed S] SEEDFILE|DIR...\n".utf8))
    exit(2)
}

var rng = SplitMix64(seed: seed)
var parsed = 0, parseErrors = 0, framesDecoded = 0, decodeErrors = 0
let start = Date()
for i in 0..<iterations {
    let input = mutate(seeds[i % seeds.count], &rng)
    do {
        let file = try DICOMFile.parse(input)
        parsed += 1
        guard file.dataSet.contains(.pixelData), let info = try? ImagePixelInfo(file.dataSet) else { continue }
        // Decode at most a few frames, as a loader would.
        for f in 0..<min(info.numberOfFrames, 4) {
            do {
                _ = try file.withFrame(f, info: info) { $0.count }
                framesDecoded += 1
            } catch {
                decodeErrors += 1
            }
        }
    } catch {
        parseErrors += 1
    }
}
let seconds = Date().timeIntervalSince(start)
print("{\"iterations\": \(iterations), \"seedFiles\": \(seeds.count), \"parsed\": \(parsed), \"parseErrors\": \(parseErrors), \"framesDecoded\": \(framesDecoded), \"decodeErrors\": \(decodeErrors), \"seconds\": \(String(format: "%.1f", seconds))}")
