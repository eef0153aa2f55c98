/// UIDs OsteoCT writes. Our UIDs use the 2.25 root (PS3.5 §B.2: a UUID as a decimal integer), so
/// no organisational root is needed.
public enum DICOMUID {
    /// Identifies OsteoCT as the writer of a file (0002,0012).
    public static let implementationClassUID = "2.25.82892686366857640400096775587247538352"
    public static let implementationVersionName = "OSTEOCT_0_1"

    /// A UID derived deterministically from `name` (same name → same UID on every run, so the same
    /// input gives byte-identical output). The 128-bit value is two independent 64-bit hashes of
    /// the name, with the UUID version field set to 8 (custom, RFC 9562).
    public static func derived(from name: String) -> String {
        let bytes = Array(name.utf8)
        let hi = hash64(bytes, seed: 0x9E37_79B9_7F4A_7C15)
        let lo = hash64(bytes, seed: 0xD1B5_4A32_D192_ED03)
        var v = UInt128(hi) << 64 | UInt128(lo)
        // version 8 in bits 76…79, variant 0b10 in bits 62…63 (RFC 9562 §4)
        v = (v & ~(UInt128(0xF) << 76)) | (UInt128(0x8) << 76)
        v = (v & ~(UInt128(0x3) << 62)) | (UInt128(0x2) << 62)
        return "2.25." + String(v)
    }

    /// FNV-1a over the bytes, then the SplitMix64 finaliser to spread the bits.
    private static func hash64(_ b: [UInt8], seed: UInt64) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ seed
        for x in b {
            h ^= UInt64(x)
            h = h &* 0x0000_0100_0000_01B3
        }
        h ^= h >> 30
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 27
        h = h &* 0x94D0_49BB_1331_11EB
        h ^= h >> 31
        return h
    }
}

/// Writes Part 10 files in Explicit VR Little Endian (PS3.10 §7, PS3.5 §7.1.2).
public enum DICOMWriter {
    /// The complete file: 128-byte zero preamble, "DICM", group 0002 with its group length, then
    /// the data set in ascending tag order. Sequences and items get defined lengths. The data set
    /// is always encoded Explicit VR Little Endian; `transferSyntax` may name an encapsulated
    /// (compressed) syntax when the Pixel Data already holds its fragments.
    public static func part10(
        _ ds: DataSet, transferSyntax: TransferSyntax = .explicitVRLittleEndian
    ) throws(DICOMError) -> [UInt8] {
        let encapsulated: Bool
        if case .encapsulated = ds[.pixelData]?.value { encapsulated = true } else { encapsulated = false }
        guard transferSyntax.explicitVR, transferSyntax.littleEndian, !transferSyntax.deflated,
            encapsulated == transferSyntax.encapsulated
        else {
            throw .invalidValue(
                tag: .transferSyntaxUID, value: transferSyntax.uid,
                reason: encapsulated
                    ? "encapsulated Pixel Data needs a compressed transfer syntax"
                    : "the writer encodes Explicit VR Little Endian (native pixels) or a compressed syntax with encapsulated pixels")
        }
        guard let sopClass = ds.string(.sopClassUID), !sopClass.isEmpty else {
            throw .missingAttribute(tag: .sopClassUID, context: "a file needs a SOP Class UID to be written")
        }
        guard let sopInstance = ds.string(.sopInstanceUID), !sopInstance.isEmpty else {
            throw .missingAttribute(tag: .sopInstanceUID, context: "a file needs a SOP Instance UID to be written")
        }
        var meta = DataSet()
        meta.set(.fileMetaInformationVersion, .OB, bytes: [0x00, 0x01])
        meta.set(.mediaStorageSOPClassUID, .UI, sopClass)
        meta.set(.mediaStorageSOPInstanceUID, .UI, sopInstance)
        meta.set(.transferSyntaxUID, .UI, transferSyntax.uid)
        meta.set(.implementationClassUID, .UI, DICOMUID.implementationClassUID)
        meta.set(.implementationVersionName, .SH, DICOMUID.implementationVersionName)
        var metaBytes: [UInt8] = []
        for tag in meta.sortedTags { if let e = meta[tag] { encode(e, in: meta, to: &metaBytes) } }

        var out = [UInt8](repeating: 0, count: 128)
        out.append(contentsOf: Array("DICM".utf8))
        var groupLength = DataSet()
        groupLength.set(.fileMetaInformationGroupLength, ul: [UInt32(metaBytes.count)])
        if let e = groupLength[.fileMetaInformationGroupLength] { encode(e, in: groupLength, to: &out) }
        out.append(contentsOf: metaBytes)
        out.reserveCapacity(out.count + estimatedSize(ds))
        encodeBody(ds, to: &out)
        return out
    }

