import FoundationEssentials
import Glibc
import TraceAnalysis
import TraceReader

/// `alloctrace report`: one self-contained page (no network, no external files) with the summary,
/// the timeline, the flame graph with a selector, top sites, types at the end and at each mark, and
/// growth between consecutive marks. Everything is aggregated before it is embedded.
public enum ReportHTML {
    public struct Inputs {
        public var replay: HeapReplay
        public var timeline: Timeline
        public var resolver: StackResolver
        /// The heap graph at the end, when the trace holds one (leaks and cycles sections).
        public var heapGraph: HeapGraphAnalysis?
        public init(replay: HeapReplay, timeline: Timeline, resolver: StackResolver, heapGraph: HeapGraphAnalysis? = nil) {
            self.replay = replay
            self.timeline = timeline
            self.resolver = resolver
            self.heapGraph = heapGraph
        }
    }

    static func esc(_ s: String) -> String { FlameGraphSVG.escape(s) }

    /// Marks that get sections of their own (types, growth from the previous one): all of them up
    /// to `limit`, else `limit` evenly spaced ones, the first and the last included. Numbered from 1.
    /// Each costs a snapshot of the live heap in the replay, so a trace with 20,000 marks takes a
    /// bounded time (and gives a page one can read).
    public static func marksWithSections(_ count: Int, limit: Int = 200) -> [Int] {
        guard count > limit else { return Array(stride(from: 1, through: count, by: 1)) }
        var chosen: [Int] = []
        for k in 0..<limit {
            let index = 1 + Int((Double(k) * Double(count - 1) / Double(limit - 1)).rounded())
            if chosen.last != index { chosen.append(index) }
        }
        return chosen
    }

