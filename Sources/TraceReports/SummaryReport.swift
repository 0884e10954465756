import TraceAnalysis
import TraceFormat
import TraceReader

/// One allocation site in a report: where, and what it allocated, kept and held at the peak.
public struct SiteRow: Encodable {
    public var function: String
    public var location: String
    public var stackID: UInt32
    public var allocations: UInt64
    public var bytes: UInt64
    public var peakBytes: UInt64
    public var leakedBytes: UInt64
    public var leakedBlocks: UInt64
    public var temporary: UInt64
    public var stack: [String]

    enum CodingKeys: String, CodingKey {
        case function, location, allocations, bytes, temporary, stack
        case stackID = "stack_id", peakBytes = "peak_bytes", leakedBytes = "leaked_bytes", leakedBlocks = "leaked_blocks"
    }

    /// `withStack`: symbolize the whole stack (else `stack` is left empty).
    init(stack: UInt32, sites: SiteStatistics, resolver: StackResolver, withStack: Bool = true) {
        let i = Int(stack)
        function = resolver.function(stack)
        location = resolver.location(stack)
        stackID = stack
        allocations = sites.allocations[i]
        bytes = sites.bytes[i]
        peakBytes = i < sites.peakBytes.count ? sites.peakBytes[i] : 0
        leakedBytes = sites.liveBytes[i]
        leakedBlocks = sites.liveBlocks[i]
        temporary = sites.temporary[i]
        self.stack = withStack ? resolver.frames(stack).map(StackResolver.describe) : []
    }
}

/// `alloctrace summary`: the whole trace in one page.
public struct SummaryReport: Encodable {
    public var trace: String
    public var executable: String
    public var pid: UInt64
    public var complete: Bool
    public var cutShortReason: String?
    public var exitReason: String?
    public var exitStatus: Int64?
    public var durationNs: Int64
    public var allocationCalls: UInt64
    public var frees: UInt64
    public var unmatchedFrees: UInt64
    public var bytesAllocated: UInt64
    public var peakHeapBytes: UInt64
    public var peakHeapTimeNs: Int64
    public var peakHeapBlocks: Int
    public var leakedBytes: UInt64
    public var leakedBlocks: Int
    public var temporaryAllocations: UInt64
    public var peakRssBytes: UInt64
    public var peakRssTimeNs: Int64
    public var threads: Int
    public var marks: Int
    public var swiftTypeCapture: String
    public var unwind: String
    /// The Python interpreter the program ran, when it ran one.
    public var python: PythonSummary?
    public var calls: [String: UInt64]
    public var topPeakSites: [SiteRow]
    public var topLeakedSites: [SiteRow]
    public var warnings: [String]

    enum CodingKeys: String, CodingKey {
        case trace, executable, pid, complete, frees, threads, marks, unwind, calls, warnings, python
        case cutShortReason = "cut_short_reason", exitReason = "exit_reason", exitStatus = "exit_status"
        case durationNs = "duration_ns", allocationCalls = "allocation_calls", unmatchedFrees = "unmatched_frees"
        case bytesAllocated = "bytes_allocated", peakHeapBytes = "peak_heap_bytes", peakHeapTimeNs = "peak_heap_time_ns"
        case peakHeapBlocks = "peak_heap_blocks", leakedBytes = "leaked_bytes", leakedBlocks = "leaked_blocks"
        case temporaryAllocations = "temporary_allocations", peakRssBytes = "peak_rss_bytes"
        case peakRssTimeNs = "peak_rss_time_ns", swiftTypeCapture = "swift_type_capture"
        case topPeakSites = "top_peak_sites", topLeakedSites = "top_leaked_sites"
    }

