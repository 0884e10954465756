import TraceFormat
import TraceReader

/// Heap in use and RSS over time, in buckets, with the marks and the peak; optionally the live
/// bytes of every group (Swift type, or untyped allocation stack) at the end of each bucket.
public struct Timeline: Sendable {
    public struct Bucket: Sendable {
        /// Ticks of the bucket's first moment.
        public var startTicks: UInt64
        /// The most heap in use at any moment in the bucket, and at its end.
        public var maxHeapBytes: UInt64
        public var endHeapBytes: UInt64
        /// The largest RSS sample in the bucket, or the latest before it (0 before the first).
        public var rssBytes: UInt64
        /// The groups whose live bytes changed in the bucket, with their bytes at its end, in
        /// order (only with groups requested): a group's bytes in any bucket are those of its
        /// latest change so far (`Timeline.groupBytes`). Every group's full bytes at every bucket
        /// would cost as much as the groups times the buckets.
        public var groupChanges: [(key: HeapSnapshot.Key, bytes: UInt64)]
    }

    public var buckets: [Bucket] = []
    /// Ticks per bucket.
    public var bucketTicks: UInt64 = 0
    public var firstTicks: UInt64 = 0
    public var lastTicks: UInt64 = 0
    public var peakBytes: UInt64 = 0
    public var peakTicks: UInt64 = 0
    public var peakRSSBytes: UInt64 = 0
    public var marks: [(ticks: UInt64, label: String)] = []
    /// Each group's largest live bytes over the run (to pick the K largest).
    public var groupPeaks: [HeapSnapshot.Key: UInt64] = [:]

    /// The live bytes of each of `keys` at the end of every bucket.
    public func groupBytes(_ keys: [HeapSnapshot.Key]) -> [HeapSnapshot.Key: [UInt64]] {
        var now = Dictionary(uniqueKeysWithValues: keys.map { ($0, UInt64(0)) })
        var series = Dictionary(uniqueKeysWithValues: keys.map { ($0, [UInt64]()) })
        for b in buckets {
            for c in b.groupChanges where now[c.key] != nil { now[c.key] = c.bytes }
            for k in keys { series[k]!.append(now[k]!) }
        }
        return series
    }
}

/// Live bytes per group while replaying, and each group's peak: columns by Swift type id and by
/// stack id (a dictionary lookup per event was a fifth of `report`'s time), a dictionary only for
/// ids too large for a column (crafted traces).
struct GroupBytes {
    static let columnLimit: UInt32 = 1 << 20
    private var byType = Column<UInt64>(capacity: 64), byStack = Column<UInt64>(capacity: 1024)
    private var peakByType = Column<UInt64>(capacity: 64), peakByStack = Column<UInt64>(capacity: 1024)
    private var large: [HeapSnapshot.Key: UInt64] = [:], largePeaks: [HeapSnapshot.Key: UInt64] = [:]
    /// The groups changed since the last `takeChanges`: a column marks each one once (the serial of
    /// the bucket it was last listed in), the list holds its key.
    private var listedType = Column<UInt32>(capacity: 64), listedStack = Column<UInt32>(capacity: 1024)
    private var changed: [HeapSnapshot.Key] = []
    private var largeChanged: Set<HeapSnapshot.Key> = []
    /// Numbers the lists: an entry of `listed*` equal to it is in the current one.
    private var serial: UInt32 = 1

    func deallocate() {
        byType.deallocate(); byStack.deallocate(); peakByType.deallocate(); peakByStack.deallocate()
        listedType.deallocate(); listedStack.deallocate()
    }

    /// The changed groups with their bytes now, in the order first changed; starts a new list.
    mutating func takeChanges() -> [(key: HeapSnapshot.Key, bytes: UInt64)] {
        var out: [(key: HeapSnapshot.Key, bytes: UInt64)] = []
        out.reserveCapacity(changed.count + largeChanged.count)
        for k in changed { out.append((k, k.type != 0 ? byType[Int(k.type)] : byStack[Int(k.stack)])) }
        for k in largeChanged.sorted(by: { ($0.type, $0.stack) < ($1.type, $1.stack) }) { out.append((k, large[k] ?? 0)) }
        changed.removeAll(keepingCapacity: true)
        largeChanged.removeAll(keepingCapacity: true)
        serial &+= 1
        return out
    }

