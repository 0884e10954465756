import Foundation
import Testing
import TraceReader

/// Issue 17, the target-side items: what a careful program does (close every descriptor,
/// pthread_exit from main, run under a small address-space limit, bring its own allocator) and what
/// a supervisor does (signal the launcher's pid) must give the same output and exit as without
/// the recorder; and the analyzer's `-o` writes into what it names.
@Suite struct TargetIsSacredTests {
    var hostile: String { Toolbox.bin("sample-hostile") }

    /// samples/c/hostile/main.c built with plain `cc`: no swiftrt.o, no libswiftCore of its own.
    func hostileCC(_ dir: String) throws -> String {
        try Toolbox.compileC("samples/c/hostile/main.c", in: dir, name: "hostile-cc",
                             flags: ["-I", Toolbox.sourceRoot + "/include", "-lpthread"])
    }

    // 1. close_range + 1000 opens give the program fd 900: the recorder never writes into it.
    @Test func aReusedTraceDescriptorIsNeverWritten() throws {
        let dir = try Toolbox.scratch("fd900")
        let plain = try Toolbox.run(hostile, ["close-range"], cwd: dir)
        #expect(plain.out == "victim=1 bytes\n" && plain.status == 0)
        let trace = dir + "/t.atrace"
        let r = try Toolbox.run(Toolbox.alloctrace, ["record", "-o", trace, "--", hostile, "close-range"], cwd: dir)
        #expect(r.out == "victim=1 bytes\n")
        #expect(r.status == 0)
        let size = try FileManager.default.attributesOfItem(atPath: dir + "/victim.txt")[.size] as? Int
        #expect(size == 1)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.filter { $0.contains("recording stops") } ==
                ["alloctrace: the program closed the trace file's descriptor; recording stops, the program goes on"])
    }

    // 2. pthread_exit in main: the process ends with its last thread, and the trace is complete.
    @Test func pthreadExitFromMainEndsTheProcess() throws {
        let dir = try Toolbox.scratch("pthread-exit")
        let (r, trace) = try Toolbox.record(hostile, ["pthread-exit"], in: dir, timeout: 30)
        #expect(r.status == 0)
        #expect(r.out == "worker done\n")
        let t = try DecodedTrace(trace)
        #expect(t.summary.complete)
        #expect(t.summary.end?.status == 0)
        #expect(t.sizes(.malloc).filter { $0 == 48 }.count == 3)
        #expect(t.sizes(.malloc).filter { $0 == 32 }.count == 1)
    }

    // 3. SIGTERM, SIGINT, SIGHUP sent to the launcher's pid reach the program; the launcher dies
    //    as it did, and leaves no orphan.
    @Test(arguments: [SIGTERM, SIGINT, SIGHUP])
    func theLauncherForwardsSignals(_ sig: Int32) throws {
        let dir = try Toolbox.scratch("forward-\(sig)")
        let out = Pipe()
        let launcher = try Toolbox.spawnClean(Toolbox.alloctrace, ["record", "-q", "-o", dir + "/t.atrace", "--", Toolbox.bin("sample-long")],
                                              stdout: out.fileHandleForWriting.fileDescriptor)
        try out.fileHandleForWriting.close()
        #expect(out.fileHandleForReading.availableDataLine() == "ready")
        let child = try #require(childPid(of: launcher))
        kill(launcher, sig)
        let watchdog = DispatchWorkItem { kill(child, SIGKILL); kill(launcher, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(20), execute: watchdog)
        var status: Int32 = 0
        while waitpid(launcher, &status, 0) < 0 && errno == EINTR {}
        watchdog.cancel()
        #expect(status & 0x7F == sig, "the launcher did not die by signal \(sig): wait status \(status)")
        #expect(kill(child, 0) == -1 && errno == ESRCH, "the program outlived its launcher")
    }

    func childPid(of parent: Int32) -> Int32? {
        for _ in 0..<200 {
            if let text = try? String(contentsOfFile: "/proc/\(parent)/task/\(parent)/children", encoding: .utf8),
               let first = text.split(separator: " ").first, let pid = Int32(first) { return pid }
            usleep(10_000)
        }
        return nil
    }

    // 4. The program's first open() returns 3, as without the recorder.
    @Test func theFirstDescriptorIsTheProgramsOwn() throws {
        let dir = try Toolbox.scratch("first-fd")
        let (r, _) = try Toolbox.record(hostile, ["first-fd"], in: dir)
        #expect(r.out == "first fd=3\n")
        let manual = try Toolbox.run(hostile, ["first-fd"], environment: Toolbox.preloadEnvironment(output: dir + "/m.atrace"))
        #expect(manual.out == "first fd=3\n")
    }

    // 5. A crashing C program preloaded by hand (no SWIFT_BACKTRACE) prints what it prints alone.
    @Test func aCrashingCProgramKeepsItsCrashOutput() throws {
        let dir = try Toolbox.scratch("crash")
        let program = try hostileCC(dir)
        let plain = try Toolbox.run(program, ["segv"])
        #expect(plain.status == 139 && plain.stderr == "")
        let traced = try Toolbox.run(program, ["segv"], environment: Toolbox.preloadEnvironment(output: dir + "/t.atrace"))
        #expect(traced.status == 139)
        #expect(traced.stderr == "")
        let t = try DecodedTrace(dir + "/t.atrace")
        #expect(t.summary.end?.status == 11)
        // and when the recorder does not record at all (here: told not to)
        let off = try Toolbox.run(program, ["segv"], environment: Toolbox.preloadEnvironment(output: dir + "/off.atrace", extra: ["ALLOCTRACE_DISABLE": "1"]))
        #expect(off.status == 139)
        #expect(off.stderr == "")
    }

    // 6. Small address-space limits: the program runs, and the message says what happened.
    @Test(arguments: [70000, 90000])
    func aSmallAddressSpaceLimitIsSaid(_ kib: Int) throws {
        let dir = try Toolbox.scratch("ulimit-\(kib)")
        let env = Toolbox.preloadEnvironment(output: dir + "/t.atrace")
        let r = try Toolbox.run("/bin/sh", ["-c", "ulimit -v \(kib) && exec '\(hostile)' first-fd"], environment: env)
        #expect(r.out == "first fd=3\n")
        #expect(r.status == 0)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("alloctrace: cannot map ") == true)
        #expect(lines.first?.hasSuffix("under the address-space limit of \(kib) KiB (ulimit -v); the program runs untraced") == true)
    }

    @Test func theLauncherSaysWhyUnderAnAddressSpaceLimit() throws {
        let dir = try Toolbox.scratch("ulimit-launcher")
        let trace = dir + "/t.atrace"
        let r = try Toolbox.run("/bin/sh", ["-c", "ulimit -v 95000 && exec '\(Toolbox.alloctrace)' record -o '\(trace)' -- '\(hostile)' first-fd"])
        #expect(r.out == "first fd=3\n")
        #expect(r.status == 0)
        #expect(r.stderr.contains("under the address-space limit of 95000 KiB (ulimit -v); the program runs untraced\n"))
        #expect(r.stderr.contains("alloctrace: no trace was written to \(trace) (see the messages above)"))
    }

    // 7. An allocator preloaded before the recorder is named; the documented order still works.
    @Test func anAllocatorPreloadedFirstIsSaid() throws {
        let dir = try Toolbox.scratch("other-allocator")
        let program = try hostileCC(dir)
        let bump = dir + "/libbump.so"
        let cc = try Toolbox.run("/usr/bin/cc", ["-shared", "-fPIC", "-O1", "-o", bump, Toolbox.sourceRoot + "/samples/preload/bump_allocator.c"])
        try #require(cc.status == 0, "\(cc.stderr)")
        var env = Toolbox.preloadEnvironment(output: dir + "/first.atrace")
        env["LD_PRELOAD"] = bump + " " + Toolbox.bin("libAllocTracePreload.so")
        let r = try Toolbox.run(program, ["one-block"], environment: env)
        #expect(r.out == "one block\n" && r.status == 0)
        #expect(r.stderr == "alloctrace: malloc is served by \(bump), loaded before the recorder: the program's allocations cannot be seen; put libAllocTracePreload.so first in LD_PRELOAD. The program runs untraced\n")
        #expect(!FileManager.default.fileExists(atPath: dir + "/first.atrace"))
        env["LD_PRELOAD"] = Toolbox.bin("libAllocTracePreload.so") + " " + bump
        env["ALLOCTRACE_OUTPUT"] = dir + "/second.atrace"
        let after = try Toolbox.run(program, ["one-block"], environment: env)
        #expect(after.stderr == "")
        let t = try DecodedTrace(dir + "/second.atrace")
        #expect(t.sizes(.malloc) == [100])
    }

    // 8. A plain `cc` program's trace holds its own allocations and nothing of the recorder's.
    @Test func theRecordersOwnRegistrationStaysOut() throws {
        let dir = try Toolbox.scratch("own")
        let program = try hostileCC(dir)
        let (r, trace) = try Toolbox.record(program, ["one-block"], in: dir)
        #expect(r.out == "one block\n")
        let t = try DecodedTrace(trace)
        #expect(t.events.filter { $0.kind != .threadExit && $0.kind != .rss && $0.kind != .mark }.map(\.kind) == [.malloc, .free])
        #expect(t.sizes(.malloc) == [100])
    }

    // 9. `-o` writes into its destination: mode, hard links, symlinks, FIFOs and devices stay.
    @Test func outputWritesIntoItsDestination() throws {
        let dir = try Toolbox.scratch("output")
        let (_, trace) = try Toolbox.record(hostile, ["one-block"], in: dir)
        func export(_ to: String) throws -> Toolbox.Result {
            try Toolbox.run(Toolbox.alloctrace, ["export", trace, "--format", "collapsed", "--by", "bytes", "-o", to])
        }
        let expected = try Toolbox.run(Toolbox.alloctrace, ["export", trace, "--format", "collapsed", "--by", "bytes"]).stdout
        #expect(!expected.isEmpty)
        let fm = FileManager.default
        func attributes(_ p: String) throws -> [FileAttributeKey: Any] { try fm.attributesOfItem(atPath: p) }

        let privateFile = dir + "/private.txt"
        #expect(fm.createFile(atPath: privateFile, contents: Data("old".utf8), attributes: [.posixPermissions: 0o600]))
        let inode = try attributes(privateFile)[.systemFileNumber] as? Int
        #expect(try export(privateFile).status == 0)
        #expect(try attributes(privateFile)[.posixPermissions] as? Int == 0o600)
        #expect(try attributes(privateFile)[.systemFileNumber] as? Int == inode)
        #expect(fm.contents(atPath: privateFile) == expected)

        let linked = dir + "/linked.txt"
        try fm.linkItem(atPath: privateFile, toPath: linked)
        #expect(try export(linked).status == 0)
        #expect(try attributes(privateFile)[.referenceCount] as? Int == 2)

        let symlink = dir + "/symlink.txt"
        let target = dir + "/target.txt"
        try fm.createSymbolicLink(atPath: symlink, withDestinationPath: target)
        #expect(try export(symlink).status == 0)
        #expect(try fm.destinationOfSymbolicLink(atPath: symlink) == target)
        #expect(fm.contents(atPath: target) == expected)

        let fifo = dir + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let reader = try Toolbox.run("/bin/sh", ["-c", "cat '\(fifo)' > '\(dir)/from-fifo' & '\(Toolbox.alloctrace)' export '\(trace)' --format collapsed --by bytes -o '\(fifo)'; wait"], timeout: 30)
        #expect(reader.status == 0)
        #expect(try attributes(fifo)[.type] as? FileAttributeType == .typeUnknown || (try attributes(fifo)[.type] as? FileAttributeType) != .typeRegular)
        #expect(fm.contents(atPath: dir + "/from-fifo") == expected)

        // a character device (a null device of our own when we may make one; /dev/null otherwise)
        var device = "/dev/null"
        if getuid() == 0 && mknod(dir + "/null", S_IFCHR | 0o666, dev_t(1 << 8 | 3)) == 0 { device = dir + "/null" }
        #expect(try export(device).status == 0)
        #expect(try attributes(device)[.type] as? FileAttributeType == .typeCharacterSpecial)
    }

    // 13. Messages.
    @Test func recordHelpWorks() throws {
        let r = try Toolbox.run(Toolbox.alloctrace, ["record", "--help"])
        #expect(r.status == 0)
        #expect(r.out.contains("USAGE: alloctrace record"))
    }

    @Test func quietSilencesTheRecordersMessages() throws {
        let dir = try Toolbox.scratch("quiet")
        let threads = Toolbox.bin("sample-threads")
        // a 1-block file-size limit: the trace cannot be written (SIGXFSZ ignored, as a program
        // may); the output goes through a pipe, which the limit does not cut
        func run(_ quiet: Bool) throws -> Toolbox.Result {
            try Toolbox.run("/bin/sh", ["-c", "(trap '' XFSZ; ulimit -f 1 && exec '\(Toolbox.alloctrace)' record \(quiet ? "-q" : "") -o '\(dir)/\(quiet).atrace' -- '\(threads)') 2>&1 | cat; exit $(($? ))"])
        }
        let plain = try Toolbox.run("/bin/sh", ["-c", "'\(threads)' 2>&1 | cat"])
        let loud = try run(false)
        #expect(loud.out.contains("alloctrace: writing the trace failed; recording stops, the program goes on\n"))
        let quiet = try run(true)
        #expect(quiet.out == plain.out)
        #expect(quiet.stderr == "")
        // and the exit status is the program's, SIGXFSZ ignored or not (the trace's writes, the
        // last ones in the program's exit included, must not raise it)
        for trap in ["trap '' XFSZ;", ""] {
            let status = try Toolbox.run("/bin/sh", ["-c", "\(trap) ulimit -f 1 && '\(Toolbox.alloctrace)' record -q -o '\(dir)/s\(trap.count).atrace' -- '\(threads)' > /dev/null 2>&1"])
            #expect(status.status == 0, "\(trap)")
        }
    }

    @Test func dumpOfACutTraceWarns() throws {
        let dir = try Toolbox.scratch("dump-cut")
        let (_, trace) = try Toolbox.record(hostile, ["one-block"], in: dir)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: trace))
        let cut = dir + "/cut.atrace"
        try bytes.prefix(bytes.count - 7).write(to: URL(fileURLWithPath: cut))
        let r = try Toolbox.run(Toolbox.alloctrace, ["dump", cut])
        #expect(r.status == 0)
        #expect(r.stderr.hasPrefix("alloctrace: warning: \(cut): the trace was cut short ("))
        #expect(r.stderr.hasSuffix("); the dump shows what it holds\n"))
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    @Test func marksEscapesControlCharacters() throws {
        let dir = try Toolbox.scratch("odd-label")
        let (r, trace) = try Toolbox.record(hostile, ["odd-label"], in: dir)
        #expect(r.out == "marked\n")
        let m = try Toolbox.run(Toolbox.alloctrace, ["marks", trace])
        #expect(m.status == 0)
        #expect(!m.out.contains("\u{1B}") && !m.out.contains("\t"))
        #expect(m.out.split(separator: "\n").count == 2)
        #expect(m.out.hasSuffix(#"red\e[31m\tline\nnext\\"# + "\n"))
    }

    @Test func analyseItWithQuotesThePath() throws {
        let dir = try Toolbox.scratch("quote") + "/with space's"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let trace = dir + "/t.atrace"
        let r = try Toolbox.run(Toolbox.alloctrace, ["record", "-o", trace, "--", hostile, "one-block"])
        #expect(r.status == 0)
        let quoted = "'" + trace.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
        #expect(r.stderr.contains("alloctrace: analyse it with: alloctrace summary \(quoted)\n"))
        // and the shell reads it back as the path
        let back = try Toolbox.run("/bin/sh", ["-c", "ls \(quoted)"])
        #expect(back.out == trace + "\n")
    }
}
