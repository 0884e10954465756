import TraceReader

/// Part 11 of a snapshot by address: dict keys tables with their str keys' texts, modules by their
/// globals dict, classes (docs/FORMAT.md).
public struct PythonNames: Sendable {
    /// A keys table: where entry i lies and which entries hold a str key.
    public struct Table: Sendable {
        public var entries: UInt64
        public var entrySize: UInt64
        public var used: UInt64
        /// Entry index -> the key's text.
        public var keys: [UInt32: String]

        /// The entry holding byte `offset` of the table's block, and whether that word is the
        /// entry's value (else its key or hash).
        public func entry(at offset: UInt64) -> (index: UInt64, isValue: Bool)? {
            guard entrySize > 0, offset >= entries else { return nil }
            let index = (offset - entries) / entrySize
            return index < used ? (index, (offset - entries) % entrySize == entrySize - 8) : nil
        }

        /// Where the entries no one ever filled begin.
        public var unusedFrom: UInt64 { entries &+ used &* entrySize }
    }

    /// A class: its instances' size without the values, shared keys, `__module__`.
    public struct Class: Sendable {
        public var basicSize: UInt64
        public var sharedKeys: UInt64
        public var module: String
    }

    public private(set) var tables: [UInt64: Table] = [:]
    /// Globals dict address (where its `ob_refcnt` is) -> module name.
    public private(set) var modules: [UInt64: String] = [:]
    public private(set) var classes: [UInt64: Class] = [:]

    public init(_ entries: [HeapPythonName]) {
        var strings: [UInt64: String] = [:]
        for case let .str(address, text) in entries { strings[address] = text }
        var current: UInt64?
        for e in entries {
            switch e {
            case let .table(address, offset, size, used):
                if tables[address] == nil {
                    tables[address] = Table(entries: offset, entrySize: UInt64(size), used: used, keys: [:])
                }
                current = address
            case let .key(index, str):
                if let t = current, index < UInt64(UInt32.max), let text = strings[str] { tables[t]?.keys[UInt32(index)] = text }
            case let .module(_, dict, name):
                modules[dict] = name
            case let .pythonClass(address, size, keys, module):
                classes[address] = Class(basicSize: size, sharedKeys: keys, module: module)
            case .str:
                break
            }
        }
    }

    /// A key as Python writes it in a subscript: `'name'`.
    public static func quoted(_ key: String) -> String { "'" + key + "'" }
}
