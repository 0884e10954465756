import TraceAnalysis
import TraceReader

/// `alloctrace cycles`: leaked strongly connected groups of objects, held only by each other
/// through strong (or plain) references, like Swift retain cycles: each with its member types and
/// the references that close it (`Peer.other -> Peer.other`); identical cycles folded with a count.
/// Weak and unowned references do not make cycles.
public struct CyclesReport: Encodable {
    public struct Cycle: Encodable {
        /// How many cycles look like this one.
        public var count: Int
        /// Member types, in the order the references go round (sorted for a tangle that is not one loop).
        public var members: [String]
        /// The references, `Type.field`: going round the cycle from the first member.
        public var fields: [String]
        /// Blocks and bytes of one cycle (the first), and of all of them.
        public var blocks: Int
        public var bytes: UInt64
        public var totalBytes: UInt64
        /// True when nothing else leaked points into the cycle (a ROOT CYCLE of `leaks`).
        public var isRoot: Bool
        /// The first member of a few of them.
        public var addresses: [String]

        enum CodingKeys: String, CodingKey {
            case count, members, fields, blocks, bytes, addresses
            case totalBytes = "total_bytes", isRoot = "root"
        }
    }

    public var trace: String
    public var at: String
    public var snapshot: UInt64
    public var timeNs: Int64
    /// Cycles in all, folded or not.
    public var totalCycles: Int
    public var cycleBlocks: Int
    public var cycleBytes: UInt64
    public var cycles: [Cycle]

    enum CodingKeys: String, CodingKey {
        case trace, at, snapshot, cycles
        case timeNs = "time_ns", totalCycles = "total_cycles", cycleBlocks = "cycle_blocks", cycleBytes = "cycle_bytes"
    }

    /// One example cycle per row (members in order, and the edges between them), for DOT.
    var examples: [[(node: Int, edges: [Int])]] = []

    public init(analysis a: HeapGraphAnalysis, limit: Int?) {
        let g = a.graph
        trace = a.reader.path
        at = a.momentDescription
        snapshot = a.snapshotID
        timeNs = a.timeNs
        let owning = a.owning
        let (component, count) = GraphAlgorithms.stronglyConnectedComponents(owning.adjacency, within: a.reachable.map { !$0 })
        var members = [[Int32]](repeating: [], count: count)
        for n in 0..<g.nodeCount where component[n] >= 0 { members[Int(component[n])].append(Int32(n)) }
        // a cycle is a root when no other leaked block points into it
        let keep = a.keeping.adjacency
        var heldFromOutside = [Bool](repeating: false, count: count)
        for n in 0..<g.nodeCount where !a.reachable[n] {
            for e in keep.start[n]..<keep.start[n + 1] {
                let c = component[Int(keep.target[e])]
                if c >= 0 && c != component[n] { heldFromOutside[Int(c)] = true }
            }
        }
        var folded: [String: Cycle] = [:]
        var order: [String] = []
        var exampleOf: [String: [(node: Int, edges: [Int])]] = [:]
        var total = 0, blocks = 0
        var bytes: UInt64 = 0
        for (c, m) in members.enumerated() where !m.isEmpty && a.isCycle(m, owning.adjacency) {
            total += 1
            var size: UInt64 = 0
            for v in m { size &+= g.sizes[Int(v)] }
            blocks += m.count
            bytes &+= size
            let (walk, _) = CyclesReport.walk(m, a, owning)
            let (names, fields) = a.cycleNames(walk, sorted: !CyclesReport.isRound(walk, a))
            let key = names.joined(separator: "\u{1}") + "\u{0}" + fields.joined(separator: "\u{1}")
            if folded[key] == nil {
                order.append(key)
                folded[key] = Cycle(count: 0, members: names, fields: fields, blocks: m.count, bytes: size, totalBytes: 0,
                                    isRoot: true, addresses: [])
                exampleOf[key] = walk
            }
            folded[key]!.count += 1
            folded[key]!.totalBytes &+= size
            if heldFromOutside[c] { folded[key]!.isRoot = false }
            if folded[key]!.addresses.count < 4 { folded[key]!.addresses.append(HeapGraphAnalysis.hex(g.addresses[walk[0].node])) }
        }
        totalCycles = total
        cycleBlocks = blocks
        cycleBytes = bytes
        var rows = order.map { (folded[$0]!, exampleOf[$0]!) }
        rows.sort { ($0.0.totalBytes, $0.0.count, $1.0.fields.joined()) > ($1.0.totalBytes, $1.0.count, $0.0.fields.joined()) }
        if let limit { rows = Array(rows.prefix(limit)) }
        cycles = rows.map(\.0)
        examples = rows.map(\.1)
    }

