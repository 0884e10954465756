import TraceReader

/// Which blocks of a heap graph hold Python objects, and of which type (CPython 3.11 to 3.13).
///
/// A block holds an object of type T when the word where T's objects keep `ob_type` (8 bytes into
/// the object, which starts after T's pre-header and GC header: `HeapPythonType.objectOffset`)
/// holds T: a built-in type's address is a part-4 data word there (`HeapGraph.pythonTypeWords`); a
/// class is a heap block, so the word is an edge to the class's block (the class object starts
/// after its GC header). Blocks that are not objects but are held by one at a known field are named
/// by their owner: a list's item array `list (items)`, a dict's `dict (keys)` and `dict (values)`,
/// an instance's attribute values (3.11 and 3.12) `T (values)`. Per-node facts are arrays indexed
/// by node: a graph of a Python heap has millions of nodes.
public struct PythonObjects {
    /// What an owned block is of its owner.
    public enum Part: UInt8 {
        case none = 0, items, keys, values, attributes

        /// The owner's field that holds it, as CPython names it.
        var field: String {
            switch self {
            case .none: return ""
            case .items: return "ob_item"
            case .keys: return "ma_keys"
            case .values: return "ma_values"
            case .attributes: return "__dict__"
            }
        }

        var noun: String {
            switch self {
            case .none: return ""
            case .items: return "items"
            case .keys: return "keys"
            case .values, .attributes: return "values"
            }
        }
    }

    /// Node -> index into `typeList` for blocks that hold a live object, else -1.
    public private(set) var typeOf: [Int32] = []
    public private(set) var typeList: [HeapPythonType] = []
    /// Node -> index into `nameList`, else -1: the type's short name for objects, `owner (part)`
    /// for the blocks they own, `T (free list)` for dead objects.
    private var nameOf: [Int32] = []
    private var nameList: [String] = []
    private var nameIndex: [String: Int32] = [:]
    /// Node -> what it is of its owner, for owned blocks.
    private var partOf: [UInt8] = []
    /// Blocks of built-in objects kept on a free list (reference count 0): no references.
    public private(set) var dead: [Int32] = []
    /// A list's item array and the list's length.
    private var itemCounts: [(node: Int32, length: UInt64)] = []
    /// The CPython minor version the offsets are for.
    public let minor: Int

    public init(graph g: HeapGraph, minor: Int) {
        self.minor = minor
        guard !g.pythonTypes.isEmpty else { return }
        let n = g.nodeCount
        typeOf = [Int32](repeating: -1, count: n)
        nameOf = [Int32](repeating: -1, count: n)
        partOf = [UInt8](repeating: 0, count: n)
        var typeIndex: [UInt64: Int32] = [:]
        func index(of t: HeapPythonType) -> Int32 {
            if let i = typeIndex[t.address] { return i }
            typeList.append(t)
            typeIndex[t.address] = Int32(typeList.count - 1)
            return Int32(typeList.count - 1)
        }
        let gcHeader: UInt64 = 16
        for node in 0..<n {
            var found: HeapPythonType?
            let word = g.pythonTypeWords.isEmpty ? 0 : g.pythonTypeWords[node]
            if word != 0 { found = g.pythonTypes[word] }
            if found == nil {
                // a class's instances: an edge from the ob_type word to the class's block
                for e in g.edgeStart[node]..<g.edgeStart[node + 1] {
                    let at = UInt64(g.edgeOffset[e])
                    guard at == 8 || at == 24 || at == 40 else { continue }
                    let target = Int(g.edgeTarget[e])
                    if let t = g.pythonTypes[g.addresses[target] &+ gcHeader], t.objectOffset(minor: minor) + 8 == at {
                        found = t
                        break
                    }
                }
            }
            guard let t = found else { continue }
            if g.pythonFacts[g.addresses[node] &+ t.objectOffset(minor: minor)]?.dead == true {
                dead.append(Int32(node))
                nameOf[node] = name("\(PythonObjects.shortName(t.name)) (free list)")
                continue
            }
            typeOf[node] = index(of: t)
            nameOf[node] = name(PythonObjects.shortName(t.name))
        }
        // blocks owned by an object at a known field (offsets in the owner's block)
        for node in 0..<n where typeOf[node] >= 0 {
            let t = typeList[Int(typeOf[node])]
            let start = t.objectOffset(minor: minor)
            let owned: [(UInt64, Part)]
            switch t.name {
            case "list": owned = [(start + 24, .items)]
            case "dict": owned = [(start + 32, .keys), (start + 40, .values)]
            // an instance's values array: 3.11 keeps it in the pre-header's first word, 3.12 in its
            // second (tagged); 3.13 keeps the values inside the object
            default: owned = t.isHeapType && start >= 32 && minor <= 12 ? [(minor == 11 ? 0 : 8, .attributes)] : []
            }
            guard !owned.isEmpty else { continue }
            for e in g.edgeStart[node]..<g.edgeStart[node + 1] {
                let at = UInt64(g.edgeOffset[e])
                guard let part = owned.first(where: { $0.0 == at })?.1 else { continue }
                let target = Int(g.edgeTarget[e])
                guard typeOf[target] < 0 && nameOf[target] < 0 else { continue }
                nameOf[target] = name("\(PythonObjects.shortName(t.name)) (\(part.noun))")
                partOf[target] = part.rawValue
                if part == .items, let length = g.pythonFacts[g.addresses[node] &+ start]?.length {
                    itemCounts.append((Int32(target), length))
                }
            }
        }
    }

