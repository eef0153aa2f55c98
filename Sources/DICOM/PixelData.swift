import Imaging

/// The table of pixel codecs, by transfer syntax UID (pydicom-style: small separately tested units).
public enum PixelCodecs {
    public static let all: [any PixelCodec] = [
        RLECodec(), JPEGLosslessCodec(), JPEGLSCodec(), JPEG2000Codec(),
    ]

    public static func codec(for uid: String) -> (any PixelCodec)? {
        all.first { $0.transferSyntaxUIDs.contains(uid) }
    }

    /// Every transfer syntax whose pixel data OsteoCT reads.
    public static var supportedTransferSyntaxes: [TransferSyntax] {
        [.explicitVRLittleEndian, .implicitVRLittleEndian, .deflatedExplicitVRLittleEndian, .explicitVRBigEndian]
            + TransferSyntax.known.filter { ts in all.contains { $0.transferSyntaxUIDs.contains(ts.uid) } }
    }
}

/// The Image Pixel module of one image, validated before anything is allocated from it.
public struct ImagePixelInfo: Sendable, Equatable {
    public var descriptor: PixelDescriptor
    public var numberOfFrames: Int
    /// Pixel Padding Value (0028,0120) and Range Limit (0028,0121), as stored values (sign applied).
    public var paddingValue: Int?
    public var paddingRangeLimit: Int?

    /// Largest frame count accepted (Enhanced CT of a whole body at 0.5 mm stays far below).
    public static let maxFrames = 65_536
    /// Largest frame accepted, in bytes (a 4096×4096 RGB 32-bit frame is 192 MiB); checked before
    /// any frame buffer is allocated.
    public static let maxFrameBytes = 256 << 20

    public init(_ ds: DataSet) throws(DICOMError) {
        guard let rows = ds.int(.rows), rows > 0 else {
            throw .missingAttribute(tag: .rows, context: "an image needs Rows (0028,0010) > 0")
        }
        guard let cols = ds.int(.columns), cols > 0 else {
            throw .missingAttribute(tag: .columns, context: "an image needs Columns (0028,0011) > 0")
        }
        // US values: at most 65535 (a Rows written as text could claim anything).
        guard rows <= 65535, cols <= 65535 else {
            throw .invalidValue(tag: .rows, value: "\(rows)×\(cols)", reason: "Rows and Columns must be at most 65535")
        }
        guard let ba = ds.int(.bitsAllocated) else {
            throw .missingAttribute(tag: .bitsAllocated, context: "an image needs Bits Allocated (0028,0100)")
        }
        guard [8, 16, 32].contains(ba) else {
            throw .invalidValue(tag: .bitsAllocated, value: "\(ba)", reason: "only 8, 16 and 32 bits per sample are read")
        }
        let bs = ds.int(.bitsStored) ?? ba
        guard bs >= 1, bs <= ba else {
            throw .invalidValue(tag: .bitsStored, value: "\(bs)", reason: "must be between 1 and Bits Allocated (\(ba))")
        }
        let pr = ds.int(.pixelRepresentation) ?? 0
        guard pr == 0 || pr == 1 else {
            throw .invalidValue(tag: .pixelRepresentation, value: "\(pr)", reason: "must be 0 (unsigned) or 1 (signed)")
        }
        let spp = ds.int(.samplesPerPixel) ?? 1
        guard spp == 1 || spp == 3 || spp == 4 else {
            throw .invalidValue(tag: .samplesPerPixel, value: "\(spp)", reason: "must be 1, 3 or 4")
        }
        var frames = 1
        if ds.contains(.numberOfFrames) {
            guard let f = ds.int(.numberOfFrames) else {
                throw .invalidValue(
                    tag: .numberOfFrames, value: ds.string(.numberOfFrames) ?? "", reason: "not an integer")
            }
            frames = f
        }
        guard frames >= 1, frames <= Self.maxFrames else {
            throw .invalidValue(tag: .numberOfFrames, value: "\(frames)", reason: "must be 1…\(Self.maxFrames)")
        }
        let photometric = ds.string(.photometricInterpretation) ?? (spp == 1 ? "MONOCHROME2" : "RGB")
        descriptor = PixelDescriptor(
            rows: rows, columns: cols, samplesPerPixel: spp, bitsAllocated: ba, bitsStored: bs,
            pixelRepresentation: pr, planarConfiguration: ds.int(.planarConfiguration) ?? 0,
            photometricInterpretation: photometric)
        numberOfFrames = frames
        guard descriptor.frameByteCount <= Self.maxFrameBytes else {
            throw .invalidValue(
                tag: .rows, value: "\(rows)×\(cols)×\(spp) at \(ba) bits",
                reason: "a frame of \(descriptor.frameByteCount) bytes exceeds the \(Self.maxFrameBytes)-byte limit")
        }
        // Padding values are stored like pixels: US or SS per Pixel Representation.
        func padding(_ tag: Tag) -> Int? {
            guard let raw = ds.uint64s(tag).first else { return nil }
            let v = Int(raw & 0xFFFF)
            return pr == 1 && v >= 0x8000 ? v - 0x10000 : v
        }
        paddingValue = padding(.pixelPaddingValue)
        paddingRangeLimit = padding(.pixelPaddingRangeLimit)
    }
}

