import ArgumentParser
import TraceAnalysis
import TraceReports

extension SiteMetric: ExpressibleByArgument {}

/// `alloctrace top TRACE --by METRIC`: allocation sites ranked, with their full stacks.
struct Top: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "top", abstract: "Allocation sites ranked by allocations, bytes, peak, leaked or temporary.")

    @OptionGroup var live: TraceSource

    @Option(help: "Rank by allocations, bytes, peak, leaked or temporary.")
    var by: SiteMetric = .bytes

    @Option(help: "How many sites to show.")
    var limit = 10

    @Option(help: "Merge sites by `stack` (default) or by allocating `function`.", transform: SiteGrouping.parse)
    var group: SiteGrouping = .stack

    @OptionGroup var output: OutputOptions
    @OptionGroup var stacks: StackOptions

    func validate() throws {
        if limit < 1 { throw ValidationError("--limit takes a positive number") }
    }

    func run() throws {
        try reportingErrors {
            let (trace, mark) = try live.target()
            let replay = try Analysis.replay(trace, ReplayRequest(sites: true), untilMark: mark)
            let report = TopReport(replay: replay, resolver: stacks.resolver(replay.reader), by: by,
                                   groupByFunction: group == .function, limit: limit)
            try Analysis.emit(report, json: output.json) { $0.text() }
        }
    }
}
