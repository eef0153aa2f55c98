import Dispatch
import Foundation

/// CPU-bound loops split over the cores (DESIGN: machines have 2 cores; chunks, not tasks per voxel).
public enum Parallel {
    /// Worker count: the active processor count, or `OSTEOCT_THREADS` when set (for benchmarks).
    public static var workerCount: Int {
        if let s = ProcessInfo.processInfo.environment["OSTEOCT_THREADS"], let n = Int(s), n >= 1 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Runs `body(i)` for i in 0..<count on `workerCount` threads, each taking the next index as
    /// it finishes one. `body` must only touch disjoint data per index.
    public static func forEach(_ count: Int, _ body: @Sendable (Int) -> Void) {
        guard count > 0 else { return }
        let workers = min(workerCount, count)
        if workers == 1 {
            for i in 0..<count { body(i) }
            return
        }
        let next = IndexCounter()
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let i = next.take(below: count) { body(i) }
        }
    }

    /// Runs `body(range)` over `count` items split into contiguous chunks, one or a few per core.
    public static func forChunks(_ count: Int, minChunk: Int = 1, _ body: @Sendable (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let workers = workerCount
        let chunks = max(1, min(workers * 4, count / max(1, minChunk)))
        let size = (count + chunks - 1) / chunks
        forEach(chunks) { c in
            let lo = c * size
            let hi = min(count, lo + size)
            if lo < hi { body(lo..<hi) }
        }
    }
}

/// Hands out 0, 1, 2, … to parallel workers.
final class IndexCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    func take(below limit: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard next < limit else { return nil }
        next += 1
        return next - 1
    }
}

/// A mutable buffer shared by parallel workers that write disjoint parts of it.
public struct SharedMutableBuffer<Element>: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Element>
    public let count: Int
    public init(_ buffer: UnsafeMutableBufferPointer<Element>) {
        // A zero-length buffer may have no base address; point at a dummy that is never touched.
        self.base = buffer.baseAddress ?? UnsafeMutablePointer<Element>.allocate(capacity: 1)
        self.count = buffer.count
    }
    public subscript(i: Int) -> Element {
        get { base[i] }
        nonmutating set { base[i] = newValue }
    }
    public func slice(_ range: Range<Int>) -> UnsafeMutableBufferPointer<Element> {
        UnsafeMutableBufferPointer(start: base + range.lowerBound, count: range.count)
    }
}

/// First error wins; later workers see it and stop early.
public final class FirstError<E: Error & Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: E?
    public init() {}
    public var value: E? { lock.lock(); defer { lock.unlock() }; return stored }
    public var isSet: Bool { value != nil }
    public func record(_ e: E) {
        lock.lock()
        if stored == nil { stored = e }
        lock.unlock()
    }
}

/// Large voxel buffers.
public enum VoxelBuffer {
    /// An array of `count` elements left uninitialised for the caller to fill completely. Large
    /// buffers are marked for transparent huge pages, which cuts the page faults of first touch
    /// (a 512×512×300 volume is 38,000 4-KiB pages, or 75 2-MiB pages).
    public static func uninitialized<T: BitwiseCopyable>(_ count: Int, of: T.Type = T.self) -> [T] {
        [T](unsafeUninitializedCapacity: count) { buf, initialized in
            let bytes = count * MemoryLayout<T>.stride
            if bytes >= 8 << 20, let base = buf.baseAddress {
                let huge = 2 << 20
                let start = (Int(bitPattern: base) + huge - 1) & ~(huge - 1)
                let end = (Int(bitPattern: base) + bytes) & ~(huge - 1)
                if end > start, let p = UnsafeMutableRawPointer(bitPattern: start) {
                    _ = madvise(p, end - start, MADV_HUGEPAGE)
                }
            }
            initialized = count
        }
    }
}
