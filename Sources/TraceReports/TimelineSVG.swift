import FoundationEssentials
import Glibc
import TraceAnalysis

/// Heap in use and RSS over time as an SVG: marks drawn and labelled, the peak pointed out, and
/// with `types` the K largest groups (Swift types, allocation sites) stacked under the heap curve.
public enum TimelineSVG {
    public static func render(_ t: Timeline, seconds: (UInt64) -> Double, name: (HeapSnapshot.Key) -> String,
                              types: Int, title: String, id: String = "tl") -> String {
        let width = 1200.0, height = 460.0
        let left = 80.0, right = 80.0, top = 40.0, bottom = 60.0
        let plotW = width - left - right, plotH = height - top - bottom
        let start = seconds(t.firstTicks), end = max(seconds(t.lastTicks), start + 1e-6)
        // the heap has the left axis; RSS (often far larger) its own on the right
        let maxY = Double(max(t.peakBytes, 1)) * 1.08
        let maxRSS = Double(max(t.peakRSSBytes, 1)) * 1.08
        func x(_ s: Double) -> Double { left + (s - start) / (end - start) * plotW }
        func y(_ b: UInt64) -> Double { top + plotH - Double(b) / maxY * plotH }
        func yRSS(_ b: UInt64) -> Double { top + plotH - Double(b) / maxRSS * plotH }
        func f(_ v: Double) -> String { Formatting.fixed(v, 1) }
        var o = """
        <?xml version="1.0" standalone="no"?>
        <svg version="1.1" xmlns="http://www.w3.org/2000/svg" id="\(id)" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))">
        <style>text { font-family: Verdana, sans-serif; font-size: 12px; } .axis { stroke: #444; } .grid { stroke: #ddd; }</style>
        <rect x="0" y="0" width="\(Int(width))" height="\(Int(height))" fill="#ffffff"/>
        <text x="\(Int(width / 2))" y="22" text-anchor="middle" style="font-size:16px">\(FlameGraphSVG.escape(title))</text>

        """
        // grid and axes
        for i in 0...5 {
            let v = Saturating.unsigned(maxY * Double(i) / 5)
            o += "<line class=\"grid\" x1=\"\(f(left))\" y1=\"\(f(y(v)))\" x2=\"\(f(left + plotW))\" y2=\"\(f(y(v)))\"/>"
            o += "<text x=\"\(f(left - 6))\" y=\"\(f(y(v) + 4))\" text-anchor=\"end\">\(Formatting.bytes(v))</text>"
            if t.peakRSSBytes > 0 {
                o += "<text x=\"\(f(left + plotW + 4))\" y=\"\(f(y(v) + 4))\" fill=\"#2471a3\">\(Formatting.bytes(Saturating.unsigned(maxRSS * Double(i) / 5)))</text>"
            }
            o += "\n"
        }
        let span = end - start
        func timeLabel(_ s: Double) -> String {
            span < 0.05 ? Formatting.fixed(s * 1000, 2) + " ms" : span < 20 ? Formatting.fixed(s, 3) + " s" : Formatting.fixed(s, 1) + " s"
        }
        for i in 0...6 {
            let s = start + span * Double(i) / 6
            o += "<text x=\"\(f(x(s)))\" y=\"\(f(top + plotH + 18))\" text-anchor=\"middle\">\(timeLabel(s))</text>\n"
        }
        o += "<line class=\"axis\" x1=\"\(f(left))\" y1=\"\(f(top + plotH))\" x2=\"\(f(left + plotW))\" y2=\"\(f(top + plotH))\"/>"
        o += "<line class=\"axis\" x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotH))\"/>\n"

        let buckets = t.buckets
        func bucketX(_ i: Int) -> Double { x(seconds(buckets[i].startTicks)) }
        func bucketEndX(_ i: Int) -> Double { i + 1 < buckets.count ? bucketX(i + 1) : x(end) }
        // stacked groups
        var legend: [(String, String)] = []
        if types > 0 && !buckets.isEmpty {
            // the largest peaks, ties by name: names only for the groups that can make the cut (naming
            // every group in the comparator was most of the page on a trace of 100,000 stacks)
            let byPeak = t.groupPeaks.sorted { $0.value > $1.value }
            let cutoff = byPeak.count > types ? byPeak[types - 1].value : 0
            let candidates = byPeak.prefix { $0.value >= cutoff }.map { (key: $0.key, peak: $0.value, name: name($0.key)) }
            let chosen = candidates.sorted { ($0.peak, $1.name) > ($1.peak, $0.name) }.prefix(types).map(\.key)
            var below = [UInt64](repeating: 0, count: buckets.count)
            let series = t.groupBytes(Array(chosen))
            for (n, key) in chosen.enumerated() {
                let color = palette[n % palette.count]
                var upper: [String] = [], lower: [String] = []
                for i in buckets.indices {
                    let v = series[key]![i]
                    let top = Saturating.add(below[i], v)
                    upper.append("\(f(bucketX(i))),\(f(y(top))) \(f(bucketEndX(i))),\(f(y(top)))")
                    lower.append("\(f(bucketEndX(i))),\(f(y(below[i]))) \(f(bucketX(i))),\(f(y(below[i])))")
                    below[i] = top
                }
                o += "<polygon fill=\"\(color)\" fill-opacity=\"0.75\" stroke=\"none\" points=\"\(upper.joined(separator: " ")) \(lower.reversed().joined(separator: " "))\"><title>\(FlameGraphSVG.escape(name(key)))</title></polygon>\n"
                legend.append((color, name(key)))
            }
        }
        // heap (most in use per bucket) and RSS
        var heap: [String] = [], rss: [String] = []
        for i in buckets.indices {
            heap.append("\(f(bucketX(i))),\(f(y(buckets[i].maxHeapBytes))) \(f(bucketEndX(i))),\(f(y(buckets[i].maxHeapBytes)))")
            if buckets[i].rssBytes > 0 { rss.append("\(f(bucketX(i))),\(f(yRSS(buckets[i].rssBytes))) \(f(bucketEndX(i))),\(f(yRSS(buckets[i].rssBytes)))") }
        }
        if !heap.isEmpty {
            o += "<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"1.5\" points=\"\(heap.joined(separator: " "))\"><title>heap in use</title></polyline>\n"
        }
        if !rss.isEmpty {
            o += "<polyline fill=\"none\" stroke=\"#2471a3\" stroke-width=\"1.5\" stroke-dasharray=\"5,3\" points=\"\(rss.joined(separator: " "))\"><title>RSS</title></polyline>\n"
        }
        // marks
        for (n, m) in t.marks.enumerated() {
            let mx = x(seconds(m.ticks))
            let ly = top + 14 + Double(n % 3) * 14
            o += "<line x1=\"\(f(mx))\" y1=\"\(f(top))\" x2=\"\(f(mx))\" y2=\"\(f(top + plotH))\" stroke=\"#27ae60\" stroke-dasharray=\"3,3\"/>"
            o += "<text x=\"\(f(mx + 3))\" y=\"\(f(ly))\" fill=\"#1e8449\">\(FlameGraphSVG.escape(m.label))</text>\n"
        }
        // the peak
        if t.peakBytes > 0 {
            let px = x(seconds(t.peakTicks)), py = y(t.peakBytes)
            o += "<circle cx=\"\(f(px))\" cy=\"\(f(py))\" r=\"4\" fill=\"#c0392b\"/>"
            let anchor = px > left + plotW * 0.7 ? "end" : "start"
            o += "<text x=\"\(f(px + (anchor == "end" ? -8 : 8)))\" y=\"\(f(max(py - 8, top + 10)))\" text-anchor=\"\(anchor)\" fill=\"#c0392b\">peak \(Formatting.bytes(t.peakBytes)) at \(Formatting.fixed(seconds(t.peakTicks), 3) + " s")</text>\n"
        }
        // legend
        var lx = left
        let lyBase = height - 18
        for (color, label) in [("#c0392b", "heap in use (left axis)"), ("#2471a3", "RSS (right axis)")] + legend {
            let shown = label.count > 40 ? String(label.prefix(38)) + ".." : label
            o += "<rect x=\"\(f(lx))\" y=\"\(f(lyBase - 10))\" width=\"12\" height=\"10\" fill=\"\(color)\"/><text x=\"\(f(lx + 16))\" y=\"\(f(lyBase))\">\(FlameGraphSVG.escape(shown))</text>\n"
            lx += 30 + Double(shown.count) * 7
            if lx > width - 200 { break }
        }
        o += "</svg>\n"
        return o
    }

    static let palette = ["#f5b041", "#af7ac5", "#48c9b0", "#ec7063", "#5dade2", "#f4d03f", "#a3e4d7", "#d7bde2", "#fad7a0", "#aed6f1"]
}
