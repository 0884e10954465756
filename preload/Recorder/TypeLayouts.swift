import CRecorderSupport

/// Reads a Swift class's instance size and stored properties (offset, name, ownership) from its
/// metadata and field descriptors, for `type_layout` records (writer thread only).
///
/// Layout on Linux x86_64 (docs/FORMAT.md): class metadata +8 superclass, +24 instance size (u32),
/// +40 type context descriptor; the descriptor's +16 is a relative pointer to the field descriptor,
/// +36 the field count, +40 the field-offset vector's index (in words from the metadata); a field
/// descriptor's +12 is its record count and +16 its 12-byte records (flags, mangled type, name).
/// Every read goes through at_read_memory: a wrong guess gives no layout, never a fault.
enum TypeLayouts {
    static func u64(_ a: UInt64) -> UInt64? {
        var v: UInt64 = 0
        return at_read_memory(a, &v, 8) == 8 ? v : nil
    }

    static func u32(_ a: UInt64) -> UInt32? {
        var v: UInt32 = 0
        return at_read_memory(a, &v, 4) == 4 ? v : nil
    }

    /// The target of a 4-byte relative pointer at `a`, or nil for a null one.
    static func relative(_ a: UInt64) -> UInt64? {
        guard let raw = u32(a), raw != 0 else { return nil }
        return a &+ UInt64(bitPattern: Int64(Int32(bitPattern: raw)))
    }

    /// Writes `varint instance_size, varint field_count, fields...` for class metadata `meta`;
    /// false when `meta` does not look like a Swift class.
    static func append(_ meta: UInt64, to r: inout RecordBuilder) -> Bool {
        guard let kind = u64(meta), kind == 0 || kind > 0x7FF, let size = u32(meta + 24) else { return false }
        r.varint(UInt64(size))
        let countAt = r.reserveCount()
        var count: UInt64 = 0
        var current = meta
        var depth = 0
        while current != 0 && depth < 32 && r.room > 4096 {
            guard let descriptor = u64(current + 40), descriptor != 0,
                  let flags = u32(descriptor), flags & 0x1F == 16 else { break }
            if let fieldDescriptor = relative(descriptor + 16),
               let fieldCount = u32(descriptor + 36), let vectorIndex = u32(descriptor + 40),
               let records = u32(fieldDescriptor + 12), records == fieldCount, fieldCount < 4096 {
                for i in 0..<UInt64(fieldCount) where r.room > 1024 {
                    let record = fieldDescriptor + 16 + i * 12
                    guard let offset = u64(current + (UInt64(vectorIndex) + i) * 8) else { continue }
                    let ownership = relative(record + 4).map(ownershipOf) ?? 0
                    r.varint(offset)
                    r.byte(ownership)
                    if let name = relative(record + 8) { cString(name, into: &r) } else { r.varint(0) }
                    count += 1
                }
            }
            current = u64(current + 8) ?? 0
            depth += 1
        }
        var c = count
        for k in 0..<5 {
            countAt[k] = UInt8(c & 0x7F) | (k < 4 ? 0x80 : 0)
            c >>= 7
        }
        return true
    }

    /// The ownership a field's mangled type name ends with: `Xw` weak, `Xo` unowned, `Xu` unowned(unsafe).
    static func ownershipOf(_ mangled: UInt64) -> UInt8 {
        var last: (UInt8, UInt8) = (0, 0)
        var a = mangled
        var steps = 0
        while steps < 1024 {
            var b: UInt8 = 0
            guard at_read_memory(a, &b, 1) == 1, b != 0 else { break }
            // symbolic references: a control byte and a 4-byte (0x01-0x17) or 8-byte (0x18-0x1F) operand
            if b < 0x18 { a += 5; last = (0, 0) } else if b < 0x20 { a += 9; last = (0, 0) } else { last = (last.1, b); a += 1 }
            steps += 1
        }
        switch last {
        case (0x58, 0x77): return 1   // Xw
        case (0x58, 0x6F): return 2   // Xo
        case (0x58, 0x75): return 3   // Xu
        default: return 0
        }
    }

    static func cString(_ a: UInt64, into r: inout RecordBuilder) {
        var bytes = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0),
                     UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &bytes) { buf in
            let n = at_read_memory(a, buf.baseAddress, buf.count - 1)
            var length = 0
            while length < n && buf[length] != 0 { length += 1 }
            r.bytes(buf.baseAddress, length)
        }
    }
}
