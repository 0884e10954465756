/// Decodes each chunk's events as the chunk arrives (file order, for `dump --raw`), in batches.
final class FileOrderDecoder {
    private let labels: MarkLabels
    private let path: String

    init(path: String, labels: MarkLabels) {
        self.path = path
        self.labels = labels
    }

    /// Decodes all events of one chunk into `batches` and flushes them.
    func decode(thread: UInt32, baseTicks: UInt64, events: UnsafeRawBufferPointer, record: Int,
                stackLimit: UInt32, into batches: inout EventBatches) throws {
        guard let raw = events.baseAddress, events.count > 0 else { return }
        let base = raw.assumingMemoryBound(to: UInt8.self)
        let end = base + events.count
        var p = base
        var decoder = EventDecoder(baseTicks: baseTicks, stackLimit: stackLimit)
        while p < end {
            do throws(EventError) {
                while batches.count < batches.capacity && p < end {
                    _ = try decoder.decodeRun(&p, end, thread: thread, labels: labels, into: batches.buffer,
                                              count: &batches.count, capacity: batches.capacity, below: 0, all: true)
                    if batches.count < batches.capacity && p < end && end - p < EventDecoder.fastMargin {
                        try decoder.decode(&p, end, thread: thread, labels: labels, into: batches.next)
                        batches.count += 1
                    }
                }
            } catch {
                try batches.flush()
                throw TraceError.corrupt(path: path, detail: "record \(record) (chunk of thread \(thread)), "
                    + "event at byte \(p - base) of its events: \(error.message)")
            }
            try batches.flush()
        }
    }
}
