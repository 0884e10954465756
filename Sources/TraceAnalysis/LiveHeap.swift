import CReplaySupport

/// The blocks live at the current moment of a replay, in one open-addressing table keyed by address
/// whose 32-byte entries hold the blocks' facts: a free finds everything it needs in the one cache
/// line its lookup loads (an address map to slots of block records costs a second, dependent miss).
/// Linear probing in a table at most half full: at 3/4 the probes of inserts and the clusters that
/// deletion walks grow so much that a replay of 10M events takes 40% longer (measured; Robin Hood
/// placement was slower still, and 16-byte entries with the thread kept elsewhere no faster).
/// Deletion by backward shift (no tombstones). Swift type ids, which only snapshots read, live in a
/// parallel array; so do the weights of a sampled trace's blocks (`weighted`: each block stands for
/// `TraceEvent.weight` blocks, and `count` is their sum).
///
/// Plain values and manually managed memory (see `Column`): the replay that owns it calls
/// `deallocate()` once; copies handed out only read `count` and `bytes`. Arithmetic wraps: indices
/// are masked, counts are bounded by the table size.
public struct LiveHeap {
    struct Block {
        /// 0 marks an empty entry (a block at address 0, which only a damaged trace has, is kept aside).
        var address: UInt64
        var size: UInt64
        var ticks: UInt64
        var stack: UInt32
        var thread: UInt32
    }

    private var table: UnsafeMutablePointer<Block>
    private var types: UnsafeMutablePointer<UInt32>
    /// Per entry, when `weighted`: the blocks the entry stands for.
    private var weights: UnsafeMutablePointer<UInt32>?
    private var weightedCount = 0
    private var zeroWeight: UInt32 = 1
    /// The weight of the block the latest `remove` removed or `add` replaced (1 when unweighted).
    private(set) var removedWeight: UInt32 = 1
    private var mask: Int
    private var shift: UInt64
    /// The table grows when `tableCount` reaches this (half its size).
    private var growAt: Int
    private var tableCount = 0
    /// The block at address 0, if any, and its type.
    private var zeroBlock: Block?
    private var zeroType: UInt32 = 0

    /// Entries in the table.
    var capacity: Int { mask + 1 }
    /// Live blocks (estimated, in a weighted heap).
    public var count: Int {
        if weights != nil { return weightedCount }
        return zeroBlock == nil ? tableCount : tableCount + 1
    }
    /// Requested bytes of live blocks.
    public internal(set) var bytes: UInt64 = 0

    init(capacity: Int = 1 << 12, weighted: Bool = false) {
        var c = 16
        while c < capacity * 2 { c <<= 1 }
        (table, types) = LiveHeap.allocateTable(c)
        if weighted { weights = LargeAllocation.allocateZeroed(UInt32.self, capacity: c) }
        mask = c - 1
        shift = UInt64(64 - c.trailingZeroBitCount)
        growAt = c / 2
    }

    private static func allocateTable(_ c: Int) -> (UnsafeMutablePointer<Block>, UnsafeMutablePointer<UInt32>) {
        // Zero bytes are empty entries (address 0) and type 0.
        (LargeAllocation.allocateZeroed(Block.self, capacity: c), LargeAllocation.allocateZeroed(UInt32.self, capacity: c))
    }

    func deallocate() {
        LargeAllocation.deallocate(table, capacity: mask + 1)
        LargeAllocation.deallocate(types, capacity: mask + 1)
        if let weights { LargeAllocation.deallocate(weights, capacity: mask + 1) }
    }


    @inline(__always)
    private func home(_ address: UInt64) -> Int {
        Int(truncatingIfNeeded: ((address &>> 4) &* 0x9E37_79B9_7F4A_7C15) &>> shift)
    }

    /// Adds a block of Swift type `type` (0 for none); returns the block that was live at the same
    /// address (a free the recorder missed), which it replaces, if any.
    @inline(__always)
    mutating func add(_ block: Block, type: UInt32, weight: UInt32 = 1) -> Block? {
        bytes &+= block.size
        if weights != nil { weightedCount &+= Int(weight) }
        if block.address == 0 { return addZero(block, type: type, weight: weight) }
        if tableCount >= growAt { grow() }
        var i = home(block.address)
        while true {
            let x = table[i].address
            if x == 0 {
                table[i] = block
                types[i] = type
                if let weights { weights[i] = weight }
                tableCount &+= 1
                return nil
            }
            if x == block.address {
                let old = table[i]
                table[i] = block
                types[i] = type
                if let weights { removedWeight = weights[i]; weightedCount &-= Int(removedWeight); weights[i] = weight }
                bytes &-= old.size
                return old
            }
            i = (i &+ 1) & mask
        }
    }

