import Foundation
import Testing

/// chains, leaks, cycles and retained on heap-graph snapshots of real recordings of the samples
/// (samples/README.md: `samples graph`, `sample-graph`, `sample-graph threads`).
@Suite struct HeapGraphTests {
    func json(_ args: [String]) throws -> [String: Any] { try Toolbox.json(args) }
    func rows(_ object: [String: Any]?, _ key: String) -> [[String: Any]] { Toolbox.rows(object, key) }
    func int(_ v: Any?) -> Int { Toolbox.int(v) }
    func str(_ v: Any?) -> String { (v as? String) ?? "" }

    static let cycles = 10

    /// `samples graph 10`, recorded once per test.
    func swiftTrace(_ name: String) throws -> String {
        let (r, trace) = try Toolbox.record(Toolbox.bin("samples"), ["graph", "\(Self.cycles)"], in: try Toolbox.scratch(name))
        try #require(r.status == 0, "samples graph: \(r.stderr)")
        #expect(r.out == "graph: cycles=10 peers=20 list_nodes=1000 list_sum=499500 holders=3 target_id=7 owner_child=1\n")
        return trace
    }

    // (1) N retain cycles of two Peers: found as N cycles closed by Peer.other; leaks reports
    // exactly their 2N members of the sample's classes.
    @Test func cyclesAndLeaksOfTheSwiftSample() throws {
        let trace = try swiftTrace("graph-cycles")
        for at in ["graph", "end"] {
            let c = try json(["cycles", trace, "--at", at])
            #expect(int(c["total_cycles"]) == Self.cycles)
            #expect(int(c["cycle_blocks"]) == 2 * Self.cycles)
            #expect(int(c["cycle_bytes"]) == 48 * Self.cycles)
            let kinds = rows(c, "cycles")
            #expect(kinds.count == 1)
            let peer = try #require(kinds.first)
            #expect(int(peer["count"]) == Self.cycles)
            #expect(peer["members"] as? [String] == ["samples.Peer", "samples.Peer"])
            #expect(peer["fields"] as? [String] == ["samples.Peer.other", "samples.Peer.other"])
            #expect(int(peer["blocks"]) == 2 && int(peer["bytes"]) == 48 && int(peer["total_bytes"]) == 480)
            #expect(peer["root"] as? Bool == true)

            let l = try json(["leaks", trace, "--at", at])
            let own = rows(l, "by_type").filter { str($0["name"]).hasPrefix("samples.") }
            #expect(own.map { str($0["name"]) } == ["samples.Peer"])
            #expect(int(own.first?["count"]) == 2 * Self.cycles)
            #expect(int(own.first?["bytes"]) == 24 * 2 * Self.cycles)
            let roots = rows(l, "roots").filter { ($0["members"] as? [String])?.contains("samples.Peer") == true }
            #expect(roots.count == 1)
            #expect(str(roots.first?["kind"]) == "cycle")
            #expect(int(roots.first?["count"]) == Self.cycles)
            #expect(roots.first?["members"] as? [String] == ["samples.Peer", "samples.Peer"])
            #expect(roots.first?["fields"] as? [String] == ["samples.Peer.other", "samples.Peer.other"])
            // every other leaked block is one the Peers hold (the weak reference's side table)
            #expect(int(l["leaked_blocks"]) == rows(l, "roots").reduce(0) { $0 + int($1["blocks"]) })
            #expect(int(roots.first?["held_blocks"]) == 1)
        }
    }

