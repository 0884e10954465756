import Foundation
import Testing
import TraceFormat
import TraceReader

/// One `record` run, one recording: the index of every traced process (docs/FORMAT.md,
/// "Recordings"), the launcher's account of it, and `--process`, with real programs.
@Suite struct RecordingTests {
    /// `alloctrace record ARGS -- COMMAND` in `dir` (the default output pattern writes there).
    static func record(_ command: [String], in dir: String, options: [String] = []) throws -> Toolbox.Result {
        try Toolbox.run(Toolbox.alloctrace, ["record"] + options + ["--"] + command, cwd: dir)
    }

    /// The launcher's own lines on stderr (the program's are not prefixed `alloctrace: `).
    static func account(_ r: Toolbox.Result) -> [String] {
        // the launcher's closing account (the line at start that names the pid is LiveInspectionTests')
        r.stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("alloctrace: ") && !$0.hasPrefix("alloctrace: tracing pid ") }
    }

    struct Index {
        var object: [String: Any]
        var mainPid: Int { Toolbox.int(object["main_pid"]) }
        var processes: [[String: Any]] { Toolbox.rows(object, "processes") }
        var main: [String: Any]? { processes.first { Toolbox.int($0["pid"]) == mainPid } }
        static func images(_ p: [String: Any]?) -> [[String: Any]] { Toolbox.rows(p, "images") }
        static func programs(_ p: [String: Any]?) -> [String] {
            images(p).map { URL(fileURLWithPath: $0["executable"] as? String ?? "").lastPathComponent }
        }
        static func lastTrace(_ p: [String: Any]?) -> String { images(p).last?["trace"] as? String ?? "" }
    }

    static func index(_ path: String) throws -> Index {
        let data = try #require(FileManager.default.contents(atPath: path), "no index at \(path)")
        return Index(object: try #require(JSONSerialization.jsonObject(with: data) as? [String: Any]))
    }

    static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? -1
    }

    /// `alloctrace summary TRACE --process SPEC --json`: the pid and executable it read.
    static func picked(_ trace: String, _ spec: String) throws -> (Int, String) {
        let s = try Toolbox.json(["summary", trace, "--process", spec])
        return (Toolbox.int(s["pid"]), s["executable"] as? String ?? "")
    }

    // A symlink whose name is not the executable's: the trace is named after the executable, and
    // that is the file the launcher names.
    @Test func symlinkedInterpreter() throws {
        let dir = try Toolbox.scratch("symlink")
        let python = "/usr/bin/python3"
        let real = try #require(try? FileManager.default.destinationOfSymbolicLink(atPath: python), "\(python) is not a symlink here")
        let exe = URL(fileURLWithPath: real, relativeTo: URL(fileURLWithPath: "/usr/bin/")).standardizedFileURL.path
        try FileManager.default.createSymbolicLink(atPath: dir + "/py", withDestinationPath: python)
        let r = try Self.record([dir + "/py", "-c", "print(1)"], in: dir)
        #expect(r.status == 0)
        #expect(r.out == "1\n")
        let name = URL(fileURLWithPath: exe).lastPathComponent          // python3.11
        let traces = Toolbox.files(in: dir, prefix: "alloctrace.")
        #expect(traces.count == 2, "\(traces)")
        let trace = try #require(traces.first { !$0.hasSuffix(".index") })
        let index = try Self.index(trace + ".index")
        let pid = index.mainPid
        #expect(trace == "\(dir)/alloctrace.\(name).\(pid).atrace")
        #expect(index.processes.count == 1)
        #expect(Index.programs(index.main) == [name])
        #expect(Index.images(index.main).first?["argv"] as? [String] == [dir + "/py", "-c", "print(1)"])
        #expect(index.main?["end"] as? String == "exit" && Toolbox.int(index.main?["status"]) == 0)
        #expect(try TraceReader(path: trace).process?.pid == UInt64(pid))
        #expect(Self.account(r) == [
            "alloctrace: main program: \(name) (pid \(pid)), exit status 0",
            "alloctrace: trace written to \(trace) (\(Self.size(trace)) bytes)",
            "alloctrace: analyse it with: alloctrace summary \(trace)",
        ])
    }

    // A shebang script runs its interpreter (dash): the trace and the account name dash.
    @Test func shebangScript() throws {
        let dir = try Toolbox.scratch("shebang")
        let script = dir + "/hello.sh"
        try "#!/bin/sh\necho hello\nexit 4\n".write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        let r = try Self.record(["./hello.sh", "a b"], in: dir)
        #expect(r.status == 4)
        #expect(r.out == "hello\n")
        let sh = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/bin/sh")).lastPathComponent
        let traces = Toolbox.files(in: dir, prefix: "alloctrace.").filter { !$0.hasSuffix(".index") }
        #expect(traces.count == 1)
        let trace = try #require(traces.first)
        let index = try Self.index(trace + ".index")
        let pid = index.mainPid
        #expect(trace == "\(dir)/alloctrace.\(sh).\(pid).atrace")
        #expect(Index.programs(index.main) == [sh])
        #expect(Index.images(index.main).first?["argv"] as? [String] == ["/bin/sh", "./hello.sh", "a b"])
        #expect(index.main?["end"] as? String == "exit" && Toolbox.int(index.main?["status"]) == 4)
        #expect(Self.account(r) == [
            "alloctrace: main program: \(sh) (pid \(pid)), exit status 4",
            "alloctrace: trace written to \(trace) (\(Self.size(trace)) bytes)",
            "alloctrace: analyse it with: alloctrace summary \(trace)",
        ])
    }

    // A shell that runs two programs: three processes, the shell the main one; --process picks each.
    @Test func shellRunningTwoPrograms() throws {
        let dir = try Toolbox.scratch("shell")
        let r = try Self.record(["/bin/sh", "-c", "/bin/true; /bin/echo two; exit 3"], in: dir, options: ["-o", dir + "/sh.atrace"])
        #expect(r.status == 3)
        #expect(r.out == "two\n")
        let trace = dir + "/sh.atrace"
        let index = try Self.index(trace + ".index")
        let pid = index.mainPid
        #expect(index.processes.count == 3)
        #expect(Index.lastTrace(index.main) == trace)
        let sh = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/bin/sh")).lastPathComponent
        #expect(Index.programs(index.main) == [sh])
        let others = index.processes.filter { Toolbox.int($0["pid"]) != pid }
        #expect(others.map { Index.programs($0).last ?? "" } == ["true", "echo"])
        #expect(others.map { Index.images($0).last?["argv"] as? [String] ?? [] } == [["/bin/true"], ["/bin/echo", "two"]])
        #expect(others.allSatisfy { Toolbox.int($0["ppid"]) == pid && $0["end"] as? String == "exit" && Toolbox.int($0["status"]) == 0 })
        for p in others {
            let t = Index.lastTrace(p)
            #expect(t == "\(trace).\(Toolbox.int(p["pid"]))")
            #expect(try TraceReader(path: t).process?.ppid == UInt64(pid))
        }
        #expect(Self.account(r) == [
            "alloctrace: main program: \(sh) (pid \(pid)), exit status 3",
            "alloctrace: trace written to \(trace) (\(Self.size(trace)) bytes)",
            "alloctrace: 2 other processes traced (echo, true); the recording's index: \(trace).index",
            "alloctrace: analyse it with: alloctrace summary \(trace) (add --process PID or NAME for another process)",
        ])
        let truePid = Toolbox.int(others[0]["pid"]), echoPid = Toolbox.int(others[1]["pid"])
        #expect(try Self.picked(trace, "true") == (truePid, "/usr/bin/true"))
        #expect(try Self.picked(trace, "echo") == (echoPid, "/usr/bin/echo"))
        #expect(try Self.picked(trace, String(echoPid)) == (echoPid, "/usr/bin/echo"))
        #expect(try Self.picked(trace, sh).0 == pid)
        // from any trace of the recording, and from the index itself
        #expect(try Self.picked("\(trace).\(echoPid)", "true") == (truePid, "/usr/bin/true"))
        #expect(try Self.picked(trace + ".index", "echo") == (echoPid, "/usr/bin/echo"))
        let missing = try Toolbox.run(Toolbox.alloctrace, ["top", trace, "--process", "cc1"])
        #expect(missing.status == 1)
        #expect(missing.stderr == "alloctrace: error: no process named cc1 in this recording; its processes: \(pid) \(sh), \(truePid) true, \(echoPid) echo\n")
        // summary prints the tree: each process, its program and arguments
        let summary = try Toolbox.run(Toolbox.alloctrace, ["summary", trace])
        #expect(summary.status == 0)
        let lines = summary.out.split(separator: "\n").map(String.init)
        #expect(lines.first == "processes:              3 traced (* main program, > this trace; --process PID or NAME picks one)")
        let rows = lines.dropFirst(2).prefix(3).map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(rows.map { $0.first ?? "" } == ["*>\(pid)", "\(truePid)", "\(echoPid)"])
        #expect(rows.map { $0.count > 1 ? $0[1] : "" } == [sh, "true", "echo"])
        #expect(lines[2].hasSuffix("  exit 3  -c '/bin/true; /bin/echo two; exit 3'"), "\(lines[2])")
        #expect(rows[2].suffix(3) == ["exit", "0", "two"])
    }

    // A forking sample: parent and child, each its own trace; --process picks the child by pid,
    // and a name both share is refused with their pids.
    @Test func forkingSample() throws {
        let dir = try Toolbox.scratch("fork-recording")
        let trace = dir + "/f.atrace"
        let r = try Self.record([Toolbox.bin("sample-fork")], in: dir, options: ["-o", trace])
        #expect(r.status == 0)
        let index = try Self.index(trace + ".index")
        let pid = index.mainPid
        #expect(index.processes.count == 2)
        let child = try #require(index.processes.first { Toolbox.int($0["pid"]) != pid })
        let childPid = Toolbox.int(child["pid"])
        #expect(Toolbox.int(child["ppid"]) == pid)
        #expect(Index.programs(index.main) == ["sample-fork"] && Index.programs(child) == ["sample-fork"])
        #expect(Index.images(child).first?["argv"] as? [String] == [Toolbox.bin("sample-fork")])
        #expect(Index.lastTrace(child) == "\(trace).\(childPid)")
        #expect(r.stderr.contains("fork expected: role=child pid=\(childPid) ppid=\(pid) "))
        #expect(Self.account(r) == [
            "alloctrace: main program: sample-fork (pid \(pid)), exit status 0",
            "alloctrace: trace written to \(trace) (\(Self.size(trace)) bytes)",
            "alloctrace: 1 other process traced (sample-fork); the recording's index: \(trace).index",
            "alloctrace: analyse it with: alloctrace summary \(trace) (add --process PID or NAME for another process)",
        ])
        #expect(try Self.picked(trace, String(childPid)) == (childPid, Toolbox.bin("sample-fork")))
        let childSummary = try Toolbox.json(["summary", trace, "--process", String(childPid)])
        #expect(Toolbox.int(childSummary["peak_heap_bytes"]) >= 1400)
        #expect(try Self.picked(trace, String(pid)) == (pid, Toolbox.bin("sample-fork")))
        let both = try Toolbox.run(Toolbox.alloctrace, ["marks", trace, "--process", "sample-fork"])
        #expect(both.status == 1)
        #expect(both.stderr == "alloctrace: error: 2 processes are named sample-fork (pids \(pid), \(childPid)); pick one with --process PID\n")
        let marks = try Toolbox.json(["marks", trace, "--process", String(childPid)])
        #expect(Toolbox.rows(marks, "marks").map { $0["label"] as? String ?? "" } == ["child-start", "child-end"])
    }

    // An exec chain: one process, two images; the main program is the last, and the first
    // image's summary points at its continuation.
    @Test func execChain() throws {
        let dir = try Toolbox.scratch("exec-recording")
        let trace = dir + "/e.atrace"
        let exe = Toolbox.bin("sample-exec")
        let r = try Self.record([exe], in: dir, options: ["-o", trace])
        #expect(r.status == 0)
        let index = try Self.index("\(trace).\(Self.mainPid(r)).index")
        let pid = index.mainPid
        #expect(index.processes.count == 1)
        let images = Index.images(index.main)
        #expect(images.map { $0["trace"] as? String ?? "" } == [trace, "\(trace).\(pid)"])
        #expect(images.map { $0["argv"] as? [String] ?? [] } == [[exe], [exe, "phase2"]])
        #expect(images.map { $0["executable"] as? String ?? "" } == [exe, exe])
        #expect(images[0]["exec_path"] as? String == "/proc/self/exe" && images[1]["exec_path"] == nil)
        #expect(Self.account(r) == [
            "alloctrace: main program: sample-exec (pid \(pid), sample-exec -> sample-exec), exit status 0",
            "alloctrace: trace written to \(trace).\(pid) (\(Self.size("\(trace).\(pid)")) bytes)",
            "alloctrace: analyse it with: alloctrace summary \(trace).\(pid)",
        ])
        let first = try Toolbox.run(Toolbox.alloctrace, ["summary", trace])
        #expect(first.out.hasSuffix("this image exec'd /proc/self/exe: continued as sample-exec in \(trace).\(pid)\n"))
        let marks = try Toolbox.json(["marks", trace, "--process", String(pid)])
        #expect(Toolbox.rows(marks, "marks").map { $0["label"] as? String ?? "" } == ["phase2-start", "phase2-end"])
        let before = try Toolbox.json(["marks", "\(trace).\(pid)", "--process", "sample-exec"])
        #expect(Toolbox.rows(before, "marks").map { $0["label"] as? String ?? "" } == ["phase2-start", "phase2-end"])
    }

    // A child killed by SIGKILL writes no end: the index has its trace and says its end is unknown.
    @Test func killedChild() throws {
        let dir = try Toolbox.scratch("killed")
        let trace = dir + "/k.atrace"
        let r = try Self.record(["/bin/sh", "-c", "/bin/sh -c 'kill -9 $$'; exit 0"], in: dir, options: ["-o", trace])
        #expect(r.status == 0)
        let index = try Self.index(trace + ".index")
        #expect(index.processes.count == 2)
        let child = try #require(index.processes.first { Toolbox.int($0["pid"]) != index.mainPid })
        #expect(child["end"] as? String == "unknown" && child["status"] == nil)
        #expect(Index.images(child).last?["argv"] as? [String] == ["/bin/sh", "-c", "kill -9 $$"])
        let t = Index.lastTrace(child)
        #expect(FileManager.default.fileExists(atPath: t))
        #expect(index.main?["end"] as? String == "exit" && Toolbox.int(index.main?["status"]) == 0)
        let summary = try Toolbox.run(Toolbox.alloctrace, ["summary", trace])
        #expect(summary.out.split(separator: "\n").dropFirst(3).first?.contains("  cut short  -c 'kill -9 $$'") == true, "\(summary.out)")
    }

    // --follow exec: the started process and its exec'd images only; --follow none: its first image.
    @Test func followExecAndNone() throws {
        let dir = try Toolbox.scratch("follow")
        let command = ["/bin/sh", "-c", "/bin/true; /bin/echo two; exec /bin/echo three"]
        let sh = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/bin/sh")).lastPathComponent
        var recorded: [String: Index] = [:]
        for mode in ["all", "exec", "none"] {
            let r = try Self.record(command, in: dir, options: ["--follow", mode, "-o", "\(dir)/\(mode).atrace"])
            #expect(r.status == 0 && r.out == "two\nthree\n")
            let pid = Self.mainPid(r)
            let main = mode == "none" ? "\(dir)/\(mode).atrace" : "\(dir)/\(mode).atrace.\(pid)"
            recorded[mode] = try Self.index(main + ".index")
            #expect(recorded[mode]?.mainPid == pid)
            let traces = Toolbox.files(in: dir, prefix: mode + ".atrace").filter { !$0.hasSuffix(".index") }
            #expect(traces.count == ["all": 4, "exec": 2, "none": 1][mode], "\(mode): \(traces)")
        }
        #expect(recorded["all"]?.processes.count == 3)
        #expect(Index.programs(recorded["all"]?.main) == [sh, "echo"])
        #expect(recorded["exec"]?.processes.count == 1)
        #expect(Index.programs(recorded["exec"]?.main) == [sh, "echo"])
        #expect(Index.images(recorded["exec"]?.main).last?["argv"] as? [String] == ["/bin/echo", "three"])
        #expect(recorded["none"]?.processes.count == 1)
        #expect(Index.programs(recorded["none"]?.main) == [sh])
        #expect(Index.images(recorded["none"]?.main).last?["exec_path"] as? String == "/bin/echo")
        let bad = try Toolbox.run(Toolbox.alloctrace, ["record", "--follow", "forks", "--", "/bin/true"])
        #expect(bad.status == 64 && bad.stderr.contains("--follow takes all, exec or none"))
    }

    enum Recording {
        static func realFolder(_ path: String) -> String {
            guard let p = realpath(path, nil) else { return path }
            defer { free(p) }
            return String(decoding: UnsafeRawBufferPointer(start: p, count: strlen(p)), as: UTF8.self)
        }
    }

    static func mainPid(_ r: Toolbox.Result) -> Int {
        // "alloctrace: main program: NAME (pid N..."
        guard let line = account(r).first, let range = line.range(of: "(pid ") else { return -1 }
        return Int(line[range.upperBound...].prefix { $0.isNumber }) ?? -1
    }

    // The same -o twice: the second run's trace is a new file, and that is the one it names.
    @Test func secondRunWithTheSameOutputNamesItsOwnFile() throws {
        let dir = try Toolbox.scratch("again")
        let trace = dir + "/x.atrace"
        let first = try Self.record([Toolbox.bin("sample-fork")], in: dir, options: ["-o", trace])
        let second = try Self.record(["/bin/true"], in: dir, options: ["-o", trace])
        #expect(first.status == 0 && second.status == 0)
        let pid = Self.mainPid(second)
        let mine = "\(trace).\(pid)"
        #expect(Self.account(second) == [
            "alloctrace: main program: true (pid \(pid)), exit status 0",
            "alloctrace: trace written to \(mine) (\(Self.size(mine)) bytes)",
            "alloctrace: analyse it with: alloctrace summary \(mine)",
        ])
        #expect(try TraceReader(path: mine).process?.executable == "/usr/bin/true")
        #expect(try TraceReader(path: trace).process?.executable == Toolbox.bin("sample-fork"))
        #expect(try Self.index(mine + ".index").mainPid == pid)
        #expect(try Self.index(trace + ".index").processes.count == 2)
        // no journal is left behind
        #expect(Toolbox.files(in: dir, prefix: ".alloctrace-journal").isEmpty)
    }

    // The folder of -o is named as the file system resolves it: `sub/../x.atrace` is `x.atrace`.
    @Test func namedPathsAreResolved() throws {
        let dir = try Toolbox.scratch("dotdot")
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        let r = try Self.record(["/bin/true"], in: dir + "/sub", options: ["-o", "../x.atrace"])
        #expect(r.status == 0)
        let real = Recording.realFolder(dir)
        #expect(Self.account(r).dropFirst().first == "alloctrace: trace written to \(real)/x.atrace (\(Self.size(dir + "/x.atrace")) bytes)")
        #expect(FileManager.default.fileExists(atPath: dir + "/x.atrace.index"))
    }

    @Test func versionAndNearestCommand() throws {
        let v = try Toolbox.run(Toolbox.alloctrace, ["--version"])
        #expect(v.status == 0 && v.out == "alloctrace 0.1.0 (trace format \(TraceFileHeader.version))\n")
        let typo = try Toolbox.run(Toolbox.alloctrace, ["sumary", "x.atrace"])
        #expect(typo.status == 64)
        #expect(typo.stderr.hasPrefix("alloctrace: error: unknown command 'sumary'; did you mean 'summary'?\n"))
        let far = try Toolbox.run(Toolbox.alloctrace, ["frobnicate"])
        #expect(far.status == 64 && far.stderr.hasPrefix("alloctrace: error: unknown command 'frobnicate'\n"))
    }
}