    /// The members and the references that close a cycle, `Type.field`, in the order `walk` gives
    /// (a Python object's owned blocks folded into it).
    static func closingNames(_ members: [Int32], _ a: HeapGraphAnalysis,
                             _ filtered: (adjacency: Adjacency, edge: [Int])) -> (members: [String], fields: [String]) {
        let (w, _) = walk(members, a, filtered)
        return a.cycleNames(w, sorted: !isRound(w, a))
    }

    /// Goes round a cycle: when every member has exactly one reference to another member, from the
    /// member that gives the smallest sequence of names; otherwise (a tangle) members by address
    /// with their references inside the group, and the references' names sorted.
    static func walk(_ members: [Int32], _ a: HeapGraphAnalysis,
                     _ filtered: (adjacency: Adjacency, edge: [Int])) -> ([(node: Int, edges: [Int])], [String]) {
        let g = a.graph
        let inside = Set(members)
        let adj = filtered.adjacency
        var out: [Int: [Int]] = [:]   // member -> graph edges to members
        for v in members {
            for e in adj.start[Int(v)]..<adj.start[Int(v) + 1] where inside.contains(adj.target[e]) {
                out[Int(v), default: []].append(filtered.edge[e])
            }
        }
        let simple = members.allSatisfy { out[Int($0)]?.count == 1 }
        if simple {
            // label of each member's single reference; go round from every start, keep the smallest
            func round(from s: Int) -> [(node: Int, edges: [Int])] {
                var seq: [(node: Int, edges: [Int])] = []
                var v = s
                repeat {
                    let e = out[v]![0]
                    seq.append((v, [e]))
                    v = Int(g.edgeTarget[e])
                } while v != s && seq.count <= members.count
                return seq
            }
            func labels(_ seq: [(node: Int, edges: [Int])]) -> [String] {
                seq.map { a.qualifiedField(edge: $0.edges[0], source: $0.node) }
            }
            let starts = members.count <= 64 ? members.map(Int.init) : [Int(members.min()!)]
            var best = round(from: starts[0])
            var bestLabels = labels(best)
            for s in starts.dropFirst() {
                let seq = round(from: s)
                let l = labels(seq)
                if l.lexicographicallyPrecedes(bestLabels) || (l == bestLabels && seq[0].node < best[0].node) {
                    best = seq
                    bestLabels = l
                }
            }
            return (best, bestLabels)
        }
        let sorted = members.map(Int.init).sorted()
        let walk = sorted.map { ($0, out[$0] ?? []) }
        var names: [String] = []
        for (v, edges) in walk { for e in edges { names.append(a.qualifiedField(edge: e, source: v)) } }
        return (walk, names.sorted())
    }

    public func text() -> String {
        let out = "cycles at \(at) (snapshot \(snapshot), \(Formatting.seconds(Double(timeNs) / 1e9))): "
            + "\(Formatting.count(totalCycles)) leaked cycles, \(Formatting.count(cycleBlocks)) blocks, \(Formatting.bytes(cycleBytes))\n"
        guard !cycles.isEmpty else { return out }
        var t = TextTable(["count", "blocks", "bytes", "cycle"], rightAligned: [0, 1, 2])
        for c in cycles {
            let what = c.fields.joined(separator: " -> ") + (c.isRoot ? "" : "  (held by other leaked blocks)")
            t.add([Formatting.count(c.count), Formatting.count(c.blocks * c.count), Formatting.bytes(c.totalBytes), what])
        }
        return out + t.render()
    }
}
