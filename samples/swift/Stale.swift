// `samples stale [N]`: leaked retain cycles whose only references left are stale words in the unused
// capacity of emptied collections (issue 14). N = number of cycles (default 100).
//
// Classes and instance sizes (swift_allocObject's size = the malloc request):
//   samples.StalePeer  24 bytes (header + other)  2N, in N retain cycles, leaked
//
// Cycle i (a.other = b, b.other = a) has its `a` put into one collection, by i % 3: the Dictionary
// `staleTable` ([Int: StalePeer], as a value), the Array `staleList`, the Set `staleSet`. Each was
// given its capacity up front (no storage is reallocated meanwhile), then emptied with
// `removeAll(keepingCapacity: true)`, which releases the elements but leaves their words behind in
// the storage. Nothing else holds a Peer (the stack below is scrubbed).
// At mark "stale" (and at exit): 2N StalePeers unreachable (48N bytes), N cycles closed by
// StalePeer.other -> StalePeer.other, each a ROOT CYCLE; the three storages are reachable.
// stdout: stale: cycles=N table=0 list=0 set=0

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import AllocTraceMarks

final class StalePeer: Hashable {
    var other: StalePeer?

    static func == (a: StalePeer, b: StalePeer) -> Bool { a === b }
    func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

/// Emptied collections whose unused capacity still holds the Peers' addresses.
nonisolated(unsafe) var staleTable: [Int: StalePeer] = [:]
nonisolated(unsafe) var staleList: [StalePeer] = []
nonisolated(unsafe) var staleSet: Set<StalePeer> = []

@inline(never)
func fillAndEmpty(_ n: Int) {
    staleTable.reserveCapacity(n)
    staleList.reserveCapacity(n)
    staleSet.reserveCapacity(n)
    for i in 0..<n {
        let a = StalePeer()
        let b = StalePeer()
        a.other = b
        b.other = a
        switch i % 3 {
        case 0: staleTable[i] = a
        case 1: staleList.append(a)
        default: staleSet.insert(a)
        }
    }
    staleTable.removeAll(keepingCapacity: true)
    staleList.removeAll(keepingCapacity: true)
    staleSet.removeAll(keepingCapacity: true)
}

/// Runs the `stale` scenario.
@inline(never)
func runStale(cycles: Int) {
    fillAndEmpty(cycles)
    scrubStack(256)
    AllocTrace.mark("stale")
    print("stale: cycles=\(cycles) table=\(staleTable.count) list=\(staleList.count) set=\(staleSet.count)")
}
