import TraceFormat
import TraceReader

/// What a replay should collect besides the summary figures.
public struct ReplayRequest: Sendable {
    /// Per-stack statistics (top, summary's top sites, lines).
    public var sites = false
    /// Moments to snapshot the live heap at.
    public var moments: [Moment] = []
    /// With a snapshot at `survivorsUntil`: blocks allocated after `survivorsFrom` still live then.
    public var survivorsFrom: Moment?
    public var survivorsUntil: Moment?
    /// Stop at the mark with this index (from 1), as if the trace ended there (`--pid`).
    public var untilMark: Int?
    /// Build the timeline in the same pass (`report`): this many buckets at most, with or without
    /// the live bytes of each group.
    public var timeline: (buckets: Int, groups: Bool)?

    public init(sites: Bool = false, moments: [Moment] = [], survivorsFrom: Moment? = nil, survivorsUntil: Moment? = nil) {
        self.sites = sites
        self.moments = moments
        self.survivorsFrom = survivorsFrom
        self.survivorsUntil = survivorsUntil
    }
}

/// A moment that names no mark of the trace.
public struct UnknownMoment: Error, CustomStringConvertible {
    public let moment: Moment
    public let marks: [String]
    /// For a time past the end: seconds from the recording's start to its end.
    public var endsAt: Double? = nil

    public init(moment: Moment, marks: [String], endsAt: Double? = nil) {
        self.moment = moment
        self.marks = marks
        self.endsAt = endsAt
    }

    public var description: String {
        if let endsAt, case .seconds(let s) = moment {
            let asked = s == s.rounded() && abs(s) < 1e15 ? "\(Int(s))" : "\(s)"
            let ms = Int((endsAt * 1000).rounded())
            let end = "\(ms / 1000)." + String(String(1000 + ms % 1000).dropFirst())
            return "no moment \(asked) s in the trace: it ends at \(end) s"
        }
        let known = marks.isEmpty ? "the trace has no marks" : "its marks are: " + marks.map { "\"\($0)\"" }.joined(separator: ", ")
        return "no \(moment) in the trace; \(known)"
    }
}

/// One pass over a trace that replays the heap: summary figures, per-site statistics, marks and
/// live-heap snapshots at chosen moments. Memory follows the live heap, not the trace's length.
public final class HeapReplay {
    public let reader: TraceReader
    public let request: ReplayRequest
    public private(set) var figures = SummaryFigures()
    public private(set) var sites = SiteStatistics()
    public private(set) var marks: [MarkInfo] = []
    public private(set) var snapshots: [Moment: HeapSnapshot] = [:]
    public private(set) var replaySummary = ReplaySummary()
    /// The timeline, when the request asked for one.
    public private(set) var timeline: Timeline?
    /// The blocks live now (after `run`: those never freed).
    public var heap: LiveHeap { core.heap }

    /// Events per thread index (index 0 is the recorder's own).
    public private(set) var eventsPerThread: [UInt64] = []
    /// Called now and then with the number of events replayed so far.
    public var progress: ((UInt64) -> Void)?
    /// Called once, on the replaying thread between callbacks, at the first stack definitions: by then
    /// the modules mapped at start (written before them) and the stacks of the first events are in
    /// the reader's tables (a report can start loading their debug information meanwhile).
    public var definitionsAvailable: ((TraceReader) -> Void)?

    /// The per-event state. `run` works on a local copy of it (plain values and manually managed
    /// columns: no retain/release, uniqueness or exclusivity checks per event) and stores it back.
    private var core = ReplayCore()
    private var pending: [Moment] = []
    /// The pending mark moments by label and by number: a mark finds its own in O(1) (a report asks
    /// for every mark, and a scan of the list at each mark made it quadratic).
    private var pendingByLabel: [String: [Moment]] = [:]
    private var pendingByIndex: [Int: [Moment]] = [:]
    private var survivorsFromTicks: UInt64?
    private var secondsTargets: [(Moment, UInt64)] = []  // (moment, nanoseconds since start)
    /// Marks (from the first) already moved to their heap-graph snapshot's moment.
    private var marksWithSnapshot = 0
    /// Moments taken at a mark (by its number) that its snapshot, when one follows, takes again.
    private var momentsAtMark: [Int: [Moment]] = [:]
    /// The replay stopped at `request.untilMark`: the figures are those up to that mark.
    public private(set) var stoppedAtMark = false
    private struct StopAtMark: Error {}

