import CRecorderSupport

/// Interns call stacks as a trie of (parent, return address) nodes shared by all threads.
///
/// A whole-stack hash cache answers the common case in one probe; on a miss the trie is walked from
/// the outermost frame. Tables are lock-free open addressing in anonymous memory: no malloc, no
/// lock a signal or fork could leave held. A node is written before it is published, so a reader
/// never waits; two threads racing to add the same node may both add it, which costs one duplicate
/// node and nothing else. The writer emits nodes in id order as they become ready.
enum StackTable {
    struct Node {
        var ip: UInt64
        var parent: UInt32
        var ready: UInt32
    }

    // Hash tables are touched at random, so their whole size soon becomes resident: 8 MiB of node
    // index and 4 MiB of whole-stack cache (the node array itself grows in order).
    static let nodeCapacity = 1 << 22
    static let nodeSlots = 1 << 20
    static let cacheSlots = 1 << 18

    // Set once in `setUp` (constructor, single-threaded); plain reads afterwards.
    nonisolated(unsafe) static var nodes: UnsafeMutablePointer<Node>! = nil
    nonisolated(unsafe) static var nodeIndex: UnsafeMutablePointer<UInt64>! = nil
    nonisolated(unsafe) static var cache: UnsafeMutablePointer<UInt64>! = nil   // pairs: hash, leaf id
    /// The next node id to hand out; node 0 is the empty stack.
    nonisolated(unsafe) static var count: UnsafeMutablePointer<UInt64>! = nil
    /// Nodes [1, emitted) have been written to the trace.
    nonisolated(unsafe) static var emitted: UInt64 = 1

    static func setUp() -> Bool {
        guard let n = at_map(nodeCapacity * MemoryLayout<Node>.stride),
              let i = at_map_huge_aligned(nodeSlots * 8),
              let c = at_map_huge_aligned(cacheSlots * 16),
              let k = at_map(64) else { return false }
        nodes = n.assumingMemoryBound(to: Node.self)
        nodeIndex = i.assumingMemoryBound(to: UInt64.self)
        cache = c.assumingMemoryBound(to: UInt64.self)
        count = k.assumingMemoryBound(to: UInt64.self)
        count.pointee = 1
        emitted = 1
        return true
    }

    @inline(__always)
    static func mix(_ h: UInt64, _ v: UInt64) -> UInt64 {
        var x = (h ^ v) &* 0x9E37_79B9_7F4A_7C15
        x ^= x &>> 29
        return x
    }

    /// Per-thread front of the whole-stack cache, in the same mapping as the thread's frame
    /// scratch: sets of two (hash, id) pairs. The shared cache is spread over 4 MiB, so in a
    /// program that touches a lot of memory each of its probes missed the TLB and the caches (about
    /// 5 ns a malloc in bench/workloads/churn.c); a thread's hot stacks fit here. 128 sets (4 KiB)
    /// hold a native program's; a Python program's stacks carry the Python line of every frame
    /// (bench/workloads/json_workload.py: 134,000 stacks, 2 in 3 allocations missed 128 sets, 1 in
    /// 8 missed 4,096 sets, at ~100 ns a shared probe), so with Python frames a thread has 4,096
    /// (128 KiB). Set once before the first thread slot is prepared (`usePythonSize`).
    nonisolated(unsafe) static var localSets = 128
    static var localBytes: Int { localSets * 32 + hotBytes }
    /// Behind the front, a Python thread's hottest stacks: 128 two-way sets (4 KiB) that stay in the
    /// L1 cache, looked at before the front's set, which is often still on its way from memory.
    static let hotSets = 128
    static var hotBytes: Int { localSets > 128 ? hotSets * 32 : 0 }
    /// A Python program's stacks are many (every Python line makes its own): a bigger front, and
    /// huge pages for the node index and the shared cache, which its misses probe at random.
    static func usePythonSize() {
        localSets = 4096
        at_advise_huge(nodeIndex, nodeSlots * 8)
        at_advise_huge(cache, cacheSlots * 16)
    }

    /// The id the thread's cache front holds for hash `h`, or nil.
    @inline(__always)
    static func cachedLocally(_ h: UInt64, _ local: UnsafeMutablePointer<UInt64>) -> UInt64? {
        let set = local + (Int(truncatingIfNeeded: h &>> 7) & (localSets - 1)) * 4
        if set[0] == h { return set[1] }
        if set[2] == h { return set[3] }
        return nil
    }

    /// The 4-way set (one cache line) of a Python stack in the thread's cache front, chosen by
    /// its Python frames alone: known before the native stack is walked, so it can be loaded
    /// meanwhile; the few native stacks under one Python line share it.
    @inline(__always)
    static func pythonSet(_ pyhash: UInt64, _ local: UnsafeMutablePointer<UInt64>) -> UnsafeMutablePointer<UInt64> {
        local + (Int(truncatingIfNeeded: pyhash &>> 9) & (localSets / 2 - 1)) * 8
    }

    /// The hot set of a Python stack (key `h`): after the front's sets.
    @inline(__always)
    static func hotSet(_ h: UInt64, _ local: UnsafeMutablePointer<UInt64>) -> UnsafeMutablePointer<UInt64> {
        local + localSets * 4 + (Int(truncatingIfNeeded: h &>> 7) & (hotSets - 1)) * 4
    }

