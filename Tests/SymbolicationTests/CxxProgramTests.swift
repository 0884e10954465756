import Foundation
import Symbolication
import TraceReader
import XCTest

/// A C++ program built with `g++ -g`: template functions and members come back demangled from
/// their DWARF linkage names.
final class CxxProgramTests: XCTestCase {
    static let source = #"""
    #include <link.h>
    #include <cstdio>

    __attribute__((noinline)) void *where() {
        void *r = __builtin_return_address(0);
        __asm__ volatile("" ::: "memory");
        return r;
    }

    template <typename T> __attribute__((noinline)) void *twice(T v) {
        void *r = where(); // @twice-call
        __asm__ volatile("" ::: "memory");
        return v + v > 0 ? r : nullptr;
    }

    namespace ns {
    template <typename T> struct Box {
        T value;
        __attribute__((noinline)) void *put(T v) {
            value = v;
            void *r = where(); // @put-call
            __asm__ volatile("" ::: "memory");
            return r;
        }
    };
    }

    \#(cModuleMapPrinter)

    int main() {
        dl_iterate_phdr(print_module, nullptr);
        std::printf("ip twice %lx\n", (unsigned long)twice<int>(3));
        ns::Box<double> box;
        std::printf("ip put %lx\n", (unsigned long)box.put(1.5));
        return 0;
    }
    """#

    func testTemplates() throws {
        let run = try Probe.build("probe.cpp", source: Self.source, compiler: "g++", flags: ["-g", "-O0"])
        let symbolizer = Symbolizer(modules: run.modules)
        XCTAssertEqual(symbolizer.warnings, [])

        let twice = symbolizer.frames(for: try XCTUnwrap(run.ips["twice"]?.first))
        XCTAssertEqual(twice.map(\.function), ["void* twice<int>(int)"])
        XCTAssertEqual(twice.map(\.rawName), ["_Z5twiceIiEPvT_"])
        XCTAssertEqual(twice.map(\.line), [run.line(of: "@twice-call")])
        XCTAssertEqual(twice.map { $0.file.map(fileName) }, ["probe.cpp"])

        let put = symbolizer.frames(for: try XCTUnwrap(run.ips["put"]?.first))
        XCTAssertEqual(put.map(\.function), ["ns::Box<double>::put(double)"])
        XCTAssertEqual(put.map(\.rawName), ["_ZN2ns3BoxIdE3putEd"])
        XCTAssertEqual(put.map(\.line), [run.line(of: "@put-call")])
    }
}
