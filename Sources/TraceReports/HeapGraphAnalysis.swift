import TraceAnalysis
import TraceFormat
import TraceReader

/// A heap graph with names, and the analyses the graph reports share (reachability, shortest
/// chains, leaked components), each computed once on first use.
///
/// Names: a node is named like `types` names a group (a Swift type, else `malloc@function`); an
/// edge by the holder's field (`items`, `other`) or its offset (`+0x18`); a root by the global's
/// symbol (`samples.graphTable`), the thread whose stack holds it, or its anonymous region.
public final class HeapGraphAnalysis {
    public let replay: HeapGraphReplay
    public let reader: TraceReader
    public let resolver: StackResolver
    public private(set) var graph: HeapGraph

    /// `fullNames`: Python objects by module-qualified names (`__main__.MyBigFatObject`).
    public init(replay: HeapGraphReplay, resolver: StackResolver, fullNames: Bool = false) {
        self.replay = replay
        reader = replay.reader
        self.resolver = resolver
        graph = replay.graph!
        // Swift weak references point to a side table that points back at the object: known by
        // the weak fields that point to them and by where the runtime allocates them (a weak
        // global or a weak reference in an untyped block has no layout to say so).
        var sideTableStacks: [UInt32: Bool] = [:]
        var sideTables: [Int] = []
        // (a side table is a small untyped block: 32 bytes in Swift 6; only those are symbolized here)
        for n in 0..<graph.nodeCount where graph.typeIDs[n] == 0 && graph.sizes[n] <= 64 {
            let stack = graph.stacks[n]
            let isSideTable: Bool
            if let known = sideTableStacks[stack] { isSideTable = known } else {
                let f = resolver.function(stack)
                isSideTable = f.contains("allocateSideTable") || f.contains("formWeakReference")
                sideTableStacks[stack] = isSideTable
            }
            if isSideTable { sideTables.append(n) }
        }
        graph.markSideTables(sideTables)
        let minor = Int((reader.interpreter?.versionHex ?? 0) >> 16 & 0xFF)
        python = PythonObjects(graph: graph, minor: minor, fullNames: fullNames)
        python.weakenNonReferences(&graph)
        // a module's globals are the program's own roots: chains start there (`module __main__ .registry`)
        python.addModuleRoots(&graph)
        for m in python.moduleGlobals { moduleGlobalNames[m.address] = m.name }
    }

    /// A module global's root word -> `__main__ .registry`.
    private var moduleGlobalNames: [UInt64: String] = [:]

    // MARK: names

    private struct GroupKey: Hashable {
        var type: UInt32
        var stack: UInt32
    }

    /// Python objects and the blocks they own, by node (CPython traces with part 9).
    public let python: PythonObjects

    private var groupIDs: [GroupKey: Int32] = [:]
    /// Names of node groups (types), indexed by `groupOf`.
    public private(set) var groupNames: [String] = []
    private var nameIndex: [String: Int32] = [:]

    /// Every node's group: nodes with one name share a group.
    public private(set) lazy var groupOf: [Int32] = {
        var out = [Int32](repeating: 0, count: graph.nodeCount)
        for n in 0..<graph.nodeCount { out[n] = group(ofNode: n) }
        return out
    }()

    private func group(ofNode n: Int) -> Int32 {
        if let name = python.name(of: n) { return group(named: name) }
        let type = graph.typeIDs[n]
        let key = GroupKey(type: type, stack: type != 0 ? 0 : graph.stacks[n])
        if let g = groupIDs[key] { return g }
        // as `types` names its rows (TypeNaming)
        let name = type != 0 ? reader.types[type]?.name ?? "(type \(type))" : "malloc@" + resolver.function(key.stack)
        let g: Int32
        if let known = nameIndex[name] { g = known } else {
            g = Int32(groupNames.count)
            groupNames.append(name)
            nameIndex[name] = g
        }
        groupIDs[key] = g
        return g
    }

    private func group(named name: String) -> Int32 {
        if let known = nameIndex[name] { return known }
        let g = Int32(groupNames.count)
        groupNames.append(name)
        nameIndex[name] = g
        return g
    }

    /// Live blocks and bytes by name (`typeName`).
    public func tallies() -> [String: HeapSnapshot.Tally] {
        var out: [String: HeapSnapshot.Tally] = [:]
        for n in 0..<graph.nodeCount {
            let name = typeName(n)
            out[name, default: .init()].blocks += 1
            out[name, default: .init()].bytes += graph.sizes[n]
        }
        return out
    }

