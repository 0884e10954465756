import XCTest
import TraceFormat
import TraceReader

/// `heap_snapshot` and `type_layout` records decode to exactly the values written; short payloads
/// are corrupt, never a trap.
final class HeapGraphRecordTests: XCTestCase {
    static func varint(_ v: UInt64, _ out: inout [UInt8]) { TestTraceWriter.varint(v, into: &out) }

    /// An address delta as the recorder writes it (AddressDelta.write).
    static func addressDelta(_ value: UInt64, against base: UInt64, _ out: inout [UInt8]) {
        var buffer = [UInt8](repeating: 0, count: 16)
        let n = buffer.withUnsafeMutableBufferPointer { p in
            AddressDelta.write(value, against: base, to: p.baseAddress!) - p.baseAddress!
        }
        out += buffer[0..<n]
    }

    static func layoutPayload() -> [UInt8] {
        var p: [UInt8] = []
        varint(7, &p)          // type id
        varint(40, &p)         // instance size
        varint(3, &p)          // fields: own first, then the superclass's
        varint(24, &p); p.append(1); TestTraceWriter.string("watched", into: &p)
        varint(32, &p); p.append(2); TestTraceWriter.string("owner", into: &p)
        varint(16, &p); p.append(0); TestTraceWriter.string("next", into: &p)
        return p
    }

    static func snapshotTrace(words wordsPayload: [UInt8]? = nil, layout: [UInt8]? = nil) -> TestTraceWriter {
        var w = TestTraceWriter()
        w.process()
        w.type(id: 7, metadata: 0x5555_0000_8000, name: "MyApp.Node")
        w.record(RecordKind.typeLayout.rawValue, layout ?? layoutPayload())
        var begin: [UInt8] = [0]
        varint(1, &begin); varint(1_000_500, &begin); begin.append(0); varint(1, &begin)
        w.record(RecordKind.heapSnapshot.rawValue, begin)
        var regions: [UInt8] = [1]
        varint(2, &regions)
        varint(0x5555_0001_0000, &regions); varint(0x5555_0001_2000, &regions); regions.append(0); varint(1, &regions)
        varint(0x5555_1000_0000, &regions); varint(0x5555_1002_1000, &regions); regions.append(3); varint(0, &regions)
        w.record(RecordKind.heapSnapshot.rawValue, regions)
        var words: [UInt8] = [2]
        varint(1, &words)      // region 1 (the heap)
        varint(3, &words)      // three words
        varint(2, &words); addressDelta(0x5555_1000_0100, against: 0, &words)               // at start + 16
        varint(1, &words); addressDelta(0x5555_1000_0108, against: 0x5555_1000_0100, &words) // at start + 24, unaligned value
        varint(100, &words); addressDelta(0x5555_1000_0020, against: 0x5555_1000_0108, &words) // at start + 824, going down
        w.record(RecordKind.heapSnapshot.rawValue, wordsPayload ?? words)
        var end: [UInt8] = [3]
        varint(1, &end); varint(0x22000, &end); varint(3, &end); varint(12345, &end)
        w.record(RecordKind.heapSnapshot.rawValue, end)
        w.record(RecordKind.heapSnapshot.rawValue, [99, 1, 2])   // a part this reader does not know
        w.end(ticks: 1_000_600, monotonicNs: 1_000_600, written: 0)
        return w
    }

