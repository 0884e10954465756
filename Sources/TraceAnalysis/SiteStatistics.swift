import CReplaySupport

/// Per allocation stack: how much it allocated, kept, and held at the peak.
public struct SiteStatistics: Sendable {
    public var allocations: [UInt64] = []
    public var bytes: [UInt64] = []
    public var temporary: [UInt64] = []
    public var liveBytes: [UInt64] = []
    public var liveBlocks: [UInt64] = []
    /// Bytes live from this stack at the moment of the global peak (empty when there was no peak).
    public var peakBytes: [UInt64] = []
    /// Bytes whose free this stack made (traces of Python programs record the Python frames of
    /// frees; 0 elsewhere).
    public var freedBytes: [UInt64] = []

    public init() {}

    /// Stack ids with any allocation.
    public var stacks: [UInt32] {
        (0..<allocations.count).compactMap { allocations[$0] > 0 ? UInt32($0) : nil }
    }

    public func peak(_ i: Int) -> UInt64 { i < peakBytes.count ? peakBytes[i] : 0 }
}

/// The replay's working form of `SiteStatistics`: one record per stack id in manually managed
/// memory (see `Column`), and the live bytes at the peak kept lazily.
///
/// The peak: every time the heap stops rising after a new peak, what each site holds then is the
/// site's peak figure. Copying every site at each new peak costs O(sites) per peak; instead
/// `capturePeak` only counts the capture, and a site's live figures are saved into `peakBytes`
/// just before they first change after the latest capture (`stamp` says which capture a site's
/// saved value belongs to). A site not changed since the latest capture still holds its peak figure.
struct SiteColumns {
    struct Site {
        var allocations: UInt64 = 0
        var bytes: UInt64 = 0
        var temporary: UInt64 = 0
        var liveBytes: UInt64 = 0
        var liveBlocks: UInt64 = 0
        var peakBytes: UInt64 = 0
        /// The capture `peakBytes` belongs to.
        var stamp: UInt64 = 0
        /// Bytes freed by this stack; also makes the record one 64-byte line (the column is
        /// line-aligned: at 56 bytes most records straddled two lines).
        var freedBytes: UInt64 = 0
    }

    var sites = Column<Site>(capacity: 1024)
    /// Captures so far.
    private(set) var captures: UInt64 = 0

    init() {}

    func deallocate() { sites.deallocate() }

    @inline(__always)
    mutating func ensure(_ stack: UInt32) {
        let i = Int(stack)
        if i >= sites.count { grow(i) }
    }

    @inline(never)
    private mutating func grow(_ i: Int) {
        sites.grow(to: max(i + 1, sites.count * 2, 1024), filling: Site())
    }

    /// Prefetches the record of `stack` (if it has one yet).
    @inline(__always)
    func prefetch(_ stack: UInt32) {
        let i = Int(stack)
        if i < sites.count { alloctrace_prefetch(sites.base + i) }
    }

    /// The heap is at a peak now: what each site holds is its peak figure.
    @inline(__always)
    mutating func capturePeak() { captures &+= 1 }

    /// Before site `s`'s live figures change: saves them if they are the latest peak's.
    @inline(__always)
    private func willChange(_ p: UnsafeMutablePointer<Site>) {
        if p.pointee.stamp != captures {
            p.pointee.peakBytes = p.pointee.liveBytes
            p.pointee.stamp = captures
        }
    }

    /// An allocation of `size` bytes from stack `s` (ensured), standing for `blocks` allocations
    /// (1; a sampled trace's weight).
    @inline(__always)
    func allocated(_ s: Int, size: UInt64, blocks: UInt32 = 1) {
        let p = sites.base + s
        willChange(p)
        p.pointee.allocations &+= UInt64(blocks)
        p.pointee.bytes &+= size
        p.pointee.liveBytes &+= size
        p.pointee.liveBlocks &+= UInt64(blocks)
    }

    /// A block of `size` bytes from stack `s` was freed (`temporary`: before its thread allocated again).
    @inline(__always)
    func released(_ s: Int, size: UInt64, blocks: UInt32 = 1, temporary: Bool) {
        let p = sites.base + s
        willChange(p)
        p.pointee.liveBytes &-= size
        p.pointee.liveBlocks &-= UInt64(blocks)
        if temporary { p.pointee.temporary &+= UInt64(blocks) }
    }

    /// A free made by stack `s` (ensured) of a block of `size` bytes.
    @inline(__always)
    func freed(_ s: Int, size: UInt64) {
        sites.base[s].freedBytes &+= size
    }

    /// The figures as `SiteStatistics`.
    var statistics: SiteStatistics {
        var s = SiteStatistics()
        let n = sites.count
        s.allocations.reserveCapacity(n)
        s.bytes.reserveCapacity(n)
        s.temporary.reserveCapacity(n)
        s.liveBytes.reserveCapacity(n)
        s.liveBlocks.reserveCapacity(n)
        s.freedBytes.reserveCapacity(n)
        if captures > 0 { s.peakBytes.reserveCapacity(n) }
        for i in 0..<n {
            let site = sites[i]
            s.allocations.append(site.allocations)
            s.bytes.append(site.bytes)
            s.temporary.append(site.temporary)
            s.liveBytes.append(site.liveBytes)
            s.liveBlocks.append(site.liveBlocks)
            s.freedBytes.append(site.freedBytes)
            if captures > 0 { s.peakBytes.append(site.stamp == captures ? site.peakBytes : site.liveBytes) }
        }
        return s
    }
}
