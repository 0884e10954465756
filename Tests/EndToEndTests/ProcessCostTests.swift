import Foundation
import Testing

/// What a short-lived process pays for the recorder: the parts it can skip are skipped, and only
/// those (bench/process-tree measures the time).
@Suite struct ProcessCostTests {
    /// `dump`'s lines of the trace, and the `swift_types=` word of its process record.
    static func dump(_ trace: String) throws -> (lines: [String], swiftTypes: String) {
        let r = try Toolbox.run(Toolbox.alloctrace, ["dump", trace])
        try #require(r.status == 0, "dump failed: \(r.stderr)")
        let lines = r.out.split(separator: "\n").map(String.init)
        let process = try #require(lines.first { $0.hasPrefix("process ") })
        let word = try #require(process.split(separator: " ").first { $0.hasPrefix("swift_types=") })
        return (lines, String(word.dropFirst("swift_types=".count)))
    }

    /// A process that never allocated has nothing a heap word could point to: its exit snapshot is
    /// begin and end only, and the heap-graph commands still answer from it.
    @Test func eventlessProcessSkipsTheExitScan() throws {
        let dir = try Toolbox.scratch("cost-true")
        let (r, trace) = try Toolbox.record("/bin/true", in: dir)
        #expect(r.status == 0)
        let (lines, swiftTypes) = try Self.dump(trace)
        let parts = lines.filter { $0.hasPrefix("heap_snapshot ") }
        #expect(parts.count == 2)
        #expect(parts.first?.hasPrefix("heap_snapshot begin id=1 trigger=exit") == true)
        #expect(parts.last?.hasPrefix("heap_snapshot end id=1 bytes_scanned=0 words=0 ") == true)
        // no Swift code in the program: the runtime's hook is not set up
        #expect(swiftTypes == "interpose")
        let leaks = try Toolbox.run(Toolbox.alloctrace, ["leaks", trace])
        #expect(leaks.status == 0)
        #expect(leaks.out.contains("0 blocks, 0 B unreachable from any root (of 0 live blocks, 0 B)"))
        let types = try Toolbox.run(Toolbox.alloctrace, ["types", trace, "--at", "end"])
        #expect(types.status == 0)
        #expect(types.out.hasPrefix("live at end"))
    }

    /// A program that allocates gets the full scan, and a Swift program the runtime's hook.
    @Test func allocatingProcessesKeepTheScanAndSwiftTheHook() throws {
        let dir = try Toolbox.scratch("cost-alloc")
        // built with plain cc: SwiftPM links its C executables with the Swift runtime
        let program = try Toolbox.compileC("samples/c/crash/main.c", in: dir, name: "crash-cc",
                                           flags: ["-I", Toolbox.sourceRoot + "/include"])
        let (c, cTrace) = try Toolbox.record(program, ["exit"], in: dir + "/c")
        #expect(c.status == 0)
        let (cLines, cTypes) = try Self.dump(cTrace)
        let end = try #require(cLines.first { $0.hasPrefix("heap_snapshot end ") })
        #expect(!end.contains("bytes_scanned=0 "))
        #expect(cLines.contains { $0.hasPrefix("heap_snapshot words ") })
        #expect(cTypes == "interpose")
        let (s, sTrace) = try Toolbox.record(Toolbox.bin("samples"), ["objects", "10", "5"], in: dir + "/swift")
        #expect(s.status == 0)
        #expect(try Self.dump(sTrace).swiftTypes == "hook")
    }
}
