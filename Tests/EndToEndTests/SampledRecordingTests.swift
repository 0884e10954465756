import Foundation
import Testing

/// Sampled recording (issue 16): `record --sample-bytes R` on programs of known allocations gives
/// estimates within a stated tolerance of the exact figures, which the same program's full trace
/// gives exactly.
///
/// The tolerance: each allocation of size s < R is sampled with probability p = 1 - exp(-s/R) and
/// weighed 1/p, so an estimate is a sum of independent terms whose variance is known from the
/// sample's sizes and counts: bytes n·s²·(1-p)/p per size class, counts n·(1-p)/p (plus at most 1/4
/// per sample for rounding weights to whole blocks); allocations of R or more are exact. The tests
/// allow 4 standard deviations (a chance of about 6 in 100,000 per figure of failing by bad luck);
/// at R = 4 KiB sample-sampled takes about 13,000 samples and 4 standard deviations are 2.9% of its
/// bytes allocated, 3.9% of its live bytes at the mark, 4% of its top site's bytes. The seed
/// (ALLOCTRACE_SAMPLE_SEED) makes a run's samples repeatable; the bounds hold for any seed.
@Suite struct SampledRecordingTests {
    func json(_ args: [String]) throws -> [String: Any] { try Toolbox.json(args) }
    func int(_ v: Any?) -> Int { Toolbox.int(v) }

    static let rate = 4096.0

    /// sample-sampled's size classes (samples/c/sampled/main.c): (size, count).
    static let churn = [(100.0, 400_000.0)]
    static let kept = [(200.0, 50_000.0), (304.0, 10_000.0), (1_048_576.0, 10.0)]
    static let all = churn + kept + [(48.0, 10_000.0)]

    static func p(_ s: Double, _ r: Double = rate) -> Double { s >= r ? 1 : -expm1(-s / r) }
    static func bytesSD(_ classes: [(Double, Double)], _ r: Double = rate) -> Double {
        classes.reduce(0.0) { v, c in v + c.1 * c.0 * c.0 * (1 - p(c.0, r)) / p(c.0, r) }.squareRoot()
    }
    static func countSD(_ classes: [(Double, Double)], _ r: Double = rate) -> Double {
        classes.reduce(0.0) { v, c in v + c.1 * (1 - p(c.0, r)) / p(c.0, r) + c.1 * p(c.0, r) / 4 }.squareRoot()
    }

