/// Per allocation stack: how much it allocated, kept, and held at the peak.
public struct SiteStatistics: Sendable {
    public var allocations: [UInt64] = []
    public var bytes: [UInt64] = []
    public var temporary: [UInt64] = []
    public var liveBytes: [UInt64] = []
    public var liveBlocks: [UInt64] = []
    /// Bytes live from this stack at the moment of the global peak.
    public var peakBytes: [UInt64] = []

    @inline(__always)
    mutating func ensure(_ stack: UInt32) {
        let i = Int(stack)
        if i >= allocations.count {
            let n = max(i + 1, allocations.count * 2, 1024)
            let add = n - allocations.count
            allocations.append(contentsOf: repeatElement(0, count: add))
            bytes.append(contentsOf: repeatElement(0, count: add))
            temporary.append(contentsOf: repeatElement(0, count: add))
            liveBytes.append(contentsOf: repeatElement(0, count: add))
            liveBlocks.append(contentsOf: repeatElement(0, count: add))
        }
    }

    /// Stack ids with any allocation.
    public var stacks: [UInt32] {
        (0..<allocations.count).compactMap { allocations[$0] > 0 ? UInt32($0) : nil }
    }

    public func peak(_ i: Int) -> UInt64 { i < peakBytes.count ? peakBytes[i] : 0 }
}
