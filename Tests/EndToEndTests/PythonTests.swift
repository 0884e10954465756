import Foundation
import Testing
import TraceFormat
import TraceReader

/// The interpreters the project's machines have: Debian's python3 (3.11, interpreter linked into a
/// non-PIE executable) is always there; pyenv's builds (each with libpython3.X.so) where pyenv is.
enum Interpreters {
    static let debian = "/usr/bin/python3"
    static func pyenv(_ version: String) -> String {
        let root = ProcessInfo.processInfo.environment["PYENV_ROOT"] ?? "/root/.pyenv"
        let minor = version.split(separator: ".").prefix(2).joined(separator: ".")
        return "\(root)/versions/\(version)/bin/python\(minor)"
    }
    static func has(_ path: String) -> Bool { FileManager.default.isExecutableFile(atPath: path) }
}

/// Python programs at the Python level: real recordings of real interpreters, exact figures.
///
/// samples/python/my_func.py is memory_profiler's own example. Each `[v] * n` line allocates two
/// blocks through malloc (PYTHONMALLOC=malloc, which `record` sets): the one-element literal's
/// 8-byte item array and the repeated list's 8 × n bytes (list objects come from CPython's free
/// list). The literal of line 2 is freed before the peak; line 3's is still alive at it.
@Suite struct PythonTests {
    static let myFunc = Toolbox.sourceRoot + "/samples/python/my_func.py"

    /// Records my_func.py under `python` and checks lines, top and the unchanged output.
    func checkMyFunc(_ python: String) throws {
        let untraced = try Toolbox.run(python, [PythonTests.myFunc])
        let dir = try Toolbox.scratch("python-my-func")
        let (r, trace) = try Toolbox.record(python, [PythonTests.myFunc], in: dir)
        #expect(r.status == untraced.status && r.status == 0)
        #expect(r.out == untraced.out && r.out == "1000000\n")

        let lines = try Toolbox.json(["lines", trace, PythonTests.myFunc, "--function", "my_func"])
        let rows = Toolbox.rows(lines, "lines").map { (Toolbox.int($0["line"]), Toolbox.int($0["allocations"]),
                                                        Toolbox.int($0["bytes"]), Toolbox.int($0["peak_bytes"])) }
        #expect(rows.map(\.0) == [1, 2, 3, 4, 5])
        #expect(rows[1].1 == 2 && rows[1].2 == 8_000_008 && rows[1].3 == 8_000_000)
        #expect(rows[2].1 == 2 && rows[2].2 == 160_000_008 && rows[2].3 == 160_000_008)
        #expect(rows[0].1 == 0 && rows[3].1 == 0 && rows[4].1 == 0)
        // `del b` on line 4 frees the 160 MB of items (frees carry their Python frames); each
        // literal's 8 bytes are freed on its own line
        let freed = Toolbox.rows(lines, "lines").map { Toolbox.int($0["freed_bytes"]) }
        #expect(freed == [0, 8, 8, 160_000_000, 0])

        let top = try Toolbox.json(["top", trace, "--by", "peak", "--limit", "2"])
        let sites = Toolbox.rows(top, "rows")
        try #require(sites.count == 2)
        #expect(sites[0]["function"] as? String == "my_func")
        #expect(Toolbox.int(sites[0]["peak_bytes"]) == 160_000_000 && Toolbox.int(sites[0]["allocations"]) == 1)
        #expect(sites[0]["stack"] as? [String] == ["my_func at \(PythonTests.myFunc):3", "<module> at \(PythonTests.myFunc):9"])
        #expect(Toolbox.int(sites[1]["peak_bytes"]) == 8_000_000)
        #expect((sites[1]["stack"] as? [String])?.first == "my_func at \(PythonTests.myFunc):2")

        // --native: the interpreter's C frames inside the Python ones, then the eval-loop call that
        // ran both (one call since 3.11), where the native stack ends (the recorder stops there)
        let native = try Toolbox.json(["top", trace, "--by", "peak", "--limit", "1", "--native"])
        let stack = Toolbox.rows(native, "rows").first?["stack"] as? [String] ?? []
        let at = try #require(stack.firstIndex(of: "my_func at \(PythonTests.myFunc):3"))
        #expect(at > 0 && stack.count == at + 3)
        #expect(stack[at + 1] == "<module> at \(PythonTests.myFunc):9")
        #expect(stack.last?.hasPrefix("_PyEval_EvalFrameDefault") == true)
        #expect(!stack[..<at].contains { $0.hasPrefix("_PyEval_EvalFrameDefault") })

        let summary = try Toolbox.json(["summary", trace])
        let python = try #require(summary["python"] as? [String: Any])
        #expect(python["frames"] as? String == "python" && python["allocator"] as? String == "malloc")
    }

