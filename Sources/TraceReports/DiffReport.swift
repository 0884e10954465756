import TraceAnalysis

/// `alloctrace diff`: two traces (or two moments of one) side by side, by type and by site.
public struct DiffReport: Encodable {
    public var before: String
    public var after: String
    public var byType: [ComparisonRow]
    public var bySite: [ComparisonRow]

    enum CodingKeys: String, CodingKey {
        case before, after
        case byType = "by_type", bySite = "by_site"
    }

    public struct Side {
        public let replay: HeapReplay
        public let resolver: StackResolver
        public let moment: Moment
        public let title: String

        public init(replay: HeapReplay, resolver: StackResolver, moment: Moment, title: String) {
            self.replay = replay
            self.resolver = resolver
            self.moment = moment
            self.title = title
        }

        var snapshot: HeapSnapshot { replay.snapshots[moment]! }

        func byType() -> [String: HeapSnapshot.Tally] {
            TypeNaming(reader: replay.reader, resolver: resolver).tallies(snapshot.groups)
        }

        /// Live blocks by allocation site (`function at file:line`), typed or not.
        func bySite() -> [String: HeapSnapshot.Tally] {
            var out: [String: HeapSnapshot.Tally] = [:]
            for (stack, t) in snapshot.byStack {
                let loc = resolver.location(stack)
                out[loc, default: .init()].blocks += t.blocks
                out[loc, default: .init()].bytes = Saturating.add(out[loc]!.bytes, t.bytes)
            }
            return out
        }
    }

    public init(_ a: Side, _ b: Side, all: Bool, limit: Int?) {
        before = a.title
        after = b.title
        func trim(_ rows: [ComparisonRow]) -> [ComparisonRow] {
            let changed = all ? rows : rows.filter { $0.countChange != 0 || $0.bytesChange != 0 }
            return limit.map { Array(changed.prefix($0)) } ?? changed
        }
        byType = trim(ComparisonRow.compare(a.byType(), b.byType()))
        bySite = trim(ComparisonRow.compare(a.bySite(), b.bySite()))
    }

    public func text() -> String {
        var o = "before: \(before)\nafter:  \(after)\n\nby type:\n"
        o += byType.isEmpty ? "no change\n" : ComparisonRow.table(byType, before: "before", after: "after")
        o += "\nby site:\n"
        o += bySite.isEmpty ? "no change\n" : ComparisonRow.table(bySite, before: "before", after: "after")
        return o
    }
}
