import Foundation
import Testing

/// Messages that name the real cause (issue 14, "Messages").
@Suite struct AnalyzerMessagesTests {
    // A time past the end of the recording is an error, not the end's heap.
    @Test func secondsPastTheEndAreAnError() throws {
        let (r, trace) = try Toolbox.record(Toolbox.bin("samples"), ["private"], in: try Toolbox.scratch("messages-past-end"))
        try #require(r.status == 0)
        for args in [["types", trace, "--at", "99s"], ["growth", trace, "--from", "start", "--to", "99"]] {
            let e = try Toolbox.run(Toolbox.alloctrace, args)
            #expect(e.status == 1, "\(args)")
            #expect(e.out == "")
            #expect(e.stderr.range(of: #"^alloctrace: error: no moment 99 s in the trace: it ends at [0-9]+\.[0-9]{3} s\n$"#,
                                   options: .regularExpression) != nil, "\(e.stderr)")
        }
        // a time within the recording still works
        #expect(try Toolbox.run(Toolbox.alloctrace, ["types", trace, "--at", "0.000001s"]).status == 0)
    }

    // A program killed before exit: leaks says so instead of recommending ALLOCTRACE_HEAP_GRAPH.
    @Test func leaksOnAKilledTraceSaysTheProgramDied() throws {
        let (r, trace) = try Toolbox.record("/bin/sh", ["-c", "echo started; kill -9 $$"], in: try Toolbox.scratch("messages-killed"))
        #expect(r.out == "started\n")
        let e = try Toolbox.run(Toolbox.alloctrace, ["leaks", trace])
        #expect(e.status == 1)
        #expect(e.stderr.hasPrefix("alloctrace: error: the trace has no heap-graph snapshot: the program died before it exited (no end record: SIGKILL?)"), "\(e.stderr)")
        #expect(!e.stderr.contains("ALLOCTRACE_HEAP_GRAPH"))
        // a program that exits normally with the graph off is still told about the setting
        let (_, off) = try Toolbox.record(Toolbox.bin("samples"), ["private"], in: try Toolbox.scratch("messages-graph-off"),
                                          options: ["--heap-graph", "off"])
        #expect(try Toolbox.run(Toolbox.alloctrace, ["leaks", off]).stderr.contains("ALLOCTRACE_HEAP_GRAPH"))
    }

    // Peak RSS says how much of it was the recorder's own memory (issue 14), and does not subtract it.
    @Test func peakRSSSaysTheRecordersShare() throws {
        let (r, trace) = try Toolbox.record(Toolbox.bin("samples"), ["private"], in: try Toolbox.scratch("messages-rss-share"))
        try #require(r.status == 0)
        let s = try Toolbox.json(["summary", trace])
        let peak = Toolbox.int(s["peak_rss_bytes"]), own = Toolbox.int(s["peak_rss_recorder_bytes"])
        #expect(peak > 0)
        #expect(own > 0 && own < peak, "\(own) of \(peak)")
        #expect(own % 4096 == 0)
        let text = try Toolbox.run(Toolbox.alloctrace, ["summary", trace]).out
        #expect(text.contains(" of it the recorder's buffers and tables, not subtracted)\n"), "\(text)")
        // without an end record the share is unknown, and not guessed
        let (_, killed) = try Toolbox.record("/bin/sh", ["-c", "kill -9 $$"], in: try Toolbox.scratch("messages-rss-killed"))
        #expect(try Toolbox.json(["summary", killed])["peak_rss_recorder_bytes"] == nil)
    }
}
