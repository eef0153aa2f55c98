public import Imaging
import Foundation

/// Frames of one series that share orientation, matrix and pixel size: one candidate volume.
public struct ImageStack: Sendable {
    public var series: SeriesInfo
    /// Frames sorted by position along the slice normal, ascending.
    public var frames: [ImageFrame]
    /// Set when a series was split into several stacks ("stack 2 of 3").
    public var label: String
    /// Notes from building the stack (duplicates dropped, split reasons).
    public var notes: [String]

    public var rows: Int { frames.first?.pixel.descriptor.rows ?? 0 }
    public var columns: Int { frames.first?.pixel.descriptor.columns ?? 0 }

    /// "axial", "coronal", "sagittal" or "oblique", from the slice normal.
    public var orientationName: String {
        guard let n = frames.first?.normal else { return "unknown" }
        let a = [abs(n.x), abs(n.y), abs(n.z)]
        guard let m = a.max(), m > 0.9 else { return "oblique" }
        return m == a[2] ? "axial" : m == a[1] ? "coronal" : "sagittal"
    }
}

/// Where the slices of a stack sit, checked.
public struct StackGeometry: Sendable, Equatable {
    /// Geometry of the output volume (orthonormal; tilted stacks are resampled onto it).
    public var geometry: VolumeGeometry
    public var size: Dim3
    /// Distance between slice centres along the normal, mm.
    public var sliceSpacing: Double
    /// Gantry tilt found from the slice positions, degrees (0 when the positions follow the normal).
    public var tiltDegrees: Double
    /// Per-slice in-plane offset (mm, along row and column directions) relative to slice 0; non-zero only when tilted.
    public var inPlaneOffsets: [(Double, Double)]

    public static func == (a: StackGeometry, b: StackGeometry) -> Bool {
        a.geometry == b.geometry && a.size == b.size && a.sliceSpacing == b.sliceSpacing && a.tiltDegrees == b.tiltDegrees
    }
}

/// What to do with a gantry-tilted stack.
public enum TiltPolicy: String, Sendable, CaseIterable {
    /// Shift each slice in plane onto an orthogonal grid (bilinear interpolation).
    case resample
    /// Refuse with an error.
    case refuse
}

/// A CT volume in HU and how it was made.
public struct LoadedVolume: Sendable {
    public var volume: Volume<Int16>
    public var stack: ImageStack
    public var geometry: StackGeometry
    /// Pixel Padding Value converted to HU, when the images declare one: voxels outside the
    /// reconstructed field of view hold it (as dcm2niix keeps them).
    public var paddingHU: Int16?
    /// Values outside Int16 after rescaling, clamped.
    public var clampedVoxels: Int
    public var notes: [String]
}

public enum VolumeAssembly {
    /// Position differences below this are "the same position" (mm).
    static let samePositionTolerance = 1e-3
    /// CT gantries tilt by at most ±30° (vendor specifications); larger apparent tilts are errors.
    static let maxTiltDegrees = 30.0

    /// Splits a series into stacks by orientation, matrix size and pixel spacing, drops exact
    /// duplicate instances, and splits duplicate positions by acquisition number when that tells
    /// them apart. Throws when images at one position cannot be told apart.
    public static func stacks(of series: SeriesInfo) throws(DICOMError) -> [ImageStack] {
        guard !series.frames.isEmpty else {
            let why = (series.unusable.first ?? series.skipped.first).map { ": \($0)" } ?? ""
            throw .series(reason: "series \(series.seriesNumber.map(String.init) ?? series.seriesInstanceUID) has no images that can form a volume\(why)")
        }
        struct Key: Hashable {
            var o: [Int]
            var rows: Int, cols: Int
            var sp: [Int]
            var stack: String?
        }
        var groups: [Key: [ImageFrame]] = [:]
        var order: [Key] = []
        for f in series.frames {
            let o = [f.rowDirection.x, f.rowDirection.y, f.rowDirection.z, f.columnDirection.x, f.columnDirection.y, f.columnDirection.z]
            let k = Key(
                o: o.map { Int(($0 * 1000).rounded()) }, rows: f.pixel.descriptor.rows, cols: f.pixel.descriptor.columns,
                sp: [Int((f.rowSpacing * 1e4).rounded()), Int((f.columnSpacing * 1e4).rounded())], stack: f.stackID)
            if groups[k] == nil { order.append(k) }
            groups[k, default: []].append(f)
        }
        var out: [ImageStack] = []
        for k in order {
            guard let frames = groups[k] else { continue }
            out.append(contentsOf: try splitDuplicates(frames, series: series))
        }
        if out.count > 1 {
            for i in out.indices {
                out[i].label = "stack \(i + 1) of \(out.count)"
                out[i].notes.append(
                    "series split into \(out.count) stacks by orientation, matrix size, pixel spacing or acquisition")
            }
        }
        return out
    }

