import TraceFormat

/// One `heap_snapshot` record: a part of a heap-graph snapshot (docs/FORMAT.md, "Heap-graph
/// snapshots"). A snapshot is `begin`, one or more `regions`, `words` per region, then `end`.
public enum HeapSnapshotPart: Sendable, Equatable {
    case begin(HeapSnapshotBegin)
    /// The next regions of the snapshot, numbered on from those of earlier `regions` parts.
    case regions([HeapRegion])
    case words(HeapWords)
    /// Block-start words pointing into module data (C++ vtables, Swift metadata): part 4.
    case dataWords(HeapWords)
    case end(HeapSnapshotEnd)
    /// Part 5: whether the other threads were stopped for the capture.
    case world(HeapWorldStop)
    /// Part 6: a stopped thread's registers that point where blocks can lie.
    case registers(HeapThreadRegisters)
    /// Part 7: a thread's stack frames at the capture.
    case frames(HeapThreadFrames)
    /// Part 8: where each module's static TLS block lies below a thread pointer.
    case tlsLayout([HeapTLSModule])
    /// Part 9: Python type objects the scan met (Python processes).
    case pythonTypes([HeapPythonType])
    /// Part 10: built-in Python objects that are dead (free lists) or lists with their lengths.
    case pythonFacts([HeapPythonFact])
    /// Part 11: names of Python references (keys tables, str keys, modules, classes).
    case pythonNames([HeapPythonName])
}

/// A fact about one built-in Python object at a snapshot (part 10).
public struct HeapPythonFact: Sendable, Equatable {
    /// The object's address (where `ob_refcnt` is).
    public var object: UInt64
    /// Its reference count was 0: an object kept on a free list for reuse, whose words are stale.
    public var dead: Bool
    /// A list's `ob_size` (0 for other types).
    public var length: UInt64

    public init(object: UInt64, dead: Bool, length: UInt64) {
        self.object = object
        self.dead = dead
        self.length = length
    }
}

/// A Python type object at a snapshot: a class or a built-in type.
public struct HeapPythonType: Sendable, Equatable {
    /// The type object's address (a class's block starts 16 bytes before: its GC header).
    public var address: UInt64
    /// `tp_flags`.
    public var flags: UInt64
    /// `tp_name`: `MyBigFatObject`, `list`, `collections.OrderedDict`.
    public var name: String

    public init(address: UInt64, flags: UInt64, name: String) {
        self.address = address
        self.flags = flags
        self.name = name
    }

    /// Py_TPFLAGS_HAVE_GC: its objects start after a 16-byte GC header.
    public var isGC: Bool { flags & (1 << 14) != 0 }
    /// Py_TPFLAGS_HEAPTYPE: a class made at run time (its object is a heap block).
    public var isHeapType: Bool { flags & (1 << 9) != 0 }
    /// Where an object of this type starts in its malloc'd block on CPython 3.`minor`: after the
    /// pre-header (managed dict and values / weakref pointers, 16 bytes) and the GC header.
    public func objectOffset(minor: Int) -> UInt64 {
        let managedDict: UInt64 = 1 << 4, managedWeakref: UInt64 = 1 << 3
        let preHeader = minor >= 12 ? flags & (managedDict | managedWeakref) != 0 : flags & managedDict != 0
        return (preHeader ? 16 : 0) + (isGC ? 16 : 0)
    }
}

/// A module's static TLS block: `offset` bytes below the thread pointer, `size` bytes long.
public struct HeapTLSModule: Sendable, Equatable {
    public var moduleID: UInt64
    public var offset: UInt64
    public var size: UInt64

    public init(moduleID: UInt64, offset: UInt64, size: UInt64) {
        self.moduleID = moduleID
        self.offset = offset
        self.size = size
    }
}

/// Part 5: the stop of every other thread (docs/FORMAT.md): `reason` 0 when they were stopped.
public struct HeapWorldStop: Sendable, Equatable {
    public var reason: UInt8
    public var error: UInt64
    public var threadsStopped: UInt64
    public var stopNanoseconds: UInt64

    public var stopped: Bool { reason == HeapWorldStopReason.stopped.rawValue }

    /// Why the threads were not stopped; nil for a reason of a later recorder.
    public var reasonKind: HeapWorldStopReason? { HeapWorldStopReason(rawValue: reason) }

    /// Why the threads were not stopped, in words.
    public var reasonName: String { reasonKind?.name ?? "reason \(reason)" }

    /// The reason as one word: `ptrace_refused`, `timeout`, `disabled`.
    public var reasonKey: String { reasonKind?.key ?? "reason_\(reason)" }

    public init(reason: UInt8, error: UInt64, threadsStopped: UInt64, stopNanoseconds: UInt64) {
        self.reason = reason
        self.error = error
        self.threadsStopped = threadsStopped
        self.stopNanoseconds = stopNanoseconds
    }
}

