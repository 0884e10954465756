import Foundation
import Testing
import TraceReader

/// A killed target leaves a readable trace; damaged files give one clear error, never a trap.
@Suite struct CrashSafetyTests {
    /// Starts sample-long under the recorder and waits for its "ready".
    func startLong(_ dir: String, extraEnv: [String: String] = [:]) throws -> (Process, String) {
        let trace = dir + "/long.atrace"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Toolbox.bin("sample-long"))
        var env = ProcessInfo.processInfo.environment
        env["LD_PRELOAD"] = Toolbox.bin("libAllocTracePreload.so")
        env["ALLOCTRACE_OUTPUT"] = trace
        env["SWIFT_BACKTRACE"] = "enable=no"
        env.merge(extraEnv) { $1 }
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let line = out.fileHandleForReading.availableDataLine()
        #expect(line == "ready")
        return (p, trace)
    }

    @Test func sigkillLeavesATraceUpToItsLastFlush() throws {
        let dir = try Toolbox.scratch("kill")
        let (p, trace) = try startLong(dir)
        usleep(2_500_000)                        // well past the first one-second flush, even on a loaded machine
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let t = try DecodedTrace(trace)
        #expect(!t.summary.complete)
        #expect(t.summary.cutShortReason != nil)
        #expect(t.count(.malloc) >= 10000)       // "ready" came after 10000 pairs
        #expect(t.labels.first == "ready")
        let dump = try Toolbox.run(Toolbox.alloctrace, ["dump", trace])
        #expect(dump.status == 0)
        #expect(dump.out.split(separator: "\n").last?.hasPrefix("complete: no (the trace was cut short") == true)
    }

    @Test func damagedFilesGiveOneClearError() throws {
        let dir = try Toolbox.scratch("damaged")
        let (_, trace) = try Toolbox.record(Toolbox.bin("sample-entrypoints"), in: dir)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: trace))

        // truncated: readable up to the cut, said to be cut short
        let cut = dir + "/cut.atrace"
        try bytes.prefix(bytes.count - 7).write(to: URL(fileURLWithPath: cut))
        let c = try Toolbox.run(Toolbox.alloctrace, ["dump", cut])
        #expect(c.status == 0)
        #expect(c.out.contains("complete: no"))

        func expectError(_ data: Data, _ message: String) throws {
            let path = dir + "/bad-\(UUID().uuidString.prefix(6)).atrace"
            try data.write(to: URL(fileURLWithPath: path))
            let r = try Toolbox.run(Toolbox.alloctrace, ["dump", path])
            #expect(r.status == 1)
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 1)
            #expect(r.stderr.hasPrefix("alloctrace: error: ") && (message.isEmpty || r.stderr.contains(message)), "\(r.stderr)")
        }
        try expectError(Data("this is not a trace at all\n".utf8), "is not an alloctrace trace")
        var future = bytes
        future[8] = 4                            // 3 is a sampled trace's
        try expectError(future, "trace format version 4 is newer than this alloctrace")
        var corrupt = bytes.prefix(16)
        corrupt.append(Data((0..<4000).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) }))
        try expectError(corrupt, "is corrupt")
        let missing = try Toolbox.run(Toolbox.alloctrace, ["dump", dir + "/missing.atrace"])
        #expect(missing.status == 1 && missing.stderr.contains("No such file"))
    }

    @Test func unwritableOutputLeavesTheTargetRunning() throws {
        let r = try Toolbox.run(Toolbox.alloctrace, ["record", "-o", "/nonexistent-dir/x.atrace", "--", "/bin/sh", "-c", "echo ran; exit 5"])
        #expect(r.status == 5)
        #expect(r.out == "ran\n")
        #expect(r.stderr.contains("cannot write the trace to /nonexistent-dir/x.atrace"))
        #expect(r.stderr.contains("no trace was written"))
    }

    @Test func missingProgramIsAClearError() throws {
        let r = try Toolbox.run(Toolbox.alloctrace, ["record", "--", "/no/such/program"])
        #expect(r.status == 127)
        #expect(r.stderr == "alloctrace: error: cannot run /no/such/program: no such file\n")
    }
}

extension FileHandle {
    /// Reads one line (without its newline), blocking.
    func availableDataLine() -> String {
        var bytes: [UInt8] = []
        while true {
            let d = readData(ofLength: 1)
            if d.isEmpty || d[0] == 10 { break }
            bytes.append(d[0])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
