/// Errors reading a cohort CSV file into a `CSVTable`. Each names the file, and where it applies the
/// line (1-based physical line of the file, header = line 1), the data row (1-based, header not
/// counted) and the column, and says what was expected.
public enum CSVError: Error, Equatable, CustomStringConvertible {
    /// The file could not be read at all.
    case unreadable(file: String, reason: String)
    /// No header row.
    case empty(file: String)
    /// Broken quoting (an unclosed quoted field, text after a closing quote).
    case malformed(file: String, line: Int, reason: String)
    /// A record with a different number of fields from the header.
    case fieldCount(file: String, line: Int, row: Int, expected: Int, got: Int)
    /// Two header columns with the same name.
    case duplicateColumn(file: String, name: String)
    /// A header column with no name.
    case unnamedColumn(file: String, position: Int)
    /// A requested column that the header does not have.
    case unknownColumn(file: String, name: String, available: [String])
    /// An empty or NA cell where a value is needed, and dropping rows was not allowed.
    case missingValue(file: String, line: Int, row: Int, column: String)
    /// A cell of a numeric column that is not a finite number.
    case notANumber(file: String, line: Int, row: Int, column: String, value: String)
    /// More data rows than the limit.
    case tooManyRows(file: String, limit: Int)
    /// More columns (in the header, or after expanding categorical columns) than the limit.
    case tooManyColumns(file: String, count: Int, limit: Int)
    /// The file is larger than the byte limit.
    case tooLarge(file: String, bytes: Int, limit: Int)
    /// No data rows (at all, or after dropping rows with missing values).
    case noRows(file: String, dropped: Int)

    public var description: String {
        switch self {
        case .unreadable(let f, let r):
            return "\(f): cannot read the file: \(r)"
        case .empty(let f):
            return "\(f): the file is empty; a CSV cohort file needs a header row with column names"
        case .malformed(let f, let line, let r):
            return "\(f) line \(line): malformed CSV: \(r); fields containing commas, quotes or line breaks must be enclosed in double quotes, with quotes doubled (RFC 4180)"
        case .fieldCount(let f, let line, let row, let e, let g):
            return "\(f) line \(line) (data row \(row)): \(g) fields, but the header has \(e); every row needs one field per header column"
        case .duplicateColumn(let f, let n):
            return "\(f): column '\(n)' appears twice in the header; column names must be unique"
        case .unnamedColumn(let f, let p):
            return "\(f): header column \(p) has no name; give every column a name"
        case .unknownColumn(let f, let n, let a):
            return "\(f): no column '\(n)'; the header has: \(a.joined(separator: ", "))"
        case .missingValue(let f, let line, let row, let c):
            return "\(f) line \(line) (data row \(row)), column '\(c)': value is missing (empty or NA); fill it in, or allow dropping rows with missing values"
        case .notANumber(let f, let line, let row, let c, let v):
            return "\(f) line \(line) (data row \(row)), column '\(c)': expected a finite number, found '\(v)'; if the column holds categories, declare it categorical"
        case .tooManyRows(let f, let limit):
            return "\(f): more than \(limit) data rows; split the cohort or sample it"
        case .tooManyColumns(let f, let c, let limit):
            return "\(f): \(c) columns, above the limit of \(limit); select fewer columns or merge categorical levels"
        case .tooLarge(let f, let b, let limit):
            return "\(f): \(b) bytes, above the limit of \(limit); split the cohort or select fewer columns"
        case .noRows(let f, let d):
            return d == 0
                ? "\(f): no data rows after the header"
                : "\(f): no data rows left after dropping \(d) rows with missing values"
        }
    }
}
