import ArgumentParser
import TraceAnalysis
import TraceReports

/// `alloctrace cycles TRACE [--at MARK|end]`: leaked retain cycles, folded.
struct Cycles: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cycles",
        abstract: "Leaked cycles: objects held only by each other through strong references (retain cycles).",
        discussion: """
            Each cycle shows its member types and the references that close it \
            (samples.Peer.other -> samples.Peer.other); identical cycles are folded with a count. \
            Weak and unowned references make no cycle. Needs a heap-graph snapshot.
            """
    )

    @OptionGroup var graph: HeapGraphOptions

    @Option(help: "Show at most this many kinds of cycle.")
    var limit: Int?

    @Option(help: "Also write one example of each kind of cycle as Graphviz DOT to this file.")
    var dot: String?

    func run() throws {
        try reportingErrors {
            let (path, at) = try graph.target()
            let analysis = try Analysis.heapGraph(path, at: at, stacks: graph.stacks, fullNames: graph.qualified)
            let report = CyclesReport(analysis: analysis, limit: limit)
            if let dot { try OutputFile.write(GraphDOT.cycles(report, analysis: analysis), to: dot) }
            try Analysis.emit(report, json: graph.output.json) { $0.text() }
        }
    }
}
