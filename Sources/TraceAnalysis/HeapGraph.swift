import TraceReader

/// How a reference holds its target.
public enum HeapEdgeKind: UInt8, Sendable, CaseIterable {
    /// A pointer with no declared ownership: any word of a C block, a Swift object's tail elements.
    /// Counts as strong.
    case plain = 0
    case strong = 1
    /// A Swift `weak` property (to its side table), and every pointer out of a side table.
    case weak = 2
    case unowned = 3
    case unownedUnsafe = 4
    /// A Swift object's hold on its weak-reference side table (through its reference counts,
    /// where the pointer is encoded: the snapshot does not see it; added by `markSideTables`).
    case sideTable = 5

    public var name: String {
        switch self {
        case .plain: return "plain"
        case .strong: return "strong"
        case .weak: return "weak"
        case .unowned: return "unowned"
        case .unownedUnsafe: return "unowned(unsafe)"
        case .sideTable: return "side table"
        }
    }

    /// Keeps its target reachable (everything but weak).
    public var keepsReachable: Bool { self != .weak }
    /// Owns its target: strong, plain or a side table (what chains follow and cycles are made of).
    public var owns: Bool { self == .plain || self == .strong || self == .sideTable }
}

/// Where a root word lies.
public enum HeapRootKind: UInt8, Sendable, Comparable {
    /// A module's writable data: a global or static variable.
    case global = 0
    /// Anonymous memory outside any live block: thread-local storage, mmapped areas.
    case anonymous = 1
    /// A thread's stack.
    case stack = 2
    /// A register of a thread stopped for the capture.
    case register = 3
    /// A thread's static thread-local storage (a module's `__thread` variables).
    case tls = 4
    /// A Python module's global variable: a value of its globals dict (the word is the dict's entry).
    case python = 5

    public static func < (a: HeapRootKind, b: HeapRootKind) -> Bool { a.rawValue < b.rawValue }

    public var name: String {
        switch self {
        case .global: return "global"
        case .anonymous: return "anonymous"
        case .stack: return "stack"
        case .register: return "register"
        case .tls: return "TLS"
        case .python: return "module"
        }
    }
}

/// A word outside every live block that points into one: where reachability starts.
public struct HeapRoot: Sendable, Equatable {
    public var kind: HeapRootKind
    /// The word's address; for a register, its number (`HeapRegisterNumber.name`).
    public var address: UInt64
    /// Index into `HeapGraph.regions`; -1 for a register.
    public var region: Int32
    /// The node it points into.
    public var target: Int32
    /// For a register: index into `HeapGraph.threadRegisters`.
    public var thread: Int32 = -1
}

/// Adjacency in compressed rows: node `n`'s edges are `start[n] ..< start[n + 1]` of `target`.
public struct Adjacency: Sendable {
    public var start: [Int]
    public var target: [Int32]

    public var nodeCount: Int { start.count - 1 }
    public var edgeCount: Int { target.count }

    /// From a list of (source, target) pairs over `nodeCount` nodes (edge order kept per source).
    public init(nodeCount: Int, edges: [(Int32, Int32)]) {
        var start = [Int](repeating: 0, count: nodeCount + 1)
        for (s, _) in edges { start[Int(s) + 1] += 1 }
        for i in 0..<nodeCount { start[i + 1] += start[i] }
        var fill = start
        var target = [Int32](repeating: 0, count: edges.count)
        for (s, t) in edges {
            target[fill[Int(s)]] = t
            fill[Int(s)] += 1
        }
        self.start = start
        self.target = target
    }

    public init(start: [Int], target: [Int32]) {
        self.start = start
        self.target = target
    }

    /// The same graph with every edge turned around.
    public func reversed() -> Adjacency {
        let n = nodeCount
        var rstart = [Int](repeating: 0, count: n + 1)
        for t in target { rstart[Int(t) + 1] += 1 }
        for i in 0..<n { rstart[i + 1] += rstart[i] }
        var fill = rstart
        var rtarget = [Int32](repeating: 0, count: target.count)
        for s in 0..<n {
            for e in start[s]..<start[s + 1] {
                let t = Int(target[e])
                rtarget[fill[t]] = Int32(s)
                fill[t] += 1
            }
        }
        return Adjacency(start: rstart, target: rtarget)
    }
}

