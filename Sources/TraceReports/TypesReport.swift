import TraceAnalysis

/// `alloctrace types`: objgraph's most common types for a compiled program, at one moment.
public struct TypesReport: Encodable {
    public struct Row: Encodable {
        public var name: String
        public var count: Int
        public var bytes: UInt64
    }

    public var trace: String
    public var at: String
    public var timeNs: Int64
    public var liveBlocks: Int
    public var liveBytes: UInt64
    public var rows: [Row]

    enum CodingKeys: String, CodingKey {
        case trace, at, rows
        case timeNs = "time_ns", liveBlocks = "live_blocks", liveBytes = "live_bytes"
    }

    public init(replay: HeapReplay, resolver: StackResolver, at moment: Moment, limit: Int?) {
        let snap = replay.snapshots[moment]!
        let naming = TypeNaming(reader: replay.reader, resolver: resolver)
        var rows = naming.tallies(snap.groups).map { Row(name: $0.key, count: $0.value.blocks, bytes: $0.value.bytes) }
        rows.sort { ($0.count, $0.bytes, $1.name) > ($1.count, $1.bytes, $0.name) }
        trace = replay.reader.path
        at = moment.description
        timeNs = replay.nanoseconds(snap.ticks)
        liveBlocks = snap.blocks
        liveBytes = snap.bytes
        self.rows = limit.map { Array(rows.prefix($0)) } ?? rows
    }

    /// From a heap graph at the moment: as above, and a block whose first word is a C++ vtable is
    /// named by its class (`vtable for X` + 16 is where an object of dynamic type X points).
    public init(graph analysis: HeapGraphAnalysis, at moment: Moment, limit: Int?) {
        let g = analysis.graph
        var tallies: [String: (count: Int, bytes: UInt64)] = [:]
        var vtableNames: [UInt64: String?] = [:]
        for n in 0..<g.nodeCount {
            var name = analysis.typeName(n)
            if g.typeIDs[n] == 0, analysis.python.name(of: n) == nil, let word = g.firstWords[Int32(n)] {
                if vtableNames[word] == nil {
                    var cls: String? = nil
                    if let sym = analysis.resolver.symbolizer.dataSymbol(at: word), sym.offset == 16,
                       sym.name.hasPrefix("vtable for ") {
                        cls = String(sym.name.dropFirst("vtable for ".count))
                    }
                    vtableNames[word] = .some(cls)
                }
                if let cls = vtableNames[word] ?? nil { name = cls }
            }
            tallies[name, default: (0, 0)].count += 1
            tallies[name, default: (0, 0)].bytes = Saturating.add(tallies[name]!.bytes, g.sizes[n])
        }
        var rows = tallies.map { Row(name: $0.key, count: $0.value.count, bytes: $0.value.bytes) }
        rows.sort { ($0.count, $0.bytes, $1.name) > ($1.count, $1.bytes, $0.name) }
        trace = analysis.reader.path
        at = moment.description
        timeNs = analysis.timeNs
        liveBlocks = g.nodeCount
        liveBytes = analysis.liveBytes
        self.rows = limit.map { Array(rows.prefix($0)) } ?? rows
    }

    public func text() -> String {
        var t = TextTable(["count", "bytes", "type"], rightAligned: [0, 1])
        for r in rows { t.add([Formatting.count(r.count), Formatting.bytes(r.bytes), r.name]) }
        return "live at \(at) (\(Formatting.seconds(Double(timeNs) / 1e9))): \(Formatting.count(liveBlocks)) blocks, \(Formatting.bytes(liveBytes))\n" + t.render()
    }
}
