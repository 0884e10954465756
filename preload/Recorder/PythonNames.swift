import CRecorderSupport

extension HeapCapture {
    /// Part 11: the names of Python references (python_names.c): keys tables and their str keys,
    /// modules, classes. A key belongs to the last table before it, so a record that starts with
    /// keys repeats their table first.
    static func writePythonNames() {
        var out = CountedPart(.pythonNames)
        var table: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        // the text, then the values, in the data words' scratch (written out by now)
        let text = UnsafeMutablePointer<CChar>(OpaquePointer(dataScratch!))
        let values = UnsafeMutableRawPointer(dataScratch! + 512).assumingMemoryBound(to: UInt64.self)
        var length: Int32 = 0
        at_python_names_rewind()
        while true {
            let kind = at_python_name_next(values, text, 256, &length)
            if kind == 0 { break }
            let v = (values[0], values[1], values[2], values[3])
            let fresh = out.room(300)
            if kind == AT_PY_NAME_TABLE { table = v; writeTable(&out, table); continue }
            if fresh && kind == AT_PY_NAME_KEY { writeTable(&out, table) }
            out.r.byte(UInt8(kind))
            switch kind {
            case AT_PY_NAME_KEY:
                out.r.varint(v.0); out.r.varint(v.1)
            case AT_PY_NAME_CLASS:
                out.r.varint(v.0); out.r.varint(v.1); out.r.varint(v.2); out.r.bytes(text, Int(length))
            default:   // str, module: an address (and a dict's), then the text
                out.r.varint(v.0)
                if kind == AT_PY_NAME_MODULE { out.r.varint(v.1) }
                out.r.bytes(text, Int(length))
            }
            out.n += 1
        }
        out.emit()
    }

    private static func writeTable(_ out: inout CountedPart, _ t: (UInt64, UInt64, UInt64, UInt64)) {
        out.r.byte(UInt8(AT_PY_NAME_TABLE))
        out.r.varint(t.0); out.r.varint(t.1); out.r.byte(UInt8(truncatingIfNeeded: t.2)); out.r.varint(t.3)
        out.n += 1
    }
}
