import XCTest
@testable import TraceAnalysis

/// The block index's page table follows the blocks, not the regions' sizes: a trace's heap-graph
/// snapshot can claim a region of 2^60 bytes holding two blocks.
final class BlockIndexTests: XCTestCase {
    func testHugeRegionWithFewBlocks() {
        let addresses: [UInt64] = [0x1000_0000, 0x2000_0000_0000]
        let sizes: [UInt64] = [64, 32]
        let index = BlockIndex(regions: [(start: 0x1000, end: 1 << 60)], addresses: addresses)
        XCTAssertLessThanOrEqual(index.pageTableCount, 1 << 17)
        addresses.withUnsafeBufferPointer { a in
            sizes.withUnsafeBufferPointer { s in
                XCTAssertEqual(index.find(0x1000_0010, a, s), 0)
                XCTAssertEqual(index.find(0x2000_0000_001F, a, s), 1)
                XCTAssertNil(index.find(0x2000_0000_0020, a, s))
                XCTAssertNil(index.find(0x0FFF_FFFF, a, s))
                XCTAssertNil(index.find(1 << 61, a, s))
            }
        }
    }

    func testOrdinaryHeapKeepsFourKiBPages() {
        let addresses = (0..<10_000).map { 0x5555_0000_0000 + UInt64($0) * 48 }
        let index = BlockIndex(regions: [(start: 0x5555_0000_0000, end: 0x5555_0010_0000)], addresses: addresses)
        XCTAssertEqual(index.pageTableCount, 0x100 + 2)   // 256 pages of 4 KiB, and the entry after
    }
}
