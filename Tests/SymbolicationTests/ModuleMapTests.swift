import Foundation
import Symbolication
import TraceReader
import XCTest

/// The trace's module map against the files on disk: build-ids, missing files, addresses outside
/// every module, modules whose addresses overlap.
final class ModuleMapTests: XCTestCase {
    /// The C probe (gcc), built once for these tests.
    private func cProbe() throws -> ProbeRun {
        try Probe.cached("gcc") {
            try Probe.build("probe.c", source: CProgramTests.source, compiler: "gcc", flags: ["-g", "-O0"])
        }
    }

    private func exeModule(_ run: ProbeRun) throws -> TraceModule {
        try XCTUnwrap(run.module(named: fileName(run.executable)))
    }

    func testBuildIDOfFile() throws {
        let run = try cProbe()
        let exe = try exeModule(run)
        let id = try XCTUnwrap(Symbolizer.buildID(ofFile: exe.path))
        XCTAssertEqual(id.count, 20)   // gcc's default: sha1
        XCTAssertNil(Symbolizer.buildID(ofFile: Probe.directory + "/does-not-exist"))
        XCTAssertNil(Symbolizer.buildID(ofFile: Probe.directory + "/probe.c"))
    }

    func testBuildIDMismatch() throws {
        let run = try cProbe()
        var modules = run.modules
        let i = try XCTUnwrap(modules.firstIndex { $0.path == run.executable })
        let recorded = modules[i].buildID
        modules[i].buildID = [UInt8](repeating: 0xab, count: 20)
        let symbolizer = Symbolizer(modules: modules)
        XCTAssertEqual(symbolizer.warnings.count, 1, "\(symbolizer.warnings)")
        let warning = try XCTUnwrap(symbolizer.warnings.first)
        XCTAssertTrue(warning.hasPrefix(run.executable + ": "), warning)
        XCTAssertTrue(warning.contains(String(repeating: "ab", count: 20)), warning)
        XCTAssertTrue(warning.contains(recorded.map { String(format: "%02x", $0) }.joined()), warning)

        let ip = try XCTUnwrap(run.ips["middle"]?.first)
        let name = fileName(run.executable)
        let offset = ip - modules[i].loadBias
        XCTAssertEqual(symbolizer.frames(for: ip),
                       [Frame(function: name + "+0x" + String(offset, radix: 16), module: name, moduleOffset: offset)])
        // The other modules are still symbolized.
        XCTAssertEqual(symbolizer.frames(for: try XCTUnwrap(run.ips["bsearch"]?.first)).last?.function, "bsearch")
    }

    func testMissingFile() throws {
        let run = try cProbe()
        var modules = run.modules
        let i = try XCTUnwrap(modules.firstIndex { $0.path == run.executable })
        let gone = Probe.directory + "/gone-probe"
        modules[i].path = gone
        let symbolizer = Symbolizer(modules: modules)
        XCTAssertEqual(symbolizer.warnings.count, 1, "\(symbolizer.warnings)")
        XCTAssertTrue(symbolizer.warnings.first?.hasPrefix(gone + ": ") == true, "\(symbolizer.warnings)")
        let ip = try XCTUnwrap(run.ips["middle"]?.first)
        let offset = ip - modules[i].loadBias
        XCTAssertEqual(symbolizer.frames(for: ip).map(\.function), ["gone-probe+0x" + String(offset, radix: 16)])
        XCTAssertEqual(symbolizer.frames(for: ip).map(\.module), ["gone-probe"])
    }

    func testAddressOutsideEveryModule() throws {
        let symbolizer = Symbolizer(modules: try cProbe().modules)
        XCTAssertEqual(symbolizer.frames(for: 0x10),
                       [Frame(function: "0x10", module: "[unknown]", moduleOffset: 0x10)])
    }

    func testKernelImageWithoutFile() throws {
        let vdso = TraceModule(id: 1, loadBias: 0x7fff_0000_0000, ticks: 0, path: "[vdso]", buildID: [1, 2, 3],
                               segments: [.init(vaddr: 0, memsz: 0x2000, flags: 5)])
        var linkerName = vdso
        linkerName.path = "linux-vdso.so.1"
        linkerName.loadBias = 0x7ffe_0000_0000
        let symbolizer = Symbolizer(modules: [vdso, linkerName])
        XCTAssertEqual(symbolizer.warnings, [])
        XCTAssertEqual(symbolizer.frames(for: 0x7fff_0000_0123).map(\.function), ["[vdso]+0x123"])
        XCTAssertEqual(symbolizer.frames(for: 0x7ffe_0000_0123).map(\.function), ["linux-vdso.so.1+0x123"])
    }

    /// A library unloaded and another loaded at its addresses: both are reported, and an address
    /// goes to the later one.
    func testOverlappingModules() throws {
        let run = try cProbe()
        let exe = try exeModule(run)
        let copy = Probe.directory + "/probe-copy"
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: exe.path, toPath: copy)
        var later = exe
        later.id = 99
        later.path = copy
        let symbolizer = Symbolizer(modules: run.modules + [later])
        XCTAssertEqual(symbolizer.warnings, [])
        let frames = symbolizer.frames(for: try XCTUnwrap(run.ips["middle"]?.first))
        XCTAssertEqual(frames.map(\.function), ["middle"])
        XCTAssertEqual(frames.map(\.module), ["probe-copy"])
    }

    /// Modules without segments (not from a trace) cover what their program headers say.
    func testModulesWithoutSegments() throws {
        let run = try cProbe()
        let bare = run.modules.map { m -> TraceModule in
            var m = m
            m.segments = []
            return m
        }
        let symbolizer = Symbolizer(modules: bare)
        XCTAssertEqual(symbolizer.frames(for: try XCTUnwrap(run.ips["middle"]?.first)).map(\.function), ["middle"])
    }
}
