import ArgumentParser
import TraceAnalysis
import TraceReports

/// `alloctrace flamegraph TRACE --by METRIC [-o FILE.svg]`: an interactive flame graph.
struct Flamegraph: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flamegraph",
        abstract: "A self-contained interactive SVG flame graph of allocations, bytes, peak, leaked or temporary."
    )

    @OptionGroup var input: TraceFile
    var trace: String { input.trace }

    @OptionGroup var process: ProcessOptions

    @Option(help: "What the widths measure: allocations, bytes, peak, leaked or temporary.")
    var by: SiteMetric = .bytes

    @Option(name: .shortAndLong, help: "The SVG file to write (default: stdout).")
    var output: String?

    @OptionGroup var stacks: StackOptions

    func run() throws {
        try reportingErrors {
            let replay = try Analysis.replay(trace, ReplayRequest(sites: true))
            let title = "\(by.rawValue) by stack: \(replay.reader.process?.executable ?? trace)" + SampledTraces.titleSuffix
            let svg = FlameGraphSVG.render(replay: replay, resolver: stacks.resolver(replay.reader), by: by, title: title)
            try OutputFile.write(svg, to: output)
        }
    }
}
