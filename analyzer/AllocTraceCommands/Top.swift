import ArgumentParser
import TraceAnalysis
import TraceReports

extension SiteMetric: ExpressibleByArgument {}

/// `alloctrace top TRACE --by METRIC`: allocation sites ranked, with their full stacks.
struct Top: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "top", abstract: "Allocation sites ranked by allocations, bytes, peak, leaked or temporary.")

    @Argument(help: "A trace written by `alloctrace record`.")
    var trace: String?

    @OptionGroup var live: LiveOptions

    @Option(help: "Rank by allocations, bytes, peak, leaked or temporary.")
    var by: SiteMetric = .bytes

    @Option(help: "How many sites to show.")
    var limit = 10

    @Option(help: "Merge sites by `stack` (default) or by allocating `function`.")
    var group: String = "stack"

    @OptionGroup var output: OutputOptions
    @OptionGroup var stacks: StackOptions

    func validate() throws {
        if group != "stack" && group != "function" { throw ValidationError("--group takes stack or function") }
        if limit < 1 { throw ValidationError("--limit takes a positive number") }
    }

    func run() throws {
        try reportingErrors {
            let (trace, mark) = try live.target(self.trace)
            let replay = try Analysis.replay(trace, ReplayRequest(sites: true), untilMark: mark)
            let report = TopReport(replay: replay, resolver: stacks.resolver(replay.reader), by: by,
                                   groupByFunction: group == "function", limit: limit)
            try Analysis.emit(report, json: output.json) { $0.text() }
        }
    }
}
