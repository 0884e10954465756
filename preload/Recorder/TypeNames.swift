import CRecorderSupport

// The runtime's own name lookup. It takes a runtime lock and allocates on first sight of a type,
// so only the writer calls it, under type_name_lock (fork waits for that lock).
@_silgen_name("swift_getTypeName")
func _atSwiftGetTypeName(_ type: UnsafeRawPointer, _ qualified: Bool) -> (UnsafePointer<UInt8>, Int)

/// Names Swift metadata for `type` records (writer thread only).
enum TypeNames {
    static func append(_ metadata: UInt64, to r: inout RecordBuilder) {
        guard let meta = UnsafeRawPointer(bitPattern: UInt(metadata)) else { return r.staticString("(unknown)") }
        // Heap objects that are not class instances have a kind word, not a class; name them by it.
        let kind = meta.load(as: UInt.self)
        switch kind {
        case 0x400: return r.staticString("(closure context)")
        case 0x500: return r.staticString("(box)")
        case 0x501: return r.staticString("(error box)")
        case 0x502: return r.staticString("(async task)")
        case 0x503: return r.staticString("(job)")
        case 0x401...0x7FF: return r.staticString("(heap object)")
        default: break
        }
        at_lock(&G.pointee.type_name_lock)
        let (name, length) = _atSwiftGetTypeName(meta, true)
        at_unlock(&G.pointee.type_name_lock)
        if length == 0 || (length >= 3 && name[0] == 0x3C && name[1] == 0x3C && name[2] == 0x3C) {
            return r.staticString("(heap object)")
        }
        SwiftCollections.note(metadata, name: name, length: length)
        PrivateTypeNames.append(name, length, to: &r)
    }
}
