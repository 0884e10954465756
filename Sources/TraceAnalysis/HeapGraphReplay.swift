import TraceFormat
import TraceReader

/// One heap-graph snapshot of a trace, as the replay met it.
public struct HeapSnapshotInfo: Sendable {
    public var id: UInt64
    public var ticks: UInt64
    public var trigger: HeapSnapshotTrigger?
    /// The capturing thread (0: the recorder's writer).
    public var threadIndex: UInt32
    /// The marks (numbered from 1) this snapshot belongs to: those whose ticks come before it and
    /// after the previous snapshot of a mark.
    public var marks: [Int] = []
    public var regions = 0
    public var words = 0
    public var bytesScanned: UInt64 = 0
    public var wordsWritten: UInt64 = 0
    public var durationNanoseconds: UInt64 = 0
    /// Whether the other threads were stopped (nil: the recorder did not say).
    public var world: HeapWorldStop?
    /// Live blocks at the snapshot.
    public var liveBlocks = 0
    public var liveBytes: UInt64 = 0
}

/// Why no graph could be built for a moment.
public enum HeapGraphError: Error, CustomStringConvertible {
    case noSnapshots
    /// No snapshot, and the trace has no `end` record: the program died before it exited (SIGKILL,
    /// a crash the recorder could not see), so the exit's snapshot was never taken.
    case diedBeforeExit
    case unsupportedMoment(Moment)
    case unknownMark(Moment, marks: [String])
    case noSnapshotAtMark(Moment, label: String, snapshotMarks: [String])
    /// A sampled trace: its events know only the sampled blocks.
    case sampled(meanBytes: UInt64)

    public var description: String {
        switch self {
        case .noSnapshots:
            return "the trace has no heap-graph snapshot; record with ALLOCTRACE_HEAP_GRAPH=marks,exit (the default)"
        case .diedBeforeExit:
            return "the trace has no heap-graph snapshot: the program died before it exited (no end record: SIGKILL?),"
                + " so no exit snapshot was taken; for one while it runs: alloctrace_mark or `alloctrace mark PID`"
        case .unsupportedMoment(let m):
            return "heap-graph snapshots are taken at marks and at exit: --at takes a mark's label, #N or end, not \(m)"
        case let .unknownMark(m, marks):
            let known = marks.isEmpty ? "the trace has no marks" : "its marks are: " + marks.map { "\"\($0)\"" }.joined(separator: ", ")
            return "no \(m) in the trace; \(known)"
        case let .noSnapshotAtMark(m, label, snapshotMarks):
            let known = snapshotMarks.isEmpty ? "only the exit has one (--at end)"
                : "marks with one: " + snapshotMarks.map { "\"\($0)\"" }.joined(separator: ", ")
            let named: String
            if case .markIndex = m { named = "\(m) (\"\(label)\")" } else { named = m.description }
            return "no heap-graph snapshot at \(named); \(known)"
        case .sampled(let r):
            // the snapshot holds every pointer word, but where blocks begin and end, which is what
            // makes words edges or roots, comes from the events: a sampled trace has 1 block in many
            return "this trace was sampled (one in \(r) bytes, record --sample-bytes): the heap graph needs every live block's bounds, which only a full trace has; record without --sample-bytes for leaks, cycles, chains and retained"
        }
    }
}

/// A pass over a trace that builds the heap graph of one snapshot (`--at`): a mark's (the first
/// snapshot after the mark, taken at a mark) or, for `end`, the exit's (else the last one).
///
/// It keeps the live blocks from the events; every event before a snapshot is delivered before
/// its records and none after (docs/FORMAT.md), so at a snapshot's end record the live blocks are
/// those the snapshot saw. For a mark the replay stops once its snapshot is read.
public final class HeapGraphReplay {
    public let reader: TraceReader
    public let moment: Moment
    public private(set) var graph: HeapGraph?
    /// The snapshot the graph is of.
    public private(set) var chosen: HeapSnapshotInfo?
    /// Every complete snapshot read (all of the trace's unless the replay stopped at a mark's).
    public private(set) var snapshots: [HeapSnapshotInfo] = []
    /// Marks read: label and ticks, in order (numbered from 1).
    public private(set) var marks: [(label: String, ticks: UInt64)] = []
    /// Nil when the replay stopped early, at the requested mark's snapshot.
    public private(set) var replaySummary: ReplaySummary?

    /// A snapshot's live blocks, by address.
    private struct Blocks {
        var addresses: [UInt64] = [], sizes: [UInt64] = [], types: [UInt32] = [], stacks: [UInt32] = []
    }

