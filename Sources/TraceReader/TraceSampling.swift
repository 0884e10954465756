import Glibc
import TraceFormat

/// A `sampling` record: the trace holds only sampled allocations (`record --sample-bytes`).
public struct TraceSampling: Sendable, Equatable {
    /// The mean sampling interval R in bytes.
    public var meanBytes: UInt64
    public var method: SamplingMethod

    public init(meanBytes: UInt64, method: SamplingMethod = .poissonBytes) {
        self.meanBytes = meanBytes
        self.method = method
    }

    /// "512 KiB": the mean interval as views print it.
    public var rateText: String {
        let r = meanBytes
        return r % (1 << 20) == 0 ? "\(r >> 20) MiB" : r % 1024 == 0 ? "\(r >> 10) KiB" : "\(r) bytes"
    }

    /// The line every view of a sampled trace prints (its JSON says it in `sampling`).
    public var note: String {
        "estimates: a sampled trace (one sample per \(rateText) allocated on average); counts and bytes are estimated"
    }

    /// The probability that an allocation of `size` bytes was sampled: 1 - exp(-size/R) under R,
    /// 1 from R on (the recorder always samples those).
    public func probability(_ size: UInt64) -> Double {
        if size >= meanBytes { return 1 }
        return -expm1(-Double(size) / Double(meanBytes))
    }

    /// Turns a sampled allocation into its estimate, at report time (as jemalloc and Go do): a
    /// block sampled with probability p stands for 1/p blocks of its size, so `size` becomes
    /// size/p (rounded: an unbiased estimate of the bytes allocated like it) and `weight` 1/p,
    /// rounded down or up with the chance that keeps it unbiased (by a hash of the address and
    /// ticks, so that every replay of a trace gives the same figures). Frees keep weight 1: a
    /// replay takes the weight of the block they free.
    @inline(__always)
    public func weigh(_ e: inout TraceEvent) {
        switch e.kind {
        case .malloc, .calloc, .memalign, .posixMemalign, .alignedAlloc, .valloc, .pvalloc, .realloc, .reallocarray:
            if e.address == 0 || e.size == 0 || e.size >= meanBytes { return }
            let w = 1 / probability(e.size)
            let bytes = (Double(e.size) * w).rounded()
            e.size = bytes < 0x1p63 ? UInt64(bytes) : 1 << 63
            let whole = w.rounded(.down)
            var h = (e.address ^ (e.ticks &* 0x9E37_79B9_7F4A_7C15)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            let u = Double(h >> 11) * 0x1p-53
            let n = whole + (u < w - whole ? 1 : 0)
            e.weight = n < 4e9 ? UInt32(n) : UInt32.max
        default:
            return
        }
    }

    static func parse(_ c: inout ByteCursor) throws(FieldError) -> TraceSampling {
        let mean = try c.varint()
        let raw = try c.u8()
        guard let method = SamplingMethod(rawValue: raw) else { throw .impossible("unknown sampling method \(raw)") }
        guard mean > 0 else { throw .impossible("sampling interval 0") }
        return TraceSampling(meanBytes: mean, method: method)
    }
}
