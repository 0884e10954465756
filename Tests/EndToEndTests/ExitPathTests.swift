import Foundation
import Testing
import TraceFormat

/// Every way a process ends leaves a complete trace; dlopen'd code is mapped and symbolized.
@Suite struct ExitPathTests {
    @Test(arguments: [("segv", 139, 1, 11), ("abort", 134, 1, 6), ("_exit", 4, 0, 4), ("exit", 0, 0, 0),
                      ("dispositions", 134, 1, 6)])
    func endings(mode: String, status: Int32, reason: Int, detail: Int) throws {
        let dir = try Toolbox.scratch("end-\(mode)")
        let (r, trace) = try Toolbox.record(Toolbox.bin("sample-crash"), [mode], in: dir)
        #expect(r.status == status)
        let t = try DecodedTrace(trace)
        #expect(t.summary.complete)
        let end = try #require(t.summary.end)
        #expect(Int(end.reasonRaw) == reason)
        #expect(Int(end.status) == detail)
        let before = t.events.prefix { !($0.kind == .mark) }
        // the sample's five blocks and one free, plus the Swift runtime's start-up pair
        #expect(t.sizes(.malloc, in: Array(before)).filter { $0 == 100 }.count == 5)
        #expect(t.labels == ["allocated"])
    }

    /// The recorder's crash and mark handlers are invisible: the program sees SIG_DFL everywhere,
    /// as without the recorder (the launcher turns the Swift runtime's backtracer off in both runs).
    @Test func signalDispositionsLookUntouched() throws {
        let dir = try Toolbox.scratch("dispositions")
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "enable=no"
        let plain = try Toolbox.run(Toolbox.bin("sample-crash"), ["dispositions"], environment: env)
        let (traced, _) = try Toolbox.record(Toolbox.bin("sample-crash"), ["dispositions"], in: dir)
        #expect(plain.out == "dispositions: custom=0 own=ok\n")
        #expect(traced.out == plain.out)
        #expect(traced.status == plain.status && plain.status == 134)
    }

    @Test func dlopenedLibraryIsMappedAndSymbolized() throws {
        let dir = try Toolbox.scratch("dlopen")
        let (r, trace) = try Toolbox.record(Toolbox.bin("sample-dlopen"), in: dir)
        #expect(r.status == 0)
        #expect(r.out.hasPrefix("dlopen: compressed 65536 -> "))
        let t = try DecodedTrace(trace)
        let libz = try #require(t.reader.modules.first { $0.path.hasSuffix("/libz.so.1") })
        #expect(libz.ticks > t.reader.process!.startTicks)
        #expect(libz.unloadTicks != nil)
        #expect(t.reader.modules.first?.path.hasSuffix("sample-dlopen") == true)
        #expect(t.reader.modules.first?.unloadTicks == nil)
        let top = try Toolbox.run(Toolbox.alloctrace, ["top", trace, "--by", "bytes", "--limit", "50"])
        #expect(top.status == 0)
        #expect(top.out.contains("compress2 (libz.so.1+0x"))
        #expect(top.out.contains("compress_once at ") && top.out.contains("samples/c/dlopen/main.c:"))
    }
}
