import Foundation
import Testing

/// Python objects by their Python type in heap-graph snapshots (objgraph's most common types,
/// show_growth, backref chains, cycles), on real recordings of samples/python/objects.py: 20,000
/// `MyBigFatObject` instances in a module-level list, half of them dropped, then a two-`Node`
/// cycle made unreachable while `gc` is disabled; a dict entry and a tuple hold lists.
@Suite struct PythonObjectsTests {
    static let script = Toolbox.sourceRoot + "/samples/python/objects.py"

    func check(_ python: String) throws {
        let dir = try Toolbox.scratch("python-objects")
        let (r, trace) = try Toolbox.record(python, [PythonObjectsTests.script], in: dir)
        #expect(r.status == 0 && r.out == "10000\n")

        // JSON carries module-qualified names (objgraph's shortnames=False)
        func counts(_ moment: String) throws -> [String: Int] {
            let types = try Toolbox.json(["types", trace, "--at", moment])
            return Dictionary(Toolbox.rows(types, "rows").map { ($0["name"] as? String ?? "", Toolbox.int($0["count"])) },
                              uniquingKeysWith: +)
        }
        #expect(try counts("filled")["__main__.MyBigFatObject"] == 20_000)
        #expect(try counts("halved")["__main__.MyBigFatObject"] == 10_000)
        // the exit snapshot is taken when the interpreter starts to shut down, modules intact
        let end = try counts("end")
        #expect(end["__main__.MyBigFatObject"] == 10_000)
        #expect(end["__main__.Node"] == 2)
        #expect((end["builtins.list (items)"] ?? 0) >= 10_000)
        // text: short names, or qualified ones with --full-names
        let short = try Toolbox.run(Toolbox.alloctrace, ["types", trace, "--at", "filled"]).out
        #expect(short.split(separator: "\n").contains { $0.hasSuffix("  MyBigFatObject") && $0.hasPrefix("20,000 ") })
        let full = try Toolbox.run(Toolbox.alloctrace, ["types", trace, "--at", "filled", "--full-names"]).out
        #expect(full.split(separator: "\n").contains { $0.hasSuffix("  __main__.MyBigFatObject") && $0.hasPrefix("20,000 ") })

        let growth = try Toolbox.json(["growth", trace, "--from", "filled", "--to", "halved"])
        let row = Toolbox.rows(growth, "rows").first { $0["name"] as? String == "__main__.MyBigFatObject" }
        #expect(Toolbox.int(row?["count_before"]) == 20_000 && Toolbox.int(row?["count_after"]) == 10_000)
        #expect(Toolbox.int(row?["count_change"]) == -10_000)

        // every object's chain: from __main__'s global `registry` through the list's items, by index
        let chains = try Toolbox.json(["chains", trace, "--type", "MyBigFatObject", "--limit", "10000"])
        #expect(Toolbox.int(chains["matched"]) == 10_000 && Toolbox.int(chains["reachable"]) == 10_000)
        var indexes = Set<String>()
        var exact = 0
        for object in Toolbox.rows(chains, "objects") {
            let hops = (object["hops"] as? [[String: Any]]) ?? []
            let shape = hops.map { [$0["holder_kind"], $0["holder"], $0["field"], $0["target"]].map { $0 as? String ?? "" } }
            guard shape.count == 3 else { continue }
            if shape[0] == ["module", "__main__ .registry", "", "builtins.list"]
                && shape[1] == ["object", "builtins.list", "ob_item", "builtins.list (items)"]
                && shape[2][0] == "object" && shape[2][1] == "builtins.list (items)" && shape[2][3] == "__main__.MyBigFatObject" {
                exact += 1
                indexes.insert(shape[2][2])
            }
        }
        // About 1 full-suite run in 30 (never reproduced alone), a stale word the conservative scan
        // takes for a reference gives an object a chain from a thread's stack or registers instead.
        // Only that case is a known issue: any other shape fails (closing note, session 5).
        let strays = Toolbox.rows(chains, "objects").compactMap { object -> String? in
            let hops = (object["hops"] as? [[String: Any]]) ?? []
            guard hops.first?["holder_kind"] as? String != "module" else { return nil }
            return hops.first?["holder_kind"] as? String ?? "(no chain)"
        }
        #expect(strays.allSatisfy { Self.conservativeRoots.contains($0) }, "chains from \(strays)")
        #expect(exact + strays.count == 10_000)
        if strays.isEmpty {
            #expect(indexes == Set((0..<10_000).map { "[\($0)]" }))
        } else {
            withKnownIssue("a stale stack or register word gave \(strays.count) object(s) another chain") {
                Issue.record("chains from \(strays)")
            }
        }
        let text = try Toolbox.run(Toolbox.alloctrace, ["chains", trace, "--type", "MyBigFatObject", "--limit", "1"]).out
        let lines = text.split(separator: "\n").map(String.init)
        let first = try #require(lines.firstIndex { $0.hasPrefix("MyBigFatObject 0x") })
        #expect(lines.count >= first + 5)
        #expect(lines[first + 1] == "  module __main__ .registry")
        #expect(lines[first + 2].hasPrefix("  -> list 0x") && lines[first + 2].contains(" .ob_item   ["))
        #expect(lines[first + 3].range(of: #"^  -> list \(items\) 0x[0-9a-f]+ \[[0-9]+\]   \["#, options: .regularExpression) != nil)
        #expect(lines[first + 4].hasPrefix("  -> MyBigFatObject 0x"))

        // lists by the names that hold them: an attribute (`tags`), a dict entry, a tuple item
        let lists = try Toolbox.json(["chains", trace, "--type", "list", "--limit", "100000"])
        func last(_ object: [String: Any]) -> [String] {
            let hop = ((object["hops"] as? [[String: Any]]) ?? []).last ?? [:]
            return [hop["holder"], hop["field"]].map { $0 as? String ?? "" }
        }
        // (a few tags lists were a list free list's objects, allocated elsewhere: held, not made, here)
        let tags = Toolbox.rows(lists, "objects").filter { last($0)[1] == "tags" }
        #expect(tags.count == 10_000)
        // 3.11 and 3.12 keep the attribute values in a block of their own, 3.13 inside the object
        #expect(tags.allSatisfy { ["__main__.MyBigFatObject (values)", "__main__.MyBigFatObject"].contains(last($0)[0]) })
        let all = Toolbox.rows(lists, "objects").map { object in
            ((object["hops"] as? [[String: Any]]) ?? []).map { [$0["holder"], $0["field"]].map { $0 as? String ?? "" } }
        }
        #expect(all.contains { $0 == [["__main__ .catalog", ""], ["builtins.dict", "ma_keys"], ["builtins.dict (keys)", "['colors']"]] })
        #expect(all.contains { $0 == [["__main__ .pair", ""], ["builtins.tuple", "[1]"]] })

        // over time: the timeline's stacked types and the report's type tables speak Python too
        let svg = try Toolbox.run(Toolbox.alloctrace, ["timeline", trace, "--types", "5"]).out
        #expect(svg.contains(">MyBigFatObject<"))
        let html = dir + "/report.html"
        #expect(try Toolbox.run(Toolbox.alloctrace, ["report", trace, "-o", html]).status == 0)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.range(of: #"<td class="n">20,000</td><td class="n">[^<]*</td><td>MyBigFatObject</td>"#, options: .regularExpression) != nil)

        // the cycle no root reaches (gc disabled): two Nodes holding each other by `other`. As for
        // the chains above, a stale stack or register word can keep it reachable (about 1 full-suite
        // run in 30): only then is its absence a known issue, and the Nodes' chains must say so.
        let nodes = try Toolbox.json(["chains", trace, "--type", "Node"])
        let nodeRoots = Toolbox.rows(nodes, "objects").compactMap { ($0["hops"] as? [[String: Any]])?.first?["holder_kind"] as? String }
        if nodeRoots.isEmpty {
            try checkCycle(trace)
        } else {
            #expect(nodeRoots.allSatisfy { Self.conservativeRoots.contains($0) }, "Nodes held from \(nodeRoots)")
            withKnownIssue("a stale stack or register word kept the Node cycle reachable") {
                Issue.record("Nodes held from \(nodeRoots)")
            }
        }
    }

