import TraceAnalysis
import TraceReader

/// `alloctrace leaks`: live blocks that no chain of references from a root reaches (weak
/// references do not count), by type and by site; and the roots of the leaked structures, as
/// macOS `leaks` lists them: a ROOT CYCLE (objects held only by each other) or a ROOT LEAK (held
/// by nothing), each with what it holds, identical ones folded.
public struct LeaksReport: Encodable {
    public struct Row: Encodable {
        public var name: String
        public var count: Int
        public var bytes: UInt64
    }

    public struct SiteRow: Encodable {
        public var function: String
        public var location: String
        public var count: Int
        public var bytes: UInt64
    }

    /// Leaked structures with the same kind and member types.
    public struct Root: Encodable {
        /// `cycle` (ROOT CYCLE) or `leak` (ROOT LEAK).
        public var kind: String
        /// How many such structures.
        public var count: Int
        /// Types of one structure's root members (one for a ROOT LEAK), sorted.
        public var members: [String]
        /// For a cycle: the references that close it, `Type.field` (see `cycles`).
        public var fields: [String]
        /// All structures together: their members and every leaked block they hold.
        public var blocks: Int
        public var bytes: UInt64
        /// Of those, the blocks held by the root members (not members themselves).
        public var heldBlocks: Int
        public var heldBytes: UInt64
        /// A few of the root members' addresses.
        public var addresses: [String]

        enum CodingKeys: String, CodingKey {
            case kind, count, members, fields, blocks, bytes, addresses
            case heldBlocks = "held_blocks", heldBytes = "held_bytes"
        }
    }

    public var trace: String
    public var at: String
    public var snapshot: UInt64
    public var timeNs: Int64
    public var liveBlocks: Int
    public var liveBytes: UInt64
    public var leakedBlocks: Int
    public var leakedBytes: UInt64
    public var byType: [Row]
    public var bySite: [SiteRow]
    public var roots: [Root]

    enum CodingKeys: String, CodingKey {
        case trace, at, snapshot, roots
        case timeNs = "time_ns", liveBlocks = "live_blocks", liveBytes = "live_bytes"
        case leakedBlocks = "leaked_blocks", leakedBytes = "leaked_bytes", byType = "by_type", bySite = "by_site"
    }

