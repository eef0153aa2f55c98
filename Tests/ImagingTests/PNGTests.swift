import Testing

@testable import Imaging

@Suite("PNG")
struct PNGTests {
    /// The CRC-32 check value of "123456789" (the published test vector of the ISO 3309 CRC).
    @Test func crcCheckValue() {
        #expect(Zlib.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    /// Chunks with the right lengths, types and CRCs; IHDR as the spec lays it out; the image data
    /// inflates to filter-0 rows holding the pixels.
    @Test func structureAndPixelsRoundTrip() throws {
        var img = RGBImage(width: 3, height: 2)
        img.set(0, 0, (255, 0, 0)); img.set(1, 0, (0, 255, 0)); img.set(2, 0, (0, 0, 255)); img.set(1, 1, (10, 20, 30))
        let png = try PNG.encode(img)
        #expect(Array(png[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var at = 8
        var chunks: [(String, [UInt8])] = []
        func be32(_ o: Int) -> UInt32 { png[o..<(o + 4)].reduce(0) { $0 << 8 | UInt32($1) } }
        while at < png.count {
            let n = Int(be32(at))
            let type = String(decoding: png[(at + 4)..<(at + 8)], as: UTF8.self)
            let data = Array(png[(at + 8)..<(at + 8 + n)])
            #expect(be32(at + 8 + n) == Zlib.crc32(Array(png[(at + 4)..<(at + 8 + n)])), "CRC of \(type)")
            chunks.append((type, data))
            at += 12 + n
        }
        #expect(chunks.map(\.0) == ["IHDR", "IDAT", "IEND"])
        #expect(chunks[0].1 == [0, 0, 0, 3, 0, 0, 0, 2, 8, 2, 0, 0, 0])
        let rows = try Zlib.inflate(chunks[1].1, format: .zlib, maxOutput: 1000)
        #expect(rows == [0, 255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 10, 20, 30, 0, 0, 0])
    }
}