    private struct Collecting {
        var info: HeapSnapshotInfo
        var begin: HeapSnapshotBegin
        var wanted: Bool
        var regions: [HeapRegion] = []
        var words: [(region: Int, offsets: [UInt64], values: [UInt64])] = []
        var dataWords: [(region: Int, offsets: [UInt64], values: [UInt64])] = []
        var world: HeapWorldStop?
        var registers: [HeapThreadRegisters] = []
        var frames: [HeapThreadFrames] = []
        var tls: [HeapTLSModule] = []
        var pythonTypes: [HeapPythonType] = []
        var pythonFacts: [HeapPythonFact] = []
        var pythonNames: [HeapPythonName] = []
    }

    /// The live blocks (the replay's open-addressing table, not a dictionary: a hash per event
    /// was a third of `leaks`), behind a pointer: per-event access to a class's stored property
    /// pays an exclusivity check.
    private let live: UnsafeMutablePointer<LiveHeap> = {
        let p = UnsafeMutablePointer<LiveHeap>.allocate(capacity: 1)
        p.initialize(to: LiveHeap())
        return p
    }()
    private var collecting: Collecting?
    /// Marks up to this count belong to a snapshot already.
    private var marksAssigned = 0
    /// The mark the moment names, once met.
    private var targetMark: Int?
    private var pending: (Collecting, Blocks, HeapSnapshotEnd)?

    private struct Stop: Error {}

    public init(reader: TraceReader, at moment: Moment) {
        self.reader = reader
        self.moment = moment
    }

    deinit {
        live.pointee.deallocate()
        live.deinitialize(count: 1)
        live.deallocate()
    }

    /// Replays the trace. Throws `TraceError` for damage, `HeapGraphError` when there is no
    /// snapshot for the moment.
    public func run() throws {
        if let sampling = reader.sampling { throw HeapGraphError.sampled(meanBytes: sampling.meanBytes) }
        switch moment {
        case .start, .seconds: throw HeapGraphError.unsupportedMoment(moment)
        default: break
        }
        do {
            replaySummary = try reader.replay(records: { record in
                guard case let .heapSnapshot(part) = record else { return }
                try self.snapshotPart(part)
            }, events: { batch in
                for e in batch { self.apply(e) }
            })
        } catch is Stop {
            replaySummary = nil
        }
        if graph == nil, let (c, blocks, end) = pending {
            build(c, blocks, end)
        }
        if graph == nil {
            if snapshots.isEmpty && collecting == nil {
                throw replaySummary?.complete == false ? HeapGraphError.diedBeforeExit : HeapGraphError.noSnapshots
            }
            switch moment {
            case .mark(let label):
                guard let i = marks.firstIndex(where: { $0.label == label }) else {
                    throw HeapGraphError.unknownMark(moment, marks: marks.map(\.label))
                }
                throw HeapGraphError.noSnapshotAtMark(moment, label: marks[i].label, snapshotMarks: snapshotMarkLabels)
            case .markIndex(let n):
                guard n <= marks.count else { throw HeapGraphError.unknownMark(moment, marks: marks.map(\.label)) }
                throw HeapGraphError.noSnapshotAtMark(moment, label: marks[n - 1].label, snapshotMarks: snapshotMarkLabels)
            default:
                throw HeapGraphError.noSnapshots
            }
        }
    }

    private var snapshotMarkLabels: [String] {
        snapshots.flatMap { $0.marks.map { marks[$0 - 1].label } }
    }

    /// Nanoseconds since the recording started for a tick value.
    public func nanoseconds(_ ticks: UInt64) -> Int64 { reader.clock.nanosecondsSinceStart(ticks) }

    /// What the moment is called in reports: `mark "graph"`, `end (exit)`.
    public var momentDescription: String {
        guard let chosen else { return moment.description }
        if case .end = moment {
            return chosen.trigger == .exit ? "exit" : "end (the last snapshot, #\(chosen.id))"
        }
        return moment.description
    }

    // MARK: events

    @inline(__always)
    private func apply(_ e: TraceEvent) {
        switch e.kind {
        case .free:
            _ = live.pointee.remove(address: e.address)
        case .realloc, .reallocarray:
            if e.oldAddress != 0 { _ = live.pointee.remove(address: e.oldAddress) }
            if e.address != 0 { add(e) }
        case .mark:
            marks.append((reader.label(of: e) ?? "", e.ticks))
            switch moment {
            case .mark(let label) where targetMark == nil && marks[marks.count - 1].label == label:
                targetMark = marks.count
            case .markIndex(let n) where n == marks.count:
                targetMark = n
            default: break
            }
        case .rss, .threadExit:
            break
        case .malloc, .calloc, .memalign, .posixMemalign, .alignedAlloc, .valloc, .pvalloc:
            add(e)
        }
    }

    @inline(__always)
    private func add(_ e: TraceEvent) {
        _ = live.pointee.add(LiveHeap.Block(address: e.address, size: e.size, ticks: 0, stack: e.stack, thread: 0), type: e.typeID)
    }

    // MARK: snapshots