    /// Removes the block at `address` and returns it; nil when no block lives there.
    @inline(__always)
    mutating func remove(address: UInt64) -> Block? {
        if address == 0 { return removeZero() }
        var i = home(address)
        while true {
            let x = table[i].address
            if x == address { break }
            if x == 0 { return nil }
            i = (i &+ 1) & mask
        }
        let removed = table[i]
        if let weights { removedWeight = weights[i]; weightedCount &-= Int(removedWeight) }
        // Backward shift: move later members of the cluster into the hole when it is on their way.
        var hole = i
        var j = (i &+ 1) & mask
        while true {
            let a = table[j].address
            if a == 0 { break }
            if (j &- home(a)) & mask >= (j &- hole) & mask {
                table[hole] = table[j]
                types[hole] = types[j]
                if let weights { weights[hole] = weights[j] }
                hole = j
            }
            j = (j &+ 1) & mask
        }
        table[hole].address = 0
        tableCount &-= 1
        bytes &-= removed.size
        return removed
    }

    /// Prefetches the entries an operation on `address` starts at: its home entry and the one after
    /// it (a free's backward shift reads on to the cluster's end; with two 32-byte entries a line,
    /// the next entry of an odd home is in the next line).
    @inline(__always)
    func prefetch(_ address: UInt64) {
        let p = table + home(address)
        alloctrace_prefetch(p)
        alloctrace_prefetch(p + 1)
    }

    /// The stack of the block at `address` if it is among the first entries of its probe (0 when
    /// not found there): a hint for prefetching, cheap once the entry was prefetched.
    @inline(__always)
    func peekStack(_ address: UInt64) -> UInt32 {
        var i = home(address)
        for _ in 0..<4 {
            let x = table[i].address
            if x == address { return table[i].stack }
            if x == 0 { return 0 }
            i = (i &+ 1) & mask
        }
        return 0
    }

    @inline(never)
    private mutating func addZero(_ block: Block, type: UInt32, weight: UInt32) -> Block? {
        let old = zeroBlock
        zeroBlock = block
        zeroType = type
        if let old { bytes &-= old.size; if weights != nil { removedWeight = zeroWeight; weightedCount &-= Int(zeroWeight) } }
        zeroWeight = weight
        return old
    }

    @inline(never)
    private mutating func removeZero() -> Block? {
        guard let old = zeroBlock else { return nil }
        zeroBlock = nil
        bytes &-= old.size
        if weights != nil { removedWeight = zeroWeight; weightedCount &-= Int(zeroWeight) }
        return old
    }

    @inline(never)
    private mutating func grow() {
        let (oldTable, oldTypes, oldWeights) = (table, types, weights)
        let oldCapacity = mask + 1
        let c = oldCapacity * 2
        (table, types) = LiveHeap.allocateTable(c)
        if oldWeights != nil { weights = LargeAllocation.allocateZeroed(UInt32.self, capacity: c) }
        mask = c - 1
        shift = UInt64(64 - c.trailingZeroBitCount)
        growAt = c / 2
        for k in 0..<oldCapacity where oldTable[k].address != 0 {
            var i = home(oldTable[k].address)
            while table[i].address != 0 { i = (i &+ 1) & mask }
            table[i] = oldTable[k]
            types[i] = oldTypes[k]
            if let oldWeights, let weights { weights[i] = oldWeights[k] }
        }
        LargeAllocation.deallocate(oldTable, capacity: oldCapacity)
        LargeAllocation.deallocate(oldTypes, capacity: oldCapacity)
        if let oldWeights { LargeAllocation.deallocate(oldWeights, capacity: oldCapacity) }
    }

    /// Calls `body` with each live block, its Swift type id (0 for none) and the blocks it stands for.
    func forEachBlock(_ body: (Block, UInt32, UInt32) -> Void) {
        if let zeroBlock { body(zeroBlock, zeroType, weights == nil ? 1 : zeroWeight) }
        for k in 0...mask where table[k].address != 0 { body(table[k], types[k], weights?[k] ?? 1) }
    }
}
