import TraceFormat
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The order in which a replay delivers events.
public enum ReplayOrder: Sendable {
    /// Global time order across threads, released at each `sync` (see FORMAT.md "Ordering across threads").
    case merged
    /// Each chunk's events right after the chunk record, as they lie in the file.
    case file
}

extension TraceReader {
    /// Reads the whole trace from the start. Non-chunk records go to `records` in file order (after the
    /// tables are updated; a `sync` or `end` after the events it releases); events go to `events` in
    /// batches, in `order`. Damage throws `TraceError` (after delivering what came before it); a trace
    /// cut short is not an error: the summary says `complete == false`.
    ///
    /// Both callbacks run on the calling thread. With more than one CPU, decompression, record framing,
    /// event decoding and merging run on a second thread meanwhile (`ReplayPipe`).
    @discardableResult
    public func replay(order: ReplayOrder = .merged,
                       records: (TraceRecord) throws -> Void = { _ in },
                       events: (UnsafeBufferPointer<TraceEvent>) throws -> Void) throws -> ReplaySummary {
        let source = try ReplaySource(path: path, order: order, labels: markLabels)
        resetDefinitions()
        return try withoutActuallyEscaping(records) { records in
            try withoutActuallyEscaping(events) { events in
                let consumer = ReplayConsumer(reader: self, records: records, events: events)
                let outcome: ReadingOutcome
                if ReplayThreads.enabled, let threaded = try replayThreaded(source, consumer) {
                    outcome = threaded
                } else {
                    let capacity = 2048
                    let buffer = UnsafeMutablePointer<TraceEvent>.allocate(capacity: capacity)
                    buffer.initialize(repeating: TraceEvent(kind: .malloc), count: capacity)
                    defer { buffer.deallocate() }
                    var batches = EventBatches(buffer: buffer, capacity: capacity) { batch in
                        try consumer.events(batch)
                        return buffer
                    }
                    try source.run(consumer, &batches)
                    outcome = source.outcome
                }
                return consumer.finish(outcome)
            }
        }
    }

    /// Runs `source` on a thread of its own, `consumer` here; nil when no thread could be started.
    private func replayThreaded(_ source: ReplaySource, _ consumer: ReplayConsumer) throws -> ReadingOutcome? {
        let pipe = ReplayPipe()
        guard let thread = startThread({
            do {
                var batches = EventBatches(buffer: try pipe.takeBuffer(), capacity: pipe.batchCapacity,
                                           handOff: pipe.handOff)
                try source.run(pipe, &batches)
                try pipe.put(.finished(source.outcome))
            } catch is ReplayPipe.Cancelled {
            } catch {
                try? pipe.put(.failed(error))
            }
        }) else { return nil }
        var used: UnsafeMutablePointer<TraceEvent>?
        do {
            while true {
                let item = pipe.take(recycling: used)
                used = nil
                switch item {
                case let .events(buffer, count):
                    used = buffer
                    try consumer.events(UnsafeBufferPointer(start: buffer, count: count))
                case let .definition(kind, payload, number):
                    try payload.withUnsafeBytes { try consumer.definition(kind: kind, payload: $0, number: number) }
                case let .chunk(thread, baseTicks, eventBytes):
                    try consumer.chunk(thread: thread, baseTicks: baseTicks, eventBytes: eventBytes)
                case let .clock(ticks, nanoseconds):
                    try consumer.clock(ticks: ticks, nanoseconds: nanoseconds)
                case let .sync(sync):
                    try consumer.sync(sync)
                case let .end(end):
                    try consumer.end(end)
                case let .finished(outcome):
                    pthread_join(thread, nil)
                    return outcome
                case let .failed(error):
                    pthread_join(thread, nil)
                    throw ReplayFailure(error: error)
                }
            }
        } catch let error as ReplayFailure {
            throw error.error
        } catch {
            pipe.cancel()
            pthread_join(thread, nil)
            throw error
        }
    }

    /// Replays the trace calling `body` with each event (see `replay`).
    @discardableResult
    public func forEachEvent(order: ReplayOrder = .merged, records: (TraceRecord) throws -> Void = { _ in },
                             _ body: (TraceEvent) throws -> Void) throws -> ReplaySummary {
        try replay(order: order, records: records) { batch in
            for e in batch { try body(e) }
        }
    }