    static func splitDuplicates(_ frames: [ImageFrame], series: SeriesInfo) throws(DICOMError) -> [ImageStack] {
        var notes: [String] = []
        // Exact duplicates (same SOP instance and frame, e.g. a file copied twice) are dropped.
        var seen = Set<String>()
        var unique: [ImageFrame] = []
        for f in frames.sorted(by: { $0.path < $1.path }) {
            let key = "\(f.sopInstanceUID)#\(f.frameIndex)"
            if seen.insert(key).inserted { unique.append(f) } else { notes.append("duplicate copy of \(f.sopInstanceUID) ignored (\(f.path))") }
        }
        let n = unique[0].normal
        let sorted = unique.sorted { n.dot($0.position) < n.dot($1.position) }
        var clash: (ImageFrame, ImageFrame)?
        for i in 1..<max(1, sorted.count) where abs(n.dot(sorted[i].position) - n.dot(sorted[i - 1].position)) < samePositionTolerance {
            clash = (sorted[i - 1], sorted[i])
            break
        }
        guard let (a, b) = clash else {
            return [ImageStack(series: series, frames: sorted, label: "", notes: notes)]
        }
        // Several images at one position: several acquisitions (phases, repeats) in one series.
        let acquisitions = Set(sorted.map { $0.acquisitionNumber ?? -1 })
        if acquisitions.count > 1 {
            var stacks: [ImageStack] = []
            for acq in acquisitions.sorted() {
                let part = sorted.filter { ($0.acquisitionNumber ?? -1) == acq }
                let inner = try splitDuplicates(part, series: series)
                stacks += inner.map {
                    var s = $0
                    s.notes = notes + s.notes + ["acquisition number \(acq)"]
                    return s
                }
            }
            return stacks
        }
        throw .series(
            reason: "two images at the same position (\(String(format: "%.3f", n.dot(a.position))) mm along the slice normal): \(a.path) and \(b.path); the series holds more than one volume with nothing to tell them apart — separate the files into one folder per volume")
    }

