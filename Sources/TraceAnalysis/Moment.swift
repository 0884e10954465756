/// A moment of a trace: its start, its end, a mark (by label or index) or a time in seconds.
public enum Moment: Hashable, Sendable, CustomStringConvertible {
    case start
    case end
    case mark(String)
    case markIndex(Int)
    case seconds(Double)

    /// Parses `start`, `end`, `#N` (the N-th mark, from 1), a number of seconds (`1.5`, `2s`), or a label.
    public init(parsing text: String) {
        switch text {
        case "start": self = .start
        case "end": self = .end
        default:
            if text.hasPrefix("#"), let n = Int(text.dropFirst()), n >= 1 { self = .markIndex(n); return }
            let number = text.hasSuffix("s") ? String(text.dropLast()) : text
            if let v = Double(number), v >= 0, number.first?.isNumber == true { self = .seconds(v); return }
            self = .mark(text)
        }
    }

    public var description: String {
        switch self {
        case .start: return "start"
        case .end: return "end"
        case .mark(let label): return "mark \"\(label)\""
        case .markIndex(let i): return "mark #\(i)"
        case .seconds(let s): return "\(s) s"
        }
    }
}
