import Foundation
import Testing

/// rustc's compiler, when this machine has one (rustup puts it in ~/.cargo/bin, outside PATH).
private let rustc: String? = {
    let home = ProcessInfo.processInfo.environment["HOME"] ?? "/root"
    let path = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
    return (path + [home + "/.cargo/bin", "/root/.cargo/bin", "/usr/local/cargo/bin"])
        .map { $0 + "/rustc" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}()

/// A Rust program, compiled here with rustc: its frames are demangled (v0 manglings) and its
/// allocations land on the right source lines through Rust's inlined allocation path.
@Suite(.enabled(if: rustc != nil, "rustc is not installed"))
struct RustProgramTests {
    @Test func blocksLandOnTheirLinesWithRustNames() throws {
        let dir = try Toolbox.scratch("rust")
        let source = Toolbox.sourceRoot + "/samples/rust/blocks.rs"
        let build = try Toolbox.run(rustc!, ["-O", "-g", "-o", dir + "/rust-blocks", source])
        try #require(build.status == 0, "rustc failed: \(build.stderr)")
        let (r, trace) = try Toolbox.record(dir + "/rust-blocks", in: dir)
        #expect(r.status == 0)
        #expect(r.out == "rust-blocks: blocks=100 bytes=104950\n")

        let lines = try Toolbox.json(["lines", trace, source])
        let byLine = Dictionary(uniqueKeysWithValues: Toolbox.rows(lines, "lines").map { (Toolbox.int($0["line"]), $0) })
        let text = try String(contentsOfFile: source, encoding: .utf8).components(separatedBy: "\n")
        func line(_ fragment: String) throws -> Int { try #require(text.firstIndex { $0.contains(fragment) }) + 1 }
        let outer = try #require(byLine[try line("Vec::with_capacity(n)")])
        #expect(Toolbox.int(outer["allocations"]) == 1 && Toolbox.int(outer["bytes"]) == 100 * 24)
        let blocks = try #require(byLine[try line("vec![7u8; 1000 + i]")])
        #expect(Toolbox.int(blocks["allocations"]) == 100)
        #expect(Toolbox.int(blocks["bytes"]) == (1000..<1100).reduce(0, +))
        let call = try #require(byLine[try line("make_blocks(100);")])
        #expect(Toolbox.int(call["allocations"]) == 101 && Toolbox.int(call["bytes"]) == 107_350)

        let top = try Toolbox.json(["top", trace, "--by", "allocations", "--limit", "1"])
        let stack = Toolbox.rows(top, "rows").first?["stack"] as? [String] ?? []
        let blockLine = try line("vec![7u8")
        #expect(stack.contains { $0.hasPrefix("blocks::make_blocks at ") && $0.hasSuffix("samples/rust/blocks.rs:\(blockLine)") })
        #expect(!stack.contains { $0.hasPrefix("_R") || $0.hasPrefix("_ZN") })
    }
}
