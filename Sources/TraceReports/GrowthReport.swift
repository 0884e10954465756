import TraceAnalysis

/// `alloctrace growth`: objgraph's show_growth between two moments, by type; with sites, where the
/// blocks allocated in between and still live at the end were allocated.
public struct GrowthReport: Encodable {
    public struct SurvivorSite: Encodable {
        public var location: String
        public var count: Int
        public var bytes: UInt64
        public var stack: [String]
    }

    public var trace: String
    public var from: String
    public var to: String
    public var fromTimeNs: Int64
    public var toTimeNs: Int64
    public var rows: [ComparisonRow]
    public var survivors: [SurvivorSite]?

    enum CodingKeys: String, CodingKey {
        case trace, from, to, rows, survivors
        case fromTimeNs = "from_time_ns", toTimeNs = "to_time_ns"
    }

    /// `graphs`: the heap graphs at both moments, when the blocks' names come from them (Python
    /// objects by their Python type).
    public init(replay: HeapReplay, resolver: StackResolver, from: Moment, to: Moment, sites: Bool, all: Bool, limit: Int?,
                graphs: (before: HeapGraphAnalysis, after: HeapGraphAnalysis)? = nil) {
        let a = replay.snapshots[from]!, b = replay.snapshots[to]!
        let naming = TypeNaming(reader: replay.reader, resolver: resolver)
        var rows = graphs.map { ComparisonRow.compare($0.before.tallies(), $0.after.tallies()) }
            ?? ComparisonRow.compare(naming.tallies(a.groups), naming.tallies(b.groups))
        if !all { rows = rows.filter { $0.countChange != 0 || $0.bytesChange != 0 } }
        trace = replay.reader.path
        self.from = from.description
        self.to = to.description
        fromTimeNs = replay.nanoseconds(a.ticks)
        toTimeNs = replay.nanoseconds(b.ticks)
        self.rows = limit.map { Array(rows.prefix($0)) } ?? rows
        if sites {
            var bySite: [String: SurvivorSite] = [:]
            for (stack, tally) in b.survivorsByStack {
                let loc = resolver.location(stack)
                var s = bySite[loc] ?? SurvivorSite(location: loc, count: 0, bytes: 0,
                                                    stack: resolver.frames(stack).map(StackResolver.describe))
                s.count += tally.blocks
                s.bytes = Saturating.add(s.bytes, tally.bytes)
                bySite[loc] = s
            }
            let sorted = bySite.values.sorted { ($0.bytes, $0.count, $1.location) > ($1.bytes, $1.count, $0.location) }
            survivors = limit.map { Array(sorted.prefix($0)) } ?? sorted
        }
    }

    public func text() -> String {
        var o = "growth from \(from) (\(Formatting.seconds(Double(fromTimeNs) / 1e9))) to \(to) (\(Formatting.seconds(Double(toTimeNs) / 1e9)))\n"
        o += rows.isEmpty ? "no change\n" : ComparisonRow.table(rows, before: "before", after: "after")
        if let survivors {
            o += "\nallocated in between and still live at \(to), by site:\n"
            for s in survivors {
                o += "  \(Formatting.count(s.count).leftPadded(8))  \(Formatting.bytes(s.bytes).leftPadded(10))  \(s.location)\n"
            }
        }
        return o
    }
}
