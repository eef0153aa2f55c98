import Foundation

/// A cohort table read from a CSV file (RFC 4180): a header row of unique column names, then one
/// record per person. Numeric columns become `Double` columns; columns named as categorical are
/// expanded into 0/1 dummy columns named `column=level`, one per level except the reference level,
/// which is the first level in sorted order (numeric order when every level is a number, text
/// order otherwise) and has no column.
///
/// Parsing rules: fields are separated by commas, records by LF or CRLF; a field in double quotes
/// may hold commas, line breaks and doubled quotes (`""` → `"`). Empty lines are skipped. Spaces and
/// tabs around a cell are ignored when it is read as a number, a missing marker or a category.
/// Cells equal to one of `Options.missingTokens` (by default empty and `NA`) are missing: the read
/// fails on the first one (naming line, row and column) unless `allowDroppingRows` is set, in which
/// case every row with a missing value in a selected column is dropped and `droppedRows` says how
/// many. A cell of a numeric column that is not a finite number is always an error. Bytes that are
/// not valid UTF-8 are read as U+FFFD (and so fail as numbers).
public struct CSVTable: Sendable, Equatable {
    /// What to read and how.
    public struct Options: Sendable, Equatable {
        /// Columns to read, in this order; nil reads every column in file order. Columns that are not
        /// read are not checked.
        public var columns: [String]?
        /// Columns to read as categories (expanded into dummies); all others must be numeric.
        public var categorical: [String]
        /// Drop rows with a missing value in a selected column instead of failing.
        public var allowDroppingRows: Bool
        /// Cell texts (after trimming spaces) that mean "missing".
        public var missingTokens: Set<String>
        /// Keep missing numeric cells as NaN (for prediction, where a feature may be absent) instead
        /// of failing or dropping the row.
        public var missingAsNaN: Bool = false
        /// At most this many data rows (default 10 million).
        public var maxRows: Int
        /// At most this many columns, in the header and after dummy expansion (default 1000).
        public var maxColumns: Int
        /// At most this many bytes in the file (default 4 GiB).
        public var maxBytes: Int

        public init(
            columns: [String]? = nil, categorical: [String] = [], allowDroppingRows: Bool = false,
            missingTokens: Set<String> = ["", "NA"], maxRows: Int = 10_000_000, maxColumns: Int = 1000,
            maxBytes: Int = 1 << 32
        ) {
            self.columns = columns
            self.categorical = categorical
            self.allowDroppingRows = allowDroppingRows
            self.missingTokens = missingTokens
            self.maxRows = maxRows
            self.maxColumns = maxColumns
            self.maxBytes = maxBytes
        }
    }

    /// How a categorical column was expanded.
    public struct CategoricalColumn: Sendable, Equatable {
        /// The column's name in the file.
        public let name: String
        /// The reference level (no dummy column).
        public let reference: String
        /// The other levels in sorted order; level `l` has the dummy column `name=l`.
        public let levels: [String]
    }

    /// The file path (or the name given for text input), used in messages.
    public let source: String
    /// Names of `columns`: numeric columns by their header name, dummies as `column=level`.
    public let columnNames: [String]
    /// Column-major values, one array of `rowCount` values per name in `columnNames`.
    public let columns: [[Double]]
    /// Data rows kept.
    public let rowCount: Int
    /// Rows dropped because of missing values (0 unless `allowDroppingRows`).
    public let droppedRows: Int
    /// File line (1-based; the header is line 1) of each kept row, to point back at the file.
    public let lines: [Int]
    /// Expansion of each categorical column.
    public let categoricalColumns: [CategoricalColumn]

    /// The column called `name` (a numeric column or a `column=level` dummy), or nil.
    public func column(_ name: String) -> [Double]? {
        guard let i = columnNames.firstIndex(of: name) else { return nil }
        return columns[i]
    }

