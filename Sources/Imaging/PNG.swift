// PNG writer (ISO/IEC 15948, W3C PNG 2nd ed.): 8-bit RGB, no interlace, filter type 0 on every row,
// image data through zlib. Enough for QC pictures; nothing reads PNG here.

/// An 8-bit RGB raster, row-major from the top-left.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        self.width = max(1, width)
        self.height = max(1, height)
        pixels = [UInt8](repeating: 0, count: self.width * self.height * 3)
        if fill != (0, 0, 0) { for q in 0..<(self.width * self.height) { set(q % self.width, q / self.width, fill) } }
    }

    @inline(__always) public mutating func set(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let o = 3 * (x + width * y)
        pixels[o] = c.0; pixels[o + 1] = c.1; pixels[o + 2] = c.2
    }

    /// Blends `c` over the pixel with opacity `a` (0…1).
    @inline(__always) public mutating func blend(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8), _ a: Double) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let o = 3 * (x + width * y)
        func mix(_ p: UInt8, _ q: UInt8) -> UInt8 { UInt8(max(0, min(255, (Double(p) * (1 - a) + Double(q) * a).rounded()))) }
        pixels[o] = mix(pixels[o], c.0); pixels[o + 1] = mix(pixels[o + 1], c.1); pixels[o + 2] = mix(pixels[o + 2], c.2)
    }
}

public enum PNG {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    public static func encode(_ image: RGBImage) throws(ImagingError) -> [UInt8] {
        var raw = [UInt8]()
        raw.reserveCapacity(image.height * (1 + 3 * image.width))
        for y in 0..<image.height {
            raw.append(0)  // filter type 0 (None)
            raw.append(contentsOf: image.pixels[(3 * image.width * y)..<(3 * image.width * (y + 1))])
        }
        let idat: [UInt8]
        do { idat = try Zlib.deflate(raw, format: .zlib) } catch { throw .io(path: "PNG", reason: error.reason) }
        var out = signature
        func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
        func chunk(_ type: String, _ data: [UInt8]) {
            let t = Array(type.utf8)
            out += be32(UInt32(data.count)) + t + data + be32(Zlib.crc32(t + data))
        }
        // IHDR: width, height, bit depth 8, colour type 2 (truecolour), compression 0, filter 0, interlace 0.
        chunk("IHDR", be32(UInt32(image.width)) + be32(UInt32(image.height)) + [8, 2, 0, 0, 0])
        chunk("IDAT", idat)
        chunk("IEND", [])
        return out
    }
}