    func within(_ estimate: Int, _ exact: Double, sd: Double, _ what: String) {
        #expect(abs(Double(estimate) - exact) <= 4 * sd,
                "\(what): estimate \(estimate), exact \(Int(exact)), 4 sd = \(Int(4 * sd))")
    }

    func record(_ dir: String, _ name: String, _ program: String, _ args: [String] = [], options: [String] = [],
                seed: String = "1") throws -> String {
        let trace = dir + "/" + name + ".atrace"
        var env = ProcessInfo.processInfo.environment
        env["ALLOCTRACE_SAMPLE_SEED"] = seed
        let r = try Toolbox.run(Toolbox.alloctrace, ["record", "-q", "-o", trace] + options + ["--", program] + args,
                                environment: env)
        try #require(r.status == 0, "record failed: \(r.stderr)")
        return trace
    }

    @Test func fullTraceOfTheSampledSampleIsExact() throws {
        let dir = try Toolbox.scratch("sampled-full")
        let trace = try record(dir, "full", Toolbox.bin("sample-sampled"))
        let s = try json(["summary", trace])
        #expect(int(s["bytes_allocated"]) == 64_005_760)
        #expect(int(s["allocation_calls"]) == 470_010)
        #expect(s["sampling"] == nil)
        let mark = try #require(Toolbox.rows(try json(["marks", trace]), "marks").first)
        #expect(int(mark["live_bytes"]) == 23_525_760)
        #expect(int(mark["live_blocks"]) == 60_010)
        let top = try #require(Toolbox.rows(try json(["top", trace]), "rows").first)
        #expect(top["function"] as? String == "churn")
        #expect(int(top["bytes"]) == 40_000_000 && int(top["allocations"]) == 400_000)
    }

    @Test func sampledEstimatesAreWithinTolerance() throws {
        let dir = try Toolbox.scratch("sampled-4k")
        let trace = try record(dir, "s4k", Toolbox.bin("sample-sampled"), options: ["--sample-bytes", "4K"])
        let s = try json(["summary", trace])
        let sampling = try #require((s["sampling"] as? [[String: Any]])?.first)
        #expect(int(sampling["mean_bytes"]) == 4096 && sampling["estimated"] as? Bool == true)
        within(int(s["bytes_allocated"]), 64_005_760, sd: Self.bytesSD(Self.all), "bytes allocated")
        within(int(s["allocation_calls"]), 470_010, sd: Self.countSD(Self.all), "allocation calls")
        let mark = try #require(Toolbox.rows(try json(["marks", trace]), "marks").first)
        within(int(mark["live_bytes"]), 23_525_760, sd: Self.bytesSD(Self.kept), "live bytes at steady")
        within(int(mark["live_blocks"]), 60_010, sd: Self.countSD(Self.kept), "live blocks at steady")
        let top = try #require(Toolbox.rows(try json(["top", trace]), "rows").first)
        #expect(top["function"] as? String == "churn")
        within(int(top["bytes"]), 40_000_000, sd: Self.bytesSD(Self.churn), "churn's bytes")
        // the large blocks are always sampled: exact
        let large = Toolbox.rows(try json(["top", trace, "--limit", "10"]), "rows").first { $0["function"] as? String == "keep_large" }
        #expect(int(large?["bytes"]) == 10_485_760 && int(large?["allocations"]) == 10)
        // everything was freed: the estimate of what is left is exactly 0
        #expect(int(s["leaked_bytes"]) == 0 && int(s["leaked_blocks"]) == 0)
        #expect(int(s["unmatched_frees"]) == 0)
        // the text says the figures are estimates, and at what rate
        let text = try Toolbox.run(Toolbox.alloctrace, ["summary", trace])
        #expect(text.out.hasPrefix("estimates: a sampled trace (one sample per 4 KiB allocated on average)"))
    }

    @Test func sampledTraceHoldsOnlySamplesAndSaysSo() throws {
        let dir = try Toolbox.scratch("sampled-raw")
        let full = try record(dir, "full", Toolbox.bin("sample-sampled"))
        let sampled = try record(dir, "s4k", Toolbox.bin("sample-sampled"), options: ["--sample-bytes", "4096"])
        // version 3 for sampled traces, 2 for full ones (a version-2 reader must not take estimates for exact figures)
        let head = { (path: String) -> UInt16 in
            let d = FileManager.default.contents(atPath: path) ?? Data()
            return d.count >= 10 ? UInt16(d[8]) | UInt16(d[9]) << 8 : 0
        }
        #expect(head(full) == 2 && head(sampled) == 3)
        let dump = try Toolbox.run(Toolbox.alloctrace, ["dump", "--raw", sampled])
        #expect(dump.out.contains("sampling mean_bytes=4096 method=poisson-bytes"))
        // dump shows what was recorded: about 13,000 of 470,010 allocations (p summed over the sizes)
        let allocations = dump.out.split(separator: "\n").filter { $0.contains(" malloc ") || $0.contains(" realloc ") }.count
        let expected = Self.all.reduce(0.0) { $0 + $1.1 * Self.p($1.0) }
        #expect(abs(Double(allocations) - expected) < 4 * expected.squareRoot() + 20, "\(allocations) samples, expected \(Int(expected))")
        #expect((try FileManager.default.attributesOfItem(atPath: sampled)[.size] as? Int ?? 0)
                < (try FileManager.default.attributesOfItem(atPath: full)[.size] as? Int ?? 0) / 4)
        // the heap-graph views need every block's bounds: one line saying why
        for command in ["leaks", "cycles", "retained"] {
            let r = try Toolbox.run(Toolbox.alloctrace, [command, sampled])
            #expect(r.status != 0)
            #expect(r.stderr.contains("this trace was sampled") && r.stderr.split(separator: "\n").count == 1, "\(command): \(r.stderr)")
        }
    }

    @Test func swiftTypesOfSampledObjects() throws {
        let dir = try Toolbox.scratch("sampled-types")
        // 200,000 Nodes of 32 bytes live at "created" (samples/README.md); R = 1 KiB: about 6,000 samples
        let trace = try record(dir, "objects", Toolbox.bin("samples"), ["objects", "200000", "10"], options: ["--sample-bytes", "1K"])
        let t = try json(["types", trace, "--at", "created"])
        let node = try #require(Toolbox.rows(t, "rows").first { $0["name"] as? String == "samples.Node" })
        within(int(node["count"]), 200_000, sd: Self.countSD([(32, 200_000)], 1024), "live Nodes")
        within(int(node["bytes"]), 6_400_000, sd: Self.bytesSD([(32, 200_000)], 1024), "live Node bytes")
    }

    @Test func crossThreadFreesOfSampledBlocksAreSeen() throws {
        let dir = try Toolbox.scratch("sampled-threads")
        // 4 workers x 200,000 blocks of 16, 32, 48, 64 bytes (each size 200,000 times in all), half
        // freed by another worker: the set of sampled addresses is shared, so no worker block is
        // left live, and the bytes estimate holds (samples/c/threads/main.c)
        let trace = try record(dir, "threads", Toolbox.bin("sample-threads"), ["200000"], options: ["--sample-bytes", "1K"])
        let leaked = Toolbox.rows(try json(["top", trace, "--by", "leaked", "--limit", "20"]), "rows")
        #expect(!leaked.contains { ($0["stack"] as? [String] ?? []).contains { $0.contains("worker_") } }, "\(leaked)")
        let classes = [16.0, 32, 48, 64].map { ($0, 200_000.0) }
        let worker = Toolbox.rows(try json(["top", trace, "--group", "function", "--limit", "5"]), "rows")
            .first { $0["function"] as? String == "worker_alloc" }
        within(int(worker?["bytes"]), 32_000_000, sd: Self.bytesSD(classes, 1024), "workers' bytes")
        within(int(worker?["allocations"]), 800_000, sd: Self.countSD(classes, 1024), "workers' allocations")
    }

    @Test func impossibleSizesPassThroughUnchanged() throws {
        let dir = try Toolbox.scratch("sampled-huge")
        let trace = dir + "/huge.atrace"
        let r = try Toolbox.run(Toolbox.alloctrace, ["record", "-q", "--sample-bytes", "1K", "-o", trace, "--", Toolbox.bin("sample-sampled"), "huge"])
        #expect(r.status == 0 && r.out == "huge: every call failed\n", "\(r.status) \(r.stderr)")
    }

    @Test func sampleBytesTakesSuffixesAndRejectsNonsense() throws {
        for bad in ["0", "-1", "12Q", "K"] {
            let r = try Toolbox.run(Toolbox.alloctrace, ["record", "--sample-bytes", bad, "--", "/bin/true"])
            #expect(r.status != 0 && r.stderr.contains("--sample-bytes"), "\(bad): \(r.stderr)")
        }
        let dir = try Toolbox.scratch("sampled-suffix")
        let trace = try record(dir, "m", Toolbox.bin("sample-sampled"), options: ["--sample-bytes", "2M"])
        let dump = try Toolbox.run(Toolbox.alloctrace, ["dump", "--raw", trace])
        #expect(dump.out.contains("sampling mean_bytes=2097152"))
    }
}
