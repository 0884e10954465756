// swift-classes.swift - class-heavy Swift workload for tracer benchmarks.
//
// Deterministic (fixed-seed xorshift, no clocks, no hashing-order-dependent output):
// builds and discards binary trees of final classes, singly linked lists, arrays of
// objects and dictionaries keyed by Int holding objects. Every round allocates a few
// hundred thousand objects (swift_allocObject -> malloc) that are released again
// before the next round, with a small long-lived set kept across rounds.
//
// Usage: swift-classes [rounds]   (default 12; about 5 million object allocations)
// Prints one checksum line on stdout.

final class TreeNode {
    var left: TreeNode?
    var right: TreeNode?
    let value: Int
    init(_ value: Int, _ left: TreeNode?, _ right: TreeNode?) {
        self.value = value
        self.left = left
        self.right = right
    }
}

final class ListNode {
    var next: ListNode?
    let payload: Int
    init(_ payload: Int, _ next: ListNode?) {
        self.payload = payload
        self.next = next
    }
}

final class Particle {
    var x: Double
    var y: Double
    var tag: Int
    var label: [UInt8]
    init(x: Double, y: Double, tag: Int) {
        self.x = x
        self.y = y
        self.tag = tag
        self.label = [UInt8(truncatingIfNeeded: tag), UInt8(truncatingIfNeeded: tag >> 8)]
    }
}

final class Bucket {
    var items: [Particle] = []
}

struct Rng {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}

@inline(never)
func buildTree(_ depth: Int, _ seed: Int) -> TreeNode {
    if depth == 0 { return TreeNode(seed, nil, nil) }
    return TreeNode(seed, buildTree(depth - 1, seed &* 2 &+ 1), buildTree(depth - 1, seed &* 2 &+ 2))
}

@inline(never)
func checkTree(_ node: TreeNode) -> Int {
    var sum = node.value & 0xffff
    if let l = node.left { sum &+= checkTree(l) }
    if let r = node.right { sum &+= checkTree(r) }
    return sum
}

@inline(never)
func buildList(_ count: Int, _ rng: inout Rng) -> ListNode? {
    var head: ListNode? = nil
    for _ in 0..<count { head = ListNode(Int(truncatingIfNeeded: rng.next() & 0xffff), head) }
    return head
}

@inline(never)
func sumList(_ head: ListNode?) -> Int {
    var sum = 0
    var cur = head
    while let n = cur { sum &+= n.payload; cur = n.next }
    return sum
}

@inline(never)
func dropList(_ head: inout ListNode?) {
    // iterative teardown so a long list does not recurse in deinit
    var cur = head
    head = nil
    while let n = cur {
        cur = n.next
        n.next = nil
    }
}

@inline(never)
func particles(_ count: Int, _ rng: inout Rng) -> Int {
    var all: [Particle] = []
    all.reserveCapacity(count)
    for i in 0..<count {
        let r = rng.next()
        all.append(Particle(x: Double(r & 0xfff), y: Double((r >> 12) & 0xfff), tag: i))
    }
    var buckets: [Int: Bucket] = [:]
    for p in all {
        let key = Int(p.x) / 64
        let b: Bucket
        if let existing = buckets[key] { b = existing } else { b = Bucket(); buckets[key] = b }
        b.items.append(p)
    }
    var sum = 0
    for key in buckets.keys.sorted() {
        let b = buckets[key]!
        sum &+= key &* b.items.count
        for p in b.items { sum &+= Int(p.y) &+ Int(p.label[0]) }
    }
    return sum
}

let rounds = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 12 : 12
var rng = Rng()
var checksum = 0
var keep: [TreeNode] = []

for round in 0..<rounds {
    // trees: 2^17 - 1 nodes per round, a few short-lived small trees
    let tree = buildTree(16, round)
    checksum &+= checkTree(tree)
    for i in 0..<2000 { checksum &+= checkTree(buildTree(4, i)) }
    if round % 4 == 0 { keep.append(buildTree(10, round)) }

    // linked lists
    var list = buildList(100_000, &rng)
    checksum &+= sumList(list)
    dropList(&list)

    // arrays of objects in dictionaries of buckets
    checksum &+= particles(60_000, &rng)

    // string-keyed dictionary of small objects
    var byName: [String: ListNode] = [:]
    for i in 0..<20_000 { byName["k\(i % 5000)-\(round)"] = ListNode(i, nil) }
    checksum &+= byName.count
}
for t in keep { checksum &+= checkTree(t) }
print("swift-classes rounds=\(rounds) checksum=\(checksum)")