    /// Adds `delta` (two's complement for a release) to the group of a block of `type` or, untyped,
    /// of `stack`; an increase may set the group's peak.
    @inline(__always)
    mutating func add(type: UInt32, stack: UInt32, _ delta: UInt64, rising: Bool) {
        let id = type != 0 ? type : stack
        if id >= GroupBytes.columnLimit { return addLarge(HeapSnapshot.Key(type: type, stack: type != 0 ? 0 : stack), delta, rising: rising) }
        let i = Int(id)
        if type != 0 {
            if i >= byType.count {
                byType.grow(to: i + 1, filling: 0); peakByType.grow(to: i + 1, filling: 0); listedType.grow(to: i + 1, filling: 0)
            }
            let v = byType[i] &+ delta
            byType[i] = v
            if rising && v > peakByType[i] { peakByType[i] = v }
            if listedType[i] != serial { listedType[i] = serial; changed.append(HeapSnapshot.Key(type: type, stack: 0)) }
        } else {
            if i >= byStack.count {
                byStack.grow(to: i + 1, filling: 0); peakByStack.grow(to: i + 1, filling: 0); listedStack.grow(to: i + 1, filling: 0)
            }
            let v = byStack[i] &+ delta
            byStack[i] = v
            if rising && v > peakByStack[i] { peakByStack[i] = v }
            if listedStack[i] != serial { listedStack[i] = serial; changed.append(HeapSnapshot.Key(type: 0, stack: stack)) }
        }
    }

    @inline(never)
    private mutating func addLarge(_ k: HeapSnapshot.Key, _ delta: UInt64, rising: Bool) {
        let v = large[k, default: 0] &+ delta
        large[k] = v
        if rising && v > largePeaks[k, default: 0] { largePeaks[k] = v }
        largeChanged.insert(k)
    }

    /// Every group's largest live bytes so far.
    var peaks: [HeapSnapshot.Key: UInt64] { dictionary(peakByType, peakByStack, largePeaks).filter { $0.value > 0 } }

    private func dictionary(_ types: Column<UInt64>, _ stacks: Column<UInt64>, _ rest: [HeapSnapshot.Key: UInt64]) -> [HeapSnapshot.Key: UInt64] {
        var d = rest
        for t in 0..<types.count where types[t] != 0 { d[HeapSnapshot.Key(type: UInt32(t), stack: 0)] = types[t] }
        for s in 0..<stacks.count where stacks[s] != 0 { d[HeapSnapshot.Key(type: 0, stack: UInt32(s))] = stacks[s] }
        return d
    }
}

/// One pass that builds a `Timeline`; at most `2 * target` buckets (pairs merge as time goes on).
public final class TimelineReplay {
    public let reader: TraceReader
    public private(set) var timeline = Timeline()
    public private(set) var replaySummary = ReplaySummary()

    public init(reader: TraceReader, buckets: Int = 600, groups: Bool = false) {
        self.reader = reader
        builder = TimelineBuilder(target: max(buckets, 10), withGroups: groups)
    }

    private var builder: TimelineBuilder

    public func run() throws {
        // the per-event work runs on a local value: no exclusivity checks on the class's state
        var b = builder
        let reader = self.reader
        defer { b.deallocate() }
        replaySummary = try reader.replay { batch in
            for e in batch { b.apply(e, reader) }
        }
        b.finish(endTicks: replaySummary.end?.ticks ?? 0)
        timeline = b.timeline
    }
}

/// The timeline's state while replaying.
struct TimelineBuilder {
    var timeline = Timeline()
    let target: Int
    let withGroups: Bool
    var started = false

    /// The live blocks (the replay's own table; a block's `thread` field holds its Swift type id here,
    /// which is all a timeline needs to know of it besides size and stack).
    private var live = LiveHeap()
    private var heapBytes: UInt64 = 0
    private var groups = GroupBytes()
    private var rss: UInt64 = 0

    init(target: Int, withGroups: Bool) {
        self.target = target
        self.withGroups = withGroups
        timeline.bucketTicks = 1 << 12
    }

    func deallocate() {
        live.deallocate()
        groups.deallocate()
    }

