// `samples marks`: live instance counts at marks.
//
//   (the arrays below reserve their capacity before "start": no array buffer is allocated between
//    the marks)
//   mark "start"         live: Node 0,   Leaf 0
//   100 Nodes (ids 0..<100, makeNode)
//   mark "after-nodes"   live: Node 100, Leaf 0     (allocated so far: Node 100)
//   50 Leaves (ids 0..<50, makeLeaf); then the last 30 Nodes (ids 70..<100) are released
//   mark "after-leaves"  live: Node 70,  Leaf 50    (allocated: Node 100, Leaf 50; freed: Node 30)
//   everything stays alive until exit (globals): at exit Node 70, Leaf 50.
// Between "start" and "after-leaves" the scenario allocates exactly 150 objects (100 Node, 50 Leaf)
// and frees exactly 30 (Node); no other allocation of its own.
// stdout:
//   marks: nodes_allocated=100 leaves_allocated=50 nodes_released=30 nodes_live=70 leaves_live=50

import AllocTraceMarks

/// The Nodes, alive until exit (the last 30 are removed before "after-leaves").
nonisolated(unsafe) var markNodes: [Node] = []
/// The Leaves, alive until exit.
nonisolated(unsafe) var markLeaves: [Leaf] = []

/// Runs the `marks` scenario.
@inline(never)
func runMarks() {
    markNodes.reserveCapacity(100)
    markLeaves.reserveCapacity(50)

    AllocTrace.mark("start")
    for id in 0..<100 {
        markNodes.append(makeNode(id))
    }
    AllocTrace.mark("after-nodes")
    for id in 0..<50 {
        markLeaves.append(makeLeaf(id))
    }
    markNodes.removeLast(30)
    AllocTrace.mark("after-leaves")

    print("marks: nodes_allocated=100 leaves_allocated=50 nodes_released=30"
        + " nodes_live=\(markNodes.count) leaves_live=\(markLeaves.count)")
}
