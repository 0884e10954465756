import ArgumentParser

/// The trace an analysis command reads: a path, or with `--pid PID` a running program's: mark the running process now, wait until that mark (and
/// its heap-graph snapshot) is in its trace, and analyse the trace up to it.
struct TraceSource: ParsableArguments {
    @Argument(help: "A trace written by `alloctrace record`.")
    var trace: String?

    @Option(help: "A running traced process (or its `alloctrace record` launcher): mark it now and analyse its trace up to that mark.")
    var pid: Int32?

    @Option(name: .customLong("wait"), help: "With --pid: how long to wait for the mark to reach the trace, in seconds (reading the trace not counted).")
    var waitSeconds: Double = 10

    /// The trace to read and, with --pid, the index (from 1) of the mark just made.
    func target() throws -> (path: String, mark: Int?) { try target(trace) }

    /// As `target()`, for a trace argument the command has reinterpreted (`lines --pid PID FILE`).
    func target(_ trace: String?) throws -> (path: String, mark: Int?) {
        guard let pid else {
            guard let trace else { throw CommandError("name a trace file, or a running traced process with --pid PID") }
            return (trace, nil)
        }
        if let trace { throw CommandError("give either a trace file (\(trace)) or --pid, not both") }
        let process = try LiveTrace.tracedProcess(pid)
        let mark = try LiveTrace.markAndWait(process.pid, trace: process.trace, timeout: waitSeconds)
        return (process.trace, mark)
    }
}

/// The trace a command that reads only files takes (no `--pid`).
struct TraceFile: ParsableArguments {
    @Argument(help: "A trace written by `alloctrace record`.")
    var trace: String
}
