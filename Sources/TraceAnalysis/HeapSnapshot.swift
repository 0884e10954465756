/// What was live at one moment, grouped by Swift type (typed blocks) or allocation stack (the rest).
public struct HeapSnapshot: Sendable {
    /// A group of live blocks: a Swift type id (stack 0), or an untyped allocation stack (type 0).
    public struct Key: Hashable, Sendable {
        public var type: UInt32
        public var stack: UInt32
    }

    public struct Tally: Sendable, Equatable {
        public var blocks: Int = 0
        public var bytes: UInt64 = 0
        public init(blocks: Int = 0, bytes: UInt64 = 0) {
            self.blocks = blocks
            self.bytes = bytes
        }
    }

    public var moment: Moment
    /// Ticks of the moment (the mark's, or of the last event before it).
    public var ticks: UInt64
    public var blocks: Int
    public var bytes: UInt64
    public var groups: [Key: Tally]
    /// Live blocks by allocation stack, typed or not.
    public var byStack: [UInt32: Tally]
    /// Blocks allocated after `survivorsSince` ticks and still live, by allocation stack.
    public var survivorsByStack: [UInt32: Tally]
    public var survivorsByKey: [Key: Tally]
}

/// One mark as the replay met it.
public struct MarkInfo: Sendable {
    public var index: Int
    public var label: String
    public var thread: UInt32
    public var ticks: UInt64
    public var liveBytes: UInt64
    public var liveBlocks: Int
    /// The latest RSS sample at or before the mark (0 when none yet).
    public var rssBytes: UInt64
}
