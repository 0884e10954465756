/// One node of the stack trie: the innermost frame `ip` on top of the stack `parent` (0 = empty).
public struct StackNode: Sendable, Equatable {
    public var parent: UInt32
    public var ip: UInt64

    public init(parent: UInt32, ip: UInt64) {
        self.parent = parent
        self.ip = ip
    }
}

/// The stack trie from `stack_nodes` records: id -> (parent, ip); fills as records arrive.
public struct StackTable: Sendable {
    /// Dense storage for ids below `parents.count`; `undefined` marks a hole.
    private var parents: [UInt32] = [0]
    private var ips: [UInt64] = [0]
    /// Ids far beyond the dense range (not expected from the recorder, kept for robustness).
    private var sparse: [UInt32: StackNode] = [:]
    /// Number of distinct node ids defined.
    public private(set) var count = 0

    private static let undefined = UInt32.max

    public init() {}

    /// The node with this id, or nil when its definition has not arrived (or id is 0, the empty stack).
    public func node(_ id: UInt32) -> StackNode? {
        let i = Int(id)
        if i < parents.count {
            let p = parents[i]
            return id == 0 || p == StackTable.undefined ? nil : StackNode(parent: p, ip: ips[i])
        }
        return sparse[id]
    }

    /// The frames of stack `id`, innermost first; nil when some node's definition is missing. With
    /// `limit`, at most that many innermost frames (and nil only for a node missing among them).
    public func frames(_ id: UInt32, limit: Int = .max) -> [UInt64]? {
        var result: [UInt64] = []
        var id = id
        while id != 0 && result.count < limit {
            guard let n = node(id) else { return nil }
            result.append(n.ip)
            id = n.parent   // parent < id: the walk ends
        }
        return result
    }

    /// Defines a node. The caller checks `0 < id` and `parent < id`.
    mutating func define(_ id: UInt32, parent: UInt32, ip: UInt64) {
        let i = Int(id)
        if i >= parents.count {
            // Grow the dense table for ids near its end (the recorder numbers nodes 1, 2, 3, ...);
            // far-away ids go to the sparse side, so a damaged id cannot make the table huge.
            if i < parents.count + (1 << 16) {
                let newCount = i + 1
                parents.append(contentsOf: repeatElement(StackTable.undefined, count: newCount - parents.count))
                ips.append(contentsOf: repeatElement(0, count: newCount - ips.count))
            } else {
                if sparse.updateValue(StackNode(parent: parent, ip: ip), forKey: id) == nil { count += 1 }
                return
            }
        }
        if parents[i] == StackTable.undefined { count += 1 }
        parents[i] = parent
        ips[i] = ip
    }

    /// Reads a `stack_nodes` payload into the table; returns (first id, count).
    mutating func parse(_ c: inout ByteCursor) throws(FieldError) -> (UInt32, UInt32) {
        let first = try c.varint()
        let n = try c.varint()
        // Each node takes at least 2 bytes.
        guard n <= UInt64(c.remaining / 2) else { throw .short }
        guard n == 0 || first != 0 else { throw .impossible("stack node id 0 (the empty stack) is defined") }
        guard first &+ n >= first, first + n <= UInt64(UInt32.max) + 1 else {
            throw .impossible("stack node ids \(first)+\(n) do not fit 32 bits")
        }
        var id = UInt32(truncatingIfNeeded: first)
        for _ in 0..<n {
            let parent = try c.varint()
            let ip = try c.varint()
            guard parent < UInt64(id) else {
                throw .impossible("stack node \(id) has parent \(parent) (a parent's id must be smaller)")
            }
            define(id, parent: UInt32(parent), ip: ip)
            id &+= 1
        }
        return (UInt32(truncatingIfNeeded: first), UInt32(n))
    }
}
