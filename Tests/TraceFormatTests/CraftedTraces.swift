import Foundation
import TraceFormat

/// Hostile traces, written with TestTraceWriter: well-formed records whose values no recorder
/// writes (issue 17, "the analyzer trapped or hung"). Each is a complete small program's trace
/// (a module, a thread, stacks, a type, marks, RSS samples, a heap-graph snapshot at exit) with
/// one value pushed to an extreme, so that every command reaches the code that uses the value.
enum CraftedTraces {
    struct Options {
        var modulePath = "/nonexistent/crafted/prog"
        /// The target thread's index.
        var thread: UInt64 = 1
        /// Id of the first stack node (the recorder starts at 1).
        var firstStack: UInt64 = 1
        /// Frames of the deepest stack.
        var depth = 3
        /// Sizes of the four blocks allocated between the marks "one" and "two".
        var sizes: [UInt64] = [64, 48, 32, 32]
        var rss: UInt64 = 1 << 20
        /// Marks in all ("one", "two", then "m3", "m4", ...).
        var marks = 3
        var ticksStart: UInt64 = 1_000_000
        /// Blocks allocated at as many stacks along the deepest one (every prefix a site of its own).
        var sitesAlongTheStack = 0
    }

    static let bias: UInt64 = 0x5555_0000_0000
    static let heapStart: UInt64 = 0x7000_0000_0000

    /// The base trace with `options`: blocks A..D (A held by a global, A -> B, and C <-> D a leaked
    /// cycle), and, on `sizes`' order, realloc and free traffic around marks.
    static func trace(_ o: Options = Options()) -> TestTraceWriter {
        var w = TestTraceWriter()
        let t0 = o.ticksStart
        w.process(startTicks: t0, startNs: t0, exe: o.modulePath)
        w.module(id: 1, bias: bias, ticks: t0, path: o.modulePath, buildID: [0xAB, 0xCD],
                 segments: [(0, 0x10000, 5), (0x20000, 0x1000, 6)])
        w.thread(index: o.thread, tid: 4243, ticks: t0, name: "main")
        var nodes: [(parent: UInt64, ip: UInt64)] = []
        for i in 0..<max(o.depth, 1) {
            nodes.append((parent: i == 0 ? 0 : o.firstStack + UInt64(i) - 1, ip: bias + 0x1000 + UInt64(i % 64) * 16))
        }
        w.stackNodes(first: o.firstStack, nodes)
        let deepest = UInt32(truncatingIfNeeded: o.firstStack + UInt64(max(o.depth, 1)) - 1)
        let shallow = UInt32(truncatingIfNeeded: o.firstStack)
        w.type(id: 1, metadata: bias + 0x20100, name: "App.Node")
        let a = heapStart + 0x100, b = heapStart + 0x200, c = heapStart + 0x300, d = heapStart + 0x400
        var t = t0 + 100
        func next() -> UInt64 { t += 10; return t }
        w.chunk(thread: o.thread, base: t) { ch in
            ch.mark(at: next(), "one")
            ch.alloc(at: next(), addr: a, size: o.sizes[0], stack: deepest, type: 1)
            ch.alloc(.calloc, at: next(), addr: b, size: o.sizes[1], stack: shallow)
            ch.alloc(at: next(), addr: c, size: o.sizes[2], stack: deepest, type: 1)
            ch.alloc(.memalign, at: next(), addr: d, size: o.sizes[3], stack: deepest, alignment: 64)
            ch.alloc(at: next(), addr: heapStart + 0x800, size: o.sizes[0], stack: shallow)
            ch.free(at: next(), addr: heapStart + 0x800)
            ch.mark(at: next(), "two")
            ch.realloc(at: next(), old: 0, new: heapStart + 0x900, size: o.sizes[1], stack: deepest)
            ch.realloc(at: next(), old: heapStart + 0x900, new: heapStart + 0xA00, size: o.sizes[0], stack: shallow)
            for k in 0..<o.sitesAlongTheStack {
                ch.alloc(at: next(), addr: heapStart + 0x100_0000 + UInt64(k) * 64, size: 24,
                         stack: UInt32(truncatingIfNeeded: o.firstStack + UInt64(k % max(o.depth, 1))))
            }
            for m in 3...max(o.marks, 3) where m <= o.marks {
                // a block allocated and one freed at each mark: the heap changes between marks
                ch.alloc(at: next(), addr: heapStart + 0x10_000 + UInt64(m) * 64, size: 48, stack: m % 2 == 0 ? deepest : shallow,
                         type: m % 3 == 0 ? 1 : nil)
                if m % 2 == 0 { ch.free(at: next(), addr: heapStart + 0x10_000 + UInt64(m - 1) * 64) }
                ch.mark(at: next(), "m\(m)")
            }
        }
        w.chunk(thread: 0, base: t0 + 50) { ch in
            ch.rss(at: t0 + 60, bytes: o.rss / 2)
            ch.rss(at: t + 1, bytes: o.rss)
        }
        t += 100
        w.sync(watermark: t, monotonicNs: t)
        w.heapSnapshot(id: 1, ticks: t + 1, trigger: 1, thread: 0,
                       regions: [(bias + 0x20000, bias + 0x21000, 0, 1), (heapStart, heapStart + 0x10000, 3, 0)],
                       words: [0: [(bias + 0x20008, a)], 1: [(a + 16, b), (c + 16, d), (d, c)]])
        w.end(ticks: t + 2, monotonicNs: t + 2, written: 0)
        return w
    }

