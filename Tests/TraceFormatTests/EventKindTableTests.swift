import XCTest
import TraceFormat
@testable import TraceReader

/// The kind ranges tables and the decoder are sized by hold for every kind there is.
final class EventKindTableTests: XCTestCase {
    func testKindsAreNumberedFromOneWithoutGaps() {
        XCTAssertEqual(EventKind.allCases.map(\.rawValue), Array(1...EventKind.lastRawValue))
    }

    func testTypedKindsAreTheAllocationsAndReallocations() {
        let typed = EventKind.allCases.filter { $0.rawValue <= EventKind.lastTypedRawValue }
        XCTAssertEqual(typed, EventKind.allCases.filter { $0.isPlainAllocation || $0 == .realloc || $0 == .reallocarray })
    }

    func testTheDecoderKnowsEveryKind() {
        for kind in EventKind.allCases { XCTAssertEqual(EventDecoder.kind(kind.rawValue), kind) }
        XCTAssertNil(EventDecoder.kind(EventKind.lastRawValue + 1))
        XCTAssertNil(EventDecoder.kind(0))
    }

    func testCallsAreTheProgramsEntryPoints() {
        XCTAssertEqual(EventKind.allCases.filter(\.isCall).map(\.name),
                       ["malloc", "calloc", "memalign", "posix_memalign", "aligned_alloc", "valloc", "pvalloc",
                        "realloc", "reallocarray", "free"])
    }
}
