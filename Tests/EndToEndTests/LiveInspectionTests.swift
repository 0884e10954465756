import Foundation
import Testing

/// Issue 12: inspecting a running program (`--pid`, `alloctrace debug`), terminating signals, the
/// launcher's pid line, and moments named like marks.
@Suite struct LiveInspectionTests {
    /// `samples live` under `record`, at its first step (100 Nodes live).
    func startLive(_ dir: String) throws -> (RunningProgram, String, Int32) {
        let trace = dir + "/live.atrace"
        let p = try RunningProgram(Toolbox.alloctrace, ["record", "-o", trace, "--", Toolbox.bin("samples"), "live"])
        try p.waitForLine("step 1")
        return (p, trace, try p.tracedPid())
    }

    /// Type name -> count of a `types --json` or the count change of a `growth --json`.
    func counts(_ json: [String: Any], _ key: String = "count") -> [String: Int] {
        var out: [String: Int] = [:]
        for row in Toolbox.rows(json, "rows") { out[row["name"] as? String ?? ""] = Toolbox.int(row[key]) }
        return out
    }

    @Test func typesWithPidCountsTheLiveObjectsThroughTheProgramAndTheLauncher() throws {
        let dir = try Toolbox.scratch("live-types")
        let (p, trace, child) = try startLive(dir)
        #expect(p.err.contains("alloctrace: tracing pid \(child) (samples)"))

        let byProgram = try Toolbox.run(Toolbox.alloctrace, ["types", "--pid", String(child), "--json"])
        #expect(byProgram.status == 0, "\(byProgram.stderr)")
        let first = try #require(JSONSerialization.jsonObject(with: byProgram.stdout) as? [String: Any])
        #expect(counts(first)["samples.Node"] == 100)
        #expect(counts(first)["samples.Leaf"] == nil)
        #expect(byProgram.stderr.contains("is still being written by pid \(child)"))

        p.send("x")
        try p.waitForLine("step 2")
        let byLauncher = try Toolbox.json(["types", "--pid", String(p.pid)])
        #expect(counts(byLauncher)["samples.Node"] == 110)
        #expect(counts(byLauncher)["samples.Leaf"] == 5)

        let summary1 = try Toolbox.run(Toolbox.alloctrace, ["summary", "--pid", String(child)])
        #expect(summary1.out.contains("complete:               no (still being written by pid \(child), figures up to "), "\(summary1.out)")
        // the file itself, while the program runs: being written, not cut short
        let direct = try Toolbox.run(Toolbox.alloctrace, ["types", trace])
        #expect(direct.stderr.contains("note: \(trace) is still being written by pid \(child); figures up to "), "\(direct.stderr)")
        #expect(!direct.stderr.contains("cut short"))
        let dump = try Toolbox.run(Toolbox.alloctrace, ["dump", trace])
        #expect(dump.out.split(separator: "\n").last?.hasPrefix("complete: no (still being written by pid \(child)") == true)
        let marks = try Toolbox.run(Toolbox.alloctrace, ["marks", "--pid", String(p.pid)])
        #expect(marks.out.split(separator: "\n").count == 5, "\(marks.out)")   // the header and marks #1-#4

        #expect(p.finish() == 0)
        #expect(p.out.contains("live: steps=2 nodes=110 leaves=5"))
        let summary = try Toolbox.json(["summary", trace])
        #expect(summary["complete"] as? Bool == true)
        #expect(Toolbox.int(summary["marks"]) == 4)
    }

    @Test func growthWithPidTwiceShowsExactlyWhatWasAllocatedInBetween() throws {
        let dir = try Toolbox.scratch("live-growth")
        let (p, _, child) = try startLive(dir)
        p.send("x")                                      // step 2: the first Leaf (its metadata) too
        try p.waitForLine("step 2")
        let before = try Toolbox.run(Toolbox.alloctrace, ["growth", "--pid", String(child)])
        #expect(before.status == 0, "\(before.stderr)")
        #expect(before.out.hasPrefix("growth from start"))

        p.send("x")
        try p.waitForLine("step 3")
        let growth = try Toolbox.json(["growth", "--pid", String(child)])
        #expect(growth["from"] as? String == "mark #1" && growth["to"] as? String == "mark #2", "\(growth)")
        let rows = Toolbox.rows(growth, "rows").filter { Toolbox.int($0["count_change"]) != 0 || Toolbox.int($0["bytes_change"]) != 0 }
        let changes = Dictionary(uniqueKeysWithValues: rows.map { ($0["name"] as? String ?? "", (Toolbox.int($0["count_change"]), Toolbox.int($0["bytes_change"]))) })
        #expect(changes.count == 2, "\(rows)")
        #expect(changes["samples.Node"]?.0 == 10 && changes["samples.Node"]?.1 == 320)
        #expect(changes["samples.Leaf"]?.0 == 5 && changes["samples.Leaf"]?.1 == 120)
        #expect(p.finish() == 0)
    }

