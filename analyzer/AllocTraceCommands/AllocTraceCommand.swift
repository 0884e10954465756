import ArgumentParser

/// The `alloctrace` command: records heap allocations of a program and answers questions about them.
///
/// Every subcommand names itself (`commandName`): ArgumentParser otherwise derives each name from
/// `String(describing: Self.self)`, whose protocol-conformance lookups scan every loaded image's
/// conformances (Foundation's too), about half of each run's start-up.
public struct AllocTraceCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "alloctrace",
        abstract: "Heap allocation tracer for Linux programs: record, then analyse.",
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
}