    public init(reader: TraceReader, request: ReplayRequest = ReplayRequest()) {
        self.reader = reader
        self.request = request
        core.trackSites = request.sites
        if reader.sampling != nil && reader.estimates {
            // a sampled trace: each block stands for its weight's worth of blocks
            core.heap.deallocate()
            core.heap = LiveHeap(weighted: true)
        }
    }

    deinit { core.deallocate() }

    /// Opens and replays `path`.
    public convenience init(path: String, request: ReplayRequest = ReplayRequest()) throws {
        self.init(reader: try TraceReader(path: path), request: request)
        try run()
    }

    /// Replays the whole trace. Throws `TraceError` for damage, `UnknownMoment` for a moment that
    /// is not in the trace.
    public func run() throws {
        pending = request.moments
        if let until = request.survivorsUntil, !pending.contains(until) { pending.append(until) }
        if let from = request.survivorsFrom, !pending.contains(from) { pending.append(from) }
        for m in pending {
            if m == .start { take(.start, ticks: reader.process?.startTicks ?? 0, heap: core.heap) }
            if case .seconds(let s) = m { secondsTargets.append((m, UInt64(s * 1e9))) }
        }
        pending.removeAll { $0 == .start }
        for m in pending {
            switch m {
            case .mark(let l): pendingByLabel[l, default: []].append(m)
            case .markIndex(let i): pendingByIndex[i, default: []].append(m)
            default: break
            }
        }
        var seen: UInt64 = 0
        var nextProgress: UInt64 = 1 << 21
        var core = self.core
        // the timeline observes the same events with its own bookkeeping (buckets, groups)
        var timelineBuilder = request.timeline.map { TimelineBuilder(target: max($0.buckets, 10), withGroups: $0.groups) }
        defer { timelineBuilder?.deallocate() }
        let reader = self.reader
        do {
            var hookCalled = false
            replaySummary = try reader.replay(records: { record in
                if case .heapSnapshot(.begin(let b)) = record, b.trigger == .mark || b.trigger == .outsideMark {
                    self.markSnapshotBegan(b, &core)
                }
                guard !hookCalled, case .stackNodes = record else { return }
                hookCalled = true
                self.definitionsAvailable?(self.reader)
            }) { batch in
                guard let events = batch.baseAddress else { return }
                let n = batch.count
                if timelineBuilder != nil {
                    for e in batch { timelineBuilder!.apply(e, reader) }
                }
                var i = 0
                while i < n {
                    if secondsTargets.isEmpty {
                        // The common case: straight through to the next mark.
                        i = core.apply(events, from: i, to: n)
                        if i == n { break }
                    } else {
                        checkSeconds(events[i].ticks, &core)
                        if core.apply(events + i) { i += 1; continue }
                    }
                    // A mark: the core has counted it; the rest needs the replay's lists.
                    markReached(events[i], &core)
                    i += 1
                    if let until = request.untilMark, marks.count >= until { throw StopAtMark() }
                }
                seen &+= UInt64(n)
                if seen >= nextProgress, let progress { progress(seen); nextProgress = seen + (1 << 21) }
            }
        } catch is StopAtMark {
            stoppedAtMark = true
        } catch {
            self.core = core
            throw error
        }
        if core.peakDirty { core.capturePeak() }
        self.core = core
        if var t = timelineBuilder {
            t.finish(endTicks: replaySummary.end?.ticks ?? 0)
            timeline = t.timeline
        }

        figures = core.figures
        figures.callsByKind = core.calls.array
        figures.leakedBlocks = core.heap.count
        figures.leakedBytes = core.heap.bytes
        figures.marks = marks.count
        sites = core.sites.statistics
        eventsPerThread = (0..<core.threads.count).map { core.threads[$0].events }
        if let end = replaySummary.end?.ticks, end > figures.lastTicks { figures.lastTicks = end }
        // a time after the last event but within the recording is the end's heap; past the end, no moment
        let endNs = reader.clock.nanosecondsSinceStart(figures.lastTicks)
        for (m, target) in secondsTargets where snapshots[m] == nil {
            guard Int64(target) <= endNs || stoppedAtMark else {
                throw UnknownMoment(moment: m, marks: marks.map(\.label), endsAt: Double(endNs) / 1e9)
            }
            take(m, ticks: figures.lastTicks, heap: core.heap)
        }
        if pending.contains(.end) { take(.end, ticks: figures.lastTicks, heap: core.heap) }
        for m in request.moments + [request.survivorsFrom, request.survivorsUntil].compactMap({ $0 })
            where snapshots[m] == nil {
            throw UnknownMoment(moment: m, marks: marks.map(\.label))
        }
    }

