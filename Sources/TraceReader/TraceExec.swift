/// An `exec` record: the process called execve (the image was replaced if this is the last record).
public struct TraceExec: Sendable, Equatable {
    public var ticks: UInt64
    public var path: String

    public init(ticks: UInt64, path: String) {
        self.ticks = ticks
        self.path = path
    }

    static func parse(_ c: inout ByteCursor) throws(FieldError) -> TraceExec {
        TraceExec(ticks: try c.varint(), path: try c.string())
    }
}