    // (2) The Target is held by a global through a dictionary and an array: the chain names the
    // global and the properties.
    @Test func chainThroughADictionaryAndAnArray() throws {
        let trace = try swiftTrace("graph-chains")
        let c = try json(["chains", trace, "--at", "graph", "--type", "samples.Target"])
        #expect(int(c["matched"]) == 1 && int(c["reachable"]) == 1 && int(c["unreachable"]) == 0)
        let object = try #require(rows(c, "objects").first)
        #expect(str(object["type"]) == "samples.Target" && int(object["size"]) == 24)
        #expect(object["reachable"] as? Bool == true)
        let hops = rows(object, "hops")
        try #require(hops.count == 4, "\(hops)")
        #expect(str(hops[0]["holder"]) == "samples.graphTable")
        #expect(str(hops[0]["holder_kind"]) == "global")
        #expect(str(hops[0]["holder_module"]) == "samples")
        #expect(str(hops[0]["target"]) == "Swift._DictionaryStorage<Swift.Int, samples.Holder>")
        #expect(str(hops[1]["holder"]) == "Swift._DictionaryStorage<Swift.Int, samples.Holder>")
        #expect(str(hops[1]["holder_kind"]) == "object")
        #expect(str(hops[1]["field"]).hasPrefix("+0x"))
        #expect(str(hops[1]["target"]) == "samples.Holder")
        #expect(str(hops[2]["holder"]) == "samples.Holder")
        #expect(str(hops[2]["field"]) == "items")
        #expect(str(hops[2]["ownership"]) == "strong")
        #expect(str(hops[2]["holder_site"]).hasPrefix("samples.Holder.__allocating_init()"))
        // the array storage's generic argument depends on the build (samples/README.md)
        #expect(str(hops[2]["target"]).hasPrefix("Swift._ContiguousArrayStorage<"))
        #expect(str(hops[3]["holder"]) == str(hops[2]["target"]))
        #expect(str(hops[3]["field"]) == "+0x20")     // the first element, after the 32-byte header
        #expect(str(hops[3]["target"]) == "samples.Target")
        #expect(str(hops[3]["target_address"]) == str(object["address"]))

        // the same by site and by address
        let bySite = try json(["chains", trace, "--at", "graph", "--site", "samples.Target.__allocating_init"])
        #expect(int(bySite["matched"]) == 1)
        let address = str(object["address"])
        let byAddress = try json(["chains", trace, "--at", "graph", "--address", address])
        #expect(str(rows(byAddress, "objects").first?["address"]) == address)
        #expect(rows(rows(byAddress, "objects").first, "hops").count == 4)

        // text and DOT
        let dot = try Toolbox.scratch("graph-dot") + "/chains.dot"
        let text = try Toolbox.run(Toolbox.alloctrace, ["chains", trace, "--at", "graph", "--type", "Target", "--dot", dot])
        #expect(text.status == 0)
        #expect(text.out.contains("global samples.graphTable (samples)\n"))
        #expect(text.out.contains("-> samples.Holder 0x"))
        #expect(text.out.contains(" .items "))
        let drawing = try String(contentsOfFile: dot, encoding: .utf8)
        #expect(drawing.hasPrefix("digraph heap {"))
        #expect(drawing.contains("label=\"global samples.graphTable\""))
        #expect(drawing.contains("[label=\"items\"]"))
        #expect(drawing.hasSuffix("}\n"))
    }

    // (3) A weak reference keeps nothing reachable; an unowned one is shown as unowned.
    @Test func weakAndUnownedReferences() throws {
        let trace = try swiftTrace("graph-weak")
        let peers = try json(["chains", trace, "--at", "graph", "--type", "samples.Peer", "--limit", "100"])
        #expect(int(peers["matched"]) == 2 * Self.cycles)
        #expect(int(peers["reachable"]) == 0 && int(peers["unreachable"]) == 2 * Self.cycles)
        let objects = rows(peers, "objects")
        #expect(objects.allSatisfy { $0["leaked"] as? Bool == true && rows($0, "hops").isEmpty })
        // the watched Peer: its partner holds it strongly, the Observer weakly (through the side table)
        let watched = objects.filter { rows($0, "referrers").contains { str($0["ownership"]) == "weak" } }
        try #require(watched.count == 1)
        let weak = try #require(rows(watched[0], "referrers").first { str($0["ownership"]) == "weak" })
        #expect(str(weak["holder"]) == "samples.Observer" && str(weak["field"]) == "watched")
        #expect(str(weak["via"]).hasPrefix("0x"))
        #expect(rows(watched[0], "referrers").contains { str($0["holder"]) == "samples.Peer" && str($0["field"]) == "other" && str($0["ownership"]) == "strong" })

        let owner = try json(["chains", trace, "--at", "graph", "--type", "samples.Owner"])
        let o = try #require(rows(owner, "objects").first)
        let hops = rows(o, "hops")
        #expect(hops.count == 1)
        #expect(str(hops.first?["holder"]) == "samples.graphOwner")
        let unowned = rows(o, "referrers").filter { str($0["ownership"]) == "unowned" }
        #expect(unowned.count == 1)
        #expect(str(unowned.first?["holder"]) == "samples.Child" && str(unowned.first?["field"]) == "owner")
        // Owner -> Child -> (unowned) Owner is no cycle, and nothing of it leaks
        let child = try json(["chains", trace, "--at", "graph", "--type", "samples.Child"])
        let ch = rows(rows(child, "objects").first, "hops")
        #expect(ch.count == 2 && str(ch.last?["holder"]) == "samples.Owner" && str(ch.last?["field"]) == "child")
        let text = try Toolbox.run(Toolbox.alloctrace, ["chains", trace, "--at", "graph", "--type", "samples.Owner"])
        #expect(text.out.contains("also referred to by: samples.Child.owner (unowned)"))
    }

