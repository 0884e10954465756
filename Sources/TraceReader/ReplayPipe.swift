#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import TraceFormat

/// Hands a replay's items from its reading thread (decompression, records, event decoding and
/// merging: `ReplaySource`) to the caller's thread (tables, callbacks), in order, through a bounded
/// ring; event batches travel in a small pool of buffers that the caller's side gives back.
///
/// Waking a sleeping thread costs far more than a batch's worth of work, so neither side is woken
/// for each item: a waiting caller's side only once half the buffers are full (or the ring half
/// full, or the reading is over), a waiting reading side only once half the buffers are free (or
/// the ring half empty). A side about to wait first wakes the other if it waits too, so they never
/// both sleep.
final class ReplayPipe: ReplaySink, @unchecked Sendable {
    enum Item {
        case definition(kind: UInt8, payload: [UInt8], number: Int)
        case chunk(thread: UInt32, baseTicks: UInt64, eventBytes: Int)
        case clock(ticks: UInt64, nanoseconds: UInt64)
        case sync(TraceSync)
        case end(TraceEnd)
        case events(UnsafeMutablePointer<TraceEvent>, count: Int)
        case finished(ReadingOutcome)
        case failed(any Error)
    }

    /// Thrown on the reading side once the caller's side has stopped.
    struct Cancelled: Error {}

    let batchCapacity: Int
    private let lock = Lock()
    private let itemReady = Condition()
    private let roomReady = Condition()
    private var ring: [Item?]
    private var head = 0
    private var count = 0
    /// Event batches in the ring.
    private var fullBuffers = 0
    private let buffers: [UnsafeMutablePointer<TraceEvent>]
    private var free: [UnsafeMutablePointer<TraceEvent>]
    private var cancelled = false
    private var ended = false
    private var takerWaits = false
    private var putterWaits = false
    /// The first stack definitions were handed on (see `put`).
    private var stacksHandedOn = false

    init(ringCapacity: Int = 256, buffers n: Int = 16, batchCapacity: Int = 2048) {
        self.batchCapacity = batchCapacity
        ring = Array(repeating: nil, count: ringCapacity)
        buffers = (0..<n).map { _ in
            let b = UnsafeMutablePointer<TraceEvent>.allocate(capacity: batchCapacity)
            b.initialize(repeating: TraceEvent(kind: .malloc), count: batchCapacity)
            return b
        }
        free = buffers
    }

    deinit {
        for b in buffers { b.deallocate() }
    }

    private var half: Int { (buffers.count + 1) / 2 }

    // MARK: reading side

    /// Adds an item, waiting for room.
    func put(_ item: Item) throws {
        lock.lock()
        defer { lock.unlock() }
        while count == ring.count && !cancelled { waitAsPutter() }
        if cancelled { throw Cancelled() }
        ring[(head + count) % ring.count] = item
        count += 1
        var firstStacks = false
        switch item {
        case .events: fullBuffers += 1
        case .finished, .failed: ended = true
        case .definition(let kind, _, _) where !stacksHandedOn && kind == RecordKind.stackNodes.rawValue:
            // The caller's side learns of the first stacks at once rather than half a pool of
            // batches later: a report starts loading their debug information then (~10 ms sooner).
            stacksHandedOn = true
            firstStacks = true
        default: break
        }
        if takerWaits && (ended || firstStacks || fullBuffers >= half || count >= ring.count / 2) { wakeTaker() }
    }

    /// A buffer to fill, waiting for one to be given back.
    func takeBuffer() throws -> UnsafeMutablePointer<TraceEvent> {
        lock.lock()
        defer { lock.unlock() }
        while free.isEmpty && !cancelled { waitAsPutter() }
        if cancelled { throw Cancelled() }
        // The buffer given back longest ago: the caller's side has touched it least recently, so its
        // lines are the least likely to sit in that core's cache (writing them would take them back).
        return free.removeFirst()
    }

    private func waitAsPutter() {
        if takerWaits { wakeTaker() }
        putterWaits = true
        roomReady.wait(lock)
    }

    private func wakeTaker() {
        takerWaits = false
        itemReady.signal()
    }

    /// Sends a full batch on; returns the buffer to fill next.
    func handOff(_ batch: UnsafeBufferPointer<TraceEvent>) throws -> UnsafeMutablePointer<TraceEvent> {
        try put(.events(UnsafeMutablePointer(mutating: batch.baseAddress!), count: batch.count))
        return try takeBuffer()
    }

    func definition(kind: UInt8, payload: UnsafeRawBufferPointer, number: Int) throws {
        try put(.definition(kind: kind, payload: Array(payload), number: number))
    }

    func chunk(thread: UInt32, baseTicks: UInt64, eventBytes: Int) throws {
        try put(.chunk(thread: thread, baseTicks: baseTicks, eventBytes: eventBytes))
    }

    func clock(ticks: UInt64, nanoseconds: UInt64) throws { try put(.clock(ticks: ticks, nanoseconds: nanoseconds)) }
    func sync(_ sync: TraceSync) throws { try put(.sync(sync)) }
    func end(_ end: TraceEnd) throws { try put(.end(end)) }

    // MARK: caller's side

    /// The next item, waiting for it; `recycling` is a buffer whose events have been used.
    func take(recycling used: UnsafeMutablePointer<TraceEvent>?) -> Item {
        lock.lock()
        defer { lock.unlock() }
        if let used { free.append(used) }
        while count == 0 {
            if putterWaits { wakePutter() }
            takerWaits = true
            itemReady.wait(lock)
        }
        let item = ring[head]!
        ring[head] = nil
        head = (head + 1) % ring.count
        count -= 1
        if case .events = item { fullBuffers -= 1 }
        if putterWaits && free.count >= half && count <= ring.count / 2 { wakePutter() }
        return item
    }

    private func wakePutter() {
        putterWaits = false
        roomReady.signal()
    }

    /// Stops the reading side (it throws `Cancelled` from its next wait).
    func cancel() {
        lock.locked {
            cancelled = true
            wakePutter()
        }
    }
}

/// Starts a thread running `body`; nil when none can be started.
func startThread(_ body: @escaping () -> Void) -> pthread_t? {
    final class Box { let body: () -> Void; init(_ body: @escaping () -> Void) { self.body = body } }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { context in
        Unmanaged<Box>.fromOpaque(context!).takeRetainedValue().body()
        return nil
    }, context)
    if rc != 0 {
        Unmanaged<Box>.fromOpaque(context).release()
        return nil
    }
    return thread
}

/// Whether replays read on a thread of their own: with more than one CPU online, unless
/// `ALLOCTRACE_READER_THREADS=1`.
enum ReplayThreads {
    static let enabled: Bool = {
        if let v = getenv("ALLOCTRACE_READER_THREADS"), String(cString: v) == "1" { return false }
        return sysconf(Int32(_SC_NPROCESSORS_ONLN)) > 1
    }()
}
