import ArgumentParser
import TraceAnalysis
import TraceReader
import TraceReports

/// `alloctrace timeline TRACE [-o FILE.svg] [--types K]`: heap and RSS over time.
struct TimelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "timeline",
        abstract: "Heap in use and RSS over time as SVG, marks labelled, the peak pointed out; --types K stacks the K largest types."
    )

    @Argument(help: "A trace written by `alloctrace record`.")
    var trace: String

    @Option(help: "Stack the K largest types (Swift types and allocation sites) under the heap curve.")
    var types = 0

    @Option(name: .shortAndLong, help: "The SVG file to write (default: stdout).")
    var output: String?

    @OptionGroup var stacks: StackOptions

    func run() throws {
        try reportingErrors {
            let (timeline, reader) = try Analysis.timeline(trace, groups: types > 0)
            let resolver = stacks.resolver(reader)
            let svg = TimelineSVG.render(timeline, seconds: { Double(reader.clock.nanosecondsSinceStart($0)) / 1e9 },
                                         name: { TypeNames.name($0, reader: reader, resolver: resolver) },
                                         types: types, title: "heap over time: \(reader.process?.executable ?? trace)")
            try OutputFile.write(svg, to: output)
        }
    }
}
