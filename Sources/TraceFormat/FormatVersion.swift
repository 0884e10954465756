/// The file header that precedes the compressed record stream (see docs/FORMAT.md).
public enum TraceFileHeader {
    /// "ALCTRACE": the first eight bytes of every trace.
    public static let magic: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
        (0x41, 0x4C, 0x43, 0x54, 0x52, 0x41, 0x43, 0x45)
    /// The format version this code writes; version 2 added Python frames and code objects.
    public static let version: UInt16 = 2
    /// The version of a sampled trace (`record --sample-bytes`): version 2 plus the `sampling`
    /// record. A version-2 reader would skip that record and present estimates as exact figures,
    /// so sampled traces carry a version it rejects; full traces stay version 2.
    public static let sampledVersion: UInt16 = 3
    /// The versions this code reads; a reader rejects any other.
    public static let readable: ClosedRange<UInt16> = 1...3
    /// Bytes before the zstd stream: magic (8), version (u16 LE), flags (u16 LE), reserved (u32).
    public static let size = 16
}
