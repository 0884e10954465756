// `samples graph [N]`: a heap graph whose reachability is known exactly (chains, leaks, cycles,
// retained). N = number of leaked retain cycles (default 10).
//
// Classes and instance sizes (swift_allocObject's size = the malloc request):
//   samples.Peer      24 bytes (header + other)         N pairs in retain cycles, leaked
//   samples.ListNode  32 bytes (header + next + payload) a list of 1000 held by `graphHead`
//   samples.Holder    24 bytes (header + items)          3 values of `graphTable`
//   samples.Target    24 bytes (header + id)             1, in the items of graphTable[1]
//   samples.Observer  24 bytes (header + weak watched)   1, held by `graphObserver`
//   samples.Owner     24 bytes (header + child)          1, held by `graphOwner`
//   samples.Child     24 bytes (header + unowned owner)  1, held by Owner.child
//
// At mark "graph" (and at exit, everything stays):
//   - N pairs of Peers, a.other = b and b.other = a, nothing else holds them: 2N Peers leaked
//     (48N bytes), N cycles closed by Peer.other -> Peer.other, each a ROOT CYCLE.
//   - graphObserver.watched is a weak reference to a Peer of the first pair: it keeps nothing.
//   - graphHead -> ListNode(payload 999) -> ... -> ListNode(payload 0): 1000 nodes; the head
//     retains the whole list: 32000 bytes, 1000 blocks.
//   - graphTable: [Int: Holder] with keys 0, 1, 2 (one dictionary storage); graphTable[1].items
//     = [Target(id: 7)] (one array storage), the other items are empty (no storage). The chain to
//     the Target: graphTable -> dictionary storage -> Holder.items -> array storage -> Target.
//   - graphOwner -> Owner, Owner.child -> Child, Child.owner is unowned (back to the Owner).
// Live at the mark, of these classes: Peer 2N, ListNode 1000, Holder 3, Target 1, Observer 1,
// Owner 1, Child 1; unreachable: exactly the 2N Peers.
// Before marking, the scenario overwrites the stack below it with zeros, so that no stale copy of
// a pointer from the functions that built the graph is left where the recorder scans.
// stdout: graph: cycles=N peers=2N list_nodes=1000 list_sum=499500 holders=3 target_id=7 owner_child=1

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import AllocTraceMarks

final class Peer {
    var other: Peer?
}

final class ListNode {
    var next: ListNode?
    let payload: Int

    init(next: ListNode?, payload: Int) {
        self.next = next
        self.payload = payload
    }
}

final class Target {
    let id: Int

    init(id: Int) { self.id = id }
}

final class Holder {
    var items: [Target] = []
}

final class Observer {
    weak var watched: Peer?
}

final class Owner {
    var child: Child?
}

final class Child {
    unowned let owner: Owner

    init(owner: Owner) { self.owner = owner }
}

/// The list's head (1000 nodes).
nonisolated(unsafe) var graphHead: ListNode?
/// Three Holders; the one for key 1 holds the Target.
nonisolated(unsafe) var graphTable: [Int: Holder] = [:]
/// Watches a leaked Peer through a weak reference.
nonisolated(unsafe) var graphObserver = Observer()
/// An Owner whose Child points back with an unowned reference.
nonisolated(unsafe) var graphOwner: Owner?

let graphListLength = 1000

/// N retain cycles of two Peers, then drops them; the first is watched weakly.
@inline(never)
func makePeerCycles(_ n: Int) {
    for i in 0..<n {
        let a = Peer()
        let b = Peer()
        a.other = b
        b.other = a
        if i == 0 { graphObserver.watched = a }
    }
}

@inline(never)
func makeList() {
    var head: ListNode? = nil
    for payload in 0..<graphListLength {
        head = ListNode(next: head, payload: payload)
    }
    graphHead = head
}

@inline(never)
func makeTable() {
    var table: [Int: Holder] = [:]
    for key in 0..<3 {
        let holder = Holder()
        if key == 1 { holder.items.append(Target(id: 7)) }
        table[key] = holder
    }
    graphTable = table
}

@inline(never)
func makeOwner() {
    let owner = Owner()
    owner.child = Child(owner: owner)
    graphOwner = owner
}

/// Overwrites `depth` frames' worth of stack with zeros (stale pointers of finished calls).
@inline(never)
func scrubStack(_ depth: Int) {
    var pad = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0),
               UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0),
               UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0),
               UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
    withUnsafeMutableBytes(of: &pad) { p in _ = memset(p.baseAddress!, 0, p.count) }
    if depth > 0 { scrubStack(depth - 1) }
}

/// Runs the `graph` scenario.
@inline(never)
func runGraph(cycles: Int) {
    makePeerCycles(cycles)
    makeList()
    makeTable()
    makeOwner()
    scrubStack(256)
    AllocTrace.mark("graph")

    var sum = 0
    var count = 0
    var node = graphHead
    while let n = node {
        sum += n.payload
        count += 1
        node = n.next
    }
    let targetID = graphTable[1]?.items.first?.id ?? -1
    let ownerChild = graphOwner?.child?.owner === graphOwner ? 1 : 0
    print("graph: cycles=\(cycles) peers=\(2 * cycles) list_nodes=\(count) list_sum=\(sum)"
        + " holders=\(graphTable.count) target_id=\(targetID) owner_child=\(ownerChild)")
}
