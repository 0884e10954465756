import TraceAnalysis

/// `alloctrace marks`: every mark with its time, the live heap and RSS then.
public struct MarksReport: Encodable {
    public struct Row: Encodable {
        public var index: Int
        public var label: String
        public var thread: UInt32
        public var timeNs: Int64
        public var liveBytes: UInt64
        public var liveBlocks: Int
        public var rssBytes: UInt64

        enum CodingKeys: String, CodingKey {
            case index, label, thread
            case timeNs = "time_ns", liveBytes = "live_bytes", liveBlocks = "live_blocks", rssBytes = "rss_bytes"
        }
    }

    public var trace: String
    public var marks: [Row]

    public init(replay: HeapReplay) {
        trace = replay.reader.path
        marks = replay.marks.map {
            Row(index: $0.index, label: $0.label, thread: $0.thread, timeNs: replay.nanoseconds($0.ticks),
                liveBytes: $0.liveBytes, liveBlocks: $0.liveBlocks, rssBytes: $0.rssBytes)
        }
    }

    public func text() -> String {
        if marks.isEmpty { return "no marks in \(trace)\n" }
        var t = TextTable(["#", "time", "live heap", "blocks", "RSS", "label"], rightAligned: [0, 1, 2, 3, 4])
        for m in marks {
            t.add([String(m.index), Formatting.seconds(Double(m.timeNs) / 1e9), Formatting.bytes(m.liveBytes),
                   Formatting.count(m.liveBlocks), Formatting.bytes(m.rssBytes), m.label])
        }
        return t.render()
    }
}
