import CRecorderSupport

/// Gives each Swift metadata pointer a small type id; the writer resolves names off the hot path.
enum TypeTable {
    static let capacity = 1 << 16
    static let slots = 1 << 17

    nonisolated(unsafe) static var metadata: UnsafeMutablePointer<UInt64>! = nil   // by id
    nonisolated(unsafe) static var index: UnsafeMutablePointer<UInt64>! = nil      // pairs: metadata, id
    nonisolated(unsafe) static var count: UnsafeMutablePointer<UInt64>! = nil
    nonisolated(unsafe) static var emitted: UInt64 = 1

    static func setUp() -> Bool {
        guard let m = at_map(capacity * 8), let i = at_map(slots * 16), let c = at_map(64) else { return false }
        metadata = m.assumingMemoryBound(to: UInt64.self)
        index = i.assumingMemoryBound(to: UInt64.self)
        count = c.assumingMemoryBound(to: UInt64.self)
        count.pointee = 1
        emitted = 1
        return true
    }

    /// The type id for `meta`; 0 when the table is full.
    @inline(__always)
    static func id(for meta: UInt64) -> UInt64 {
        var h = meta &* 0x9E37_79B9_7F4A_7C15
        h ^= h &>> 31
        let mask = slots - 1
        var slot = Int(truncatingIfNeeded: h) & mask
        for _ in 0..<64 {
            let entry = index + slot * 2
            let key = at_load64(entry)
            if key == meta {
                let id = at_load64(entry + 1)
                if id != 0 { return id }
            } else if key == 0 {
                let id = at_add64(count, 1) - 1
                if id >= UInt64(capacity) { return 0 }
                at_store64(metadata + Int(id), meta)
                if at_cas64(entry, 0, meta) != 0 {
                    at_store64(entry + 1, id)
                    return id
                }
                if at_load64(entry) == meta {
                    // Another thread registered the same type: our id stays a harmless alias.
                    return id
                }
            }
            slot = (slot + 1) & mask
        }
        return 0
    }

    /// Metadata of an id whose owner never wrote it (a thread that fork left behind).
    static let abandoned: UInt64 = 1

    /// In a fork child: ids whose metadata never got written are marked abandoned, so the writer
    /// does not wait for them forever; every definition is written again.
    static func sealAfterFork() {
        let end = min(at_load64(count), UInt64(capacity))
        var id: UInt64 = 1
        while id < end {
            if at_load64(metadata + Int(id)) == 0 { at_store64(metadata + Int(id), abandoned) }
            id += 1
        }
        emitted = 1
    }
}
