import ArgumentParser
import TraceAnalysis
import TraceReports

/// `alloctrace growth TRACE --from A --to B`: what grew between two moments, by type.
struct Growth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "growth",
        abstract: "Per type, live count and bytes at two moments and the increase (objgraph's show_growth).",
        discussion: "Moments are mark labels, #N for the N-th mark, seconds (2.5 or 2.5s), start or end."
    )

    @OptionGroup var live: TraceSource

    @Option(help: "The earlier moment (default: start; with --pid, the mark before the one made now).")
    var from: Moment?

    @Option(help: "The later moment.")
    var to: Moment = .end

    @Flag(help: "Also show where the blocks allocated in between and still live were allocated.")
    var sites = false

    @Flag(help: "Also list types that did not change.")
    var all = false

    @Option(help: "Show at most this many rows.")
    var limit: Int?

    @OptionGroup var output: OutputOptions
    @OptionGroup var stacks: StackOptions

    @OptionGroup var names: NameOptions

    func run() throws {
        try reportingErrors {
            let (trace, mark) = try live.target()
            // with --pid: from the previous mark (as show_growth, since its last call) to the one made now
            let from = self.from ?? mark.map { $0 > 1 ? Moment.markIndex($0 - 1) : .start } ?? .start
            let to = mark.map { Moment.markIndex($0) } ?? self.to
            let request = ReplayRequest(moments: [from, to], survivorsFrom: sites ? from : nil, survivorsUntil: sites ? to : nil)
            let replay = try Analysis.replay(trace, request, untilMark: mark)
            // a Python program's objects are named by their Python types, from the heap graphs
            var graphs: (HeapGraphAnalysis, HeapGraphAnalysis)?
            if replay.reader.interpreter?.frames == .python,
               let a = Analysis.heapGraphIfPresent(trace, at: from, stacks: stacks, fullNames: names.qualified(json: output.json)),
               let b = Analysis.heapGraphIfPresent(trace, at: to, stacks: stacks, fullNames: names.qualified(json: output.json)) {
                graphs = (a, b)
            }
            let report = GrowthReport(replay: replay, resolver: stacks.resolver(replay.reader), from: from, to: to,
                                      sites: sites, all: all, limit: limit, graphs: graphs)
            try Analysis.emit(report, json: output.json) { $0.text() }
        }
    }
}
