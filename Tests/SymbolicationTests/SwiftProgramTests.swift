import Foundation
import Symbolication
import TraceReader
import XCTest

/// A Swift program built with `swiftc -O -g -module-name samples`: its methods come back
/// module-qualified with labels (`samples.Cache.insert(_:)`), at their lines; inlined Swift code
/// (nested under DW_TAG_module) gives its chain; libswiftCore (symbols, no DWARF) is named.
final class SwiftProgramTests: XCTestCase {
    static let source = #"""
    /// The return addresses of the caller's stack (the caller's own first).
    @inline(never)
    func record() -> [UInt] {
        var buffer = [UnsafeMutableRawPointer?](repeating: nil, count: 64)
        let n = Int(backtrace(&buffer, 64))
        return buffer[1..<n].map { UInt(bitPattern: $0) }
    }

    final class Entry {
        let key: Int
        init(key: Int) { self.key = key }
    }

    final class Cache {
        var entries: [Int: Entry] = [:]
        var stack: [UInt] = []

        @inline(never)
        func insert(_ key: Int) {
            entries[key] = Entry(key: key)
            stack = record() // @insert-call
        }
    }

    @inline(__always)
    func helper() -> [UInt] {
        return record() // @helper-call
    }

    @inline(never)
    func outer(count: Int) -> [UInt] {
        var s = helper() // @outer-call
        s.append(UInt(count))
        return s
    }

    struct Described: CustomStringConvertible {
        nonisolated(unsafe) static var stack: [UInt] = []
        var description: String {
            Described.stack = record()
            return "described"
        }
    }

    func hex(_ v: [UInt]) -> String { v.map { String($0, radix: 16) }.joined(separator: " ") }

    print_modules()
    let cache = Cache()
    cache.insert(7)
    print("ip insert \(hex(cache.stack))")
    print("ip outer \(hex(outer(count: 3)))")
    print(Described())
    print("ip print \(hex(Described.stack))")
    """#

    /// backtrace() and the module map come from C (a bridging header): Glibc has neither.
    static let header = #"""
    #define _GNU_SOURCE
    #include <execinfo.h>
    #include <link.h>
    #include <stdio.h>

    \#(cModuleMapPrinter)

    static inline void print_modules(void) {
        dl_iterate_phdr(print_module, NULL);
        fflush(stdout);
    }
    """#

    /// The probe, built once per test process.
    static func probe() throws -> ProbeRun {
        try Probe.cached("swift") {
            try Probe.build("main.swift", source: source, compiler: "swiftc",
                            flags: ["-O", "-g", "-module-name", "samples", "-import-objc-header", "$DIR/probe.h"],
                            files: ["probe.h": header])
        }
    }

    func testSwiftProgram() throws {
        let run = try Self.probe()
        let symbolizer = Symbolizer(modules: run.modules)
        XCTAssertEqual(symbolizer.warnings, [])
        let exe = fileName(run.executable)

        // Cache.insert(_:) calling record(): the method, module-qualified, at the call's line.
        let insert = symbolizer.frames(for: try XCTUnwrap(run.ips["insert"]?.first))
        XCTAssertEqual(insert.count, 1, "\(insert)")
        XCTAssertEqual(insert.first?.function, "samples.Cache.insert(_:)")
        XCTAssertEqual(insert.first?.rawName, "$s7samples5CacheC6insertyySiF")
        XCTAssertEqual(insert.first?.file.map(fileName), "main.swift")
        XCTAssertEqual(insert.first?.line, run.line(of: "@insert-call"))
        XCTAssertEqual(insert.first?.module, exe)
        XCTAssertEqual(insert.first?.isInlined, false)

        // helper() inlined into outer(count:): the chain, innermost first.
        let outer = symbolizer.frames(for: try XCTUnwrap(run.ips["outer"]?.first))
        XCTAssertEqual(outer.map(\.function), ["samples.helper()", "samples.outer(count:)"], "\(outer)")
        XCTAssertEqual(outer.map(\.line), [run.line(of: "@helper-call"), run.line(of: "@outer-call")])
        XCTAssertEqual(outer.map(\.isInlined), [true, false])
        XCTAssertEqual(outer.map(\.rawName), ["$s7samples6helperSaySuGyF", "$s7samples5outer5countSaySuGSi_tF"])

        // print() -> libswiftCore (a symbol table, no DWARF) -> the description getter.
        let stack = symbolizer.symbolize(stack: try XCTUnwrap(run.ips["print"]))
        let description = try XCTUnwrap(stack.first)
        XCTAssertEqual(description.function, "samples.Described.description.getter", "\(stack)")
        let core = stack.filter { $0.module == "libswiftCore.so" }
        XCTAssertFalse(core.isEmpty, "\(stack)")
        XCTAssertTrue(core.contains { $0.function == "Swift.print(_:separator:terminator:)" }, "\(core)")
        for frame in core {
            XCTAssertNil(frame.line)
            XCTAssertFalse(frame.function.hasPrefix("$s"), "\(frame)")
            XCTAssertEqual(frame.rawName.map(Demangler.isSwiftSymbol), true, "\(frame)")
        }
    }
}