    /// Checks slice spacing (gaps, duplicates) and tilt, and returns the output geometry.
    public static func geometry(of stack: ImageStack) throws(DICOMError) -> StackGeometry {
        let frames = stack.frames
        guard let first = frames.first else { throw .series(reason: "empty stack") }
        let n = first.normal
        let row = first.rowDirection, col = first.columnDirection
        let d = frames.map { n.dot($0.position) }
        var spacing: Double
        if frames.count == 1 {
            spacing = first.sliceThickness ?? 1
            if !(spacing > 0) { spacing = 1 }
        } else {
            let diffs = zip(d.dropFirst(), d).map { $0 - $1 }
            spacing = median(diffs)
            guard spacing > samePositionTolerance else {
                throw .series(reason: "slices do not advance along the normal (median spacing \(spacing) mm)")
            }
            // A missing slice (gap) or a mix of spacings cannot be one regular grid.
            let tolerance = max(0.01, 0.02 * spacing)
            if let bad = diffs.indices.first(where: { abs(diffs[$0] - spacing) > tolerance }) {
                let kind = diffs[bad] > spacing ? "gap" : "irregular spacing"
                let ratio = diffs[bad] / spacing
                let missing = diffs[bad] > spacing && ratio < 1e6 ? " (about \(Int(ratio.rounded()) - 1) slice(s) missing)" : ""
                throw .series(
                    reason: "\(kind) between slices at \(fmt(d[bad])) and \(fmt(d[bad + 1])) mm: \(fmt(diffs[bad])) mm apart where the series spacing is \(fmt(spacing)) mm\(missing); the series is incomplete — retrieve the missing images or pass a complete series")
            }
        }
        // Tilt: slice origins drift in plane in proportion to their distance along the normal (a
        // shear). Fit the drift per mm by least squares; every slice must follow it within a
        // tenth of a pixel, else the positions are inconsistent, not tilted.
        var offsets: [(Double, Double)] = []
        var tilt = 0.0
        if frames.count > 1 {
            let deltas = frames.map { f -> (along: Double, u: Double, v: Double) in
                let delta = f.position - first.position
                let along = n.dot(delta)
                let inPlane = delta - n * along
                return (along, inPlane.dot(row), inPlane.dot(col))
            }
            let sxx = deltas.reduce(0) { $0 + $1.along * $1.along }
            let gu = deltas.reduce(0) { $0 + $1.along * $1.u } / sxx
            let gv = deltas.reduce(0) { $0 + $1.along * $1.v } / sxx
            let residual = deltas.map { abs($0.u - gu * $0.along) + abs($0.v - gv * $0.along) }.max() ?? 0
            let pixel = min(first.columnSpacing, first.rowSpacing)
            guard residual <= 0.1 * pixel else {
                throw .series(
                    reason: "slice positions move in plane irregularly (up to \(fmt(residual, 2)) mm off a straight line): not a gantry tilt; the series is inconsistent — check Image Position (Patient)")
            }
            tilt = atan((gu * gu + gv * gv).squareRoot()) * 180 / .pi
            // Below 0.05° the largest in-plane shift over 400 mm is 0.35 mm, under half a pixel:
            // treated as untilted rather than resampled.
            if tilt < 0.05 {
                tilt = 0
            } else if tilt > maxTiltDegrees {
                throw .series(
                    reason: "slice positions imply a gantry tilt of \(fmt(tilt, 1))°, beyond the \(fmt(maxTiltDegrees, 0))° a CT gantry tilts; the positions or the orientation are wrong")
            } else {
                offsets = deltas.map { (gu * $0.along, gv * $0.along) }
            }
        }
        let size = Dim3(first.pixel.descriptor.columns, first.pixel.descriptor.rows, frames.count)
        let geometry = VolumeGeometry(
            spacing: Vec3(first.columnSpacing, first.rowSpacing, spacing), origin: first.position,
            direction: Mat3(columns: row, col, n))
        return StackGeometry(
            geometry: geometry, size: size, sliceSpacing: spacing, tiltDegrees: tilt,
            inPlaneOffsets: tilt > 0 ? offsets : [])
    }

