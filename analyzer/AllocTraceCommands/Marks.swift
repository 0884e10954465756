import ArgumentParser
import TraceAnalysis
import TraceReports

/// `alloctrace marks TRACE`: the marks of a trace with the live heap and RSS at each.
struct Marks: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "marks", abstract: "Every mark with its label, time, live heap and RSS.")

    @OptionGroup var live: TraceSource

    @OptionGroup var output: OutputOptions

    func run() throws {
        try reportingErrors {
            let (trace, mark) = try live.target()
            let replay = try Analysis.replay(trace, ReplayRequest(), untilMark: mark)
            try Analysis.emit(MarksReport(replay: replay), json: output.json) { $0.text() }
        }
    }
}
