import Foundation
import TraceReader
import XCTest

/// Every analysis command on every crafted trace (CraftedTraces) ends with exit 0 or 1 and at most
/// one line on stderr: never a trap, a stack dump or a hang (a watchdog kills a command after 30 s).
final class CraftedTraceTests: XCTestCase {
    struct Run {
        var status: Int32
        var stderr: String
        var stdout: String
    }

    static let binDir: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().path
    }()

    /// Runs `alloctrace ARGS`, killed after `limit` seconds (status 137 then).
    static func alloctrace(_ args: [String], limit: Int = 60) throws -> Run {
        try run(binDir + "/alloctrace", args, limit: limit)
    }

    /// Runs a program, killed after `limit` seconds (status 137 then).
    static func run(_ program: String, _ args: [String], limit: Int = 60) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["DEBUGINFOD_URLS"] = nil
        p.environment = env
        let dir = TempTrace.directory + "/run-\(UUID().uuidString.prefix(8))"
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
        let pid = p.processIdentifier
        let watchdog = DispatchWorkItem { if p.isRunning { kill(pid, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(limit), execute: watchdog)
        p.waitUntilExit()
        watchdog.cancel()
        try out.close()
        try err.close()
        let status = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
        return Run(status: status,
                   stderr: (try? String(contentsOfFile: dir + "/err", encoding: .utf8)) ?? "",
                   stdout: String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: dir + "/out"))) ?? Data(), as: UTF8.self))
    }

    /// Every analysis command with its options, for trace `t` (outputs into `dir`).
    static func commands(_ t: String, _ dir: String) -> [[String]] {
        var list: [[String]] = [
            ["summary", t], ["summary", t, "--json"],
            ["types", t], ["types", t, "--at", "#1", "--json"], ["types", t, "--at", "two"],
            ["marks", t], ["marks", t, "--json"],
            ["growth", t], ["growth", t, "--from", "one", "--to", "two", "--sites", "--json"],
            ["growth", t, "--from", "start", "--to", "end", "--sites", "--all"],
            ["diff", t, t], ["diff", t, "--from", "#1", "--to", "#2", "--json"],
            ["lines", t, "crafted.c"], ["lines", t, "crafted.c", "--json"],
            ["chains", t, "--type", "App.Node"], ["chains", t, "--type", "App.Node", "--json", "--dot", dir + "/c.dot"],
            ["leaks", t], ["leaks", t, "--json"],
            ["cycles", t], ["cycles", t, "--json", "--dot", dir + "/cy.dot"],
            ["retained", t], ["retained", t, "--json"],
            ["flamegraph", t, "-o", dir + "/f.svg"], ["flamegraph", t, "--by", "leaked", "-o", dir + "/f2.svg"],
            ["timeline", t, "-o", dir + "/t.svg"],
            ["report", t, "-o", dir + "/r.html"],
            ["export", t, "--format", "pprof", "-o", dir + "/p.pb.gz"],
            ["export", t, "--format", "massif", "-o", dir + "/m.out"],
            ["export", t, "--format", "collapsed", "-o", dir + "/c.txt"],
            ["dump", t], ["dump", t, "--raw"],
        ]
        for by in ["peak", "leaked", "bytes", "allocations", "temporary"] {
            list.append(["top", t, "--by", by])
        }
        list.append(["top", t, "--group", "function", "--json"])
        return list
    }

    /// Fails the test unless every command ended with 0 or 1 and at most one line on stderr.
    func checkEveryCommand(_ trace: String, name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = TempTrace.directory + "/out-\(name)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for args in Self.commands(trace, dir) {
            let r = try Self.alloctrace(args, limit: 30)
            if r.status == 128 + SIGKILL {
                XCTFail("\(args.map { $0 == trace ? name : $0 }.joined(separator: " ")): killed after 30 s "
                        + "(the other commands on this trace are skipped)", file: file, line: line)
                return
            }
            let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: true)
            let shown = args.map { $0 == trace ? name : $0 }.joined(separator: " ")
            XCTAssert(r.status == 0 || r.status == 1, "\(shown): exit \(r.status)\n\(r.stderr.prefix(2000))",
                      file: file, line: line)
            XCTAssert(lines.count <= 1 || (lines.count == 2 && lines[0].contains("warning")),
                      "\(shown): \(lines.count) lines on stderr:\n\(r.stderr.prefix(2000))", file: file, line: line)
        }
    }

    /// A module path naming a FIFO (whose open would block without a writer), a device that never
    /// ends and a directory: symbolization skips them with a warning, no command blocks.
    func testModulePathsThatAreNotRegularFiles() throws {
        let fifo = TempTrace.directory + "/module-fifo"
        unlink(fifo)
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        for (name, path) in [("fifo", fifo), ("zero", "/dev/zero"), ("directory", TempTrace.directory)] {
            let trace = TempTrace.write(CraftedTraces.naming(module: path).fileBytes(), name: "module-\(name).atrace")
            try checkEveryCommand(trace, name: "module-\(name)")
        }
    }

    /// 20,000 marks: every command (report snapshots the heap at each) within the watchdog's time.
    func testManyMarks() throws {
        for count in [2_500, 20_000] {
            let trace = TempTrace.write(CraftedTraces.marks(count).fileBytes(), name: "marks-\(count).atrace")
            try checkEveryCommand(trace, name: "marks-\(count)")
        }
    }

    /// Under an address-space limit too small for the replay's tables, `report` and `summary` end
    /// with one line and exit status 1 (not "Fatal error: out of memory" and a backtrace).
    func testOutOfMemoryIsAnError() throws {
        let trace = TempTrace.write(CraftedTraces.liveBlocks(2_000_000).fileBytes(), name: "live-blocks.atrace")
        let plain = TempTrace.write(CraftedTraces.trace().fileBytes(), name: "live-blocks-plain.atrace")
        for command in ["summary", "report"] {
            let limited = "ulimit -v 250000; exec \"$0\" \"$@\""
            // the limit leaves room for the analyzer itself: a small trace is analysed under it
            let small = try Self.run("/bin/sh", ["-c", limited, Self.binDir + "/alloctrace", command, plain])
            XCTAssertEqual(small.status, 0, small.stderr)
            let r = try Self.run("/bin/sh", ["-c", limited, Self.binDir + "/alloctrace", command, trace])
            XCTAssertEqual(r.status, 1, "\(command): \(r.stderr.prefix(2000))")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(command): \(r.stderr.prefix(2000))")
            XCTAssert(r.stderr.hasPrefix("alloctrace: error: out of memory"), r.stderr)
        }
    }

    /// Sums of crafted sizes saturate instead of wrapping: two blocks of 2^64-1 bytes of one type
    /// (and 16 more) are 2^64-1 bytes, not 13.
    func testSizesSaturate() throws {
        let trace = TempTrace.write(CraftedTraces.all.first { $0.name == "size-max" }!.writer.fileBytes(),
                                    name: "saturate.atrace")
        let r = try Self.alloctrace(["types", trace, "--at", "two", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((object["live_bytes"] as? NSNumber)?.uint64Value, UInt64.max)
        let rows = try XCTUnwrap(object["rows"] as? [[String: Any]])
        let node = try XCTUnwrap(rows.first { $0["name"] as? String == "App.Node" })
        XCTAssertEqual((node["bytes"] as? NSNumber)?.uint64Value, UInt64.max)
    }

    func testEveryCommandOnEveryCraftedTrace() throws {
        for (name, writer) in CraftedTraces.all {
            let path = TempTrace.write(writer.fileBytes(), name: "crafted-\(name).atrace")
            try checkEveryCommand(path, name: name)
        }
    }
}

/// The reader bounds the ids that analyses index tables with by what the trace can hold.
final class TraceBoundsTests: XCTestCase {
    func replayError(_ writer: TestTraceWriter) -> String? {
        let path = TempTrace.write(writer.fileBytes(), name: "bounds.atrace")
        do {
            let reader = try TraceReader(path: path)
            _ = try reader.replay { _ in }
            return nil
        } catch {
            return "\(error)"
        }
    }

    func testThreadIndexBeyondWhatTheTraceHolds() {
        var o = CraftedTraces.Options()
        o.thread = UInt64(UInt32.max)
        let message = replayError(CraftedTraces.trace(o))
        XCTAssert(message?.contains("thread index 4294967295 is beyond any the trace can have given out") == true,
                  message ?? "no error")
        o.thread = 70_000   // above the floor, but a trace of that many bytes could have it
        XCTAssertNotNil(replayError(CraftedTraces.trace(o)))
        o.thread = 60_000
        XCTAssertNil(replayError(CraftedTraces.trace(o)))
    }

    func testStackIdBeyondWhatTheTraceHolds() {
        var o = CraftedTraces.Options()
        o.firstStack = 1 << 31
        let message = replayError(CraftedTraces.trace(o))
        XCTAssert(message?.contains("stack id 2147483650 is beyond any the trace can have defined so far") == true,
                  message ?? "no error")
        o.firstStack = 60_000
        XCTAssertNil(replayError(CraftedTraces.trace(o)))
    }

    func testLargestID() {
        XCTAssertEqual(TraceBounds.largestID(afterBytes: 0), 65_536)
        XCTAssertEqual(TraceBounds.largestID(afterBytes: 1000), 66_536)
        XCTAssertEqual(TraceBounds.largestID(afterBytes: .max), .max)
        XCTAssertEqual(TraceBounds.largestID(afterBytes: 1 << 40), .max)
    }
}