    @Test func pidsThatAreNotTracedGiveOneClearLine() throws {
        let none = try Toolbox.run(Toolbox.alloctrace, ["types", "--pid", String(Int32.max)])
        #expect(none.status == 1)
        #expect(none.stderr == "alloctrace: error: no process \(Int32.max)\n", "\(none.stderr)")

        let sleeper = try RunningProgram("/bin/sleep", ["30"])
        let untraced = try Toolbox.run(Toolbox.alloctrace, ["leaks", "--pid", String(sleeper.pid)])
        #expect(untraced.status == 1)
        #expect(untraced.stderr.split(separator: "\n").count == 1)
        #expect(untraced.stderr.contains("process \(sleeper.pid) (sleep) does not run under alloctrace"), "\(untraced.stderr)")
        kill(sleeper.pid, SIGKILL)
        sleeper.finish()
    }

    @Test func aParentOfSeveralTracedProcessesIsAskedToChoose() throws {
        let dir = try Toolbox.scratch("several")
        let script = "LD_PRELOAD=\(Toolbox.bin("libAllocTracePreload.so")) ALLOCTRACE_OUTPUT=\(dir)/%p.atrace SWIFT_BACKTRACE=enable=no; export LD_PRELOAD ALLOCTRACE_OUTPUT SWIFT_BACKTRACE; "
            + "\(Toolbox.bin("sample-long")) & \(Toolbox.bin("sample-long")) & wait"
        let parent = try RunningProgram("/bin/sh", ["-c", script])
        for _ in 0..<6000 where parent.out.split(separator: "\n").count < 2 { usleep(10_000) }
        let r = try Toolbox.run(Toolbox.alloctrace, ["types", "--pid", String(parent.pid)])
        #expect(r.status == 1)
        #expect(r.stderr.contains("process \(parent.pid) launched several traced processes: "), "\(r.stderr)")
        #expect(r.stderr.contains("(sample-long), ") && r.stderr.hasSuffix("(sample-long); name one with --pid\n"))
        for c in r.stderr.split(whereSeparator: { !$0.isNumber }).compactMap({ Int32($0) }) where c != parent.pid { kill(c, SIGKILL) }
        parent.finish()
    }

