import Foundation

/// Numbers as people read them in tables; JSON keeps exact integers.
public enum Formatting {
    /// `1.5 MiB`, `812 B`.
    public static func bytes(_ n: UInt64) -> String {
        if n < 1024 { return "\(n) B" }
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var v = Double(n) / 1024
        var i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        return String(format: v >= 100 ? "%.0f %@" : "%.1f %@", v, units[i])
    }

    /// `1,234,567`.
    public static func count<T: BinaryInteger>(_ n: T) -> String {
        let s = String(n)
        var out = ""
        for (i, c) in s.reversed().enumerated() {
            if i > 0 && i % 3 == 0 && c != "-" { out.append(",") }
            out.append(c)
        }
        return String(out.reversed())
    }

    /// `1.234 s`.
    public static func seconds(_ s: Double) -> String { String(format: "%.3f s", s) }

    /// Signed counts and bytes for growth tables: `+12`, `-3`.
    public static func signed(_ n: Int64) -> String { n > 0 ? "+\(count(n))" : count(n) }
    public static func signedBytes(_ n: Int64) -> String {
        n >= 0 ? "+" + bytes(n.magnitude) : "-" + bytes(n.magnitude)
    }
}

/// A plain text table: a header row, right-aligned numbers, left-aligned text.
public struct TextTable {
    public var headers: [String]
    public var rightAligned: Set<Int>
    public var rows: [[String]] = []

    public init(_ headers: [String], rightAligned: Set<Int>) {
        self.headers = headers
        self.rightAligned = rightAligned
    }

    public mutating func add(_ row: [String]) { rows.append(row) }

    public func render() -> String {
        var widths = headers.map(\.count)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (i, c) in cells.enumerated() {
                let pad = String(repeating: " ", count: max(0, widths[i] - c.count))
                let last = i == cells.count - 1
                parts.append(rightAligned.contains(i) ? pad + c : (last ? c : c + pad))
            }
            return parts.joined(separator: "  ")
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n") + "\n"
    }
}

/// JSON output: sorted keys, so the text is stable for scripts and tests.
public enum JSONOutput {
    public static func render<T: Encodable>(_ value: T) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try e.encode(value), as: UTF8.self) + "\n"
    }
}
