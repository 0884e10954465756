import Symbolication
import TraceAnalysis

/// What `top` ranks sites by.
public enum SiteMetric: String, CaseIterable, Sendable {
    case allocations, bytes, peak, leaked, temporary
}

/// `alloctrace top`: allocation sites ranked by one measure, each with its full stack.
public struct TopReport: Encodable {
    public struct Row: Encodable {
        public var value: UInt64
        public var function: String
        public var location: String
        public var allocations: UInt64
        public var bytes: UInt64
        public var peakBytes: UInt64
        public var leakedBytes: UInt64
        public var leakedBlocks: UInt64
        public var temporary: UInt64
        /// Stacks merged into this row (1 unless grouped by function).
        public var stacks: Int
        public var stack: [String]

        enum CodingKeys: String, CodingKey {
            case value, function, location, allocations, bytes, temporary, stacks, stack
            case peakBytes = "peak_bytes", leakedBytes = "leaked_bytes", leakedBlocks = "leaked_blocks"
        }
    }

    public var trace: String
    public var by: String
    public var group: String
    public var totalSites: Int
    public var rows: [Row]

    enum CodingKeys: String, CodingKey {
        case trace, by, group, rows
        case totalSites = "total_sites"
    }

    public init(replay: HeapReplay, resolver: StackResolver, by metric: SiteMetric, groupByFunction: Bool, limit: Int) {
        let sites = replay.sites
        // The figures of every row first; names, locations and stacks only for the rows that can be
        // shown (naming all of a large trace's stacks was most of `top` and of the report's tables).
        struct Tally { var first: UInt32; var function: String?; var row: Row }
        var tallies: [Tally] = []
        var index: [String: Int] = [:]
        for stack in sites.stacks {
            let i = Int(stack)
            let function = groupByFunction ? resolver.function(stack) : nil
            let n: Int
            if let function, let known = index[function] {
                n = known
            } else {
                n = tallies.count
                if let function { index[function] = n }
                tallies.append(Tally(first: stack, function: function,
                                     row: Row(value: 0, function: "", location: "", allocations: 0, bytes: 0, peakBytes: 0,
                                              leakedBytes: 0, leakedBlocks: 0, temporary: 0, stacks: 0, stack: [])))
            }
            tallies[n].row.allocations += sites.allocations[i]
            tallies[n].row.bytes = Saturating.add(tallies[n].row.bytes, sites.bytes[i])
            tallies[n].row.peakBytes = Saturating.add(tallies[n].row.peakBytes, sites.peak(i))
            tallies[n].row.leakedBytes = Saturating.add(tallies[n].row.leakedBytes, sites.liveBytes[i])
            tallies[n].row.leakedBlocks += sites.liveBlocks[i]
            tallies[n].row.temporary += sites.temporary[i]
            tallies[n].row.stacks += 1
        }
        for k in tallies.indices {
            let r = tallies[k].row
            switch metric {
            case .allocations: tallies[k].row.value = r.allocations
            case .bytes: tallies[k].row.value = r.bytes
            case .peak: tallies[k].row.value = r.peakBytes
            case .leaked: tallies[k].row.value = r.leakedBytes
            case .temporary: tallies[k].row.value = r.temporary
            }
        }
        tallies = tallies.filter { $0.row.value > 0 }
        tallies.sort { $0.row.value > $1.row.value }
        // ties are ordered by location: every row as large as the last one shown is a candidate
        let cutoff = limit > 0 && tallies.count > limit ? tallies[limit - 1].row.value : 0
        var shown = tallies.prefix { $0.row.value >= cutoff && limit > 0 }.map { t -> Tally in
            var t = t
            let function = t.function ?? resolver.function(t.first)
            t.row.function = function
            t.row.location = groupByFunction ? function : resolver.location(t.first)
            return t
        }
        shown.sort { ($0.row.value, $1.row.location) > ($1.row.value, $0.row.location) }
        trace = replay.reader.path
        by = metric.rawValue
        group = groupByFunction ? "function" : "stack"
        totalSites = tallies.count
        self.rows = shown.prefix(limit).map { t in
            var row = t.row
            row.stack = resolver.frames(t.first).map(StackResolver.describe)
            return row
        }
    }

    public func text() -> String {
        var o = "top \(rows.count) of \(totalSites) sites by \(by)" + (group == "function" ? ", grouped by function" : "") + "\n"
        let isBytes = by != "allocations" && by != "temporary"
        for (n, r) in rows.enumerated() {
            let value = isBytes ? Formatting.bytes(r.value) : Formatting.count(r.value)
            o += "\n#\(n + 1)  \(value)  \(r.function)\n"
            o += "    allocations \(Formatting.count(r.allocations)), bytes \(Formatting.bytes(r.bytes)), at peak \(Formatting.bytes(r.peakBytes)), "
            o += "not freed \(Formatting.bytes(r.leakedBytes)) in \(Formatting.count(r.leakedBlocks)), temporary \(Formatting.count(r.temporary))"
            if r.stacks > 1 { o += ", \(r.stacks) stacks" }
            o += "\n"
            for frame in r.stack { o += "      \(frame)\n" }
        }
        return o
    }
}