extension DICOMFile {
    /// Calls `body` with frame `index` as native little-endian bytes (`info.descriptor.frameByteCount`
    /// long): a view into the file for uncompressed little endian data, else a decoded copy.
    public func withFrame<R>(
        _ index: Int, info: ImagePixelInfo, _ body: (UnsafeRawBufferPointer) throws(DICOMError) -> R
    ) throws(DICOMError) -> R {
        guard index >= 0, index < info.numberOfFrames else {
            throw .pixelData(reason: "frame \(index + 1) requested, the image has \(info.numberOfFrames)")
        }
        guard let element = dataSet[.pixelData] else {
            throw .missingAttribute(tag: .pixelData, context: "the file has no image pixels")
        }
        let d = info.descriptor
        let frameBytes = d.frameByteCount
        switch element.value {
        case .sequence:
            throw .pixelData(reason: "Pixel Data is encoded as a sequence")
        case .bytes(let all):
            if transferSyntax.encapsulated {
                throw .pixelData(reason: "\(transferSyntax.name) requires encapsulated pixel data, found native")
            }
            let needed = frameBytes * info.numberOfFrames
            guard all.count >= needed else {
                throw .pixelData(
                    reason: "Pixel Data holds \(all.count) bytes, \(needed) needed for \(info.numberOfFrames) frame(s) of \(d.rows)×\(d.columns)×\(d.samplesPerPixel) at \(d.bitsAllocated) bits")
            }
            let start = all.startIndex + index * frameBytes
            let slice = all[start..<(start + frameBytes)]
            if transferSyntax.littleEndian || d.bitsAllocated == 8 {
                return try slice.withBytes { buf throws(DICOMError) in try body(buf) }
            }
            // Explicit VR Big Endian: OW words were written big endian (PS3.5 §7.3).
            var swapped = [UInt8](slice)
            let w = d.bytesPerSample
            swapped.withUnsafeMutableBufferPointer { p in
                var i = 0
                while i + w <= p.count {
                    var a = i, b = i + w - 1
                    while a < b { p.swapAt(a, b); a += 1; b -= 1 }
                    i += w
                }
            }
            return try swapped.withBytes { buf throws(DICOMError) in try body(buf) }
        case .encapsulated(let enc):
            guard let codec = PixelCodecs.codec(for: transferSyntax.uid) else {
                throw .unsupportedTransferSyntax(uid: transferSyntax.uid, name: transferSyntax.name)
            }
            var out = [UInt8](repeating: 0, count: frameBytes)
            try out.withMutableBytes { (o) throws(DICOMError) in try decode(enc, codec, index, info, into: o) }
            return try out.withBytes { buf throws(DICOMError) in try body(buf) }
        }
    }

    /// Decodes frame `index` into `output` (exactly `info.descriptor.frameByteCount` bytes) as native
    /// little-endian samples, without intermediate buffers: the loader passes a slice of its volume.
    public func decodeFrame(_ index: Int, info: ImagePixelInfo, into output: UnsafeMutableRawBufferPointer) throws(DICOMError) {
        guard output.count == info.descriptor.frameByteCount else {
            throw .pixelData(reason: "output buffer of \(output.count) bytes for a \(info.descriptor.frameByteCount)-byte frame")
        }
        if case .encapsulated(let enc) = dataSet[.pixelData]?.value {
            guard index >= 0, index < info.numberOfFrames else {
                throw .pixelData(reason: "frame \(index + 1) requested, the image has \(info.numberOfFrames)")
            }
            guard let codec = PixelCodecs.codec(for: transferSyntax.uid) else {
                throw .unsupportedTransferSyntax(uid: transferSyntax.uid, name: transferSyntax.name)
            }
            try decode(enc, codec, index, info, into: output)
            return
        }
        try withFrame(index, info: info) { native in output.copyMemory(from: native) }
    }

    private func decode(
        _ enc: EncapsulatedPixelData, _ codec: any PixelCodec, _ index: Int, _ info: ImagePixelInfo,
        into output: UnsafeMutableRawBufferPointer
    ) throws(DICOMError) {
        let compressed = try frameFragments(enc, frames: info.numberOfFrames, index: index)
        do {
            try compressed.withBytes { (inp) throws(CodecError) in try codec.decode(frame: inp, descriptor: info.descriptor, into: output) }
        } catch {
            throw .codec(frame: index, error)
        }
    }

