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

    // Pages never touched are not read (issue 14: java -version's exit snapshot read 496 MB of a
    // reserved heap): of a 256 MiB mapping with one page touched, the snapshot reads that page, and
    // the block only it points to is still held by that memory.
    @Test func untouchedPagesAreNotRead() throws {
        let (r, trace) = try Toolbox.record(Toolbox.bin("sample-graph"), ["reserve"], in: try Toolbox.scratch("graph-precision-reserve"))
        try #require(r.status == 0, "\(r.stderr)")
        #expect(r.out == "graph reserve: mapped=268435456 touched=1\n")
        let dump = try Toolbox.run(Toolbox.alloctrace, ["dump", trace]).out
        let end = try #require(dump.split(separator: "\n").first { $0.hasPrefix("heap_snapshot end id=1 ") })
        let scanned = try #require(end.split(separator: " ").first { $0.hasPrefix("bytes_scanned=") })
        let bytes = try #require(Int(scanned.dropFirst("bytes_scanned=".count)))
        #expect(bytes < 32 << 20, "\(end)")   // the mapping alone is 256 MiB; the rest of the process a few MiB
        let c = try Toolbox.json(["chains", trace, "--at", "reserve", "--site", "reserve_block"])
        #expect(Toolbox.int(c["matched"]) == 1 && Toolbox.int(c["reachable"]) == 1)
        let hops = Toolbox.rows(Toolbox.rows(c, "objects").first, "hops")
        try #require(hops.count == 1, "\(hops)")
        #expect(str(hops[0]["holder_kind"]) == "anonymous")
        #expect(str(hops[0]["holder"]).hasPrefix("anonymous memory 0x"))
    }

    // A shrinking realloc of a block glibc mapped alone leaves stale words in its last page, past
    // the block's end: they are no roots, so the block only such a word points to is leaked (it
    // was held by "anonymous memory" before; samples/README.md: `sample-graph tail`).
    @Test func mappedBlockTailHoldsNothing() throws {
        let (r, trace) = try Toolbox.record(Toolbox.bin("sample-graph"), ["tail"], in: try Toolbox.scratch("graph-precision-tail"))
        try #require(r.status == 0, "\(r.stderr)")
        #expect(r.out == "graph tail: moved=0\n")
        let c = try Toolbox.json(["chains", trace, "--at", "tail", "--site", "tail_block"])
        #expect(int(c["matched"]) == 1 && int(c["reachable"]) == 0)
        let l = try Toolbox.json(["leaks", trace, "--at", "tail"])
        #expect(int(l["leaked_blocks"]) == 1 && int(l["leaked_bytes"]) == 72)
        #expect(rows(l, "by_site").map { str($0["function"]) } == ["tail_block"])
    }

    // The recorder's writer thread is stopped with the others but is no root: its stack and TLS
    // (one of the recorder's own mappings) and registers hold addresses of the events it
    // compressed. A single-threaded program's snapshots have only the main thread's frames and no
    // registers part (the writer's were both there before).
    @Test func theWritersThreadIsNoRoot() throws {
        let (r, trace) = try Toolbox.record(Toolbox.bin("sample-graph"), [], in: try Toolbox.scratch("graph-precision-writer"))
        try #require(r.status == 0, "\(r.stderr)")
        let parts = try Toolbox.run(Toolbox.alloctrace, ["dump", trace]).out.split(separator: "\n").filter { $0.hasPrefix("heap_snapshot ") }
        #expect(parts.filter { $0.hasPrefix("heap_snapshot begin ") }.count == 2)
        // the writer is stopped at the mark; at exit it may already have left (the end's status
        // change ends its loop), so the exit snapshot stops one thread or none
        let worlds = parts.filter { $0.hasPrefix("heap_snapshot world ") }
        #expect(worlds.count == 2 && worlds[0].hasPrefix("heap_snapshot world stopped=yes threads=1 "), "\(worlds)")
        #expect(worlds.count == 2 && (worlds[1].hasPrefix("heap_snapshot world stopped=yes threads=1 ")
                                      || worlds[1].hasPrefix("heap_snapshot world stopped=yes threads=0 ")), "\(worlds)")
        #expect(!parts.contains { $0.hasPrefix("heap_snapshot registers ") }, "\(parts)")
        #expect(parts.filter { $0.hasPrefix("heap_snapshot frames ") }.allSatisfy { $0.contains(" thread=1 ") })
    }
}
