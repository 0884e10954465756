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
            // the marks are known after a first pass; the second snapshots the heap at each of them
            let first = try Analysis.replay(trace, ReplayRequest())
            let moments = ReportHTML.marksWithSections(first.marks.count).map { Moment.markIndex($0) } + [.end]
            let replay = try Analysis.replay(trace, ReplayRequest(sites: true, moments: moments))
            let (timeline, _) = try Analysis.timeline(trace, groups: true)
            // leaks and cycles when the trace holds a heap graph at its end
            let graph = try? Analysis.heapGraph(trace, at: .end, stacks: stacks)
            let html = ReportHTML.render(.init(replay: replay, timeline: timeline, resolver: stacks.resolver(replay.reader),
                                               heapGraph: graph))
            try OutputFile.write(html, to: output)
        }
    }
}