    /// Frame `index` as native little-endian bytes (a copy).
    public func frameBytes(_ index: Int, info: ImagePixelInfo) throws(DICOMError) -> [UInt8] {
        try withFrame(index, info: info) { buf in [UInt8](buf) }
    }

    /// The compressed bytes of one frame, from the offset tables or the fragment layout (PS3.5 §A.4).
    /// (A frame in one fragment is returned without copying.)
    func frameFragments(_ enc: EncapsulatedPixelData, frames: Int, index: Int) throws(DICOMError) -> ArraySlice<UInt8> {
        let frags = enc.fragments
        guard !frags.isEmpty else { throw .pixelData(reason: "encapsulated Pixel Data has no fragments") }
        func concat(_ range: Range<Int>) -> ArraySlice<UInt8> {
            if range.count == 1 { return frags[range.lowerBound] }
            var out: [UInt8] = []
            out.reserveCapacity(range.reduce(0) { $0 + frags[$1].count })
            for i in range { out.append(contentsOf: frags[i]) }
            return out[...]
        }
        // Offsets (Extended Offset Table first, then the Basic Offset Table) name where each frame starts.
        var starts: [UInt64] = dataSet.uint64s(.extendedOffsetTable)
        if starts.count != frames { starts = enc.basicOffsetTable.map(UInt64.init) }
        if starts.count == frames {
            let first = firstFragment(at: starts[index], enc)
            let next = index + 1 < frames ? firstFragment(at: starts[index + 1], enc) : frags.count
            guard let first, let next, first < next else {
                throw .pixelData(reason: "offset table entry for frame \(index + 1) does not point at a fragment")
            }
            return concat(first..<next)
        }
        if frames == 1 { return concat(0..<frags.count) }
        if frags.count == frames { return frags[index] }
        // No usable table and several fragments per frame: frames start where a codestream starts.
        let startsOfStreams = frags.indices.filter { isCodestreamStart(frags[$0]) }
        guard startsOfStreams.count == frames else {
            throw .pixelData(
                reason: "\(frags.count) fragments for \(frames) frames and no offset table to tell which belong to which frame")
        }
        let lo = startsOfStreams[index]
        let hi = index + 1 < frames ? startsOfStreams[index + 1] : frags.count
        return concat(lo..<hi)
    }

    private func firstFragment(at offset: UInt64, _ enc: EncapsulatedPixelData) -> Int? {
        enc.fragmentOffsets.firstIndex(of: offset)
    }

    /// JPEG and JPEG-LS start with SOI (FFD8), JPEG 2000 with SOC+SIZ (FF4F FF51) or a JP2 signature box.
    private func isCodestreamStart(_ f: ArraySlice<UInt8>) -> Bool {
        guard f.count >= 4 else { return false }
        let b = Array(f.prefix(4))
        return (b[0] == 0xFF && b[1] == 0xD8) || (b[0] == 0xFF && b[1] == 0x4F && b[2] == 0xFF && b[3] == 0x51)
            || (b[0] == 0x00 && b[1] == 0x00 && b[2] == 0x00 && b[3] == 0x0C)
    }
}

/// Modality LUT (PS3.3 C.11.1): stored value → output value (HU for CT).
public struct Rescale: Sendable, Equatable, Hashable {
    public var slope: Double
    public var intercept: Double
    public init(slope: Double = 1, intercept: Double = 0) {
        self.slope = slope
        self.intercept = intercept
    }
    public static let identity = Rescale()
}