    /// The node's type: a Swift type's name, or `malloc@function` for any other block.
    public func typeName(_ n: Int) -> String { groupNames[Int(group(ofNode: n))] }

    /// Where the node was allocated: `function at file:line` of the innermost user frame.
    public func site(_ n: Int) -> String { resolver.location(graph.stacks[n]) }

    /// The allocating function (the innermost user frame).
    public func function(_ n: Int) -> String { resolver.function(graph.stacks[n]) }

    /// The field of the source node that holds edge `e`: a stored property's name (`items`, or
    /// `items+8` inside it) or the offset (`+0x18`).
    public func field(edge e: Int, source: Int) -> String {
        if graph.edgeKind[e] == .sideTable { return "(side table)" }
        let offset = UInt64(graph.edgeOffset[e])
        if let field = python.field(source: source, target: Int(graph.edgeTarget[e]), offset: offset) { return field }
        let type = graph.typeIDs[source]
        if type != 0, let layout = reader.types.layout(of: type), let f = layout.field(containing: offset) {
            return offset == f.offset ? f.name : "\(f.name)+\(offset - f.offset)"
        }
        return "+0x" + String(offset, radix: 16)
    }

    /// `Type.field` or `Type+0x18`.
    public func qualifiedField(edge e: Int, source: Int) -> String {
        typeName(source) + HeapGraphAnalysis.fieldSuffix(field(edge: e, source: source))
    }

    /// How a field follows a type's name: `.items`, `+0x18`, ` (side table)`.
    static func fieldSuffix(_ f: String) -> String {
        if f.isEmpty { return "" }
        if f.hasPrefix("+") || f.hasPrefix("[") { return f }
        if f.hasPrefix("(") { return " " + f }
        return "." + f
    }

    public struct RootName: Hashable, Sendable {
        /// `global`, `stack`, `anonymous`.
        public var kind: String
        /// `samples.graphTable`, `thread 1 "main"`, `anonymous 0x7f...-0x7f...`.
        public var name: String
        /// For a global: its module's file name.
        public var module: String?

        /// The kind and the name as printed: the kind once (`TLS of thread 5`, not `TLS TLS of thread 5`).
        public var label: String { HeapGraphAnalysis.rootLabel(kind: kind, name: name) }
    }

    /// A root's kind and name as printed: names that already start with their kind (`stack of ...`,
    /// `TLS of ...`, `anonymous memory ...`) are not prefixed again.
    public static func rootLabel(kind: String, name: String) -> String {
        name.hasPrefix(kind + " ") ? name : kind + " " + name
    }

    private var rootNames: [UInt64: RootName] = [:]
    private var regionNames: [Int32: RootName] = [:]

    /// What a root is: the global (by symbol) it lies in, the stack of the thread, or the
    /// anonymous region.
    public func rootName(_ r: HeapRoot) -> RootName {
        switch r.kind {
        case .global:
            if let known = rootNames[r.address] { return known }
            let name: RootName
            if let sym = resolver.symbolizer.dataSymbol(at: r.address) {
                name = RootName(kind: "global", name: sym.name + (sym.offset == 0 ? "" : "+\(sym.offset)"), module: sym.module)
            } else if let m = resolver.symbolizer.module(at: r.address) {
                name = RootName(kind: "global", name: m.name + "+0x" + String(m.offset, radix: 16), module: m.name)
            } else {
                name = RootName(kind: "global", name: HeapGraphAnalysis.hex(r.address), module: nil)
            }
            rootNames[r.address] = name
            return name
        case .stack:
            let region = graph.regions[Int(r.region)]
            let thread = threadName(owner: region.owner)
            if let (k, pc, exact) = frame(holding: r.address, in: region) {
                let key = FrameKey(region: r.region, frame: k)
                if let known = frameNames[key] { return known }
                // frame 0 is at the stopped instruction, the others at return addresses
                var function = HeapGraphAnalysis.hex(pc)
                if let f = resolver.symbolizer.frames(for: exact ? pc &+ 1 : pc).last {
                    function = StackResolver.shortName(f)
                    if let file = f.file {
                        let line = f.line.map { ":\($0)" } ?? ""
                        function += " (\(file)\(line))"
                    }
                }
                let name = RootName(kind: "stack", name: "frame #\(k) \(function) in \(thread)", module: nil)
                frameNames[key] = name
                return name
            }
            if let known = regionNames[r.region] { return known }
            let name = RootName(kind: "stack", name: "stack of \(thread)", module: nil)
            regionNames[r.region] = name
            return name
        case .register:
            let regs = graph.threadRegisters[Int(r.thread)]
            let thread = regs.threadIndex != 0 ? threadName(owner: UInt64(regs.threadIndex)) : threadName(owner: 1 << 32 | UInt64(regs.tid))
            return RootName(kind: "register", name: HeapRegisterNumber.name(UInt8(truncatingIfNeeded: r.address)) + " of " + thread, module: nil)
        case .tls:
            if let known = rootNames[r.address] { return known }
            let name = tlsName(r)
            rootNames[r.address] = name
            return name
        case .python:
            return RootName(kind: "module", name: moduleGlobalNames[r.address] ?? HeapGraphAnalysis.hex(r.address), module: nil)
        case .anonymous:
            if let known = regionNames[r.region] { return known }
            let region = graph.regions[Int(r.region)]
            let name = RootName(kind: "anonymous", name: "anonymous memory " + HeapGraphAnalysis.hex(region.start) + "-"
                                + HeapGraphAnalysis.hex(region.end), module: nil)
            regionNames[r.region] = name
            return name
        }
    }