    /// Reads and parses the CSV file at `path`. The size limit is checked before reading.
    public static func read(path: String, options: Options = Options()) throws(CSVError) -> CSVTable {
        let size: Int
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        } catch {
            throw .unreadable(file: path, reason: "\(error.localizedDescription)")
        }
        guard size <= options.maxBytes else { throw .tooLarge(file: path, bytes: size, limit: options.maxBytes) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unreadable(file: path, reason: "the file does not exist or is not readable")
        }
        return try CSVTable(bytes: [UInt8](data), source: path, options: options)
    }

    /// Parses CSV text (`source` names it in messages).
    public init(text: String, source: String = "<text>", options: Options = Options()) throws(CSVError) {
        try self.init(bytes: Array(text.utf8), source: source, options: options)
    }

    /// Parses CSV bytes (UTF-8).
    public init(bytes: [UInt8], source: String, options: Options = Options()) throws(CSVError) {
        guard bytes.count <= options.maxBytes else {
            throw .tooLarge(file: source, bytes: bytes.count, limit: options.maxBytes)
        }
        var scanner = CSVScanner(bytes: bytes, file: source)
        var fields: [CSVFieldSpan] = []
        guard try scanner.nextRecord(into: &fields) != nil else { throw .empty(file: source) }
        let header = fields.map { String(decoding: scanner.trimmedBytes($0), as: UTF8.self) }
        guard header.count <= options.maxColumns else {
            throw .tooManyColumns(file: source, count: header.count, limit: options.maxColumns)
        }
        var headerIndex: [String: Int] = [:]
        for (i, name) in header.enumerated() {
            guard !name.isEmpty else { throw .unnamedColumn(file: source, position: i + 1) }
            guard headerIndex[name] == nil else { throw .duplicateColumn(file: source, name: name) }
            headerIndex[name] = i
        }
        let selected = options.columns ?? header
        let categoricalSet = Set(options.categorical)
        for name in Set(selected).union(categoricalSet) where headerIndex[name] == nil {
            throw .unknownColumn(file: source, name: name, available: header)
        }
        for name in options.categorical where !selected.contains(name) {
            throw .unknownColumn(file: source, name: name, available: selected)
        }

        // One storage slot per selected column.
        var slotOfFileColumn = [Int](repeating: -1, count: header.count)
        var slots: [CSVColumnStorage] = []
        for name in selected {
            guard let fi = headerIndex[name] else { continue }
            if slotOfFileColumn[fi] >= 0 { throw .duplicateColumn(file: source, name: name) }
            slotOfFileColumn[fi] = slots.count
            slots.append(CSVColumnStorage(name: name, categorical: categoricalSet.contains(name)))
        }

        // Missing markers as trimmed bytes, compared without building strings.
        let missingMarkers = options.missingTokens.map { Array(CSVScanner.trim(ArraySlice($0.utf8))) }
        var rowMissing: [Bool] = []
        var rowLines: [Int] = []
        var anyMissing = false
        var row = 0
        while let line = try scanner.nextRecord(into: &fields) {
            row += 1
            guard row <= options.maxRows else { throw .tooManyRows(file: source, limit: options.maxRows) }
            guard fields.count == header.count else {
                throw .fieldCount(file: source, line: line, row: row, expected: header.count, got: fields.count)
            }
            var missingHere = false
            for (fi, span) in fields.enumerated() {
                let si = slotOfFileColumn[fi]
                if si < 0 { continue }
                let bytes = scanner.trimmedBytes(span)
                if missingMarkers.contains(where: { $0.elementsEqual(bytes) }) {
                    if options.missingAsNaN && !slots[si].isCategorical {
                        slots[si].numbers.append(.nan)
                        continue
                    }
                    guard options.allowDroppingRows else {
                        throw .missingValue(file: source, line: line, row: row, column: slots[si].name)
                    }
                    missingHere = true
                    slots[si].appendMissing()
                    continue
                }
                if slots[si].isCategorical {
                    slots[si].appendLevel(String(decoding: bytes, as: UTF8.self))
                } else {
                    guard let v = CSVScanner.parseDouble(bytes), v.isFinite else {
                        throw .notANumber(file: source, line: line, row: row, column: slots[si].name, value: String(decoding: bytes, as: UTF8.self))
                    }
                    slots[si].numbers.append(v)
                }
            }
            anyMissing = anyMissing || missingHere
            rowMissing.append(missingHere)
            rowLines.append(line)
        }

        let kept = anyMissing ? rowMissing.indices.filter { !rowMissing[$0] } : Array(rowMissing.indices)
        let dropped = row - kept.count
        guard !kept.isEmpty else { throw .noRows(file: source, dropped: dropped) }

        var names: [String] = []
        var cols: [[Double]] = []
        var cats: [CategoricalColumn] = []
        for slot in slots {
            if !slot.isCategorical {
                names.append(slot.name)
                cols.append(anyMissing ? kept.map { slot.numbers[$0] } : slot.numbers)
                continue
            }
            // Levels present in the kept rows, sorted; the first is the reference.
            var present = [Bool](repeating: false, count: slot.levelNames.count)
            for r in kept { present[Int(slot.codes[r])] = true }
            let levels = CSVTable.sortLevels(slot.levelNames.indices.filter { present[$0] }.map { slot.levelNames[$0] })
            guard let reference = levels.first else { continue }
            let others = Array(levels.dropFirst())
            guard names.count + others.count <= options.maxColumns else {
                throw .tooManyColumns(file: source, count: names.count + others.count, limit: options.maxColumns)
            }
            cats.append(CategoricalColumn(name: slot.name, reference: reference, levels: others))
            var codeOfLevel = [Int](repeating: -1, count: slot.levelNames.count)
            for (k, l) in others.enumerated() {
                if let c = slot.levelCodes[l] { codeOfLevel[Int(c)] = k }
            }
            var dummies = [[Double]](repeating: [Double](repeating: 0, count: kept.count), count: others.count)
            for (i, r) in kept.enumerated() {
                let k = codeOfLevel[Int(slot.codes[r])]
                if k >= 0 { dummies[k][i] = 1 }
            }
            for (k, l) in others.enumerated() {
                names.append("\(slot.name)=\(l)")
                cols.append(dummies[k])
            }
        }
        self.source = source
        columnNames = names
        columns = cols
        rowCount = kept.count
        droppedRows = dropped
        lines = anyMissing ? kept.map { rowLines[$0] } : rowLines
        categoricalColumns = cats
    }

    /// Numeric order when every level is a number, otherwise text order (ties broken by text).
    static func sortLevels(_ levels: [String]) -> [String] {
        let numeric = levels.map { Double($0) }
        if numeric.allSatisfy({ $0 != nil }) {
            return zip(levels, numeric).sorted { a, b in
                let x = a.1 ?? 0, y = b.1 ?? 0
                return x != y ? x < y : a.0 < b.0
            }.map(\.0)
        }
        return levels.sorted()
    }
}

