/// The blocks live at the current moment of a replay, in parallel arrays indexed by slot.
public struct LiveHeap {
    var map = AddressMap()
    var size: [UInt64] = []
    var stack: [UInt32] = []
    var type: [UInt32] = []
    var thread: [UInt32] = []
    var ticks: [UInt64] = []
    var freeSlots: [Int32] = []

    /// Live blocks.
    public var count: Int { map.count }
    /// Requested bytes of live blocks.
    public private(set) var bytes: UInt64 = 0

    /// Adds a block; returns its slot and the slot of a block that was live at the same address
    /// (a free the recorder missed), or -1.
    @inline(__always)
    mutating func add(address: UInt64, size s: UInt64, stack st: UInt32, type ty: UInt32, thread th: UInt32,
                      ticks t: UInt64) -> (slot: Int32, displaced: Int32) {
        let slot: Int32
        if let reuse = freeSlots.popLast() {
            slot = reuse
            let i = Int(slot)
            size[i] = s; stack[i] = st; type[i] = ty; thread[i] = th; ticks[i] = t
        } else {
            slot = Int32(size.count)
            size.append(s); stack.append(st); type.append(ty); thread.append(th); ticks.append(t)
        }
        bytes &+= s
        let displaced = map.insert(address, slot)
        if displaced >= 0 { release(slot: displaced) }
        return (slot, displaced)
    }

    /// Removes the block at `address`; returns its slot (valid until the next `add`) or -1.
    @inline(__always)
    mutating func remove(address: UInt64) -> Int32 {
        let slot = map.remove(address)
        if slot >= 0 { release(slot: slot) }
        return slot
    }

    @inline(__always)
    private mutating func release(slot: Int32) {
        bytes &-= size[Int(slot)]
        freeSlots.append(slot)
    }

    /// Calls `body` with each live block's slot.
    func forEachSlot(_ body: (Int) -> Void) {
        map.forEach { _, slot in body(Int(slot)) }
    }

    /// Calls `body` with each live block's address and slot.
    func forEachBlock(_ body: (UInt64, Int) -> Void) {
        map.forEach { address, slot in body(address, Int(slot)) }
    }
}