    // (5) The list head retains the whole list: 1000 nodes of 32 bytes.
    @Test func retainedSizeOfTheList() throws {
        let trace = try swiftTrace("graph-retained")
        let r = try json(["retained", trace, "--at", "graph", "--limit", "5"])
        let first = try #require(rows(r, "objects").first)
        #expect(str(first["type"]) == "samples.ListNode")
        #expect(int(first["retained_bytes"]) == 32_000 && int(first["retained_blocks"]) == 1000)
        #expect(int(first["size"]) == 32)
        // the list is one row, its head: not its next nodes, each retaining one block less (issue 14)
        #expect(rows(r, "objects").filter { str($0["type"]) == "samples.ListNode" }.count == 1)
        let list = rows(r, "types").first { str($0["name"]) == "samples.ListNode" }
        #expect(int(list?["count"]) == 1000 && int(list?["retained_bytes"]) == 32_000)
        let head = rows(r, "roots").first { str($0["name"]) == "samples.graphHead" }
        #expect(str(head?["kind"]) == "global")
        #expect(int(head?["retained_bytes"]) == 32_000 && int(head?["retained_blocks"]) == 1000)
        let leaked = rows(r, "roots").first { str($0["kind"]) == "leaked" }
        #expect(int(leaked?["retained_blocks"]) == 2 * Self.cycles + 1)
    }

    // (4) C: a block reachable only through another block that a global points to (two hops); a
    // block whose only pointer was overwritten is leaked.
    @Test func cSampleChainsAndLeaks() throws {
        let (r, trace) = try Toolbox.record(Toolbox.bin("sample-graph"), in: try Toolbox.scratch("graph-c"))
        #expect(r.status == 0 && r.out == "graph: a=32 b=48 leaked=88 held=80\n")
        let ownSites: Set<String> = ["make_a", "make_b", "make_c", "make_d", "make_e"]
        // main_arena.top points 16 bytes into E, the last block carved from the top chunk: the
        // allocator's pointer, which keeps nothing
        let raw = try Toolbox.run(Toolbox.alloctrace, ["dump", "--raw", trace]).out
        let e = try json(["chains", trace, "--at", "graph", "--site", "make_e"])
        let dropped = try #require(rows(e, "objects").first { $0["leaked"] as? Bool == true })
        let address = try #require(UInt64(str(dropped["address"]).dropFirst(2), radix: 16))
        #expect(raw.contains(" value=0x" + String(address + 16, radix: 16) + "\n"))
        #expect(int(e["matched"]) == 2 && int(e["reachable"]) == 1)
        for at in ["graph", "end"] {
            let c = try json(["chains", trace, "--at", at, "--site", "make_b"])
            let b = try #require(rows(c, "objects").first)
            #expect(str(b["type"]) == "malloc@make_b" && int(b["size"]) == 48)
            let hops = rows(b, "hops")
            try #require(hops.count == 2, "\(hops)")
            #expect(str(hops[0]["holder"]) == "graph_root" && str(hops[0]["holder_kind"]) == "global")
            #expect(str(hops[0]["holder_module"]) == "sample-graph")
            #expect(str(hops[0]["target"]) == "malloc@make_a")
            #expect(str(hops[1]["holder"]) == "malloc@make_a" && str(hops[1]["field"]) == "+0x8")
            #expect(str(hops[1]["ownership"]) == "plain")
            #expect(str(hops[1]["target"]) == "malloc@make_b")

            let l = try json(["leaks", trace, "--at", at])
            let own = rows(l, "by_site").filter { ownSites.contains(str($0["function"])) }
            #expect(own.map { str($0["function"]) } == ["make_c", "make_e"])
            #expect(own.map { int($0["count"]) } == [1, 1] && own.map { int($0["bytes"]) } == [64, 24])
            let roots = rows(l, "roots").filter { ($0["members"] as? [String])?.contains { $0.hasPrefix("malloc@make_") } == true }
            #expect(roots.map { $0["members"] as? [String] ?? [] } == [["malloc@make_c"], ["malloc@make_e"]])
            #expect(roots.allSatisfy { str($0["kind"]) == "leak" && int($0["count"]) == 1 && int($0["held_blocks"]) == 0 })

            let leaked = try json(["chains", trace, "--at", at, "--site", "make_c"])
            #expect(int(leaked["unreachable"]) == 1 && rows(leaked, "objects").first?["leaked"] as? Bool == true)

            let ret = try json(["retained", trace, "--at", at])
            let a = rows(ret, "objects").first { str($0["type"]) == "malloc@make_a" }
            #expect(int(a?["retained_bytes"]) == 80 && int(a?["retained_blocks"]) == 2)
            let slot = rows(ret, "roots").first { str($0["name"]) == "graph_slot" }
            #expect(int(slot?["retained_bytes"]) == 80)
        }
    }

