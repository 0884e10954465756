import TraceFormat

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
    @discardableResult
    public func replay(order: ReplayOrder = .merged,
                       records: (TraceRecord) throws -> Void = { _ in },
                       events: (UnsafeBufferPointer<TraceEvent>) throws -> Void) throws -> ReplaySummary {
        let session = try TraceSession(path: path)
        resetDefinitions()
        var summary = ReplaySummary()
        let merger = order == .merged ? EventMerger(path: path, labels: markLabels) : nil
        let direct = order == .file ? FileOrderDecoder(path: path, labels: markLabels) : nil
        var lastKind: UInt8 = 0
        let deliver: (UnsafeBufferPointer<TraceEvent>) throws -> Void = { batch in
            summary.events += UInt64(batch.count)
            try events(batch)
        }

        while let record = try session.framer.next() {
            summary.records += 1
            let number = summary.records
            lastKind = record.kind
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
                summary.chunks += 1
                if let merger {
                    merger.add(thread: thread, baseTicks: base, events: bytes, record: number)
                    try records(.chunk(thread: thread, baseTicks: base, eventBytes: bytes.count))
                } else {
                    try records(.chunk(thread: thread, baseTicks: base, eventBytes: bytes.count))
                    try direct!.decode(thread: thread, baseTicks: base, events: bytes, record: number,
                                       deliver: deliver)
                }
            case .sync:
                let sync: TraceSync
                do throws(FieldError) { sync = try TraceSync.parse(&c) } catch { throw damaged(error) }
                summary.syncs += 1
                clock.add(ticks: sync.watermark, nanoseconds: sync.monotonicNanoseconds)
                try merger?.release(below: sync.watermark, all: false, deliver: deliver)
                try records(.sync(sync))
            case .end:
                let end: TraceEnd
                do throws(FieldError) { end = try TraceEnd.parse(&c) } catch { throw damaged(error) }
                clock.add(ticks: end.ticks, nanoseconds: end.monotonicNanoseconds)
                // Everything has been written by the time of `end`.
                try merger?.release(below: 0, all: true, deliver: deliver)
                summary.end = end
                try records(.end(end))
            default:
                let definition: TraceRecord
                do throws(FieldError) {
                    definition = try readDefinition(record.kind, &c, isFirst: number == 1)
                } catch { throw damaged(error) }
                if case let .exec(exec) = definition { summary.exec = exec }
                try records(definition)
            }
        }

        try merger?.release(below: 0, all: true, deliver: deliver)
        summary.decodedBytes = session.framer.decodedBytes
        let last = "the last is \(TraceRecord.kindName(lastKind))"
        if !session.headerComplete {
            summary.cutShortReason = "the file ends inside its 16-byte header"
        } else if session.framer.endedMidRecord {
            summary.cutShortReason = "the data ends inside record \(summary.records + 1), "
                + "after \(summary.records) whole records"
        } else if lastKind == RecordKind.end.rawValue || lastKind == RecordKind.exec.rawValue {
            summary.complete = true
        } else if summary.records == 0 {
            summary.cutShortReason = session.framer.endedMidFrame
                ? "the data ends inside the first zstd frame, before any whole record"
                : "the trace holds no records"
        } else if session.framer.endedMidFrame {
            summary.cutShortReason = "the data ends inside a zstd frame after \(summary.records) records; \(last)"
        } else {
            summary.cutShortReason = "there is no end record; the data stops after \(summary.records) records; \(last)"
        }
        return summary
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
    private func readDefinition(_ kind: UInt8, _ c: inout ByteCursor, isFirst: Bool) throws(FieldError) -> TraceRecord {
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
        default:
            return .unknown(kind: kind, length: c.remaining)
        }
    }
}
