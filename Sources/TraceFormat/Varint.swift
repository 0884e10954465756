/// LEB128 varints and zigzag signed integers, written through raw pointers so that the recorder can
/// encode without allocating. Every function is inlinable: the recorder must not call into code
/// that was compiled without optimisation.
public enum Varint {
    /// The most bytes a 64-bit varint takes.
    public static let maxBytes = 10

    /// Writes `value` at `p`; returns the pointer after it.
    @inlinable @inline(__always)
    public static func write(_ value: UInt64, to p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        var v = value
        var q = p
        while v >= 0x80 {
            q.pointee = UInt8(truncatingIfNeeded: v) | 0x80
            q += 1
            v &>>= 7
        }
        q.pointee = UInt8(truncatingIfNeeded: v)
        return q + 1
    }

    /// Writes a signed value zigzag-encoded.
    @inlinable @inline(__always)
    public static func writeSigned(_ value: Int64, to p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        write(zigzag(value), to: p)
    }

    @inlinable @inline(__always)
    public static func zigzag(_ v: Int64) -> UInt64 {
        UInt64(bitPattern: (v &<< 1) ^ (v &>> 63))
    }

    @inlinable @inline(__always)
    public static func unzigzag(_ v: UInt64) -> Int64 {
        Int64(bitPattern: v &>> 1) ^ -Int64(bitPattern: v & 1)
    }

    /// Bytes `value` takes as a varint.
    @inlinable
    public static func size(_ value: UInt64) -> Int {
        var n = 1
        var v = value
        while v >= 0x80 { v &>>= 7; n += 1 }
        return n
    }
}
