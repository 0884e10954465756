import ArgumentParser
import FoundationEssentials
import Glibc
import TraceFormat

/// `alloctrace record [options] -- PROGRAM ARGS...`: runs a program under the recorder.
struct Record: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Run a program under the recorder and write its allocation trace.",
        discussion: """
            The program's stdin, stdout, stderr and exit status pass through unchanged (a death by \
            signal N exits 128+N). Every option has an ALLOCTRACE_* environment variable for use \
            without the launcher: LD_PRELOAD=$(alloctrace preload-path) ALLOCTRACE_OUTPUT=FILE PROGRAM.
            """
    )

    /// Trace file (ALLOCTRACE_OUTPUT); %p is replaced by the pid and %n by the program name.
    @Option(name: .shortAndLong, help: "Trace file; %p is the pid, %n the program name (default \(TraceFileName.defaultPattern)).")
    var output: String?

    @Option(help: "Deepest stack recorded, in frames (ALLOCTRACE_STACK_DEPTH).")
    var depth: Int?

    @Option(help: "Stack capture: auto (.eh_frame call-frame information; libunwind where that is not enough), libunwind, fp, none, or verify (auto checked against libunwind on every stack, counts printed at exit) (ALLOCTRACE_UNWIND).",
            transform: UnwindChoice.parse)
    var unwind: UnwindChoice?

    @Option(name: .customLong("flush-ms"), help: "Flush the trace at least this often (ALLOCTRACE_FLUSH_MS, default 1000).")
    var flushMs: Int?

    @Option(name: .customLong("rss-ms"), help: "Sample resident memory this often (ALLOCTRACE_RSS_MS, default 20).")
    var rssMs: Int?

    @Option(name: .customLong("mark-signal"), help: "Signal for `alloctrace mark` (ALLOCTRACE_MARK_SIGNAL: number, RTMAX-N, USR1, off).")
    var markSignal: String?

    @Option(name: .customLong("zstd-level"), help: "zstd compression level (ALLOCTRACE_ZSTD_LEVEL, default 1).")
    var zstdLevel: Int?

    @Option(name: .customLong("heap-graph"), help: "Heap-graph snapshots: marks,exit (default), marks, exit or off (ALLOCTRACE_HEAP_GRAPH).",
            transform: HeapGraphChoice.parse)
    var heapGraph: HeapGraphChoice?

    @Option(help: "Which processes to trace: all (default: every child and exec'd program), exec (the program started and the programs it execs), none (the program started only) (ALLOCTRACE_FOLLOW).",
            transform: FollowChoice.parse)
    var follow: FollowChoice?

    @Option(name: .customLong("sample-bytes"), help: "Sampled recording: record allocations as a Poisson process of one sample per N bytes on average (512K, 2M; allocations of N or more always), and only the frees of sampled blocks; the analyzer estimates every figure (ALLOCTRACE_SAMPLE_BYTES). Leaks, cycles, chains and retained need a full trace.",
            transform: SampleBytes.option)
    var sampleBytes: UInt64?

    @Flag(name: .shortAndLong, help: "Print nothing of alloctrace's own on stderr.")
    var quiet = false

    @Argument(parsing: .captureForPassthrough, help: "-- PROGRAM [ARGS...]")
    var command: [String] = []

    func validate() throws {
        // `record --help`: the words after the options are the program's, except a first one
        // that asks for help
        if let first = command.first, ["--help", "-h", "help"].contains(first) { throw CleanExit.helpRequest(self) }
        if let depth, depth < 1 || depth > 240 { throw ValidationError("--depth takes 1 to 240") }
        if programAndArguments.isEmpty { throw ValidationError("name the program to run: alloctrace record -- PROGRAM [ARGS...]") }
    }

    var programAndArguments: [String] {
        command.first == "--" ? Array(command.dropFirst()) : command
    }

    func run() throws {
        let ending = try reportingErrors { try launch() }
        Spawner.exit(as: ending)
    }

    private func launch() throws -> Spawner.Ending {
        let library = try PreloadLibrary.path()
        let argv = programAndArguments
        let cwd = FileManager.default.currentDirectoryPath
        var pattern = output ?? TraceFileName.defaultPattern.description
        if !pattern.hasPrefix("/") { pattern = cwd + "/" + pattern }

        var env = ProcessInfo.processInfo.environment
        let existing = env["LD_PRELOAD"].map { " " + $0 } ?? ""
        env["LD_PRELOAD"] = library + existing
        env["ALLOCTRACE_OUTPUT"] = pattern
        if env["SWIFT_BACKTRACE"] == nil { env["SWIFT_BACKTRACE"] = "enable=no" }
        if let depth { env["ALLOCTRACE_STACK_DEPTH"] = String(depth) }
        if let unwind { env["ALLOCTRACE_UNWIND"] = unwind.rawValue }
        if let flushMs { env["ALLOCTRACE_FLUSH_MS"] = String(flushMs) }
        if let rssMs { env["ALLOCTRACE_RSS_MS"] = String(rssMs) }
        if let markSignal { env["ALLOCTRACE_MARK_SIGNAL"] = markSignal }
        if let zstdLevel { env["ALLOCTRACE_ZSTD_LEVEL"] = String(zstdLevel) }
        if let heapGraph { env["ALLOCTRACE_HEAP_GRAPH"] = heapGraph.rawValue }
        if let sampleBytes { env["ALLOCTRACE_SAMPLE_BYTES"] = String(sampleBytes) }
        if quiet { env["ALLOCTRACE_QUIET"] = "1" }      // the recorder's own messages too
        if let note = PythonEnvironment.prepare(&env, argv: argv), !quiet { printNote(note) }
        if let follow { env["ALLOCTRACE_FOLLOW"] = follow.rawValue }

        let journal = LaunchAccount.createJournal(pattern: pattern)
        env["ALLOCTRACE_INDEX"] = journal
        let child: pid_t
        do { child = try Spawner.spawn(argv, environment: env) } catch { if let journal { unlink(journal) }; throw error }
        if !quiet { announce(pid: child, argv: argv) }
        let ending = Spawner.wait(child)
        let status: Int32
        switch ending {
        case let .exited(code): status = code
        case let .killed(signal): status = 128 + signal
        }
        LaunchAccount.finish(journal: journal, argv: argv, pid: child, status: status, quiet: quiet)
        return ending
    }

    /// One line at start: the traced program's pid, for `alloctrace mark` and `--pid`.
    private func announce(pid: pid_t, argv: [String]) {
        printNote("tracing pid \(pid) (\(URL(fileURLWithPath: argv[0]).lastPathComponent)); inspect it live with: alloctrace types --pid \(pid)")
    }

    /// A path as a shell reads it back: unchanged when it has only safe characters, else in
    /// single quotes (a quote inside as '\'').
    static func shellQuoted(_ s: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,%@")
        if !s.isEmpty && s.allSatisfy({ safe.contains($0) }) { return s }
        return "'" + s.replacing("'", with: "'\\''") + "'"
    }
}
