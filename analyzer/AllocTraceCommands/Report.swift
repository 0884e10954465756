import ArgumentParser
import TraceAnalysis
import TraceReports

/// `alloctrace report TRACE [-o FILE.html]`: everything on one self-contained page.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "One self-contained HTML page: summary, timeline, flame graphs, top sites, types at each mark, growth, leaks and cycles."
    )

    @OptionGroup var input: TraceFile
    var trace: String { input.trace }

    @OptionGroup var process: ProcessOptions

    @Option(name: .shortAndLong, help: "The HTML file to write (default: stdout).")
    var output: String?

    @OptionGroup var stacks: StackOptions

    func run() throws {
        try reportingErrors {
            // Two passes: the heap graph's at the end (leaks and cycles, when the trace holds one),
            // which counts the marks; then the sites, the timeline and the heap at the marks that get
            // sections of their own. A trace the first cannot read gets the plain replay's message.
            guard let (graph, markCount) = Analysis.endGraphAndMarks(trace, stacks: stacks) else {
                _ = try Analysis.replay(trace, ReplayRequest())
                throw CommandError("\(trace): the trace cannot be read through")
            }
            let moments = ReportHTML.marksWithSections(markCount).map { Moment.markIndex($0) } + [.end]
            var request = ReplayRequest(sites: true, moments: moments)
            request.timeline = (buckets: 600, groups: true)
            let replay = try Analysis.replay(trace, request)
            guard let timeline = replay.timeline else { throw CommandError("\(trace): no timeline") }
            let html = ReportHTML.render(.init(replay: replay, timeline: timeline, resolver: stacks.resolver(replay.reader),
                                               heapGraph: graph))
            try OutputFile.write(html, to: output)
        }
    }
}
