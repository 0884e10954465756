import FoundationEssentials
import Glibc
import Symbolication
import TraceAnalysis

/// `alloctrace lines`: memory_profiler's line-by-line view of one source file.
public struct LinesReport: Encodable {
    public struct Line: Encodable {
        public var line: Int
        public var source: String
        public var allocations: UInt64
        public var bytes: UInt64
        public var peakBytes: UInt64
        public var leakedBytes: UInt64
        /// Bytes freed by code on this line (Python programs: frees carry their Python frames).
        public var freedBytes: UInt64 = 0

        enum CodingKeys: String, CodingKey {
            case line, source, allocations, bytes
            case peakBytes = "peak_bytes", leakedBytes = "leaked_bytes", freedBytes = "freed_bytes"
        }
    }

    public var trace: String
    public var file: String
    /// With `--function`: only that function's frames count, and only its lines are shown.
    public var function: String?
    /// Every line of the file (or of the function), with its figures (zero where nothing was allocated).
    public var lines: [Line]

    /// No frame of the trace lies in the file (or in the function): the files that have the most.
    public struct NothingThere: Error, CustomStringConvertible {
        public var description: String
    }

    public init(replay: HeapReplay, resolver: StackResolver, sourcePath: String, function: String? = nil) throws {
        let text = try String(contentsOfFile: sourcePath, encoding: .utf8)
        var source = text.components(separatedBy: "\n")
        if source.last == "" { source.removeLast() }
        let absolute = URL(fileURLWithPath: sourcePath).standardizedFileURL.resolvingSymlinksInPath().path
        func matches(_ file: String) -> Bool {
            file == absolute || file == sourcePath || absolute.hasSuffix("/" + file)
                || file.hasSuffix("/" + sourcePath) || URL(fileURLWithPath: file).standardizedFileURL.path == absolute
        }
        var figures = [Line](repeating: Line(line: 0, source: "", allocations: 0, bytes: 0, peakBytes: 0, leakedBytes: 0),
                             count: source.count + 1)
        var fileMatch: [String: Bool] = [:]
        var otherFiles: [String: UInt64] = [:]
        var touched: ClosedRange<Int>?
        let sites = replay.sites
        let freeing = (0..<sites.freedBytes.count).filter { sites.freedBytes[$0] > 0 && sites.allocations[$0] == 0 }
        for stack in sites.stacks + freeing.map(UInt32.init) {
            let i = Int(stack)
            // each line counts an allocation once, even when recursion puts it in the stack twice
            var seen = Set<Int>()
            for f in resolver.frames(stack) {
                guard let file = f.file, let line = f.line, line > 0 else { continue }
                let hit: Bool
                if let known = fileMatch[file] { hit = known } else { hit = matches(file); fileMatch[file] = hit }
                if !hit { otherFiles[file, default: 0] += sites.allocations[i]; continue }
                guard line <= source.count, function.map({ LinesReport.names(f, $0) }) ?? true else { continue }
                seen.insert(line)
                touched = touched.map { min($0.lowerBound, line)...max($0.upperBound, line) } ?? line...line
            }
            for line in seen {
                figures[line].freedBytes += sites.freedBytes[i]
                figures[line].allocations += sites.allocations[i]
                figures[line].bytes = Saturating.add(figures[line].bytes, sites.bytes[i])
                figures[line].peakBytes = Saturating.add(figures[line].peakBytes, sites.peak(i))
                figures[line].leakedBytes = Saturating.add(figures[line].leakedBytes, sites.liveBytes[i])
            }
        }
        guard let touched else {
            let busiest = otherFiles.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(3).map(\.key)
            let what = function.map { "function \($0) in \(sourcePath)" } ?? sourcePath
            throw NothingThere(description: "no allocation of the trace has a frame in \(what)"
                + (busiest.isEmpty ? "" : "; the files with the most: " + busiest.joined(separator: ", ")))
        }
        trace = replay.reader.path
        file = sourcePath
        self.function = function
        let shown = function.map { LinesReport.extent(of: $0, around: touched, in: source) } ?? 1...max(1, source.count)
        lines = source.enumerated().filter { shown.contains($0.offset + 1) }.map { n, s in
            var l = figures[n + 1]
            l.line = n + 1
            l.source = s
            return l
        }
    }

    /// True when frame `f` is of the function `name`: its whole name, or the last part of a
    /// qualified one (`Cache.put` and `put`; `samples.Cache.insert(_:)` and `insert`).
    static func names(_ f: Frame, _ name: String) -> Bool {
        let full = StackResolver.shortName(f)
        if full == name { return true }
        let bare = full.split(separator: "(").first.map(String.init) ?? full
        return bare == name || bare.hasSuffix("." + name) || bare.hasSuffix("::" + name)
    }

    /// The lines to show for function `name`: from its `def` (Python) or first touched line to the
    /// end of its indented block (Python) or its last touched line.
    static func extent(of name: String, around touched: ClosedRange<Int>, in source: [String]) -> ClosedRange<Int> {
        let bare = String(name.split(separator: ".").last ?? Substring(name))
        func indent(_ s: String) -> Int { s.prefix { $0 == " " || $0 == "\t" }.count }
        var start = touched.lowerBound
        var k = touched.lowerBound
        while k >= 1 {
            let text = source[k - 1].drop { $0 == " " || $0 == "\t" }
            if text.hasPrefix("def \(bare)(") || text.hasPrefix("async def \(bare)(") { start = k; break }
            k -= 1
        }
        guard k >= 1 else { return touched }
        let base = indent(source[start - 1])
        var end = max(start, touched.upperBound)
        var n = start + 1
        while n <= source.count {
            let s = source[n - 1]
            if !Formatting.trimmed(s).isEmpty {
                if indent(s) <= base { break }
                end = n
            }
            n += 1
        }
        return start...max(end, touched.upperBound)
    }

    public func text() -> String {
        // a "freed" column only where the trace knows where frees were made (Python programs)
        let frees = lines.contains { $0.freedBytes > 0 }
        var t = TextTable(["line", "allocs", "bytes", "at peak", "not freed"] + (frees ? ["freed"] : []) + ["source"],
                          rightAligned: frees ? [0, 1, 2, 3, 4, 5] : [0, 1, 2, 3, 4])
        for l in lines {
            let busy = l.allocations > 0
            t.add([String(l.line), busy ? Formatting.count(l.allocations) : "", busy ? Formatting.bytes(l.bytes) : "",
                   busy && l.peakBytes > 0 ? Formatting.bytes(l.peakBytes) : "",
                   busy && l.leakedBytes > 0 ? Formatting.bytes(l.leakedBytes) : ""]
                  + (frees ? [l.freedBytes > 0 ? Formatting.bytes(l.freedBytes) : ""] : []) + [l.source])
        }
        return "\(file)\n" + t.render()
    }
}
