/// One record as it lies in the decompressed stream; `payload` is valid until the next record is read.
struct RawRecord {
    var kind: UInt8
    var payload: UnsafeRawBufferPointer
    /// Offset of the record's kind byte in the decompressed stream.
    var offset: UInt64
}

/// Splits the decompressed stream into records, each whole and contiguous in one window buffer
/// (which grows only as far as the largest record needs).
final class RecordFramer {
    private let source: ZstdInput?
    private let path: String
    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    private var start = 0
    private var end = 0
    /// Decompressed offset of `buffer[start]`.
    private var streamOffset: UInt64 = 0
    private var ended = false
    /// After `next()` returned nil: the data ended inside a record (its kind byte was there).
    private(set) var endedMidRecord = false

    /// No writer produces a record this long; a longer length is corruption.
    static let maxRecordLength = 1 << 28
    static let initialCapacity = 4 << 20
    static let minimumFree = 128 << 10
    /// Decompressed at most per fill (unless a record needs more): the first records are ready, and
    /// opening a trace (which reads only the process record) is done, after this much rather than a
    /// whole window (4 MiB, 10 ms, that a replay then decompressed again).
    static let fillStep = 256 << 10

    /// `source` nil: there is no data (the file ends inside its header).
    init(source: ZstdInput?, path: String) {
        self.source = source
        self.path = path
        capacity = RecordFramer.initialCapacity
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// After `next()` returned nil: the zstd stream ended in the middle of a frame.
    var endedMidFrame: Bool { source?.endedMidFrame ?? false }

    /// Decompressed bytes handed out as whole records so far.
    var decodedBytes: UInt64 { streamOffset }

    /// The next whole record, or nil at the end of the data.
    func next() throws(TraceError) -> RawRecord? {
        while true {
            let available = end - start
            var needed = available + 1
            if available > 0 {
                let first = UnsafePointer((buffer + start).assumingMemoryBound(to: UInt8.self))
                let last = UnsafePointer((buffer + end).assumingMemoryBound(to: UInt8.self))
                var q = first + 1
                if let length = readVarint(&q, last) {
                    guard length <= UInt64(RecordFramer.maxRecordLength) else {
                        throw .corrupt(path: path, detail: "the record at byte \(streamOffset) of the data "
                            + "claims a length of \(length) bytes, more than any record can have")
                    }
                    let headerBytes = q - first
                    let total = headerBytes + Int(length)
                    if total <= available {
                        let record = RawRecord(
                            kind: first.pointee,
                            payload: UnsafeRawBufferPointer(start: UnsafeRawPointer(q), count: Int(length)),
                            offset: streamOffset)
                        start += total
                        streamOffset += UInt64(total)
                        return record
                    }
                    needed = total
                } else if case .malformedVarint = varintFailure(q, last) {
                    throw .corrupt(path: path, detail: "the record at byte \(streamOffset) of the data "
                        + "has a malformed length")
                }
            }
            if ended {
                endedMidRecord = available > 0
                return nil
            }
            try fill(needed: needed)
        }
    }

    /// Decompresses more data after `end`, first making room for a record of `needed` bytes at `start`.
    private func fill(needed: Int) throws(TraceError) {
        guard let source else { ended = true; return }
        if start > 0 && (capacity - end < RecordFramer.minimumFree || needed > capacity - start) {
            let live = end - start
            if live > 0 { (buffer).copyMemory(from: buffer + start, byteCount: live) }
            start = 0
            end = live
        }
        if capacity - end < RecordFramer.minimumFree || needed > capacity {
            let newCapacity = max(capacity * 2, needed + RecordFramer.minimumFree)
            let grown = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
            grown.copyMemory(from: buffer + start, byteCount: end - start)
            buffer.deallocate()
            buffer = grown
            end -= start
            start = 0
            capacity = newCapacity
        }
        let n = try source.decompress(into: buffer + end,
                                      capacity: min(capacity - end, max(RecordFramer.fillStep, needed - (end - start))))
        if n == 0 { ended = true }
        end += n
    }
}