    /// An SVG document as an inline element (without its XML declaration).
    static func inline(_ svg: String) -> String {
        svg.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("<?xml") }.joined(separator: "\n")
    }

    static func table(_ headers: [String], _ rows: [[String]], numeric: Set<Int>) -> String {
        var o = "<table><tr>" + headers.map { "<th>\(esc($0))</th>" }.joined() + "</tr>\n"
        for r in rows {
            o += "<tr>" + r.enumerated().map { i, c in numeric.contains(i) ? "<td class=\"n\">\(esc(c))</td>" : "<td>\(esc(c))</td>" }.joined() + "</tr>\n"
        }
        return o + "</table>\n"
    }

    public static func render(_ input: Inputs) -> String {
        let replay = input.replay, resolver = input.resolver
        let reader = replay.reader
        let summary = SummaryReport(replay: replay, resolver: resolver, topSites: 5)
        // a Python program's blocks by the Python objects the end's heap graph found at their stacks
        let naming = TypeNaming(reader: reader, resolver: resolver,
                                stackNames: reader.interpreter?.frames == .python ? input.heapGraph?.pythonNamesByStack() ?? [:] : [:])
        let title = "alloctrace report: " + (reader.process?.executable ?? reader.path)
        var o = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(esc(title))</title>
        <style>
        body { font-family: Verdana, sans-serif; font-size: 13px; margin: 20px; color: #222; }
        h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; border-bottom: 1px solid #ccc; }
        table { border-collapse: collapse; margin: 8px 0; } td, th { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: left; }
        td.n { text-align: right; font-variant-numeric: tabular-nums; } .warn { color: #a04000; }
        .figures td:first-child { color: #555; } select { font-size: 13px; }
        </style></head><body>
        <h1>\(esc(title))</h1>

        """
        if let sampling = reader.sampling { o += "<p class=\"warn\">\(esc(sampling.note))</p>\n" }
        // summary
        var figures: [[String]] = [
            ["trace", reader.path],
            ["complete", summary.complete ? "yes" : "no: " + (summary.cutShortReason ?? "cut short")],
            ["duration", Formatting.seconds(Double(summary.durationNs) / 1e9)],
            ["allocation calls", Formatting.count(summary.allocationCalls)],
            ["frees", Formatting.count(summary.frees)],
            ["bytes allocated", Formatting.bytes(summary.bytesAllocated)],
            ["peak heap", "\(Formatting.bytes(summary.peakHeapBytes)) at \(Formatting.seconds(Double(summary.peakHeapTimeNs) / 1e9))"],
            ["peak RSS", Formatting.bytes(summary.peakRssBytes)],
            ["not freed at the end", "\(Formatting.bytes(summary.leakedBytes)) in \(Formatting.count(summary.leakedBlocks)) blocks"],
            ["temporary allocations", Formatting.count(summary.temporaryAllocations)],
            ["threads", String(summary.threads)],
            ["Swift type capture", summary.swiftTypeCapture],
        ]
        if let reason = summary.exitReason { figures.append(["ended by", reason + (summary.exitStatus.map { " \($0)" } ?? "")]) }
        o += "<h2>Summary</h2>\n<table class=\"figures\">" + figures.map { "<tr><td>\(esc($0[0]))</td><td>\(esc($0[1]))</td></tr>" }.joined(separator: "\n") + "</table>\n"
        for w in summary.warnings { o += "<p class=\"warn\">warning: \(esc(w))</p>\n" }

        // timeline
        let seconds: (UInt64) -> Double = { Double(reader.clock.nanosecondsSinceStart($0)) / 1e9 }
        o += "<h2>Heap over time</h2>\n" + inline(TimelineSVG.render(input.timeline, seconds: seconds, name: naming.name,
                                                                     types: 5, title: "heap in use and RSS")) + "\n"

        // flame graphs
        o += "<h2>Flame graph</h2>\n<p>by <select id=\"fg-by\">"
        let metrics: [SiteMetric] = [.bytes, .peak, .leaked, .allocations, .temporary]
        for m in metrics { o += "<option value=\"\(m.rawValue)\">\(m.rawValue)</option>" }
        o += "</select> (hover for details, click to zoom, Search to highlight)</p>\n"
        for (n, m) in metrics.enumerated() {
            let root = FlameGraphSVG.tree(replay: replay, resolver: resolver, by: m)
            let unit = m == .allocations || m == .temporary ? "allocations" : "bytes"
            o += "<div class=\"fg\" id=\"fg-\(m.rawValue)\" style=\"display:\(n == 0 ? "block" : "none")\">"
            o += inline(FlameGraphSVG.render(root: root, title: "\(m.rawValue) by stack", unit: unit, id: "fg\(n)")) + "</div>\n"
        }
        o += """
        <script>
        document.getElementById("fg-by").addEventListener("change", function (e) {
          Array.prototype.forEach.call(document.querySelectorAll("div.fg"), function (d) {
            d.style.display = d.id === "fg-" + e.target.value ? "block" : "none";
          });
        });
        </script>

        """

        // top sites
        for metric in [SiteMetric.peak, .leaked, .allocations] {
            let top = TopReport(replay: replay, resolver: resolver, by: metric, groupByFunction: false, limit: 10)
            guard !top.rows.isEmpty else { continue }
            o += "<h2>Top sites by \(metric.rawValue)</h2>\n"
            o += table(["\(metric.rawValue)", "allocations", "bytes", "at peak", "not freed", "site"],
                       top.rows.map { r in
                           [metric == .allocations ? Formatting.count(r.value) : Formatting.bytes(r.value),
                            Formatting.count(r.allocations), Formatting.bytes(r.bytes), Formatting.bytes(r.peakBytes),
                            Formatting.bytes(r.leakedBytes), r.location]
                       }, numeric: [0, 1, 2, 3, 4])
        }

        // types at the end and at each mark, growth between consecutive marks
        func typeRows(_ snap: HeapSnapshot) -> [[String]] {
            naming.tallies(snap.groups).sorted { ($0.value.blocks, $0.value.bytes, $1.key) > ($1.value.blocks, $1.value.bytes, $0.key) }
                .prefix(15).map { [Formatting.count($0.value.blocks), Formatting.bytes($0.value.bytes), $0.key] }
        }
        var previous: (String, HeapSnapshot)?
        let shown = replay.marks.filter { replay.snapshots[.markIndex($0.index)] != nil }.count
        if shown < replay.marks.count {
            o += "<p>The trace has \(Formatting.count(replay.marks.count)) marks: types and growth are shown at "
                + "\(shown) of them, evenly spaced (`alloctrace types --at` and `growth` take any).</p>\n"
        }
        for mark in replay.marks {
            guard let snap = replay.snapshots[.markIndex(mark.index)] else { continue }
            let label = "mark #\(mark.index) \"\(mark.label)\" at \(Formatting.seconds(replay.seconds(mark.ticks)))"
            o += "<h2>Live types at \(esc(label))</h2>\n" + table(["count", "bytes", "type"], typeRows(snap), numeric: [0, 1])
            if let (prevLabel, prevSnap) = previous {
                let rows = ComparisonRow.compare(naming.tallies(prevSnap.groups), naming.tallies(snap.groups))
                    .filter { $0.countChange != 0 || $0.bytesChange != 0 }.prefix(15)
                o += "<h2>Growth from \(esc(prevLabel)) to \(esc(label))</h2>\n"
                o += rows.isEmpty ? "<p>no change</p>\n" : table(["before", "after", "change", "bytes change", "status", "type"],
                    rows.map { [Formatting.count($0.countBefore), Formatting.count($0.countAfter), Formatting.signed($0.countChange),
                                Formatting.signedBytes($0.bytesChange), $0.status, $0.name] }, numeric: [0, 1, 2, 3])
            }
            previous = (label, snap)
        }
        if let end = replay.snapshots[.end] {
            o += "<h2>Live types at the end</h2>\n" + table(["count", "bytes", "type"], typeRows(end), numeric: [0, 1])
        }
        if let graph = input.heapGraph {
            o += "<h2>Leaks (\(esc(graph.momentDescription)))</h2>\n<pre>" + esc(LeaksReport(analysis: graph, limit: 20).text()) + "</pre>\n"
            o += "<h2>Retain cycles (\(esc(graph.momentDescription)))</h2>\n<pre>" + esc(CyclesReport(analysis: graph, limit: 20).text()) + "</pre>\n"
        } else if reader.sampling != nil {
            o += "<h2>Leaks and retain cycles</h2>\n<p>Not in a sampled trace: the heap graph needs every live block's bounds, which only a full trace has.</p>\n"
        }
        o += "<p style=\"color:#888\">\(esc(reader.process?.recorderVersion ?? "")); trace format \(reader.formatVersion)</p>\n</body></html>\n"
        return o
    }
}
