import FoundationEssentials
import Glibc
import TraceAnalysis

/// A self-contained interactive flame graph (SVG with its own script): hover shows a frame's name,
/// value and share, a click zooms into it, Search highlights frames matching a pattern.
public enum FlameGraphSVG {
    /// The frames' tree, nodes by index (0 the root): flat arrays, so that neither building,
    /// drawing nor freeing a tree of a very deep stack recurses.
    struct Node {
        var name: String
        var value: UInt64 = 0
        var children: [String: Int] = [:]
    }

    struct Tree {
        var nodes = [Node(name: "all")]
        var root: Node { nodes[0] }

        mutating func child(_ parent: Int, _ name: String) -> Int {
            if let c = nodes[parent].children[name] { return c }
            nodes.append(Node(name: name))
            nodes[parent].children[name] = nodes.count - 1
            return nodes.count - 1
        }

        /// Adds `value` along the path of `names` (outermost first); values saturate.
        mutating func add(_ names: [String], _ value: UInt64) {
            nodes[0].value = Saturating.add(nodes[0].value, value)
            var node = 0
            for name in names {
                node = child(node, name)
                nodes[node].value = Saturating.add(nodes[node].value, value)
            }
        }
    }

    /// Builds the tree: outermost frame at the bottom, each stack's value added along its path.
    static func tree(replay: HeapReplay, resolver: StackResolver, by metric: SiteMetric) -> Tree {
        var tree = Tree()
        let sites = replay.sites
        for stack in sites.stacks {
            let value = SiteMetric.value(metric, sites, Int(stack))
            guard value > 0 else { continue }
            var names = resolver.frames(stack).map(StackResolver.label)
            if names.isEmpty { names = [resolver.function(stack)] }
            tree.add(names.reversed(), value)
        }
        return tree
    }

    public static func render(replay: HeapReplay, resolver: StackResolver, by metric: SiteMetric, title: String) -> String {
        let root = tree(replay: replay, resolver: resolver, by: metric)
        let unit = metric == .allocations || metric == .temporary ? "allocations" : "bytes"
        return render(root: root, title: title, unit: unit, id: "fg")
    }

    static func escape(_ s: String) -> String {
        s.replacing("&", with: "&amp;").replacing("<", with: "&lt;")
            .replacing(">", with: "&gt;").replacing("\"", with: "&quot;")
    }

    /// Warm colours, stable per name; Swift frames (module-qualified, `.`) lean orange, others red.
    static func color(_ name: String) -> String {
        var h: UInt32 = 2166136261
        for b in name.utf8 { h = (h ^ UInt32(b)) &* 16777619 }
        let r = 205 + Int(h % 50), g = 80 + Int((h >> 8) % 120), b = 40 + Int((h >> 16) % 40)
        return "rgb(\(r),\(g),\(b))"
    }

