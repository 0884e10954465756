/// The not-yet-released chunk payloads of one thread, kept as raw bytes and decoded on demand, in order.
struct ThreadQueue {
    /// One chunk's events inside `bytes`.
    struct Segment {
        var start: Int
        var end: Int
        var baseTicks: UInt64
        /// The chunk's record number (1-based, file order), for error messages.
        var record: Int
        /// The largest stack id its events may use.
        var stackLimit: UInt32
    }

    let thread: UInt32
    private(set) var bytes: UnsafeMutablePointer<UInt8>?
    private var capacity = 0
    private var used = 0
    private var segments: [Segment] = []
    private var segmentIndex = 0
    private var pos = 0
    private var decoder = EventDecoder(baseTicks: 0)
    /// The next event, decoded ahead (valid when `hasHead`).
    var head = TraceEvent(kind: .malloc)
    var hasHead = false

    init(thread: UInt32) { self.thread = thread }

    /// Frees the byte buffer; the queue is unusable afterwards.
    mutating func release() {
        bytes?.deallocate()
        bytes = nil
    }

    /// Appends a chunk's events (the payload after thread index and base ticks).
    mutating func append(_ events: UnsafeRawBufferPointer, baseTicks: UInt64, record: Int, stackLimit: UInt32) {
        let n = events.count
        if used + n > capacity {
            // Drop the consumed prefix, then grow if still needed.
            let keepFrom = segmentIndex < segments.count ? segments[segmentIndex].start : used
            let live = used - keepFrom
            let newCapacity = live + n > capacity ? max(capacity * 2, live + n, 64 << 10) : capacity
            let fresh = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
            if let old = bytes {
                fresh.update(from: old + keepFrom, count: live)
                old.deallocate()
            }
            bytes = fresh
            capacity = newCapacity
            used = live
            pos -= keepFrom
            if pos < 0 { pos = 0 }
            segments.removeFirst(segmentIndex)
            segmentIndex = 0
            for i in segments.indices {
                segments[i].start -= keepFrom
                segments[i].end -= keepFrom
            }
            if segments.isEmpty { pos = 0 }
        }
        if n > 0, let base = events.baseAddress {
            (bytes! + used).update(from: base.assumingMemoryBound(to: UInt8.self), count: n)
        }
        let wasIdle = segmentIndex >= segments.count
        segments.append(Segment(start: used, end: used + n, baseTicks: baseTicks, record: record,
                                stackLimit: stackLimit))
        used += n
        if wasIdle {
            pos = segments[segmentIndex].start
            decoder = EventDecoder(baseTicks: baseTicks, stackLimit: stackLimit)
        }
    }

    /// The chunk record number and byte offset (in its events) of the next event, for error messages.
    var position: (record: Int, offset: Int) {
        guard segmentIndex < segments.count else { return (0, 0) }
        return (segments[segmentIndex].record, pos - segments[segmentIndex].start)
    }

    /// Everything was consumed: the buffer starts over. Returns false (nothing pending).
    @inline(__always)
    private mutating func startOver() -> Bool {
        segments.removeAll(keepingCapacity: true)
        segmentIndex = 0
        used = 0
        pos = 0
        return false
    }

    /// Decodes the next pending event into `e`; false when no events are pending.
    @inline(__always)
    mutating func decodeNext(into e: UnsafeMutablePointer<TraceEvent>, labels: MarkLabels) throws(EventError) -> Bool {
        while true {
            guard segmentIndex < segments.count else { return startOver() }
            let end = segments[segmentIndex].end
            if pos < end {
                let base = UnsafePointer(bytes!)
                var p = base + pos
                try decoder.decode(&p, base + end, thread: thread, labels: labels, into: e)
                pos = p - base
                return true
            }
            segmentIndex += 1
            if segmentIndex < segments.count {
                pos = segments[segmentIndex].start
                decoder = EventDecoder(baseTicks: segments[segmentIndex].baseTicks,
                                       stackLimit: segments[segmentIndex].stackLimit)
            }
        }
    }

    /// Makes sure `head` holds the next event if there is one; returns `hasHead`.
    mutating func peek(labels: MarkLabels) throws(EventError) -> Bool {
        if !hasHead {
            var next = head
            hasHead = try decodeNext(into: &next, labels: labels)
            head = next
        }
        return hasHead
    }

    /// Moves released events (ticks < `limit`, or all when `all`) to `out`, at most `capacity` (> 0),
    /// counting them in `produced` (so that a decoding error keeps what came before it). Returns
    /// whether more may be releasable (true only when `capacity` was reached).
    mutating func drain(below limit: UInt64, all: Bool, into out: UnsafeMutablePointer<TraceEvent>,
                        capacity: Int, produced: inout Int, labels: MarkLabels) throws(EventError) -> Bool {
        var n = 0
        defer { produced += n }
        if hasHead {
            guard all || head.ticks < limit else { return false }
            out[0] = head
            hasHead = false
            n = 1
        }
        while n < capacity {
            guard segmentIndex < segments.count else { return startOver() }
            let end = segments[segmentIndex].end
            if pos < end {
                let base = UnsafePointer(bytes!)
                let stop = base + end
                var p = base + pos
                defer { pos = p - base }
                // Unchecked decoding up to the last few events of the chunk, then one checked event.
                if try decoder.decodeRun(&p, stop, thread: thread, labels: labels, into: out, count: &n,
                                         capacity: capacity, below: limit, all: all) {
                    head = out[n]
                    hasHead = true
                    return false
                }
                if n == capacity { return true }
                if p < stop && stop - p < EventDecoder.fastMargin {
                    try decoder.decode(&p, stop, thread: thread, labels: labels, into: out + n)
                    if all || out[n].ticks < limit {
                        n += 1
                    } else {
                        head = out[n]
                        hasHead = true
                        return false
                    }
                }
                continue
            }
            segmentIndex += 1
            if segmentIndex < segments.count {
                pos = segments[segmentIndex].start
                decoder = EventDecoder(baseTicks: segments[segmentIndex].baseTicks,
                                       stackLimit: segments[segmentIndex].stackLimit)
            }
        }
        return true
    }
}
