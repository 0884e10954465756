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
                   Formatting.count(m.liveBlocks), Formatting.bytes(m.rssBytes), Self.printable(m.label)])
        }
        return t.render()
    }

    /// A label as it may go to a terminal: control characters (escape sequences, newlines, tabs,
    /// DEL, C1) and backslashes escaped, `\n`, `\t`, `\r`, `\e`, `\\`, else `\xNN` / `\u{NN}`.
    static func printable(_ label: String) -> String {
        var out = ""
        for u in label.unicodeScalars {
            switch u.value {
            case 0x0A: out += "\\n"
            case 0x09: out += "\\t"
            case 0x0D: out += "\\r"
            case 0x1B: out += "\\e"
            case 0x5C: out += "\\\\"
            case 0x00..<0x20, 0x7F: out += "\\x" + (u.value < 16 ? "0" : "") + String(u.value, radix: 16)
            case 0x80..<0xA0: out += "\\u{" + String(u.value, radix: 16) + "}"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }
}
