import ArgumentParser
import TraceAnalysis
import TraceReports

/// `alloctrace retained TRACE [--at MARK|end]`: retained sizes from the dominator tree.
struct Retained: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retained",
        abstract: "Retained sizes: what would be freed if an object went, per object, per type and per root, largest first.",
        discussion: "From the dominator tree of the heap graph (weak references keep nothing). Needs a heap-graph snapshot."
    )

    @OptionGroup var graph: HeapGraphOptions

    @Option(help: "Show at most this many rows in each table.")
    var limit: Int = 20

    func run() throws {
        try reportingErrors {
            let (path, at) = try graph.target()
            let analysis = try Analysis.heapGraph(path, at: at, stacks: graph.stacks, fullNames: graph.qualified)
            let report = RetainedReport(analysis: analysis, limit: limit)
            try Analysis.emit(report, json: graph.output.json) { $0.text() }
        }
    }
}
