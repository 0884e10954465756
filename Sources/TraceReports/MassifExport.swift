import FoundationEssentials
import Glibc
import Symbolication
import TraceAnalysis

/// valgrind massif's text format, as `ms_print` and massif-visualizer read it: the header first,
/// time in milliseconds, snapshots from the timeline, detailed trees at the peak and at the end.
public enum MassifExport {
    public static func render(replay: HeapReplay, timeline: Timeline, resolver: StackResolver, snapshots: Int = 60) -> String {
        let reader = replay.reader
        let command = ([reader.process?.executable ?? ""] + (reader.process?.arguments.dropFirst() ?? [])).joined(separator: " ")
        let estimates = reader.sampling.map { "; " + $0.note } ?? ""
        var o = "desc: alloctrace (requested bytes of live heap blocks\(estimates))\ncmd: \(command)\ntime_unit: ms\n"
        func ms(_ ticks: UInt64) -> Int64 { max(0, replay.nanoseconds(ticks) / 1_000_000) }
        // evenly spaced buckets, plus the peak and the end as detailed snapshots
        var points: [(ms: Int64, bytes: UInt64)] = [(0, 0)]
        let step = max(1, timeline.buckets.count / max(1, snapshots - 3))
        for i in stride(from: 0, to: timeline.buckets.count, by: step) {
            points.append((ms(timeline.buckets[i].startTicks), timeline.buckets[i].endHeapBytes))
        }
        let peak = (ms: ms(replay.figures.peakHeapTicks), bytes: replay.figures.peakHeapBytes)
        let last = (ms: ms(max(replay.figures.lastTicks, timeline.lastTicks)), bytes: replay.figures.leakedBytes)
        points = points.filter { $0.ms < peak.ms } + [peak] + points.filter { $0.ms > peak.ms && $0.ms < last.ms } + [last]
        let peakIndex = points.firstIndex { $0.ms == peak.ms && $0.bytes == peak.bytes }!
        let sites = replay.sites
        for (n, p) in points.enumerated() {
            o += "#-----------\nsnapshot=\(n)\n#-----------\ntime=\(p.ms)\nmem_heap_B=\(p.bytes)\nmem_heap_extra_B=0\nmem_stacks_B=0\n"
            if n == peakIndex {
                o += "heap_tree=peak\n" + tree(total: p.bytes, resolver: resolver, sites: sites) { sites.peak($0) }
            } else if n == points.count - 1 {
                o += "heap_tree=detailed\n" + tree(total: p.bytes, resolver: resolver, sites: sites) { sites.liveBytes[$0] }
            } else {
                o += "heap_tree=empty\n"
            }
        }
        return o
    }

    /// A tree node; nodes are kept by index (0 the root) so that nothing recurses on deep stacks.
    struct Node {
        var bytes: UInt64 = 0
        var children: [String: Int] = [:]
    }

    /// Callers kept below the allocation functions, as valgrind's own limit for `--depth` (a tree is
    /// indented by depth: a 50,000-deep stack would otherwise take gigabytes of spaces).
    static let maxDepth = 200

    /// massif's tree: allocation functions at the root, callers below, 1% threshold.
    static func tree(total: UInt64, resolver: StackResolver, sites: SiteStatistics, value: (Int) -> UInt64) -> String {
        var nodes = [Node()]
        for stack in sites.stacks {
            let v = value(Int(stack))
            guard v > 0 else { continue }
            nodes[0].bytes = Saturating.add(nodes[0].bytes, v)
            var node = 0
            for ip in resolver.userAddresses(stack).prefix(maxDepth) {
                let frames = resolver.symbolizer.frames(for: ip)
                let f = frames.last ?? Frame(function: "???", module: "?", moduleOffset: 0)
                var label = "0x" + String(ip, radix: 16, uppercase: true) + ": " + StackResolver.shortName(f)
                if let file = f.file { label += " (\(URL(fileURLWithPath: file).lastPathComponent):\(f.line ?? 0))" }
                else { label += " (in \(f.module))" }
                let next: Int
                if let c = nodes[node].children[label] {
                    next = c
                } else {
                    next = nodes.count
                    nodes.append(Node())
                    nodes[node].children[label] = next
                }
                nodes[next].bytes = Saturating.add(nodes[next].bytes, v)
                node = next
            }
        }
        var out = ""
        let threshold = max(total / 100, 1)
        // Depth first with a stack of its own: a node's line, its big children, then the line for
        // its small ones (`summary` entries stand for those lines).
        enum Step { case node(Int, String, Int), summary(count: Int, bytes: UInt64, depth: Int) }
        var steps: [Step] = [.node(0, "(heap allocation functions) malloc/new/new[], --alloc-fns, etc.", 0)]
        while let step = steps.popLast() {
            switch step {
            case let .summary(count, bytes, depth):
                let places = count == 1 ? "1 place" : "\(count) places"
                out += String(repeating: " ", count: depth)
                    + "n0: \(bytes) in \(places), all below massif's threshold (1.00%)\n"
            case let .node(index, label, depth):
                let node = nodes[index]
                let big = node.children.filter { nodes[$0.value].bytes >= threshold }
                    .sorted { (nodes[$0.value].bytes, $1.key) > (nodes[$1.value].bytes, $0.key) }
                let small = node.children.filter { nodes[$0.value].bytes < threshold }
                let smallBytes = small.values.reduce(UInt64(0)) { Saturating.add($0, nodes[$1].bytes) }
                let count = big.count + (small.isEmpty ? 0 : 1)
                out += String(repeating: " ", count: depth) + "n\(count): \(node.bytes) \(label)\n"
                if !small.isEmpty { steps.append(.summary(count: small.count, bytes: smallBytes, depth: depth + 1)) }
                for (l, c) in big.reversed() { steps.append(.node(c, l, depth + 1)) }
            }
        }
        return out
    }
}