/// scripts/install.sh puts `alloctrace` on PATH with its recorder beside it, and removes both.
@Suite struct InstallTests {
    @Test func installRunsByNameAndUninstalls() throws {
        let prefix = try Toolbox.scratch("prefix")
        let script = Toolbox.sourceRoot + "/scripts/install.sh"
        var env = ProcessInfo.processInfo.environment
        env["ALLOCTRACE_BIN_DIR"] = Toolbox.binDir
        env["ALLOCTRACE_PRELOAD"] = nil
        let install = try Toolbox.run(script, [prefix], environment: env)
        #expect(install.status == 0, "\(install.stderr)")
        let installed = ["bin/alloctrace", "lib/libAllocTracePreload.so", "include/alloctrace.h",
                         "share/alloctrace/python/alloctrace.py", "share/alloctrace/alloctrace-gdb.py"].map { prefix + "/" + $0 }
        #expect(installed.allSatisfy { FileManager.default.fileExists(atPath: $0) })
        // by name, from PATH, in a folder with no build products
        env["PATH"] = prefix + "/bin:/usr/bin:/bin"
        let version = try Toolbox.run("/usr/bin/env", ["alloctrace", "--version"], environment: env, cwd: prefix)
        #expect(version.status == 0 && version.out == "alloctrace 0.1.0 (trace format \(TraceFileHeader.version))\n")
        let path = try Toolbox.run("/usr/bin/env", ["alloctrace", "preload-path"], environment: env, cwd: prefix)
        #expect(path.out == prefix + "/lib/libAllocTracePreload.so\n")
        let r = try Toolbox.run("/usr/bin/env", ["alloctrace", "record", "-o", prefix + "/t.atrace", "--", "/bin/true"], environment: env, cwd: prefix)
        #expect(r.status == 0)
        #expect(try TraceReader(path: prefix + "/t.atrace").process?.executable == "/usr/bin/true")
        // the installed command puts its own marks module on a Python program's path
        let py = try Toolbox.run("/usr/bin/env", ["alloctrace", "record", "-q", "-o", prefix + "/p.atrace", "--", "/usr/bin/python3",
                                                  "-c", "import alloctrace; print(alloctrace.__file__, alloctrace.active())"],
                                 environment: env, cwd: prefix)
        #expect(py.out == prefix + "/share/alloctrace/python/alloctrace.py True\n")
        let debug = try Toolbox.run("/usr/bin/env", ["alloctrace", "debug", "--script-path"], environment: env, cwd: prefix)
        #expect(debug.out == prefix + "/share/alloctrace/alloctrace-gdb.py\n")
        let uninstall = try Toolbox.run(script, ["--uninstall", prefix], environment: env)
        #expect(uninstall.status == 0, "\(uninstall.stderr)")
        #expect(installed.allSatisfy { !FileManager.default.fileExists(atPath: $0) })
        #expect(!FileManager.default.fileExists(atPath: prefix + "/share/alloctrace"))
    }
}
