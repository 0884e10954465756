import Foundation
import Symbolication
import TraceAnalysis

/// valgrind massif's text format, as `ms_print` and massif-visualizer read it: the header first,
/// time in milliseconds, snapshots from the timeline, detailed trees at the peak and at the end.
public enum MassifExport {
    public static func render(replay: HeapReplay, timeline: Timeline, resolver: StackResolver, snapshots: Int = 60) -> String {
        let reader = replay.reader
        let command = ([reader.process?.executable ?? ""] + (reader.process?.arguments.dropFirst() ?? [])).joined(separator: " ")
        var o = "desc: alloctrace (requested bytes of live heap blocks)\ncmd: \(command)\ntime_unit: ms\n"
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

    final class Node {
        var bytes: UInt64 = 0
        var children: [String: Node] = [:]
    }

    /// massif's tree: allocation functions at the root, callers below, 1% threshold.
    static func tree(total: UInt64, resolver: StackResolver, sites: SiteStatistics, value: (Int) -> UInt64) -> String {
        let root = Node()
        for stack in sites.stacks {
            let v = value(Int(stack))
            guard v > 0 else { continue }
            root.bytes += v
            var node = root
            for ip in resolver.userAddresses(stack) {
                let frames = resolver.symbolizer.frames(for: ip)
                let f = frames.last ?? Frame(function: "???", module: "?", moduleOffset: 0)
                var label = "0x" + String(ip, radix: 16, uppercase: true) + ": " + StackResolver.shortName(f)
                if let file = f.file { label += " (\(URL(fileURLWithPath: file).lastPathComponent):\(f.line ?? 0))" }
                else { label += " (in \(f.module))" }
                let next = node.children[label] ?? Node()
                node.children[label] = next
                next.bytes += v
                node = next
            }
        }
        var out = ""
        let threshold = max(total / 100, 1)
        func emit(_ node: Node, _ label: String, depth: Int) {
            let big = node.children.filter { $0.value.bytes >= threshold }.sorted { ($0.value.bytes, $1.key) > ($1.value.bytes, $0.key) }
            let small = node.children.filter { $0.value.bytes < threshold }
            let smallBytes = small.values.reduce(0) { $0 + $1.bytes }
            let count = big.count + (small.isEmpty ? 0 : 1)
            out += String(repeating: " ", count: depth) + "n\(count): \(node.bytes) \(label)\n"
            for (l, c) in big { emit(c, l, depth: depth + 1) }
            if !small.isEmpty {
                let places = small.count == 1 ? "1 place" : "\(small.count) places"
                out += String(repeating: " ", count: depth + 1)
                    + "n0: \(smallBytes) in \(places), all below massif's threshold (1.00%)\n"
            }
        }
        emit(root, "(heap allocation functions) malloc/new/new[], --alloc-fns, etc.", depth: 0)
        return out
    }
}