    func testSnapshotPartsAndLayout() throws {
        let reader = try open(Self.snapshotTrace().fileBytes())
        let r = try replay(reader)
        let graphRecords = r.records.filter {
            switch $0 {
            case .heapSnapshot, .typeLayout, .unknown: return true
            default: return false
            }
        }
        let layout = TypeLayout(typeID: 7, instanceSize: 40, fields: [
            .init(offset: 24, ownershipRaw: 1, name: "watched"),
            .init(offset: 32, ownershipRaw: 2, name: "owner"),
            .init(offset: 16, ownershipRaw: 0, name: "next"),
        ])
        XCTAssertEqual(graphRecords, [
            .typeLayout(layout),
            .heapSnapshot(.begin(HeapSnapshotBegin(snapshotID: 1, ticks: 1_000_500, triggerRaw: 0, threadIndex: 1))),
            .heapSnapshot(.regions([
                HeapRegion(start: 0x5555_0001_0000, end: 0x5555_0001_2000, kindRaw: 0, owner: 1),
                HeapRegion(start: 0x5555_1000_0000, end: 0x5555_1002_1000, kindRaw: 3, owner: 0),
            ])),
            .heapSnapshot(.words(HeapWords(regionIndex: 1, offsets: [16, 24, 824],
                                           values: [0x5555_1000_0100, 0x5555_1000_0108, 0x5555_1000_0020]))),
            .heapSnapshot(.end(HeapSnapshotEnd(snapshotID: 1, bytesScanned: 0x22000, wordsWritten: 3, durationNanoseconds: 12345))),
            .unknown(kind: RecordKind.heapSnapshot.rawValue, length: 3),
        ])
        XCTAssertTrue(r.summary.complete)

        // the layout is in the reader's tables, looked up by offset
        let stored = try XCTUnwrap(reader.types.layout(of: 7))
        XCTAssertEqual(stored, layout)
        XCTAssertNil(reader.types.layout(of: 8))
        XCTAssertEqual(reader.types.layoutCount, 1)
        XCTAssertNil(stored.field(containing: 8))                 // the header
        XCTAssertEqual(stored.field(containing: 16)?.name, "next")
        XCTAssertEqual(stored.field(containing: 20)?.name, "next")
        XCTAssertEqual(stored.field(containing: 24)?.ownership, .weak)
        XCTAssertEqual(stored.field(containing: 39)?.ownership, .unowned)
        XCTAssertNil(stored.field(containing: 40))                // tail elements
        XCTAssertEqual(HeapRegion(start: 0, end: 1, kindRaw: 1, owner: 0).kind, .stack)
        XCTAssertNil(HeapRegion(start: 0, end: 1, kindRaw: 9, owner: 0).kind)
    }

    func testShortPayloadsAreCorrupt() throws {
        // three words announced, one written
        var words: [UInt8] = [2]
        Self.varint(1, &words); Self.varint(3, &words)
        Self.varint(2, &words); Self.addressDelta(0x5555_1000_0100, against: 0, &words)
        let truncated = Self.snapshotTrace(words: words)
        for order in [ReplayOrder.merged, .file] {
            let reader = try open(truncated.fileBytes())
            assertCorrupt("record 6 (heap_snapshot, \(words.count) bytes): the payload is shorter than its fields") {
                try reader.replay(order: order, records: { _ in }, events: { _ in })
            }
        }
        // an unaligned value's low byte missing
        var low: [UInt8] = [2]
        Self.varint(1, &low); Self.varint(1, &low); Self.varint(2, &low)
        Self.addressDelta(0x5555_1000_0108, against: 0, &low)
        low.removeLast()
        let reader = try open(Self.snapshotTrace(words: low).fileBytes())
        assertCorrupt("record 6 (heap_snapshot, \(low.count) bytes): the payload is shorter than its fields") {
            try reader.replay(records: { _ in }, events: { _ in })
        }
        // a layout whose field list is cut inside a name
        let layout = Array(Self.layoutPayload().dropLast(2))
        let cut = try open(Self.snapshotTrace(layout: layout).fileBytes())
        assertCorrupt("record 3 (type_layout, \(layout.count) bytes): the payload is shorter than its fields") {
            try cut.replay(records: { _ in }, events: { _ in })
        }
        // a huge field count is short, not an allocation
        var huge: [UInt8] = []
        Self.varint(7, &huge); Self.varint(40, &huge); Self.varint(UInt64(1) << 60, &huge)
        let hugeReader = try open(Self.snapshotTrace(layout: huge).fileBytes())
        assertCorrupt("record 3 (type_layout, \(huge.count) bytes): the payload is shorter than its fields") {
            try hugeReader.replay(records: { _ in }, events: { _ in })
        }
    }

    func testEveryPrefixOfASnapshotPartIsShortNotATrap() throws {
        var words: [UInt8] = [2]
        Self.varint(1, &words); Self.varint(2, &words)
        Self.varint(2, &words); Self.addressDelta(0x5555_1000_0108, against: 0, &words)
        Self.varint(1, &words); Self.addressDelta(0x5555_1000_0200, against: 0x5555_1000_0108, &words)
        for n in 1..<words.count {
            let reader = try open(Self.snapshotTrace(words: Array(words.prefix(n))).fileBytes())
            XCTAssertThrowsError(try reader.replay(records: { _ in }, events: { _ in }), "prefix \(n)") { error in
                guard case TraceError.corrupt = error else { return XCTFail("prefix \(n): \(error)") }
            }
        }
    }
}
