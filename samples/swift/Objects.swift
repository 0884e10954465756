// `samples objects [N] [M]` (defaults N = 1000, M = 10).
//
// Marks: "start", then N Nodes, the dictionary and M Leaves are created, mark "created", then the
// odd-id Nodes are released, mark "end", then the summary is printed and the program exits with the
// rest still alive (held by globals).
//
// Exact instance counts of the sample's classes:
//   samples.Node: N allocated (ids 0..<N, in makeNode); floor(N/2) freed (the odd ids) before
//                 mark "end"; ceil(N/2) live at "end" and at exit.
//   samples.Leaf: M allocated (ids 0..<M, in makeLeaf); none freed; M live at exit.
//   Entry, Cache: none.
// Storage objects (created between "start" and "created", none freed, all live at exit):
//   exactly 1 Swift._DictionaryStorage<Swift.Int, samples.Node> (Dictionary(minimumCapacity: N):
//   it never grows, and removing keys never reallocates it); its capacity is the smallest
//   3/4 * 2^k >= N (N = 1000: 2048 buckets, capacity 1536; N = 0 uses the empty singleton and
//   allocates no storage);
//   exactly 1 array buffer for the N Optional<Node> slots and 1 for the M Leaves
//   (reserveCapacity up front, never grows; none for a count of 0); their type names depend on
//   the build configuration (see samples/README.md), so tests do not count them.
// Freeing a Node sets its slot to nil and removes its key from the dictionary: no buffer is
// reallocated.
// stdout (N = 1000, M = 10):
//   objects: nodes_created=1000 leaves_created=10 nodes_freed=500 nodes_live=500 leaves_live=10 dictionary_count=500 dictionary_capacity=1536 id_sum=249500

import AllocTraceMarks

/// The Nodes, by id; a freed Node's slot is nil. Global, so everything lives until exit.
nonisolated(unsafe) var objectNodes: [Node?] = []
/// The live Nodes by id; exactly one dictionary storage object.
nonisolated(unsafe) var objectIndex: [Int: Node] = [:]
/// The Leaves, alive until exit.
nonisolated(unsafe) var objectLeaves: [Leaf] = []

/// Runs the `objects` scenario.
@inline(never)
func runObjects(nodeCount: Int, leafCount: Int) {
    AllocTrace.mark("start")
    createObjects(nodeCount: nodeCount, leafCount: leafCount)
    AllocTrace.mark("created")
    let freed = freeOddNodes()
    AllocTrace.mark("end")

    var idSum = 0
    for node in objectNodes { if let node { idSum += node.id } }
    print("objects: nodes_created=\(nodeCount) leaves_created=\(leafCount) nodes_freed=\(freed)"
        + " nodes_live=\(objectNodes.count - freed) leaves_live=\(objectLeaves.count)"
        + " dictionary_count=\(objectIndex.count) dictionary_capacity=\(objectIndex.capacity) id_sum=\(idSum)")
}

/// Creates the N Nodes (array slots and dictionary entries) and the M Leaves.
@inline(never)
func createObjects(nodeCount: Int, leafCount: Int) {
    objectNodes.reserveCapacity(nodeCount)
    objectIndex = Dictionary(minimumCapacity: nodeCount)
    for id in 0..<nodeCount {
        let node = makeNode(id)
        objectNodes.append(node)
        objectIndex[id] = node
    }
    objectLeaves.reserveCapacity(leafCount)
    for id in 0..<leafCount {
        objectLeaves.append(makeLeaf(id))
    }
}

/// Releases every odd-id Node (its array slot and its dictionary entry); returns how many.
@inline(never)
func freeOddNodes() -> Int {
    var freed = 0
    for id in stride(from: 1, to: objectNodes.count, by: 2) {
        objectIndex.removeValue(forKey: id)
        objectNodes[id] = nil
        freed += 1
    }
    return freed
}