    /// Seconds since the recording started for a tick value.
    public func seconds(_ ticks: UInt64) -> Double { Double(nanoseconds(ticks)) / 1e9 }

    /// Nanoseconds since the recording started for a tick value.
    public func nanoseconds(_ ticks: UInt64) -> Int64 { reader.clock.nanosecondsSinceStart(ticks) }

    /// Threads of the target that made at least one event.
    public var threadCount: Int { eventsPerThread.indices.filter { $0 > 0 && eventsPerThread[$0] > 0 }.count }

    // MARK: moments

    /// A mark event (already counted by the core): note it, and take the snapshots it names.
    private func markReached(_ e: TraceEvent, _ core: inout ReplayCore) {
        let label = reader.label(of: e) ?? ""
        marks.append(MarkInfo(index: marks.count + 1, label: label, thread: e.thread, ticks: e.ticks,
                              liveBytes: core.heap.bytes, liveBlocks: core.heap.count, rssBytes: core.lastRSS))
        guard !pending.isEmpty else { return }
        let index = marks.count
        for m in (pendingByLabel[label] ?? []) + (pendingByIndex[index] ?? []) where snapshots[m] == nil {
            take(m, ticks: e.ticks, heap: core.heap)
            momentsAtMark[index, default: []].append(m)
        }
    }

    /// A mark's heap-graph snapshot began: the mark stands for that moment from now on, so that
    /// `marks`, `types --at` and the heap-graph commands give one set of figures for it (threads
    /// that allocate between the mark's event and its snapshot would otherwise make two). The
    /// marks a snapshot belongs to are those since the previous mark's snapshot (as in
    /// HeapGraphReplay); every event before the snapshot has been applied (docs/FORMAT.md).
    private func markSnapshotBegan(_ b: HeapSnapshotBegin, _ core: inout ReplayCore) {
        while marksWithSnapshot < marks.count && marks[marksWithSnapshot].ticks <= b.ticks {
            marks[marksWithSnapshot].ticks = b.ticks
            marks[marksWithSnapshot].liveBytes = core.heap.bytes
            marks[marksWithSnapshot].liveBlocks = core.heap.count
            marksWithSnapshot += 1
            for m in momentsAtMark.removeValue(forKey: marksWithSnapshot) ?? [] {
                snapshots[m] = nil
                take(m, ticks: b.ticks, heap: core.heap)
            }
        }
    }

    private func checkSeconds(_ ticks: UInt64, _ core: inout ReplayCore) {
        let ns = reader.clock.nanosecondsSinceStart(ticks)
        var i = 0
        while i < secondsTargets.count {
            let (m, target) = secondsTargets[i]
            if ns > Int64(target) && snapshots[m] == nil {
                take(m, ticks: core.figures.lastTicks, heap: core.heap)
            }
            i += 1
        }
        secondsTargets.removeAll { snapshots[$0.0] != nil }
    }