    /// Reads and decodes every frame of the stack into one HU volume, on all cores.
    public static func load(_ stack: ImageStack, tilt policy: TiltPolicy = .resample) throws(DICOMError) -> LoadedVolume {
        // An image of the series that cannot be placed would be a silently missing slice.
        if let first = stack.series.unusable.first {
            throw .series(
                reason: "\(stack.series.unusable.count) image(s) of \(SeriesSelection.describe(stack.series, nil)) cannot be used, so the volume would miss slices; fix or remove them. First: \(first)")
        }
        let geo = try geometry(of: stack)
        var notes = stack.notes
        if !stack.series.skipped.isEmpty { notes.append("\(stack.series.skipped.count) localizer image(s) left out") }
        if geo.tiltDegrees > 0 {
            if policy == .refuse {
                throw .series(
                    reason: "gantry tilt of \(fmt(geo.tiltDegrees))° (slice positions drift in plane); refused as asked — use tilt policy 'resample' to shift slices onto an orthogonal grid")
            }
            notes.append("gantry tilt \(fmt(geo.tiltDegrees))° detected: slices shifted onto an orthogonal grid (bilinear interpolation)")
        }
        guard let voxelCount = geo.size.count, voxelCount <= ImagingLimits.maxVoxels else {
            throw .series(reason: "volume \(geo.size) exceeds \(ImagingLimits.maxVoxels) voxels")
        }
        let sliceVoxels = geo.size.x * geo.size.y
        // All frames must share the pixel layout of the first one (BitsStored may differ per file).
        let ref = stack.frames[0].pixel.descriptor
        for f in stack.frames {
            if f.pixel.descriptor.samplesPerPixel != 1 {
                throw .series(
                    reason: "\(f.path): colour image (\(f.pixel.descriptor.samplesPerPixel) samples per pixel, \(f.pixel.descriptor.photometricInterpretation)); a CT volume needs grey-scale images")
            }
            if f.pixel.descriptor.rows != ref.rows || f.pixel.descriptor.columns != ref.columns {
                throw .series(reason: "\(f.path): image size differs within the stack")
            }
        }
        // Group frames by file so each file is read once.
        var byFile: [String: [(slice: Int, frame: ImageFrame)]] = [:]
        for (k, f) in stack.frames.enumerated() { byFile[f.path, default: []].append((k, f)) }
        let files = byFile.keys.sorted()
        let work = files.map { byFile[$0] ?? [] }

        // Every slice below is written (or the load fails), so the buffer need not be zeroed first.
        var voxels = VoxelBuffer.uninitialized(voxelCount, of: Int16.self)
        let failure = FirstError<DICOMError>()
        let clampCounter = Counter()
        voxels.withUnsafeMutableBufferPointer { buf in
            let out = SharedMutableBuffer(buf)
            Parallel.forEach(work.count) { w in
                if failure.isSet { return }
                let items = work[w]
                guard let path = items.first?.frame.path else { return }
                do throws(DICOMError) {
                    // Uncompressed little endian: read each frame straight into its slice and
                    // rescale in place (no copy of the file, no second parse).
                    if items.allSatisfy({ $0.frame.nativePixelOffset != nil && $0.frame.pixel.descriptor.bitsAllocated == 16 }) {
                        let clamped = try readNativeFrames(path: path, items: items, into: out, sliceVoxels: sliceVoxels)
                        if clamped > 0 { clampCounter.add(clamped) }
                        return
                    }
                    let file = try DICOMFile.read(path: path)
                    for (slice, frame) in items {
                        let dst = out.slice((slice * sliceVoxels)..<((slice + 1) * sliceVoxels))
                        let d = frame.pixel.descriptor
                        var clamped: Int
                        if d.bitsAllocated == 16 {
                            // Decode straight into the slice, then rescale in place.
                            try file.decodeFrame(frame.frameIndex, info: frame.pixel, into: UnsafeMutableRawBufferPointer(dst))
                            clamped = PixelValues.toInt16InPlace(dst, descriptor: d, rescale: frame.rescale)
                        } else {
                            clamped = try file.withFrame(frame.frameIndex, info: frame.pixel) { native in
                                PixelValues.toInt16(native: native, descriptor: d, rescale: frame.rescale, into: dst)
                            }
                        }
                        if clamped > 0 { clampCounter.add(clamped) }
                    }
                } catch {
                    failure.record(error.inFile(path))
                }
            }
        }
        if let e = failure.value { throw e }
        var volume = try makeVolume(geo, voxels)
        var paddingHU: Int16?
        let first = stack.frames[0]
        if let pad = first.pixel.paddingValue {
            let hu = (Double(pad) * first.rescale.slope + first.rescale.intercept).rounded()
            paddingHU = Int16(clamping: Int(max(-32768, min(32767, hu))))
        }
        if geo.tiltDegrees > 0 {
            volume = resampleTilted(volume, offsets: geo.inPlaneOffsets, fill: paddingHU ?? -1024)
        }
        if clampCounter.value > 0 {
            notes.append("\(clampCounter.value) voxel value(s) outside −32768…32767 HU after rescaling were clamped")
        }
        return LoadedVolume(
            volume: volume, stack: stack, geometry: geo, paddingHU: paddingHU, clampedVoxels: clampCounter.value, notes: notes)
    }

