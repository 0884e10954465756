import ArgumentParser
import TraceAnalysis
import TraceReports

/// `alloctrace summary TRACE`: the whole trace in one page.
struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary",
        abstract: "Duration, calls, bytes, peak heap and RSS, leaks, temporaries, threads and the top sites."
    )

    @OptionGroup var live: TraceSource

    @Option(help: "How many sites to list by peak and by bytes not freed.")
    var top = 3

    @OptionGroup var output: OutputOptions
    @OptionGroup var stacks: StackOptions

    func run() throws {
        try reportingErrors {
            let (trace, mark) = try live.target()
            if !output.json, output.process.process == nil, let tree = ProcessTree.text(for: trace, current: try ProcessSelection.resolve(trace)) { print(tree, terminator: "") }
            let replay = try Analysis.replay(trace, ReplayRequest(sites: true), innermostFramesOnly: !output.json, untilMark: mark)
            var report = SummaryReport(replay: replay, resolver: stacks.resolver(replay.reader), topSites: top,
                                       withStacks: output.json)
            if let live = Analysis.stillBeingWritten(replay) { report.cutShortReason = live }
            try Analysis.emit(report, json: output.json) { $0.text() + (ProcessTree.continuation(of: replay.reader.path) ?? "") }
        }
    }
}
