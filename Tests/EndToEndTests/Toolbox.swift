import Foundation
import Testing
import TraceFormat
import TraceReader

/// Runs the real built products (alloctrace, the recorder library, the samples) as processes.
enum Toolbox {
    /// The build folder holding this test bundle and every product beside it.
    static let binDir: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().path
    }()

    static func bin(_ name: String) -> String { binDir + "/" + name }

    /// The package's top folder (this file is Tests/EndToEndTests/Toolbox.swift).
    static let sourceRoot: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static var alloctrace: String { bin("alloctrace") }

    struct Result {
        var status: Int32
        var stdout: Data
        var stderr: String
        var out: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// Runs a program to completion; stdin is /dev/null.
    @discardableResult
    static func run(_ path: String, _ args: [String], environment: [String: String]? = nil,
                    cwd: String? = nil, timeout: Int = 300) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        if let environment { p.environment = environment }
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        // files, not pipes: nothing to drain while the program runs
        let dir = NSTemporaryDirectory() + "alloctrace-run-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = FileManager.default.createFile(atPath: dir + "/out", contents: nil)
        _ = FileManager.default.createFile(atPath: dir + "/err", contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/out"))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/err"))
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        // a hang (a deadlock in the recorder, say) fails its test instead of stalling the suite
        let pid = p.processIdentifier
        let watchdog = DispatchWorkItem { if p.isRunning { kill(pid, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(timeout), execute: watchdog)
        p.waitUntilExit()
        watchdog.cancel()
        try out.close()
        try err.close()
        let outData = try Data(contentsOf: URL(fileURLWithPath: dir + "/out"))
        let errData = try Data(contentsOf: URL(fileURLWithPath: dir + "/err"))
        let status = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
        return Result(status: status, stdout: outData, stderr: String(decoding: errData, as: UTF8.self))
    }

    /// `alloctrace ARGS --json`, parsed; fails the test when the command fails.
    static func json(_ args: [String]) throws -> [String: Any] {
        let r = try run(alloctrace, args + ["--json"])
        try #require(r.status == 0, "alloctrace \(args) failed: \(r.stderr)")
        return try #require(JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
    }

    static func rows(_ object: [String: Any]?, _ key: String) -> [[String: Any]] {
        (object?[key] as? [[String: Any]]) ?? []
    }

    static func int(_ v: Any?) -> Int { (v as? NSNumber)?.intValue ?? -1 }

    /// A fresh private folder for one test's traces.
    static func scratch(_ name: String) throws -> String {
        let dir = NSTemporaryDirectory() + "alloctrace-tests-\(getpid())/\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// `alloctrace record -q -o DIR/trace.atrace -- PROGRAM ARGS`; returns the run and the trace path.
    static func record(_ program: String, _ args: [String] = [], in dir: String, options: [String] = [],
                       timeout: Int = 300) throws -> (Result, String) {
        let trace = dir + "/trace.atrace"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let r = try run(alloctrace, ["record", "-q", "-o", trace] + options + ["--", program] + args, timeout: timeout)
        return (r, trace)
    }

    /// Starts a program as a shell would: no signal blocked, every disposition default (a test's
    /// thread, a Dispatch worker, blocks most signals, and a child inherits that); stdout to
    /// `stdout` (a pipe's write end), stderr to /dev/null. Returns its pid.
    static func spawnClean(_ path: String, _ args: [String], stdout: Int32) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([path] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attr, argv, environ)
        try #require(rc == 0, "cannot start \(path): \(rc)")
        return pid
    }

    /// The environment for running a program under the recorder without the launcher
    /// (README, "Without the launcher"): no SWIFT_BACKTRACE of the tests' own.
    static func preloadEnvironment(output: String, extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["LD_PRELOAD"] = bin("libAllocTracePreload.so")
        env["ALLOCTRACE_OUTPUT"] = output
        env["SWIFT_BACKTRACE"] = nil
        env.merge(extra) { $1 }
        return env
    }

    /// A C source of the package built with plain `cc` (no swiftrt.o, no libswiftCore: what a
    /// user's C program is), into `dir`; returns the executable's path.
    static func compileC(_ source: String, in dir: String, name: String, flags: [String] = []) throws -> String {
        let out = dir + "/" + name
        let r = try run("/usr/bin/cc", ["-O1", "-o", out, sourceRoot + "/" + source] + flags)
        try #require(r.status == 0, "cc \(source) failed: \(r.stderr)")
        return out
    }

    /// Files in `dir` whose names start with `prefix`, sorted.
    static func files(in dir: String, prefix: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix(prefix) }.sorted().map { dir + "/" + $0 }
    }
}

