/// Holds each thread's chunk events until a watermark, then releases those below it in one global
/// order: by ticks; at equal ticks frees before reallocs before the rest, then by thread index;
/// each thread's own order always kept. Delivers in batches.
final class EventMerger {
    private var queues: [ThreadQueue] = []
    private var slotOfThread: [UInt32: Int] = [:]
    /// Where mark labels go as events are decoded.
    private let labels: MarkLabels
    /// Scratch for the heap of a merge, kept for its capacity.
    private var heap: [Int] = []
    private let path: String

    init(path: String, labels: MarkLabels) {
        self.path = path
        self.labels = labels
    }

    deinit {
        for i in queues.indices { queues[i].release() }
    }

    /// Holds a chunk's events (the payload after its thread index and base ticks).
    func add(thread: UInt32, baseTicks: UInt64, events: UnsafeRawBufferPointer, record: Int, stackLimit: UInt32) {
        let slot: Int
        if let s = slotOfThread[thread] {
            slot = s
        } else {
            slot = queues.count
            queues.append(ThreadQueue(thread: thread))
            slotOfThread[thread] = slot
        }
        queues[slot].append(events, baseTicks: baseTicks, record: record, stackLimit: stackLimit)
    }

    /// Releases, in merged order, every held event with ticks < `limit` (every event when `all`),
    /// into `batches` (flushed at the end). A decoding error is thrown after the events before it
    /// are delivered.
    func release(below limit: UInt64, all: Bool, into batches: inout EventBatches) throws {
        // The round works on its own copy of the state (moved, not copied) so that the hot loops
        // touch locals only, not class properties.
        var round = MergeRound(limit: limit, all: all, labels: labels)
        swap(&round.queues, &queues)
        swap(&round.heap, &heap)
        defer {
            swap(&round.queues, &queues)
            swap(&round.heap, &heap)
        }
        do {
            try round.run(&batches)
        } catch let error as EventError {
            try batches.flush()
            let (record, offset) = round.queues[round.failedQueue].position
            throw TraceError.corrupt(path: path, detail: "record \(record) (chunk of thread "
                + "\(round.queues[round.failedQueue].thread)), event at byte \(offset) of its events: \(error.message)")
        }
        try batches.flush()
    }
}

/// Where decoders put events: batches written in place, each handed on when full (or flushed).
/// `handOff` delivers a batch and returns the buffer to fill next (the same one, or another when
/// the batch goes to another thread).
struct EventBatches {
    private(set) var buffer: UnsafeMutablePointer<TraceEvent>
    var count = 0
    let capacity: Int
    private let handOff: (UnsafeBufferPointer<TraceEvent>) throws -> UnsafeMutablePointer<TraceEvent>

    init(buffer: UnsafeMutablePointer<TraceEvent>, capacity: Int,
         handOff: @escaping (UnsafeBufferPointer<TraceEvent>) throws -> UnsafeMutablePointer<TraceEvent>) {
        self.buffer = buffer
        self.capacity = capacity
        self.handOff = handOff
    }

    /// Where the next event goes (valid while `count < capacity`).
    @inline(__always) var next: UnsafeMutablePointer<TraceEvent> { buffer + count }
    @inline(__always) var room: Int { capacity - count }

    /// Hands on the events written so far, if any.
    mutating func flush() throws {
        guard count > 0 else { return }
        let n = count
        count = 0
        buffer = try handOff(UnsafeBufferPointer(start: buffer, count: n))
    }
}

/// One release: the queues' heads merged through a binary min-heap into the output batches.
struct MergeRound {
    var queues: [ThreadQueue] = []
    var heap: [Int] = []
    let limit: UInt64
    let all: Bool
    let labels: MarkLabels
    /// The queue whose decoding failed (valid after an EventError).
    var failedQueue = 0

    init(limit: UInt64, all: Bool, labels: MarkLabels) {
        self.limit = limit
        self.all = all
        self.labels = labels
    }

    @inline(__always) func releasable(_ e: TraceEvent) -> Bool { all || e.ticks < limit }

    @inline(__always) mutating func peek(_ i: Int) throws(EventError) -> Bool {
        failedQueue = i
        return try queues[i].peek(labels: labels)
    }

    mutating func run(_ out: inout EventBatches) throws {
        heap.removeAll(keepingCapacity: true)
        for i in queues.indices {
            if try peek(i), releasable(queues[i].head) { heap.append(i) }
        }
        if heap.count == 1 {
            // One thread: its events are already in order.
            let i = heap[0]
            failedQueue = i
            try drain(i, below: limit, all: all, &out)
        } else if heap.count > 1 {
            try merge(&out)
        }
    }

    /// Moves queue `i`'s events below `bound` (all when `boundAll`) to `out`.
    @inline(__always)
    private mutating func drain(_ i: Int, below bound: UInt64, all boundAll: Bool, _ out: inout EventBatches) throws {
        var more = true
        while more {
            if out.count == out.capacity { try out.flush() }
            more = try queues[i].drain(below: bound, all: boundAll, into: out.next, capacity: out.room,
                                       produced: &out.count, labels: labels)
        }
    }

    private mutating func merge(_ out: inout EventBatches) throws {
        var k = heap.count / 2
        while k > 0 { k -= 1; siftDown(k) }
        while !heap.isEmpty {
            let q = heap[0]
            // The runner-up is the smaller child of the root; q's events go out while they precede it.
            var runner = -1
            if heap.count > 1 { runner = heap[1] }
            if heap.count > 2 && queues[heap[2]].head.precedes(queues[heap[1]].head) { runner = heap[2] }
            // q's head goes first; then, without comparisons, its events with ticks below the
            // runner-up's (and the limit): equal ticks need the full order.
            if out.count == out.capacity { try out.flush() }
            out.next.initialize(to: queues[q].head)
            out.count += 1
            queues[q].hasHead = false
            var bound = limit
            var boundAll = all
            if runner >= 0 {
                let r = queues[runner].head.ticks
                if all || r < limit { bound = r }
                boundAll = false
            }
            failedQueue = q
            try drain(q, below: bound, all: boundAll, &out)
            guard try peek(q), releasable(queues[q].head) else {
                // This thread has nothing more to release now.
                let last = heap.removeLast()
                if !heap.isEmpty { heap[0] = last; siftDown(0) }
                continue
            }
            if runner >= 0 && !queues[q].head.precedes(queues[runner].head) { siftDown(0) }
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        let n = heap.count
        while true {
            let l = 2 * i + 1
            if l >= n { return }
            var m = l
            if l + 1 < n && queues[heap[l + 1]].head.precedes(queues[heap[l]].head) { m = l + 1 }
            guard queues[heap[m]].head.precedes(queues[heap[i]].head) else { return }
            heap.swapAt(i, m)
            i = m
        }
    }
}
