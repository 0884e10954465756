/// The labels of mark events in decoding order; `TraceEvent.labelIndex` indexes `strings`.
final class MarkLabels {
    var strings: [String] = []

    /// Adds a label; returns its index.
    @inline(never)
    func add(_ utf8: UnsafeBufferPointer<UInt8>) throws(EventError) -> UInt32 {
        guard strings.count < Int(UInt32.max) else { throw .impossible("more than 2^32 marks") }
        strings.append(String(decoding: utf8, as: UTF8.self))
        return UInt32(strings.count - 1)
    }
}
