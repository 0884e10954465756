/// Finds the live block holding an address among blocks sorted by address, for millions of
/// random lookups: a binary search over all blocks misses the cache at nearly every step, so each
/// region where blocks can lie gets a table of its 4 KiB pages, each page pointing at the blocks
/// that start in it; a lookup is a search among the few regions, one table read, and a binary
/// search among the blocks of one page. (Pages grow beyond 4 KiB when the regions are huge: the
/// table stays under 32 Mi entries, and under four entries a block, so that a trace's huge regions
/// with few blocks in them cost no time: pages then hold about one block each.)
struct BlockIndex {
    private var pageShift: UInt64 = 12

    /// Regions that can hold blocks, ascending: start, end, and where their pages begin in `pages`.
    private var starts: [UInt64] = []
    private var ends: [UInt64] = []
    private var firstPage: [Int] = []
    /// For page `k` of a region: the index of the first block starting at or after the page's
    /// start; one more entry after each region's last page.
    private var pages: [Int32] = []

    /// `regions`: `[start, end)` pairs, sorted and disjoint; `addresses` sorted.
    init(regions unsorted: [(start: UInt64, end: UInt64)], addresses: [UInt64]) {
        let regions = unsorted.filter { $0.end > $0.start }.sorted { $0.start < $1.start }
        func pageCount(_ shift: UInt64) -> UInt64 {
            regions.reduce(0) { $0 &+ (($1.end &- $1.start) >> shift) &+ 2 }
        }
        let limit = UInt64(min(1 << 25, max(4 * addresses.count, 1 << 16)))
        while pageShift < 63 && pageCount(pageShift) > limit { pageShift += 1 }
        var block = 0
        let n = addresses.count
        for r in regions {
            starts.append(r.start)
            ends.append(r.end)
            firstPage.append(pages.count)
            let count = Int(((r.end - r.start) >> pageShift) + 1)
            pages.reserveCapacity(pages.count + count + 1)
            // blocks below this region's start
            while block < n && addresses[block] < r.start { block += 1 }
            for k in 0...count {
                let pageStart = r.start &+ UInt64(k) << pageShift
                while block < n && addresses[block] < pageStart && (k < count || addresses[block] < r.end) { block += 1 }
                pages.append(Int32(truncatingIfNeeded: block))
            }
        }
    }

    /// Entries of the page table (for tests).
    var pageTableCount: Int { pages.count }

    /// The block whose `[start, start + max(size, 1))` holds `a`, or nil.
    @inline(__always)
    func find(_ a: UInt64, _ addresses: UnsafeBufferPointer<UInt64>, _ sizes: UnsafeBufferPointer<UInt64>) -> Int? {
        // the region (few of them)
        var lo = 0, hi = starts.count
        while lo < hi {
            let mid = (lo &+ hi) >> 1
            if starts[mid] <= a { lo = mid &+ 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let r = lo &- 1
        guard a < ends[r] else { return nil }
        let page = firstPage[r] &+ Int((a &- starts[r]) >> pageShift)
        // the last block starting at or below a: among those starting in a's page, else the one
        // before them (which may reach into the page)
        var blo = Int(pages[page]), bhi = Int(pages[page &+ 1])
        while blo < bhi {
            let mid = (blo &+ bhi) >> 1
            if addresses[mid] <= a { blo = mid &+ 1 } else { bhi = mid }
        }
        guard blo > 0 else { return nil }
        let i = blo &- 1
        return a &- addresses[i] < max(sizes[i], 1) ? i : nil
    }
}
