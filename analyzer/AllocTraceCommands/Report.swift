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
            // the timeline's pass finds the marks; the second snapshots the heap at those that get
            // sections of their own
            let (timeline, _) = try Analysis.timeline(trace, groups: true)
            let moments = ReportHTML.marksWithSections(timeline.marks.count).map { Moment.markIndex($0) } + [.end]
            let replay = try Analysis.replay(trace, ReplayRequest(sites: true, moments: moments))
            // leaks and cycles when the trace holds a heap graph at its end
            let graph = try? Analysis.heapGraph(trace, at: .end, stacks: stacks)
            let html = ReportHTML.render(.init(replay: replay, timeline: timeline, resolver: stacks.resolver(replay.reader),
                                               heapGraph: graph))
            try OutputFile.write(html, to: output)
        }
    }
}