    public static func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

    private struct FrameKey: Hashable {
        var region: Int32
        var frame: Int
    }

    private var frameNames: [FrameKey: RootName] = [:]

    /// `thread 2 "worker"` for a thread index; `thread with tid 1234` for 2^32 + tid (no slot).
    public func threadName(owner: UInt64) -> String {
        if owner >> 32 != 0 { return "thread with tid \(owner & 0xffff_ffff)" }
        let index = UInt32(truncatingIfNeeded: owner)
        return "thread \(index)" + (reader.threads[index].map { " \"\($0.name)\"" } ?? "")
    }

    /// The frame (number, code address) whose part of the stack holds `address`: the innermost
    /// frame whose lowest address is at or below it, of the thread whose frames lie in `region`.
    func frame(holding address: UInt64, in region: HeapRegion) -> (Int, UInt64, exact: Bool)? {
        for f in graph.threadFrames where !f.slots.isEmpty && f.slots[0] >= region.start && f.slots[0] < region.end {
            guard address >= f.slots[0] else { return nil }
            var k = 0
            while k + 1 < f.slots.count && f.slots[k + 1] <= address { k += 1 }
            return (k, f.pcs[k], k == 0 && !f.firstIsReturnAddress)
        }
        return nil
    }

    /// `TLS of thread 2 "worker" (sample-graph: graph_tls)`: the module's TLS symbol holding the
    /// word, else the module and the offset in its TLS block.
    func tlsName(_ r: HeapRoot) -> RootName {
        let region = graph.regions[Int(r.region)]
        let thread = threadName(owner: region.owner)
        // the region ends at the thread pointer; module blocks lie below it (docs/FORMAT.md)
        let below = region.end &- r.address
        for m in graph.tlsModules where below <= m.offset && below > m.offset &- m.size {
            let offset = m.offset - below
            let module = reader.modules.first { $0.id == m.moduleID }
            let file = module.map { $0.path.split(separator: "/").last.map(String.init) ?? $0.path } ?? "module \(m.moduleID)"
            if let module, let sym = resolver.symbolizer.tlsSymbol(module: module.path, offset: offset) {
                return RootName(kind: "TLS", name: "TLS of \(thread) (\(file): \(sym.name)" + (sym.offset == 0 ? "" : "+\(sym.offset)") + ")", module: file)
            }
            return RootName(kind: "TLS", name: "TLS of \(thread) (\(file)+0x" + String(offset, radix: 16) + ")", module: file)
        }
        return RootName(kind: "TLS", name: "TLS of \(thread)", module: nil)
    }

    // MARK: analyses

    /// Edges that keep their target reachable (all but weak), with each one's index in the graph.
    public private(set) lazy var keeping: (adjacency: Adjacency, edge: [Int]) = filtered { $0.keepsReachable }
    /// Edges that own their target (strong and plain): what chains follow and cycles are made of.
    public private(set) lazy var owning: (adjacency: Adjacency, edge: [Int]) = filtered { $0.owns }

