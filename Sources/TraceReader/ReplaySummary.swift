import TraceFormat

/// What a replay found: whether the trace is complete, how it ended, and counts.
public struct ReplaySummary: Sendable {
    /// True iff the last record is `end`, or `exec` (the image was replaced).
    public var complete: Bool = false
    /// When not complete: how the data ends, e.g. "the data ends inside a zstd frame, after record 12".
    public var cutShortReason: String?
    /// The `end` record, when there is one.
    public var end: TraceEnd?
    /// The last `exec` record seen.
    public var exec: TraceExec?
    /// Records read (whole ones).
    public var records: Int = 0
    public var chunks: Int = 0
    /// Events delivered.
    public var events: UInt64 = 0
    /// Syncs read.
    public var syncs: Int = 0
    /// Decompressed bytes of whole records.
    public var decodedBytes: UInt64 = 0

    public init() {}
}
