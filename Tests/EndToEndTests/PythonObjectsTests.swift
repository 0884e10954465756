import Foundation
import Testing

/// Python objects by their Python type in heap-graph snapshots (objgraph's most common types,
/// show_growth, backref chains, cycles), on real recordings of samples/python/objects.py: 20,000
/// `MyBigFatObject` instances in a module-level list, half of them dropped, then a two-`Node`
/// cycle made unreachable while `gc` is disabled.
@Suite struct PythonObjectsTests {
    static let script = Toolbox.sourceRoot + "/samples/python/objects.py"

    func check(_ python: String) throws {
        let dir = try Toolbox.scratch("python-objects")
        let (r, trace) = try Toolbox.record(python, [PythonObjectsTests.script], in: dir)
        #expect(r.status == 0 && r.out == "10000\n")

        func counts(_ moment: String) throws -> [String: Int] {
            let types = try Toolbox.json(["types", trace, "--at", moment])
            return Dictionary(Toolbox.rows(types, "rows").map { ($0["name"] as? String ?? "", Toolbox.int($0["count"])) },
                              uniquingKeysWith: +)
        }
        #expect(try counts("filled")["MyBigFatObject"] == 20_000)
        #expect(try counts("halved")["MyBigFatObject"] == 10_000)
        // the exit snapshot is taken when the interpreter starts to shut down, modules intact
        let end = try counts("end")
        #expect(end["MyBigFatObject"] == 10_000)
        #expect(end["Node"] == 2)
        #expect((end["list (items)"] ?? 0) >= 10_000)

        let growth = try Toolbox.json(["growth", trace, "--from", "filled", "--to", "halved"])
        let row = Toolbox.rows(growth, "rows").first { $0["name"] as? String == "MyBigFatObject" }
        #expect(Toolbox.int(row?["count_before"]) == 20_000 && Toolbox.int(row?["count_after"]) == 10_000)
        #expect(Toolbox.int(row?["count_change"]) == -10_000)

        // from the module's globals (a dict) through the list that holds it, by index: for most
        // objects (a few are also held by a stale word the scan cannot tell from a reference, in
        // an interpreter cache or a dead frame, and show that shorter chain)
        let chains = try Toolbox.json(["chains", trace, "--type", "MyBigFatObject", "--limit", "20"])
        #expect(Toolbox.int(chains["matched"]) == 10_000 && Toolbox.int(chains["reachable"]) == 10_000)
        let viaRegistry = Toolbox.rows(chains, "objects").filter { object in
            let hops = (object["hops"] as? [[String: Any]]) ?? []
            let targets = hops.map { $0["target"] as? String ?? "" }
            return Array(targets.suffix(5)) == ["dict", "dict (keys)", "list", "list (items)", "MyBigFatObject"]
                && (hops.last?["field"] as? String)?.hasPrefix("[") == true
                && hops.dropLast().last?["field"] as? String == "ob_item"
        }
        #expect(viaRegistry.count >= 10, "chains: \(chains)")

        // the cycle no root reaches (gc disabled): two Nodes holding each other
        let cycles = try Toolbox.json(["cycles", trace])
        #expect(Toolbox.int(cycles["total_cycles"]) == 1)
        let members = (Toolbox.rows(cycles, "cycles").first?["members"] as? [String]) ?? []
        #expect(members.filter { $0 == "Node" }.count == 2)
        // leaks: the cycle is a ROOT CYCLE of its two Nodes (free-list objects are no leaks)
        let leaks = try Toolbox.json(["leaks", trace])
        let cycleRoot = Toolbox.rows(leaks, "roots").first { $0["kind"] as? String == "cycle" }
        #expect((cycleRoot?["members"] as? [String])?.filter { $0 == "Node" }.count == 2)
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
