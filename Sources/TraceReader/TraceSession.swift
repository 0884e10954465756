import TraceFormat

/// An open trace file: header checked, records read one by one from its zstd stream.
final class TraceSession {
    let path: String
    let version: UInt16
    let flags: UInt16
    /// False when the file ends inside its 16-byte header (a truncated trace with no records).
    let headerComplete: Bool
    let framer: RecordFramer
    private let file: FileInput

    init(path: String) throws(TraceError) {
        let file = try FileInput(path: path)
        var header: (UInt64, UInt64) = (0, 0)
        let n = try withUnsafeMutableBytes(of: &header) { (raw) throws(TraceError) -> Int in
            try file.read(into: raw.baseAddress!, count: TraceFileHeader.size)
        }
        if n == 0 { throw .empty(path: path) }
        let bytes = withUnsafeBytes(of: header) { Array($0.prefix(n)) }
        let magic = withUnsafeBytes(of: TraceFileHeader.magic) { Array($0) }
        guard bytes.prefix(8).elementsEqual(magic.prefix(min(n, 8))) else { throw .notATrace(path: path) }
        version = n >= 10 ? UInt16(bytes[8]) | UInt16(bytes[9]) << 8 : TraceFileHeader.version
        flags = n >= 12 ? UInt16(bytes[10]) | UInt16(bytes[11]) << 8 : 0
        if !TraceFileHeader.readable.contains(version) { throw .unsupportedVersion(path: path, version: version) }
        headerComplete = n == TraceFileHeader.size
        self.path = path
        self.file = file
        let source: ZstdInput? = headerComplete ? try ZstdInput(file: file) : nil
        framer = RecordFramer(source: source, path: path)
    }
}