/// The heap at one snapshot as a graph: live blocks (nodes, by address), the pointers between
/// them (edges), and the words outside blocks that point into them (roots). See docs/FORMAT.md
/// "Heap-graph snapshots" and `HeapGraphReplay` for how words become edges and roots.
public struct HeapGraph: Sendable {
    public var begin: HeapSnapshotBegin
    public var end: HeapSnapshotEnd
    public var regions: [HeapRegion]
    /// Regions of anonymous memory taken for glibc arena heaps of other threads: words there
    /// outside live blocks are allocator data or freed memory, not roots.
    public var arenaRegions: Set<Int32>

    // nodes, ascending by address
    public var addresses: [UInt64]
    public var sizes: [UInt64]
    public var typeIDs: [UInt32]
    public var stacks: [UInt32]
    public var nodeCount: Int { addresses.count }

    // edges, by source node
    public private(set) var edgeStart: [Int]
    public private(set) var edgeTarget: [Int32]
    /// The word's offset in the source block (saturates at UInt32.max).
    public private(set) var edgeOffset: [UInt32]
    public private(set) var edgeKind: [HeapEdgeKind]

    /// Sorted by kind (globals first), then address.
    public var roots: [HeapRoot]
    /// A block's first word when it points into a module's data (a C++ object's vtable, a Swift
    /// object's metadata): node -> value.
    public private(set) var firstWords: [Int32: UInt64] = [:]

    /// Records the block-start words of part 4 (docs/FORMAT.md) for the blocks they start.
    public mutating func noteFirstWords(_ runs: [(region: Int, offsets: [UInt64], values: [UInt64])]) {
        for run in runs where run.region >= 0 && run.region < regions.count {
            let base = regions[run.region].start
            for (offset, value) in zip(run.offsets, run.values) {
                let address = base &+ offset
                var lo = 0, hi = addresses.count
                while lo < hi {
                    let mid = (lo + hi) >> 1
                    if addresses[mid] < address { lo = mid + 1 } else { hi = mid }
                }
                if lo < addresses.count && addresses[lo] == address { firstWords[Int32(lo)] = value }
            }
        }
    }

    /// Python type objects at the snapshot, by address (part 9; Python processes only).
    public private(set) var pythonTypes: [UInt64: HeapPythonType] = [:]
    /// Node -> the built-in Python type whose address lies where that type's objects keep
    /// `ob_type` (a part-4 word), else 0.
    public private(set) var pythonTypeWords: [UInt64] = []

    /// Part 11: names of Python references (keys, modules, classes).
    public var pythonNames = PythonNames([])

    /// Part 10 by object address: dead built-in objects and list lengths.
    public private(set) var pythonFacts: [UInt64: HeapPythonFact] = [:]

    /// Records the Python types of part 9, the facts of part 10 and the data words their objects'
    /// headers hold.
    public mutating func notePythonTypes(_ types: [HeapPythonType], facts: [HeapPythonFact], minor: Int,
                                         dataWords runs: [(region: Int, offsets: [UInt64], values: [UInt64])]) {
        for t in types { pythonTypes[t.address] = t }
        for f in facts { pythonFacts[f.object] = f }
        pythonTypeWords = [UInt64](repeating: 0, count: nodeCount)
        var objectOffsets: [UInt64: UInt64] = [:]
        for t in types { objectOffsets[t.address] = t.objectOffset(minor: minor) + 8 }
        for run in runs where run.region >= 0 && run.region < regions.count {
            let base = regions[run.region].start
            for (offset, value) in zip(run.offsets, run.values) {
                guard let at = objectOffsets[value] else { continue }
                // the block starting `at` bytes before the word
                let start = base &+ offset &- at
                var lo = 0, hi = addresses.count
                while lo < hi {
                    let mid = (lo + hi) >> 1
                    if addresses[mid] < start { lo = mid + 1 } else { hi = mid }
                }
                // the first such word of a block wins (the lowest offset: `ob_type` itself), and only
                // inside the block's requested size (slack holds stale words)
                if lo < addresses.count && addresses[lo] == start && pythonTypeWords[lo] == 0 && at + 8 <= sizes[lo] {
                    pythonTypeWords[lo] = value
                }
            }
        }
    }

    /// Whether the other threads were stopped for the snapshot (nil: a recorder that did not say).
    public var world: HeapWorldStop?
    /// Registers of the threads stopped for the snapshot.
    public private(set) var threadRegisters: [HeapThreadRegisters] = []
    /// Frames of the threads at the snapshot.
    public var threadFrames: [HeapThreadFrames] = []
    /// Static TLS blocks of the modules, below each thread pointer (the end of a `tls` region).
    public var tlsModules: [HeapTLSModule] = []