/// Part 6: one stopped thread's stack pointer and its registers that point where blocks can lie.
public struct HeapThreadRegisters: Sendable, Equatable {
    public var tid: UInt32
    /// 0: the thread has no slot (it never allocated).
    public var threadIndex: UInt32
    public var stackPointer: UInt64
    /// `HeapRegisterNumber`s.
    public var numbers: [UInt8]
    public var values: [UInt64]

    public init(tid: UInt32, threadIndex: UInt32, stackPointer: UInt64, numbers: [UInt8], values: [UInt64]) {
        self.tid = tid
        self.threadIndex = threadIndex
        self.stackPointer = stackPointer
        self.numbers = numbers
        self.values = values
    }
}

/// Part 7: a thread's frames, innermost first: frame k's code address and the lowest stack address
/// of its frame (frame 0: the stack pointer; frame k > 0: where its return address is stored).
public struct HeapThreadFrames: Sendable, Equatable {
    public var tid: UInt32
    public var threadIndex: UInt32
    public var pcs: [UInt64]
    public var slots: [UInt64]
    /// Frame 0's pc is a return address too (the capturing thread's frames start above the
    /// recorder's); otherwise it is the instruction the thread was stopped at.
    public var firstIsReturnAddress: Bool

    public init(tid: UInt32, threadIndex: UInt32, pcs: [UInt64], slots: [UInt64], firstIsReturnAddress: Bool) {
        self.tid = tid
        self.threadIndex = threadIndex
        self.pcs = pcs
        self.slots = slots
        self.firstIsReturnAddress = firstIsReturnAddress
    }
}

/// Part 0: the snapshot's id (from 1), its ticks, what triggered it, the capturing thread (0: the recorder's).
public struct HeapSnapshotBegin: Sendable, Equatable {
    public var snapshotID: UInt64
    public var ticks: UInt64
    public var triggerRaw: UInt8
    public var threadIndex: UInt32

    public var trigger: HeapSnapshotTrigger? { HeapSnapshotTrigger(rawValue: triggerRaw) }

    public init(snapshotID: UInt64, ticks: UInt64, triggerRaw: UInt8, threadIndex: UInt32) {
        self.snapshotID = snapshotID
        self.ticks = ticks
        self.triggerRaw = triggerRaw
        self.threadIndex = threadIndex
    }
}

/// One scanned region `[start, end)`.
public struct HeapRegion: Sendable, Equatable {
    public var start: UInt64
    public var end: UInt64
    public var kindRaw: UInt8
    public var owner: UInt64

    public var kind: HeapRegionKind? { HeapRegionKind(rawValue: kindRaw) }

    public init(start: UInt64, end: UInt64, kindRaw: UInt8, owner: UInt64) {
        self.start = start
        self.end = end
        self.kindRaw = kindRaw
        self.owner = owner
    }
}

/// Part 2: words of one region whose values point where heap blocks can lie. Word `i` lies at
/// `region.start + offsets[i]` and holds `values[i]` (offsets ascend).
public struct HeapWords: Sendable, Equatable {
    public var regionIndex: UInt32
    public var offsets: [UInt64]
    public var values: [UInt64]

    public init(regionIndex: UInt32, offsets: [UInt64], values: [UInt64]) {
        self.regionIndex = regionIndex
        self.offsets = offsets
        self.values = values
    }

    public var count: Int { offsets.count }
}

/// Part 3: the end of a snapshot, with what the capture cost.
public struct HeapSnapshotEnd: Sendable, Equatable {
    public var snapshotID: UInt64
    public var bytesScanned: UInt64
    public var wordsWritten: UInt64
    public var durationNanoseconds: UInt64

    public init(snapshotID: UInt64, bytesScanned: UInt64, wordsWritten: UInt64, durationNanoseconds: UInt64) {
        self.snapshotID = snapshotID
        self.bytesScanned = bytesScanned
        self.wordsWritten = wordsWritten
        self.durationNanoseconds = durationNanoseconds
    }
}

