import XCTest
import TraceFormat
import TraceReader

/// Damaged data gives a clear error (or, where the damage is undetectable, a decode); never a trap.
final class CorruptionTests: XCTestCase {
    /// Replays `bytes` both ways; returns the errors (nil for a decode without error). Fails on a
    /// non-TraceError.
    private func attempt(_ bytes: [UInt8], _ what: String) -> [TraceError?] {
        let path = TempTrace.write(bytes, name: "corrupt.atrace")
        var results: [TraceError?] = []
        for order in [ReplayOrder.merged, .file] {
            do {
                let reader = try TraceReader(path: path)
                var n = 0
                _ = try reader.replay(order: order, records: { _ in }, events: { n += $0.count })
                results.append(nil)
            } catch let e as TraceError {
                XCTAssertFalse(e.description.isEmpty)
                XCTAssertFalse(e.description.contains("\n"), "\(what): multi-line message")
                results.append(e)
            } catch {
                XCTFail("\(what): unexpected error \(error)")
            }
        }
        return results
    }

    func testFlippedCompressedBytes() {
        for checksum in [false, true] {
            let full = TruncationTests.smallTrace().fileBytes(checksum: checksum)
            var errors = 0
            for i in 0..<full.count {
                for mask: UInt8 in [0xFF, 0x01, 0x80] {
                    var bytes = full
                    bytes[i] ^= mask
                    let results = attempt(bytes, "byte \(i) ^ \(mask) checksum \(checksum)")
                    errors += results.filter { $0 != nil }.count
                    if i < 8 {
                        XCTAssertEqual(results.first!, .notATrace(path: TempTrace.directory + "/corrupt.atrace"))
                    } else if i < 10 {
                        guard case .unsupportedVersion = results.first! else { return XCTFail("byte \(i): \(results)") }
                    }
                }
            }
            XCTAssertGreaterThan(errors, 0)
        }
    }

    func testFlippedRecordBytes() {
        // Damage the records themselves (the zstd data stays valid).
        let w = TruncationTests.smallTrace()
        var errors = 0
        for i in 0..<w.stream.count {
            for mask: UInt8 in [0xFF, 0x01, 0x40, 0x80] {
                var stream = w.stream
                stream[i] ^= mask
                let bytes = TestTraceWriter.header() + TestTraceWriter.compress(stream)
                errors += attempt(bytes, "stream byte \(i) ^ \(mask)").filter { $0 != nil }.count
            }
        }
        XCTAssertGreaterThan(errors, 0)
        // Random garbage after a valid process record.
        var rng = SplitMix(seed: 7)
        for round in 0..<300 {
            var s = TestTraceWriter()
            s.process()
            var stream = s.stream
            for _ in 0..<(rng.next() % 200) { stream.append(UInt8(truncatingIfNeeded: rng.next())) }
            _ = attempt(TestTraceWriter.header() + TestTraceWriter.compress(stream), "garbage round \(round)")
        }
    }

    private func trace(_ build: (inout TestTraceWriter) -> Void) -> [UInt8] {
        var w = TestTraceWriter()
        w.process(startTicks: 0, startNs: 0)
        build(&w)
        return w.fileBytes()
    }

    func testShortPayload() throws {
        let bytes = trace { $0.record(RecordKind.thread.rawValue, [1]) }
        assertCorrupt("record 2 (thread, 1 bytes): the payload is shorter than its fields") {
            _ = try open(bytes).replay(events: { _ in })
        }
        let sync = trace { $0.record(RecordKind.sync.rawValue, [5, 5]) }
        assertCorrupt("record 2 (sync, 2 bytes): the payload is shorter than its fields") {
            _ = try open(sync).replay(events: { _ in })
        }
        let chunk = trace { $0.record(RecordKind.chunk.rawValue, [1]) }
        assertCorrupt("record 2 (chunk, 1 bytes): the payload is shorter than its fields") {
            _ = try open(chunk).replay(events: { _ in })
        }
        // A longer payload than the fields is fine (fields added within a version).
        let longer = trace { w in
            var p: [UInt8] = [1, 7, 3]
            TestTraceWriter.string("x", into: &p)
            w.record(RecordKind.thread.rawValue, p + [0xAA, 0xBB])
        }
        let reader = try open(longer)
        _ = try reader.replay(events: { _ in })
        XCTAssertEqual(reader.threads[1], TraceThread(index: 1, tid: 7, ticks: 3, name: "x"))
    }

    func testProcessRecordDamage() {
        var w = TestTraceWriter()
        w.record(RecordKind.process.rawValue, [1, 2, 3])
        assertCorrupt("record 1 (process, 3 bytes): the payload is shorter than its fields") {
            _ = try open(w.fileBytes())
        }
        var t = TestTraceWriter()
        t.thread(index: 1, tid: 1, ticks: 0, name: "a")
        assertCorrupt("the first record is thread, not process") { _ = try open(t.fileBytes()) }
    }

