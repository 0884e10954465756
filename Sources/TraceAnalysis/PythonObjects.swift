import TraceReader

/// Which blocks of a heap graph hold Python objects, and of which type (CPython 3.11 to 3.13).
///
/// A block holds an object of type T when the word where T's objects keep `ob_type` (8 bytes into
/// the object, which starts after T's pre-header and GC header: `HeapPythonType.objectOffset`)
/// holds T: a built-in type's address is a part-4 data word there; a class is a heap block, so
/// the word is an edge to the class's block (the class object starts after its GC header). Blocks
/// that are not objects but are held by one at a known field are named by their owner: a list's
/// item array `list (items)`, a dict's `dict (keys)` and `dict (values)`, an instance's attribute
/// values (3.11 and 3.12) `T (values)`.
public struct PythonObjects {
    /// Node -> its type, for blocks that hold an object.
    public private(set) var types: [Int32: HeapPythonType] = [:]
    /// Node -> its name: the type's name for objects, `owner (part)` for the blocks they own.
    public private(set) var names: [Int32: String] = [:]
    /// Node -> what it is of its owner (`items`, `keys`, `values`), for owned blocks.
    public private(set) var parts: [Int32: String] = [:]
    /// Blocks of built-in objects kept on a free list (reference count 0): no references.
    public private(set) var dead: Set<Int32> = []
    /// Edge -> the owned part it leads to (`items`, `keys`, `values`).
    public private(set) var ownerField: [Int: String] = [:]
    /// A list's item array -> the list's length, when known.
    public private(set) var itemCounts: [Int32: UInt64] = [:]

    public init(graph g: HeapGraph, minor: Int) {
        guard !g.pythonTypes.isEmpty else { return }
        let gcHeader: UInt64 = 16
        for n in 0..<g.nodeCount {
            let base = g.addresses[n]
            // a built-in type's objects: the ob_type word is a data word
            var found: HeapPythonType?
            for at in [UInt64(8), 24, 40] {
                if let v = g.pythonDataWords[base &+ at], let t = g.pythonTypes[v], t.objectOffset(minor: minor) + 8 == at {
                    found = t
                    break
                }
            }
            if found == nil {
                // a class's instances: an edge from the ob_type word to the class's block
                for e in g.edgeStart[n]..<g.edgeStart[n + 1] {
                    let at = UInt64(g.edgeOffset[e])
                    guard at == 8 || at == 24 || at == 40 else { continue }
                    let target = Int(g.edgeTarget[e])
                    if let t = g.pythonTypes[g.addresses[target] &+ gcHeader], t.objectOffset(minor: minor) + 8 == at {
                        found = t
                        break
                    }
                }
            }
            if let t = found {
                if g.pythonFacts[base &+ t.objectOffset(minor: minor)]?.dead == true {
                    dead.insert(Int32(n))
                    names[Int32(n)] = "\(PythonObjects.shortName(t.name)) (free list)"
                    continue
                }
                types[Int32(n)] = t
                names[Int32(n)] = PythonObjects.shortName(t.name)
            }
        }
        // blocks owned by an object at a known field (offsets in the owner's block)
        for (n, t) in types {
            let start = t.objectOffset(minor: minor)
            let owned: [(UInt64, String)]
            switch t.name {
            case "list": owned = [(start + 24, "items")]
            case "dict": owned = [(start + 32, "keys"), (start + 40, "values")]
            // an instance's values array: 3.11 keeps it in the pre-header's first word, 3.12 in its
            // second (tagged); 3.13 keeps the values inside the object
            default: owned = t.isHeapType && start >= 32 && minor <= 12 ? [(minor == 11 ? 0 : 8, "dict values")] : []
            }
            guard !owned.isEmpty else { continue }
            for e in g.edgeStart[Int(n)]..<g.edgeStart[Int(n) + 1] {
                let at = UInt64(g.edgeOffset[e])
                guard let part = owned.first(where: { $0.0 == at })?.1 else { continue }
                ownerField[e] = PythonObjects.fieldNames[part] ?? part
                let target = g.edgeTarget[e]
                if types[target] == nil && names[target] == nil {
                    names[target] = "\(PythonObjects.shortName(t.name)) (\(part == "dict values" ? "values" : part))"
                    parts[target] = part
                    if part == "items", let length = g.pythonFacts[g.addresses[Int(n)] &+ start]?.length {
                        itemCounts[target] = length
                    }
                }
            }
        }
    }

    /// The addresses of the GC headers of the GC-tracked objects in `g`.
    public func gcHeaderAddresses(_ g: HeapGraph, minor: Int) -> Set<UInt64> {
        var out = Set<UInt64>()
        for (n, t) in types where t.isGC { out.insert(g.addresses[Int(n)] &+ t.objectOffset(minor: minor) &- 16) }
        return out
    }

    /// The owner's field that holds each owned part, as CPython names it.
    static let fieldNames = ["items": "ob_item", "keys": "ma_keys", "values": "ma_values", "dict values": "__dict__"]

    /// Types whose objects hold no references (their words past the header are data).
    static let leaves: Set<String> = ["str", "int", "float", "bytes", "complex", "bool"]

    /// Makes the words of Python objects that are not references weak in `g`: the GC header's
    /// links (every tracked object is on a generation's list: through them everything would keep
    /// everything alive) and the contents of objects that hold none.
    public func weakenNonReferences(_ g: inout HeapGraph, minor: Int) {
        for n in dead { g.weaken(node: Int(n), offsets: 0..<UInt64.max) }
        // a list's item array holds references only below the list's length
        for (n, length) in itemCounts { g.weaken(node: Int(n), offsets: (length &* 8)..<UInt64.max) }
        for (n, t) in types {
            if PythonObjects.leaves.contains(t.name) {
                g.weaken(node: Int(n), offsets: 0..<UInt64.max)
            } else if t.isGC {
                let object = t.objectOffset(minor: minor)
                g.weaken(node: Int(n), offsets: (object - 16)..<object)
            }
        }
    }

    /// objgraph's short name: `OrderedDict` for `collections.OrderedDict`.
    public static func shortName(_ tpName: String) -> String {
        String(tpName.split(separator: ".").last ?? Substring(tpName))
    }
}