    private mutating func name(_ s: String) -> Int32 {
        if let i = nameIndex[s] { return i }
        nameList.append(s)
        nameIndex[s] = Int32(nameList.count - 1)
        return Int32(nameList.count - 1)
    }

    /// The node's Python name, when it holds an object or belongs to one.
    public func name(of node: Int) -> String? {
        guard node < nameOf.count, nameOf[node] >= 0 else { return nil }
        return nameList[Int(nameOf[node])]
    }

    /// The node's type, when it holds a live object.
    public func type(of node: Int) -> HeapPythonType? {
        guard node < typeOf.count, typeOf[node] >= 0 else { return nil }
        return typeList[Int(typeOf[node])]
    }

    /// What the node is of its owner.
    public func part(of node: Int) -> Part {
        node < partOf.count ? Part(rawValue: partOf[node]) ?? .none : .none
    }

    /// The field of `source` holding edge `e` to `target`, when Python's layout names it:
    /// `[i]` inside a list's items, the owner's field (`ob_item`, `ma_keys`, `__dict__`).
    public func field(source: Int, target: Int, offset: UInt64) -> String? {
        if part(of: source) == .items { return "[\(offset / 8)]" }
        if type(of: source) != nil, part(of: target) != .none { return part(of: target).field }
        return nil
    }

    /// Each node's GC header offset in its block for GC-tracked objects (0xFF: none): a pointer
    /// there is the collector's list, no reference.
    public func gcHeaderOffsets(count: Int) -> [UInt8] {
        guard !typeOf.isEmpty else { return [] }
        var out = [UInt8](repeating: 0xFF, count: count)
        for node in 0..<count where typeOf[node] >= 0 {
            let t = typeList[Int(typeOf[node])]
            if t.isGC { out[node] = UInt8(t.objectOffset(minor: minor) - 16) }
        }
        return out
    }

    /// Types whose objects hold no references (their words past the header are data).
    static let leaves: Set<String> = ["str", "int", "float", "bytes", "complex", "bool"]

    /// Makes the words of Python objects that are not references weak in `g`: the GC header's
    /// links (every tracked object is on a generation's list: through them everything would keep
    /// everything alive), the contents of objects that hold none, dead objects' words and an item
    /// array's slots past its list's length.
    public func weakenNonReferences(_ g: inout HeapGraph) {
        for node in dead { g.weaken(node: Int(node), offsets: 0..<UInt64.max) }
        for (node, length) in itemCounts { g.weaken(node: Int(node), offsets: (length &* 8)..<UInt64.max) }
        let leafTypes = Set(typeList.indices.filter { PythonObjects.leaves.contains(typeList[$0].name) }.map(Int32.init))
        for node in 0..<typeOf.count where typeOf[node] >= 0 {
            let t = typeList[Int(typeOf[node])]
            if leafTypes.contains(typeOf[node]) {
                g.weaken(node: node, offsets: 0..<UInt64.max)
            } else if t.isGC {
                let object = t.objectOffset(minor: minor)
                g.weaken(node: node, offsets: (object - 16)..<object)
            }
        }
    }

    /// objgraph's short name: `OrderedDict` for `collections.OrderedDict`.
    public static func shortName(_ tpName: String) -> String {
        String(tpName.split(separator: ".").last ?? Substring(tpName))
    }
}