    private func take(_ m: Moment, ticks: UInt64, heap: LiveHeap) {
        if m == request.survivorsFrom { survivorsFromTicks = ticks }
        var groups: [HeapSnapshot.Key: HeapSnapshot.Tally] = [:]
        var survivors: [UInt32: HeapSnapshot.Tally] = [:]
        var byStack: [UInt32: HeapSnapshot.Tally] = [:]
        var survivorsByKey: [HeapSnapshot.Key: HeapSnapshot.Tally] = [:]
        let since = m == request.survivorsUntil ? survivorsFromTicks : nil
        var total: UInt64 = 0
        heap.forEachBlock { b, type, weight in
            total = Saturating.add(total, b.size)
            let key = HeapSnapshot.Key(type: type, stack: type != 0 ? 0 : b.stack)
            let n = Int(weight)
            // sums of sizes from the trace saturate (a crafted size of 2^63 must not wrap to 0)
            groups[key, default: .init()].blocks += n
            groups[key]!.bytes = Saturating.add(groups[key]!.bytes, b.size)
            byStack[b.stack, default: .init()].blocks += n
            byStack[b.stack]!.bytes = Saturating.add(byStack[b.stack]!.bytes, b.size)
            if let since, b.ticks > since {
                survivors[b.stack, default: .init()].blocks += n
                survivors[b.stack]!.bytes = Saturating.add(survivors[b.stack]!.bytes, b.size)
                survivorsByKey[key, default: .init()].blocks += n
                survivorsByKey[key]!.bytes = Saturating.add(survivorsByKey[key]!.bytes, b.size)
            }
        }
        snapshots[m] = HeapSnapshot(moment: m, ticks: ticks, blocks: heap.count, bytes: total,
                                    groups: groups, byStack: byStack, survivorsByStack: survivors, survivorsByKey: survivorsByKey)
    }
}

/// What the replay keeps per event: the live heap, per-site and per-thread figures, the summary
/// figures. Plain values and `Column`s only, so that `apply` on a local copy is plain loads and stores.
struct ReplayCore {
    struct ThreadState {
        var events: UInt64 = 0
        /// The address of the thread's latest allocation while that block lives and the thread has
        /// allocated nothing since (`hasLast`). Live blocks have distinct addresses: the address
        /// names the block.
        var last: UInt64 = 0
        var hasLast = false
    }

    var heap = LiveHeap()
    var sites = SiteColumns()
    var trackSites = false
    /// By thread index.
    var threads = Column<ThreadState>(capacity: 16)
    /// Calls by event kind (raw value).
    var calls = Column<UInt64>(repeating: 0, count: Int(EventKind.lastRawValue) + 1)
    /// `callsByKind` is kept in `calls` while replaying.
    var figures = SummaryFigures()
    var lastRSS: UInt64 = 0
    /// The heap reached a new peak and has not fallen since.
    var peakDirty = false

    func deallocate() {
        heap.deallocate()
        sites.deallocate()
        threads.deallocate()
        calls.deallocate()
    }

    /// Applies `events[from..<to]` up to the first mark; returns the mark's index (`to` if none).
    /// The mark itself is counted; its label and snapshots are for the caller.
    mutating func apply(_ events: UnsafePointer<TraceEvent>, from: Int, to: Int) -> Int {
        var i = from
        // A table that fits the caches gains nothing from prefetching (~10% of the replay in
        // instructions on churn's and threads' 1-2 MiB tables).
        let prefetching = heap.capacity >= ReplayCore.prefetchFrom
        while i < to {
            // Start loading what events ahead will touch, so that their misses overlap with the work
            // in between: the table entry of the one `lookahead` places on; the site of the one
            // half as far, which for a free is found in its table entry, prefetched by then.
            let far = i &+ ReplayCore.lookahead
            if prefetching && far < to { heap.prefetch(events[far].address) }
            let near = i &+ ReplayCore.lookahead / 2
            if prefetching && trackSites && near < to {
                let e = events + near
                if e.pointee.kind == .free {
                    sites.prefetch(heap.peekStack(e.pointee.address))
                } else {
                    sites.prefetch(e.pointee.stack)
                }
            }
            if !apply(events + i) { return i }
            i &+= 1
        }
        return to
    }

    /// Events between a table prefetch and its use.
    static let lookahead = 16
    /// Table entries from which the replay prefetches (4 MiB of entries).
    static let prefetchFrom = 1 << 17

