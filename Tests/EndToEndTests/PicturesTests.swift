import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// Every picture and export is checked by a real reader: an XML parser, headless Chromium,
/// valgrind's ms_print, protoc (and `go tool pprof` where Go is installed).
@Suite struct PicturesTests {
    func record(_ name: String, _ args: [String]) throws -> (String, String) {
        let dir = try Toolbox.scratch(name)
        let (r, trace) = try Toolbox.record(Toolbox.bin("samples"), args, in: dir)
        try #require(r.status == 0)
        return (dir, trace)
    }

    func summary(_ trace: String) throws -> [String: Any] {
        let r = try Toolbox.run(Toolbox.alloctrace, ["summary", trace, "--json"])
        return try #require(JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
    }

    func parsesAsXML(_ path: String) throws -> Bool {
        let parser = try #require(XMLParser(contentsOf: URL(fileURLWithPath: path)))
        return parser.parse()
    }

    func int(_ v: Any?) -> Int { Toolbox.int(v) }

    /// 1234567 as "1,234,567".
    func grouped(_ n: Int) -> String {
        var out = ""
        for (i, c) in String(n).reversed().enumerated() {
            if i > 0 && i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return String(out.reversed())
    }

    @Test func flameGraphIsValidSVGWithTheTotals() throws {
        let (dir, trace) = try record("flame", ["cache", "1000"])
        let s = try summary(trace)
        for by in ["allocations", "bytes"] {
            let svg = dir + "/\(by).svg"
            let r = try Toolbox.run(Toolbox.alloctrace, ["flamegraph", trace, "--by", by, "-o", svg])
            #expect(r.status == 0)
            #expect(try parsesAsXML(svg))
            let text = try String(contentsOfFile: svg, encoding: .utf8)
            let unit = by == "allocations" ? "allocations" : "bytes"
            // the bottom frame holds everything: all stacks' values
            let total = int(s[by == "allocations" ? "allocation_calls" : "bytes_allocated"])
            #expect(text.contains("<title>all (\(grouped(total)) \(unit), 100.00%)</title>"))
            #expect(text.contains("samples.Cache.insert(_:)"))
            #expect(text.contains("<script type=\"text/ecmascript\">"))
        }
    }

    @Test func collapsedStacksSumToTheSummary() throws {
        let (_, trace) = try record("collapsed", ["objects", "1000", "10"])
        let s = try summary(trace)
        for (by, key) in [("bytes", "bytes_allocated"), ("allocations", "allocation_calls"), ("leaked", "leaked_bytes")] {
            let r = try Toolbox.run(Toolbox.alloctrace, ["export", trace, "--format", "collapsed", "--by", by])
            #expect(r.status == 0)
            let sum = r.out.split(separator: "\n").compactMap { Int($0.split(separator: " ").last ?? "") }.reduce(0, +)
            #expect(sum == int(s[key]), "collapsed --by \(by)")
        }
    }

    @Test func timelineIsValidSVGWithMarksAndPeak() throws {
        let (dir, trace) = try record("timeline", ["marks"])
        let svg = dir + "/t.svg"
        #expect(try Toolbox.run(Toolbox.alloctrace, ["timeline", trace, "--types", "3", "-o", svg]).status == 0)
        #expect(try parsesAsXML(svg))
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        for label in ["start", "after-nodes", "after-leaves"] { #expect(text.contains(">\(label)</text>")) }
        #expect(text.contains(">peak "))
        #expect(text.contains("<title>samples.Node</title>"))
    }

    @Test func massifFileIsReadByMsPrint() throws {
        let (dir, trace) = try record("massif", ["cache", "2000"])
        let file = dir + "/massif.out"
        #expect(try Toolbox.run(Toolbox.alloctrace, ["export", trace, "--format", "massif", "-o", file]).status == 0)
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text.hasPrefix("desc: ") && text.contains("\ntime_unit: ms\n"))
        let msPrint = try #require(["/usr/bin/ms_print"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                   "ms_print comes with Debian's valgrind (scripts/install-deps.sh)")
        let r = try Toolbox.run(msPrint, [file])
        #expect(r.status == 0, "\(r.stderr)")
        let peak = int(try summary(trace)["peak_heap_bytes"])
        #expect(r.out.contains("(peak)"))
        // the peak snapshot's row shows the summary's peak, in ms_print's comma-grouped digits
        #expect(r.out.split(separator: "\n").contains { $0.contains(" \(grouped(peak)) ") })
    }

    @Test func pprofDecodesToTheTotals() throws {
        let (dir, trace) = try record("pprof", ["objects", "1000", "10"])
        let file = dir + "/p.pb.gz"
        #expect(try Toolbox.run(Toolbox.alloctrace, ["export", trace, "--format", "pprof", "-o", file]).status == 0)
        let s = try summary(trace)
        let raw = try Toolbox.run("/bin/sh", ["-c", "gzip -dc '\(file)' | protoc --decode_raw"])
        try #require(raw.status == 0, "protoc (Debian protobuf-compiler) decodes the profile: \(raw.stderr)")
        // samples are field 2 of the profile; each carries five values (field 2 inside)
        var totals = [Int](repeating: 0, count: 5)
        var inSample = false, index = 0
        for line in raw.out.split(separator: "\n") {
            if line == "2 {" { inSample = true; index = 0; continue }
            if inSample && line == "}" { inSample = false; continue }
            if inSample && line.hasPrefix("  2: "), let v = Int(line.dropFirst(5)) { totals[index] += v; index += 1 }
        }
        #expect(totals[1] == int(s["bytes_allocated"]))
        #expect(totals[2] == int(s["peak_heap_bytes"]))
        #expect(totals[3] == int(s["leaked_blocks"]))
        #expect(totals[4] == int(s["leaked_bytes"]))
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/go") {
            let top = try Toolbox.run("/usr/bin/go", ["tool", "pprof", "-top", "-sample_index=alloc_objects", file])
            #expect(top.status == 0)
            #expect(top.out.contains("samples.Node.__allocating_init(id:)"))
        }
    }

    @Test func reportRendersInChromiumWithoutErrors() throws {
        let (dir, trace) = try record("report", ["marks"])
        let html = dir + "/report.html"
        #expect(try Toolbox.run(Toolbox.alloctrace, ["report", trace, "-o", html]).status == 0)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(!page.contains("<link ") && !page.contains(" src=\""))
        // the trace holds a heap graph at exit: leaks and cycles have their sections
        #expect(page.contains("<h2>Leaks (") && page.contains("<h2>Retain cycles ("))
        let chromium = try #require(["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                    "headless Chromium (Debian chromium, scripts/install-deps.sh)")
        let r = try Toolbox.run(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
                                           "--user-data-dir=\(dir)/chromium", "--dump-dom", "file://\(html)"])
        #expect(r.status == 0)
        let consoleErrors = r.stderr.split(separator: "\n").filter { $0.contains("CONSOLE") }
        #expect(consoleErrors.isEmpty, "\(consoleErrors)")
        #expect(r.out.contains("id=\"tl\"") && r.out.contains("id=\"fg0\""))
        #expect(r.out.contains("Live types at mark #3 &quot;after-leaves&quot;") || r.out.contains("Live types at mark #3 \"after-leaves\""))
    }
}
