/// Errors of the DICOM module. Each case says what was wrong, where (byte offset, tag, file),
/// and what to do about it.
public indirect enum DICOMError: Error, Equatable, CustomStringConvertible {
    /// The bytes are not a DICOM file or data set at all.
    case notDICOM(reason: String)
    /// The data ends before an element or value does.
    case truncated(offset: Int, tag: Tag?, needed: Int, available: Int)
    /// An element length that cannot be right (odd where it must be even, past the end, absurd).
    case invalidLength(offset: Int, tag: Tag, length: UInt32, reason: String)
    /// Explicit VR bytes that are not a VR.
    case invalidVR(offset: Int, tag: Tag, bytes: [UInt8])
    /// Sequences nested deeper than the limit (a loop of undefined-length items, or a hostile file).
    case nestingTooDeep(offset: Int, limit: Int)
    /// More elements, items or fragments than the limits allow.
    case limitExceeded(what: String, limit: Int, offset: Int)
    /// A structural element where it may not be (an item outside a sequence, a stray delimiter).
    case unexpectedTag(offset: Int, tag: Tag, reason: String)
    /// A required attribute is absent.
    case missingAttribute(tag: Tag, context: String)
    /// An attribute holds a value OsteoCT cannot use.
    case invalidValue(tag: Tag, value: String, reason: String)
    /// Deflate stream damaged.
    case inflate(reason: String)
    /// A transfer syntax whose pixel data OsteoCT does not decode.
    case unsupportedTransferSyntax(uid: String, name: String)
    /// Pixel data present but unusable (size mismatch, bad fragments, unsupported layout).
    case pixelData(reason: String)
    /// A compressed frame failed to decode.
    case codec(frame: Int, CodecError)
    /// A series cannot be assembled into a volume.
    case series(reason: String)
    /// Reading or writing a file failed.
    case io(path: String, reason: String)
    /// Any of the above, in a named file.
    case inFile(path: String, DICOMError)

    public var description: String {
        switch self {
        case .notDICOM(let r):
            return "not a DICOM file: \(r)"
        case .truncated(let o, let t, let n, let a):
            let at = t.map { " in element \($0)" } ?? ""
            return "file is truncated at byte \(o)\(at): \(n) bytes needed, \(a) left; copy the file again from the archive"
        case .invalidLength(let o, let t, let l, let r):
            return "element \(t) at byte \(o) has invalid length \(l): \(r)"
        case .invalidVR(let o, let t, let b):
            let shown = b.map { (0x20..<0x7F).contains($0) ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }
            return "element \(t) at byte \(o) has invalid VR '\(shown.joined())'; the file is damaged or not in the transfer syntax it declares"
        case .nestingTooDeep(let o, let l):
            return "sequences nested deeper than \(l) levels at byte \(o); the file is damaged or hostile"
        case .limitExceeded(let w, let l, let o):
            return "more than \(l) \(w) at byte \(o); the file is damaged or hostile"
        case .unexpectedTag(let o, let t, let r):
            return "unexpected \(t) at byte \(o): \(r)"
        case .missingAttribute(let t, let c):
            return "\(t.keyword ?? "attribute") \(t) is missing; \(c)"
        case .invalidValue(let t, let v, let r):
            return "\(t.keyword ?? "attribute") \(t) has value '\(v)': \(r)"
        case .inflate(let r):
            return "deflated data set cannot be inflated: \(r)"
        case .unsupportedTransferSyntax(let u, let n):
            return "unsupported transfer syntax \(u) (\(n)); convert the series to Explicit VR Little Endian first (e.g. `dcmdjpeg`, `gdcmconv --raw`)"
        case .pixelData(let r):
            return "pixel data unusable: \(r)"
        case .codec(let f, let e):
            return "frame \(f + 1): \(e)"
        case .series(let r):
            return r
        case .io(let p, let r):
            return "\(p): \(r)"
        case .inFile(let p, let e):
            return "\(p): \(e)"
        }
    }

    /// The same error with the file name attached (once).
    func inFile(_ path: String) -> DICOMError {
        if case .inFile = self { return self }
        return .inFile(path: path, self)
    }
}
