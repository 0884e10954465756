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
        /// Live bytes per group at the bucket's end (only with groups requested).
        public var groups: [HeapSnapshot.Key: UInt64]
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
}

/// Live bytes per group while replaying, and each group's peak: columns by Swift type id and by
/// stack id (a dictionary lookup per event was a fifth of `report`'s time), a dictionary only for
/// ids too large for a column (crafted traces).
struct GroupBytes {
    static let columnLimit: UInt32 = 1 << 20
    private var byType = Column<UInt64>(capacity: 64), byStack = Column<UInt64>(capacity: 1024)
    private var peakByType = Column<UInt64>(capacity: 64), peakByStack = Column<UInt64>(capacity: 1024)
    private var large: [HeapSnapshot.Key: UInt64] = [:], largePeaks: [HeapSnapshot.Key: UInt64] = [:]

    func deallocate() {
        byType.deallocate(); byStack.deallocate(); peakByType.deallocate(); peakByStack.deallocate()
    }

    /// Adds `delta` (two's complement for a release) to the group of a block of `type` or, untyped,
    /// of `stack`; an increase may set the group's peak.
    @inline(__always)
    mutating func add(type: UInt32, stack: UInt32, _ delta: UInt64, rising: Bool) {
        let id = type != 0 ? type : stack
        if id >= GroupBytes.columnLimit { return addLarge(HeapSnapshot.Key(type: type, stack: type != 0 ? 0 : stack), delta, rising: rising) }
        let i = Int(id)
        if type != 0 {
            if i >= byType.count { byType.grow(to: i + 1, filling: 0); peakByType.grow(to: i + 1, filling: 0) }
            let v = byType[i] &+ delta
            byType[i] = v
            if rising && v > peakByType[i] { peakByType[i] = v }
        } else {
            if i >= byStack.count { byStack.grow(to: i + 1, filling: 0); peakByStack.grow(to: i + 1, filling: 0) }
            let v = byStack[i] &+ delta
            byStack[i] = v
            if rising && v > peakByStack[i] { peakByStack[i] = v }
        }
    }

    @inline(never)
    private mutating func addLarge(_ k: HeapSnapshot.Key, _ delta: UInt64, rising: Bool) {
        let v = large[k, default: 0] &+ delta
        large[k] = v
        if rising && v > largePeaks[k, default: 0] { largePeaks[k] = v }
    }

    /// The groups with live bytes now.
    var live: [HeapSnapshot.Key: UInt64] { dictionary(byType, byStack, large).filter { $0.value > 0 } }
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
                                                groups: [:]))
    }

    private mutating func closeBucket() {
        guard !timeline.buckets.isEmpty else { return }
        let i = timeline.buckets.count - 1
        timeline.buckets[i].endHeapBytes = heapBytes
        timeline.buckets[i].rssBytes = max(timeline.buckets[i].rssBytes, rss)
        if withGroups { timeline.buckets[i].groups = groups.live }
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
                m.groups = n.groups
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
