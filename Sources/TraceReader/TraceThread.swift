/// A `thread` record: a traced thread's index (as chunks name it), kernel tid and name.
public struct TraceThread: Sendable, Equatable {
    public var index: UInt32
    public var tid: UInt64
    public var ticks: UInt64
    public var name: String

    public init(index: UInt32, tid: UInt64, ticks: UInt64, name: String) {
        self.index = index
        self.tid = tid
        self.ticks = ticks
        self.name = name
    }

    static func parse(_ c: inout ByteCursor) throws(FieldError) -> TraceThread {
        let index = try c.id32("thread index")
        let tid = try c.varint()
        let ticks = try c.varint()
        let name = try c.string()
        return TraceThread(index: index, tid: tid, ticks: ticks, name: name)
    }
}
