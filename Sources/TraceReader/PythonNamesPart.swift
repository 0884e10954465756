import TraceFormat

/// One entry of `heap_snapshot` part 11: what the names of Python references need that no
/// pointer says (docs/FORMAT.md): where a dict's keys table keeps its entries and which keys are
/// which str, the text of those strs, modules' names, classes' modules and attribute keys.
public enum HeapPythonName: Sendable, Equatable {
    /// A str object's text (compact ASCII strs only).
    case str(address: UInt64, text: String)
    /// A dict keys table (`PyDictKeysObject`): entry i lies at `entries + i * entrySize`, its key
    /// in the entry's first word (16-byte entries) or second (24-byte entries, after the hash),
    /// its value in the last; entries from `used` on were never filled.
    case table(address: UInt64, entries: UInt64, entrySize: UInt8, used: UInt64)
    /// Entry `index` of the last table before it has the str at `str` as its key.
    case key(index: UInt64, str: UInt64)
    /// A module object, its globals dict and its name.
    case module(address: UInt64, dict: UInt64, name: String)
    /// A class (heap type): `tp_basicsize`, its instances' shared keys table (0: none) and its
    /// `__module__` (empty when unknown).
    case pythonClass(address: UInt64, basicSize: UInt64, sharedKeys: UInt64, module: String)

    static func parseAll(_ c: inout ByteCursor) throws(FieldError) -> [HeapPythonName] {
        let count = try c.varint()
        guard count <= UInt64(c.remaining / 3) else { throw .short }
        var out: [HeapPythonName] = []
        out.reserveCapacity(Int(count))
        for _ in 0..<count {
            // a kind of a later recorder: its fields are unknown, the rest unreadable
            guard let kind = PythonNameEntryKind(rawValue: try c.u8()) else { return out }
            switch kind {
            case .str: out.append(.str(address: try c.varint(), text: try c.string()))
            case .table: out.append(.table(address: try c.varint(), entries: try c.varint(), entrySize: try c.u8(), used: try c.varint()))
            case .key: out.append(.key(index: try c.varint(), str: try c.varint()))
            case .module: out.append(.module(address: try c.varint(), dict: try c.varint(), name: try c.string()))
            case .pythonClass: out.append(.pythonClass(address: try c.varint(), basicSize: try c.varint(), sharedKeys: try c.varint(), module: try c.string()))
            }
        }
        return out
    }
}