// MARK: - Parsing internals

/// One field of a record: bytes start..<end of the input; `escaped` when it was quoted and holds
/// doubled quotes that must be collapsed.
struct CSVFieldSpan {
    var start: Int
    var end: Int
    var escaped: Bool
}

private let asciiComma: UInt8 = 0x2C
private let asciiQuote: UInt8 = 0x22
private let asciiLF: UInt8 = 0x0A
private let asciiCR: UInt8 = 0x0D

/// Splits RFC 4180 records into field spans without copying.
struct CSVScanner {
    let bytes: [UInt8]
    let file: String
    var pos = 0
    /// Physical line on which the next record starts (1-based).
    var line = 1

    init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { pos = 3 }  // UTF-8 BOM
    }

    /// Consumes a line break at `pos` if there is one; returns whether it did.
    private mutating func consumeLineBreak() -> Bool {
        guard pos < bytes.count else { return false }
        if bytes[pos] == asciiLF {
            pos += 1
            line += 1
            return true
        }
        if bytes[pos] == asciiCR {
            pos += 1
            if pos < bytes.count, bytes[pos] == asciiLF { pos += 1 }
            line += 1
            return true
        }
        return false
    }

    /// Reads the next record into `fields`; returns the line it started on, or nil at the end.
    mutating func nextRecord(into fields: inout [CSVFieldSpan]) throws(CSVError) -> Int? {
        while consumeLineBreak() {}  // skip empty lines
        guard pos < bytes.count else { return nil }
        let startLine = line
        fields.removeAll(keepingCapacity: true)
        while true {
            if pos < bytes.count, bytes[pos] == asciiQuote {
                pos += 1
                let start = pos
                var escaped = false
                while true {
                    guard pos < bytes.count else {
                        throw .malformed(file: file, line: startLine, reason: "a quoted field opened here is never closed")
                    }
                    let c = bytes[pos]
                    if c == asciiQuote {
                        if pos + 1 < bytes.count, bytes[pos + 1] == asciiQuote {
                            escaped = true
                            pos += 2
                            continue
                        }
                        break
                    }
                    if c == asciiLF { line += 1 }
                    pos += 1
                }
                fields.append(CSVFieldSpan(start: start, end: pos, escaped: escaped))
                pos += 1  // the closing quote
                if pos >= bytes.count || consumeLineBreak() { return startLine }
                if bytes[pos] == asciiComma {
                    pos += 1
                    continue
                }
                throw .malformed(file: file, line: line, reason: "text after the closing quote of a quoted field")
            } else {
                let start = pos
                while pos < bytes.count {
                    let c = bytes[pos]
                    if c == asciiComma || c == asciiLF || c == asciiCR { break }
                    pos += 1
                }
                fields.append(CSVFieldSpan(start: start, end: pos, escaped: false))
                if pos >= bytes.count || consumeLineBreak() { return startLine }
                pos += 1  // the comma
            }
        }
    }

    /// The field's content (doubled quotes collapsed) without surrounding spaces and tabs.
    func trimmedBytes(_ f: CSVFieldSpan) -> ArraySlice<UInt8> {
        guard f.escaped else { return CSVScanner.trim(bytes[f.start..<f.end]) }
        var out: [UInt8] = []
        out.reserveCapacity(f.end - f.start)
        var i = f.start
        while i < f.end {
            out.append(bytes[i])
            i += (bytes[i] == asciiQuote) ? 2 : 1
        }
        return CSVScanner.trim(out[...])
    }

    static func trim(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var lo = s.startIndex, hi = s.endIndex
        while lo < hi && (s[lo] == 0x20 || s[lo] == 0x09) { lo += 1 }
        while hi > lo && (s[hi - 1] == 0x20 || s[hi - 1] == 0x09) { hi -= 1 }
        return s[lo..<hi]
    }

    /// Exact powers of ten representable in a Double (10⁰…10²²).
    private static let exactPowersOfTen: [Double] = (0...22).map { pow(10, Double($0)) }

    /// Parses a decimal number. Plain decimals with at most 15 significant digits and a small
    /// exponent are converted exactly (Clinger's fast path: an integer mantissa < 2⁵³ times or
    /// divided by an exact power of ten is correctly rounded); anything else goes through the
    /// standard library's correctly rounded `Double(String)`. nil if not a number.
    static func parseDouble(_ s: ArraySlice<UInt8>) -> Double? {
        var i = s.startIndex
        let end = s.endIndex
        guard i < end else { return nil }
        var negative = false
        if s[i] == 0x2D || s[i] == 0x2B {  // - +
            negative = s[i] == 0x2D
            i += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var fractionDigits = 0
        var sawDigit = false
        var sawPoint = false
        while i < end {
            let c = s[i]
            if c >= 0x30 && c <= 0x39 {
                sawDigit = true
                if mantissa == 0 && c == 0x30 {
                    if sawPoint { fractionDigits += 1 }  // leading zeros are not significant
                } else {
                    digits += 1
                    if digits > 15 { break }
                    mantissa = mantissa * 10 + UInt64(c - 0x30)
                    if sawPoint { fractionDigits += 1 }
                }
            } else if c == 0x2E && !sawPoint {  // .
                sawPoint = true
            } else {
                break
            }
            i += 1
        }
        if i == end && sawDigit && fractionDigits <= 22 {
            let m = Double(mantissa)  // exact: < 10¹⁵ < 2⁵³
            let v = fractionDigits == 0 ? m : m / exactPowersOfTen[fractionDigits]
            return negative ? -v : v
        }
        // Exponents, long mantissas, hex, inf/nan and non-numbers: the standard parser decides.
        return Double(String(decoding: s, as: UTF8.self))
    }
}

/// Values of one selected column while reading.
private struct CSVColumnStorage {
    let name: String
    let isCategorical: Bool
    var numbers: [Double] = []
    var codes: [Int32] = []
    var levelNames: [String] = []
    var levelCodes: [String: Int32] = [:]
    /// Code used for missing categorical cells: a level named "" that only dropped rows use.
    private var missingCode: Int32 = -1

    init(name: String, categorical: Bool) {
        self.name = name
        isCategorical = categorical
    }

    mutating func appendLevel(_ level: String) {
        if let c = levelCodes[level] {
            codes.append(c)
            return
        }
        let c = Int32(levelNames.count)
        levelNames.append(level)
        levelCodes[level] = c
        codes.append(c)
    }

    mutating func appendMissing() {
        if isCategorical {
            if missingCode < 0 {
                missingCode = Int32(levelNames.count)
                levelNames.append("")  // never present in a kept row, so never a level
            }
            codes.append(missingCode)
        } else {
            numbers.append(.nan)
        }
    }
}
