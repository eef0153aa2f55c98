import Foundation

/// File reading and writing used by every module: whole-file reads without extra copies, and
/// atomic writes (a temporary file renamed into place) so a crashed or killed process never leaves
/// half a file. There is no fsync: results here can be regenerated; durability across power loss
/// belongs to the service's store.
public enum FileIO {
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// Largest single file read into memory (4 GiB): far above any DICOM slice or NIfTI volume we accept.
    public static let maxFileBytes = 4 << 30

    public static func readAll(path: String) throws(Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(path: path, reason: errnoText("cannot open")) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw Failure(path: path, reason: errnoText("cannot stat")) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw Failure(path: path, reason: "is a directory, not a file") }
        let size = Int(st.st_size)
        guard size <= maxFileBytes else {
            throw Failure(path: path, reason: "file is \(size) bytes, above the \(maxFileBytes)-byte limit")
        }
        var failure: String?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buf, count in
            var done = 0
            while done < size {
                let n = read(fd, buf.baseAddress! + done, size - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errnoText("read failed")
                    break
                }
                if n == 0 { break }  // file shrank while reading
                done += n
            }
            count = done
        }
        if let failure { throw Failure(path: path, reason: failure) }
        return bytes
    }

    /// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws(Failure) {
        try bytes.withBytes { (buf) throws(Failure) in try writeAtomically(chunks: [buf], to: path) }
    }

    /// Writes the chunks one after another to `path` (temporary file, then rename), so large
    /// outputs need not be copied into one buffer first. A failed write or close removes the
    /// temporary file and leaves any previous `path` untouched.
    public static func writeAtomically(chunks: [UnsafeRawBufferPointer], to path: String) throws(Failure) {
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = (dir.isEmpty ? "." : dir) + "/.\((path as NSString).lastPathComponent).tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(path: path, reason: errnoText("cannot create")) }
        var failed: String?
        outer: for buf in chunks {
            guard let base = buf.baseAddress else { continue }
            var done = 0
            while done < buf.count {
                let n = write(fd, base + done, buf.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failed = errnoText("write failed")
                    break outer
                }
                done += n
            }
        }
        // close() can report a deferred write error (a full disk on some file systems).
        if close(fd) != 0 && failed == nil { failed = errnoText("close failed") }
        if let failed {
            unlink(tmp)
            throw Failure(path: path, reason: failed)
        }
        guard rename(tmp, path) == 0 else {
            let r = errnoText("cannot rename into place")
            unlink(tmp)
            throw Failure(path: path, reason: r)
        }
    }

    /// Creates a directory and its parents.
    public static func makeDirectory(_ path: String) throws(Failure) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw Failure(path: path, reason: "cannot create directory: \(error.localizedDescription)")
        }
    }

    /// Regular files under `path` (itself if it is a file), recursively, sorted by path so every
    /// run sees them in the same order. Hidden files (starting with '.') are skipped.
    public static func listFiles(_ path: String) throws(Failure) -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw Failure(path: path, reason: "no such file or directory")
        }
        if !isDir.boolValue { return [path] }
        guard let e = FileManager.default.enumerator(atPath: path) else {
            throw Failure(path: path, reason: "cannot list directory")
        }
        var out: [String] = []
        while let rel = e.nextObject() as? String {
            let name = (rel as NSString).lastPathComponent
            if name.hasPrefix(".") {
                e.skipDescendants()
                continue
            }
            let full = path.hasSuffix("/") ? path + rel : path + "/" + rel
            var d: ObjCBool = false
            if FileManager.default.fileExists(atPath: full, isDirectory: &d), !d.boolValue {
                out.append(full)
            }
        }
        return out.sorted()
    }

    public static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    private static func errnoText(_ what: String) -> String {
        "\(what): \(String(cString: strerror(errno)))"
    }
}

extension FileIO {
    /// The first `maxBytes` bytes of a file (all of it when shorter), and the file's full size.
    public static func readPrefix(path: String, maxBytes: Int) throws(Failure) -> (bytes: [UInt8], fileSize: Int) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(path: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw Failure(path: path, reason: "cannot stat") }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw Failure(path: path, reason: "is a directory, not a file") }
        let size = Int(st.st_size)
        let want = min(size, maxBytes)
        var failure: String?
        let bytes = [UInt8](unsafeUninitializedCapacity: want) { buf, count in
            var done = 0
            while done < want {
                let n = read(fd, buf.baseAddress! + done, want - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = "read failed: \(String(cString: strerror(errno)))"
                    break
                }
                if n == 0 { break }
                done += n
            }
            count = done
        }
        if let failure { throw Failure(path: path, reason: failure) }
        return (bytes, size)
    }
}
