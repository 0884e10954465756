import ArgumentParser
import TraceAnalysis
import TraceReports

/// `alloctrace diff A [B]`: two traces, or two moments of one, side by side.
struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two traces (or two moments of one) by type and by site: new, gone, larger, smaller.",
        discussion: "alloctrace diff A.atrace B.atrace [--at MOMENT]   or   alloctrace diff A.atrace --from M1 --to M2"
    )

    @Argument(help: "The trace before.")
    var before: String

    @Argument(help: "The trace after (omit to compare two moments of the first).")
    var after: String?

    @Option(help: "With two traces: the moment compared in both (default end).")
    var at: Moment = .end

    @Option(help: "With one trace: the earlier moment.")
    var from: Moment?

    @Option(help: "With one trace: the later moment.")
    var to: Moment?

    @Flag(help: "Also list rows that did not change.")
    var all = false

    @Option(help: "Show at most this many rows per table.")
    var limit: Int?

    @OptionGroup var output: OutputOptions
    @OptionGroup var stacks: StackOptions

    func validate() throws {
        if after == nil && (from == nil || to == nil) {
            throw ValidationError("give two traces, or one trace with --from and --to")
        }
        if after != nil && (from != nil || to != nil) {
            throw ValidationError("--from/--to compare two moments of one trace; with two traces use --at")
        }
    }

    func run() throws {
        try reportingErrors {
            let report: DiffReport
            if let after {
                let a = try Analysis.replay(before, ReplayRequest(moments: [at]))
                let b = try Analysis.replay(after, ReplayRequest(moments: [at]))
                report = DiffReport(
                    .init(replay: a, resolver: stacks.resolver(a.reader), moment: at, title: "\(before) at \(at)"),
                    .init(replay: b, resolver: stacks.resolver(b.reader), moment: at, title: "\(after) at \(at)"),
                    all: all, limit: limit)
            } else {
                let replay = try Analysis.replay(before, ReplayRequest(moments: [from!, to!]))
                let resolver = stacks.resolver(replay.reader)
                report = DiffReport(.init(replay: replay, resolver: resolver, moment: from!, title: "\(before) at \(from!)"),
                                    .init(replay: replay, resolver: resolver, moment: to!, title: "\(before) at \(to!)"),
                                    all: all, limit: limit)
            }
            try Analysis.emit(report, json: output.json) { $0.text() }
        }
    }
}
