/// Why a field could not be read from a record payload.
enum FieldError: Error {
    /// The payload ends before the field does.
    case short
    /// A varint longer than 64 bits.
    case malformedVarint
    /// A value no writer produces (the message names it).
    case impossible(String)

    var message: String {
        switch self {
        case .short: return "the payload is shorter than its fields"
        case .malformedVarint: return "a varint is longer than 64 bits"
        case let .impossible(what): return what
        }
    }
}

/// Bounds-checked reading of a record payload's fields, front to back.
struct ByteCursor {
    var p: UnsafePointer<UInt8>
    let end: UnsafePointer<UInt8>

    /// A stand-in address for empty buffers without one; never dereferenced (p == end).
    private static var nowhere: UnsafePointer<UInt8> { UnsafePointer<UInt8>(bitPattern: 0x1000)! }

    init(_ buffer: UnsafeRawBufferPointer) {
        if let base = buffer.baseAddress {
            p = base.assumingMemoryBound(to: UInt8.self)
            end = p + buffer.count
        } else {
            p = ByteCursor.nowhere
            end = p
        }
    }

    var remaining: Int { end - p }
    var isAtEnd: Bool { p >= end }

    mutating func varint() throws(FieldError) -> UInt64 {
        guard let v = readVarint(&p, end) else { throw varintFailure(p, end) }
        return v
    }

    mutating func svarint() throws(FieldError) -> Int64 {
        let v = try varint()
        return Int64(bitPattern: v &>> 1) ^ -Int64(bitPattern: v & 1)
    }

    mutating func u8() throws(FieldError) -> UInt8 {
        guard p < end else { throw .short }
        defer { p += 1 }
        return p.pointee
    }

    /// A varint that must fit 32 bits (ids, indices); `what` names it in the error.
    mutating func id32(_ what: String) throws(FieldError) -> UInt32 {
        let v = try varint()
        guard v <= UInt64(UInt32.max) else { throw .impossible("\(what) \(v) does not fit 32 bits") }
        return UInt32(v)
    }

    /// A varint length that must fit in the rest of the payload.
    mutating func length() throws(FieldError) -> Int {
        let n = try varint()
        guard n <= UInt64(remaining) else { throw .short }
        return Int(n)
    }

    mutating func string() throws(FieldError) -> String {
        let n = try length()
        defer { p += n }
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }

    mutating func bytes() throws(FieldError) -> [UInt8] {
        let n = try length()
        defer { p += n }
        return Array(UnsafeBufferPointer(start: p, count: n))
    }

    /// The rest of the payload.
    mutating func rest() -> UnsafeRawBufferPointer {
        defer { p = end }
        return UnsafeRawBufferPointer(start: UnsafeRawPointer(p), count: end - p)
    }
}
