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
    public var description: String {
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
    public private(set) var heap = LiveHeap()

    private var lastAllocation: [Int32] = []    // per thread: slot of its latest allocation, or -1
    /// Events per thread index (index 0 is the recorder's own).
    public private(set) var eventsPerThread: [UInt64] = []
    /// Called now and then with the number of events replayed so far.
    public var progress: ((UInt64) -> Void)?
    private var lastRSS: UInt64 = 0
    private var peakDirty = false
    private var pending: [Moment] = []
    private var survivorsFromTicks: UInt64?
    private var secondsTargets: [(Moment, UInt64)] = []  // (moment, nanoseconds since start)

    public init(reader: TraceReader, request: ReplayRequest = ReplayRequest()) {
        self.reader = reader
        self.request = request
    }

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
            if m == .start { take(.start, ticks: reader.process?.startTicks ?? 0) }
            if case .seconds(let s) = m { secondsTargets.append((m, UInt64(s * 1e9))) }
        }
        pending.removeAll { $0 == .start }
        let trackSites = request.sites
        var seen: UInt64 = 0
        var nextProgress: UInt64 = 1 << 21
        replaySummary = try reader.replay { batch in
            for e in batch {
                let t = Int(e.thread)
                if t >= eventsPerThread.count { eventsPerThread.append(contentsOf: repeatElement(0, count: t + 1 - eventsPerThread.count)) }
                eventsPerThread[t] &+= 1
                apply(e, trackSites: trackSites)
            }
            seen &+= UInt64(batch.count)
            if seen >= nextProgress, let progress { progress(seen); nextProgress = seen + (1 << 21) }
        }
        if peakDirty { capturePeak() }
        figures.leakedBlocks = heap.count
        figures.leakedBytes = heap.bytes
        figures.marks = marks.count
        if let end = replaySummary.end?.ticks, end > figures.lastTicks { figures.lastTicks = end }
        for (m, _) in secondsTargets where snapshots[m] == nil { take(m, ticks: figures.lastTicks) }
        if pending.contains(.end) { take(.end, ticks: figures.lastTicks) }
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

    // MARK: applying events

    @inline(__always)
    private func apply(_ e: TraceEvent, trackSites: Bool) {
        if !secondsTargets.isEmpty { checkSeconds(e.ticks) }
        if figures.firstTicks == 0 { figures.firstTicks = e.ticks }
        figures.lastTicks = e.ticks
        switch e.kind {
        case .free:
            figures.frees &+= 1
            figures.callsByKind[Int(EventKind.free.rawValue)] &+= 1
            release(e.address, trackSites: trackSites)
        case .realloc, .reallocarray:
            figures.callsByKind[Int(e.kind.rawValue)] &+= 1
            figures.allocationCalls &+= 1
            if e.oldAddress != 0 { release(e.oldAddress, trackSites: trackSites) }
            if e.address != 0 {
                figures.bytesAllocated &+= e.size
                allocate(e, trackSites: trackSites)
            }
        case .mark:
            let label = reader.label(of: e) ?? ""
            marks.append(MarkInfo(index: marks.count + 1, label: label, thread: e.thread, ticks: e.ticks,
                                  liveBytes: heap.bytes, liveBlocks: heap.count, rssBytes: lastRSS))
            if !pending.isEmpty { markReached(label, index: marks.count, ticks: e.ticks) }
        case .rss:
            lastRSS = e.size
            if e.size > figures.peakRSSBytes { figures.peakRSSBytes = e.size; figures.peakRSSTicks = e.ticks }
        case .threadExit:
            break
        default:
            figures.callsByKind[Int(e.kind.rawValue)] &+= 1
            figures.allocationCalls &+= 1
            figures.bytesAllocated &+= e.size
            allocate(e, trackSites: trackSites)
        }
    }

    @inline(__always)
    private func allocate(_ e: TraceEvent, trackSites: Bool) {
        let (slot, displaced) = heap.add(address: e.address, size: e.size, stack: e.stack, type: e.typeID,
                                         thread: e.thread, ticks: e.ticks)
        if displaced >= 0 {
            // a free the trace never showed: the old block is gone
            if trackSites { siteReleased(Int(displaced)) }
            forgetLastAllocation(displaced)
        }
        let t = Int(e.thread)
        if t >= lastAllocation.count { lastAllocation.append(contentsOf: repeatElement(-1, count: t + 1 - lastAllocation.count)) }
        lastAllocation[t] = slot
        if trackSites {
            sites.ensure(e.stack)
            let s = Int(e.stack)
            sites.allocations[s] &+= 1
            sites.bytes[s] &+= e.size
            sites.liveBytes[s] &+= e.size
            sites.liveBlocks[s] &+= 1
        }
        if heap.bytes > figures.peakHeapBytes {
            figures.peakHeapBytes = heap.bytes
            figures.peakHeapTicks = e.ticks
            figures.peakHeapBlocks = heap.count
            peakDirty = true
        }
    }

    @inline(__always)
    private func release(_ address: UInt64, trackSites: Bool) {
        if peakDirty && trackSites { capturePeak() }
        peakDirty = false
        let slot = heap.remove(address: address)
        if slot < 0 {
            figures.unmatchedFrees &+= 1
            return
        }
        let i = Int(slot)
        let t = Int(heap.thread[i])
        let temporary = t < lastAllocation.count && lastAllocation[t] == slot
        if temporary {
            figures.temporaryAllocations &+= 1
            lastAllocation[t] = -1
        }
        if trackSites {
            siteReleased(i)
            if temporary { sites.temporary[Int(heap.stack[i])] &+= 1 }
        }
    }

    @inline(__always)
    private func siteReleased(_ i: Int) {
        let s = Int(heap.stack[i])
        sites.liveBytes[s] &-= heap.size[i]
        sites.liveBlocks[s] &-= 1
    }

    private func forgetLastAllocation(_ slot: Int32) {
        for t in 0..<lastAllocation.count where lastAllocation[t] == slot { lastAllocation[t] = -1 }
    }

    /// The heap just stopped rising after a new peak: remember what each site held.
    private func capturePeak() {
        sites.peakBytes = sites.liveBytes
        peakDirty = false
    }

    // MARK: moments

    private func markReached(_ label: String, index: Int, ticks: UInt64) {
        for m in pending where snapshots[m] == nil {
            switch m {
            case .mark(let l) where l == label: take(m, ticks: ticks)
            case .markIndex(let i) where i == index: take(m, ticks: ticks)
            default: break
            }
        }
    }

    private func checkSeconds(_ ticks: UInt64) {
        let ns = reader.clock.nanosecondsSinceStart(ticks)
        var i = 0
        while i < secondsTargets.count {
            let (m, target) = secondsTargets[i]
            if ns > Int64(target) && snapshots[m] == nil {
                take(m, ticks: figures.lastTicks)
            }
            i += 1
        }
        secondsTargets.removeAll { snapshots[$0.0] != nil }
    }

    private func take(_ m: Moment, ticks: UInt64) {
        if m == request.survivorsFrom { survivorsFromTicks = ticks }
        var groups: [HeapSnapshot.Key: HeapSnapshot.Tally] = [:]
        var survivors: [UInt32: HeapSnapshot.Tally] = [:]
        var byStack: [UInt32: HeapSnapshot.Tally] = [:]
        var survivorsByKey: [HeapSnapshot.Key: HeapSnapshot.Tally] = [:]
        let since = m == request.survivorsUntil ? survivorsFromTicks : nil
        heap.forEachSlot { i in
            let type = heap.type[i]
            let key = HeapSnapshot.Key(type: type, stack: type != 0 ? 0 : heap.stack[i])
            groups[key, default: .init()].blocks += 1
            groups[key, default: .init()].bytes &+= heap.size[i]
            byStack[heap.stack[i], default: .init()].blocks += 1
            byStack[heap.stack[i], default: .init()].bytes &+= heap.size[i]
            if let since, heap.ticks[i] > since {
                survivors[heap.stack[i], default: .init()].blocks += 1
                survivors[heap.stack[i], default: .init()].bytes &+= heap.size[i]
                survivorsByKey[key, default: .init()].blocks += 1
                survivorsByKey[key, default: .init()].bytes &+= heap.size[i]
            }
        }
        snapshots[m] = HeapSnapshot(moment: m, ticks: ticks, blocks: heap.count, bytes: heap.bytes,
                                    groups: groups, byStack: byStack, survivorsByStack: survivors, survivorsByKey: survivorsByKey)
    }
}
