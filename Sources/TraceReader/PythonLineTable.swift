/// CPython 3.11+'s location table (`co_linetable`; CPython's `Objects/locations.md`): entries of
/// one start byte (bit 7 set; bits 3-6 the form; bits 0-2 the number of code units less one) and
/// the form's operands. Only the line is decoded here; columns are skipped.
public enum PythonLineTable {
    /// The line of code unit `unit` (a 2-byte instruction word), or nil when it has none.
    public static func line(_ table: [UInt8], firstLine: Int, unit: Int) -> Int? {
        var i = 0, line = firstLine, at = 0
        while i < table.count {
            let head = table[i]
            i += 1
            let form = Int(head >> 3) & 15
            let length = Int(head & 7) + 1
            var entryLine: Int? = line
            switch form {
            case 15:                                    // no location
                entryLine = nil
            case 14:                                    // long form: line delta, end line, columns
                line += signedVarint(table, &i)
                entryLine = line
                for _ in 0..<3 { _ = varint(table, &i) }
            case 13:                                    // no column: line delta
                line += signedVarint(table, &i)
                entryLine = line
            case 10, 11, 12:                            // one line form: delta form-10, two column bytes
                line += form - 10
                entryLine = line
                i += 2
            default:                                    // short form: same line, one column byte
                i += 1
            }
            if unit < at + length { return entryLine }
            at += length
        }
        return nil
    }

    /// 6-bit groups, least significant first; bit 6 continues.
    static func varint(_ t: [UInt8], _ i: inout Int) -> Int {
        var value = 0, shift = 0
        while i < t.count {
            let b = Int(t[i])
            i += 1
            if shift < 56 { value |= (b & 63) << shift }
            shift += 6
            if b & 64 == 0 { break }
        }
        return value
    }

    static func signedVarint(_ t: [UInt8], _ i: inout Int) -> Int {
        let v = varint(t, &i)
        return v & 1 != 0 ? -(v >> 1) : v >> 1
    }
}