    /// The SVG text. `id` prefixes element ids so several graphs can share one HTML page.
    static func render(root tree: Tree, title: String, unit: String, id: String, width: Int = 1200) -> String {
        let rowHeight = 16
        var rects: [String] = []
        var maxDepth = 0
        let total = max(tree.root.value, 1)
        // Depth first, children by name, with a stack of its own (a stack can be 50,000 frames deep).
        // Offsets are Doubles: saturated values need not add up.
        var pending: [(node: Int, depth: Int, start: Double)] = [(0, 0, 0)]
        while let (index, depth, start) = pending.popLast() {
            let node = tree.nodes[index]
            // minimum width drawn: 0.05% of the graph
            guard Double(node.value) * 2000 >= Double(total) else { continue }
            maxDepth = max(maxDepth, depth)
            let share = Double(node.value) * 100 / Double(total)
            let label = "\(node.name) (\(Formatting.count(node.value)) \(unit), \(Formatting.fixed(share, 2))%)"
            rects.append("<g class=\"f\" data-x=\"\(start / Double(total))\" data-w=\"\(Double(node.value) / Double(total))\" data-d=\"\(depth)\" data-n=\"\(escape(node.name))\"><title>\(escape(label))</title><rect height=\"\(rowHeight - 1)\" rx=\"2\" fill=\"\(depth == 0 ? "rgb(190,190,190)" : color(node.name))\"/><text></text></g>")
            var offset = start
            var children: [(Int, Double)] = []
            for c in node.children.values.sorted(by: { tree.nodes[$0].name < tree.nodes[$1].name }) {
                children.append((c, offset))
                offset += Double(tree.nodes[c].value)
            }
            for (c, at) in children.reversed() { pending.append((c, depth + 1, at)) }
        }
        let top = 48
        let height = top + (maxDepth + 1) * rowHeight + 40
        return """
        <?xml version="1.0" standalone="no"?>
        <svg version="1.1" xmlns="http://www.w3.org/2000/svg" id="\(id)" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" data-rows="\(maxDepth + 1)" data-row="\(rowHeight)" data-top="\(top)">
        <style>
        text { font-family: Verdana, sans-serif; font-size: 12px; fill: #000; }
        .f text { pointer-events: none; font-size: 11px; }
        .f:hover rect { stroke: #000; stroke-width: 0.5; }
        .button { cursor: pointer; fill: #0645ad; }
        </style>
        <rect x="0" y="0" width="\(width)" height="\(height)" fill="#fdfaf3"/>
        <text x="\(width / 2)" y="22" text-anchor="middle" style="font-size:16px">\(escape(title))</text>
        <text id="\(id)-reset" class="button" x="10" y="22" visibility="hidden">Reset zoom</text>
        <text id="\(id)-search" class="button" x="\(width - 110)" y="22">Search</text>
        <text id="\(id)-matched" x="\(width - 110)" y="\(height - 12)"></text>
        <text id="\(id)-details" x="10" y="\(height - 12)"> </text>
        <g id="\(id)-frames">
        \(rects.joined(separator: "\n"))
        </g>
        <script type="text/ecmascript"><![CDATA[
        (function () {
          var svg = document.getElementById("\(id)");
          var W = \(width), pad = 10, row = \(rowHeight), rows = \(maxDepth + 1), top = \(top);
          var frames = Array.prototype.slice.call(svg.querySelectorAll("#\(id)-frames > g"));
          var details = document.getElementById("\(id)-details");
          var reset = document.getElementById("\(id)-reset");
          var zoomX = 0, zoomW = 1;
          function layout() {
            frames.forEach(function (g) {
              var x = parseFloat(g.getAttribute("data-x")), w = parseFloat(g.getAttribute("data-w"));
              var d = parseInt(g.getAttribute("data-d"), 10);
              var r = g.querySelector("rect"), t = g.querySelector("text");
              var inside = x + w > zoomX && x < zoomX + zoomW;
              var px = pad + (x - zoomX) / zoomW * (W - 2 * pad), pw = w / zoomW * (W - 2 * pad);
              if (px < pad) { pw -= pad - px; px = pad; }
              if (px + pw > W - pad) pw = W - pad - px;
              var y = top + (rows - 1 - d) * row;
              g.style.display = inside && pw > 0.3 ? "" : "none";
              r.setAttribute("x", px); r.setAttribute("y", y); r.setAttribute("width", Math.max(pw, 0));
              t.setAttribute("x", px + 3); t.setAttribute("y", y + row - 4);
              var name = g.getAttribute("data-n"), fit = Math.floor((pw - 6) / 7);
              t.textContent = fit < 3 ? "" : (name.length <= fit ? name : name.substring(0, fit - 2) + "..");
            });
          }
          frames.forEach(function (g) {
            g.addEventListener("mouseover", function () { details.textContent = g.querySelector("title").textContent; });
            g.addEventListener("mouseout", function () { details.textContent = " "; });
            g.addEventListener("click", function () {
              zoomX = parseFloat(g.getAttribute("data-x")); zoomW = parseFloat(g.getAttribute("data-w")) || 1;
              reset.setAttribute("visibility", "visible"); layout();
            });
          });
          reset.addEventListener("click", function () { zoomX = 0; zoomW = 1; reset.setAttribute("visibility", "hidden"); layout(); });
          document.getElementById("\(id)-search").addEventListener("click", function () {
            var term = window.prompt("Highlight frames matching (regular expression):", "");
            var re = null, matched = 0, total = 0;
            try { re = term ? new RegExp(term) : null; } catch (e) { re = null; }
            frames.forEach(function (g) {
              var hit = re && re.test(g.getAttribute("data-n"));
              var r = g.querySelector("rect");
              if (!r.getAttribute("data-fill")) r.setAttribute("data-fill", r.getAttribute("fill"));
              r.setAttribute("fill", hit ? "rgb(230,0,230)" : r.getAttribute("data-fill"));
              if (parseInt(g.getAttribute("data-d"), 10) === 1) total += parseFloat(g.getAttribute("data-w"));
            });
            if (re) {
              // share of the whole graph under a matching frame (outermost match per path)
              var covered = [];
              frames.forEach(function (g) {
                if (!re.test(g.getAttribute("data-n"))) return;
                var x = parseFloat(g.getAttribute("data-x")), w = parseFloat(g.getAttribute("data-w"));
                if (!covered.some(function (c) { return x >= c[0] && x + w <= c[0] + c[1] + 1e-12; })) covered.push([x, w]);
              });
              covered.forEach(function (c) { matched += c[1]; });
            }
            document.getElementById("\(id)-matched").textContent = re ? "Matched: " + (matched * 100).toFixed(1) + "%" : "";
          });
          layout();
        })();
        ]]></script>
        </svg>

        """
    }
}