    // (6) Marks while other threads allocate: every snapshot reads; the block only the holder
    // thread's stack holds is reachable from that stack at every mark.
    @Test func threadsMarkedWhileAllocating() throws {
        let rounds = 20
        let (r, trace) = try Toolbox.record(Toolbox.bin("sample-graph"), ["threads", "\(rounds)"], in: try Toolbox.scratch("graph-threads"))
        #expect(r.status == 0 && r.out == "graph threads: rounds=\(rounds) workers=4 held=96\n")
        let dump = try Toolbox.run(Toolbox.alloctrace, ["dump", trace])
        #expect(dump.status == 0 && dump.out.hasSuffix("complete: yes\n"))
        let begins = dump.out.split(separator: "\n").filter { $0.hasPrefix("heap_snapshot begin") }
        #expect(begins.count == rounds + 1)   // the marks and the exit
        #expect(begins.last?.contains("trigger=exit") == true)
        for k in 1...rounds {
            let c = try json(["chains", trace, "--at", "#\(k)", "--site", "hold_on_stack"])
            #expect(int(c["matched"]) == 1, "mark #\(k)")
            let object = rows(c, "objects").first
            #expect(int(object?["size"]) == 96)
            let hops = rows(object, "hops")
            #expect(hops.count == 1, "mark #\(k)")
            #expect(str(hops.first?["holder_kind"]) == "stack", "mark #\(k)")
            let holder = str(hops.first?["holder"])
            #expect(holder.hasSuffix("\"graph-holder\""), "mark #\(k)")
            if k % 5 == 0 {
                let l = try json(["leaks", trace, "--at", "#\(k)"])
                let workers = rows(l, "by_site").filter { str($0["function"]) == "worker_alloc" }
                // a worker between malloc's return and its store holds one block in a register
                #expect(workers.reduce(0) { $0 + int($1["count"]) } <= 4, "mark #\(k)")
                #expect(!rows(l, "by_site").contains { str($0["function"]) == "hold_on_stack" })
            }
        }
        // at exit everything of the sample is freed
        let end = try json(["chains", trace, "--site", "hold_on_stack"])
        #expect(int(end["matched"]) == 0)
    }

    @Test func clearErrorsWithoutASnapshot() throws {
        let dir = try Toolbox.scratch("graph-errors")
        let trace = dir + "/off.atrace"
        var environment = ProcessInfo.processInfo.environment
        environment["ALLOCTRACE_HEAP_GRAPH"] = "off"
        let rec = try Toolbox.run(Toolbox.alloctrace, ["record", "-q", "-o", trace, "--", Toolbox.bin("sample-graph")], environment: environment)
        #expect(rec.status == 0)
        for command in ["chains", "leaks", "cycles", "retained"] {
            let args = command == "chains" ? [command, trace, "--type", "x"] : [command, trace]
            let r = try Toolbox.run(Toolbox.alloctrace, args)
            #expect(r.status == 1)
            #expect(r.stderr == "alloctrace: error: the trace has no heap-graph snapshot; record with ALLOCTRACE_HEAP_GRAPH=marks,exit (the default)\n")
        }
        environment["ALLOCTRACE_HEAP_GRAPH"] = "exit"
        let exitOnly = dir + "/exit.atrace"
        _ = try Toolbox.run(Toolbox.alloctrace, ["record", "-q", "-o", exitOnly, "--", Toolbox.bin("sample-graph")], environment: environment)
        let atMark = try Toolbox.run(Toolbox.alloctrace, ["leaks", exitOnly, "--at", "graph"])
        #expect(atMark.status == 1)
        #expect(atMark.stderr == "alloctrace: error: no heap-graph snapshot at mark \"graph\"; only the exit has one (--at end)\n")
        #expect(int(try json(["leaks", exitOnly])["leaked_bytes"]) == 64 + 24)
        let unknown = try Toolbox.run(Toolbox.alloctrace, ["cycles", exitOnly, "--at", "nope"])
        #expect(unknown.stderr == "alloctrace: error: no mark \"nope\" in the trace; its marks are: \"graph\"\n")
        let seconds = try Toolbox.run(Toolbox.alloctrace, ["retained", exitOnly, "--at", "0.5"])
        #expect(seconds.stderr == "alloctrace: error: heap-graph snapshots are taken at marks and at exit: --at takes a mark's label, #N or end, not 0.5 s\n")
    }