/// A decoded trace: every event in merged order, with the reader's tables.
struct DecodedTrace {
    let reader: TraceReader
    let events: [TraceEvent]
    let summary: ReplaySummary

    init(_ path: String) throws {
        reader = try TraceReader(path: path)
        var all: [TraceEvent] = []
        summary = try reader.replay { batch in all.append(contentsOf: batch) }
        events = all
    }

    var labels: [String] { events.filter { $0.kind == .mark }.map { reader.label(of: $0) ?? "" } }

    /// Events strictly between the first mark `from` and the first mark `to` after it (all threads).
    func between(_ from: String, _ to: String) -> [TraceEvent] {
        guard let a = events.firstIndex(where: { $0.kind == .mark && reader.label(of: $0) == from }),
              let b = events[(a + 1)...].firstIndex(where: { $0.kind == .mark && reader.label(of: $0) == to })
        else { return [] }
        return Array(events[(a + 1)..<b])
    }

    func count(_ kind: EventKind, in list: [TraceEvent]? = nil) -> Int {
        (list ?? events).filter { $0.kind == kind }.count
    }

    func sizes(_ kind: EventKind, in list: [TraceEvent]? = nil) -> [UInt64] {
        (list ?? events).filter { $0.kind == kind }.map(\.size)
    }

    /// Thread index of the thread with this name.
    func thread(named name: String) -> UInt32? {
        reader.threadList.first { $0.name == name }?.index
    }

    func typeName(_ e: TraceEvent) -> String? { e.typeID == 0 ? nil : reader.types[e.typeID]?.name }
}

/// A program left running (live inspection, signals): stdin a pipe the test writes to, stdout and
/// stderr files it polls. Spawned with no signal blocked and default dispositions (the test runner's
/// threads block signals, which Foundation's Process passes on): a signal acts as in a shell.
final class RunningProgram {
    let pid: pid_t
    let dir: String
    private var input: Int32
    private var status: Int32?

    init(_ path: String, _ args: [String]) throws {
        dir = NSTemporaryDirectory() + "alloctrace-running-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw RunningError("pipe failed") }
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        input = fds[1]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addopen(&actions, 1, dir + "/out", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, dir + "/err", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigemptyset(&all)
        for sig in 1..<32 where sig != SIGKILL && sig != SIGSTOP { sigaddset(&all, Int32(sig)) }
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([path] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, path, &actions, &attr, argv, environ)
        close(fds[0])
        guard rc == 0 else { close(fds[1]); throw RunningError("cannot run \(path): \(rc)") }
        pid = child
    }

    deinit {
        if status == nil { kill(pid, SIGKILL); _ = finish() }
        if input >= 0 { close(input) }
        try? FileManager.default.removeItem(atPath: dir)
    }

    var out: String { (try? String(contentsOfFile: dir + "/out", encoding: .utf8)) ?? "" }
    var err: String { (try? String(contentsOfFile: dir + "/err", encoding: .utf8)) ?? "" }

    private var running: Bool {
        if status != nil { return false }
        var st: Int32 = 0
        if waitpid(pid, &st, WNOHANG) == pid { status = Self.shellStatus(st); return false }
        return true
    }

    /// Waits until stdout holds `line` as a whole line (60 s at most).
    func waitForLine(_ line: String) throws {
        for _ in 0..<6000 {
            if out.split(separator: "\n").contains(Substring(line)) { return }
            if !running { break }
            usleep(10_000)
        }
        throw RunningError("no line \"\(line)\"; stdout: \(out) stderr: \(err)")
    }

    /// The pid of the launcher's traced child, from its "tracing pid N" line.
    func tracedPid() throws -> Int32 {
        for _ in 0..<3000 {
            for line in err.split(separator: "\n") where line.hasPrefix("alloctrace: tracing pid ") {
                if let n = Int32(line.dropFirst("alloctrace: tracing pid ".count).prefix { $0.isNumber }) { return n }
            }
            usleep(10_000)
        }
        throw RunningError("the launcher printed no pid; stderr: \(err)")
    }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(input, $0.baseAddress, $0.count) }
    }

    /// Closes stdin (unless told not to) and waits for the exit (60 s at most, then SIGKILL); the
    /// exit status as a shell gives it (128 + N for a death by signal N).
    @discardableResult
    func finish(closingInput: Bool = true) -> Int32 {
        if closingInput && input >= 0 { close(input); input = -1 }
        for _ in 0..<6000 {
            if !running { return status! }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        var st: Int32 = 0
        _ = waitpid(pid, &st, 0)
        status = Self.shellStatus(st)
        return status!
    }

    static func shellStatus(_ st: Int32) -> Int32 {
        let signal = st & 0x7F
        return signal == 0 ? (st >> 8) & 0xFF : 128 + signal
    }
}

struct RunningError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
