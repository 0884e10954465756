import TraceAnalysis
import TraceReader

/// `alloctrace retained`: the dominator tree of the heap graph. An object's retained size is what
/// would be freed if it went: itself and every block that all chains from the roots pass through it
/// to reach. Per type, the retained sizes of its objects that no other object of the type
/// dominates (each byte counted once); per root (a global, a thread's stack, an anonymous region),
/// what it alone keeps. Leaked structures hang from a root of their own, `(leaked)`. Weak
/// references keep nothing.
public struct RetainedReport: Encodable {
    public struct Object: Encodable {
        public var address: String
        public var type: String
        public var size: UInt64
        public var retainedBytes: UInt64
        public var retainedBlocks: Int
        public var site: String
        /// False for a leaked object (held only by other leaked ones or nothing).
        public var reachable: Bool

        enum CodingKeys: String, CodingKey {
            case address, type, size, site, reachable
            case retainedBytes = "retained_bytes", retainedBlocks = "retained_blocks"
        }
    }

    public struct TypeRow: Encodable {
        public var name: String
        /// Live objects of the type.
        public var count: Int
        public var bytes: UInt64
        public var retainedBytes: UInt64
        public var retainedBlocks: Int

        enum CodingKeys: String, CodingKey {
            case name, count, bytes
            case retainedBytes = "retained_bytes", retainedBlocks = "retained_blocks"
        }
    }

    public struct RootRow: Encodable {
        /// `global`, `stack`, `anonymous`, or `leaked` for the leaked structures.
        public var kind: String
        public var name: String
        public var retainedBytes: UInt64
        public var retainedBlocks: Int

        enum CodingKeys: String, CodingKey {
            case kind, name
            case retainedBytes = "retained_bytes", retainedBlocks = "retained_blocks"
        }
    }

    public var trace: String
    public var at: String
    public var snapshot: UInt64
    public var timeNs: Int64
    public var liveBlocks: Int
    public var liveBytes: UInt64
    public var objects: [Object]
    public var types: [TypeRow]
    public var roots: [RootRow]

    enum CodingKeys: String, CodingKey {
        case trace, at, snapshot, objects, types, roots
        case timeNs = "time_ns", liveBlocks = "live_blocks", liveBytes = "live_bytes"
    }

