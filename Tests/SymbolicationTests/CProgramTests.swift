import Foundation
import Symbolication
import TraceReader
import XCTest

/// A C program built with gcc and with clang (`-g`): its own return addresses come back as the
/// exact functions, files and lines, inline chains included; a libc frame is named.
final class CProgramTests: XCTestCase {
    static let source = #"""
    #define _GNU_SOURCE
    #include <link.h>
    #include <stdio.h>
    #include <stdlib.h>

    static void *seen;

    __attribute__((noinline)) void *leaf(void) {
        void *r = __builtin_return_address(0);
        __asm__ volatile("" ::: "memory");
        return r;
    }

    __attribute__((noinline)) void *middle(void) {
        void *r = leaf(); // @middle-call
        __asm__ volatile("" ::: "memory");
        return r;
    }

    static inline __attribute__((always_inline)) void *inlined_helper(void) {
        void *r = leaf(); // @helper-call
        __asm__ volatile("" ::: "memory");
        return r;
    }

    __attribute__((noinline)) void *outer(void) {
        void *r = inlined_helper(); // @outer-call
        __asm__ volatile("" ::: "memory");
        return r;
    }

    static int compare(const void *a, const void *b) {
        seen = __builtin_return_address(0);
        return *(const int *)a - *(const int *)b;
    }

    \#(cModuleMapPrinter)

    int main(void) {
        dl_iterate_phdr(print_module, NULL);
        printf("ip middle %lx\n", (unsigned long)middle());
        printf("ip outer %lx\n", (unsigned long)outer());
        static const int sorted[] = {1, 2, 3, 4, 5, 6, 7};
        int key = 5;
        typedef void *(*search_fn)(const void *, const void *, size_t, size_t, int (*)(const void *, const void *));
        search_fn volatile search = bsearch;
        if (!search(&key, sorted, 7, sizeof(int), compare)) return 1;
        printf("ip bsearch %lx\n", (unsigned long)seen);
        return 0;
    }
    """#

    private func check(_ run: ProbeRun, file: StaticString = #filePath, line: UInt = #line) throws {
        let symbolizer = Symbolizer(modules: run.modules)
        XCTAssertEqual(symbolizer.warnings, [], file: file, line: line)
        let exe = fileName(run.executable)
        let bias = try XCTUnwrap(run.module(named: exe)).loadBias

        let middle = try XCTUnwrap(run.ips["middle"]?.first)
        let m = symbolizer.frames(for: middle)
        XCTAssertEqual(m.count, 1, "\(m)", file: file, line: line)
        XCTAssertEqual(m.first?.function, "middle", file: file, line: line)
        XCTAssertEqual(m.first?.rawName, "middle", file: file, line: line)
        XCTAssertEqual(m.first.flatMap { $0.file.map(fileName) }, "probe.c", file: file, line: line)
        XCTAssertEqual(m.first?.line, run.line(of: "@middle-call"), file: file, line: line)
        XCTAssertEqual(m.first?.module, exe, file: file, line: line)
        XCTAssertEqual(m.first?.moduleOffset, middle - bias, file: file, line: line)
        XCTAssertEqual(m.first?.isInlined, false, file: file, line: line)

        // The inline chain: the inlined helper (innermost) at the call, then outer at the helper's call.
        let outer = symbolizer.frames(for: try XCTUnwrap(run.ips["outer"]?.first))
        XCTAssertEqual(outer.map(\.function), ["inlined_helper", "outer"], "\(outer)", file: file, line: line)
        XCTAssertEqual(outer.map(\.line), [run.line(of: "@helper-call"), run.line(of: "@outer-call")],
                       file: file, line: line)
        XCTAssertEqual(outer.map(\.isInlined), [true, false], file: file, line: line)
        XCTAssertEqual(outer.map { $0.file.map(fileName) }, ["probe.c", "probe.c"], file: file, line: line)

        // libc: bsearch calls the comparator itself (a .dynsym symbol; file:line too with libc6-dbg).
        let libc = symbolizer.frames(for: try XCTUnwrap(run.ips["bsearch"]?.first))
        XCTAssertEqual(libc.last?.function, "bsearch", "\(libc)", file: file, line: line)
        XCTAssertEqual(libc.last?.module, "libc.so.6", file: file, line: line)
        if let source = libc.last?.file {   // libc6-dbg installed: glibc's own DWARF
            XCTAssertEqual(fileName(source), "stdlib-bsearch.h", file: file, line: line)
            XCTAssertEqual(libc.last?.rawName, "__GI_bsearch", file: file, line: line)
        }

        // Memoized: the same frames again.
        XCTAssertEqual(symbolizer.frames(for: middle), m, file: file, line: line)
        XCTAssertEqual(symbolizer.symbolize(stack: [middle, try XCTUnwrap(run.ips["outer"]?.first)]), m + outer,
                       file: file, line: line)
    }

    func testGCC() throws {
        try check(Probe.build("probe.c", source: Self.source, compiler: "gcc", flags: ["-g", "-O0"]))
    }

    func testClangOptimized() throws {
        // clang emits no .debug_aranges: the compile units' own ranges are what finds the code.
        try check(Probe.build("probe.c", source: Self.source, compiler: "clang",
                              flags: ["-g", "-O1", "-Wl,--build-id"]))
    }
}
