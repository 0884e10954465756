import CRecorderSupport

/// Precise scanning of the Swift standard library's collection storage in the heap snapshot: the
/// words of such an object that cannot hold a live reference (unused capacity, empty buckets, the
/// header's counts, a string's characters) are left out of `heap_snapshot` parts 2 and 4, so that a
/// stale word left behind by `removeAll(keepingCapacity: true)` keeps nothing reachable.
///
/// The writer classifies each Swift class by the name it resolved for its `type` record (`note`),
/// and reads the element strides off the class's generic arguments then, outside any snapshot. A
/// capture sorts that list once (`prepare`); the scan then needs only plain reads of the object's
/// own header: no runtime call, no lock, no allocation (the world may be stopped).
///
/// Layouts (Swift 6.3, x86_64; docs/FORMAT.md, "What the scan reads precisely"), offsets from the
/// object's start, +0 metadata and +8 refcount always kept:
///   _ContiguousArrayStorage<E>  +16 count, +24 capacity << 1 | flag, elements from +32
///   _DictionaryStorage<K, V>    +16 count, +24 capacity, +32 scale (u8), +48 keys, +56 values,
///                               the occupied-bucket bitmap from +64 (max(1, buckets / 64) words)
///   _SetStorage<E>              the same header, +48 elements, the bitmap from +56
///   __StringStorage             +16 capacity (low 48 bits) and flags, +24 count and flags, the
///                               UTF-8 code units from +32; the word after them (breadcrumbs) is kept
enum SwiftCollections {
    enum Kind: UInt64 { case none = 0, array = 1, dictionary = 2, set = 3, string = 4 }

    static let capacity = 4096
    /// Pairs (metadata, kind | first stride << 8 | second stride << 32), in the order the writer
    /// named them; `sorted` is the capture's copy, by metadata.
    nonisolated(unsafe) static var noted: UnsafeMutablePointer<UInt64>! = nil
    nonisolated(unsafe) static var sorted: UnsafeMutablePointer<UInt64>! = nil
    nonisolated(unsafe) static var notedCount = 0
    nonisolated(unsafe) static var sortedCount = 0

    // MARK: writer thread

    /// Classifies class metadata `meta` by its resolved name. Called by the writer for every type.
    static func note(_ meta: UInt64, name: UnsafePointer<UInt8>, length: Int) {
        let kind: Kind
        if has(name, length, prefix: "Swift._ContiguousArrayStorage<") { kind = .array }
        else if has(name, length, prefix: "Swift._DictionaryStorage<") { kind = .dictionary }
        else if has(name, length, prefix: "Swift._SetStorage<") { kind = .set }
        else if has(name, length, prefix: "Swift.__StringStorage") && length == 21 { kind = .string }
        else { return }
        if noted == nil {
            guard let n = at_map(capacity * 16), let s = at_map(capacity * 16) else { return }
            noted = n.assumingMemoryBound(to: UInt64.self)
            sorted = s.assumingMemoryBound(to: UInt64.self)
        }
        guard notedCount < capacity else { return }
        // a fork child names every type again
        for i in 0..<notedCount where noted[i * 2] == meta { return }
        var first: UInt64 = 0, second: UInt64 = 0
        if kind != .string {
            guard let a = genericArgumentStride(meta, 0), a < 1 << 24 else { return }
            first = a
            if kind == .dictionary {
                guard let b = genericArgumentStride(meta, 1), b < 1 << 24 else { return }
                second = b
            }
        }
        noted[notedCount * 2] = meta
        noted[notedCount * 2 + 1] = kind.rawValue | first << 8 | second << 32
        notedCount += 1
    }

    static func has(_ name: UnsafePointer<UInt8>, _ length: Int, prefix: StaticString) -> Bool {
        guard length >= prefix.utf8CodeUnitCount else { return false }
        let p = prefix.utf8Start
        for i in 0..<prefix.utf8CodeUnitCount where name[i] != p[i] { return false }
        return true
    }

    /// The stride of generic argument `index` of generic class metadata `meta`: class descriptor
    /// (+40) flags must say generic class without a resilient superclass; its arguments start at
    /// word (positive size (+28) - immediate members (+32)); an argument's value witness table
    /// (metadata - 8) holds the stride at +72.
    static func genericArgumentStride(_ meta: UInt64, _ index: UInt64) -> UInt64? {
        guard let descriptor = TypeLayouts.u64(meta + 40), descriptor != 0,
              let flags = TypeLayouts.u32(descriptor), flags & 0x1F == 16, flags & 0x80 != 0,
              flags & 0x2000_0000 == 0,
              let positive = TypeLayouts.u32(descriptor + 28), let immediate = TypeLayouts.u32(descriptor + 32),
              positive > immediate, positive < 4096 else { return nil }
        let at = meta + (UInt64(positive - immediate) + index) * 8
        guard let argument = TypeLayouts.u64(at), argument != 0,
              let witnesses = TypeLayouts.u64(argument - 8), witnesses != 0,
              let stride = TypeLayouts.u64(witnesses + 72) else { return nil }
        return stride
    }

    // MARK: capture

    /// The bitmap of the dictionary or set being scanned, copied once when its object begins (a
    /// large table's buckets span many read chunks; a read per bitmap word cost 16,000 system
    /// calls for a 300,000-entry dictionary). 2^20 bytes: tables of up to 2^23 buckets.
    static let bitmapWords = 1 << 17
    nonisolated(unsafe) static var bitmaps: UnsafeMutablePointer<UInt64>! = nil

