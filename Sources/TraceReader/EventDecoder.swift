import TraceFormat

/// Why an event inside a chunk could not be decoded.
enum EventError: Error {
    /// The chunk ends inside this event's fields.
    case truncated(kind: UInt8)
    case unknownKind(UInt8)
    case malformedVarint(kind: UInt8)
    case impossible(String)

    var message: String {
        switch self {
        case let .truncated(kind): return "an event (kind \(kind)) is cut off by the end of its chunk"
        case let .unknownKind(kind): return "unknown event kind \(kind)"
        case let .malformedVarint(kind): return "an event (kind \(kind)) has a varint longer than 64 bits"
        case let .impossible(what): return what
        }
    }
}

/// Reads one event's fields, front to back. With `checked`, every read is checked against the end
/// of the chunk; without, the caller has made sure that at least `EventDecoder.fastMargin` bytes
/// follow the event's start, which no event reaches (but a mark, whose label is checked), and
/// varints are read eight bytes at a time. `checked` is a constant at each (inlined) use, so each
/// use compiles to one of the two readers; the event layout is written once (`EventDecoder.decode`).
struct EventFields {
    var q: UnsafePointer<UInt8>
    /// The end of the chunk.
    let end: UnsafePointer<UInt8>
    /// The event's kind byte, for error messages.
    let kind: UInt8
    let checked: Bool

    /// A varint, most likely one byte long (`dt`, lengths).
    @inline(__always)
    mutating func unsigned() throws(EventError) -> UInt64 {
        if checked { return try checkedVarint() }
        let x = UInt64(littleEndian: UnsafeRawPointer(q).loadUnaligned(as: UInt64.self))
        if x & 0x80 == 0 {
            q += 1
            return x & 0x7F
        }
        return try wide(x)
    }

    /// A varint of any length, read without a branch on its length when unchecked (addresses, sizes
    /// and stack deltas, whose lengths vary unpredictably).
    @inline(__always)
    mutating func wide() throws(EventError) -> UInt64 {
        if checked { return try checkedVarint() }
        return try wide(UInt64(littleEndian: UnsafeRawPointer(q).loadUnaligned(as: UInt64.self)))
    }

    @inline(__always)
    mutating func byte() throws(EventError) -> UInt8 {
        if checked && q >= end { throw .truncated(kind: kind) }
        defer { q += 1 }
        return q.pointee
    }

    @inline(__always)
    mutating func signed() throws(EventError) -> Int64 {
        let v = try wide()
        return Int64(bitPattern: v &>> 1) ^ -Int64(bitPattern: v & 1)
    }

    /// `base` plus an address delta (TraceFormat.AddressDelta), wrapping.
    @inline(__always)
    mutating func address(against base: UInt64) throws(EventError) -> UInt64 {
        let v = try wide()
        var low: UInt8 = 0
        if v & 1 != 0 { low = try byte() }
        return base &+ UInt64(bitPattern: AddressDelta.delta(v, low: low))
    }

    /// A stack id: `base` plus a signed delta, which must stay within 32 bits.
    @inline(__always)
    mutating func stack(against base: UInt32, limit: UInt32) throws(EventError) -> UInt32 {
        let d = try signed()
        let (s, o) = Int64(base).addingReportingOverflow(d)
        guard !o, s >= 0, s <= Int64(limit) else { throw EventFields.stackOutOfRange(d, base, limit) }
        return UInt32(truncatingIfNeeded: s)
    }

    /// A mark's label (varint length, bytes), added to `labels`; returns its index.
    @inline(__always)
    mutating func label(_ labels: MarkLabels) throws(EventError) -> UInt32 {
        let (index, next) = try EventFields.label(q, end, kind, labels)
        q = next
        return index
    }

    /// The label at `q`: its index in `labels` and where it ends. Out of line, and not given `self`,
    /// so that the reader of the common events stays in registers.
    @inline(never)
    private static func label(_ q: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, _ kind: UInt8,
                              _ labels: MarkLabels) throws(EventError) -> (UInt32, UnsafePointer<UInt8>) {
        var f = EventFields(q: q, end: end, kind: kind, checked: true)
        let n = try f.checkedVarint()
        guard n <= UInt64(end - f.q) else { throw .truncated(kind: kind) }
        let index = try labels.add(UnsafeBufferPointer(start: f.q, count: Int(n)))
        return (index, f.q + Int(n))
    }

    @inline(__always)
    private mutating func checkedVarint() throws(EventError) -> UInt64 {
        if let v = readVarint(&q, end) { return v }
        throw EventFields.varintError(q, end, kind)
    }

