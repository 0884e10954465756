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

/// Reads one event's fields, front to back, bounds-checked.
struct EventFields {
    var q: UnsafePointer<UInt8>
    let end: UnsafePointer<UInt8>
    /// The event's kind byte, for error messages.
    let kind: UInt8

    @inline(__always)
    mutating func unsigned() throws(EventError) -> UInt64 {
        if let v = readVarint(&q, end) { return v }
        if case .short = varintFailure(q, end) { throw .truncated(kind: kind) }
        throw .malformedVarint(kind: kind)
    }

    @inline(__always)
    mutating func signed() throws(EventError) -> Int64 {
        let v = try unsigned()
        return Int64(bitPattern: v &>> 1) ^ -Int64(bitPattern: v & 1)
    }

    /// `base` plus an address delta (TraceFormat.AddressDelta), wrapping.
    @inline(__always)
    mutating func address(against base: UInt64) throws(EventError) -> UInt64 {
        let v = try unsigned()
        var low: UInt8 = 0
        if v & 1 != 0 {
            guard q < end else { throw .truncated(kind: kind) }
            low = q.pointee
            q += 1
        }
        return base &+ UInt64(bitPattern: AddressDelta.delta(v, low: low))
    }

    /// A stack id: `base` plus a signed delta, which must stay within 32 bits.
    @inline(__always)
    mutating func stack(against base: UInt32) throws(EventError) -> UInt32 {
        let d = try signed()
        let (s, o) = Int64(base).addingReportingOverflow(d)
        guard !o, s >= 0, s <= Int64(UInt32.max) else {
            throw .impossible("a stack id delta \(d) from \(base) leaves the 32-bit range")
        }
        return UInt32(truncatingIfNeeded: s)
    }
}

/// The delta-decoding state of one chunk's events (`ticks`, `addr`, `stack`), reset per chunk.
struct EventDecoder {
    var ticks: UInt64
    var addr: UInt64 = 0
    var stack: UInt32 = 0

    init(baseTicks: UInt64) { ticks = baseTicks }

    /// Decodes the event at `p` (which is < `end`) into `e`; advances `p`. Mark labels go to `labels`
    /// (the only event that touches it).
    @inline(__always)
    mutating func decode(_ p: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, thread: UInt32,
                         labels: MarkLabels, into e: UnsafeMutablePointer<TraceEvent>) throws(EventError) {
        let byte = p.pointee
        let typed = byte & EventKind.typedFlag != 0
        guard let kind = EventKind(rawValue: byte & ~EventKind.typedFlag),
              !typed || kind.rawValue <= EventKind.reallocarray.rawValue
        else { throw .unknownKind(byte) }
        var f = EventFields(q: p + 1, end: end, kind: byte)

        let dt = try f.unsigned()
        let (t, overflow) = ticks.addingReportingOverflow(dt)
        if overflow { throw .impossible("event ticks overflow 64 bits") }

        var ev = TraceEvent(kind: kind, thread: thread, ticks: t)
        switch kind {
        case .malloc, .calloc, .valloc, .pvalloc, .memalign, .posixMemalign, .alignedAlloc:
            ev.address = try f.address(against: addr)
            ev.size = try f.unsigned()
            ev.stack = try f.stack(against: stack)
            if kind.hasAlignment { ev.alignment = try f.unsigned() }
            addr = ev.address
            stack = ev.stack
        case .realloc, .reallocarray:
            ev.oldAddress = try f.address(against: addr)
            ev.address = try f.address(against: ev.oldAddress)
            ev.size = try f.unsigned()
            ev.stack = try f.stack(against: stack)
            addr = ev.address != 0 ? ev.address : ev.oldAddress
            stack = ev.stack
        case .free:
            ev.address = try f.address(against: addr)
            addr = ev.address
        case .mark:
            let n = try f.unsigned()
            guard n <= UInt64(f.end - f.q) else { throw .truncated(kind: byte) }
            ev.labelIndex = try labels.add(UnsafeBufferPointer(start: f.q, count: Int(n)))
            f.q += Int(n)
        case .rss:
            ev.size = try f.unsigned()
        case .threadExit:
            break
        }
        if typed {
            let id = try f.unsigned()
            guard id <= UInt64(UInt32.max) else { throw .impossible("type id \(id) does not fit 32 bits") }
            ev.typeID = UInt32(truncatingIfNeeded: id)
        }
        ticks = t
        p = f.q
        e.pointee = ev
    }
}
