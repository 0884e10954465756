#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Symbolication
import Synchronization
import TraceReader

/// Loads, on a thread of its own while a replay runs, the debug information the report will need,
/// so that `StackResolver` finds a `Symbolizer` ready instead of opening every module's DWARF after
/// the replay (tens of milliseconds with compressed separate debug files, e.g. glibc's).
///
/// `start(for:)` runs between a replay's callbacks (it copies the reader's modules and stacks so far:
/// the modules mapped at start, the stacks of the first events); the thread makes a `Symbolizer` for
/// those modules and symbolizes one return address in each module the stacks use, most likely needed
/// first: the modules holding the most innermost frames (where a report's sites are named). Once the
/// replay is over (`waitForAll`, `take(for:)`) it stops after the module in hand: what a report
/// still needs it then loads itself, and nothing it does not (a short trace's replay ends long before
/// every module's debug information would be read). `take(for:)` waits for it and hands the
/// `Symbolizer` over, unless the trace's modules changed since (then it is dropped and a fresh one
/// made). A `Symbolizer` is used by one thread at a time: the warm-up's thread until it ends, then
/// the reports'.
public final class SymbolizerWarmup: @unchecked Sendable {
    /// What the thread reads and writes: the copies it works from, and its result (read after the
    /// thread is joined).
    private final class Work: @unchecked Sendable {
        let modules: [TraceModule]
        let stacks: StackTable
        let leafModulesOnly: Bool
        var symbolizer: Symbolizer?
        /// Set when the replay is over: load no further module.
        let stop = Atomic<Bool>(false)
        init(_ modules: [TraceModule], _ stacks: StackTable, leafModulesOnly: Bool) {
            self.modules = modules
            self.stacks = stacks
            self.leafModulesOnly = leafModulesOnly
        }
    }

    private let work: Work
    private let thread: pthread_t
    /// Joined (or being joined) already.
    private var joined = false

    nonisolated(unsafe) private static var pending: [ObjectIdentifier: SymbolizerWarmup] = [:]
    nonisolated(unsafe) private static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()

    /// How many stack nodes are looked at for the modules they use.
    static let sampledNodes = 4096

    private init?(modules: [TraceModule], stacks: StackTable, leafModulesOnly: Bool) {
        // The Symbolizer clears DEBUGINFOD_URLS. Do it here, on the calling thread, so that the
        // warm-up's own unsetenv finds nothing to change while other threads may read the environment.
        unsetenv("DEBUGINFOD_URLS")
        work = Work(modules, stacks, leafModulesOnly: leafModulesOnly)
        let context = Unmanaged.passRetained(work).toOpaque()
        var t = pthread_t()
        let rc = pthread_create(&t, nil, { context in
            let work = Unmanaged<Work>.fromOpaque(context!).takeRetainedValue()
            work.symbolizer = SymbolizerWarmup.warm(work)
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<Work>.fromOpaque(context).release()
            return nil
        }
        thread = t
    }

    /// The work of the thread: a Symbolizer with the debug information of the used modules loaded
    /// (until told to stop).
    private static func warm(_ work: Work) -> Symbolizer {
        let symbolizer = Symbolizer(modules: work.modules)
        for ip in addressesToWarm(work.modules, work.stacks, leafModulesOnly: work.leafModulesOnly) {
            if work.stop.load(ordering: .relaxed) { break }
            _ = symbolizer.frames(for: ip)
        }
        return symbolizer
    }

    /// One return address in each module the sampled stack nodes use: modules by how many leaves
    /// (innermost frames) they hold, most first, then (unless `leafModulesOnly`) the others in order
    /// of appearance.
    static func addressesToWarm(_ modules: [TraceModule], _ stacks: StackTable, leafModulesOnly: Bool) -> [UInt64] {
        var nodes: [(id: UInt32, node: StackNode, module: Int)] = []
        var parents = Set<UInt32>()
        var id: UInt32 = 1
        while id <= UInt32(sampledNodes) {
            if let node = stacks.node(id), let m = modules.firstIndex(where: { $0.contains(node.ip) }) {
                nodes.append((id, node, m))
                parents.insert(node.parent)
            }
            id += 1
        }
        var firstSeen: [Int: Int] = [:]
        var ip: [Int: UInt64] = [:]
        var leaves: [Int: Int] = [:]
        for (rank, n) in nodes.enumerated() {
            if firstSeen[n.module] == nil { firstSeen[n.module] = rank; ip[n.module] = n.node.ip }
            if !parents.contains(n.id) { leaves[n.module, default: 0] += 1 }
        }
        let order = firstSeen.keys.filter { !leafModulesOnly || leaves[$0] != nil }.sorted {
            (leaves[$0] ?? 0, firstSeen[$1]!) > (leaves[$1] ?? 0, firstSeen[$0]!)
        }
        return order.map { ip[$0]! }
    }

    private static func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return body()
    }

    /// Starts warming up for `reader` (once per reader). Call on the thread that replays it, between
    /// callbacks. `leafModulesOnly`: for a report that names sites by their innermost user frame
    /// only, just the modules holding innermost frames; the others' debug information (libc's is
    /// ~40 ms of decompression, under `main` in every stack) would mostly be read for nothing, taking
    /// a core from the replay meanwhile (churn and threads: ~10% of the wall time).
    public static func start(for reader: TraceReader, leafModulesOnly: Bool = false) {
        let key = ObjectIdentifier(reader)
        guard locked({ pending[key] == nil }) else { return }
        guard let warmup = SymbolizerWarmup(modules: reader.modules, stacks: reader.stacks,
                                            leafModulesOnly: leafModulesOnly) else { return }
        locked { pending[key] = warmup }
    }

    /// Waits for every warm-up still running (their Symbolizers stay for `take`). Call once the
    /// replays are over, whatever their outcome: a process must not exit while a warm-up runs (exit
    /// tears down libdw's, libcurl's and OpenSSL's state under it).
    public static func waitForAll() {
        let running = locked { () -> [SymbolizerWarmup] in
            let all = pending.values.filter { !$0.joined }
            for w in all { w.work.stop.store(true, ordering: .relaxed) }
            for w in all { w.joined = true }
            return all
        }
        for w in running { pthread_join(w.thread, nil) }
    }

    /// The warmed-up Symbolizer for `reader`, if one was started and the trace's modules are still the
    /// ones it was made for; waits for the warm-up to end.
    static func take(for reader: TraceReader) -> Symbolizer? {
        guard let warmup = locked({ pending.removeValue(forKey: ObjectIdentifier(reader)) }) else { return nil }
        warmup.work.stop.store(true, ordering: .relaxed)
        let join = locked { () -> Bool in
            defer { warmup.joined = true }
            return !warmup.joined
        }
        if join { pthread_join(warmup.thread, nil) }
        guard SymbolizerWarmup.sameModules(warmup.work.modules, reader.modules) else { return nil }
        return warmup.work.symbolizer
    }

    /// Equal for symbolization: the same files at the same places (load and unload times aside).
    private static func sameModules(_ a: [TraceModule], _ b: [TraceModule]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy {
            $0.id == $1.id && $0.loadBias == $1.loadBias && $0.path == $1.path && $0.buildID == $1.buildID
                && $0.segments == $1.segments
        }
    }
}