    private func snapshotPart(_ part: HeapSnapshotPart) throws {
        switch part {
        case .begin(let b):
            var info = HeapSnapshotInfo(id: b.snapshotID, ticks: b.ticks, trigger: b.trigger, threadIndex: b.threadIndex)
            if b.trigger == .mark || b.trigger == .outsideMark {
                while marksAssigned < marks.count && marks[marksAssigned].ticks <= b.ticks {
                    marksAssigned += 1
                    info.marks.append(marksAssigned)
                }
            }
            let wanted: Bool
            switch moment {
            case .end: wanted = true
            default: wanted = targetMark.map { info.marks.contains($0) } ?? false
            }
            info.liveBlocks = live.pointee.count
            info.liveBytes = live.pointee.bytes
            collecting = Collecting(info: info, begin: b, wanted: wanted)
        case .regions(let r):
            collecting?.info.regions += r.count
            if collecting?.wanted == true { collecting?.regions += r }
        case .words(let w):
            collecting?.info.words += w.count
            if collecting?.wanted == true {
                collecting?.words.append((Int(w.regionIndex), w.offsets, w.values))
            }
        case .dataWords(let w):
            if collecting?.wanted == true {
                collecting?.dataWords.append((Int(w.regionIndex), w.offsets, w.values))
            }
        case .world(let w):
            collecting?.info.world = w
            if collecting?.wanted == true { collecting?.world = w }
        case .registers(let r):
            if collecting?.wanted == true { collecting?.registers.append(r) }
        case .frames(let f):
            if collecting?.wanted == true { collecting?.frames.append(f) }
        case .tlsLayout(let m):
            if collecting?.wanted == true { collecting?.tls += m }
        case .pythonTypes(let t):
            if collecting?.wanted == true { collecting?.pythonTypes += t }
        case .pythonFacts(let f):
            if collecting?.wanted == true { collecting?.pythonFacts += f }
        case .pythonNames(let n):
            if collecting?.wanted == true { collecting?.pythonNames += n }
        case .end(let e):
            guard var c = collecting, c.begin.snapshotID == e.snapshotID else { collecting = nil; return }
            collecting = nil
            c.info.bytesScanned = e.bytesScanned
            c.info.wordsWritten = e.wordsWritten
            c.info.durationNanoseconds = e.durationNanoseconds
            snapshots.append(c.info)
            guard c.wanted else { return }
            if case .end = moment {
                pending = (c, liveBlocks(), e)   // the replay goes on: the latest one is built at the end
            } else {
                build(c, liveBlocks(), e)
                throw Stop()
            }
        }
    }

    /// The live blocks now, by address.
    private func liveBlocks() -> Blocks {
        var all: [(address: UInt64, size: UInt64, type: UInt32, stack: UInt32)] = []
        all.reserveCapacity(live.pointee.count)
        live.pointee.forEachBlock { b, type, _ in all.append((b.address, b.size, type, b.stack)) }
        all.sort { $0.address < $1.address }
        var blocks = Blocks()
        blocks.addresses = all.map(\.address)
        blocks.sizes = all.map(\.size)
        blocks.types = all.map(\.type)
        blocks.stacks = all.map(\.stack)
        return blocks
    }

    private func build(_ c: Collecting, _ blocks: Blocks, _ end: HeapSnapshotEnd) {
        let (addresses, sizes, types, stacks) = (blocks.addresses, blocks.sizes, blocks.types, blocks.stacks)
        let types_ = reader.types
        graph = HeapGraph(begin: c.begin, end: end, regions: c.regions, words: c.words,
                          blocks: (addresses, sizes, types, stacks), layout: { types_.layout(of: $0) })
        graph?.noteFirstWords(c.dataWords)
        if !c.pythonTypes.isEmpty, var g = graph {
            // a Python heap: pointers to an object's GC header are the collector's lists, no
            // references (through them every tracked object would hold the next); built again without
            let minor = Int((reader.interpreter?.versionHex ?? 0) >> 16 & 0xFF)
            g.notePythonTypes(c.pythonTypes, facts: c.pythonFacts, minor: minor, dataWords: c.dataWords)
            let gcHeaders = PythonObjects(graph: g, minor: minor).gcHeaderOffsets(count: g.nodeCount)
            graph = HeapGraph(begin: c.begin, end: end, regions: c.regions, words: c.words,
                              blocks: (addresses, sizes, types, stacks), layout: { types_.layout(of: $0) },
                              gcHeaders: gcHeaders)
            graph?.noteFirstWords(c.dataWords)
            graph?.notePythonTypes(c.pythonTypes, facts: c.pythonFacts, minor: minor, dataWords: c.dataWords)
            graph?.pythonNames = PythonNames(c.pythonNames)
        }
        graph?.world = c.world
        graph?.threadFrames = c.frames
        graph?.tlsModules = c.tls
        graph?.addRegisterRoots(c.registers)
        chosen = snapshots.last { $0.id == c.begin.snapshotID }
    }
}