    /// Every crafted trace by name (the FIFO one needs a path: see `fifoModule`).
    static var all: [(name: String, writer: TestTraceWriter)] {
        var list: [(String, TestTraceWriter)] = [("plain", trace())]
        func add(_ name: String, _ change: (inout Options) -> Void) {
            var o = Options()
            change(&o)
            list.append((name, trace(o)))
        }
        add("size-max") { $0.sizes = [.max, .max, 16, .max] }
        add("size-2p63") { $0.sizes = [1 << 63, 1 << 63, 1 << 63, 16] }
        add("size-2p62") { $0.sizes = [1 << 62, 1 << 62, 1 << 62, 1 << 62] }
        add("rss-max") { $0.rss = .max }
        add("thread-max") { $0.thread = UInt64(UInt32.max) }
        add("stack-2p31") { $0.firstStack = 1 << 31 }
        add("stack-top") { $0.firstStack = UInt64(UInt32.max) - 3 }
        add("deep-stack") { $0.depth = 50_000 }
        add("deep-sites") { $0.depth = 10_000; $0.sitesAlongTheStack = 4_000 }
        add("ticks-top") { $0.ticksStart = UInt64.max - 1_000_000 }
        return list
    }

    /// A trace whose module path is `path` (a FIFO, a directory, a device).
    static func naming(module path: String) -> TestTraceWriter {
        var o = Options()
        o.modulePath = path
        return trace(o)
    }

    /// A trace whose heap ends with `count` live blocks of 512 bytes (`count` / 2 MiB of heap): the
    /// replay's tables grow with it.
    static func liveBlocks(_ count: Int) -> TestTraceWriter {
        var w = TestTraceWriter()
        let t0: UInt64 = 1_000_000
        w.process(startTicks: t0, startNs: t0)
        w.thread(index: 1, tid: 4243, ticks: t0, name: "main")
        w.stackNodes(first: 1, [(parent: 0, ip: bias + 0x1000)])
        var t = t0
        var done = 0
        while done < count {
            let n = min(10_000, count - done)
            w.chunk(thread: 1, base: t, flush: false) { ch in
                for i in done..<(done + n) {
                    t += 1
                    ch.alloc(at: t, addr: heapStart + UInt64(i) * 512, size: 512, stack: 1)
                }
            }
            done += n
            w.sync(watermark: t + 1, monotonicNs: t + 1)
        }
        w.end(ticks: t + 2, monotonicNs: t + 2, written: 0)
        return w
    }

    /// A trace with `count` marks.
    static func marks(_ count: Int) -> TestTraceWriter {
        var o = Options()
        o.marks = count
        return trace(o)
    }
}
