import ArgumentParser
import FoundationEssentials
import Glibc
import TraceFormat

/// The `alloctrace` command: records heap allocations of a program and answers questions about them.
///
/// Every subcommand names itself (`commandName`): ArgumentParser otherwise derives each name from
/// `String(describing: Self.self)`, whose protocol-conformance lookups scan every loaded image's
/// conformances (Foundation's too), about half of each run's start-up.
public struct AllocTraceCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "alloctrace",
        abstract: "Heap allocation tracer for Linux programs: record, then analyse.",
        version: AllocTraceCommand.versionText,
        subcommands: [
            Record.self,
            PreloadPath.self,
            Mark.self,
            Debug.self,
            Dump.self,
            Summary.self,
            Top.self,
            Types.self,
            Marks.self,
            Growth.self,
            Diff.self,
            Lines.self,
            Chains.self,
            Leaks.self,
            Cycles.self,
            Retained.self,
            Flamegraph.self,
            TimelineCommand.self,
            Report.self,
            Export.self,
        ]
    )

    public init() {}

    /// `alloctrace --version`.
    static let versionText = "alloctrace 0.1.0 (trace format \(TraceFileHeader.version))"

    /// Runs the command line; a first word that names no subcommand gets the nearest one suggested.
    public static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        if let first = args.first, !first.hasPrefix("-"), first != "help" {
            let names = configuration.subcommands.compactMap { $0.configuration.commandName }
            if !names.contains(first) {
                let nearest = names.min { editDistance(first, $0) < editDistance(first, $1) }
                var message = "alloctrace: error: unknown command '\(first)'"
                if let nearest, editDistance(first, nearest) <= max(2, nearest.count / 3) { message += "; did you mean '\(nearest)'?" }
                message += "\nthe commands: \(names.joined(separator: ", ")) (alloctrace --help says more)\n"
                StandardStreams.error(message)
                Glibc.exit(64)
            }
        }
        main(args)
    }

    /// Levenshtein distance (a transposition costs 1, as in "sumary" and "summray").
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }
}