    @inline(never)
    private static func varintError(_ q: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, _ kind: UInt8) -> EventError {
        if case .short = varintFailure(q, end) { return .truncated(kind: kind) }
        return .malformedVarint(kind: kind)
    }

    /// The varint whose first eight bytes are `x`: the terminating byte found at once, the 7-bit
    /// groups squeezed together (in 32 bits for up to four bytes, the common case).
    @inline(__always)
    private mutating func wide(_ x: UInt64) throws(EventError) -> UInt64 {
        let stops = ~x & 0x8080_8080_8080_8080
        let bits = stops.trailingZeroBitCount &+ 1            // 8, 16, ..., 64 (65: no stop in 8 bytes)
        if bits <= 32 {
            q += bits &>> 3
            var v = UInt32(truncatingIfNeeded: x) & (UInt32.max &>> UInt32(truncatingIfNeeded: 32 &- bits))
            v = (v & 0x007F_007F) | ((v & 0x7F00_7F00) &>> 1)
            v = (v & 0x0000_3FFF) | ((v & 0x3FFF_0000) &>> 2)
            return UInt64(v)
        }
        if stops == 0 {
            // Nine or ten bytes, or a malformed varint.
            guard let v = EventFields.long(q) else { throw .malformedVarint(kind: kind) }
            q += v.length
            return v.value
        }
        q += bits &>> 3
        var v = x & (UInt64.max &>> UInt64(truncatingIfNeeded: 64 &- bits))
        v = (v & 0x007F_007F_007F_007F) | ((v & 0x7F00_7F00_7F00_7F00) &>> 1)
        v = (v & 0x0000_3FFF_0000_3FFF) | ((v & 0x3FFF_0000_3FFF_0000) &>> 2)
        v = (v & 0x0000_0000_0FFF_FFFF) | ((v & 0x0FFF_FFFF_0000_0000) &>> 4)
        return v
    }

    /// A varint of nine or ten bytes at `q` (ten readable); nil when it is malformed.
    @inline(never)
    private static func long(_ q: UnsafePointer<UInt8>) -> (value: UInt64, length: Int)? {
        var p = q
        guard let v = readVarintUnchecked(&p) else { return nil }
        return (v, p - q)
    }

    @inline(never)
    static func stackOutOfRange(_ d: Int64, _ base: UInt32, _ limit: UInt32) -> EventError {
        let (s, o) = Int64(base).addingReportingOverflow(d)
        if o || s < 0 || s > Int64(UInt32.max) {
            return .impossible("a stack id delta \(d) from \(base) leaves the 32-bit range")
        }
        return .impossible("stack id \(s) is beyond any the trace can have defined so far (at most \(limit))")
    }
}

/// The delta-decoding state of one chunk's events (`ticks`, `addr`, `stack`), reset per chunk.
struct EventDecoder {
    var ticks: UInt64
    var addr: UInt64 = 0
    var stack: UInt32 = 0
    /// The largest stack id the chunk's events may use (`TraceBounds.largestID`).
    var stackLimit: UInt32

    /// Bytes after an event's start that let it be read without bounds checks: the longest event
    /// (a typed realloc: kind, five varints of at most 10 bytes, a low-bits byte: 63 bytes) plus
    /// the 8 bytes a varint load may look at.
    static let fastMargin = 80

    init(baseTicks: UInt64, stackLimit: UInt32 = .max) {
        ticks = baseTicks
        self.stackLimit = stackLimit
    }

    /// Decodes the event at `p` (which is < `end`) into `e`; advances `p` (only on success). Mark
    /// labels go to `labels` (the only event that touches it).
    @inline(__always)
    mutating func decode(_ p: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, thread: UInt32,
                         labels: MarkLabels, into e: UnsafeMutablePointer<TraceEvent>) throws(EventError) {
        if end - p >= EventDecoder.fastMargin {
            var f = EventFields(q: p + 1, end: end, kind: p.pointee, checked: false)
            try decode(&f, thread: thread, labels: labels, into: e)
            p = f.q
        } else {
            var f = EventFields(q: p + 1, end: end, kind: p.pointee, checked: true)
            try decode(&f, thread: thread, labels: labels, into: e)
            p = f.q
        }
    }

