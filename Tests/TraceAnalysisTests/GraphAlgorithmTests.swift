import XCTest
import TraceAnalysis
import TraceReader

/// The heap-graph algorithms on small hand-built graphs, and on long ones (no recursion).
final class GraphAlgorithmTests: XCTestCase {
    func adjacency(_ n: Int, _ edges: [(Int, Int)]) -> Adjacency {
        Adjacency(nodeCount: n, edges: edges.map { (Int32($0.0), Int32($0.1)) })
    }

    func testStronglyConnectedComponents() {
        // 0 -> 1 -> 2 -> 0 (a cycle), 2 -> 3, 3 <-> 4 (a cycle), 5 alone, 6 -> 6 (a self-loop)
        let g = adjacency(7, [(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (4, 3), (6, 6)])
        let (c, count) = GraphAlgorithms.stronglyConnectedComponents(g)
        XCTAssertEqual(count, 4)
        XCTAssertEqual(Set([c[0], c[1], c[2]]).count, 1)
        XCTAssertEqual(c[3], c[4])
        XCTAssertNotEqual(c[0], c[3])
        XCTAssertEqual(Set(c).count, 4)
        // reverse topological numbering: {0,1,2} points into {3,4}
        XCTAssertGreaterThan(c[0], c[3])
        // restricted to some nodes: 1 left out breaks the first cycle
        var within = [Bool](repeating: true, count: 7)
        within[1] = false
        let (r, rc) = GraphAlgorithms.stronglyConnectedComponents(g, within: within)
        XCTAssertEqual(r[1], -1)
        XCTAssertNotEqual(r[0], r[2])
        XCTAssertEqual(rc, 5)
    }

    func testLongChainsAndCyclesNeedNoRecursion() {
        let n = 300_000
        // a list 0 -> 1 -> ... -> n-1, then the same closed into one cycle
        var edges = (0..<(n - 1)).map { ($0, $0 + 1) }
        let list = adjacency(n, edges)
        XCTAssertEqual(GraphAlgorithms.stronglyConnectedComponents(list).count, n)
        let (idom, order) = GraphAlgorithms.dominators(list, root: 0)
        XCTAssertEqual(order.count, n)
        XCTAssertEqual(idom[n - 1], Int32(n - 2))
        let retained = GraphAlgorithms.retainedSizes(idom: idom, order: order, sizes: [UInt64](repeating: 64, count: n))
        XCTAssertEqual(retained.bytes[0], UInt64(64 * n))
        XCTAssertEqual(retained.nodes[1], n - 1)
        edges.append((n - 1, 0))
        let ring = adjacency(n, edges)
        let (c, count) = GraphAlgorithms.stronglyConnectedComponents(ring)
        XCTAssertEqual(count, 1)
        XCTAssertEqual(Set(c), [0])
        XCTAssertTrue(GraphAlgorithms.reachable(ring, from: [5]).allSatisfy { $0 })
    }

    func testDominatorsAndRetainedSizes() {
        // 0 is the root: 0 -> 1, 0 -> 2, 1 -> 3, 2 -> 3, 3 -> 4, 4 -> 5, 5 -> 4, 1 -> 6; 7 unreachable
        let g = adjacency(8, [(0, 1), (0, 2), (1, 3), (2, 3), (3, 4), (4, 5), (5, 4), (1, 6), (7, 1)])
        let (idom, order) = GraphAlgorithms.dominators(g, root: 0)
        XCTAssertEqual(Array(idom), [0, 0, 0, 0, 3, 4, 1, -1])
        XCTAssertEqual(order.first, 0)
        XCTAssertFalse(order.contains(7))
        let sizes: [UInt64] = [0, 10, 20, 30, 40, 50, 60, 70]
        let (bytes, nodes) = GraphAlgorithms.retainedSizes(idom: idom, order: order, sizes: sizes)
        XCTAssertEqual(bytes[3], 30 + 40 + 50)
        XCTAssertEqual(bytes[1], 10 + 60)
        XCTAssertEqual(bytes[4], 90)
        XCTAssertEqual(bytes[0], 210)
        XCTAssertEqual(nodes[3], 3)
        XCTAssertEqual(bytes[7], 70)   // unreachable: only itself

        // a type counted once: 4 and 5 are one group, 5 is below 4
        let group: [Int32] = [-1, 0, 1, 2, 3, 3, 0, -1]
        let top = GraphAlgorithms.topmostOfGroup(idom: idom, order: order, group: group)
        XCTAssertTrue(top[4])
        XCTAssertFalse(top[5])
        XCTAssertTrue(top[1] && top[6] == false)   // 6 is under 1, both group 0
        XCTAssertTrue(top[2] && top[3])
    }

    func testShortestPathsPreferEarlierSources() {
        // sources 3 then 0; 0 -> 1 -> 2 and 3 -> 2: node 2 is one hop from 3
        let g = adjacency(4, [(0, 1), (1, 2), (3, 2)])
        let (parent, via, depth) = GraphAlgorithms.shortestPathTree(g, sources: [3, 0])
        XCTAssertEqual(depth, [0, 1, 1, 0])
        XCTAssertEqual(parent, [-2, 0, 3, -2])
        XCTAssertEqual(via[3], 0)
        XCTAssertEqual(via[0], 1)
        XCTAssertEqual(g.target[via[2]], 2)
    }

    // MARK: building the graph from words

    static let heap = HeapRegion(start: 0x10_0000, end: 0x20_0000, kindRaw: 3, owner: 0)
    static let globals = HeapRegion(start: 0x5000, end: 0x6000, kindRaw: 0, owner: 1)
    static let stack = HeapRegion(start: 0x7000, end: 0x8000, kindRaw: 1, owner: 2)
    static let tls = HeapRegion(start: 0x9000, end: 0xA000, kindRaw: 2, owner: 0)
    /// anonymous memory at a multiple of 64 MiB holding a block: a thread's malloc arena
    static let arena = HeapRegion(start: 0x400_0000, end: 0x410_0000, kindRaw: 2, owner: 0)

    func build(_ words: [(region: Int, at: UInt64, value: UInt64)],
               blocks: [(UInt64, UInt64, UInt32)], layouts: [UInt32: TypeLayout] = [:]) -> HeapGraph {
        let regions = [Self.globals, Self.stack, Self.tls, Self.heap, Self.arena]
        var runs: [(region: Int, offsets: [UInt64], values: [UInt64])] = []
        for w in words {
            if runs.last?.region != w.region { runs.append((w.region, [], [])) }
            runs[runs.count - 1].offsets.append(w.at - regions[w.region].start)
            runs[runs.count - 1].values.append(w.value)
        }
        return HeapGraph(begin: HeapSnapshotBegin(snapshotID: 1, ticks: 1, triggerRaw: 0, threadIndex: 1),
                         end: HeapSnapshotEnd(snapshotID: 1, bytesScanned: 0, wordsWritten: UInt64(words.count), durationNanoseconds: 0),
                         regions: regions, words: runs,
                         blocks: (blocks.map(\.0), blocks.map(\.1), blocks.map(\.2), blocks.map { _ in 0 }),
                         layout: { layouts[$0] })
    }

    func edges(_ g: HeapGraph) -> [String] {
        var out: [String] = []
        for n in 0..<g.nodeCount {
            for e in g.edges(of: n) { out.append("\(n)+\(g.edgeOffset[e])->\(g.edgeTarget[e]):\(g.edgeKind[e].name)") }
        }
        return out
    }

    func testWordsBecomeEdgesAndRoots() {
        // blocks: 0 at 0x10_0000 (48 bytes), 1 at 0x10_0040 (24 bytes, a Swift object of type 5),
        // 2 at 0x10_0080 (24 bytes), 3 at 0x400_0100 (32 bytes, in an arena)
        let layout = TypeLayout(typeID: 5, instanceSize: 24, fields: [.init(offset: 16, ownershipRaw: 2, name: "owner")])
        let g = build([
            (0, 0x5008, 0x10_0000),        // global -> 0
            (0, 0x5010, 0x10_0090),        // global -> 2 at +0x10 = its next chunk header (request 24): left out
            (1, 0x7ff0, 0x10_0048),        // stack -> 1, interior
            (2, 0x9000, 0x10_0080),        // TLS -> 2
            (3, 0x10_0008, 0x10_0040),     // 0+8 -> 1
            (3, 0x10_0010, 0x10_0010),     // 0 -> itself, not at its start: dropped
            (3, 0x10_0018, 0x10_0000),     // 0 -> itself at its start: kept
            (3, 0x10_0030, 0x10_0080),     // 0+48: past 0's 48 bytes (slack): dropped, not a root
            (3, 0x10_0040, 0x10_0080),     // Swift header of 1: dropped
            (3, 0x10_0048, 0x10_0080),     // Swift header of 1: dropped
            (3, 0x10_0050, 0x10_0000),     // 1.owner -> 0 (unowned)
            (3, 0x10_0100, 0x10_0000),     // heap outside blocks: freed memory, ignored
            (4, 0x400_0010, 0x10_0000),    // arena outside blocks: ignored
            (4, 0x400_0108, 0x10_0080),    // 3+8 -> 2
        ], blocks: [(0x10_0000, 48, 0), (0x10_0040, 24, 5), (0x10_0080, 24, 0), (0x400_0100, 32, 0)],
           layouts: [5: layout])
        XCTAssertEqual(edges(g), ["0+8->1:plain", "0+24->0:plain", "1+16->0:unowned", "3+8->2:plain"])
        XCTAssertEqual(g.roots.map(\.kind), [.global, .anonymous, .stack])
        XCTAssertEqual(g.roots.map(\.target), [0, 2, 1])
        XCTAssertEqual(g.arenaRegions, [4])
        XCTAssertEqual(g.wordCount, 14)
        XCTAssertEqual(g.node(containing: 0x10_0047), 1)
        XCTAssertNil(g.node(containing: 0x10_0058))
    }

    func testTargetsAcrossPagesAndRegions() {
        // block 0 spans the heap's first two pages; block 1 starts a page; block 2 is in the TLS
        // region (anonymous memory can hold blocks: mmapped ones)
        let g = build([
            (0, 0x5000, 0x10_1010),   // into block 0, in the page after its start
            (0, 0x5008, 0x10_1040),   // just past block 0: nothing
            (0, 0x5010, 0x10_2008),   // block 1
            (0, 0x5018, 0x10_3ff8),   // empty page: nothing
            (0, 0x5020, 0x9800),      // block 2
            (0, 0x5028, 0x8800),      // between regions: nothing
            (0, 0x5030, 0x10_0fef),   // just before block 0: nothing
        ], blocks: [(0x9400, 0x800, 0), (0x10_0ff0, 0x40, 0), (0x10_2000, 16, 0)])
        XCTAssertEqual(g.roots.map(\.target), [1, 2, 0])
        XCTAssertEqual(g.roots.map(\.address), [0x5000, 0x5010, 0x5020])
    }

    func testWeakFieldsMakeSideTables() {
        // 0: Observer (type 1) with weak `watched` at 16 -> 1, the side table; the side table
        // points back at 2, the Peer (type 2)
        let observer = TypeLayout(typeID: 1, instanceSize: 24, fields: [.init(offset: 16, ownershipRaw: 1, name: "watched")])
        var g = build([
            (0, 0x5000, 0x10_0000),
            (3, 0x10_0010, 0x10_0040),
            (3, 0x10_0040, 0x10_0080),
        ], blocks: [(0x10_0000, 24, 1), (0x10_0040, 32, 0), (0x10_0080, 24, 2)], layouts: [1: observer])
        XCTAssertEqual(edges(g), ["0+16->1:weak", "1+0->2:weak", "2+8->1:side table"])
        XCTAssertEqual(g.sideTables, [1])
        // marking again changes nothing
        g.markSideTables([1])
        XCTAssertEqual(edges(g).count, 3)
        // nothing is reachable from the Observer but itself, through edges that keep things reachable
        let keep = g.adjacency { $0.keepsReachable }
        XCTAssertEqual(GraphAlgorithms.reachable(keep, from: [0]), [true, false, false])
    }
}