    /// pread()s each frame's bytes into its slice, then converts stored values to HU in place.
    static func readNativeFrames(
        path: String, items: [(slice: Int, frame: ImageFrame)], into out: SharedMutableBuffer<Int16>, sliceVoxels: Int
    ) throws(DICOMError) -> Int {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var clamped = 0
        for (slice, frame) in items {
            let dst = out.slice((slice * sliceVoxels)..<((slice + 1) * sliceVoxels))
            let bytes = UnsafeMutableRawBufferPointer(dst)
            var done = 0
            let offset = frame.nativePixelOffset ?? 0
            while done < bytes.count {
                guard let base = bytes.baseAddress else { break }
                let n = pread(fd, base + done, bytes.count - done, off_t(offset + done))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 {
                    throw .truncated(offset: offset + done, tag: .pixelData, needed: bytes.count - done, available: 0)
                }
                done += n
            }
            if !frame.transferSyntax.littleEndian {
                // Explicit VR Big Endian: 16-bit words were written high byte first (PS3.5 §7.3).
                for i in 0..<dst.count { dst[i] = dst[i].byteSwapped }
            }
            clamped += PixelValues.toInt16InPlace(dst, descriptor: frame.pixel.descriptor, rescale: frame.rescale)
        }
        return clamped
    }

    static func makeVolume(_ geo: StackGeometry, _ voxels: [Int16]) throws(DICOMError) -> Volume<Int16> {
        do { return try Volume(size: geo.size, geometry: geo.geometry, voxels: voxels) } catch {
            throw .series(reason: error.description)
        }
    }

    /// Shifts every slice by its in-plane offset so voxel (i, j, k) lies on the orthogonal grid of slice 0.
    static func resampleTilted(_ v: Volume<Int16>, offsets: [(Double, Double)], fill: Int16) -> Volume<Int16> {
        var out = v
        let nx = v.size.x, ny = v.size.y
        let sx = v.geometry.spacing.x, sy = v.geometry.spacing.y
        let src = v.voxels
        out.voxels.withUnsafeMutableBufferPointer { buf in
            let dst = SharedMutableBuffer(buf)
            Parallel.forEach(v.size.z) { k in
                // Output (i, j) is input (i − di, j − dj) of the same slice.
                let di = offsets[k].0 / sx, dj = offsets[k].1 / sy
                let base = k * nx * ny
                for j in 0..<ny {
                    let y = Double(j) - dj
                    let y0 = Int(y.rounded(.down)), fy = y - Double(y0)
                    for i in 0..<nx {
                        let x = Double(i) - di
                        let x0 = Int(x.rounded(.down)), fx = x - Double(x0)
                        guard x0 >= 0, y0 >= 0, x0 + 1 < nx || (fx == 0 && x0 < nx), y0 + 1 < ny || (fy == 0 && y0 < ny) else {
                            dst[base + j * nx + i] = fill
                            continue
                        }
                        func at(_ a: Int, _ b: Int) -> Double { Double(src[base + min(b, ny - 1) * nx + min(a, nx - 1)]) }
                        let value = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0))
                            + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1))
                        dst[base + j * nx + i] = Int16(value.rounded())
                    }
                }
            }
        }
        return out
    }
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    guard !s.isEmpty else { return 0 }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func fmt(_ x: Double, _ digits: Int = 3) -> String {
    String(format: "%.\(digits)f", x).replacingOccurrences(of: #"\.?0+$"#, with: "", options: .regularExpression)
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add(_ k: Int) { lock.lock(); n += k; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