    @Test func myFuncOnDebiansPython3() throws {
        try #require(Interpreters.has(Interpreters.debian), "Debian's python3 is missing: apt-get install python3")
        try checkMyFunc(Interpreters.debian)
    }

    @Test(.enabled(if: Interpreters.has(Interpreters.pyenv("3.11.7")), "pyenv's CPython 3.11.7 is not installed"))
    func myFuncOnPython311() throws { try checkMyFunc(Interpreters.pyenv("3.11.7")) }

    @Test(.enabled(if: Interpreters.has(Interpreters.pyenv("3.12.1")), "pyenv's CPython 3.12.1 is not installed"))
    func myFuncOnPython312() throws { try checkMyFunc(Interpreters.pyenv("3.12.1")) }

    @Test(.enabled(if: Interpreters.has(Interpreters.pyenv("3.13.0")), "pyenv's CPython 3.13.0 is not installed"))
    func myFuncOnPython313() throws { try checkMyFunc(Interpreters.pyenv("3.13.0")) }

    /// Two threads, each filling its own list in its own function: 300,000 and 500,000 items.
    @Test func threadsLandOnTheirOwnFunctions() throws {
        let source = Toolbox.sourceRoot + "/samples/python/threads.py"
        let dir = try Toolbox.scratch("python-threads")
        let (r, trace) = try Toolbox.record(Interpreters.debian, [source], in: dir)
        #expect(r.status == 0 && r.out == "[300000, 500000]\n")
        // each line: the items (8 x n), the literal's 8-byte items, and the list object when the
        // thread found CPython's list free list empty (56 bytes)
        let lines = try Toolbox.json(["lines", trace, source])
        let byLine = Dictionary(uniqueKeysWithValues: Toolbox.rows(lines, "lines").map { (Toolbox.int($0["line"]), $0) })
        #expect([2_400_008, 2_400_064].contains(Toolbox.int(byLine[5]?["bytes"])))     // fill_a
        #expect([4_000_008, 4_000_064].contains(Toolbox.int(byLine[9]?["bytes"])))     // fill_b
        // worker's line holds both, and `kept.append` growing kept's items to 4 slots (32 bytes)
        #expect(Toolbox.int(byLine[16]?["bytes"]) == Toolbox.int(byLine[5]?["bytes"]) + Toolbox.int(byLine[9]?["bytes"]) + 32)
        // each big block was allocated by a thread of its own, neither the main thread
        let decoded = try DecodedTrace(trace)
        let a = try #require(decoded.events.first { $0.kind == .malloc && $0.size == 2_400_000 })
        let b = try #require(decoded.events.first { $0.kind == .malloc && $0.size == 4_000_000 })
        #expect(a.thread != b.thread && a.thread != 1 && b.thread != 1)
        let top = try Toolbox.json(["top", trace, "--by", "bytes", "--limit", "2"])
        let stacks = Toolbox.rows(top, "rows").compactMap { $0["stack"] as? [String] }
        #expect(stacks == [["fill_b at \(source):9", "worker at \(source):16"],
                           ["fill_a at \(source):5", "worker at \(source):16"]].map { $0 + threadingFrames(stacks) })
    }

    /// The outer frames threading's bootstrap adds (the same for both threads).
    private func threadingFrames(_ stacks: [[String]]) -> [String] {
        Array((stacks.first ?? []).dropFirst(2))
    }

    /// Python names in the flame graph and in `go tool pprof -top` of the pprof export.
    @Test func pythonNamesInFlameGraphAndPprof() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/go"), "go is missing: scripts/install-deps.sh installs golang-go")
        let dir = try Toolbox.scratch("python-pictures")
        let (r, trace) = try Toolbox.record(Interpreters.debian, [PythonTests.myFunc], in: dir)
        try #require(r.status == 0)
        let svg = dir + "/f.svg"
        #expect(try Toolbox.run(Toolbox.alloctrace, ["flamegraph", trace, "--by", "peak", "-o", svg]).status == 0)
        let picture = try String(contentsOfFile: svg, encoding: .utf8)
        #expect(picture.contains("my_func (my_func.py:3)"))
        #expect(!picture.contains("list_repeat"))
        let pb = dir + "/p.pb.gz"
        #expect(try Toolbox.run(Toolbox.alloctrace, ["export", trace, "--format", "pprof", "-o", pb]).status == 0)
        let pprof = try Toolbox.run("/usr/bin/go", ["tool", "pprof", "-top", "-sample_index=alloc_space", pb],
                                    environment: ProcessInfo.processInfo.environment.merging(["GOCACHE": dir + "/gocache", "HOME": dir]) { $1 })
        try #require(pprof.status == 0, "go tool pprof failed: \(pprof.stderr)")
        // the first row of the table is my_func, with 160,000,000 + 8,000,000 + 16 bytes (164,062.52 kB)
        let first = pprof.out.split(separator: "\n").first { $0.hasSuffix("%") == false && $0.contains("kB") && $0.contains("%  ") }
        #expect(first?.hasSuffix(" my_func") == true, "go tool pprof -top: \(pprof.out)")
        #expect(first?.contains("164062.52kB") == true)
    }

    /// An interpreter the recorder does not read frames of: traced as before, with one line why.
    @Test(.enabled(if: Interpreters.has(Interpreters.pyenv("3.10.13")), "pyenv's CPython 3.10.13 is not installed"))
    func python310GetsNativeStacksAndAReason() throws {
        let python = Interpreters.pyenv("3.10.13")
        let dir = try Toolbox.scratch("python-310")
        let (r, trace) = try Toolbox.record(python, [PythonTests.myFunc], in: dir)
        #expect(r.status == 0 && r.out == "1000000\n")
        let summary = try Toolbox.run(Toolbox.alloctrace, ["summary", trace])
        #expect(summary.status == 0)
        #expect(summary.out.contains("Python:                 CPython 3.10.13, native stacks only: the recorder reads the Python frames of CPython 3.11 to 3.13\n"))
        let top = try Toolbox.json(["top", trace, "--by", "peak", "--limit", "1"])
        // without Python frames both lists come from one C site, as before
        #expect(Toolbox.int(Toolbox.rows(top, "rows").first?["peak_bytes"]) == 168_000_000)
        let decoded = try DecodedTrace(trace)
        #expect(decoded.reader.pythonCodes.count == 0)
        #expect(!decoded.events.contains { e in
            e.kind == .malloc && (decoded.reader.stacks.frames(e.stack) ?? []).contains(where: PythonFrame.isPython)
        })
    }

    /// `import alloctrace` under `record`: marks with labels; untraced, a no-op.
    @Test func marksFromPython() throws {
        let dir = try Toolbox.scratch("python-marks")
        let script = dir + "/marks.py"
        try """
            import alloctrace
            print(alloctrace.active())
            data = [0] * 100_000
            alloctrace.mark("filled")
            del data
            alloctrace.mark("emptied")

            """.write(toFile: script, atomically: true, encoding: .utf8)
        let (r, trace) = try Toolbox.record(Interpreters.debian, [script], in: dir)
        #expect(r.status == 0 && r.out == "True\n")
        let marks = try Toolbox.json(["marks", trace])
        let rows = Toolbox.rows(marks, "marks")
        #expect(rows.map { $0["label"] as? String } == ["filled", "emptied"])
        // the 100,000 items (800,000 bytes) were allocated before the first mark, freed between them
        let decoded = try DecodedTrace(trace)
        let items = try #require(decoded.events.first { $0.kind == .malloc && $0.size == 800_000 })
        #expect(decoded.between("filled", "emptied").contains { $0.kind == .free && $0.address == items.address })
        // untraced the module is importable through PYTHONPATH and does nothing
        let folder = Toolbox.sourceRoot + "/analyzer/AllocTraceCommands/Python"
        let plain = try Toolbox.run(Interpreters.debian, [script],
                                    environment: ProcessInfo.processInfo.environment.merging(["PYTHONPATH": folder]) { $1 })
        #expect(plain.status == 0 && plain.out == "False\n")
    }

    /// The line that says why PYTHONMALLOC is set, and the note when it is not malloc.
    @Test func pythonMallocIsSetAndSaid() throws {
        let dir = try Toolbox.scratch("python-malloc")
        let trace = dir + "/t.atrace"
        let r = try Toolbox.run(Toolbox.alloctrace, ["record", "-o", trace, "--", Interpreters.debian, "-c", "print(1)"])
        #expect(r.status == 0 && r.out == "1\n")
        #expect(r.stderr.contains("alloctrace: PYTHONMALLOC=malloc, so that Python's small objects reach the recorder"))
        let own = try Toolbox.run(Toolbox.alloctrace, ["record", "-q", "-o", dir + "/u.atrace", "--", Interpreters.debian, "-c", "print(2)"],
                                  environment: ProcessInfo.processInfo.environment.merging(["PYTHONMALLOC": "pymalloc"]) { $1 })
        #expect(own.status == 0 && own.out == "2\n")
        let summary = try Toolbox.run(Toolbox.alloctrace, ["summary", dir + "/u.atrace"])
        #expect(summary.out.contains("pymalloc kept objects under 512 B out of sight"))
    }
}
