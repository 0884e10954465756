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
    /// Node -> the object that owns it, for owned blocks, else -1.
    private var ownerOf: [Int32] = []
    /// Part 11: keys, modules, classes.
    private var names = PythonNames([])
    private var addresses: [UInt64] = []
    private var sizes: [UInt64] = []
    /// Keys tables' blocks (of a dict's `ma_keys`) and their tables.
    private var tables: [(node: Int32, table: PythonNames.Table)] = []
    /// A dict's node -> its keys table's index in `tables`.
    private var tableOfDict: [Int32: Int32] = [:]
    /// A module's globals: the word of its dict's keys table that holds each str-keyed value, the
    /// value's node, `__main__ .registry`.
    public private(set) var moduleGlobals: [(address: UInt64, target: Int32, name: String)] = []
    /// The CPython minor version the offsets are for.
    public let minor: Int

    /// `fullNames`: module-qualified names (`__main__.MyBigFatObject`, `builtins.list`), as
    /// objgraph's `shortnames=False`; else objgraph's short names.
    public init(graph g: HeapGraph, minor: Int, fullNames: Bool = false) {
        self.minor = minor
        guard !g.pythonTypes.isEmpty else { return }
        let n = g.nodeCount
        names = g.pythonNames
        addresses = g.addresses
        sizes = g.sizes
        typeOf = [Int32](repeating: -1, count: n)
        nameOf = [Int32](repeating: -1, count: n)
        partOf = [UInt8](repeating: 0, count: n)
        ownerOf = [Int32](repeating: -1, count: n)
        var typeIndex: [UInt64: Int32] = [:]
        func index(of t: HeapPythonType) -> Int32 {
            if let i = typeIndex[t.address] { return i }
            typeList.append(t)
            typeIndex[t.address] = Int32(typeList.count - 1)
            return Int32(typeList.count - 1)
        }
        let gcHeader: UInt64 = 16
        let classes = g.pythonNames.classes
        func display(_ t: HeapPythonType) -> String {
            fullNames ? PythonObjects.qualifiedName(t, module: classes[t.address]?.module) : PythonObjects.shortName(t.name)
        }
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
                nameOf[node] = name("\(display(t)) (free list)")
                continue
            }
            typeOf[node] = index(of: t)
            nameOf[node] = name(display(t))
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
                nameOf[target] = name("\(display(t)) (\(part.noun))")
                partOf[target] = part.rawValue
                ownerOf[target] = Int32(node)
                if part == .keys, let table = names.tables[g.addresses[target]] {
                    tables.append((Int32(target), table))
                    tableOfDict[Int32(node)] = Int32(tables.count - 1)
                    if let module = names.modules[g.addresses[node] &+ start] {
                        for k in g.edgeStart[target]..<g.edgeStart[target + 1] {
                            let offset = UInt64(g.edgeOffset[k])
                            guard let (i, isValue) = table.entry(at: offset), isValue, let key = table.keys[UInt32(i)] else { continue }
                            moduleGlobals.append((g.addresses[target] &+ offset, g.edgeTarget[k], "\(module) .\(key)"))
                        }
                    }
                }
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

    /// The object that owns the node (a list's for its item array), for owned blocks.
    public func owner(of node: Int) -> Int? {
        node < ownerOf.count && ownerOf[node] >= 0 ? Int(ownerOf[node]) : nil
    }

    /// What the node is of its owner.
    public func part(of node: Int) -> Part {
        node < partOf.count ? Part(rawValue: partOf[node]) ?? .none : .none
    }

    /// The field of `source` holding edge `e` to `target`, when Python's layout names it: `[i]`
    /// inside a list's items or a tuple, `['key']` in a dict's entries (`[entry i]` for a key that
    /// is no str), an attribute's name (`tags`) in an instance's values, else the owner's field
    /// (`ob_item`, `ma_keys`, `__dict__`).
    public func field(source: Int, target: Int, offset: UInt64) -> String? {
        switch part(of: source) {
        case .items:
            return "[\(offset / 8)]"
        case .keys:
            guard let table = names.tables[addresses[source]], let (i, isValue) = table.entry(at: offset) else { return nil }
            let key = table.keys[UInt32(i)].map { "[" + PythonNames.quoted($0) + "]" } ?? "[entry \(i)]"
            return isValue ? key : key + " key"
        case .values:
            // a split dict's values: named by its keys table
            let owner = Int(ownerOf[source])
            guard let keys = keysTable(ofDict: owner), let i = valueIndex(source, offset) else { return nil }
            return keys.keys[UInt32(i)].map { "[" + PythonNames.quoted($0) + "]" } ?? "[entry \(i)]"
        case .attributes:
            let owner = Int(ownerOf[source])
            guard owner >= 0, let t = type(of: owner), let i = valueIndex(source, offset) else { return nil }
            return attribute(of: t, index: i)
        case .none:
            guard let t = type(of: source) else { return nil }
            if part(of: target) != .none { return part(of: target).field }
            let start = t.objectOffset(minor: minor)
            if t.name == "tuple" && offset >= start + 24 { return "[\((offset - start - 24) / 8)]" }
            // 3.13 keeps an instance's values inside it, after tp_basicsize and a word of counts
            if minor >= 13, t.isHeapType, let c = names.classes[t.address], offset >= start + c.basicSize + 8 {
                return attribute(of: t, index: (offset - start - c.basicSize - 8) / 8)
            }
            return nil
        }
    }

    /// The name of attribute `index` of type `t`'s instances (its shared keys' entry), or `[entry i]`.
    private func attribute(of t: HeapPythonType, index: UInt64) -> String? {
        guard let c = names.classes[t.address], let keys = names.tables[c.sharedKeys] else { return nil }
        return keys.keys[UInt32(index)]
    }

    private func keysTable(ofDict node: Int) -> PythonNames.Table? {
        guard node >= 0, let i = tableOfDict[Int32(node)] else { return nil }
        return tables[Int(i)].table
    }

    /// Which value an offset of a values array is: 3.11 and 3.12 put a prefix of insertion-order
    /// bytes before n values (`roundup(n + 2, 8)` bytes: n is found from the block's size), 3.13 a
    /// word of counts.
    private func valueIndex(_ node: Int, _ offset: UInt64) -> UInt64? {
        guard let prefix = valuesPrefix(node), offset >= prefix else { return nil }
        return (offset - prefix) / 8
    }

    /// Where a values array's values begin in its block (nil: a size no values array has).
    private func valuesPrefix(_ node: Int) -> UInt64? {
        if minor >= 13 { return 8 }
        let size = sizes[node]
        var n: UInt64 = 0
        while ((n + 2 + 7) & ~7) + 8 * n < size && n < 256 { n += 1 }
        let prefix = (n + 2 + 7) & ~7
        return prefix + 8 * n == size ? prefix : nil
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
        // a keys table's entries past its used ones were never filled (or hold a stale word)
        for (node, table) in tables { g.weaken(node: Int(node), offsets: table.unusedFrom..<UInt64.max) }
        // a values array's prefix is insertion-order bytes (3.11, 3.12) or counts (3.13), and
        // whatever the block held before where none were written
        for node in 0..<partOf.count where partOf[node] == Part.values.rawValue || partOf[node] == Part.attributes.rawValue {
            if let prefix = valuesPrefix(node) { g.weaken(node: node, offsets: 0..<prefix) }
        }
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

    /// Makes every module global a root of kind `python` (after the other roots).
    public func addModuleRoots(_ g: inout HeapGraph) {
        for m in moduleGlobals { g.roots.append(HeapRoot(kind: .python, address: m.address, region: -1, target: m.target)) }
    }

    /// objgraph's long name: a class's `__module__` and name, a built-in type's `tp_name` when it
    /// has its module (`collections.OrderedDict`), else `builtins.` and it.
    public static func qualifiedName(_ t: HeapPythonType, module: String?) -> String {
        if t.isHeapType { return module.map { $0.isEmpty ? t.name : $0 + "." + t.name } ?? t.name }
        return t.name.contains(".") ? t.name : "builtins." + t.name
    }

    /// objgraph's short name: `OrderedDict` for `collections.OrderedDict`.
    public static func shortName(_ tpName: String) -> String {
        String(tpName.split(separator: ".").last ?? Substring(tpName))
    }
}
