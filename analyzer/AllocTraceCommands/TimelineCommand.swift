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

    @OptionGroup var input: TraceFile
    var trace: String { input.trace }

    @OptionGroup var process: ProcessOptions

    @Option(help: "Stack the K largest types (Swift types and allocation sites) under the heap curve.")
    var types = 0

    @Option(name: .shortAndLong, help: "The SVG file to write (default: stdout).")
    var output: String?

    @OptionGroup var stacks: StackOptions

    func run() throws {
        try reportingErrors {
            let (timeline, reader) = try Analysis.timeline(trace, groups: types > 0)
            let resolver = stacks.resolver(reader)
            // a Python program's blocks by the Python objects the end's heap graph found at their stacks
            var python: [UInt32: String] = [:]
            if types > 0, reader.interpreter?.frames == .python,
               let graph = Analysis.heapGraphIfPresent(trace, at: .end, stacks: stacks) {
                python = graph.pythonNamesByStack()
            }
            let svg = TimelineSVG.render(timeline, seconds: { Double(reader.clock.nanosecondsSinceStart($0)) / 1e9 },
                                         name: TypeNames.namer(reader: reader, resolver: resolver, python: python),
                                         types: types, title: "heap over time: \(reader.process?.executable ?? trace)" + SampledTraces.titleSuffix)
            try OutputFile.write(svg, to: output)
        }
    }
}
