import TraceAnalysis

/// Collapsed stacks (`outer;inner;leaf value` a line) for flamegraph.pl, inferno and speedscope.
public enum CollapsedExport {
    public static func render(replay: HeapReplay, resolver: StackResolver, by metric: SiteMetric) -> String {
        var lines: [String: UInt64] = [:]
        let sites = replay.sites
        for stack in sites.stacks {
            let value = SiteMetric.value(metric, sites, Int(stack))
            guard value > 0 else { continue }
            var names = resolver.frames(stack).map { StackResolver.label($0).replacing(";", with: ":") }
            if names.isEmpty { names = [resolver.function(stack)] }
            let line = names.reversed().joined(separator: ";")
            lines[line] = Saturating.add(lines[line] ?? 0, value)
        }
        return lines.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)\n" }.joined()
    }
}

extension SiteMetric {
    /// A site's figure for this metric.
    static func value(_ metric: SiteMetric, _ sites: SiteStatistics, _ i: Int) -> UInt64 {
        switch metric {
        case .allocations: return sites.allocations[i]
        case .bytes: return sites.bytes[i]
        case .peak: return sites.peak(i)
        case .leaked: return sites.liveBytes[i]
        case .temporary: return sites.temporary[i]
        }
    }
}
