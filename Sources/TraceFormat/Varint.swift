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

    /// The bytes of a padded varint: a count written before its entries are (`writePadded`).
    public static let paddedBytes = 5

    /// Writes `value` (below 2^35) in exactly `paddedBytes` bytes, continuation bits set on the first
    /// four: a count reserved before the entries it counts and patched after them.
    @inlinable @inline(__always)
    public static func writePadded(_ value: UInt64, to p: UnsafeMutablePointer<UInt8>) {
        var c = value
        for k in 0..<paddedBytes {
            p[k] = UInt8(truncatingIfNeeded: c & 0x7F) | (k < paddedBytes - 1 ? 0x80 : 0)
            c &>>= 7
        }
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

/// Address deltas: allocators return 16-byte aligned blocks, so the delta is stored divided by 16
/// with one flag bit; an unaligned delta adds one byte with its low four bits.
///
/// `varint((zigzag(delta >> 4) << 1) | unaligned)`, then `u8 (delta & 15)` when unaligned.
public enum AddressDelta {
    @inlinable @inline(__always)
    public static func write(_ address: UInt64, against base: UInt64, to p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        let d = Int64(bitPattern: address &- base)
        let low = UInt8(truncatingIfNeeded: d & 15)
        let v = (Varint.zigzag(d &>> 4) &<< 1) | (low != 0 ? 1 : 0)
        var q = Varint.write(v, to: p)
        if low != 0 { q.pointee = low; q += 1 }
        return q
    }

    /// Rebuilds the delta from the varint `v` and, when `v` is odd, the following low-bits byte.
    @inlinable @inline(__always)
    public static func delta(_ v: UInt64, low: UInt8) -> Int64 {
        (Varint.unzigzag(v &>> 1) &<< 4) | Int64(low & 15)
    }
}