    /// Roots the conservative scan reads (a stale word there can pass for a reference).
    static let conservativeRoots: Set<String> = ["stack", "register"]

    /// The leaked two-Node cycle, in `cycles` and in `leaks`.
    func checkCycle(_ trace: String) throws {
        let cycles = try Toolbox.json(["cycles", trace])
        #expect(Toolbox.int(cycles["total_cycles"]) == 1)
        let cycle = Toolbox.rows(cycles, "cycles").first
        #expect(cycle?["members"] as? [String] == ["__main__.Node", "__main__.Node"])
        #expect(cycle?["fields"] as? [String] == ["__main__.Node.other", "__main__.Node.other"])
        let cyclesText = try Toolbox.run(Toolbox.alloctrace, ["cycles", trace]).out
        #expect(cyclesText.contains("  Node.other -> Node.other\n"))
        let cyclesFull = try Toolbox.run(Toolbox.alloctrace, ["cycles", trace, "--full-names"]).out
        #expect(cyclesFull.contains("  __main__.Node.other -> __main__.Node.other\n"))
        // leaks: the cycle is a ROOT CYCLE of its two Nodes (free-list objects are no leaks)
        let leaks = try Toolbox.json(["leaks", trace])
        let cycleRoot = Toolbox.rows(leaks, "roots").first { $0["kind"] as? String == "cycle" }
        #expect(cycleRoot?["members"] as? [String] == ["__main__.Node", "__main__.Node"])
        #expect(cycleRoot?["fields"] as? [String] == ["__main__.Node.other", "__main__.Node.other"])
        #expect(!Toolbox.rows(leaks, "by_type").contains { ($0["name"] as? String)?.hasSuffix("(free list)") == true })
    }

    @Test func objectsOnDebiansPython3() throws {
        try #require(Interpreters.has(Interpreters.debian), "Debian's python3 is missing: apt-get install python3")
        try check(Interpreters.debian)
    }

    @Test(.enabled(if: Interpreters.has(Interpreters.pyenv("3.12.1")), "pyenv's CPython 3.12.1 is not installed"))
    func objectsOnPython312() throws { try check(Interpreters.pyenv("3.12.1")) }

    @Test(.enabled(if: Interpreters.has(Interpreters.pyenv("3.13.0")), "pyenv's CPython 3.13.0 is not installed"))
    func objectsOnPython313() throws { try check(Interpreters.pyenv("3.13.0")) }
}