    /// Applies one event; false for a mark (counted, the rest left to the caller).
    @inline(__always)
    mutating func apply(_ e: UnsafePointer<TraceEvent>) -> Bool {
        let t = Int(e.pointee.thread)
        if t >= threads.count { threads.grow(to: t + 1, filling: ThreadState()) }
        threads.base[t].events &+= 1
        let ticks = e.pointee.ticks
        if figures.firstTicks == 0 { figures.firstTicks = ticks }
        figures.lastTicks = ticks
        let kind = e.pointee.kind
        let k = Int(kind.rawValue)
        switch kind {
        case .free:
            // a sampled trace's free stands for as many frees as its block for allocations
            let n = UInt64(release(e.pointee.address, by: e.pointee.stack))
            figures.frees &+= n
            calls.base[k] &+= n
        case .malloc, .calloc, .memalign, .posixMemalign, .alignedAlloc, .valloc, .pvalloc:
            calls.base[k] &+= UInt64(e.pointee.weight)
            figures.allocationCalls &+= UInt64(e.pointee.weight)
            figures.bytesAllocated &+= e.pointee.size
            allocate(e)
        case .realloc, .reallocarray:
            // new 0 with a size: a sampled trace's sampled block reallocated into an unsampled one
            // (its call is among those the sampled reallocs stand for); realloc(p, 0) has size 0
            if e.pointee.address != 0 || e.pointee.size == 0 {
                calls.base[k] &+= UInt64(e.pointee.weight)
                figures.allocationCalls &+= UInt64(e.pointee.weight)
            }
            if e.pointee.oldAddress != 0 { release(e.pointee.oldAddress) }
            if e.pointee.address != 0 {
                figures.bytesAllocated &+= e.pointee.size
                allocate(e)
            }
        case .mark:
            return false
        case .rss:
            let size = e.pointee.size
            lastRSS = size
            if size > figures.peakRSSBytes { figures.peakRSSBytes = size; figures.peakRSSTicks = ticks }
        case .threadExit:
            break
        }
        return true
    }

    @inline(__always)
    private mutating func allocate(_ e: UnsafePointer<TraceEvent>) {
        let address = e.pointee.address
        let size = e.pointee.size
        let stack = e.pointee.stack
        let thread = e.pointee.thread
        let block = LiveHeap.Block(address: address, size: size, ticks: e.pointee.ticks, stack: stack, thread: thread)
        if let displaced = heap.add(block, type: e.pointee.typeID, weight: e.pointee.weight) { displace(displaced, at: address) }
        let owner = threads.base + Int(thread)
        owner.pointee.last = address
        owner.pointee.hasLast = true
        if trackSites {
            sites.ensure(stack)
            sites.allocated(Int(stack), size: size, blocks: e.pointee.weight)
        }
        if heap.bytes > figures.peakHeapBytes {
            figures.peakHeapBytes = heap.bytes
            figures.peakHeapTicks = e.pointee.ticks
            figures.peakHeapBlocks = heap.count
            peakDirty = true
        }
    }

    /// A block replaced by a new one at its address: a free the trace never showed.
    @inline(never)
    private mutating func displace(_ b: LiveHeap.Block, at address: UInt64) {
        if trackSites { sites.released(Int(b.stack), size: b.size, blocks: heap.removedWeight, temporary: false) }
        for t in 0..<threads.count where threads[t].hasLast && threads[t].last == address {
            threads.base[t].hasLast = false
        }
    }

    /// Returns the blocks the freed one stood for (1 for a block the trace never saw allocated).
    @discardableResult @inline(__always)
    private mutating func release(_ address: UInt64, by freeStack: UInt32 = 0) -> UInt32 {
        if peakDirty { capturePeak() }
        guard let b = heap.remove(address: address) else {
            figures.unmatchedFrees &+= 1
            return 1
        }
        let n = heap.removedWeight
        if trackSites && freeStack != 0 {
            sites.ensure(freeStack)
            sites.freed(Int(freeStack), size: b.size)
        }
        let owner = threads.base + Int(b.thread)
        let temporary = owner.pointee.hasLast && owner.pointee.last == address
        if temporary {
            figures.temporaryAllocations &+= UInt64(n)
            owner.pointee.hasLast = false
        }
        if trackSites { sites.released(Int(b.stack), size: b.size, blocks: n, temporary: temporary) }
        return n
    }

    /// The heap just stopped rising after a new peak: what each site holds now is its peak figure.
    @inline(__always)
    mutating func capturePeak() {
        if trackSites { sites.capturePeak() }
        peakDirty = false
    }
}
