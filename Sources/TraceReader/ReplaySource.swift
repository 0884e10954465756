import TraceFormat

/// What a replay hands on, in the order the caller sees it: definitions (parsed and applied to the
/// reader's tables by the receiver), chunk records, clock pairs (before the events a `sync` or
/// `end` releases), event batches (through `EventBatches`), `sync` and `end` records.
protocol ReplaySink: AnyObject {
    /// A record other than chunk, sync and end: `payload` is valid during the call only.
    func definition(kind: UInt8, payload: UnsafeRawBufferPointer, number: Int) throws
    func chunk(thread: UInt32, baseTicks: UInt64, eventBytes: Int) throws
    func clock(ticks: UInt64, nanoseconds: UInt64) throws
    func sync(_ sync: TraceSync) throws
    func end(_ end: TraceEnd) throws
}

/// How the reading half of a replay ended.
struct ReadingOutcome: Sendable {
    var records = 0
    var chunks = 0
    var syncs = 0
    var lastKind: UInt8 = 0
    var decodedBytes: UInt64 = 0
    var headerComplete = true
    var endedMidRecord = false
    var endedMidFrame = false
}

/// The reading half of a replay: the file's records in order, chunk events decoded (and, in merged
/// order, held and merged at each sync) into batches. Touches nothing of the `TraceReader` but the
/// (locked) mark labels, so that it can run on a thread of its own.
final class ReplaySource {
    let path: String
    private let session: TraceSession
    private let merger: EventMerger?
    private let direct: FileOrderDecoder?
    private(set) var outcome = ReadingOutcome()

    init(path: String, order: ReplayOrder, labels: MarkLabels) throws(TraceError) {
        self.path = path
        session = try TraceSession(path: path)
        merger = order == .merged ? EventMerger(path: path, labels: labels) : nil
        direct = order == .file ? FileOrderDecoder(path: path, labels: labels) : nil
        outcome.headerComplete = session.headerComplete
    }

    /// Reads every record; throws `TraceError` for damage (after handing on what came before it),
    /// or whatever `sink` or `batches` throw.
    func run(_ sink: ReplaySink, _ batches: inout EventBatches) throws {
        while let record = try session.framer.next() {
            outcome.records += 1
            let number = outcome.records
            outcome.lastKind = record.kind
            var c = ByteCursor(record.payload)
            func damaged(_ error: FieldError) -> TraceError {
                .corrupt(path: path, detail: "record \(number) (\(TraceRecord.kindName(record.kind)), "
                    + "\(record.payload.count) bytes): \(error.message)")
            }
            if number == 1 && record.kind != RecordKind.process.rawValue {
                throw TraceError.corrupt(path: path, detail: "the first record is "
                    + "\(TraceRecord.kindName(record.kind)), not process")
            }
            switch RecordKind(rawValue: record.kind) {
            case .chunk:
                let thread: UInt32, base: UInt64
                do throws(FieldError) {
                    thread = try c.id32("thread index")
                    base = try c.varint()
                } catch { throw damaged(error) }
                let bytes = c.rest()
                // Thread indexes and stack ids index the analyses' tables: bounded by the bytes so far.
                let largest = TraceBounds.largestID(afterBytes: session.framer.decodedBytes)
                if thread > largest {
                    throw damaged(.impossible("thread index \(thread) is beyond any the trace can have "
                        + "given out so far (at most \(largest))"))
                }
                outcome.chunks += 1
                if let merger {
                    merger.add(thread: thread, baseTicks: base, events: bytes, record: number, stackLimit: largest)
                    try sink.chunk(thread: thread, baseTicks: base, eventBytes: bytes.count)
                } else {
                    try sink.chunk(thread: thread, baseTicks: base, eventBytes: bytes.count)
                    try direct!.decode(thread: thread, baseTicks: base, events: bytes, record: number,
                                       stackLimit: largest, into: &batches)
                }
            case .sync:
                let sync: TraceSync
                do throws(FieldError) { sync = try TraceSync.parse(&c) } catch { throw damaged(error) }
                outcome.syncs += 1
                try sink.clock(ticks: sync.watermark, nanoseconds: sync.monotonicNanoseconds)
                try merger?.release(below: sync.watermark, all: false, into: &batches)
                try sink.sync(sync)
            case .end:
                let end: TraceEnd
                do throws(FieldError) { end = try TraceEnd.parse(&c) } catch { throw damaged(error) }
                try sink.clock(ticks: end.ticks, nanoseconds: end.monotonicNanoseconds)
                // Everything has been written by the time of `end`.
                try merger?.release(below: 0, all: true, into: &batches)
                try sink.end(end)
            default:
                try sink.definition(kind: record.kind, payload: record.payload, number: number)
            }
        }
        try merger?.release(below: 0, all: true, into: &batches)
        outcome.decodedBytes = session.framer.decodedBytes
        outcome.endedMidRecord = session.framer.endedMidRecord
        outcome.endedMidFrame = session.framer.endedMidFrame
    }
}