    /// Two-way, most recently used first.
    @inline(__always)
    static func rememberHot(_ set: UnsafeMutablePointer<UInt64>, _ h: UInt64, _ id: UInt64) {
        set[2] = set[0]; set[3] = set[1]
        set[0] = h; set[1] = id
    }

    @inline(__always)
    static func cachedIn(_ set: UnsafeMutablePointer<UInt64>, _ h: UInt64) -> UInt64? {
        if set[0] == h { return set[1] }
        if set[2] == h { return set[3] }
        if set[4] == h { return set[5] }
        if set[6] == h { return set[7] }
        return nil
    }

    /// Puts (h, id) first in a 4-way set; the oldest goes.
    @inline(__always)
    static func remember(_ set: UnsafeMutablePointer<UInt64>, _ h: UInt64, _ id: UInt64) {
        set[6] = set[4]; set[7] = set[5]
        set[4] = set[2]; set[5] = set[3]
        set[2] = set[0]; set[3] = set[1]
        set[0] = h; set[1] = id
    }

    /// The node id of the stack in `frames[0..<n]` (innermost first); 0 when the tables are full.
    /// `h` is its `at_stack_hash`; `local` is the calling thread's cache front (`localSets`), or nil.
    @inline(__always)
    static func intern(_ frames: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ n: Int, hash h: UInt64,
                       local: UnsafeMutablePointer<UInt64>?) -> UInt64 {
        if n == 0 { return 0 }
        guard let local else { return shared(frames, n, h) }
        let set = local + (Int(truncatingIfNeeded: h &>> 7) & (localSets - 1)) * 4
        if set[0] == h { return set[1] }
        if set[2] == h {
            // most recently used first
            let id = set[3]
            set[2] = set[0]; set[3] = set[1]
            set[0] = h; set[1] = id
            return id
        }
        let id = shared(frames, n, h)
        if id != 0 {
            set[2] = set[0]; set[3] = set[1]
            set[0] = h; set[1] = id
        }
        return id
    }

    /// Starts loading the shared cache's line for `h`: a miss there costs a trip to memory, which
    /// the merge of a Python stack (at_python_insert) can hide.
    @inline(__always)
    static func prefetchShared(_ h: UInt64) {
        at_prefetch(cache + (Int(truncatingIfNeeded: h &>> 20) & (cacheSlots - 1)) * 2)
    }

    /// The shared whole-stack cache, then the trie.
    static func shared(_ frames: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ n: Int, _ h: UInt64) -> UInt64 {
        let mask = cacheSlots - 1
        var slot = Int(truncatingIfNeeded: h &>> 20) & mask
        for _ in 0..<16 {
            let entry = cache + slot * 2
            let key = at_load64(entry)
            if key == h {
                let id = at_load64(entry + 1)
                if id != 0 { return id }
                return walk(frames, n)          // published key, id still being written
            }
            if key == 0 {
                let id = walk(frames, n)
                if id != 0 && at_cas64(entry, 0, h) != 0 { at_store64(entry + 1, id) }
                return id
            }
            slot = (slot + 1) & mask
        }
        return walk(frames, n)                  // crowded neighbourhood: no caching
    }

    /// Walks the trie from the outermost frame, adding missing nodes.
    static func walk(_ frames: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ n: Int) -> UInt64 {
        var parent: UInt64 = 0
        var i = n - 1
        while i >= 0 {
            parent = child(parent, UInt64(UInt(bitPattern: frames[i])))
            if parent == 0 { return 0 }
            i -= 1
        }
        return parent
    }

    /// The node for `ip` under `parent`, added if missing.
    static func child(_ parent: UInt64, _ ip: UInt64) -> UInt64 {
        let h = mix(mix(0x51_7CC1_B727_220A, parent), ip)
        let tag = (h &>> 32) | 1
        let mask = nodeSlots - 1
        var slot = Int(truncatingIfNeeded: h) & mask
        for _ in 0..<nodeSlots {
            let p = nodeIndex + slot
            var word = at_load64(p)
            if word == 0 {
                if at_load64(count) > UInt64(nodeSlots - nodeSlots / 4) { return 0 }   // 75% full: stop adding
                let id = at_add64(count, 1) - 1
                if id >= UInt64(nodeCapacity) || id > UInt64(UInt32.max) { return 0 }
                let node = nodes + Int(id)
                node.pointee.ip = ip
                node.pointee.parent = UInt32(truncatingIfNeeded: parent)
                at_store32(&node.pointee.ready, 1)
                if at_cas64(p, 0, (tag &<< 32) | id) != 0 { return id }
                word = at_load64(p)             // lost the race: look at the winner
            }
            if word &>> 32 == tag {
                let id = word & 0xFFFF_FFFF
                let node = nodes + Int(id)
                if node.pointee.ip == ip && UInt64(node.pointee.parent) == parent { return id }
            }
            slot = (slot + 1) & mask
        }
        return 0
    }

    /// After fork, in the child: a node another thread was adding will never be finished; make it
    /// a harmless empty node so the writer does not stop there.
    static func sealAfterFork() {
        let end = min(at_load64(count), UInt64(nodeCapacity))
        var id: UInt64 = 1
        while id < end {
            let node = nodes + Int(id)
            if at_load32(&node.pointee.ready) == 0 { node.pointee.ip = 0; node.pointee.parent = 0; at_store32(&node.pointee.ready, 1) }
            id += 1
        }
        emitted = 1
    }
}
