import Foundation
import Testing

/// The analyzer's figures equal the samples' known truth, from real recordings.
@Suite struct AnalyzerTests {
    func json(_ args: [String]) throws -> [String: Any] { try Toolbox.json(args) }
    func rows(_ object: [String: Any], _ key: String) -> [[String: Any]] { Toolbox.rows(object, key) }
    func int(_ v: Any?) -> Int { Toolbox.int(v) }

    @Test func summaryMatchesTheEntryPointSample() throws {
        let dir = try Toolbox.scratch("summary")
        let (_, trace) = try Toolbox.record(Toolbox.bin("sample-entrypoints"), in: dir)
        let s = try json(["summary", trace])
        // The sample's truth (samples/README.md), nothing more: the Swift runtime's 16-byte
        // malloc/free registering the recorder's own image is the recorder's (issue 17, item 8).
        #expect(int(s["allocation_calls"]) == 27)
        #expect(int(s["frees"]) == 15)
        #expect(int(s["bytes_allocated"]) == 8356)
        #expect(int(s["peak_heap_bytes"]) == 7776)
        #expect(int(s["leaked_bytes"]) == 1320)
        #expect(int(s["leaked_blocks"]) == 7)
        // freed before their thread allocated again: the pvalloc block freed first, and the
        // blocks that the next realloc/reallocarray call released
        #expect(int(s["temporary_allocations"]) == 4)
        #expect(int(s["threads"]) == 1)
        #expect(int(s["unmatched_frees"]) == 0)
        #expect(s["complete"] as? Bool == true)
        #expect(int(s["peak_rss_bytes"]) > 0)
        #expect(int(s["duration_ns"]) > 0)
        #expect(int(s["peak_heap_time_ns"]) > 0 && int(s["peak_heap_time_ns"]) <= int(s["duration_ns"]))
        let calls = try #require(s["calls"] as? [String: Any])
        #expect(int(calls["pvalloc"]) == 1 && int(calls["posix_memalign"]) == 2 && int(calls["malloc"]) == 10)
        let leaked = rows(s, "top_leaked_sites")
        #expect(leaked.first?["function"] as? String == "do_malloc")
        #expect(int(leaked.first?["leaked_bytes"]) == 96 + 112 + 128 + 144)
        #expect((leaked.first?["location"] as? String)?.contains("entrypoints/main.c:") == true)
    }