    /// The data set alone (no preamble or meta), Explicit VR Little Endian.
    public static func encodeBody(_ ds: DataSet, to out: inout [UInt8]) {
        for tag in ds.sortedTags where tag.group != 0x0002 {
            if let e = ds[tag] { encode(e, in: ds, to: &out) }
        }
    }

    private static func estimatedSize(_ ds: DataSet) -> Int {
        ds.elements.values.reduce(0) { $0 + 12 + $1.bytes.count }
    }

    static func encode(_ e: DataElement, in ds: DataSet, to out: inout [UInt8]) {
        putTag(e.tag, &out)
        switch e.value {
        case .bytes(let raw):
            var value = [UInt8](raw)
            if !ds.littleEndian, let w = e.vr.binaryWordSize { swapWords(&value, width: w) }
            if value.count % 2 == 1 { value.append(e.vr.isString && e.vr != .UI ? 0x20 : 0) }
            putVRAndLength(e.vr, value.count, &out)
            out.append(contentsOf: value)
        case .sequence(let items):
            var body: [UInt8] = []
            for item in items {
                var itemBytes: [UInt8] = []
                encodeBody(item, to: &itemBytes)
                putTag(.item, &body)
                put32(UInt32(itemBytes.count), &body)
                body.append(contentsOf: itemBytes)
            }
            putVRAndLength(.SQ, body.count, &out)
            out.append(contentsOf: body)
        case .encapsulated(let enc):
            // Encapsulated pixel data always has undefined length (PS3.5 §A.4).
            out.append(contentsOf: Array("OB".utf8))
            out.append(contentsOf: [0, 0])
            put32(0xFFFF_FFFF, &out)
            putTag(.item, &out)
            put32(UInt32(enc.basicOffsetTable.count * 4), &out)
            for o in enc.basicOffsetTable { put32(o, &out) }
            for f in enc.fragments {
                putTag(.item, &out)
                let padded = f.count % 2 == 1
                put32(UInt32(f.count + (padded ? 1 : 0)), &out)
                out.append(contentsOf: f)
                if padded { out.append(0) }
            }
            putTag(.sequenceDelimitation, &out)
            put32(0, &out)
        }
    }

    private static func putVRAndLength(_ vr: VR, _ length: Int, _ out: inout [UInt8]) {
        out.append(contentsOf: Array(vr.rawValue.utf8))
        if vr.hasLongLength {
            out.append(contentsOf: [0, 0])
            put32(UInt32(length), &out)
        } else {
            out.append(UInt8(length & 0xFF))
            out.append(UInt8((length >> 8) & 0xFF))
        }
    }

    private static func putTag(_ t: Tag, _ out: inout [UInt8]) {
        out.append(UInt8(t.group & 0xFF)); out.append(UInt8(t.group >> 8))
        out.append(UInt8(t.element & 0xFF)); out.append(UInt8(t.element >> 8))
    }

    private static func put32(_ v: UInt32, _ out: inout [UInt8]) {
        for k in 0..<4 { out.append(UInt8((v >> (8 * UInt32(k))) & 0xFF)) }
    }

    private static func swapWords(_ b: inout [UInt8], width: Int) {
        var i = 0
        while i + width <= b.count {
            b[i..<(i + width)].reverse()
            i += width
        }
    }
}
