import TraceAnalysis

extension HeapGraphAnalysis {
    /// Allocation stack -> the Python name most of its blocks have in this snapshot: a Python
    /// object's type is known only where a snapshot read it, so reports over time (the timeline's
    /// stacked types, the report's tables) name a stack's blocks by what they were here.
    public func pythonNamesByStack() -> [UInt32: String] {
        var counts: [UInt32: [Int32: Int]] = [:]
        for n in 0..<graph.nodeCount where python.name(of: n) != nil {
            counts[graph.stacks[n], default: [:]][groupOf[n], default: 0] += 1
        }
        return counts.mapValues { byGroup in
            let best = byGroup.max { ($0.value, $1.key) < ($1.value, $0.key) }!.key
            return groupNames[Int(best)]
        }
    }
}
