import TraceAnalysis

extension HeapGraphAnalysis {
    /// A cycle's member names and the references that close it, `Type.field`, with the blocks a
    /// Python object owns folded into it: `Node.other -> Node.other` rather than `Node.__dict__ ->
    /// Node (values).other -> ...`. `sorted`: a tangle's references, in name order.
    func cycleNames(_ walk: [(node: Int, edges: [Int])], sorted: Bool) -> (members: [String], fields: [String]) {
        let inside = Set(walk.map(\.node))
        // an owned block whose owner is in the cycle speaks for its owner
        func folded(_ v: Int) -> Int? {
            guard let o = python.owner(of: v), inside.contains(o) else { return nil }
            return o
        }
        var members: [String] = []
        var fields: [String] = []
        for (v, edges) in walk {
            if folded(v) == nil { members.append(typeName(v)) }
            for e in edges {
                let t = Int(graph.edgeTarget[e])
                if folded(t) == v { continue }   // the owner's field holding its own block
                let holder = folded(v) ?? v
                fields.append(typeName(holder) + HeapGraphAnalysis.fieldSuffix(field(edge: e, source: v)))
            }
        }
        return (members, sorted ? fields.sorted() : fields)
    }
}

extension CyclesReport {
    /// True when the walk goes round (one reference a member), not a tangle in address order.
    static func isRound(_ walk: [(node: Int, edges: [Int])], _ a: HeapGraphAnalysis) -> Bool {
        walk.allSatisfy { $0.edges.count == 1 } && walk.indices.allSatisfy {
            Int(a.graph.edgeTarget[walk[$0].edges[0]]) == walk[($0 + 1) % walk.count].node
        }
    }
}
