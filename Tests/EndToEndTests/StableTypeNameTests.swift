import Foundation
import Testing

/// Private Swift types are named by their file's private discriminator, not by a run's address
/// (issue 14; samples/README.md: `samples private`), so two runs of one program agree on them.
@Suite struct StableTypeNameTests {
    func str(_ v: Any?) -> String { (v as? String) ?? "" }

    /// The discriminator the compiler gave Private.swift, from the executable's own symbols.
    func discriminator(of program: String) throws -> String {
        let r = try Toolbox.run("/usr/bin/nm", [program])
        let symbols = String(decoding: r.stdout, as: UTF8.self)
        let line = try #require(symbols.split(separator: "\n").first { $0.contains("6Ticket33_") })
        let after = try #require(line.range(of: "6Ticket33")).upperBound
        return String(line[after...].prefix(33))
    }

    func typeNames(_ trace: String) throws -> [String] {
        Toolbox.rows(try Toolbox.json(["types", trace]), "rows").map { str($0["name"]) }.filter { $0.contains("samples.") }.sorted()
    }

    @Test func twoRunsAgreeOnPrivateTypes() throws {
        let dir = try Toolbox.scratch("stable-type-names")
        let program = Toolbox.bin("samples")
        let (r1, first) = try Toolbox.record(program, ["private"], in: dir + "/1")
        let (r2, second) = try Toolbox.record(program, ["private"], in: dir + "/2")
        #expect(r1.status == 0 && r2.status == 0)
        #expect(r1.out == "private: tickets=10 seats=3\n" && r2.out == r1.out)
        let d = try discriminator(of: program)
        #expect(d.count == 33 && d.hasPrefix("_"))
        let names = try typeNames(first)
        #expect(names == ["Swift._ContiguousArrayStorage<samples.(Seat in \(d))>",
                          "samples.(Session in \(d))", "samples.(Ticket in \(d))"])
        #expect(try typeNames(second) == names)
        let diff = try Toolbox.run(Toolbox.alloctrace, ["diff", first, second])
        #expect(diff.status == 0)
        #expect(diff.out == "before: \(first) at end\nafter:  \(second) at end\n\nby type:\nno change\n\nby site:\nno change\n")
    }

    // Without symbols (a stripped copy) the context is named by its offset in the module: the
    // same in both runs too.
    @Test func strippedProgramStillAgrees() throws {
        let dir = try Toolbox.scratch("stable-type-names-stripped")
        let program = dir + "/samples-stripped"
        try? FileManager.default.removeItem(atPath: program)
        try FileManager.default.copyItem(atPath: Toolbox.bin("samples"), toPath: program)
        let s = try Toolbox.run("/usr/bin/strip", [program])
        try #require(s.status == 0, "strip: \(s.stderr)")
        let (_, first) = try Toolbox.record(program, ["private"], in: dir + "/1")
        let (_, second) = try Toolbox.record(program, ["private"], in: dir + "/2")
        let names = try typeNames(first)
        #expect(names.count == 3)
        #expect(names.allSatisfy { $0.contains(" in <private +0x") && !$0.contains("unknown context") })
        #expect(try typeNames(second) == names)
    }
}