    private func filtered(_ include: (HeapEdgeKind) -> Bool) -> (Adjacency, [Int]) {
        var start = [Int](repeating: 0, count: graph.nodeCount + 1)
        var target: [Int32] = []
        var index: [Int] = []
        target.reserveCapacity(graph.edgeCount)
        index.reserveCapacity(graph.edgeCount)
        for n in 0..<graph.nodeCount {
            for e in graph.edges(of: n) where include(graph.edgeKind[e]) {
                target.append(graph.edgeTarget[e])
                index.append(e)
            }
            start[n + 1] = target.count
        }
        return (Adjacency(start: start, target: target), index)
    }

    /// Root targets in root order (globals first).
    public var rootTargets: [Int32] { graph.roots.map(\.target) }

    /// Nodes reachable from a root through edges that keep things reachable.
    public private(set) lazy var reachable: [Bool] = {
        var r = GraphAlgorithms.reachable(keeping.adjacency, from: rootTargets)
        // a Python free list's objects are the interpreter's cache of memory, not objects: never leaked
        for n in python.dead { r[Int(n)] = true }
        return r
    }()

    /// Shortest chains of owning edges from the roots; a Python module's globals first, so that
    /// what they hold is shown held by them.
    public private(set) lazy var chains: (parent: [Int32], via: [Int], depth: [Int32]) = {
        let roots = graph.roots
        let python = roots.contains(where: { $0.kind == .python })
        return GraphAlgorithms.shortestPathTree(owning.adjacency, sources: rootTargets,
                                                first: python ? { roots[$0].kind == .python } : nil)
    }()

    /// Strongly connected components of the unreachable nodes (edges that keep things reachable).
    public private(set) lazy var leakedComponents: (component: [Int32], count: Int) =
        GraphAlgorithms.stronglyConnectedComponents(keeping.adjacency, within: reachable.map { !$0 })

    /// For each leaked component: true when no other leaked component points into it (the root of
    /// a leaked structure).
    public private(set) lazy var isLeakRoot: [Bool] = {
        let (component, count) = leakedComponents
        var held = [Bool](repeating: false, count: count)
        let adj = keeping.adjacency
        for n in 0..<graph.nodeCount where component[n] >= 0 {
            for e in adj.start[n]..<adj.start[n + 1] {
                let c = component[Int(adj.target[e])]
                if c >= 0 && c != component[n] { held[Int(c)] = true }
            }
        }
        return held.map { !$0 }
    }()

    /// Members of every leaked component.
    public private(set) lazy var componentMembers: [[Int32]] = {
        let (component, count) = leakedComponents
        var members = [[Int32]](repeating: [], count: count)
        for n in 0..<graph.nodeCount where component[n] >= 0 { members[Int(component[n])].append(Int32(n)) }
        return members
    }()

    /// True when the component is a cycle over `adjacency`: more than one member, or one that
    /// points to itself.
    public func isCycle(_ members: [Int32], _ adjacency: Adjacency) -> Bool {
        if members.count > 1 { return true }
        let n = Int(members[0])
        return adjacency.target[adjacency.start[n]..<adjacency.start[n + 1]].contains(Int32(n))
    }

    /// Nodes selected by type name (exact, or the part after the module: `Target` for
    /// `samples.Target`), allocating function (exact, or without its parameters), or an address
    /// inside the block.
    public func select(type: String?, site: String?, address: UInt64?) -> [Int] {
        if let address { return graph.node(containing: address).map { [$0] } ?? [] }
        var out: [Int] = []
        if let type {
            _ = groupOf
            var wanted = Set<Int32>()
            for (g, name) in groupNames.enumerated() where name == type { wanted.insert(Int32(g)) }
            if wanted.isEmpty {
                for (g, name) in groupNames.enumerated() where name.hasSuffix("." + type) { wanted.insert(Int32(g)) }
            }
            for n in 0..<graph.nodeCount where wanted.contains(groupOf[n]) { out.append(n) }
            return out
        }
        if let site {
            var matches: [UInt32: Bool] = [:]
            for n in 0..<graph.nodeCount {
                let stack = graph.stacks[n]
                let ok: Bool
                if let known = matches[stack] { ok = known } else {
                    let f = resolver.function(stack)
                    ok = f == site || f.split(separator: "(", maxSplits: 1).first.map(String.init) == site
                    matches[stack] = ok
                }
                if ok { out.append(n) }
            }
        }
        return out
    }

    /// Header lines shared by the graph reports: the moment and the snapshot.
    public var momentDescription: String { replay.momentDescription }

    public var snapshotID: UInt64 { graph.begin.snapshotID }

    public var timeNs: Int64 { replay.nanoseconds(graph.begin.ticks) }

    public var liveBytes: UInt64 { graph.sizes.reduce(0, &+) }
}
