import ArgumentParser
import TraceAnalysis
import TraceReports

/// `alloctrace leaks TRACE [--at MARK|end]`: blocks no root reaches, by type and site, and the
/// roots of the leaked structures.
struct Leaks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leaks",
        abstract: "Blocks unreachable from any root, by type and by site, with the roots of leaked structures (like macOS leaks).",
        discussion: """
            Reachability follows every reference but weak ones. ROOT CYCLE: objects held only by \
            each other; ROOT LEAK: a block nothing holds; each with the leaked blocks it holds, \
            identical ones folded. Needs a heap-graph snapshot (recorded at marks and at exit by default).
            """
    )

    @OptionGroup var graph: HeapGraphOptions

    @Option(help: "Show at most this many rows in each table.")
    var limit: Int?

    func run() throws {
        try reportingErrors {
            let (path, at) = try graph.target()
            let analysis = try Analysis.heapGraph(path, at: at, stacks: graph.stacks, fullNames: graph.qualified)
            let report = LeaksReport(analysis: analysis, limit: limit)
            try Analysis.emit(report, json: graph.output.json) { $0.text() }
        }
    }
}