    @Test func typesAtMarksGiveExactLiveCounts() throws {
        let dir = try Toolbox.scratch("types")
        let (_, trace) = try Toolbox.record(Toolbox.bin("samples"), ["marks"], in: dir)
        func live(_ at: String) throws -> [String: Int] {
            var out: [String: Int] = [:]
            for r in rows(try json(["types", trace, "--at", at]), "rows") { out[r["name"] as! String] = int(r["count"]) }
            return out
        }
        let start = try live("start"), nodes = try live("after-nodes"), leaves = try live("after-leaves")
        #expect(start["samples.Node"] == nil && start["samples.Leaf"] == nil)
        #expect(nodes["samples.Node"] == 100 && nodes["samples.Leaf"] == nil)
        #expect(leaves["samples.Node"] == 70 && leaves["samples.Leaf"] == 50)
        #expect(try live("#3") == leaves)

        let g = try json(["growth", trace, "--from", "after-nodes", "--to", "after-leaves"])
        let byName = Dictionary(uniqueKeysWithValues: rows(g, "rows").map { ($0["name"] as! String, $0) })
        #expect(int(byName["samples.Leaf"]?["count_change"]) == 50)
        #expect(int(byName["samples.Leaf"]?["count_before"]) == 0)
        #expect(byName["samples.Leaf"]?["status"] as? String == "new")
        #expect(int(byName["samples.Node"]?["count_change"]) == -30)
        #expect(byName["samples.Node"]?["status"] as? String == "smaller")

        let m = try json(["marks", trace])
        #expect(rows(m, "marks").map { $0["label"] as! String } == ["start", "after-nodes", "after-leaves"])

        let unknown = try Toolbox.run(Toolbox.alloctrace, ["types", trace, "--at", "no-such-mark"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr == "alloctrace: error: no mark \"no-such-mark\" in the trace; its marks are: \"start\", \"after-nodes\", \"after-leaves\"\n")
    }

    @Test func typesNameCxxObjectsByTheirDynamicType() throws {
        let dir = try Toolbox.scratch("cxx-types")
        let (r, trace) = try Toolbox.record(Toolbox.bin("sample-cxx"), in: dir)
        #expect(r.status == 0)
        // 3 Circles and 2 Squares (16 bytes each) live at "shapes", known by their vtables
        let t = try json(["types", trace, "--at", "shapes"])
        var live: [String: (Int, Int)] = [:]
        for row in rows(t, "rows") { live[row["name"] as! String] = (int(row["count"]), int(row["bytes"])) }
        #expect(live["(anonymous namespace)::Circle"]?.0 == 3 && live["(anonymous namespace)::Circle"]?.1 == 48)
        #expect(live["(anonymous namespace)::Square"]?.0 == 2 && live["(anonymous namespace)::Square"]?.1 == 32)
        // frames of functions in the anonymous namespace keep it (issue 14: `::thrower`)
        let top = try Toolbox.run(Toolbox.alloctrace, ["top", trace]).out
        #expect(top.contains("      (anonymous namespace)::thrower at samples/c/cxx/main.cpp:"), "\(top)")
        #expect(!top.contains(" ::thrower"))
    }

    @Test func growthSitesNameWhereSurvivorsWereAllocated() throws {
        let dir = try Toolbox.scratch("growth")
        let (_, trace) = try Toolbox.record(Toolbox.bin("samples"), ["marks"], in: dir)
        let g = try json(["growth", trace, "--from", "after-nodes", "--to", "after-leaves", "--sites"])
        let leafSite = rows(g, "survivors").first { ($0["location"] as? String)?.hasPrefix("samples.Leaf.__allocating_init") == true }
        #expect(int(leafSite?["count"]) == 50)
        #expect((leafSite?["stack"] as? [String])?.contains { $0.hasPrefix("samples.makeLeaf(_:) at ") } == true)
    }

    @Test func diffOfTwoRunsShowsPerTypeDifferences() throws {
        let dir = try Toolbox.scratch("diff")
        let (_, small) = try Toolbox.record(Toolbox.bin("samples"), ["objects", "1000", "10"], in: dir + "/a")
        let (_, large) = try Toolbox.record(Toolbox.bin("samples"), ["objects", "2000", "30"], in: dir + "/b")
        let d = try json(["diff", small, large])
        let byName = Dictionary(uniqueKeysWithValues: rows(d, "by_type").map { ($0["name"] as! String, $0) })
        #expect(int(byName["samples.Node"]?["count_before"]) == 500)
        #expect(int(byName["samples.Node"]?["count_after"]) == 1000)
        #expect(int(byName["samples.Node"]?["count_change"]) == 500)
        #expect(int(byName["samples.Leaf"]?["count_change"]) == 20)
        #expect(byName["samples.Node"]?["status"] as? String == "larger")
        // moments of one trace: all Nodes exist at "created", half at "end"
        let one = try json(["diff", small, "--from", "created", "--to", "end"])
        let nodes = rows(one, "by_type").first { $0["name"] as? String == "samples.Node" }
        #expect(int(nodes?["count_before"]) == 1000 && int(nodes?["count_after"]) == 500)
    }

    /// The line tagged in samples/swift/Cache.swift.
    func line(tagged tag: String) throws -> Int {
        let source = try String(contentsOfFile: Toolbox.sourceRoot + "/samples/swift/Cache.swift", encoding: .utf8)
        let lines = source.components(separatedBy: "\n")
        return try #require(lines.firstIndex { $0.contains("alloctrace-sample: \(tag)") && !$0.hasPrefix("//") }) + 1
    }

    @Test func topNamesSwiftFunctionsWithFileAndLine() throws {
        let dir = try Toolbox.scratch("top")
        let (_, trace) = try Toolbox.record(Toolbox.bin("samples"), ["cache", "1000"], in: dir)
        let t = try json(["top", trace, "--by", "allocations", "--limit", "1"])
        let first = try #require(rows(t, "rows").first)
        #expect(int(first["allocations"]) == 1000)
        #expect(int(first["bytes"]) == 32000)
        #expect(first["function"] as? String == "samples.Entry.__allocating_init(key:value:)")
        let stack = first["stack"] as? [String] ?? []
        let entryLine = try line(tagged: "entry-alloc")
        #expect(stack.contains { $0.hasPrefix("samples.Cache.insert(_:) at ") && $0.hasSuffix("samples/swift/Cache.swift:\(entryLine)") })
        #expect(!stack.contains { $0.contains("$s") })
        let byFunction = try json(["top", trace, "--by", "leaked", "--group", "function", "--limit", "3"])
        #expect(rows(byFunction, "rows").contains { $0["function"] as? String == "samples.Entry.__allocating_init(key:value:)" && int($0["leaked_bytes"]) == 32000 })
    }

    @Test func linesPutsTheBytesOnTheRightLine() throws {
        let dir = try Toolbox.scratch("lines")
        let (_, trace) = try Toolbox.record(Toolbox.bin("samples"), ["cache", "1000"], in: dir)
        let source = Toolbox.sourceRoot + "/samples/swift/Cache.swift"
        let l = try json(["lines", trace, source])
        let all = rows(l, "lines")
        let entryLine = try line(tagged: "entry-alloc")
        let entry = try #require(all.first { int($0["line"]) == entryLine })
        #expect(int(entry["allocations"]) == 1000)
        #expect(int(entry["bytes"]) == 32000)
        #expect(int(entry["leaked_bytes"]) == 32000)
        // the global peak is the last dictionary growth: entry 769 exists, and inserting it makes
        // the new storage while the old one is still alive
        #expect(int(entry["peak_bytes"]) == 769 * 32)
        let store = try #require(all.first { int($0["line"]) == (try? line(tagged: "dictionary-store")) })
        #expect(int(store["allocations"]) >= 11)
        // comment lines and the closing brace allocate nothing
        #expect(int(all.first { int($0["line"]) == 1 }?["allocations"]) == 0)
        #expect(all.count == (try String(contentsOfFile: source, encoding: .utf8)).split(separator: "\n", omittingEmptySubsequences: false).count - 1)
    }
}
