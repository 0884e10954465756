/// Graph algorithms for heap graphs: iterative (no recursion: a heap can be a linked list of
/// millions of nodes), linear or near-linear in nodes + edges.
public enum GraphAlgorithms {
    /// Breadth-first search from `sources` (in order: ties go to the earlier source). Returns for
    /// each node the node it was reached from (`-1` unreached, `-2` a source) and the index in
    /// `adjacency.target` of the edge used (or, for a source node, the index in `sources`), and
    /// its distance: 0 for a source, -1 unreached. With `first`, the search runs in two stages:
    /// every node that the sources `first` accepts reach gets its chain from one of those, however
    /// long (a program's own roots, a Python module's globals, before the runtime's anonymous memory).
    public static func shortestPathTree(_ adjacency: Adjacency, sources: [Int32],
                                        first: ((Int) -> Bool)? = nil) -> (parent: [Int32], via: [Int], depth: [Int32]) {
        let n = adjacency.nodeCount
        var parent = [Int32](repeating: -1, count: n)
        var via = [Int](repeating: -1, count: n)
        var depth = [Int32](repeating: -1, count: n)
        var queue = [Int32]()
        queue.reserveCapacity(n)
        var head = 0
        for stage in first == nil ? [true] : [true, false] {
            for (i, s) in sources.enumerated() where (first?(i) ?? true) == stage && parent[Int(s)] == -1 {
                parent[Int(s)] = -2
                via[Int(s)] = i
                depth[Int(s)] = 0
                queue.append(s)
            }
            adjacency.start.withUnsafeBufferPointer { start in
                adjacency.target.withUnsafeBufferPointer { target in
                    parent.withUnsafeMutableBufferPointer { parent in
                        while head < queue.count {
                            let v = Int(queue[head])
                            head += 1
                            for e in start[v]..<start[v + 1] {
                                let t = Int(target[e])
                                if parent[t] == -1 {
                                    parent[t] = Int32(v)
                                    via[t] = e
                                    depth[t] = depth[v] &+ 1
                                    queue.append(Int32(t))
                                }
                            }
                        }
                    }
                }
            }
        }
        return (parent, via, depth)
    }

    /// The nodes reachable from `sources`.
    public static func reachable(_ adjacency: Adjacency, from sources: [Int32]) -> [Bool] {
        let n = adjacency.nodeCount
        var seen = [Bool](repeating: false, count: n)
        var stack: [Int32] = []
        for s in sources where !seen[Int(s)] {
            seen[Int(s)] = true
            stack.append(s)
        }
        adjacency.start.withUnsafeBufferPointer { start in
            adjacency.target.withUnsafeBufferPointer { target in
                seen.withUnsafeMutableBufferPointer { seen in
                    while let v = stack.popLast() {
                        for e in start[Int(v)]..<start[Int(v) + 1] {
                            let t = Int(target[e])
                            if !seen[t] {
                                seen[t] = true
                                stack.append(Int32(t))
                            }
                        }
                    }
                }
            }
        }
        return seen
    }

    /// Strongly connected components (Tarjan's algorithm, iterative) of the subgraph of nodes with
    /// `within[n]` true (all nodes when nil). Returns each node's component (-1 outside) and the
    /// number of components. Components are numbered in reverse topological order: an edge between
    /// two components goes from a higher number to a lower one.
    public static func stronglyConnectedComponents(_ adjacency: Adjacency, within: [Bool]? = nil) -> (component: [Int32], count: Int) {
        let n = adjacency.nodeCount
        var index = [Int32](repeating: -1, count: n)
        var low = [Int32](repeating: 0, count: n)
        var component = [Int32](repeating: -1, count: n)
        var onStack = [Bool](repeating: false, count: n)
        var stack: [Int32] = []
        // the DFS: (node, next edge to look at)
        var calls: [(node: Int32, edge: Int)] = []
        var next: Int32 = 0
        var count: Int32 = 0
        let start = adjacency.start, target = adjacency.target
        for root in 0..<n {
            if index[root] != -1 { continue }
            if let within, !within[root] { continue }
            index[root] = next; low[root] = next; next += 1
            stack.append(Int32(root)); onStack[root] = true
            calls.append((Int32(root), start[root]))
            while !calls.isEmpty {
                let v = Int(calls[calls.count - 1].node)
                var e = calls[calls.count - 1].edge
                var descended = false
                while e < start[v + 1] {
                    let w = Int(target[e])
                    e += 1
                    if let within, !within[w] { continue }
                    if index[w] == -1 {
                        calls[calls.count - 1].edge = e
                        index[w] = next; low[w] = next; next += 1
                        stack.append(Int32(w)); onStack[w] = true
                        calls.append((Int32(w), start[w]))
                        descended = true
                        break
                    } else if onStack[w] {
                        low[v] = min(low[v], index[w])
                    }
                }
                if descended { continue }
                // v is done
                calls.removeLast()
                if low[v] == index[v] {
                    while true {
                        let w = Int(stack.removeLast())
                        onStack[w] = false
                        component[w] = count
                        if w == v { break }
                    }
                    count += 1
                }
                if let parent = calls.last {
                    let p = Int(parent.node)
                    low[p] = min(low[p], low[v])
                }
            }
        }
        return (component, Int(count))
    }

