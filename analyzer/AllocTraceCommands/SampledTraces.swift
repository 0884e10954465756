import TraceReader

/// The sampled traces a command read: every view says its figures are estimates, at what rate
/// (one text line; `sampling` in JSON, docs/JSON.md). The readers are opened in `Analysis`.
enum SampledTraces {
    /// One entry per sampled trace read, in the order read.
    nonisolated(unsafe) static var read: [(path: String, sampling: TraceSampling)] = []

    static func note(_ reader: TraceReader) {
        guard let s = reader.sampling, !read.contains(where: { $0.path == reader.path }) else { return }
        read.append((reader.path, s))
    }

    /// The text line (with its newline), or "" for full traces.
    static var textLine: String {
        guard let first = read.first?.sampling else { return "" }
        let rates = Set(read.map(\.sampling.meanBytes))
        return rates.count == 1 ? first.note + "\n"
            : "estimates: sampled traces at different rates (" + read.map { "\($0.path): \($0.sampling.rateText)" }.joined(separator: ", ") + ")\n"
    }

    /// " (estimates: one sample per 512 KiB)" for a picture's title, or "".
    static var titleSuffix: String {
        guard let first = read.first?.sampling else { return "" }
        return " (estimates: one sample per \(first.rateText))"
    }

    struct Entry: Encodable {
        let trace: String
        let mean_bytes: UInt64
        let method = "poisson-bytes"
        let estimated = true
    }

    static var entries: [Entry] { read.map { Entry(trace: $0.path, mean_bytes: $0.sampling.meanBytes) } }
}

/// A report with the `sampling` key added beside its own keys (its keys stay at the top level).
struct WithSampling<R: Encodable>: Encodable {
    let report: R
    let sampling: [SampledTraces.Entry]

    private enum Key: String, CodingKey { case sampling }

    func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(sampling, forKey: .sampling)
    }
}
