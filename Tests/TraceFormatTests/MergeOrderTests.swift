import XCTest
import TraceFormat
import TraceReader

/// The ordered replay: events of different threads merged by ticks at each sync watermark.
final class MergeOrderTests: XCTestCase {
    func testTwoThreadsCarryOverAndCrossThreadReuse() throws {
        var w = TestTraceWriter()
        w.process(startTicks: 0, startNs: 0)
        // Thread 2's chunk comes first in the file, though thread 1 allocated A before thread 2 freed it.
        w.chunk(thread: 2, base: 105) { c in
            c.free(at: 120, addr: 0xA000)                       // frees thread 1's A
            c.alloc(at: 130, addr: 0xA000, size: 16, stack: 2)  // reuses A at the tick of thread 1's malloc
            c.realloc(at: 150, old: 0xD000, new: 0xC000, size: 32, stack: 2)  // gets C, freed by thread 1 at 150
            c.alloc(at: 160, addr: 0xE000, size: 8, stack: 2)
        }
        w.chunk(thread: 1, base: 100) { c in
            c.alloc(at: 100, addr: 0xA000, size: 16, stack: 1)
            c.alloc(at: 130, addr: 0xB000, size: 16, stack: 1)
            c.free(at: 150, addr: 0xC000)
        }
        w.sync(watermark: 140, monotonicNs: 140)
        w.chunk(thread: 1, base: 200) { c in
            c.free(at: 200, addr: 0xB000)
            c.alloc(at: 250, addr: 0xF000, size: 1, stack: 1)
        }
        w.chunk(thread: 2, base: 170) { c in c.free(at: 170, addr: 0xA000) }
        w.sync(watermark: 240, monotonicNs: 240)
        w.chunk(thread: 1, base: 300) { c in c.mark(at: 300, "done") }
        w.end(ticks: 400, monotonicNs: 400, written: 11)

        let r = try replay(open(w.fileBytes()))
        XCTAssertEqual(r.log, [
            "T1 malloc 100 0xa000",
            "T2 free 120 0xa000",
            "T1 malloc 130 0xb000",     // equal ticks, both allocations: thread order
            "T2 malloc 130 0xa000",
            "sync 140",
            "T1 free 150 0xc000",       // carried over; equal ticks: the free before the realloc
            "T2 realloc 150 0xd000->0xc000",
            "T2 malloc 160 0xe000",
            "T2 free 170 0xa000",       // from a chunk after the first sync
            "T1 free 200 0xb000",
            "sync 240",
            "T1 malloc 250 0xf000",     // carried over to the end
            "T1 mark 300",
            "end",
        ])
        XCTAssertTrue(r.summary.complete)
        XCTAssertEqual(r.summary.events, 11)

        // File order: chunk by chunk.
        let f = try replay(open(w.fileBytes()), order: .file)
        XCTAssertEqual(f.log.filter { !$0.hasPrefix("sync") && $0 != "end" }, [
            "T2 free 120 0xa000", "T2 malloc 130 0xa000", "T2 realloc 150 0xd000->0xc000", "T2 malloc 160 0xe000",
            "T1 malloc 100 0xa000", "T1 malloc 130 0xb000", "T1 free 150 0xc000",
            "T1 free 200 0xb000", "T1 malloc 250 0xf000", "T2 free 170 0xa000", "T1 mark 300",
        ])
    }

    func testEqualTicksKeepEachThreadsOwnOrder() throws {
        var w = TestTraceWriter()
        w.process(startTicks: 0, startNs: 0)
        w.chunk(thread: 1, base: 500) { c in
            c.alloc(at: 500, addr: 0x100, size: 1, stack: 0)
            c.free(at: 500, addr: 0x100)   // same tick, after its malloc
            c.realloc(at: 500, old: 0, new: 0x300, size: 2, stack: 0)
        }
        w.chunk(thread: 3, base: 500) { c in c.alloc(at: 500, addr: 0x400, size: 1, stack: 0) }
        w.chunk(thread: 2, base: 500) { c in
            c.free(at: 500, addr: 0x200)
            c.alloc(at: 500, addr: 0x500, size: 1, stack: 0)
        }
        // No sync: everything is released at the end of the data.
        let r = try replay(open(w.fileBytes()))
        XCTAssertEqual(r.log, [
            "T2 free 500 0x200",
            "T1 malloc 500 0x100",
            "T1 free 500 0x100",
            "T1 realloc 500 0x0->0x300",
            "T2 malloc 500 0x500",
            "T3 malloc 500 0x400",
        ])
        XCTAssertFalse(r.summary.complete)
        XCTAssertEqual(r.summary.cutShortReason, "there is no end record; the data stops after 4 records; the last is chunk")
    }