    /// Sorts what the writer noted, for `lookup`. The capture holds the writer lock.
    static func prepare() {
        sortedCount = 0
        guard noted != nil else { return }
        if bitmaps == nil {
            guard let b = at_map(bitmapWords * 8) else { return }
            bitmaps = b.assumingMemoryBound(to: UInt64.self)
        }
        for i in 0..<notedCount {
            let meta = noted[i * 2], facts = noted[i * 2 + 1]
            var k = sortedCount
            while k > 0 && sorted[(k - 1) * 2] > meta {
                sorted[k * 2] = sorted[(k - 1) * 2]
                sorted[k * 2 + 1] = sorted[(k - 1) * 2 + 1]
                k -= 1
            }
            sorted[k * 2] = meta
            sorted[k * 2 + 1] = facts
            sortedCount += 1
        }
    }

    /// The lowest and highest metadata `prepare` sorted ((1, 0): none), for a check before `lookup`.
    static var bounds: (UInt64, UInt64) {
        sortedCount > 0 ? (sorted[0], sorted[(sortedCount - 1) * 2]) : (1, 0)
    }

    /// The facts noted for metadata `v`, or 0.
    static func lookup(_ v: UInt64) -> UInt64 {
        guard sortedCount > 0 else { return 0 }
        var lo = 0, hi = sortedCount
        while lo < hi {
            let mid = (lo + hi) / 2
            let m = sorted[mid * 2]
            if m == v { return sorted[mid * 2 + 1] }
            if m < v { lo = mid + 1 } else { hi = mid }
        }
        return 0
    }

    /// Words of the memory being scanned: the chunk in the read buffer, else a read of its own.
    struct Reader {
        let buffer: UnsafeMutablePointer<UInt64>
        let start: UInt64
        let words: Int

        func word(_ a: UInt64) -> UInt64? {
            if a >= start && a < start + UInt64(words * 8) { return buffer[Int((a - start) / 8)] }
            var v: UInt64 = 0
            return at_read_memory(a, &v, 8) == 8 ? v : nil
        }

        /// Copies `count` words from `a` into `to`: from the buffer when it holds them all.
        func copy(_ a: UInt64, _ count: Int, to: UnsafeMutablePointer<UInt64>) -> Bool {
            if a >= start && a + UInt64(count * 8) <= start + UInt64(words * 8) {
                to.update(from: buffer + Int((a - start) / 8), count: count)
                return true
            }
            return at_read_memory(a, to, count * 8) == count * 8
        }
    }

    /// The collection object the scan is in, and which of its words it keeps.
    struct Object {
        var start: UInt64 = 0
        var end: UInt64 = 0
        var kind = Kind.none
        var keepEnd: UInt64 = 0
        var bitmap: UInt64 = 0
        var buckets: UInt64 = 0
        var keys: UInt64 = 0
        var keyStride: UInt64 = 0
        var values: UInt64 = 0
        var valueStride: UInt64 = 0

        /// Starts precise scanning of the object at `at` whose metadata has `facts`, when its
        /// header is consistent with the layout; otherwise the object stays conservative.
        mutating func begin(_ at: UInt64, _ facts: UInt64, _ r: Reader) {
            self = Object()
            guard let kind = Kind(rawValue: facts & 0xFF) else { return }
            let first = (facts >> 8) & 0xFF_FFFF, second = facts >> 32
            guard let w2 = r.word(at + 16), let w3 = r.word(at + 24) else { return }
            switch kind {
            case .none:
                return
            case .array:
                let count = w2, capacity = w3 >> 1
                guard count <= capacity, capacity < 1 << 40, first > 0 else { return }
                keepEnd = at + 32 + count * first
                end = at + 32 + capacity * first
            case .string:
                let capacity = w2 & 0xFFFF_FFFF_FFFF, count = w3 & 0xFFFF_FFFF_FFFF
                guard count <= capacity, capacity < 1 << 40 else { return }
                keepEnd = at + 16
                end = at + 32 + capacity
            case .dictionary, .set:
                guard let w4 = r.word(at + 32), let w6 = r.word(at + 48) else { return }
                let scale = w4 & 0xFF
                guard scale < 40, w2 <= w3, w3 <= 1 << scale else { return }
                buckets = 1 << scale
                bitmap = at + (kind == .dictionary ? 64 : 56)
                keys = bitmap + max(1, buckets / 64) * 8
                keyStride = first
                let words = Int(max(1, buckets / 64))
                guard w6 == keys, words <= bitmapWords, SwiftCollections.bitmaps != nil,
                      r.copy(bitmap, words, to: SwiftCollections.bitmaps) else { return }
                end = keys + buckets * keyStride
                if kind == .dictionary {
                    guard let w7 = r.word(at + 56), w7 >= end, w7 - end < 16 else { return }
                    values = w7
                    valueStride = second
                    end = values + buckets * valueStride
                }
            }
            start = at
            self.kind = kind
        }

        /// Whether the word at `at` may hold a reference. Words outside the object are kept.
        mutating func keeps(_ at: UInt64, _ r: Reader) -> Bool {
            if at >= end || at < start + 16 { return true }
            switch kind {
            case .none: return true
            case .array, .string: return at < keepEnd
            case .dictionary, .set:
                if at < keys { return false }
                if keyStride > 0 && at < keys + buckets * keyStride { return occupied((at - keys) / keyStride, r) }
                if valueStride > 0 && at >= values && at < values + buckets * valueStride {
                    return occupied((at - values) / valueStride, r)
                }
                return false
            }
        }

        func occupied(_ bucket: UInt64, _ r: Reader) -> Bool {
            SwiftCollections.bitmaps[Int(bucket / 64)] & (1 << (bucket % 64)) != 0
        }
    }
}
