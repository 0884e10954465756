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

/// One pass that builds a `Timeline`; at most `2 * target` buckets (pairs merge as time goes on).
public final class TimelineReplay {
    public let reader: TraceReader
    public private(set) var timeline = Timeline()
    public private(set) var replaySummary = ReplaySummary()
    let target: Int
    let withGroups: Bool

    /// The live blocks (the replay's own table; a block's `thread` field holds its Swift type id here,
    /// which is all a timeline needs to know of it besides size and stack).
    private var live = LiveHeap()
    private var heapBytes: UInt64 = 0
    private var groupBytes: [HeapSnapshot.Key: UInt64] = [:]
    private var rss: UInt64 = 0

    public init(reader: TraceReader, buckets: Int = 600, groups: Bool = false) {
        self.reader = reader
        target = max(buckets, 10)
        withGroups = groups
    }

    public func run() throws {
        timeline.bucketTicks = 1 << 12
        var started = false
        replaySummary = try reader.replay { batch in
            for e in batch {
                if !started {
                    started = true
                    timeline.firstTicks = e.ticks
                    openBucket(at: e.ticks)
                }
                advance(to: e.ticks)
                apply(e)
            }
        }
        if started { closeBucket() }
        live.deallocate()
        timeline.lastTicks = max(timeline.lastTicks, replaySummary.end?.ticks ?? 0)
    }

    private func bucketIndex(_ ticks: UInt64) -> Int {
        Int((ticks &- timeline.firstTicks) / timeline.bucketTicks)
    }

    private func openBucket(at ticks: UInt64) {
        let index = timeline.buckets.count
        timeline.buckets.append(Timeline.Bucket(startTicks: timeline.firstTicks &+ UInt64(index) &* timeline.bucketTicks,
                                                maxHeapBytes: heapBytes, endHeapBytes: heapBytes, rssBytes: rss,
                                                groups: [:]))
    }

    private func closeBucket() {
        guard !timeline.buckets.isEmpty else { return }
        let i = timeline.buckets.count - 1
        timeline.buckets[i].endHeapBytes = heapBytes
        timeline.buckets[i].rssBytes = max(timeline.buckets[i].rssBytes, rss)
        if withGroups { timeline.buckets[i].groups = groupBytes.filter { $0.value > 0 } }
    }

    /// Closes buckets up to the one holding `ticks`, merging pairs when there are too many.
    @inline(__always)
    private func advance(to ticks: UInt64) {
        timeline.lastTicks = ticks
        while bucketIndex(ticks) >= timeline.buckets.count {
            closeBucket()
            if timeline.buckets.count >= 2 * target { mergePairs() }
            if bucketIndex(ticks) < timeline.buckets.count { break }
            openBucket(at: ticks)
        }
    }

    private func mergePairs() {
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
    private func note() {
        let i = timeline.buckets.count - 1
        if heapBytes > timeline.buckets[i].maxHeapBytes { timeline.buckets[i].maxHeapBytes = heapBytes }
    }

    @inline(__always)
    private func key(_ type: UInt32, _ stack: UInt32) -> HeapSnapshot.Key {
        HeapSnapshot.Key(type: type, stack: type != 0 ? 0 : stack)
    }

    private func add(_ e: TraceEvent) {
        let block = LiveHeap.Block(address: e.address, size: e.size, ticks: 0, stack: e.stack, thread: e.typeID)
        if let old = live.add(block, type: e.typeID) { drop(old) }
        heapBytes &+= e.size
        if withGroups {
            let k = key(e.typeID, e.stack)
            let v = groupBytes[k, default: 0] &+ e.size
            groupBytes[k] = v
            if v > timeline.groupPeaks[k, default: 0] { timeline.groupPeaks[k] = v }
        }
        if heapBytes > timeline.peakBytes { timeline.peakBytes = heapBytes; timeline.peakTicks = e.ticks }
        note()
    }

    private func drop(_ block: LiveHeap.Block) {
        heapBytes &-= block.size
        if withGroups { groupBytes[key(block.thread, block.stack), default: 0] &-= block.size }
    }

    private func remove(_ address: UInt64) {
        if let old = live.remove(address: address) { drop(old) }
    }

    private func apply(_ e: TraceEvent) {
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
}