    /// Immediate dominators of every node reachable from `root` (Cooper, Harvey and Kennedy's
    /// iterative algorithm). Returns `idom` (-1 for unreachable nodes; `idom[root] == root`) and
    /// the reachable nodes in reverse postorder (the root first; a node after its dominator).
    public static func dominators(_ adjacency: Adjacency, root: Int) -> (idom: [Int32], order: [Int32]) {
        let n = adjacency.nodeCount
        // postorder by an iterative depth-first search
        var postIndex = [Int32](repeating: -1, count: n)
        var visited = [Bool](repeating: false, count: n)
        var post: [Int32] = []
        post.reserveCapacity(n)
        var calls: [(node: Int32, edge: Int)] = [(Int32(root), adjacency.start[root])]
        visited[root] = true
        let start = adjacency.start, target = adjacency.target
        while !calls.isEmpty {
            let v = Int(calls[calls.count - 1].node)
            var e = calls[calls.count - 1].edge
            var descended = false
            while e < start[v + 1] {
                let w = Int(target[e])
                e += 1
                if !visited[w] {
                    visited[w] = true
                    calls[calls.count - 1].edge = e
                    calls.append((Int32(w), start[w]))
                    descended = true
                    break
                }
            }
            if descended { continue }
            calls.removeLast()
            postIndex[v] = Int32(post.count)
            post.append(Int32(v))
        }
        let order = Array(post.reversed())
        let preds = adjacency.reversed()
        var idom = [Int32](repeating: -1, count: n)
        idom[root] = Int32(root)
        var changed = true
        idom.withUnsafeMutableBufferPointer { idom in
            postIndex.withUnsafeBufferPointer { postIndex in
                func intersect(_ a: Int32, _ b: Int32) -> Int32 {
                    var f1 = a, f2 = b
                    while f1 != f2 {
                        while postIndex[Int(f1)] < postIndex[Int(f2)] { f1 = idom[Int(f1)] }
                        while postIndex[Int(f2)] < postIndex[Int(f1)] { f2 = idom[Int(f2)] }
                    }
                    return f1
                }
                while changed {
                    changed = false
                    for v in order.dropFirst() {
                        let vi = Int(v)
                        var newIdom: Int32 = -1
                        for e in preds.start[vi]..<preds.start[vi + 1] {
                            let p = preds.target[e]
                            guard idom[Int(p)] != -1 else { continue }
                            newIdom = newIdom == -1 ? p : intersect(p, newIdom)
                        }
                        if newIdom != -1 && idom[vi] != newIdom {
                            idom[vi] = newIdom
                            changed = true
                        }
                    }
                }
            }
        }
        return (idom, order)
    }

    /// Retained sizes over a dominator tree: each node's own size plus those of all the nodes it
    /// dominates (`order` as `dominators` returns it).
    public static func retainedSizes(idom: [Int32], order: [Int32], sizes: [UInt64]) -> (bytes: [UInt64], nodes: [Int]) {
        var bytes = sizes
        var nodes = [Int](repeating: 1, count: sizes.count)
        for v in order.reversed() {
            let d = Int(idom[Int(v)])
            if d == Int(v) || d < 0 { continue }
            bytes[d] &+= bytes[Int(v)]
            nodes[d] += nodes[Int(v)]
        }
        return (bytes, nodes)
    }

    /// The nodes of a dominator tree that have no ancestor in the same group (groups are small
    /// non-negative numbers; -1: none): summing their retained sizes counts each byte of a group once.
    public static func topmostOfGroup(idom: [Int32], order: [Int32], group: [Int32]) -> [Bool] {
        let n = idom.count
        // children lists of the dominator tree
        var childStart = [Int](repeating: 0, count: n + 1)
        for v in order where idom[Int(v)] != v && idom[Int(v)] >= 0 { childStart[Int(idom[Int(v)]) + 1] += 1 }
        for i in 0..<n { childStart[i + 1] += childStart[i] }
        var fill = childStart
        var children = [Int32](repeating: 0, count: childStart[n])
        for v in order where idom[Int(v)] != v && idom[Int(v)] >= 0 {
            let d = Int(idom[Int(v)])
            children[fill[d]] = v
            fill[d] += 1
        }
        var onPath = [Int](repeating: 0, count: Int(group.max() ?? 0) + 1)
        var topmost = [Bool](repeating: false, count: n)
        guard let root = order.first else { return topmost }
        // (node, next child, entered)
        var calls: [(node: Int32, child: Int)] = [(root, childStart[Int(root)])]
        func enter(_ v: Int32) {
            let g = group[Int(v)]
            guard g >= 0 else { return }
            if onPath[Int(g)] == 0 { topmost[Int(v)] = true }
            onPath[Int(g)] += 1
        }
        func leave(_ v: Int32) {
            let g = group[Int(v)]
            guard g >= 0 else { return }
            onPath[Int(g)] -= 1
        }
        enter(root)
        while !calls.isEmpty {
            let v = Int(calls[calls.count - 1].node)
            let c = calls[calls.count - 1].child
            if c < childStart[v + 1] {
                calls[calls.count - 1].child = c + 1
                let w = children[c]
                enter(w)
                calls.append((w, childStart[Int(w)]))
            } else {
                leave(Int32(v))
                calls.removeLast()
            }
        }
        return topmost
    }
}