    func testUnknownEventKind() throws {
        let bytes = trace { w in
            w.chunk(thread: 1, base: 0) { c in
                c.alloc(at: 5, addr: 0x10, size: 1, stack: 0)
                c.raw([0x2A, 0])
            }
            w.end(ticks: 10, monotonicNs: 10, written: 2)
        }
        for order in [ReplayOrder.merged, .file] {
            var delivered: [TraceEvent] = []
            assertCorrupt("record 2 (chunk of thread 1), event at byte 5 of its events: unknown event kind 42") {
                _ = try open(bytes).replay(order: order, events: { delivered += $0 })
            }
            // What came before the damage was delivered.
            XCTAssertEqual(delivered, [TraceEvent(kind: .malloc, thread: 1, ticks: 5, address: 0x10, size: 1)])
        }
        // The type flag on a kind that carries no type (on a free it says a stack follows).
        let typedMark = trace { $0.chunk(thread: 3, base: 0) { $0.raw([0x8B, 0, 0]) } }
        assertCorrupt("record 2 (chunk of thread 3), event at byte 0 of its events: unknown event kind 139") {
            _ = try open(typedMark).replay(events: { _ in })
        }
        var freed: [TraceEvent] = []
        let stackedFree = trace { $0.chunk(thread: 3, base: 0) { $0.raw([0x8A, 0, 0, 4]) } }
        XCTAssertNoThrow(try open(stackedFree).replay(events: { freed += $0 }))
        XCTAssertEqual(freed.map(\.stack), [2])
        let zero = trace { $0.chunk(thread: 3, base: 0) { $0.raw([0]) } }
        assertCorrupt("record 2 (chunk of thread 3), event at byte 0 of its events: unknown event kind 0") {
            _ = try open(zero).replay(events: { _ in })
        }
    }

    func testEventCutByItsChunk() {
        let bytes = trace { $0.chunk(thread: 1, base: 0) { $0.raw([EventKind.malloc.rawValue, 1, 2]) } }
        assertCorrupt("record 2 (chunk of thread 1), event at byte 0 of its events: an event (kind 1) is cut off by the end of its chunk") {
            _ = try open(bytes).replay(events: { _ in })
        }
        let label = trace { $0.chunk(thread: 1, base: 0) { $0.raw([EventKind.mark.rawValue, 0, 9, 0x41]) } }
        assertCorrupt("record 2 (chunk of thread 1), event at byte 0 of its events: an event (kind 11) is cut off by the end of its chunk") {
            _ = try open(label).replay(order: .file, events: { _ in })
        }
    }

    func testImpossibleValues() {
        let parent = trace { $0.stackNodes(first: 1, [(0, 0x10), (2, 0x20)]) }
        assertCorrupt("record 2 (stack_nodes, 6 bytes): stack node 2 has parent 2 (a parent's id must be smaller)") {
            _ = try open(parent).replay(events: { _ in })
        }
        let zeroID = trace { $0.stackNodes(first: 0, [(0, 0x10)]) }
        assertCorrupt("record 2 (stack_nodes, 4 bytes): stack node id 0 (the empty stack) is defined") {
            _ = try open(zeroID).replay(events: { _ in })
        }
        let ticks = trace { $0.chunk(thread: 1, base: UInt64.max - 1) { $0.raw([EventKind.threadExit.rawValue, 5]) } }
        assertCorrupt("record 2 (chunk of thread 1), event at byte 0 of its events: event ticks overflow 64 bits") {
            _ = try open(ticks).replay(events: { _ in })
        }
        let stack = trace { $0.chunk(thread: 1, base: 0) { $0.raw([EventKind.malloc.rawValue, 0, 0, 1, 1]) } }  // stack -1
        assertCorrupt("record 2 (chunk of thread 1), event at byte 0 of its events: a stack id delta -1 from 0 leaves the 32-bit range") {
            _ = try open(stack).replay(events: { _ in })
        }
        let thread = trace { w in
            var p: [UInt8] = []
            TestTraceWriter.varint(1 << 33, into: &p)
            p.append(0)
            w.record(RecordKind.chunk.rawValue, p)
        }
        assertCorrupt("record 2 (chunk, 6 bytes): thread index 8589934592 does not fit 32 bits") {
            _ = try open(thread).replay(events: { _ in })
        }
        let overlong = trace { $0.record(RecordKind.sync.rawValue, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0, 0]) }
        assertCorrupt("record 2 (sync, 12 bytes): a varint is longer than 64 bits") {
            _ = try open(overlong).replay(events: { _ in })
        }
        var huge = TestTraceWriter()
        huge.process()
        var stream = huge.stream
        stream.append(RecordKind.chunk.rawValue)
        TestTraceWriter.varint(1 << 40, into: &stream)
        let hugeBytes = TestTraceWriter.header() + TestTraceWriter.compress(stream)
        assertCorrupt("the record at byte \(huge.stream.count) of the data claims a length of 1099511627776 bytes, more than any record can have") {
            _ = try open(hugeBytes).replay(events: { _ in })
        }
    }

    func testBadZstdData() {
        let bytes = TestTraceWriter.header() + [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
        assertCorrupt("bad zstd data (Unknown frame descriptor)") { _ = try open(bytes) }
        // Garbage after a good frame.
        let good = TruncationTests.smallTrace().fileBytes()
        assertCorrupt("bad zstd data (Unknown frame descriptor)") {
            _ = try open(good + [0x11, 0x22, 0x33, 0x44, 0x55]).replay(events: { _ in })
        }
        // A damaged checksum.
        var sum = TruncationTests.smallTrace().fileBytes(checksum: true)
        sum[sum.count - 1] ^= 0xFF
        assertCorrupt("bad zstd data (Restored data doesn't match checksum)") {
            _ = try open(sum).replay(events: { _ in })
        }
    }
}
