import XCTest
import TraceFormat
import TraceReader

/// What one replay delivered, in delivery order.
struct Replayed {
    var records: [TraceRecord] = []
    var events: [TraceEvent] = []
    /// Events and sync/end records interleaved as delivered, one short line each.
    var log: [String] = []
    var summary = ReplaySummary()
}

func line(_ e: TraceEvent) -> String {
    var s = "T\(e.thread) \(e.kind.name) \(e.ticks)"
    switch e.kind {
    case .realloc, .reallocarray: s += " 0x\(String(e.oldAddress, radix: 16))->0x\(String(e.address, radix: 16))"
    case .mark, .rss, .threadExit: break
    default: s += " 0x\(String(e.address, radix: 16))"
    }
    return s
}

@discardableResult
func replay(_ reader: TraceReader, order: ReplayOrder = .merged) throws -> Replayed {
    var r = Replayed()
    r.summary = try reader.replay(order: order, records: { rec in
        r.records.append(rec)
        switch rec {
        case let .sync(s): r.log.append("sync \(s.watermark)")
        case .end: r.log.append("end")
        default: break
        }
    }, events: { batch in
        r.events.append(contentsOf: batch)
        for e in batch { r.log.append(line(e)) }
    })
    return r
}

func open(_ bytes: [UInt8], name: String = "t.atrace") throws -> TraceReader {
    try TraceReader(path: TempTrace.write(bytes, name: name))
}

/// Asserts that `body` throws exactly `TraceError.corrupt` with this detail.
func assertCorrupt(_ detail: String, file: StaticString = #filePath, line: UInt = #line,
                   _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("no error; expected corrupt: \(detail)", file: file, line: line)
    } catch let TraceError.corrupt(_, got) {
        XCTAssertEqual(got, detail, file: file, line: line)
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
}