    /// Decodes events from `p` into `out[count...]` while at least `fastMargin` bytes remain and
    /// `count < capacity`, counting them in `count` (so that a decoding error keeps those before
    /// it). Stops after an event with ticks >= `limit` unless `all`: that event is left at
    /// `out[count]`, uncounted, and the result is true. `p` is left after the last decoded event,
    /// or at the one that failed to decode.
    @inline(__always)
    mutating func decodeRun(_ p: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, thread: UInt32,
                            labels: MarkLabels, into out: UnsafeMutablePointer<TraceEvent>, count: inout Int,
                            capacity: Int, below limit: UInt64, all: Bool) throws(EventError) -> Bool {
        var q = p
        defer { p = q }
        while count < capacity && end - q >= EventDecoder.fastMargin {
            var f = EventFields(q: q + 1, end: end, kind: q.pointee, checked: false)
            try decode(&f, thread: thread, labels: labels, into: out + count)
            q = f.q
            if !all && out[count].ticks >= limit { return true }
            count &+= 1
        }
        return false
    }

    /// The event layout (docs/FORMAT.md, "Events"): the kind byte was read into `f.kind`.
    @inline(__always)
    private mutating func decode(_ f: inout EventFields, thread: UInt32, labels: MarkLabels,
                                                      into e: UnsafeMutablePointer<TraceEvent>) throws(EventError) {
        let byte = f.kind
        let raw = byte & ~EventKind.typedFlag
        // the high bit: a type id after an allocation (kinds 1-9), a stack after a free (10)
        let freeStack = byte == EventKind.free.rawValue | EventKind.freeStackFlag
        let typed = byte & EventKind.typedFlag != 0 && !freeStack
        guard freeStack || raw &- 1 < (typed ? EventKind.lastTypedRawValue : EventKind.lastRawValue), let kind = EventDecoder.kind(raw) else { throw .unknownKind(byte) }

        let dt = try f.unsigned()
        let (t, overflow) = ticks.addingReportingOverflow(dt)
        if overflow { throw EventDecoder.ticksOverflow() }

        // Fields are stored straight into `e` (a failed event leaves it half written; nobody reads it).
        e.pointee = TraceEvent(kind: kind, thread: thread, ticks: t)
        switch raw {
        case EventKind.free.rawValue:
            let a = try f.address(against: addr)
            e.pointee.address = a
            addr = a
            if freeStack {
                let st = try f.stack(against: stack, limit: stackLimit)
                e.pointee.stack = st
                stack = st
            }
        case EventKind.malloc.rawValue, EventKind.calloc.rawValue, EventKind.valloc.rawValue,
             EventKind.pvalloc.rawValue:
            let a = try f.address(against: addr)
            e.pointee.address = a
            e.pointee.size = try f.wide()
            let st = try f.stack(against: stack, limit: stackLimit)
            e.pointee.stack = st
            addr = a
            stack = st
        case EventKind.memalign.rawValue, EventKind.posixMemalign.rawValue, EventKind.alignedAlloc.rawValue:
            let a = try f.address(against: addr)
            e.pointee.address = a
            e.pointee.size = try f.wide()
            let st = try f.stack(against: stack, limit: stackLimit)
            e.pointee.stack = st
            e.pointee.alignment = try f.unsigned()
            addr = a
            stack = st
        case EventKind.realloc.rawValue, EventKind.reallocarray.rawValue:
            let old = try f.address(against: addr)
            let new = try f.address(against: old)
            e.pointee.oldAddress = old
            e.pointee.address = new
            e.pointee.size = try f.wide()
            let st = try f.stack(against: stack, limit: stackLimit)
            e.pointee.stack = st
            addr = new != 0 ? new : old
            stack = st
        case EventKind.mark.rawValue:
            e.pointee.labelIndex = try f.label(labels)
        case EventKind.rss.rawValue:
            e.pointee.size = try f.wide()
        default:  // thread_exit
            break
        }
        if typed {
            let id = try f.unsigned()
            guard id <= UInt64(UInt32.max) else { throw EventDecoder.typeOutOfRange(id) }
            e.pointee.typeID = UInt32(truncatingIfNeeded: id)
        }
        ticks = t
    }

    /// `EventKind(rawValue:)`, here so that it inlines (a table lookup).
    @inline(__always)
    static func kind(_ raw: UInt8) -> EventKind? {
        switch raw {
        case 1: return .malloc
        case 2: return .calloc
        case 3: return .memalign
        case 4: return .posixMemalign
        case 5: return .alignedAlloc
        case 6: return .valloc
        case 7: return .pvalloc
        case 8: return .realloc
        case 9: return .reallocarray
        case 10: return .free
        case 11: return .mark
        case 12: return .rss
        case 13: return .threadExit
        default: return nil
        }
    }

    @inline(never)
    static func ticksOverflow() -> EventError { .impossible("event ticks overflow 64 bits") }

    @inline(never)
    static func typeOutOfRange(_ id: UInt64) -> EventError { .impossible("type id \(id) does not fit 32 bits") }
}
