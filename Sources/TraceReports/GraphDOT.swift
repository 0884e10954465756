import TraceAnalysis

/// Graphviz DOT of heap-graph reports, drawn the way objgraph's `show_backrefs` draws: one box per
/// object (type, address, size), roots as ellipses, references as arrows labelled with the field.
public enum GraphDOT {
    static func quote(_ s: String) -> String {
        var out = "\""
        for c in s {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out + "\""
    }

    static func header(_ title: String) -> String {
        "digraph heap {\n  label=\(quote(title));\n  labelloc=t;\n  rankdir=LR;\n"
            + "  node [shape=box, style=filled, fillcolor=\"#f0f0f0\", fontname=\"Helvetica\", fontsize=10];\n"
            + "  edge [fontname=\"Helvetica\", fontsize=9];\n"
    }

    static func nodeLabel(_ a: HeapGraphAnalysis, _ n: Int) -> String {
        "\(a.typeName(n))\n\(HeapGraphAnalysis.hex(a.graph.addresses[n])), \(a.graph.sizes[n]) bytes"
    }

    /// The chains of a `chains` report: every chain shown, from its root to the object (shared
    /// holders drawn once); an object without a chain stands alone, in red.
    public static func chains(_ report: ChainsReport, analysis a: HeapGraphAnalysis) -> String {
        var out = header("chains at \(report.at), \(report.selection)")
        var drawn = Set<Int>()
        var roots = Set<String>()
        var arrows = Set<String>()
        let unreachable = Set(report.paths.filter { $0.root == nil }.map(\.node))
        let targets = Set(report.paths.map(\.node))
        func node(_ n: Int) {
            guard drawn.insert(n).inserted else { return }
            var attributes = "label=\(quote(nodeLabel(a, n)))"
            if unreachable.contains(n) { attributes += ", fillcolor=\"#ff9f9f\"" }
            else if targets.contains(n) { attributes += ", fillcolor=\"#ffd27f\"" }
            out += "  n\(n) [\(attributes)];\n"
        }
        for path in report.paths {
            node(path.node)
            guard let root = path.root else { continue }
            let name = a.rootName(root)
            let rootID = "r\(root.kind.rawValue)_\(String(root.address, radix: 16))_\(root.thread + 1)"
            if roots.insert(rootID).inserted {
                out += "  \(rootID) [shape=ellipse, fillcolor=\"#9fd3ff\", label=\(quote(name.label))];\n"
            }
            let first = path.edges.first?.source ?? path.node
            node(first)
            if arrows.insert("\(rootID)>\(first)").inserted { out += "  \(rootID) -> n\(first);\n" }
            let half = ChainsReport.maxHops / 2
            let long = path.edges.count + 1 > ChainsReport.maxHops
            for (k, (source, edge)) in path.edges.enumerated() {
                if long && k >= half - 1 && k < path.edges.count - half {
                    // the middle of a long chain: one node for all of it
                    if k == half - 1 {
                        let gap = "gap\(path.node)"
                        let resume = path.edges[path.edges.count - half].source
                        node(source)
                        node(resume)
                        out += "  \(gap) [shape=plaintext, style=\"\", label=\(quote("... \(path.edges.count - 2 * half + 1) references ..."))];\n"
                        out += "  n\(source) -> \(gap);\n  \(gap) -> n\(resume);\n"
                    }
                    continue
                }
                let t = Int(a.graph.edgeTarget[edge])
                node(source)
                node(t)
                if arrows.insert("\(edge)").inserted {
                    out += "  n\(source) -> n\(t) [label=\(quote(a.field(edge: edge, source: source)))];\n"
                }
            }
        }
        return out + "}\n"
    }

    /// One example of each kind of cycle in a `cycles` report, with its count.
    public static func cycles(_ report: CyclesReport, analysis a: HeapGraphAnalysis) -> String {
        var out = header("leaked cycles at \(report.at): \(report.totalCycles)")
        for (i, example) in report.examples.enumerated() {
            let c = report.cycles[i]
            out += "  subgraph cluster_\(i) {\n    label=\(quote("\(c.count) × " + c.fields.joined(separator: " -> ")));\n"
            for (n, _) in example { out += "    n\(n) [label=\(quote(nodeLabel(a, n)))];\n" }
            for (n, edges) in example {
                for e in edges {
                    out += "    n\(n) -> n\(a.graph.edgeTarget[e]) [label=\(quote(a.field(edge: e, source: n)))];\n"
                }
            }
            out += "  }\n"
        }
        return out + "}\n"
    }
}
