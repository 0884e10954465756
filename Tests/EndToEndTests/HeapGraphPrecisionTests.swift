import Foundation
import Testing

/// Precise scanning of Swift collection storage (issue 14; docs/FORMAT.md, "What the scan reads
/// precisely"): words left behind in the unused capacity of an emptied Dictionary, Array and Set
/// keep nothing reachable (samples/README.md: `samples stale`).
@Suite struct HeapGraphPrecisionTests {
    func rows(_ object: [String: Any]?, _ key: String) -> [[String: Any]] { Toolbox.rows(object, key) }
    func int(_ v: Any?) -> Int { Toolbox.int(v) }
    func str(_ v: Any?) -> String { (v as? String) ?? "" }

    static let cycles = 100

    // Every one of the N cycles is held only by stale words: leaks finds all 2N Peers as N root
    // cycles, at the mark and at exit (before precise scanning it found none).
    @Test func staleCapacityKeepsNothingReachable() throws {
        let (r, trace) = try Toolbox.record(Toolbox.bin("samples"), ["stale", "\(Self.cycles)"],
                                            in: try Toolbox.scratch("graph-precision-stale"))
        try #require(r.status == 0, "samples stale: \(r.stderr)")
        #expect(r.out == "stale: cycles=100 table=0 list=0 set=0\n")
        for at in ["stale", "end"] {
            let l = try Toolbox.json(["leaks", trace, "--at", at])
            #expect(int(l["leaked_blocks"]) == 2 * Self.cycles)
            #expect(int(l["leaked_bytes"]) == 24 * 2 * Self.cycles)
            let types = rows(l, "by_type")
            #expect(types.map { str($0["name"]) } == ["samples.StalePeer"])
            #expect(int(types.first?["count"]) == 2 * Self.cycles)
            #expect(int(types.first?["bytes"]) == 24 * 2 * Self.cycles)
            let roots = rows(l, "roots")
            try #require(roots.count == 1, "\(roots)")
            #expect(str(roots[0]["kind"]) == "cycle")
            #expect(int(roots[0]["count"]) == Self.cycles)
            #expect(int(roots[0]["blocks"]) == 2 * Self.cycles)
            #expect(roots[0]["members"] as? [String] == ["samples.StalePeer", "samples.StalePeer"])
            #expect(roots[0]["fields"] as? [String] == ["samples.StalePeer.other", "samples.StalePeer.other"])
        }
    }
}