public enum PixelValues {
    /// Converts one native frame to HU as Int16: masks BitsStored, sign-extends when signed,
    /// applies the rescale, rounds half away from zero and clamps to Int16. Returns the number of
    /// clamped values.
    @discardableResult
    public static func toInt16(
        native: UnsafeRawBufferPointer, descriptor d: PixelDescriptor, rescale: Rescale,
        into out: UnsafeMutableBufferPointer<Int16>
    ) -> Int {
        let n = min(d.rows * d.columns, out.count)
        let bs = d.bitsStored
        let signed = d.isSigned
        var clamped = 0
        let integerRescale = rescale.slope == 1 && rescale.intercept == rescale.intercept.rounded()
            && abs(rescale.intercept) < 1e9
        if d.bitsAllocated == 16 && d.samplesPerPixel == 1 {
            let shift = Int32(32 - bs)
            // Unaligned loads: a frame inside a file buffer need not be 2-byte aligned.
            @inline(__always) func sample(_ i: Int) -> UInt16 {
                UInt16(littleEndian: native.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            }
            if integerRescale {
                let icpt = Int32(rescale.intercept)
                if bs == 16 && signed {
                    for i in 0..<n {
                        let v = Int32(Int16(bitPattern: sample(i))) + icpt
                        out[i] = clampInt16(v, &clamped)
                    }
                } else {
                    for i in 0..<n {
                        let raw = Int32(sample(i))
                        let v = signed ? (raw << shift) >> shift : raw & Int32((1 << bs) - 1)
                        out[i] = clampInt16(v + icpt, &clamped)
                    }
                }
                return clamped
            }
            for i in 0..<n {
                let raw = Int32(sample(i))
                let v = signed ? (raw << shift) >> shift : raw & Int32((1 << bs) - 1)
                out[i] = clampInt16(roundHalfAway(Double(v) * rescale.slope + rescale.intercept), &clamped)
            }
            return clamped
        }
        for i in 0..<n {
            let v = storedValue(native, index: i * d.samplesPerPixel, descriptor: d)
            out[i] = clampInt16(roundHalfAway(Double(v) * rescale.slope + rescale.intercept), &clamped)
        }
        return clamped
    }

    /// Converts a 16-bit single-sample frame held in `buffer` (its native little-endian bytes) to HU
    /// in place; same rules as `toInt16`. Returns the number of clamped values.
    public static func toInt16InPlace(
        _ buffer: UnsafeMutableBufferPointer<Int16>, descriptor d: PixelDescriptor, rescale: Rescale
    ) -> Int {
        precondition(d.bitsAllocated == 16 && d.samplesPerPixel == 1, "in-place conversion needs 16-bit single-sample data")
        let n = min(d.rows * d.columns, buffer.count)
        let bs = d.bitsStored
        let shift = Int32(32 - bs)
        var clamped = 0
        let integerRescale = rescale.slope == 1 && rescale.intercept == rescale.intercept.rounded()
            && abs(rescale.intercept) < 1e9
        if integerRescale && bs == 16 && d.isSigned {
            let icpt = Int32(rescale.intercept)
            if icpt == 0 { return 0 }
            // Two vectorisable passes: the stored range, then a plain add when no value can leave
            // Int16 (the normal case); otherwise clamp value by value.
            var lo = Int16.max, hi = Int16.min
            for i in 0..<n {
                let v = Int16(littleEndian: buffer[i])
                lo = min(lo, v)
                hi = max(hi, v)
            }
            if Int32(lo) + icpt >= Int32(Int16.min) && Int32(hi) + icpt <= Int32(Int16.max) {
                let add = Int16(icpt)
                for i in 0..<n { buffer[i] = Int16(littleEndian: buffer[i]) &+ add }
                return 0
            }
            for i in 0..<n {
                let v = Int32(Int16(littleEndian: buffer[i])) + icpt
                buffer[i] = clampInt16(v, &clamped)
            }
            return clamped
        }
        for i in 0..<n {
            let raw = Int32(UInt16(littleEndian: UInt16(bitPattern: buffer[i])))
            let v = d.isSigned ? (raw << shift) >> shift : raw & Int32((1 << bs) - 1)
            if integerRescale {
                buffer[i] = clampInt16(v + Int32(rescale.intercept), &clamped)
            } else {
                buffer[i] = clampInt16(roundHalfAway(Double(v) * rescale.slope + rescale.intercept), &clamped)
            }
        }
        return clamped
    }

    /// The stored value of sample `index` of a native frame (any of 8/16/32 bits, signed or not).
    public static func storedValue(_ native: UnsafeRawBufferPointer, index: Int, descriptor d: PixelDescriptor) -> Int64 {
        var raw: UInt64 = 0
        let w = d.bytesPerSample
        for k in 0..<w { raw |= UInt64(native[index * w + k]) << (8 * UInt64(k)) }
        let bs = UInt64(d.bitsStored)
        raw &= bs >= 64 ? UInt64.max : (1 << bs) - 1
        if d.isSigned && bs < 64 && raw & (1 << (bs - 1)) != 0 {
            return Int64(bitPattern: raw | ~((1 << bs) - 1))
        }
        return Int64(bitPattern: raw)
    }

    @inline(__always)
    static func clampInt16(_ v: Int32, _ clamped: inout Int) -> Int16 {
        if v > Int32(Int16.max) { clamped += 1; return .max }
        if v < Int32(Int16.min) { clamped += 1; return .min }
        return Int16(v)
    }

    @inline(__always)
    static func roundHalfAway(_ x: Double) -> Int32 {
        guard x.isFinite else { return 0 }
        let r = x.rounded(.toNearestOrAwayFromZero)
        if r > 2_147_483_647 { return .max }
        if r < -2_147_483_648 { return .min }
        return Int32(r)
    }
}
