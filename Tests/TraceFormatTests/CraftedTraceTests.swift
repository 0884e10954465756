import Foundation
import TraceReader
import XCTest

/// The reader bounds the ids that analyses index tables with by what the trace can hold.
final class TraceBoundsTests: XCTestCase {
    func replayError(_ writer: TestTraceWriter) -> String? {
        let path = TempTrace.write(writer.fileBytes(), name: "bounds.atrace")
        do {
            let reader = try TraceReader(path: path)
            _ = try reader.replay { _ in }
            return nil
        } catch {
            return "\(error)"
        }
    }

    func testThreadIndexBeyondWhatTheTraceHolds() {
        var o = CraftedTraces.Options()
        o.thread = UInt64(UInt32.max)
        let message = replayError(CraftedTraces.trace(o))
        XCTAssert(message?.contains("thread index 4294967295 is beyond any the trace can have given out") == true,
                  message ?? "no error")
        o.thread = 70_000   // above the floor, but a trace of that many bytes could have it
        XCTAssertNotNil(replayError(CraftedTraces.trace(o)))
        o.thread = 60_000
        XCTAssertNil(replayError(CraftedTraces.trace(o)))
    }

    func testStackIdBeyondWhatTheTraceHolds() {
        var o = CraftedTraces.Options()
        o.firstStack = 1 << 31
        let message = replayError(CraftedTraces.trace(o))
        XCTAssert(message?.contains("stack id 2147483650 is beyond any the trace can have defined so far") == true,
                  message ?? "no error")
        o.firstStack = 60_000
        XCTAssertNil(replayError(CraftedTraces.trace(o)))
    }

    func testLargestID() {
        XCTAssertEqual(TraceBounds.largestID(afterBytes: 0), 65_536)
        XCTAssertEqual(TraceBounds.largestID(afterBytes: 1000), 66_536)
        XCTAssertEqual(TraceBounds.largestID(afterBytes: .max), .max)
        XCTAssertEqual(TraceBounds.largestID(afterBytes: 1 << 40), .max)
    }
}
