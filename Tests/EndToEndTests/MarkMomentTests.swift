import Foundation
import Testing

/// One moment per mark (issue 14): while a thread allocates between a mark's event and its
/// heap-graph snapshot, `marks` and `types --at` still give one set of figures, the snapshot's
/// (samples/c/graph/main.c, busy mode).
@Suite struct MarkMomentTests {
    @Test func marksAndTypesAgreeWhileAThreadAllocates() throws {
        let rounds = 5
        let (r, trace) = try Toolbox.record(Toolbox.bin("sample-graph"), ["busy", "\(rounds)"],
                                            in: try Toolbox.scratch("mark-moment-busy"))
        try #require(r.status == 0, "\(r.stderr)")
        #expect(r.out == "graph busy: rounds=\(rounds)\n")
        let marks = Toolbox.rows(try Toolbox.json(["marks", trace]), "marks")
        try #require(marks.count == rounds)
        var previous = 0
        for (i, mark) in marks.enumerated() {
            let t = try Toolbox.json(["types", trace, "--at", "#\(i + 1)"])
            #expect(Toolbox.int(t["live_blocks"]) == Toolbox.int(mark["live_blocks"]), "mark #\(i + 1)")
            #expect(Toolbox.int(t["live_bytes"]) == Toolbox.int(mark["live_bytes"]), "mark #\(i + 1)")
            let l = try Toolbox.json(["leaks", trace, "--at", "#\(i + 1)"])
            #expect(Toolbox.int(l["live_blocks"]) == Toolbox.int(mark["live_blocks"]), "mark #\(i + 1)")
            // the thread only allocates: no mark sees fewer blocks than the one before (as many when
            // a loaded machine did not run it in between)
            #expect(Toolbox.int(mark["live_blocks"]) >= previous)
            previous = Toolbox.int(mark["live_blocks"])
        }
        #expect(Toolbox.int(marks.last?["live_blocks"]) > Toolbox.int(marks.first?["live_blocks"]))
    }
}
