extension GraphAlgorithms {
    /// Shortest chains from `sources` as `shortestPathTree` finds them, except that every node
    /// the sources `first` accepts reach gets its chain from one of those, however long: a
    /// program's own roots (a Python module's globals) before the runtime's anonymous memory.
    public static func shortestPathTree(_ adjacency: Adjacency, sources: [Int32],
                                        first: (Int) -> Bool) -> (parent: [Int32], via: [Int], depth: [Int32]) {
        let n = adjacency.nodeCount
        var parent = [Int32](repeating: -1, count: n)
        var via = [Int](repeating: -1, count: n)
        var depth = [Int32](repeating: -1, count: n)
        var queue = [Int32]()
        queue.reserveCapacity(n)
        var head = 0
        for stage in [true, false] {
            for (i, s) in sources.enumerated() where first(i) == stage && parent[Int(s)] == -1 {
                parent[Int(s)] = -2
                via[Int(s)] = i
                depth[Int(s)] = 0
                queue.append(s)
            }
            while head < queue.count {
                let v = Int(queue[head])
                head += 1
                for e in adjacency.start[v]..<adjacency.start[v + 1] {
                    let t = Int(adjacency.target[e])
                    if parent[t] == -1 {
                        parent[t] = Int32(v)
                        via[t] = e
                        depth[t] = depth[v] &+ 1
                        queue.append(Int32(t))
                    }
                }
            }
        }
        return (parent, via, depth)
    }
}
