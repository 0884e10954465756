import Foundation
import Testing

/// A program that compiles and runs 200 generated sources in a loop (samples/python/code_reuse.py)
/// frees each code object before the next one is made, so a new code object, its name, file and
/// line table often come back at a freed one's addresses. Each allocation must still be on its
/// own genN.py file and line: the recorder must never give a new code object an old one's id.
@Suite struct PythonCodeReuseTests {
    static let script = Toolbox.sourceRoot + "/samples/python/code_reuse.py"

    func check(_ python: String) throws {
        let dir = try Toolbox.scratch("python-code-reuse")
        let (r, trace) = try Toolbox.record(python, [PythonCodeReuseTests.script], in: dir)
        #expect(r.status == 0 && r.out == "ran 200\n")
        // each line's bytes object is the only block of its size: 33 bytes of header with the text
        let script = PythonCodeReuseTests.script
        var want: [Int: [String]] = [:]
        for i in 0..<200 {
            let blank = i % 3
            want[33 + 200_000 + 16 * i] = ["<module> at gen\(i).py:\(1 + blank)", "<module> at \(script):14"]
            want[33 + 300_000 + 16 * i] = ["f at gen\(i).py:\(3 + blank)", "<module> at gen\(i).py:\(4 + blank)",
                                           "<module> at \(script):14"]
        }
        let top = try Toolbox.json(["top", trace, "--limit", "100000"])
        var got: [Int: [String]] = [:]
        var other = 0       // rows with a genN.py frame that are not one of those allocations
        for row in Toolbox.rows(top, "rows") {
            let stack = row["stack"] as? [String] ?? []
            if want[Toolbox.int(row["bytes"])] != nil && Toolbox.int(row["allocations"]) == 1 {
                got[Toolbox.int(row["bytes"])] = stack
            } else if stack.contains(where: { $0.contains(" at gen") }) && Toolbox.int(row["bytes"]) >= 200_000 {
                other += 1
            }
        }
        let wrong = want.keys.sorted().filter { got[$0] != want[$0] }
        #expect(wrong.count == 0, "\(wrong.count) of 400 misattributed, first: \(wrong.first.map { "\(got[$0] ?? []) not \(want[$0]!)" } ?? "")")
        #expect(other == 0)
    }

    @Test func onDebiansPython3() throws {
        try #require(Interpreters.has(Interpreters.debian), "Debian's python3 is missing: apt-get install python3")
        try check(Interpreters.debian)
    }

    @Test(.enabled(if: Interpreters.has(Interpreters.pyenv("3.12.1")), "pyenv's CPython 3.12.1 is not installed"))
    func onPython312() throws { try check(Interpreters.pyenv("3.12.1")) }

    @Test(.enabled(if: Interpreters.has(Interpreters.pyenv("3.13.0")), "pyenv's CPython 3.13.0 is not installed"))
    func onPython313() throws { try check(Interpreters.pyenv("3.13.0")) }
}
