import ArgumentParser
import FoundationEssentials
import Glibc
import TraceFormat

/// `alloctrace debug [GDB OPTIONS] -- PROGRAM ARGS...`: gdb on the program, with the recorder preloaded
/// into the program only and the `alloctrace ...` gdb commands defined (analyzer/gdb/alloctrace-gdb.py).
struct Debug: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug",
        abstract: "Run a program under gdb and the recorder, with `alloctrace types|growth|top|leaks|chains|mark` as gdb commands.",
        discussion: """
            Options before -- go to gdb (-batch, -ex CMD, -x FILE, ...). The recorder is preloaded into \
            the program only (gdb's exec-wrapper), its trace written as by `record` (ALLOCTRACE_OUTPUT, \
            default alloctrace.%n.%p.atrace). At a stop, `alloctrace types` marks the program, takes its \
            heap graph and prints the table. For a gdb attached to a process already under `record`: \
            (gdb) source PATH, with PATH from `alloctrace debug --script-path`.
            """
    )

    @Argument(parsing: .captureForPassthrough, help: "[GDB OPTIONS] -- PROGRAM [ARGS...], or --script-path")
    var arguments: [String] = []

    func run() throws {
        let ending = try reportingErrors { try launch() }
        Spawner.exit(as: ending)
    }

    private func launch() throws -> Spawner.Ending {
        if arguments == ["--help"] || arguments == ["-h"] {
            print(Self.helpMessage())
            return .exited(0)
        }
        if arguments == ["--script-path"] {
            print(try Self.scriptPath())
            return .exited(0)
        }
        guard let separator = arguments.firstIndex(of: "--"), separator + 1 < arguments.count else {
            throw CommandError("name the program: alloctrace debug [GDB OPTIONS] -- PROGRAM [ARGS...]", status: 2)
        }
        let gdbOptions = Array(arguments[..<separator])
        let program = Array(arguments[(separator + 1)...])
        let library = try PreloadLibrary.path()
        let script = try Self.scriptPath()
        let environment = ProcessInfo.processInfo.environment
        guard let gdb = Spawner.resolveInPath("gdb", environment["PATH"] ?? "/usr/bin:/bin") else {
            throw CommandError("gdb is not installed (scripts/install-deps.sh installs it)", status: 127)
        }
        var pattern = environment["ALLOCTRACE_OUTPUT"] ?? TraceFileName.defaultPattern.description
        if !pattern.hasPrefix("/") { pattern = FileManager.default.currentDirectoryPath + "/" + pattern }
        let preload = library + (environment["LD_PRELOAD"].map { " " + $0 } ?? "")
        var wrapper = ["env", "LD_PRELOAD=" + preload, "ALLOCTRACE_OUTPUT=" + pattern]
        if environment["SWIFT_BACKTRACE"] == nil { wrapper.append("SWIFT_BACKTRACE=enable=no") }
        let argv = [gdb,
                    "-iex", "set exec-wrapper " + wrapper.map(Self.shellQuoted).joined(separator: " "),
                    "-iex", "source " + script]
            + gdbOptions + ["--args"] + program
        // gdb itself runs with this process's environment: no recorder in it
        var env = environment
        env["ALLOCTRACE_ANALYZER"] = CommandLine.executablePathResolved
        let child = try Self.spawnDebugger(argv, environment: env)
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 {
            if errno != EINTR { return .exited(1) }
        }
        let signal = status & 0x7F
        return signal == 0 ? .exited((status >> 8) & 0xFF) : .killed(signal)
    }

    /// Starts gdb with no signal blocked (a mask inherited from our parent would keep gdb from
    /// seeing its inferior's SIGCHLD and the program from its signals); ^C is gdb's to handle.
    static func spawnDebugger(_ argv: [String], environment: [String: String]) throws -> pid_t {
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], nil, &attr, cArgs, cEnv)
        if rc != 0 { throw CommandError("cannot run \(argv[0]): \(String(cString: strerror(rc)))", status: 127) }
        signal(SIGINT, SIG_IGN)
        signal(SIGQUIT, SIG_IGN)
        return pid
    }

    static func shellQuoted(_ s: String) -> String {
        "'" + s.replacing("'", with: "'\\''") + "'"
    }

    /// The gdb script: $ALLOCTRACE_GDB_SCRIPT, beside this executable, in ../share/alloctrace of an
    /// installed prefix, or in the source tree this was built from.
    static func scriptPath() throws -> String {
        let name = "alloctrace-gdb.py"
        if let explicit = ProcessInfo.processInfo.environment["ALLOCTRACE_GDB_SCRIPT"], !explicit.isEmpty { return explicit }
        let exe = URL(fileURLWithPath: CommandLine.executablePathResolved).deletingLastPathComponent()
        let candidates = [
            exe.appendingPathComponent(name),
            exe.deletingLastPathComponent().appendingPathComponent("share/alloctrace").appendingPathComponent(name),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("gdb").appendingPathComponent(name),
        ]
        for c in candidates where FileManager.default.isReadableFile(atPath: c.path) { return c.standardizedFileURL.path }
        throw CommandError("cannot find \(name) (set ALLOCTRACE_GDB_SCRIPT)")
    }
}
