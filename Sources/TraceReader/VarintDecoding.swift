import TraceFormat

/// Decodes an unsigned LEB128 varint at `p` (never past `end`); advances `p`. Returns nil, leaving
/// `p` unchanged, when the bytes run out or the value exceeds 64 bits.
@inline(__always)
func readVarint(_ p: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> UInt64? {
    if p < end {
        let b = p.pointee
        if b < 0x80 { p += 1; return UInt64(b) }
        if end - p >= Varint.maxBytes { return readVarintUnchecked(&p) }
    }
    return readVarintSlow(&p, end)
}

/// A multi-byte varint with at least 10 bytes available: no bounds checks needed.
@inline(never)
func readVarintUnchecked(_ p: inout UnsafePointer<UInt8>) -> UInt64? {
    let q = p
    var v = UInt64(q[0] & 0x7F)
    var shift: UInt64 = 7
    for i in 1..<9 {
        let b = q[i]
        v |= UInt64(b & 0x7F) &<< shift
        if b < 0x80 { p = q + i + 1; return v }
        shift &+= 7
    }
    let last = q[9]
    guard last <= 1 else { return nil }
    p = q + 10
    return v | UInt64(last) &<< 63
}

/// A varint near the end of the data: every byte bounds-checked.
@inline(never)
func readVarintSlow(_ p: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> UInt64? {
    var q = p
    var value: UInt64 = 0
    var shift: UInt64 = 0
    while q < end {
        let b = q.pointee
        q += 1
        if shift == 63 && b > 1 { return nil }
        value |= UInt64(b & 0x7F) &<< shift
        if b < 0x80 { p = q; return value }
        shift += 7
        if shift > 63 { return nil }
    }
    return nil
}

/// Why `readVarint` returned nil: the bytes ran out (`short`) or the varint is malformed.
func varintFailure(_ p: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> FieldError {
    var q = p
    var n = 0
    while q < end {
        n += 1
        if q.pointee < 0x80 || n >= 10 { return .malformedVarint }
        q += 1
    }
    return .short
}
