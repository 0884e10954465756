import TraceFormat

/// The whole-trace figures of `alloctrace summary`.
public struct SummaryFigures: Sendable {
    /// Calls to allocation functions (a realloc is one call, and also frees its old block).
    public var allocationCalls: UInt64 = 0
    /// free() calls of non-NULL pointers.
    public var frees: UInt64 = 0
    /// Frees of blocks the trace never saw allocated (made before the recorder started).
    public var unmatchedFrees: UInt64 = 0
    /// Requested bytes over all allocation calls.
    public var bytesAllocated: UInt64 = 0
    public var peakHeapBytes: UInt64 = 0
    public var peakHeapTicks: UInt64 = 0
    public var peakHeapBlocks: Int = 0
    public var leakedBytes: UInt64 = 0
    public var leakedBlocks: Int = 0
    /// Allocations freed before their thread allocated anything else.
    public var temporaryAllocations: UInt64 = 0
    public var peakRSSBytes: UInt64 = 0
    public var peakRSSTicks: UInt64 = 0
    public var firstTicks: UInt64 = 0
    public var lastTicks: UInt64 = 0
    /// Calls per entry point (EventKind raw value).
    public var callsByKind: [UInt64] = Array(repeating: 0, count: Int(EventKind.lastRawValue) + 1)
    public var marks: Int = 0

    public func calls(_ kind: EventKind) -> UInt64 { callsByKind[Int(kind.rawValue)] }
}
