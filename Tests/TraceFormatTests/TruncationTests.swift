import XCTest
import TraceFormat
import TraceReader

/// A trace cut short anywhere decodes everything before the cut and says it is incomplete.
final class TruncationTests: XCTestCase {
    static func smallTrace() -> TestTraceWriter {
        var w = TestTraceWriter()
        w.process(startTicks: 0, startNs: 0)
        w.thread(index: 1, tid: 100, ticks: 1, name: "main")
        w.chunk(thread: 1, base: 10) { c in
            c.alloc(at: 10, addr: 0x1000, size: 24, stack: 1)
            c.mark(at: 12, "start")
        }
        w.stackNodes(first: 1, [(0, 0x401000)])
        w.chunk(thread: 2, base: 11) { c in
            c.alloc(at: 11, addr: 0x2000, size: 8, stack: 1, type: 1)
            c.free(at: 15, addr: 0x1000)
        }
        w.type(id: 1, metadata: 0x500000, name: "T")
        w.sync(watermark: 14, monotonicNs: 14)
        w.chunk(thread: 1, base: 20) { c in c.realloc(at: 20, old: 0x2000, new: 0x3000, size: 16, stack: 1) }
        w.end(ticks: 30, monotonicNs: 30, written: 5)
        return w
    }

    func testEveryPrefix() throws {
        let w = Self.smallTrace()
        let full = w.fileBytes()
        let reference = try replay(open(full), order: .file)
        XCTAssertTrue(reference.summary.complete)
        XCTAssertEqual(reference.records.count, 9)
        XCTAssertEqual(reference.events.count, 5)

        var completeFrom: Int?
        var lastRecordCount = 0
        for length in 0...full.count {
            let bytes = Array(full.prefix(length))
            let path = TempTrace.write(bytes, name: "prefix.atrace")
            if length == 0 {
                XCTAssertThrowsError(try TraceReader(path: path)) { e in
                    XCTAssertEqual(e as? TraceError, .empty(path: path))
                }
                continue
            }
            let reader: TraceReader
            do { reader = try TraceReader(path: path) } catch {
                XCTFail("prefix \(length): \(error)")
                continue
            }
            XCTAssertEqual(reader.headerComplete, length >= 16)
            var fileEvents: [TraceEvent] = []
            for order in [ReplayOrder.file, .merged] {
                let r: Replayed
                do { r = try replay(reader, order: order) } catch {
                    XCTFail("prefix \(length) \(order): \(error)")
                    continue
                }
                let endWhole = r.records.last.map { if case .end = $0 { true } else { false } } ?? false
                XCTAssertEqual(r.summary.complete, endWhole, "prefix \(length)")
                XCTAssertEqual(r.summary.cutShortReason == nil, endWhole, "prefix \(length)")
                XCTAssertEqual(Array(reference.records.prefix(r.records.count)), r.records, "prefix \(length)")
                if order == .file {
                    XCTAssertEqual(Array(reference.events.prefix(r.events.count)), r.events, "prefix \(length)")
                    XCTAssertGreaterThanOrEqual(r.records.count, lastRecordCount, "prefix \(length)")
                    lastRecordCount = r.records.count
                    if r.summary.complete && completeFrom == nil { completeFrom = length }
                    if let from = completeFrom { XCTAssertTrue(r.summary.complete, "prefix \(length) after \(from)") }
                    fileEvents = r.events
                } else {
                    // Merged: the same events, each thread's in its own order, sorted by ticks.
                    XCTAssertEqual(r.events.count, fileEvents.count, "prefix \(length)")
                    for t: UInt32 in 0...2 {
                        XCTAssertEqual(r.events.filter { $0.thread == t }, fileEvents.filter { $0.thread == t }, "prefix \(length)")
                    }
                    XCTAssertEqual(r.events.map(\.ticks), r.events.map(\.ticks).sorted(), "prefix \(length)")
                }
                if length < 16 {
                    XCTAssertEqual(r.summary.cutShortReason, "the file ends inside its 16-byte header")
                    XCTAssertEqual(r.records.count, 0)
                }
            }
        }
        XCTAssertNotNil(completeFrom)
        XCTAssertLessThan(completeFrom!, full.count + 1)
    }

    func testCutReasons() throws {
        let w = Self.smallTrace()
        // Cut inside the fourth record (the stack_nodes), the frame left open.
        let cutInRecord = w.recordStarts[3] + 3
        var r = try replay(open(w.cutFileBytes(streamPrefix: cutInRecord)))
        XCTAssertFalse(r.summary.complete)
        XCTAssertEqual(r.summary.cutShortReason, "the data ends inside record 4, after 3 whole records")
        XCTAssertEqual(r.records.count, 3)
        // Thread 1's events were held (no sync yet) and are released at the end of the data.
        XCTAssertEqual(r.log, ["T1 malloc 10 0x1000", "T1 mark 12"])

        // Cut right after the third record, the frame left open.
        r = try replay(open(w.cutFileBytes(streamPrefix: w.recordStarts[3])))
        XCTAssertEqual(r.summary.cutShortReason, "the data ends inside a zstd frame after 3 records; the last is chunk")

        // A finished frame without an end record.
        var noEnd = Self.smallTrace()
        noEnd = TestTraceWriter()
        noEnd.process()
        noEnd.thread(index: 1, tid: 1, ticks: 1, name: "x")
        r = try replay(open(noEnd.fileBytes()))
        XCTAssertEqual(r.summary.cutShortReason, "there is no end record; the data stops after 2 records; the last is thread")

        // Only the header.
        let reader = try open(TestTraceWriter.header())
        XCTAssertNil(reader.process)
        r = try replay(reader)
        XCTAssertEqual(r.summary.cutShortReason, "the trace holds no records")
        XCTAssertEqual(r.summary.records, 0)

        // The header and part of the first frame.
        let partial = Array(w.fileBytes().prefix(20))
        r = try replay(open(partial))
        XCTAssertEqual(r.summary.cutShortReason, "the data ends inside the first zstd frame, before any whole record")
    }

    func testLargeRecordGrowsTheWindow() throws {
        // One chunk far bigger than the reader's initial 4 MiB window, then a cut inside a second one.
        var w = TestTraceWriter()
        w.process(startTicks: 0, startNs: 0)
        let n = 700_000
        w.chunk(thread: 1, base: 0) { c in
            for i in 0..<n { c.alloc(at: UInt64(i), addr: UInt64(0x10_0000 + (i % 1000) * 4096), size: UInt64(i), stack: UInt32(i % 3)) }
        }
        w.end(ticks: UInt64(n), monotonicNs: UInt64(n), written: UInt64(n))
        XCTAssertGreaterThan(w.stream.count, 5 << 20)
        var count = 0
        var last = TraceEvent(kind: .free)
        let s = try open(w.fileBytes()).replay { b in count += b.count; last = b[b.count - 1] }
        XCTAssertTrue(s.complete)
        XCTAssertEqual(count, n)
        XCTAssertEqual(last, TraceEvent(kind: .malloc, thread: 1, ticks: UInt64(n - 1),
                                        address: UInt64(0x10_0000 + ((n - 1) % 1000) * 4096), size: UInt64(n - 1),
                                        stack: UInt32((n - 1) % 3)))
        // Cut in the middle of the big record.
        let cut = try replay(open(w.cutFileBytes(streamPrefix: w.stream.count / 2)))
        XCTAssertEqual(cut.summary.cutShortReason, "the data ends inside record 2, after 1 whole records")
        XCTAssertEqual(cut.events.count, 0)
    }
}
