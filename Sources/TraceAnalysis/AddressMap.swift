/// Open-addressing map from block address to a slot number, tuned for replay: one probe for most
/// lookups, deletion by backward shift (no tombstones), no per-entry allocation.
struct AddressMap {
    private var keys: [UInt64]
    private var values: [Int32]
    private var mask: Int
    private var shift: UInt64
    private(set) var count = 0

    init(capacity: Int = 1 << 12) {
        var c = 16
        while c < capacity * 2 { c <<= 1 }
        keys = Array(repeating: 0, count: c)
        values = Array(repeating: 0, count: c)
        mask = c - 1
        shift = UInt64(64 - c.trailingZeroBitCount)
    }

    @inline(__always)
    private func home(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: ((key >> 4) &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The value for `key`, or -1.
    @inline(__always)
    func find(_ key: UInt64) -> Int32 {
        var i = home(key)
        return keys.withUnsafeBufferPointer { k in
            while true {
                let x = k[i]
                if x == key { return values[i] }
                if x == 0 { return -1 }
                i = (i + 1) & mask
            }
        }
    }

    /// Inserts or replaces; returns the previous value or -1.
    @discardableResult
    mutating func insert(_ key: UInt64, _ value: Int32) -> Int32 {
        if (count + 1) * 4 > (mask + 1) * 3 { grow() }
        var i = home(key)
        while true {
            let x = keys[i]
            if x == key { let old = values[i]; values[i] = value; return old }
            if x == 0 {
                keys[i] = key
                values[i] = value
                count += 1
                return -1
            }
            i = (i + 1) & mask
        }
    }

    /// Removes `key`; returns its value or -1.
    @discardableResult
    mutating func remove(_ key: UInt64) -> Int32 {
        var i = home(key)
        while true {
            let x = keys[i]
            if x == 0 { return -1 }
            if x == key { break }
            i = (i + 1) & mask
        }
        let removed = values[i]
        // backward shift: move later members of the cluster into the hole when it is on their way
        var hole = i
        var j = (i + 1) & mask
        while keys[j] != 0 {
            let h = home(keys[j])
            let between = hole <= j ? (h <= hole || h > j) : (h <= hole && h > j)
            if between {
                keys[hole] = keys[j]
                values[hole] = values[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        keys[hole] = 0
        count -= 1
        return removed
    }

    private mutating func grow() {
        let oldKeys = keys
        let oldValues = values
        let c = (mask + 1) * 2
        keys = Array(repeating: 0, count: c)
        values = Array(repeating: 0, count: c)
        mask = c - 1
        shift = UInt64(64 - c.trailingZeroBitCount)
        count = 0
        for i in 0..<oldKeys.count where oldKeys[i] != 0 { insert(oldKeys[i], oldValues[i]) }
    }

    /// Calls `body` with every (key, value).
    func forEach(_ body: (UInt64, Int32) -> Void) {
        for i in 0..<keys.count where keys[i] != 0 { body(keys[i], values[i]) }
    }
}
