import TraceFormat
import TraceReader

/// What a trace says of its Python interpreter, for `summary` (JSON key `python`).
public struct PythonSummary: Encodable, Sendable {
    /// "3.11.2".
    public var version: String
    /// "python": allocations carry Python frames; "native": only the interpreter's C frames.
    public var frames: String
    /// "malloc" (PYTHONMALLOC=malloc: every object seen) or "pymalloc" (small objects unseen).
    public var allocator: String
    /// Code objects the trace describes.
    public var codeObjects: Int
    /// Why frames are native only, when they are.
    public var note: String?

    enum CodingKeys: String, CodingKey {
        case version, frames, allocator, note
        case codeObjects = "code_objects"
    }

    init(_ i: TraceInterpreter, codeObjects: Int) {
        version = i.version
        frames = i.frames == .python ? "python" : "native"
        allocator = i.pymalloc ? "pymalloc" : "malloc"
        self.codeObjects = codeObjects
        note = i.note.isEmpty ? nil : i.note
    }

    /// One line: `CPython 3.11.2, Python stacks (812 code objects)`, or why not.
    var text: String {
        var s = "CPython \(version), "
        s += frames == "python" ? "Python stacks (\(Formatting.count(UInt64(codeObjects))) code objects)" : (note ?? "native stacks only")
        if allocator == "pymalloc" {
            s += "; pymalloc kept objects under 512 B out of sight (PYTHONMALLOC=malloc shows them; `alloctrace record` sets it)"
        }
        return s
    }
}