    @inline(__always)
    mutating func apply(_ e: TraceEvent, _ reader: TraceReader) {
        if !started {
            started = true
            timeline.firstTicks = e.ticks
            openBucket(at: e.ticks)
        }
        advance(to: e.ticks)
        switch e.kind {
        case .free: remove(e.address)
        case .realloc, .reallocarray:
            if e.oldAddress != 0 { remove(e.oldAddress) }
            if e.address != 0 { add(e) }
        case .mark: timeline.marks.append((e.ticks, reader.label(of: e) ?? ""))
        case .rss:
            rss = e.size
            if e.size > timeline.peakRSSBytes { timeline.peakRSSBytes = e.size }
            let i = timeline.buckets.count - 1
            if e.size > timeline.buckets[i].rssBytes { timeline.buckets[i].rssBytes = e.size }
        case .threadExit: break
        case .malloc, .calloc, .memalign, .posixMemalign, .alignedAlloc, .valloc, .pvalloc: add(e)
        }
    }

    mutating func finish(endTicks: UInt64) {
        if started { closeBucket() }
        if withGroups { timeline.groupPeaks = groups.peaks }
        timeline.lastTicks = max(timeline.lastTicks, endTicks)
    }

    private func bucketIndex(_ ticks: UInt64) -> Int {
        Int((ticks &- timeline.firstTicks) / timeline.bucketTicks)
    }

    private mutating func openBucket(at ticks: UInt64) {
        let index = timeline.buckets.count
        timeline.buckets.append(Timeline.Bucket(startTicks: timeline.firstTicks &+ UInt64(index) &* timeline.bucketTicks,
                                                maxHeapBytes: heapBytes, endHeapBytes: heapBytes, rssBytes: rss,
                                                groupChanges: []))
    }

    private mutating func closeBucket() {
        guard !timeline.buckets.isEmpty else { return }
        let i = timeline.buckets.count - 1
        timeline.buckets[i].endHeapBytes = heapBytes
        timeline.buckets[i].rssBytes = max(timeline.buckets[i].rssBytes, rss)
        if withGroups { timeline.buckets[i].groupChanges = groups.takeChanges() }
    }

    /// Closes buckets up to the one holding `ticks`, merging pairs when there are too many.
    @inline(__always)
    private mutating func advance(to ticks: UInt64) {
        timeline.lastTicks = ticks
        while bucketIndex(ticks) >= timeline.buckets.count {
            closeBucket()
            if timeline.buckets.count >= 2 * target { mergePairs() }
            if bucketIndex(ticks) < timeline.buckets.count { break }
            openBucket(at: ticks)
        }
    }

    private mutating func mergePairs() {
        var merged: [Timeline.Bucket] = []
        var i = 0
        let b = timeline.buckets
        while i < b.count {
            var m = b[i]
            if i + 1 < b.count {
                let n = b[i + 1]
                m.maxHeapBytes = max(m.maxHeapBytes, n.maxHeapBytes)
                m.endHeapBytes = n.endHeapBytes
                m.rssBytes = n.rssBytes
                m.groupChanges += n.groupChanges
            }
            merged.append(m)
            i += 2
        }
        timeline.buckets = merged
        timeline.bucketTicks *= 2
    }

    @inline(__always)
    private mutating func add(_ e: TraceEvent) {
        let block = LiveHeap.Block(address: e.address, size: e.size, ticks: 0, stack: e.stack, thread: e.typeID)
        if let old = live.add(block, type: e.typeID) { drop(old) }
        heapBytes &+= e.size
        if withGroups { groups.add(type: e.typeID, stack: e.stack, e.size, rising: true) }
        if heapBytes > timeline.peakBytes { timeline.peakBytes = heapBytes; timeline.peakTicks = e.ticks }
        let i = timeline.buckets.count - 1
        if heapBytes > timeline.buckets[i].maxHeapBytes { timeline.buckets[i].maxHeapBytes = heapBytes }
    }

    @inline(__always)
    private mutating func drop(_ block: LiveHeap.Block) {
        heapBytes &-= block.size
        if withGroups { groups.add(type: block.thread, stack: block.stack, 0 &- block.size, rising: false) }
    }

    @inline(__always)
    private mutating func remove(_ address: UInt64) {
        if let old = live.remove(address: address) { drop(old) }
    }
}
