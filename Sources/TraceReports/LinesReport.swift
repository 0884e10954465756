import Foundation
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

        enum CodingKeys: String, CodingKey {
            case line, source, allocations, bytes
            case peakBytes = "peak_bytes", leakedBytes = "leaked_bytes"
        }
    }

    public var trace: String
    public var file: String
    /// Every line of the file, with its figures (zero where nothing was allocated).
    public var lines: [Line]

    public init(replay: HeapReplay, resolver: StackResolver, sourcePath: String) throws {
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
        let sites = replay.sites
        for stack in sites.stacks {
            let i = Int(stack)
            // each line counts an allocation once, even when recursion puts it in the stack twice
            var seen = Set<Int>()
            for f in resolver.frames(stack) {
                guard let file = f.file, let line = f.line, line > 0, line <= source.count else { continue }
                let hit: Bool
                if let known = fileMatch[file] { hit = known } else { hit = matches(file); fileMatch[file] = hit }
                if hit { seen.insert(line) }
            }
            for line in seen {
                figures[line].allocations += sites.allocations[i]
                figures[line].bytes = Saturating.add(figures[line].bytes, sites.bytes[i])
                figures[line].peakBytes = Saturating.add(figures[line].peakBytes, sites.peak(i))
                figures[line].leakedBytes = Saturating.add(figures[line].leakedBytes, sites.liveBytes[i])
            }
        }
        trace = replay.reader.path
        file = sourcePath
        lines = source.enumerated().map { n, s in
            var l = figures[n + 1]
            l.line = n + 1
            l.source = s
            return l
        }
    }

    public func text() -> String {
        var t = TextTable(["line", "allocs", "bytes", "at peak", "not freed", "source"], rightAligned: [0, 1, 2, 3, 4])
        for l in lines {
            let busy = l.allocations > 0
            t.add([String(l.line), busy ? Formatting.count(l.allocations) : "", busy ? Formatting.bytes(l.bytes) : "",
                   busy && l.peakBytes > 0 ? Formatting.bytes(l.peakBytes) : "",
                   busy && l.leakedBytes > 0 ? Formatting.bytes(l.leakedBytes) : "", l.source])
        }
        return "\(file)\n" + t.render()
    }
}
