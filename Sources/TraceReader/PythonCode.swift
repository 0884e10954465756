import TraceFormat

/// A `python_code` record: one CPython code object, enough to name its frames and find their lines.
public struct PythonCode: Sendable, Equatable {
    public var id: UInt32
    /// `co_filename`, as the interpreter has it (relative when the script was named so).
    public var file: String
    /// `co_qualname`: `build`, `Cache.put`, `<module>`, `main.<locals>.<lambda>`.
    public var qualifiedName: String
    public var firstLine: Int
    /// `co_linetable` (the 3.11+ location table, PEP 626/657).
    public var lineTable: [UInt8]

    public init(id: UInt32, file: String, qualifiedName: String, firstLine: Int, lineTable: [UInt8]) {
        self.id = id
        self.file = file
        self.qualifiedName = qualifiedName
        self.firstLine = firstLine
        self.lineTable = lineTable
    }

    static func parse(_ c: inout ByteCursor) throws(FieldError) -> PythonCode {
        let id = try c.id32("code id")
        let file = try c.string()
        let name = try c.string()
        let first = try c.svarint()
        let table = try c.bytes()
        let line = first < -1 << 31 || first > 1 << 31 ? 0 : Int(first)
        return PythonCode(id: id, file: file, qualifiedName: name, firstLine: line, lineTable: table)
    }

    /// The source line of the instruction at `offset` bytes into the bytecode, or nil where the
    /// table says the instruction has no line (or the table is cut short).
    public func line(atByteOffset offset: UInt32) -> Int? {
        PythonLineTable.line(lineTable, firstLine: firstLine, unit: Int(offset) / 2)
    }
}

/// An `interpreter` record: the language runtime a process ran and what the recorder made of it.
public struct TraceInterpreter: Sendable, Equatable {
    /// 1: CPython.
    public var language: UInt8
    /// PY_VERSION_HEX: 0x030B02F0 is 3.11.2 final.
    public var versionHex: UInt32
    public var frames: InterpreterFrames
    /// PYTHONMALLOC was not `malloc`: objects under 512 bytes lived in pymalloc's arenas, unseen.
    public var pymalloc: Bool
    /// Why frames were not recorded, when they were not.
    public var note: String

    public init(language: UInt8, versionHex: UInt32, frames: InterpreterFrames, pymalloc: Bool, note: String) {
        self.language = language
        self.versionHex = versionHex
        self.frames = frames
        self.pymalloc = pymalloc
        self.note = note
    }

    /// "3.11.2".
    public var version: String {
        "\(versionHex >> 24).\((versionHex >> 16) & 0xFF).\((versionHex >> 8) & 0xFF)"
    }

    static func parse(_ c: inout ByteCursor) throws(FieldError) -> TraceInterpreter {
        let language = try c.u8()
        let hex = try c.varint()
        let frames = InterpreterFrames(rawValue: try c.u8()) ?? .native
        let pymalloc = try c.u8() != 0
        let note = try c.string()
        return TraceInterpreter(language: language, versionHex: UInt32(truncatingIfNeeded: hex), frames: frames,
                                pymalloc: pymalloc, note: note)
    }
}

/// Python code objects by id.
public struct PythonCodeTable: Sendable {
    private var codes: [UInt32: PythonCode] = [:]
    public init() {}
    mutating func define(_ c: PythonCode) { codes[c.id] = c }
    public subscript(id: UInt32) -> PythonCode? { codes[id] }
    public var count: Int { codes.count }
}
