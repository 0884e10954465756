import TraceAnalysis
import TraceReader

/// Names the groups of a heap snapshot: a Swift type by its name, any other block by its entry
/// point and allocating function (`malloc@parse_header`), so every live byte lands in some row.
struct TypeNaming {
    let reader: TraceReader
    let resolver: StackResolver
    /// Stacks named by the Python objects allocated there (`HeapGraphAnalysis.pythonNamesByStack`).
    var stackNames: [UInt32: String] = [:]

    func name(_ key: HeapSnapshot.Key) -> String {
        if key.type != 0 { return reader.types[key.type]?.name ?? "(type \(key.type))" }
        if let python = stackNames[key.stack] { return python }
        return "malloc@" + resolver.function(key.stack)
    }

    /// Snapshot groups merged by name.
    func tallies(_ groups: [HeapSnapshot.Key: HeapSnapshot.Tally]) -> [String: HeapSnapshot.Tally] {
        var out: [String: HeapSnapshot.Tally] = [:]
        for (k, t) in groups {
            let n = name(k)
            out[n, default: .init()].blocks += t.blocks
            out[n, default: .init()].bytes = Saturating.add(out[n]!.bytes, t.bytes)
        }
        return out
    }
}

/// Names a heap-snapshot group for any report.
public enum TypeNames {
    public static func name(_ key: HeapSnapshot.Key, reader: TraceReader, resolver: StackResolver) -> String {
        TypeNaming(reader: reader, resolver: resolver).name(key)
    }

    /// A namer for many keys; `python`: stacks named by a Python program's objects.
    public static func namer(reader: TraceReader, resolver: StackResolver, python: [UInt32: String]) -> (HeapSnapshot.Key) -> String {
        TypeNaming(reader: reader, resolver: resolver, stackNames: python).name
    }
}
