import ArgumentParser
import DICOM
import Foundation

struct DumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print the data elements of a DICOM file (like dcmdump), for checking what a file holds.")

    @Argument(help: "A DICOM file.")
    var file: String

    @Flag(help: "Print JSON (tag → {vr, value}).")
    var json = false

    struct Element: Encodable {
        var vr: String
        var keyword: String?
        var value: String?
        var items: [[String: Element]]?
    }

    func run() throws {
        let f: DICOMFile
        do { f = try DICOMFile.read(path: file) } catch { throw CommandFailure(error.description) }
        func convert(_ ds: DataSet) -> [String: Element] {
            var out: [String: Element] = [:]
            for tag in ds.sortedTags {
                guard let e = ds[tag] else { continue }
                let key = "\(hex(tag.group))\(hex(tag.element))"
                switch e.value {
                case .sequence(let items):
                    out[key] = Element(vr: "SQ", keyword: tag.keyword, value: nil, items: items.map(convert))
                case .encapsulated(let enc):
                    out[key] = Element(vr: e.vr.rawValue, keyword: tag.keyword, value: "encapsulated: \(enc.fragments.count) fragment(s)", items: nil)
                case .bytes(let b):
                    out[key] = Element(vr: e.vr.rawValue, keyword: tag.keyword, value: render(ds, tag, e.vr, b.count), items: nil)
                }
            }
            return out
        }
        if json {
            try JSONOut.print(["meta": convert(f.meta), "dataset": convert(f.dataSet)])
            return
        }
        print("# transfer syntax: \(f.transferSyntax)")
        for w in f.warnings { print("# warning: \(w)") }
        func printSet(_ ds: DataSet, indent: String) {
            for tag in ds.sortedTags {
                guard let e = ds[tag] else { continue }
                let name = tag.keyword ?? (tag.isPrivate ? "Private" : "Unknown")
                switch e.value {
                case .sequence(let items):
                    print("\(indent)\(tag) SQ \(name) (\(items.count) item(s))")
                    for (i, item) in items.enumerated() {
                        print("\(indent)  item \(i + 1)")
                        printSet(item, indent: indent + "    ")
                    }
                case .encapsulated(let enc):
                    print("\(indent)\(tag) \(e.vr.rawValue) \(name) encapsulated: \(enc.fragments.count) fragment(s), offset table \(enc.basicOffsetTable.count)")
                case .bytes(let b):
                    print("\(indent)\(tag) \(e.vr.rawValue) \(name) \(render(ds, tag, e.vr, b.count) ?? "")")
                }
            }
        }
        printSet(f.meta, indent: "")
        printSet(f.dataSet, indent: "")
    }

    private func render(_ ds: DataSet, _ tag: Tag, _ vr: VR, _ length: Int) -> String? {
        switch vr {
        case .OB, .OW, .OD, .OF, .OL, .OV, .UN:
            return "(\(length) bytes)"
        case .US, .SS, .UL, .SL, .FL, .FD, .SV, .UV:
            let values = ds.doubles(tag) ?? []
            let shown = values.prefix(16).map { $0 == $0.rounded() && abs($0) < 1e15 ? String(Int64($0)) : String($0) }
            return shown.joined(separator: "\\") + (values.count > 16 ? "\\…" : "")
        default:
            return ds.string(tag).map { "[\($0)]" }
        }
    }

    private func hex(_ v: UInt16) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - s.count) + s
    }
}
