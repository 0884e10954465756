import ArgumentParser
import TraceAnalysis
import TraceReports

/// `alloctrace chains TRACE (--type NAME | --site FUNCTION | --address HEX)`: the shortest chain of
/// strong references from a root to each object asked for.
struct Chains: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chains",
        abstract: "The shortest chain of strong references from a root to objects (objgraph's find_backref_chain).",
        discussion: """
            A root is a global variable, a thread's stack or other anonymous memory (thread-local \
            storage); each step names the holder's type, the field (or offset) and where the holder \
            was allocated. Objects no chain reaches are reported as unreachable. Needs a heap-graph \
            snapshot (recorded at marks and at exit by default).
            """
    )

    @OptionGroup var graph: HeapGraphOptions

    @Option(help: "Objects of this type (samples.Target, or Target; malloc@function for C blocks).")
    var type: String?

    @Option(help: "Objects allocated by this function (the innermost frame that is not the allocator).")
    var site: String?

    @Option(help: "The object holding this address (hexadecimal).")
    var address: String?

    @Option(help: "Show at most this many objects.")
    var limit: Int = 10

    @Option(help: "Also write the chains as Graphviz DOT to this file.")
    var dot: String?

    func validate() throws {
        let given = [type != nil, site != nil, address != nil].filter { $0 }.count
        guard given == 1 else { throw ValidationError("give exactly one of --type, --site, --address") }
        if let address, Chains.parseAddress(address) == nil { throw ValidationError("--address: not a hexadecimal address: \(address)") }
    }

    static func parseAddress(_ text: String) -> UInt64? {
        let digits = text.hasPrefix("0x") || text.hasPrefix("0X") ? String(text.dropFirst(2)) : text
        return UInt64(digits, radix: 16)
    }

    func run() throws {
        try reportingErrors {
            let (path, at) = try graph.target()
            let analysis = try Analysis.heapGraph(path, at: at, stacks: graph.stacks, fullNames: graph.qualified)
            let report = ChainsReport(analysis: analysis, type: type, site: site,
                                      address: address.flatMap(Chains.parseAddress), limit: limit)
            if let dot { try OutputFile.write(GraphDOT.chains(report, analysis: analysis), to: dot) }
            try Analysis.emit(report, json: graph.output.json) { $0.text() }
        }
    }
}