    @Test func debugPrintsTheTypesAtABreakpointAndTheProgramFinishes() throws {
        let gdb = ProgramPath.find("gdb")
        try #require(gdb != nil, "gdb is not installed: run scripts/install-deps.sh")
        let dir = try Toolbox.scratch("debug")
        let r = try Toolbox.run(Toolbox.alloctrace, ["debug", "-batch", "-ex", "break samples_live_checkpoint", "-ex", "run",
                                                     "-ex", "alloctrace types", "-ex", "continue",
                                                     "--", Toolbox.bin("samples"), "live"], cwd: dir)
        #expect(r.status == 0, "\(r.stderr)")
        // the table, printed in gdb: "count  bytes  type"
        var types: [String: Int] = [:]
        for line in r.out.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            if f.count >= 4, let n = Int(f[0]), f.last!.hasPrefix("samples.") { types[String(f.last!)] = n }
        }
        #expect(types == ["samples.Node": 100], "\(r.out)")
        #expect(r.out.contains("live at mark \"gdb-1\""))
        #expect(r.out.contains("step 1\n"))
        #expect(r.out.contains("live: steps=1 nodes=100 leaves=0\n"))
        // one trace, the program's (not gdb's, not the shell's), complete
        let traces = Toolbox.files(in: dir, prefix: "alloctrace.samples.")
        #expect(traces.count == 1, "\(traces)")
        let summary = try Toolbox.json(["summary", try #require(traces.first)])
        #expect(summary["complete"] as? Bool == true)
        #expect(Toolbox.int(summary["exit_status"]) == 0)
    }

    /// The traced program and the untraced one die of the same signal; the trace ends cleanly.
    func expectCleanEnd(_ program: String, _ args: [String], ready: String, signal: Int32, status: Int32) throws {
        let dir = try Toolbox.scratch("signal-\(signal)")
        let trace = dir + "/t.atrace"
        let p = try RunningProgram(Toolbox.alloctrace, ["record", "-o", trace, "--", program] + args)
        try p.waitForLine(ready)
        kill(try p.tracedPid(), signal)
        #expect(p.finish(closingInput: false) == status)

        let summary = try Toolbox.json(["summary", trace])
        #expect(summary["complete"] as? Bool == true, "\(summary)")
        #expect(summary["exit_reason"] as? String == "signal")
        #expect(Toolbox.int(summary["exit_status"]) == Int(signal))
        let text = try Toolbox.run(Toolbox.alloctrace, ["summary", trace])
        let names: [Int32: String] = [SIGTERM: "SIGTERM", SIGINT: "SIGINT", SIGHUP: "SIGHUP", SIGUSR1: "SIGUSR1",
                                      SIGUSR2: "SIGUSR2", SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM"]
        let name = names[signal] ?? "?"
        #expect(text.out.contains("ended by:               signal \(signal) (\(name))\n"), "\(text.out)")
        let leaks = try Toolbox.run(Toolbox.alloctrace, ["leaks", trace])
        #expect(leaks.status == 0, "\(leaks.stderr)")
        #expect(leaks.out.hasPrefix("leaks at exit"), "\(leaks.out)")

        let untraced = try RunningProgram(program, args)
        try untraced.waitForLine(ready)
        kill(untraced.pid, signal)
        #expect(untraced.finish(closingInput: false) == status)
    }

    @Test(arguments: [(SIGTERM, Int32(143)), (SIGINT, Int32(130)), (SIGHUP, Int32(129)), (SIGUSR1, Int32(138)),
                      (SIGUSR2, Int32(140)), (SIGPIPE, Int32(141)), (SIGALRM, Int32(142))])
    func terminatingSignalsEndTheTraceOfACProgram(_ signal: Int32, _ status: Int32) throws {
        try expectCleanEnd(Toolbox.bin("sample-long"), [], ready: "ready", signal: signal, status: status)
    }

    @Test(arguments: [(SIGTERM, Int32(143)), (SIGINT, Int32(130))])
    func terminatingSignalsEndTheTraceOfASwiftProgram(_ signal: Int32, _ status: Int32) throws {
        try expectCleanEnd(Toolbox.bin("samples"), ["live"], ready: "step 1", signal: signal, status: status)
    }

    @Test func aProgramsOwnSigtermHandlerIsUnchanged() throws {
        let dir = try Toolbox.scratch("own-handler")
        let trace = dir + "/t.atrace"
        let p = try RunningProgram(Toolbox.alloctrace, ["record", "-o", trace, "--", Toolbox.bin("sample-long"), "term"])
        try p.waitForLine("ready")
        kill(try p.tracedPid(), SIGTERM)
        #expect(p.finish(closingInput: false) == 0)
        #expect(p.out == "ready\nsigterm handled\n")
        let summary = try Toolbox.json(["summary", trace])
        #expect(summary["complete"] as? Bool == true)
        #expect(summary["exit_reason"] as? String == "exit")
        #expect(Toolbox.int(summary["exit_status"]) == 0)

        let untraced = try RunningProgram(Toolbox.bin("sample-long"), ["term"])
        try untraced.waitForLine("ready")
        kill(untraced.pid, SIGTERM)
        #expect(untraced.finish(closingInput: false) == 0)
        #expect(untraced.out == "ready\nsigterm handled\n")
    }

    @Test func theLauncherPrintsThePidUnlessQuiet() throws {
        let dir = try Toolbox.scratch("pid-line")
        let loud = try Toolbox.run(Toolbox.alloctrace, ["record", "-o", dir + "/a.atrace", "--", Toolbox.bin("sample-entrypoints")])
        let lines = loud.stderr.split(separator: "\n").filter { $0.hasPrefix("alloctrace: tracing pid ") }
        #expect(lines.count == 1, "\(loud.stderr)")
        #expect(lines.first?.contains("(sample-entrypoints)") == true)
        let (quiet, _) = try Toolbox.record(Toolbox.bin("sample-entrypoints"), in: dir)
        #expect(!quiet.stderr.contains("alloctrace:"), "\(quiet.stderr)")
    }

    @Test func startEndAndSharedLabelsSayWhichMarkTheyMean() throws {
        let dir = try Toolbox.scratch("moment-names")
        // sample-entrypoints marks "start" and "end": the words name the trace's start and end
        let (_, trace) = try Toolbox.record(Toolbox.bin("sample-entrypoints"), in: dir)
        let atStart = try Toolbox.run(Toolbox.alloctrace, ["types", trace, "--at", "start"])
        #expect(atStart.status == 0)
        #expect(atStart.stderr.contains("warning: \"start\" is the start of the trace, not the mark labelled \"start\" (#1); name that mark as #1"), "\(atStart.stderr)")
        let plain = try Toolbox.run(Toolbox.alloctrace, ["types", trace, "--at", "#1"])
        #expect(!plain.stderr.contains("warning"))

        // two marks labelled "dup": the label names the first, and says so
        let (p, live, child) = try startLive(dir)
        for _ in 0..<2 { #expect(try Toolbox.run(Toolbox.alloctrace, ["mark", String(child), "dup"]).status == 0) }
        _ = try Toolbox.run(Toolbox.alloctrace, ["marks", "--pid", String(child)])   // both are in the trace now
        #expect(p.finish() == 0)
        let dup = try Toolbox.run(Toolbox.alloctrace, ["types", live, "--at", "dup"])
        #expect(dup.status == 0)
        #expect(dup.stderr.contains("warning: 2 marks are labelled \"dup\" (#1, #2); using the first, #1"), "\(dup.stderr)")
    }
}


/// Finds programs in PATH (the tests' own, not the analyzer's).
enum ProgramPath {
    static func find(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