    /// Registers that point into a live block become roots of kind `register`.
    public mutating func addRegisterRoots(_ threads: [HeapThreadRegisters]) {
        threadRegisters = threads
        for (t, regs) in threads.enumerated() {
            for (number, value) in zip(regs.numbers, regs.values) {
                guard let n = node(containing: value) else { continue }
                let into = value &- addresses[n]
                if into > 0 && into == HeapGraph.nextChunkHeaderOffset(sizes[n]) { continue }
                roots.append(HeapRoot(kind: .register, address: UInt64(number), region: -1, target: Int32(n), thread: Int32(t)))
            }
        }
        roots.sort { ($0.kind, $0.thread, $0.address) < ($1.kind, $1.thread, $1.address) }
    }

    /// Words read from the snapshot, and how many became edges and roots.
    public var wordCount = 0

    /// The node whose block `[address, address + max(size, 1))` holds `address`.
    public func node(containing address: UInt64) -> Int? {
        HeapGraph.find(address, addresses, sizes)
    }

    static func find(_ a: UInt64, _ addresses: [UInt64], _ sizes: [UInt64]) -> Int? {
        var lo = 0, hi = addresses.count
        while lo < hi {
            let mid = (lo &+ hi) >> 1
            if addresses[mid] <= a { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let i = lo - 1
        return a &- addresses[i] < max(sizes[i], 1) ? i : nil
    }

    public func edges(of node: Int) -> Range<Int> { edgeStart[node]..<edgeStart[node + 1] }
    public var edgeCount: Int { edgeTarget.count }

    /// The edges whose kind passes `include`, as adjacency over the nodes.
    public func adjacency(_ include: (HeapEdgeKind) -> Bool) -> Adjacency {
        var start = [Int](repeating: 0, count: nodeCount + 1)
        var target: [Int32] = []
        target.reserveCapacity(edgeTarget.count)
        for n in 0..<nodeCount {
            for e in edgeStart[n]..<edgeStart[n + 1] where include(edgeKind[e]) { target.append(edgeTarget[e]) }
            start[n + 1] = target.count
        }
        return Adjacency(start: start, target: target)
    }

    /// Blocks taken for Swift weak-reference side tables.
    public private(set) var sideTables = Set<Int32>()

    /// Takes `nodes` for Swift weak-reference side tables: a side table's pointer back to its
    /// object (at offset 0) and any other pointer out of it are weak, and the object holds its
    /// side table (an edge of kind `sideTable` from the object's reference-count word, offset 8),
    /// so a side table is reachable when its object is. Targets of weak fields are side tables; the
    /// caller may know more by their allocation site.
    /// Makes the edges out of node `n` whose offsets lie in `offsets` weak: words the layout says
    /// are no references (a Python object's GC links, a str's characters).
    public mutating func weaken(node n: Int, offsets: Range<UInt64>) {
        for e in edgeStart[n]..<edgeStart[n + 1] where offsets.contains(UInt64(edgeOffset[e])) {
            edgeKind[e] = .weak
        }
    }

    public mutating func markSideTables(_ nodes: some Sequence<Int>) {
        var added: [(source: Int32, target: Int32)] = []
        for n in nodes where sideTables.insert(Int32(n)).inserted {
            for e in edgeStart[n]..<edgeStart[n + 1] where edgeKind[e] != .sideTable {
                edgeKind[e] = .weak
                if edgeOffset[e] == 0 && Int(edgeTarget[e]) != n { added.append((edgeTarget[e], Int32(n))) }
            }
        }
        guard !added.isEmpty else { return }
        let n = nodeCount
        var extra = [Int](repeating: 0, count: n)
        for a in added { extra[Int(a.source)] += 1 }
        var start = [Int](repeating: 0, count: n + 1)
        for i in 0..<n { start[i + 1] = start[i] + (edgeStart[i + 1] - edgeStart[i]) + extra[i] }
        var et = [Int32](repeating: 0, count: start[n])
        var eo = [UInt32](repeating: 0, count: start[n])
        var ek = [HeapEdgeKind](repeating: .plain, count: start[n])
        var fill = start
        for i in 0..<n {
            for e in edgeStart[i]..<edgeStart[i + 1] {
                et[fill[i]] = edgeTarget[e]; eo[fill[i]] = edgeOffset[e]; ek[fill[i]] = edgeKind[e]
                fill[i] += 1
            }
        }
        for a in added {
            let i = Int(a.source)
            et[fill[i]] = a.target; eo[fill[i]] = 8; ek[fill[i]] = .sideTable
            fill[i] += 1
        }
        edgeStart = start
        edgeTarget = et
        edgeOffset = eo
        edgeKind = ek
    }

    /// Offset within a block of glibc's next chunk header: `request2size(size) - 16`. Allocator
    /// pointers to that chunk (`main_arena.top`, bin heads) land there, inside the block when the
    /// request fills the chunk's last 8 bytes.
    static func nextChunkHeaderOffset(_ size: UInt64) -> UInt64 {
        let chunk = max((size &+ 8 &+ 15) & ~15, 32)
        return chunk &- 16
    }

    /// Whether `a`, at or past the requested end of the block at `address`, lies in the pages
    /// glibc mapped for that block alone: such a chunk starts 16 bytes into a page and spans whole
    /// pages, whose tail past the request (after a shrinking realloc, say) holds stale words of the
    /// block's, not roots.
    static func inMappedChunkTail(_ a: UInt64, block address: UInt64, size: UInt64) -> Bool {
        (address &- 16) & 4095 == 0 && a < (address &+ size &+ 4095) & ~4095
    }

    /// Builds the graph.
    ///
    /// - A word inside a live block, below its requested size, is an edge from that block to the
    ///   block its value points into (interior pointers count; a block pointing into itself only
    ///   counts at its start). In a Swift object (a typed block) the words at offsets 0 and 8
    ///   (metadata, reference counts) are no edges; the field of its type's layout that holds the
    ///   word gives the ownership; the targets of weak fields are side tables (`markSideTables`).
    /// - A word outside live blocks is a root in a module's data (global), a thread's stack, or
    ///   other anonymous memory; none in the brk heap, in an arena heap of another thread
    ///   (anonymous, starting at a multiple of 64 MiB, holding live blocks), where it is allocator
    ///   data or freed memory, or in the page tail of a block glibc mapped alone. A root pointing exactly at glibc's next chunk header of a block is
    ///   taken for the allocator's own and left out.
    public init(begin: HeapSnapshotBegin, end: HeapSnapshotEnd, regions: [HeapRegion],
                words: [(region: Int, offsets: [UInt64], values: [UInt64])],
                blocks: (addresses: [UInt64], sizes: [UInt64], types: [UInt32], stacks: [UInt32]),
                layout: (UInt32) -> TypeLayout?, gcHeaders: [UInt8] = []) {
        self.begin = begin
        self.end = end
        self.regions = regions
        addresses = blocks.addresses
        sizes = blocks.sizes
        typeIDs = blocks.types
        stacks = blocks.stacks
        let n = addresses.count

        // arena heaps of other threads
        let arenaAlignment: UInt64 = 64 << 20
        var arenas = Set<Int32>()
        for (i, r) in regions.enumerated() where r.kind == .anonymous && r.start % arenaAlignment == 0 {
            var lo = 0, hi = n
            while lo < hi {
                let mid = (lo + hi) >> 1
                if addresses[mid] < r.start { lo = mid + 1 } else { hi = mid }
            }
            if lo < n && addresses[lo] < r.end { arenas.insert(Int32(i)) }
        }
        arenaRegions = arenas

        var layouts: [UInt32: TypeLayout?] = [:]
        var sources: [Int32] = [], targets: [Int32] = [], offsets: [UInt32] = [], kinds: [HeapEdgeKind] = []
        var roots: [HeapRoot] = []
        var count = 0
        let blockTypes = blocks.types
        // values point into the brk heap and anonymous memory (the recorder writes no others)
        let index = BlockIndex(regions: regions.filter { $0.kind == .heap || $0.kind == .anonymous }.map { ($0.start, $0.end) },
                               addresses: blocks.addresses)
        blocks.addresses.withUnsafeBufferPointer { addrs in
        blocks.sizes.withUnsafeBufferPointer { szs in
            @inline(__always) func findIn(_ a: UInt64) -> Int? { index.find(a, addrs, szs) }
            for run in words {
                guard run.region >= 0 && run.region < regions.count else { continue }
                let region = regions[run.region]
                guard let regionKind = region.kind else { continue }
                count += run.offsets.count
                // blocks lie only in the heap and anonymous memory
                let mayHoldBlocks = regionKind == .heap || regionKind == .anonymous
                var cursor = 0   // the last block starting at or below the current word
                for w in 0..<run.offsets.count {
                    let a = region.start &+ run.offsets[w]
                    let v = run.values[w]
                    var source = -1
                    if mayHoldBlocks && n > 0 {
                        if cursor >= n || addrs[cursor] > a { cursor = 0 }
                        if addrs[cursor] <= a {
                            // walk on while the next block still starts at or below a (binary search for long jumps)
                            if cursor + 1 < n && addrs[cursor + 1] <= a {
                                if cursor + 8 < n && addrs[cursor + 8] <= a {
                                    var lo = cursor + 8, hi = n
                                    while lo < hi {
                                        let mid = (lo &+ hi) >> 1
                                        if addrs[mid] <= a { lo = mid &+ 1 } else { hi = mid }
                                    }
                                    cursor = lo - 1
                                } else {
                                    while cursor + 1 < n && addrs[cursor + 1] <= a { cursor += 1 }
                                }
                            }
                            // past the requested size is slack: stale data, not the block's
                            if a &- addrs[cursor] < szs[cursor] { source = cursor }
                        }
                    }
                    if source >= 0 {
                        let off = a &- addrs[source]
                        let type = blockTypes[source]
                        if type != 0 && off < 16 { continue }       // Swift object header
                        guard let t = findIn(v) else { continue }
                        if t == source && v != addrs[t] { continue } // into itself, not at its start
                        if !gcHeaders.isEmpty && v &- addrs[t] == UInt64(gcHeaders[t]) { continue }
                        var kind = HeapEdgeKind.plain
                        if type != 0 {
                            let l: TypeLayout?
                            if let known = layouts[type] { l = known } else { l = layout(type); layouts[type] = l }
                            if let field = l?.field(containing: off) {
                                switch field.ownership {
                                case .weak: kind = .weak
                                case .unowned: kind = .unowned
                                case .unownedUnsafe: kind = .unownedUnsafe
                                case .strong, nil: kind = .strong
                                }
                            }
                        }
                        sources.append(Int32(source))
                        targets.append(Int32(t))
                        offsets.append(UInt32(truncatingIfNeeded: min(off, UInt64(UInt32.max))))
                        kinds.append(kind)
                        continue
                    }
                    let rootKind: HeapRootKind
                    switch regionKind {
                    case .module: rootKind = .global
                    case .stack: rootKind = .stack
                    case .anonymous:
                        if arenas.contains(Int32(run.region)) { continue }
                        if n > 0 && cursor < n && addrs[cursor] <= a
                            && HeapGraph.inMappedChunkTail(a, block: addrs[cursor], size: szs[cursor]) { continue }
                        rootKind = .anonymous
                    case .tls: rootKind = .tls
                    case .heap: continue
                    }
                    guard let t = findIn(v) else { continue }
                    if !gcHeaders.isEmpty && v &- addrs[t] == UInt64(gcHeaders[t]) { continue }
                    let into = v &- addrs[t]
                    if into > 0 && into == HeapGraph.nextChunkHeaderOffset(szs[t]) { continue }
                    roots.append(HeapRoot(kind: rootKind, address: a, region: Int32(run.region), target: Int32(t)))
                }
            }
        }
        }
        wordCount = count
        roots.sort { ($0.kind, $0.address) < ($1.kind, $1.address) }
        self.roots = roots

        // edges in rows by source (a counting sort keeps each block's words in address order)
        var start = [Int](repeating: 0, count: n + 1)
        for s in sources { start[Int(s) + 1] += 1 }
        for i in 0..<n { start[i + 1] += start[i] }
        var fill = start
        var et = [Int32](repeating: 0, count: sources.count)
        var eo = [UInt32](repeating: 0, count: sources.count)
        var ek = [HeapEdgeKind](repeating: .plain, count: sources.count)
        for i in 0..<sources.count {
            let s = Int(sources[i])
            let slot = fill[s]
            fill[s] += 1
            et[slot] = targets[i]
            eo[slot] = offsets[i]
            ek[slot] = kinds[i]
        }
        edgeStart = start
        edgeTarget = et
        edgeOffset = eo
        edgeKind = ek

        // a weak field points to its object's side table
        var weakTargets = Set<Int>()
        for e in 0..<ek.count where ek[e] == .weak { weakTargets.insert(Int(et[e])) }
        if !weakTargets.isEmpty { markSideTables(weakTargets.sorted()) }
    }
}
