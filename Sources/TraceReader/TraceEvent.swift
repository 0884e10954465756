import TraceFormat

/// One event from a chunk, as a replay delivers it: a plain value, no references.
///
/// Field use by kind: allocations set `address`, `size`, `stack` (and `alignment` for the
/// memalign family); `realloc`/`reallocarray` set `oldAddress`, `address` (the new block, 0 when
/// `realloc(p, 0)` freed `p`), `size`, `stack`; `free` sets `address`; `mark` sets `labelIndex`
/// (into `TraceReader.labels`); `rss` sets `size` to the resident bytes (`residentBytes`).
/// `typeID` is the Swift type of a typed allocation, 0 for none.
public struct TraceEvent: Sendable, Equatable {
    public var kind: EventKind
    /// Thread index as in `thread` records (0 is the recorder).
    public var thread: UInt32
    public var ticks: UInt64
    public var address: UInt64
    public var oldAddress: UInt64
    public var size: UInt64
    public var alignment: UInt64
    public var stack: UInt32
    public var typeID: UInt32
    public var labelIndex: UInt32
    /// The allocations this event's block stands for: 1 in a full trace; in a sampled trace, whose
    /// replay estimates (`TraceReader.estimates`), the sample's weight, and `size` its estimated
    /// bytes (`TraceSampling.weigh`). Fits the padding: the stride stays 64 bytes.
    public var weight: UInt32

    public init(kind: EventKind, thread: UInt32 = 0, ticks: UInt64 = 0, address: UInt64 = 0,
                oldAddress: UInt64 = 0, size: UInt64 = 0, alignment: UInt64 = 0, stack: UInt32 = 0,
                typeID: UInt32 = 0, labelIndex: UInt32 = 0, weight: UInt32 = 1) {
        self.kind = kind
        self.thread = thread
        self.ticks = ticks
        self.address = address
        self.oldAddress = oldAddress
        self.size = size
        self.alignment = alignment
        self.stack = stack
        self.typeID = typeID
        self.labelIndex = labelIndex
        self.weight = weight
    }

    /// For `rss` events: the resident set size in bytes.
    @inlinable public var residentBytes: UInt64 { size }

    /// Order among events with equal ticks on different threads: frees, then reallocs, then the rest,
    /// so that an address freed and reused within one tick is freed first.
    var tieRank: UInt8 {
        switch kind {
        case .free: return 0
        case .realloc, .reallocarray: return 1
        default: return 2
        }
    }

    /// True when `self` goes before `other` (an event of another thread) in the merged order.
    @inline(__always) func precedes(_ other: TraceEvent) -> Bool {
        if ticks != other.ticks { return ticks < other.ticks }
        let a = tieRank, b = other.tieRank
        if a != b { return a < b }
        return thread < other.thread
    }
}
