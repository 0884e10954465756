/// Holds each thread's chunk events until a watermark, then releases those below it in one global
/// order: by ticks; at equal ticks frees before reallocs before the rest, then by thread index;
/// each thread's own order always kept. Delivers in batches.
final class EventMerger {
    private var queues: [ThreadQueue] = []
    private var slotOfThread: [UInt32: Int] = [:]
    /// Where mark labels go as events are decoded.
    private let labels: MarkLabels
    private let out: UnsafeMutablePointer<TraceEvent>
    private let outCapacity: Int
    /// Scratch for the heap of a merge, kept for its capacity.
    private var heap: [Int] = []
    private let path: String

    init(path: String, labels: MarkLabels, batchSize: Int = 8192) {
        self.path = path
        self.labels = labels
        outCapacity = batchSize
        out = UnsafeMutablePointer<TraceEvent>.allocate(capacity: batchSize)
        out.initialize(repeating: TraceEvent(kind: .malloc), count: batchSize)
    }

    deinit {
        for i in queues.indices { queues[i].release() }
        out.deallocate()
    }

    /// Holds a chunk's events (the payload after its thread index and base ticks).
    func add(thread: UInt32, baseTicks: UInt64, events: UnsafeRawBufferPointer, record: Int) {
        let slot: Int
        if let s = slotOfThread[thread] {
            slot = s
        } else {
            slot = queues.count
            queues.append(ThreadQueue(thread: thread))
            slotOfThread[thread] = slot
        }
        queues[slot].append(events, baseTicks: baseTicks, record: record)
    }

    /// Releases, in merged order, every held event with ticks < `limit` (every event when `all`).
    /// A decoding error is thrown after the events before it are delivered.
    func release(below limit: UInt64, all: Bool,
                 deliver: (UnsafeBufferPointer<TraceEvent>) throws -> Void) throws {
        // The round works on its own copy of the state (moved, not copied) so that the hot loops
        // touch locals only, not class properties.
        var round = MergeRound(limit: limit, all: all, out: out, outCapacity: outCapacity, labels: labels)
        swap(&round.queues, &queues)
        swap(&round.heap, &heap)
        defer {
            swap(&round.queues, &queues)
            swap(&round.heap, &heap)
        }
        do {
            try round.run(deliver)
        } catch let error as EventError {
            try round.flush(deliver)
            let (record, offset) = round.queues[round.failedQueue].position
            throw TraceError.corrupt(path: path, detail: "record \(record) (chunk of thread "
                + "\(round.queues[round.failedQueue].thread)), event at byte \(offset) of its events: \(error.message)")
        }
        try round.flush(deliver)
    }
}

/// One release: the queues' heads merged through a binary min-heap into the output batch.
struct MergeRound {
    var queues: [ThreadQueue] = []
    var heap: [Int] = []
    let limit: UInt64
    let all: Bool
    let out: UnsafeMutablePointer<TraceEvent>
    let outCapacity: Int
    let labels: MarkLabels
    var outCount = 0
    /// The queue whose decoding failed (valid after an EventError).
    var failedQueue = 0

    init(limit: UInt64, all: Bool, out: UnsafeMutablePointer<TraceEvent>, outCapacity: Int, labels: MarkLabels) {
        self.limit = limit
        self.all = all
        self.out = out
        self.outCapacity = outCapacity
        self.labels = labels
    }

    @inline(__always) func releasable(_ e: TraceEvent) -> Bool { all || e.ticks < limit }

    @inline(__always) mutating func peek(_ i: Int) throws(EventError) -> Bool {
        failedQueue = i
        return try queues[i].peek(labels: labels)
    }

    mutating func run(_ deliver: (UnsafeBufferPointer<TraceEvent>) throws -> Void) throws {
        heap.removeAll(keepingCapacity: true)
        for i in queues.indices {
            if try peek(i), releasable(queues[i].head) { heap.append(i) }
        }
        if heap.count == 1 {
            // One thread: its events are already in order.
            let i = heap[0]
            failedQueue = i
            var more = true
            while more {
                if outCount == outCapacity { try flush(deliver) }
                more = try queues[i].drain(below: limit, all: all, into: out + outCount,
                                           capacity: outCapacity - outCount, produced: &outCount, labels: labels)
            }
        } else if heap.count > 1 {
            try merge(deliver)
        }
    }

    private mutating func merge(_ deliver: (UnsafeBufferPointer<TraceEvent>) throws -> Void) throws {
        var k = heap.count / 2
        while k > 0 { k -= 1; siftDown(k) }
        while !heap.isEmpty {
            let q = heap[0]
            // The runner-up is the smaller child of the root; q's events go out while they precede it.
            var runner = -1
            if heap.count > 1 { runner = heap[1] }
            if heap.count > 2 && queues[heap[2]].head.precedes(queues[heap[1]].head) { runner = heap[2] }
            while true {
                if outCount == outCapacity { try flush(deliver) }
                out[outCount] = queues[q].head
                outCount += 1
                queues[q].hasHead = false
                guard try peek(q), releasable(queues[q].head) else {
                    // This thread has nothing more to release now.
                    let last = heap.removeLast()
                    if !heap.isEmpty { heap[0] = last; siftDown(0) }
                    break
                }
                if runner >= 0 && !queues[q].head.precedes(queues[runner].head) {
                    siftDown(0)
                    break
                }
            }
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

    mutating func flush(_ deliver: (UnsafeBufferPointer<TraceEvent>) throws -> Void) throws {
        guard outCount > 0 else { return }
        let n = outCount
        outCount = 0
        try deliver(UnsafeBufferPointer(start: out, count: n))
    }
}
