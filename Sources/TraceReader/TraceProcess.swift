import TraceFormat

/// The `process` record: who was traced, when, and how the recorder was set up.
public struct TraceProcess: Sendable, Equatable {
    public var pid: UInt64
    public var ppid: UInt64
    /// Unix-epoch nanoseconds at the start of recording.
    public var startWallNanoseconds: UInt64
    public var startTicks: UInt64
    public var startMonotonicNanoseconds: UInt64
    /// Raw clock kind (see `ClockKind`; unknown values are kept).
    public var clockRaw: UInt8
    public var swiftTypeCaptureRaw: UInt8
    public var unwindRaw: UInt8
    public var maxStackDepth: UInt64
    public var flushIntervalMilliseconds: UInt64
    public var executable: String
    public var arguments: [String]
    public var recorderVersion: String

    public var clock: ClockKind? { ClockKind(rawValue: clockRaw) }
    public var swiftTypeCapture: SwiftTypeCapture? { SwiftTypeCapture(rawValue: swiftTypeCaptureRaw) }
    public var unwind: UnwindMode? { UnwindMode(rawValue: unwindRaw) }

    public init(pid: UInt64, ppid: UInt64, startWallNanoseconds: UInt64, startTicks: UInt64,
                startMonotonicNanoseconds: UInt64, clockRaw: UInt8, swiftTypeCaptureRaw: UInt8,
                unwindRaw: UInt8, maxStackDepth: UInt64, flushIntervalMilliseconds: UInt64,
                executable: String, arguments: [String], recorderVersion: String) {
        self.pid = pid
        self.ppid = ppid
        self.startWallNanoseconds = startWallNanoseconds
        self.startTicks = startTicks
        self.startMonotonicNanoseconds = startMonotonicNanoseconds
        self.clockRaw = clockRaw
        self.swiftTypeCaptureRaw = swiftTypeCaptureRaw
        self.unwindRaw = unwindRaw
        self.maxStackDepth = maxStackDepth
        self.flushIntervalMilliseconds = flushIntervalMilliseconds
        self.executable = executable
        self.arguments = arguments
        self.recorderVersion = recorderVersion
    }

    static func parse(_ c: inout ByteCursor) throws(FieldError) -> TraceProcess {
        let pid = try c.varint()
        let ppid = try c.varint()
        let wall = try c.varint()
        let ticks = try c.varint()
        let mono = try c.varint()
        let clock = try c.u8()
        let capture = try c.u8()
        let unwind = try c.u8()
        let depth = try c.varint()
        let flush = try c.varint()
        let exe = try c.string()
        let argc = try c.varint()
        // Each argument takes at least its length byte.
        guard argc <= UInt64(c.remaining) else { throw .short }
        var args: [String] = []
        for _ in 0..<argc { args.append(try c.string()) }
        let version = try c.string()
        return TraceProcess(pid: pid, ppid: ppid, startWallNanoseconds: wall, startTicks: ticks,
                            startMonotonicNanoseconds: mono, clockRaw: clock, swiftTypeCaptureRaw: capture,
                            unwindRaw: unwind, maxStackDepth: depth, flushIntervalMilliseconds: flush,
                            executable: exe, arguments: args, recorderVersion: version)
    }
}