    public init(analysis a: HeapGraphAnalysis, limit: Int?) {
        let g = a.graph
        trace = a.reader.path
        at = a.momentDescription
        snapshot = a.snapshotID
        timeNs = a.timeNs
        liveBlocks = g.nodeCount
        liveBytes = a.liveBytes
        let reachable = a.reachable
        var types: [String: Row] = [:]
        var sites: [UInt32: (count: Int, bytes: UInt64)] = [:]
        var count = 0
        var bytes: UInt64 = 0
        for n in 0..<g.nodeCount where !reachable[n] {
            count += 1
            bytes &+= g.sizes[n]
            let name = a.typeName(n)
            types[name, default: Row(name: name, count: 0, bytes: 0)].count += 1
            types[name, default: Row(name: name, count: 0, bytes: 0)].bytes &+= g.sizes[n]
            sites[g.stacks[n], default: (0, 0)].count += 1
            sites[g.stacks[n], default: (0, 0)].bytes &+= g.sizes[n]
        }
        leakedBlocks = count
        leakedBytes = bytes
        byType = types.values.sorted { ($0.bytes, $0.count, $1.name) > ($1.bytes, $1.count, $0.name) }
        var siteRows: [String: SiteRow] = [:]
        for (stack, t) in sites {
            let location = a.resolver.location(stack)
            siteRows[location, default: SiteRow(function: a.resolver.function(stack), location: location, count: 0, bytes: 0)].count += t.count
            siteRows[location, default: SiteRow(function: a.resolver.function(stack), location: location, count: 0, bytes: 0)].bytes &+= t.bytes
        }
        bySite = siteRows.values.sorted { ($0.bytes, $0.count, $1.location) > ($1.bytes, $1.count, $0.location) }

        // the roots of leaked structures; everything they hold, each block counted once (for the
        // first root that reaches it)
        let (component, _) = a.leakedComponents
        let members = a.componentMembers
        let adj = a.keeping.adjacency
        var owner = [Int32](repeating: -1, count: g.nodeCount)
        var folded: [String: Root] = [:]
        var order: [String] = []
        for (c, isRoot) in a.isLeakRoot.enumerated() where isRoot {
            let m = members[c]
            let cycle = a.isCycle(m, adj)
            var stack: [Int32] = []
            for v in m { owner[Int(v)] = Int32(c); stack.append(v) }
            var blocks = 0
            var total: UInt64 = 0
            var memberBytes: UInt64 = 0
            for v in m { memberBytes &+= g.sizes[Int(v)] }
            while let v = stack.popLast() {
                blocks += 1
                total &+= g.sizes[Int(v)]
                for e in adj.start[Int(v)]..<adj.start[Int(v) + 1] {
                    let t = Int(adj.target[e])
                    if owner[t] == -1 && component[t] >= 0 {
                        owner[t] = Int32(c)
                        stack.append(Int32(t))
                    }
                }
            }
            let closing: (members: [String], fields: [String]) =
                cycle ? CyclesReport.closingNames(Array(m), a, a.keeping) : (m.map { a.typeName(Int($0)) }, [])
            let names = closing.members.sorted()
            let fields = closing.fields
            let key = (cycle ? "cycle" : "leak") + "\u{0}" + names.joined(separator: "\u{1}") + "\u{0}" + fields.joined(separator: "\u{1}")
            if folded[key] == nil {
                order.append(key)
                folded[key] = Root(kind: cycle ? "cycle" : "leak", count: 0, members: names, fields: fields, blocks: 0,
                                   bytes: 0, heldBlocks: 0, heldBytes: 0, addresses: [])
            }
            folded[key]!.count += 1
            folded[key]!.blocks += blocks
            folded[key]!.bytes &+= total
            folded[key]!.heldBlocks += blocks - m.count
            folded[key]!.heldBytes &+= total &- memberBytes
            if folded[key]!.addresses.count < 4 {
                folded[key]!.addresses.append(HeapGraphAnalysis.hex(g.addresses[Int(m.min()!)]))
            }
        }
        var roots = order.map { folded[$0]! }
        roots.sort { ($0.bytes, $0.count, $1.members.joined()) > ($1.bytes, $1.count, $0.members.joined()) }
        if let limit {
            byType = Array(byType.prefix(limit))
            bySite = Array(bySite.prefix(limit))
            roots = Array(roots.prefix(limit))
        }
        self.roots = roots
    }

    public func text() -> String {
        var out = "leaks at \(at) (snapshot \(snapshot), \(Formatting.seconds(Double(timeNs) / 1e9))): "
            + "\(Formatting.count(leakedBlocks)) blocks, \(Formatting.bytes(leakedBytes)) unreachable from any root "
            + "(of \(Formatting.count(liveBlocks)) live blocks, \(Formatting.bytes(liveBytes)))\n"
        guard leakedBlocks > 0 else { return out }
        out += "\nleaked structures (ROOT CYCLE: objects held only by each other; ROOT LEAK: held by nothing):\n"
        var r = TextTable(["count", "blocks", "bytes", "root", "what"], rightAligned: [0, 1, 2])
        for root in roots {
            var what = root.members.joined(separator: " + ")
            if !root.fields.isEmpty { what += "  (" + root.fields.joined(separator: " -> ") + ")" }
            if root.heldBlocks > 0 { what += ", holding \(Formatting.count(root.heldBlocks)) more" }
            r.add([Formatting.count(root.count), Formatting.count(root.blocks), Formatting.bytes(root.bytes),
                   root.kind == "cycle" ? "ROOT CYCLE" : "ROOT LEAK", what])
        }
        out += r.render()
        out += "\nby type:\n"
        var t = TextTable(["count", "bytes", "type"], rightAligned: [0, 1])
        for row in byType { t.add([Formatting.count(row.count), Formatting.bytes(row.bytes), row.name]) }
        out += t.render()
        out += "\nby site:\n"
        var s = TextTable(["count", "bytes", "site"], rightAligned: [0, 1])
        for row in bySite { s.add([Formatting.count(row.count), Formatting.bytes(row.bytes), row.location]) }
        out += s.render()
        return out
    }
}