    public init(analysis a: HeapGraphAnalysis, limit: Int) {
        let g = a.graph
        let n = g.nodeCount
        trace = a.reader.path
        at = a.momentDescription
        snapshot = a.snapshotID
        timeNs = a.timeNs
        liveBlocks = n
        liveBytes = a.liveBytes

        // pseudo nodes: one per root name, one for the leaked structures, then the virtual root
        var rootIndex: [HeapGraphAnalysis.RootName: Int] = [:]
        var rootList: [HeapGraphAnalysis.RootName] = []
        var rootTargets: [[Int32]] = []
        for r in g.roots {
            let name = a.rootName(r)
            let i: Int
            if let known = rootIndex[name] { i = known } else {
                i = rootList.count
                rootIndex[name] = i
                rootList.append(name)
                rootTargets.append([])
            }
            rootTargets[i].append(r.target)
        }
        var leaked: [Int32] = []
        for (c, isRoot) in a.isLeakRoot.enumerated() where isRoot { leaked += a.componentMembers[c] }
        let leakedNode = n + rootList.count
        let virtualRoot = leakedNode + 1
        let keep = a.keeping.adjacency
        var start = keep.start
        var target = keep.target
        for t in rootTargets {
            target += t
            start.append(target.count)
        }
        target += leaked
        start.append(target.count)
        for i in 0...rootList.count { target.append(Int32(n + i)) }
        start.append(target.count)
        let adjacency = Adjacency(start: start, target: target)

        let (idom, order) = GraphAlgorithms.dominators(adjacency, root: virtualRoot)
        var sizes = g.sizes
        sizes += [UInt64](repeating: 0, count: rootList.count + 2)
        var (retained, blocks) = GraphAlgorithms.retainedSizes(idom: idom, order: order, sizes: sizes)
        // pseudo nodes are no blocks
        for v in order.reversed() {
            let d = Int(idom[Int(v)])
            if Int(v) >= n && d != Int(v) && d >= 0 { blocks[d] -= 1 }
        }
        for i in n..<(virtualRoot + 1) { blocks[i] -= 1 }

        var group = a.groupOf
        group += [Int32](repeating: -1, count: rootList.count + 2)
        let topmost = GraphAlgorithms.topmostOfGroup(idom: idom, order: order, group: group)

        // objects that no other object of their type dominates: a list (a free list) shows its
        // head, not every node in turn, each retaining one block less than the one before
        let reachable = a.reachable
        var nodes = (0..<n).filter { topmost[$0] }
        nodes.sort { (retained[$0], $1) > (retained[$1], $0) }
        objects = nodes.prefix(max(limit, 0)).map { v in
            Object(address: HeapGraphAnalysis.hex(g.addresses[v]), type: a.typeName(v), size: g.sizes[v],
                   retainedBytes: retained[v], retainedBlocks: blocks[v], site: a.site(v), reachable: reachable[v])
        }
        var rows = a.groupNames.map { TypeRow(name: $0, count: 0, bytes: 0, retainedBytes: 0, retainedBlocks: 0) }
        for v in 0..<n {
            let gi = Int(group[v])
            rows[gi].count += 1
            rows[gi].bytes &+= g.sizes[v]
            if topmost[v] {
                rows[gi].retainedBytes &+= retained[v]
                rows[gi].retainedBlocks += blocks[v]
            }
        }
        rows.sort { ($0.retainedBytes, $0.count, $1.name) > ($1.retainedBytes, $1.count, $0.name) }
        types = Array(rows.filter { $0.count > 0 }.prefix(max(limit, 0)))

        var rootRows = rootList.enumerated().map { i, name in
            RootRow(kind: name.kind, name: name.name, retainedBytes: retained[n + i], retainedBlocks: blocks[n + i])
        }
        if !leaked.isEmpty {
            rootRows.append(RootRow(kind: "leaked", name: "(leaked)", retainedBytes: retained[leakedNode], retainedBlocks: blocks[leakedNode]))
        }
        rootRows.sort { ($0.retainedBytes, $1.name) > ($1.retainedBytes, $0.name) }
        roots = Array(rootRows.filter { $0.retainedBytes > 0 }.prefix(max(limit, 0)))
    }

    public func text() -> String {
        var out = "retained sizes at \(at) (snapshot \(snapshot), \(Formatting.seconds(Double(timeNs) / 1e9))): "
            + "\(Formatting.count(liveBlocks)) live blocks, \(Formatting.bytes(liveBytes))\n"
        out += "\nobjects, largest first (none that another object of its type dominates):\n"
        var o = TextTable(["retained", "blocks", "size", "object", "allocated in"], rightAligned: [0, 1, 2])
        for x in objects {
            o.add([Formatting.bytes(x.retainedBytes), Formatting.count(x.retainedBlocks), Formatting.bytes(x.size),
                   "\(x.type) \(x.address)" + (x.reachable ? "" : " (leaked)"), x.site])
        }
        out += o.render()
        out += "\nby type:\n"
        var t = TextTable(["retained", "blocks", "count", "type"], rightAligned: [0, 1, 2])
        for r in types { t.add([Formatting.bytes(r.retainedBytes), Formatting.count(r.retainedBlocks), Formatting.count(r.count), r.name]) }
        out += t.render()
        out += "\nby root:\n"
        var r = TextTable(["retained", "blocks", "root"], rightAligned: [0, 1])
        for x in roots { r.add([Formatting.bytes(x.retainedBytes), Formatting.count(x.retainedBlocks), HeapGraphAnalysis.rootLabel(kind: x.kind, name: x.name)]) }
        out += r.render()
        return out
    }
}
