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

    static func parse(_ c: inout ByteCursor) throws(FieldError) -> TraceSampling {
        let mean = try c.varint()
        let raw = try c.u8()
        guard let method = SamplingMethod(rawValue: raw) else { throw .impossible("unknown sampling method \(raw)") }
        guard mean > 0 else { throw .impossible("sampling interval 0") }
        return TraceSampling(meanBytes: mean, method: method)
    }
}
