// samples: Swift programs whose allocation behaviour is known exactly (see samples/README.md).
//
// Usage: samples objects [N] [M]   N Nodes (default 1000), M Leaves (default 10)   (Objects.swift)
//        samples marks                100 Nodes / 50 Leaves between marks          (Marks.swift)
//        samples cache [N]            N Cache.insert calls (default 1000)          (Cache.swift)
//        samples graph [N]            N leaked retain cycles, a list, a dictionary  (Graph.swift)
//        samples live                 steps driven by stdin, to inspect while it runs (Live.swift)
//        samples stale [N]            N leaked cycles held only by emptied capacity (Stale.swift)
//        samples private              private classes, named the same in every run (Private.swift)
//
// Each scenario documents its exact instance counts per class at the top of its file. The module is
// named `samples`, so the classes are `samples.Node`, `samples.Leaf`, `samples.Cache`, `samples.Entry`
// (Model.swift). Output is a deterministic summary on stdout; exit status 0, 2 on a usage error.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Prints the usage on stderr and exits with status 2.
func usage() -> Never {
    let message = "usage: samples objects [N] [M] | samples marks | samples cache [N] | samples graph [N] | samples live | samples stale [N] | samples private\n"
    _ = message.withCString { write(2, $0, strlen($0)) }
    exit(2)
}

/// The argument at `index` as a count (>= 0), or `defaultValue` when absent; exits on a bad value.
func countArgument(_ index: Int, default defaultValue: Int) -> Int {
    let arguments = CommandLine.arguments
    guard index < arguments.count else { return defaultValue }
    guard let value = Int(arguments[index]), value >= 0 else { usage() }
    return value
}

let scenario = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : ""
switch scenario {
case "objects":
    runObjects(nodeCount: countArgument(2, default: 1000), leafCount: countArgument(3, default: 10))
case "marks":
    runMarks()
case "cache":
    runCache(insertCount: countArgument(2, default: 1000))
case "graph":
    runGraph(cycles: countArgument(2, default: 10))
case "live":
    runLive()
case "private":
    runPrivate()
case "stale":
    runStale(cycles: countArgument(2, default: 100))
default:
    usage()
}
