import CRecorderSupport
import TraceFormat

/// Builds one record's payload in the writer's scratch memory (writer lock held).
struct RecordBuilder {
    let start: UnsafeMutablePointer<UInt8>
    var p: UnsafeMutablePointer<UInt8>
    let end: UnsafeMutablePointer<UInt8>

    init(_ scratch: UnsafeMutablePointer<UInt8>, capacity: Int) {
        start = scratch
        p = scratch
        end = scratch + capacity
    }

    var count: Int { p - start }
    var room: Int { end - p }

    mutating func varint(_ v: UInt64) { p = Varint.write(v, to: p) }
    mutating func signed(_ v: Int64) { p = Varint.writeSigned(v, to: p) }
    mutating func byte(_ v: UInt8) { p.pointee = v; p += 1 }
    /// Starts a `heap_snapshot` record of this part.
    mutating func part(_ kind: HeapSnapshotPartKind) { byte(kind.rawValue) }
    /// Leaves room for a count written when its entries are (`patchCount`); returns where it goes.
    mutating func reserveCount() -> UnsafeMutablePointer<UInt8> {
        let at = p
        p += Varint.paddedBytes
        return at
    }
    /// Writes a count into the room `reserveCount` left.
    static func patchCount(_ at: UnsafeMutablePointer<UInt8>, _ value: UInt64) { Varint.writePadded(value, to: at) }

    mutating func bytes(_ src: UnsafeRawPointer?, _ n: Int) {
        let n = min(n, max(0, room - Varint.maxBytes))
        varint(UInt64(n))
        if n > 0, let src { UnsafeMutableRawPointer(p).copyMemory(from: src, byteCount: n); p += n }
    }

    mutating func cString(_ s: UnsafePointer<CChar>?) {
        guard let s else { return varint(0) }
        bytes(s, Int(strlen_(s)))
    }

    mutating func staticString(_ s: StaticString) {
        s.withUTF8Buffer { bytes($0.baseAddress, $0.count) }
    }
}

@inline(__always)
func strlen_(_ s: UnsafePointer<CChar>) -> Int {
    var n = 0
    while s[n] != 0 { n += 1 }
    return n
}
