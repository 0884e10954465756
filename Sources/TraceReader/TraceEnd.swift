import TraceFormat

/// The `end` record: how and when the traced process finished, and the recorder's event counts.
public struct TraceEnd: Sendable, Equatable {
    public var ticks: UInt64
    public var monotonicNanoseconds: UInt64
    /// Raw reason (see `EndReason`; unknown values are kept).
    public var reasonRaw: UInt8
    /// Exit status, or the signal number for a fatal signal.
    public var status: Int64
    public var eventsWritten: UInt64
    public var eventsDropped: UInt64
    /// The highest RSS sample the recorder took, and how much of it was the recorder's own
    /// mappings (buffers, tables) then; nil in traces from before these fields.
    public var peakRSSBytes: UInt64?
    public var recorderRSSAtPeak: UInt64?

    public var reason: EndReason? { EndReason(rawValue: reasonRaw) }

    public init(ticks: UInt64, monotonicNanoseconds: UInt64, reasonRaw: UInt8, status: Int64,
                eventsWritten: UInt64, eventsDropped: UInt64, peakRSSBytes: UInt64? = nil, recorderRSSAtPeak: UInt64? = nil) {
        self.ticks = ticks
        self.monotonicNanoseconds = monotonicNanoseconds
        self.reasonRaw = reasonRaw
        self.status = status
        self.eventsWritten = eventsWritten
        self.eventsDropped = eventsDropped
        self.peakRSSBytes = peakRSSBytes
        self.recorderRSSAtPeak = recorderRSSAtPeak
    }

    static func parse(_ c: inout ByteCursor) throws(FieldError) -> TraceEnd {
        var end = TraceEnd(ticks: try c.varint(), monotonicNanoseconds: try c.varint(), reasonRaw: try c.u8(),
                           status: try c.svarint(), eventsWritten: try c.varint(), eventsDropped: try c.varint())
        if c.remaining > 0 {
            end.peakRSSBytes = try c.varint()
            end.recorderRSSAtPeak = try c.varint()
        }
        return end
    }
}