    func testOneThreadAcrossSyncsAndBatches() throws {
        // One thread only (the no-merge path), more events than a delivery batch, chunks split across syncs.
        var w = TestTraceWriter()
        w.process(startTicks: 0, startNs: 0)
        var expected: [TraceEvent] = []
        var t: UInt64 = 10
        for chunk in 0..<40 {
            w.chunk(thread: 7, base: t, flush: chunk % 5 == 0) { c in
                for i in 0..<(chunk * 37 % 1000 + 1) {
                    let a = UInt64(0x7000_0000 + chunk * 100_000 + i * 16)
                    c.alloc(at: t, addr: a, size: UInt64(i), stack: UInt32(i % 9))
                    expected.append(TraceEvent(kind: .malloc, thread: 7, ticks: t, address: a, size: UInt64(i), stack: UInt32(i % 9)))
                    t += 2
                }
            }
            if chunk % 3 == 2 { w.sync(watermark: t - 51, monotonicNs: t - 51) }
        }
        w.end(ticks: t, monotonicNs: t, written: UInt64(expected.count))
        let r = try replay(open(w.fileBytes()))
        XCTAssertEqual(r.events.count, expected.count)
        XCTAssertEqual(r.events, expected)
        var batches = 0
        _ = try open(w.fileBytes()).replay(events: { _ in batches += 1 })
        XCTAssertGreaterThan(batches, 13)
    }

    func testManyThreadsRandomAgainstReference() throws {
        var rng = SplitMix(seed: 0xA110C)
        var w = TestTraceWriter()
        w.process(startTicks: 0, startNs: 0)
        let threads = 9
        var buffers = [ChunkWriter?](repeating: nil, count: threads)
        var bufferBase = [UInt64](repeating: 0, count: threads)
        var all: [TraceEvent] = []            // in tick order (ticks are distinct)
        var fileOrder: [TraceEvent] = []
        var pendingPerThread = [[TraceEvent]](repeating: [], count: threads)
        var lastAddr = [UInt64](repeating: 0, count: threads)
        var log: [String] = []
        var released = 0
        var t: UInt64 = 1000

        func flushThread(_ i: Int) {
            guard let c = buffers[i] else { return }
            w.chunk(thread: UInt64(i), base: bufferBase[i], flush: rng.next() % 2 == 0) { $0 = c }
            fileOrder += pendingPerThread[i]
            pendingPerThread[i] = []
            buffers[i] = nil
        }

        for step in 0..<30_000 {
            t += 1 + rng.next() % 3
            let i = Int(rng.next() % UInt64(threads))
            if buffers[i] == nil { buffers[i] = ChunkWriter(base: t); bufferBase[i] = t }
            var e: TraceEvent
            switch rng.next() % 4 {
            case 0:
                e = TraceEvent(kind: .free, thread: UInt32(i), ticks: t, address: rng.next())
                buffers[i]!.free(at: t, addr: e.address)
            case 1:
                e = TraceEvent(kind: .realloc, thread: UInt32(i), ticks: t, address: rng.next(), oldAddress: lastAddr[i],
                               size: rng.next() % 100_000, stack: UInt32(rng.next() % 5000), typeID: UInt32(rng.next() % 3))
                buffers[i]!.realloc(at: t, old: e.oldAddress, new: e.address, size: e.size, stack: e.stack,
                                    type: e.typeID == 0 ? nil : e.typeID)
            default:
                e = TraceEvent(kind: .malloc, thread: UInt32(i), ticks: t, address: rng.next() & 0xFFFF_FFFF_FFF0,
                               size: rng.next() % 1_000_000, stack: UInt32(rng.next() % 5000))
                buffers[i]!.alloc(at: t, addr: e.address, size: e.size, stack: e.stack)
            }
            lastAddr[i] = e.address != 0 ? e.address : e.oldAddress
            all.append(e)
            pendingPerThread[i].append(e)
            if rng.next() % 40 == 0 { flushThread(i) }
            if step % 1500 == 1499 {
                // Every thread flushes, then a sync whose watermark lags behind (events above it carry over).
                for j in 0..<threads { flushThread(j) }
                let wm = t - rng.next() % 400
                w.sync(watermark: wm, monotonicNs: wm)
                while released < all.count && all[released].ticks < wm { log.append(line(all[released])); released += 1 }
                log.append("sync \(wm)")
                if rng.next() % 3 == 0 { w.newFrame() }
            }
        }
        for j in 0..<threads { flushThread(j) }
        while released < all.count { log.append(line(all[released])); released += 1 }

        let r = try replay(open(w.fileBytes()))
        XCTAssertEqual(r.events.count, all.count)
        XCTAssertEqual(r.events, all)
        XCTAssertEqual(r.log, log)
        let f = try replay(open(w.fileBytes()), order: .file)
        XCTAssertEqual(f.events, fileOrder)
    }
}

/// A small deterministic random generator for reproducible tests.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