    @Test func dumpPrintsLayoutsAndSnapshots() throws {
        let trace = try swiftTrace("graph-dump")
        let d = try Toolbox.run(Toolbox.alloctrace, ["dump", trace])
        let lines = d.out.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("type_layout ") && $0.contains("name=\"samples.Peer\" instance_size=24 fields=[other@16]") })
        #expect(lines.contains { $0.hasPrefix("type_layout ") && $0.contains("name=\"samples.Observer\" instance_size=24 fields=[watched@16:weak]") })
        #expect(lines.contains { $0.hasPrefix("type_layout ") && $0.contains("name=\"samples.Child\" instance_size=24 fields=[owner@16:unowned]") })
        #expect(lines.contains { $0.hasPrefix("heap_snapshot begin id=1 trigger=mark thread=1 ") })
        #expect(lines.contains { $0.hasPrefix("heap_snapshot end id=2 ") })
        let raw = try Toolbox.run(Toolbox.alloctrace, ["dump", "--raw", trace])
        #expect(raw.out.contains("\n  region index=0 start=0x"))
        #expect(raw.out.contains("\n  word at=0x"))

        let dot = try Toolbox.scratch("graph-cycles-dot") + "/cycles.dot"
        let c = try Toolbox.run(Toolbox.alloctrace, ["cycles", trace, "--dot", dot])
        #expect(c.out.contains("   10      20  480 B  samples.Peer.other -> samples.Peer.other\n"))
        let drawing = try String(contentsOfFile: dot, encoding: .utf8)
        #expect(drawing.contains("label=\"10 × samples.Peer.other -> samples.Peer.other\""))
        #expect(drawing.components(separatedBy: "[label=\"other\"]").count == 3)
    }

    /// `sample-graph roots`, recorded with `environment` (nil: ours) under `wrapper` (e.g. strace).
    func rootsTrace(_ name: String, environment: [String: String]? = nil, wrapper: [String] = []) throws -> (Toolbox.Result, String) {
        let trace = try Toolbox.scratch(name) + "/trace.atrace"
        let args = ["record", "-q", "-o", trace, "--", Toolbox.bin("sample-graph"), "roots"]
        let r = wrapper.isEmpty ? try Toolbox.run(Toolbox.alloctrace, args, environment: environment)
                                : try Toolbox.run(wrapper[0], Array(wrapper.dropFirst()) + [Toolbox.alloctrace] + args, environment: environment)
        #expect(r.status == 0 && r.out == "graph roots: tls=40 register=112 frame=56\n", "\(r.stderr)")
        return (r, trace)
    }

    func onlyHop(_ trace: String, site: String) throws -> [String: Any] {
        let c = try json(["chains", trace, "--at", "roots", "--site", site])
        #expect(int(c["matched"]) == 1 && int(c["reachable"]) == 1, "\(site)")
        let hops = rows(rows(c, "objects").first, "hops")
        try #require(hops.count == 1, "\(site): \(hops)")
        return hops[0]
    }

    // (7) Roots the stop-the-world finds: a register of a spinning thread, a __thread variable, a
    // local in a named function's frame on another thread.
    @Test func registerTLSAndFrameRoots() throws {
        let (_, trace) = try rootsTrace("graph-roots")
        let dump = try Toolbox.run(Toolbox.alloctrace, ["dump", trace]).out
        #expect(dump.contains("heap_snapshot world stopped=yes threads=3 "))   // the two threads and the writer
        let register = try onlyHop(trace, site: "make_register_block")
        #expect(str(register["holder_kind"]) == "register")
        let holder = str(register["holder"])
        #expect(holder.hasPrefix("r12 of thread ") && holder.hasSuffix(" \"graph-register\""), "\(holder)")
        #expect(str(register["target"]) == "malloc@make_register_block")

        let tls = try onlyHop(trace, site: "make_tls")
        #expect(str(tls["holder_kind"]) == "TLS")
        #expect(str(tls["holder"]) == "TLS of thread 1 \"sample-graph\" (sample-graph: graph_tls)")
        #expect(str(tls["holder_module"]) == "sample-graph")
        // the kind is printed once: `TLS of thread 1`, not `TLS TLS of thread 1` (issue 14)
        let text = try Toolbox.run(Toolbox.alloctrace, ["chains", trace, "--at", "roots", "--site", "make_tls"]).out
        #expect(text.contains("\n  TLS of thread 1 \"sample-graph\" (sample-graph: graph_tls) (sample-graph)\n"), "\(text)")
        #expect(!text.contains("TLS TLS"))

        let frame = try onlyHop(trace, site: "hold_in_frame")
        #expect(str(frame["holder_kind"]) == "stack")
        let name = str(frame["holder"])
        #expect(name.hasPrefix("frame #") && name.contains(" hold_in_frame (samples/c/graph/main.c:") && name.hasSuffix("\"graph-framer\""), "\(name)")
        // thread indexes follow the order of first allocations, which the two threads race for
        #expect(name.range(of: #" in thread [0-9]+ "graph-framer"$"#, options: .regularExpression) != nil, "\(name)")

        // everything is freed before the exit
        #expect(int(try json(["chains", trace, "--site", "make_register_block"])["matched"]) == 0)
    }

    // (8) Without stopping the world the block only a register holds is leaked, and the trace says
    // the threads were not stopped.
    @Test func withoutStopTheWorldTheRegisterBlockLeaks() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["ALLOCTRACE_STOP_THE_WORLD"] = "0"
        let (_, trace) = try rootsTrace("graph-roots-nostop", environment: environment)
        let dump = try Toolbox.run(Toolbox.alloctrace, ["dump", trace]).out
        #expect(dump.contains("heap_snapshot world stopped=no reason=disabled errno=0 threads=0 stop_ns=0\n"))
        #expect(!dump.contains("heap_snapshot registers "))
        let c = try json(["chains", trace, "--at", "roots", "--site", "make_register_block"])
        #expect(int(c["matched"]) == 1 && int(c["unreachable"]) == 1)
        #expect(rows(c, "objects").first?["leaked"] as? Bool == true)
        // TLS is still named: the capturing thread's own
        #expect(str(try onlyHop(trace, site: "make_tls")["holder_kind"]) == "TLS")
    }

    // (9) Under strace -f ptrace is taken: the capture falls back, the program's output and exit
    // status are unchanged, and the trace says so.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/strace")))
    func underStraceTheCaptureFallsBack() throws {
        let (_, trace) = try rootsTrace("graph-roots-strace", wrapper: ["/usr/bin/strace", "-f", "-o", "/dev/null"])
        let worlds = try Toolbox.run(Toolbox.alloctrace, ["dump", trace]).out.split(separator: "\n").filter { $0.hasPrefix("heap_snapshot world ") }
        #expect(worlds.first == "heap_snapshot world stopped=no reason=ptrace_refused errno=1 threads=0 stop_ns=0")
        #expect(!(try Toolbox.run(Toolbox.alloctrace, ["dump", trace]).out.contains("heap_snapshot registers ")))
    }

    // (10) The DOT files are valid Graphviz: dot renders them.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/dot")))
    func dotRendersTheDrawings() throws {
        let trace = try swiftTrace("graph-dot-valid")
        let dir = try Toolbox.scratch("graph-dot-valid")
        let (_, roots) = try rootsTrace("graph-dot-roots")
        for (args, file) in [(["chains", trace, "--at", "graph", "--type", "samples.Target"], "chains.dot"),
                             (["cycles", trace], "cycles.dot"),
                             (["chains", roots, "--at", "roots", "--site", "make_register_block"], "register.dot")] {
            let path = dir + "/" + file
            #expect(try Toolbox.run(Toolbox.alloctrace, args + ["--dot", path]).status == 0)
            let svg = try Toolbox.run("/usr/bin/dot", ["-Tsvg", path])
            #expect(svg.status == 0 && svg.stderr.isEmpty, "\(file): \(svg.stderr)")
            #expect(svg.out.contains("<svg"), "\(file)")
        }
    }
}
