import Foundation
import Testing

/// The launcher's other ways in: the library path for LD_PRELOAD by hand, and marks from outside.
@Suite struct LauncherTests {
    @Test func preloadPathWorksWithoutTheLauncher() throws {
        let path = try Toolbox.run(Toolbox.alloctrace, ["preload-path"])
        #expect(path.status == 0)
        let library = path.out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(library.hasPrefix("/") && library.hasSuffix("/libAllocTracePreload.so"))
        #expect(FileManager.default.fileExists(atPath: library))
        let dir = try Toolbox.scratch("manual")
        var env = ProcessInfo.processInfo.environment
        env["LD_PRELOAD"] = library
        env["ALLOCTRACE_OUTPUT"] = dir + "/manual.%p.atrace"
        env["SWIFT_BACKTRACE"] = "enable=no"
        let r = try Toolbox.run(Toolbox.bin("sample-entrypoints"), [], environment: env)
        #expect(r.status == 0)
        let files = Toolbox.files(in: dir, prefix: "manual.")
        #expect(files.count == 1)
        let t = try DecodedTrace(files[0])
        #expect(files[0].hasSuffix(".\(t.reader.process!.pid).atrace"))
        #expect(t.count(.pvalloc) == 1)
    }

    /// Under a small address-space limit the launcher still starts (it maps no Foundation/ICU)
    /// and the program runs, untraced, with one line saying why (hardening issue, item 6).
    @Test(arguments: [50_000, 90_000])
    func smallAddressSpaceLimit(kib: Int) throws {
        let dir = try Toolbox.scratch("ulimit-\(kib)")
        let r = try Toolbox.run("/bin/sh", ["-c", "ulimit -v \(kib) && exec \"$0\" record -o \"$1\" -- /bin/echo hi",
                                            Toolbox.alloctrace, dir + "/t.atrace"])
        #expect(r.status == 0)
        #expect(r.out == "hi\n")
        #expect(r.stderr.contains("alloctrace: cannot map 65536 KiB for the stack and type tables (Cannot allocate memory) under the address-space limit of \(kib) KiB (ulimit -v); the program runs untraced\n"))
        #expect(r.stderr.contains("alloctrace: no trace was written"))
    }

    @Test func markFromOutside() throws {
        let dir = try Toolbox.scratch("mark")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Toolbox.alloctrace)
        p.arguments = ["record", "-q", "-o", dir + "/m.atrace", "--flush-ms", "100", "--", Toolbox.bin("sample-long"), "2000"]  // ~2.5 s: time for the mark on a loaded machine
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        #expect(out.fileHandleForReading.availableDataLine() == "ready")
        // the launcher's child is the target
        let target = try #require(childPid(of: p.processIdentifier))
        let m = try Toolbox.run(Toolbox.alloctrace, ["mark", String(target), "from outside"])
        #expect(m.status == 0, "\(m.stderr)")
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let t = try DecodedTrace(dir + "/m.atrace")
        #expect(t.labels == ["ready", "from outside"])
        let notTraced = try Toolbox.run(Toolbox.alloctrace, ["mark", String(getpid()), "x"])
        #expect(notTraced.status == 1 && notTraced.stderr.contains("does not run under alloctrace"))
    }

    func childPid(of parent: Int32) -> Int32? {
        for _ in 0..<100 {
            if let text = try? String(contentsOfFile: "/proc/\(parent)/task/\(parent)/children", encoding: .utf8),
               let first = text.split(separator: " ").first, let pid = Int32(first) { return pid }
            usleep(10_000)
        }
        return nil
    }
}
