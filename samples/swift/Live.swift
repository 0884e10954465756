// `samples live`: a program that waits between steps, to be inspected while it runs (`--pid`,
// `alloctrace debug`) and stopped by a signal.
//
//   (the arrays reserve their capacity first: no array buffer is allocated between the steps)
//   step 1: 100 Nodes (ids 0..<100, makeNode)                 live: Node 100, Leaf 0
//   then one more step per byte read from stdin (read(2) into a stack variable):
//   step k (k >= 2): 10 Nodes and 5 Leaves (makeNode, makeLeaf)   live: Node 100 + 10(k-1), Leaf 5(k-1)
//   (steps past 100 allocate nothing)
//   after each step: `samples_live_checkpoint(k)` (a C symbol, to break on), then "step k\n" on stdout
//   (write(2) from a stack buffer: no allocation).
//   At the end of stdin: "live: steps=K nodes=N leaves=L\n" (print), exit 0. Every object stays alive
//   until exit (globals). No signal handler of its own: SIGTERM, SIGINT end it with their default action.
// Between two steps the scenario allocates exactly 10 Nodes and 5 Leaves and frees nothing.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

nonisolated(unsafe) var liveNodes: [Node] = []
nonisolated(unsafe) var liveLeaves: [Leaf] = []

/// Called after each step; does nothing (a breakpoint's place: `break samples_live_checkpoint`).
@_cdecl("samples_live_checkpoint")
@inline(never)
public func liveCheckpoint(_ step: Int) {
    _ = step
}

/// The C symbol itself: a Swift call of `liveCheckpoint` would bypass it.
@_silgen_name("samples_live_checkpoint")
func callLiveCheckpoint(_ step: Int)

/// Writes "step K\n" without allocating.
@inline(never)
func writeStep(_ k: Int) {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { b in
        var n = 0
        for c in "step ".utf8 { b[n] = c; n += 1 }
        var v = k, first = n
        repeat { b[n] = UInt8(48 + v % 10); v /= 10; n += 1 } while v > 0
        var last = n - 1
        while first < last { b.swapAt(first, last); first += 1; last -= 1 }
        b[n] = 10; n += 1
        _ = write(1, b.baseAddress, n)
    }
}

/// Runs the `live` scenario.
@inline(never)
func runLive() {
    liveNodes.reserveCapacity(100 + 10 * 100)
    liveLeaves.reserveCapacity(5 * 100)
    for id in 0..<100 { liveNodes.append(makeNode(id)) }
    var step = 1
    callLiveCheckpoint(step)
    writeStep(step)
    var byte: UInt8 = 0
    while read(0, &byte, 1) == 1 {
        step += 1
        if step <= 100 {
            for i in 0..<10 { liveNodes.append(makeNode(1000 + step * 10 + i)) }
            for i in 0..<5 { liveLeaves.append(makeLeaf(step * 5 + i)) }
        }
        callLiveCheckpoint(step)
        writeStep(step)
    }
    print("live: steps=\(step) nodes=\(liveNodes.count) leaves=\(liveLeaves.count)")
}
