import FoundationEssentials
import Glibc

/// Numbers as people read them in tables; JSON keeps exact integers.
public enum Formatting {
    /// `1.5 MiB`, `812 B`.
    public static func bytes(_ n: UInt64) -> String {
        if n < 1024 { return "\(n) B" }
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var v = Double(n) / 1024
        var i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        return fixed(v, v >= 100 ? 0 : 1) + " " + units[i]
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
    public static func seconds(_ s: Double) -> String { fixed(s, 3) + " s" }

    /// `v` with `digits` decimals (printf's `%.Nf`: the analyzer does not load Foundation, whose
    /// ICU data alone maps 40 MB, so that `record` starts under a small `ulimit -v`).
    public static func fixed(_ v: Double, _ digits: Int) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buf in
            let n = withVaList([Int32(digits), v]) { vsnprintf(buf.baseAddress!, 64, "%.*f", $0) }
            return n > 0 && n < 64 ? String(cString: buf.baseAddress!) : "\(v)"
        }
    }

    /// Two lower-case hex digits.
    public static func hexByte(_ b: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
    }

    /// `s` without leading and trailing white space (blanks, tabs, newlines).
    public static func trimmed(_ s: some StringProtocol) -> Substring {
        let t = s.drop { $0.isWhitespace }
        return Substring(t.reversed().drop { $0.isWhitespace }.reversed())
    }

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