    /// `withStacks`: the sites' whole stacks (JSON shows them; the text only the innermost user frame,
    /// so without them only the modules of those frames are symbolized).
    public init(replay: HeapReplay, resolver: StackResolver?, topSites: Int = 3, withStacks: Bool = true) {
        let f = replay.figures
        let r = replay.reader
        let s = replay.replaySummary
        trace = r.path
        executable = r.process?.executable ?? ""
        pid = r.process?.pid ?? 0
        complete = s.complete
        cutShortReason = s.cutShortReason
        if let end = s.end {
            exitReason = EndReason(rawValue: end.reasonRaw)?.name ?? "unknown"
            exitStatus = end.status
        } else if let exec = s.exec {
            exitReason = "exec " + exec.path
        }
        durationNs = replay.nanoseconds(max(f.lastTicks, s.end?.ticks ?? 0))
        allocationCalls = f.allocationCalls
        frees = f.frees
        unmatchedFrees = f.unmatchedFrees
        bytesAllocated = f.bytesAllocated
        peakHeapBytes = f.peakHeapBytes
        peakHeapTimeNs = f.peakHeapBytes > 0 ? replay.nanoseconds(f.peakHeapTicks) : 0
        peakHeapBlocks = f.peakHeapBlocks
        leakedBytes = f.leakedBytes
        leakedBlocks = f.leakedBlocks
        temporaryAllocations = f.temporaryAllocations
        peakRssBytes = f.peakRSSBytes
        peakRssTimeNs = f.peakRSSBytes > 0 ? replay.nanoseconds(f.peakRSSTicks) : 0
        threads = replay.threadCount
        marks = f.marks
        swiftTypeCapture = r.process?.swiftTypeCapture?.name ?? "unknown"
        unwind = r.process?.unwind?.name ?? "unknown"
        python = r.interpreter.map { PythonSummary($0, codeObjects: r.pythonCodes.count) }
        var calls: [String: UInt64] = [:]
        for kind in EventKind.allCases where kind.isCall { calls[kind.name] = f.calls(kind) }
        self.calls = calls
        if let resolver {
            let sites = replay.sites
            let stacks = sites.stacks
            topPeakSites = stacks.filter { sites.peak(Int($0)) > 0 }
                .sorted { (sites.peak(Int($0)), $1) > (sites.peak(Int($1)), $0) }
                .prefix(topSites).map { SiteRow(stack: $0, sites: sites, resolver: resolver, withStack: withStacks) }
            topLeakedSites = stacks.filter { sites.liveBytes[Int($0)] > 0 }
                .sorted { (sites.liveBytes[Int($0)], $1) > (sites.liveBytes[Int($1)], $0) }
                .prefix(topSites).map { SiteRow(stack: $0, sites: sites, resolver: resolver, withStack: withStacks) }
            warnings = resolver.warnings
        } else {
            topPeakSites = []
            topLeakedSites = []
            warnings = []
        }
    }

    /// The name of a terminating signal (Linux x86-64 numbers).
    static func signalName(_ n: Int64) -> String? {
        let names: [Int64: String] = [1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 10: "SIGUSR1", 12: "SIGUSR2",
                                      13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM"]
        return names[n]
    }

    public func text() -> String {
        var o = ""
        o += "trace:                  \(trace)\n"
        o += "program:                \(executable) (pid \(pid))\n"
        o += "complete:               \(complete ? "yes" : "no (\(cutShortReason ?? "cut short"))")\n"
        if let exitReason {
            let named = exitReason == EndReason.signal.name ? exitStatus.flatMap { Self.signalName($0) }.map { " (\($0))" } ?? "" : ""
            o += "ended by:               \(exitReason)\(exitStatus.map { " \($0)" } ?? "")\(named)\n"
        }
        o += "duration:               \(Formatting.seconds(Double(durationNs) / 1e9))\n"
        o += "allocation calls:       \(Formatting.count(allocationCalls))\n"
        o += "frees:                  \(Formatting.count(frees))\n"
        if unmatchedFrees > 0 { o += "frees of earlier blocks: \(Formatting.count(unmatchedFrees)) (allocated before recording began)\n" }
        o += "bytes allocated:        \(Formatting.bytes(bytesAllocated)) (\(Formatting.count(bytesAllocated)) B)\n"
        o += "peak heap:              \(Formatting.bytes(peakHeapBytes)) (\(Formatting.count(peakHeapBytes)) B in \(Formatting.count(peakHeapBlocks)) blocks) at \(Formatting.seconds(Double(peakHeapTimeNs) / 1e9))\n"
        o += "peak RSS:               \(Formatting.bytes(peakRssBytes)) at \(Formatting.seconds(Double(peakRssTimeNs) / 1e9))\n"
        o += "not freed at the end:   \(Formatting.bytes(leakedBytes)) (\(Formatting.count(leakedBytes)) B) in \(Formatting.count(leakedBlocks)) blocks\n"
        o += "temporary allocations:  \(Formatting.count(temporaryAllocations))\n"
        o += "threads:                \(threads)\n"
        o += "marks:                  \(marks)\n"
        o += "Swift type capture:     \(swiftTypeCapture)\n"
        o += "stacks:                 \(unwind)\n"
        if let python { o += "Python:                 \(python.text)\n" }
        let used = calls.filter { $0.value > 0 }.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
        o += "calls:                  " + used.map { "\($0.key) \(Formatting.count($0.value))" }.joined(separator: ", ") + "\n"
        func sites(_ title: String, _ rows: [SiteRow], _ value: (SiteRow) -> UInt64) {
            guard !rows.isEmpty else { return }
            o += "\n\(title)\n"
            for row in rows {
                o += "  \(Formatting.bytes(value(row)).leftPadded(10))  \(row.location)\n"
            }
        }
        sites("largest at the peak:", topPeakSites) { $0.peakBytes }
        sites("largest not freed:", topLeakedSites) { $0.leakedBytes }
        for w in warnings { o += "warning: \(w)\n" }
        return o
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
