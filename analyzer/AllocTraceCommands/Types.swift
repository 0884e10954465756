import ArgumentParser
import TraceAnalysis
import TraceReports

extension Moment: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}

/// `alloctrace types TRACE [--at MOMENT]`: live objects grouped by type, most common first.
struct Types: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "types",
        abstract: "Live objects by type at a moment, most common first (objgraph's show_most_common_types).",
        discussion: "MOMENT is a mark's label, #N for the N-th mark, a time in seconds (2.5 or 2.5s), start or end."
    )

    @OptionGroup var live: TraceSource

    @Option(help: "The moment: a mark label, #N, seconds, start or end.")
    var at: Moment = .end

    @Option(help: "Show at most this many types.")
    var limit: Int?

    @OptionGroup var output: OutputOptions
    @OptionGroup var stacks: StackOptions

    @OptionGroup var names: NameOptions

    func run() throws {
        try reportingErrors {
            let (trace, mark) = try live.target()
            let at = mark.map { Moment.markIndex($0) } ?? self.at
            // With a heap graph at that moment, C++ objects are named by their dynamic type too, and
            // its replay has all the figures: the plain one runs only without it. A label is the
            // exception: the graph's replay stops at its snapshot, and only the plain one reads
            // every mark (a label that several marks carry gets its warning).
            let fullNames = names.qualified(json: output.json)
            var graph: HeapGraphAnalysis? = nil
            if case .mark = at {} else { graph = Analysis.heapGraphIfPresent(trace, at: at, stacks: stacks, fullNames: fullNames, notes: true) }
            var report: TypesReport
            if let graph {
                report = TypesReport(graph: graph, at: at, limit: limit)
            } else {
                let replay = try Analysis.replay(trace, ReplayRequest(moments: [at]), untilMark: mark)
                report = TypesReport(replay: replay, resolver: stacks.resolver(replay.reader), at: at, limit: limit)
                if case .mark = at, let graph = Analysis.heapGraphIfPresent(trace, at: at, stacks: stacks, fullNames: fullNames) {
                    report = TypesReport(graph: graph, at: at, limit: limit)
                }
            }
            try Analysis.emit(report, json: output.json) { $0.text() }
        }
    }
}
