import Foundation
import Symbolication
import TraceReader
import XCTest

/// Cost of symbolization on the Swift probe's modules: the program (Swift DWARF), libswiftCore
/// (symbols, no DWARF) and libc (DWARF from libc6-dbg when installed). Prints the numbers; the
/// bounds asserted are loose (shared machines, debug builds).
final class PerformanceTests: XCTestCase {
    /// `count` return addresses inside functions of the module, spread evenly over its function
    /// symbols (`nm -S`, `.dynsym` when there is no `.symtab`): each one's middle, plus one.
    private func addresses(in module: TraceModule, count: Int) throws -> [UInt64] {
        let nm = try XCTUnwrap(Probe.tool("nm"))
        var text = try Probe.run(nm, ["-S", "--defined-only", module.path])
        if text.isEmpty { text = try Probe.run(nm, ["-D", "-S", "--defined-only", module.path]) }
        var functions: [(UInt64, UInt64)] = []
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count == 4, f[2] == "T" || f[2] == "t", let start = UInt64(f[0], radix: 16),
                  let size = UInt64(f[1], radix: 16), size > 1 else { continue }
            functions.append((start, size))
        }
        let step = max(functions.count / count, 1)
        return stride(from: 0, to: functions.count, by: step).map {
            module.loadBias + functions[$0].0 + functions[$0].1 / 2 + 1
        }
    }

    private func microseconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1000
    }

    func testCost() throws {
        let run = try SwiftProgramTests.probe()
        let exe = fileName(run.executable)
        var perModule: [(String, [UInt64])] = []
        for name in [exe, "libswiftCore.so", "libc.so.6"] {
            let module = try XCTUnwrap(run.module(named: name), name)
            perModule.append((name, try addresses(in: module, count: 2000)))
        }
        let all = perModule.flatMap(\.1)

        var symbolizer: Symbolizer!
        let initTime = microseconds { symbolizer = Symbolizer(modules: run.modules) }
        XCTAssertEqual(symbolizer.warnings, [])

        // Cold, first address of each module: loads its symbols and DWARF unit ranges.
        var report = String(format: "PERF report %d modules: %.0f us", run.modules.count, initTime)
        for (name, ips) in perModule {
            let first = microseconds { _ = symbolizer.frames(for: ips[0]) }
            let rest = microseconds { for ip in ips.dropFirst() { _ = symbolizer.frames(for: ip) } }
            report += String(format: "\nPERF %@: first address %.0f us, then %.1f us/address cold (%d addresses)",
                             name, first, rest / Double(ips.count - 1), ips.count - 1)
        }
        // Warm: every address memoized.
        let rounds = 20
        let warm = microseconds {
            for _ in 0..<rounds { for ip in all { _ = symbolizer.frames(for: ip) } }
        }
        let warmNs = warm * 1000 / Double(rounds * all.count)
        report += String(format: "\nPERF memoized: %.0f ns/address (%d distinct)", warmNs,
                         symbolizer.cachedAddressCount)
        print(report)

        // Addresses inside functions resolve to a function name, not module+offset.
        for (name, ips) in perModule {
            let unnamed = ips.filter { symbolizer.frames(for: $0).last?.function.contains("+0x") ?? true }
            XCTAssertLessThan(Double(unnamed.count), Double(ips.count) * 0.01,
                              "\(name): \(unnamed.prefix(5).map { symbolizer.frames(for: $0) })")
        }
        XCTAssertLessThan(warmNs, 5_000)
    }
}
