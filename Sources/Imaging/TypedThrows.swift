// The standard library's `withUnsafe…` functions rethrow untyped errors; these wrappers keep a
// closure's typed error so module error types survive buffer access.

extension Array {
    @inlinable
    public func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let r: Result<R, E> = withUnsafeBytes { buf in Result { () throws(E) -> R in try body(buf) } }
        return try r.get()
    }

    @inlinable
    public mutating func withMutableBytes<R, E: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        let r: Result<R, E> = withUnsafeMutableBytes { buf in Result { () throws(E) -> R in try body(buf) } }
        return try r.get()
    }
}

extension ArraySlice {
    @inlinable
    public func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let r: Result<R, E> = withUnsafeBytes { buf in Result { () throws(E) -> R in try body(buf) } }
        return try r.get()
    }
}
