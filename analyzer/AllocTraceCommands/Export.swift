import ArgumentParser
import TraceAnalysis
import TraceReports

/// `alloctrace export TRACE --format pprof|collapsed [-o FILE]`: the data for other viewers.
struct Export: ParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case pprof, massif, collapsed
    }

    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export for other viewers: pprof (go tool pprof, Pyroscope), massif (ms_print, massif-visualizer) or collapsed stacks (flamegraph.pl, inferno, speedscope)."
    )

    @OptionGroup var input: TraceFile
    var trace: String { input.trace }

    @OptionGroup var process: ProcessOptions

    @Option(help: "pprof, massif or collapsed.")
    var format: Format

    @Option(help: "collapsed: what each line's value is (allocations, bytes, peak, leaked, temporary).")
    var by: SiteMetric = .bytes

    @Option(name: .shortAndLong, help: "The file to write (default: stdout).")
    var output: String?

    @OptionGroup var stacks: StackOptions

    func run() throws {
        try reportingErrors {
            let replay = try Analysis.replay(trace, ReplayRequest(sites: true))
            let resolver = stacks.resolver(replay.reader)
            switch format {
            case .pprof:
                do { try OutputFile.write(try PprofExport.render(replay: replay, resolver: resolver), to: output) }
                catch let e as ReportError { throw CommandError(e.description) }
            case .massif:
                let (timeline, _) = try Analysis.timeline(trace, groups: false)
                try OutputFile.write(MassifExport.render(replay: replay, timeline: timeline, resolver: resolver), to: output)
            case .collapsed:
                // the format has no room for a comment line
                if let sampling = replay.reader.sampling { printNote("note: \(sampling.note)") }
                try OutputFile.write(CollapsedExport.render(replay: replay, resolver: resolver, by: by), to: output)
            }
        }
    }
}
