/// Decodes each chunk's events as the chunk arrives (file order, for `dump --raw`), in batches.
final class FileOrderDecoder {
    private let out: UnsafeMutablePointer<TraceEvent>
    private let capacity: Int
    private let labels: MarkLabels
    private let path: String

    init(path: String, labels: MarkLabels, batchSize: Int = 8192) {
        self.path = path
        self.labels = labels
        capacity = batchSize
        out = UnsafeMutablePointer<TraceEvent>.allocate(capacity: batchSize)
        out.initialize(repeating: TraceEvent(kind: .malloc), count: batchSize)
    }

    deinit { out.deallocate() }

    /// Decodes all events of one chunk and delivers them.
    func decode(thread: UInt32, baseTicks: UInt64, events: UnsafeRawBufferPointer, record: Int,
                deliver: (UnsafeBufferPointer<TraceEvent>) throws -> Void) throws {
        guard let raw = events.baseAddress, events.count > 0 else { return }
        let base = raw.assumingMemoryBound(to: UInt8.self)
        let end = base + events.count
        var p = base
        var decoder = EventDecoder(baseTicks: baseTicks)
        while p < end {
            var n = 0
            do throws(EventError) {
                while n < capacity && p < end {
                    try decoder.decode(&p, end, thread: thread, labels: labels, into: out + n)
                    n += 1
                }
            } catch {
                if n > 0 { try deliver(UnsafeBufferPointer(start: out, count: n)) }
                throw TraceError.corrupt(path: path, detail: "record \(record) (chunk of thread \(thread)), "
                    + "event at byte \(p - base) of its events: \(error.message)")
            }
            try deliver(UnsafeBufferPointer(start: out, count: n))
        }
    }
}
