/// A `sync` record: every event with ticks < `watermark` precedes it; pairs ticks with clock readings.
public struct TraceSync: Sendable, Equatable {
    public var watermark: UInt64
    public var monotonicNanoseconds: UInt64
    public var wallNanoseconds: UInt64

    public init(watermark: UInt64, monotonicNanoseconds: UInt64, wallNanoseconds: UInt64) {
        self.watermark = watermark
        self.monotonicNanoseconds = monotonicNanoseconds
        self.wallNanoseconds = wallNanoseconds
    }

    static func parse(_ c: inout ByteCursor) throws(FieldError) -> TraceSync {
        TraceSync(watermark: try c.varint(), monotonicNanoseconds: try c.varint(), wallNanoseconds: try c.varint())
    }
}