extension HeapSnapshotPart {
    /// Parses a `heap_snapshot` payload; nil for a part number this reader does not know (the
    /// record is then skipped like an unknown record kind).
    static func parse(_ c: inout ByteCursor) throws(FieldError) -> HeapSnapshotPart? {
        var peek = c
        guard let part = HeapSnapshotPartKind(rawValue: try peek.u8()) else { return nil }
        switch part {
        case .begin:
            c = peek
            let id = try c.varint()
            let ticks = try c.varint()
            let trigger = try c.u8()
            let thread = try c.id32("thread index")
            return .begin(HeapSnapshotBegin(snapshotID: id, ticks: ticks, triggerRaw: trigger, threadIndex: thread))
        case .regions:
            c = peek
            let count = try c.varint()
            // every region takes at least 4 bytes: a count beyond that is a short payload
            guard count <= UInt64(c.remaining / 4) else { throw .short }
            var regions: [HeapRegion] = []
            regions.reserveCapacity(Int(count))
            for _ in 0..<count {
                let start = try c.varint()
                let end = try c.varint()
                let kind = try c.u8()
                let owner = try c.varint()
                guard end >= start else { throw .impossible("region [0x\(String(start, radix: 16)), 0x\(String(end, radix: 16))) ends before it starts") }
                regions.append(HeapRegion(start: start, end: end, kindRaw: kind, owner: owner))
            }
            return .regions(regions)
        case .words:
            c = peek
            return .words(try HeapWords.parse(&c))
        case .dataWords:
            c = peek
            return .dataWords(try HeapWords.parse(&c))
        case .end:
            c = peek
            let id = try c.varint()
            let scanned = try c.varint()
            let written = try c.varint()
            let duration = try c.varint()
            return .end(HeapSnapshotEnd(snapshotID: id, bytesScanned: scanned, wordsWritten: written,
                                        durationNanoseconds: duration))
        case .world:
            c = peek
            let reason = try c.u8()
            let error = try c.varint()
            let threads = try c.varint()
            let ns = try c.varint()
            return .world(HeapWorldStop(reason: reason, error: error, threadsStopped: threads, stopNanoseconds: ns))
        case .registers:
            c = peek
            let tid = try c.id32("tid")
            let index = try c.id32("thread index")
            let sp = try c.varint()
            let count = try c.varint()
            guard count <= UInt64(c.remaining / 2) else { throw .short }
            var numbers: [UInt8] = [], values: [UInt64] = []
            var value: UInt64 = 0
            for _ in 0..<count {
                numbers.append(try c.u8())
                let v = try c.varint()
                var low: UInt8 = 0
                if v & 1 != 0 { low = try c.u8() }
                value = value &+ UInt64(bitPattern: AddressDelta.delta(v, low: low))
                values.append(value)
            }
            return .registers(HeapThreadRegisters(tid: tid, threadIndex: index, stackPointer: sp, numbers: numbers, values: values))
        case .frames:
            c = peek
            let tid = try c.id32("tid")
            let index = try c.id32("thread index")
            let flags = try c.u8()
            let count = try c.varint()
            guard count <= UInt64(c.remaining / 2) else { throw .short }
            var pcs: [UInt64] = [], slots: [UInt64] = []
            for _ in 0..<count {
                pcs.append(try c.varint())
                slots.append(try c.varint())
            }
            return .frames(HeapThreadFrames(tid: tid, threadIndex: index, pcs: pcs, slots: slots, firstIsReturnAddress: flags & HeapFramesFlags.firstIsReturnAddress != 0))
        case .tlsLayout:
            c = peek
            let count = try c.varint()
            guard count <= UInt64(c.remaining / 3) else { throw .short }
            var modules: [HeapTLSModule] = []
            for _ in 0..<count {
                modules.append(HeapTLSModule(moduleID: try c.varint(), offset: try c.varint(), size: try c.varint()))
            }
            return .tlsLayout(modules)
        case .pythonTypes:
            c = peek
            let count = try c.varint()
            guard count <= UInt64(c.remaining / 3) else { throw .short }
            var types: [HeapPythonType] = []
            for _ in 0..<count {
                types.append(HeapPythonType(address: try c.varint(), flags: try c.varint(), name: try c.string()))
            }
            return .pythonTypes(types)
        case .pythonFacts:
            c = peek
            let count = try c.varint()
            guard count <= UInt64(c.remaining / 3) else { throw .short }
            var facts: [HeapPythonFact] = []
            facts.reserveCapacity(Int(count))
            var object: UInt64 = 0
            for _ in 0..<count {
                let v = try c.varint()
                var low: UInt8 = 0
                if v & 1 != 0 { low = try c.u8() }
                object = object &+ UInt64(bitPattern: AddressDelta.delta(v, low: low))
                facts.append(HeapPythonFact(object: object, dead: try c.varint() != 0, length: try c.varint()))
            }
            return .pythonFacts(facts)
        case .pythonNames:
            c = peek
            return .pythonNames(try HeapPythonName.parseAll(&c))
        }
    }
}

extension HeapWords {
    /// The shared body of parts 2 and 4: a region index and its words.
    static func parse(_ c: inout ByteCursor) throws(FieldError) -> HeapWords {
        let region = try c.id32("region index")
        let count = try c.varint()
        // every word takes at least 2 bytes
        guard count <= UInt64(c.remaining / 2) else { throw .short }
        var offsets: [UInt64] = []
        var values: [UInt64] = []
        offsets.reserveCapacity(Int(count))
        values.reserveCapacity(Int(count))
        var offset: UInt64 = 0
        var value: UInt64 = 0
        for _ in 0..<count {
            let step = try c.varint()
            let (bytes, o1) = step.multipliedReportingOverflow(by: 8)
            let (next, o2) = offset.addingReportingOverflow(bytes)
            guard !o1 && !o2 else { throw .impossible("a word's address does not fit 64 bits") }
            offset = next
            let v = try c.varint()
            var low: UInt8 = 0
            if v & 1 != 0 { low = try c.u8() }
            value = value &+ UInt64(bitPattern: AddressDelta.delta(v, low: low))
            offsets.append(offset)
            values.append(value)
        }
        return HeapWords(regionIndex: region, offsets: offsets, values: values)
    }
}