    /// Decodes a record other than chunk, sync and end, updating the tables.
    fileprivate func readDefinition(_ kind: UInt8, _ c: inout ByteCursor, isFirst: Bool) throws(FieldError) -> TraceRecord {
        switch RecordKind(rawValue: kind) {
        case .process:
            let p = try TraceProcess.parse(&c)
            process = p
            if isFirst { clock = TickClock(process: p) }
            return .process(p)
        case .module:
            let m = try TraceModule.parse(&c)
            moduleSlot[m.id] = modules.count
            modules.append(m)
            return .module(m)
        case .moduleUnload:
            let id = try c.varint()
            let ticks = try c.varint()
            if let i = moduleSlot[id] { modules[i].unloadTicks = ticks }
            return .moduleUnload(id: id, ticks: ticks)
        case .thread:
            let t = try TraceThread.parse(&c)
            threads[t.index] = t
            return .thread(t)
        case .stackNodes:
            let (first, count) = try stacks.parse(&c)
            return .stackNodes(firstID: first, count: count)
        case .type:
            let t = try TraceType.parse(&c)
            types.define(t)
            return .type(t)
        case .exec:
            return .exec(try TraceExec.parse(&c))
        case .pythonCode:
            let code = try PythonCode.parse(&c)
            pythonCodes.define(code)
            return .pythonCode(code)
        case .interpreter:
            let i = try TraceInterpreter.parse(&c)
            interpreter = i
            return .interpreter(i)
        case .sampling:
            let rate = try TraceSampling.parse(&c)
            sampling = rate
            return .sampling(rate)
        case .heapSnapshot, .typeLayout:
            return try readGraphRecord(kind, &c)
        default:
            return .unknown(kind: kind, length: c.remaining)
        }
    }
}

/// The reading half's error, passed on once its thread has ended.
private struct ReplayFailure: Error {
    let error: any Error
}

/// The caller's half of a replay: applies definitions to the reader's tables and calls the
/// callbacks, in the order the reading half hands things on.
final class ReplayConsumer: ReplaySink {
    let reader: TraceReader
    private let records: (TraceRecord) throws -> Void
    private let onEvents: (UnsafeBufferPointer<TraceEvent>) throws -> Void
    private var summary = ReplaySummary()

    init(reader: TraceReader, records: @escaping (TraceRecord) throws -> Void,
         events: @escaping (UnsafeBufferPointer<TraceEvent>) throws -> Void) {
        self.reader = reader
        self.records = records
        onEvents = events
    }

    func definition(kind: UInt8, payload: UnsafeRawBufferPointer, number: Int) throws {
        var c = ByteCursor(payload)
        let definition: TraceRecord
        do throws(FieldError) {
            definition = try reader.readDefinition(kind, &c, isFirst: number == 1)
        } catch {
            throw TraceError.corrupt(path: reader.path, detail: "record \(number) (\(TraceRecord.kindName(kind)), "
                + "\(payload.count) bytes): \(error.message)")
        }
        if case let .exec(exec) = definition { summary.exec = exec }
        try records(definition)
    }

    func chunk(thread: UInt32, baseTicks: UInt64, eventBytes: Int) throws {
        try records(.chunk(thread: thread, baseTicks: baseTicks, eventBytes: eventBytes))
    }

    func clock(ticks: UInt64, nanoseconds: UInt64) throws {
        reader.clock.add(ticks: ticks, nanoseconds: nanoseconds)
    }

    func sync(_ sync: TraceSync) throws { try records(.sync(sync)) }

    func end(_ end: TraceEnd) throws {
        summary.end = end
        try records(.end(end))
    }

    func events(_ batch: UnsafeBufferPointer<TraceEvent>) throws {
        summary.events += UInt64(batch.count)
        if reader.estimates, let sampling = reader.sampling, let base = batch.baseAddress {
            // the one place a sampled trace's allocations become estimates, for every view
            let events = UnsafeMutablePointer(mutating: base)
            for i in 0..<batch.count { sampling.weigh(&events[i]) }
        }
        try onEvents(batch)
    }

    /// The summary, once the reading half has ended as `outcome` says.
    func finish(_ outcome: ReadingOutcome) -> ReplaySummary {
        var summary = self.summary
        summary.records = outcome.records
        summary.chunks = outcome.chunks
        summary.syncs = outcome.syncs
        summary.decodedBytes = outcome.decodedBytes
        let lastKind = outcome.lastKind
        let last = "the last is \(TraceRecord.kindName(lastKind))"
        if !outcome.headerComplete {
            summary.cutShortReason = "the file ends inside its 16-byte header"
        } else if outcome.endedMidRecord {
            summary.cutShortReason = "the data ends inside record \(summary.records + 1), "
                + "after \(summary.records) whole records"
        } else if lastKind == RecordKind.end.rawValue || lastKind == RecordKind.exec.rawValue {
            summary.complete = true
        } else if summary.records == 0 {
            summary.cutShortReason = outcome.endedMidFrame
                ? "the data ends inside the first zstd frame, before any whole record"
                : "the trace holds no records"
        } else if outcome.endedMidFrame {
            summary.cutShortReason = "the data ends inside a zstd frame after \(summary.records) records; \(last)"
        } else {
            summary.cutShortReason = "there is no end record; the data stops after \(summary.records) records; \(last)"
        }
        return summary
    }
}
