import ArgumentParser
import FoundationEssentials
import Glibc
import TraceAnalysis
import TraceReports

/// `alloctrace lines TRACE SOURCE_FILE`: the source file with allocation figures on each line.
struct Lines: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lines",
        abstract: "A source file line by line: allocations made there (directly or inlined), bytes, bytes live at the peak, bytes never freed."
    )

    @OptionGroup var live: TraceSource

    @Argument(help: "The source file to print.")
    var source: String?

    @Option(help: "Only this function's lines, and only allocations made in it (memory_profiler's @profile): a name as frames show it (`my_func`, `Cache.put`).")
    var function: String?

    @OptionGroup var output: OutputOptions
    @OptionGroup var stacks: StackOptions

    func run() throws {
        try reportingErrors {
            // with --pid the one argument is the source file
            let (traceArgument, sourceArgument) = live.pid != nil && source == nil ? (nil, live.trace) : (live.trace, source)
            guard let source = sourceArgument else { throw CommandError("name the source file to print") }
            guard FileManager.default.isReadableFile(atPath: source) else { throw CommandError("cannot read source file \(source)") }
            let (trace, mark) = try live.target(traceArgument)
            let replay = try Analysis.replay(trace, ReplayRequest(sites: true), untilMark: mark)
            let report: LinesReport
            do {
                report = try LinesReport(replay: replay, resolver: stacks.resolver(replay.reader), sourcePath: source, function: function)
            } catch let e as LinesReport.NothingThere {
                throw CommandError(e.description)
            }
            try Analysis.emit(report, json: output.json) { $0.text() }
        }
    }
}
