import TraceFormat

/// Why a trace could not be read; `description` is one line fit for an error message.
public enum TraceError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file is missing or cannot be read (`reason` is the system's message).
    case unreadable(path: String, reason: String)
    /// The file has no bytes at all.
    case empty(path: String)
    /// The file does not start with the trace magic.
    case notATrace(path: String)
    /// The header names a format version this reader does not know.
    case unsupportedVersion(path: String, version: UInt16)
    /// The data is damaged: bad zstd data, a record shorter than its fields, an unknown event kind,
    /// an impossible value. `detail` says what and where.
    case corrupt(path: String, detail: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "cannot read trace '\(path)': \(reason)"
        case let .empty(path):
            return "'\(path)' is empty: no trace was recorded in it"
        case let .notATrace(path):
            return "'\(path)' is not an alloctrace trace (it does not start with \"ALCTRACE\")"
        case let .unsupportedVersion(path, version):
            let reads = TraceFileHeader.readable
            if version > reads.upperBound {
                return "'\(path)': trace format version \(version) is newer than this alloctrace "
                    + "(reads versions \(reads.lowerBound) to \(reads.upperBound)); upgrade alloctrace"
            }
            return "'\(path)': trace format version \(version) is not one this alloctrace reads "
                + "(it reads versions \(reads.lowerBound) to \(reads.upperBound))"
        case let .corrupt(path, detail):
            return "'\(path)' is corrupt: \(detail)"
        }
    }
}
