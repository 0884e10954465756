// The classes whose instances the scenarios count. Instance sizes (swift_allocObject's size, which
// is the malloc request; alignment 16): Node 32 bytes, Leaf 24, Entry 32, Cache 24.
// No class here has a weak/unowned reference or a deinit with side effects, so an instance is one
// malloc on creation and one free when its last strong reference goes.

/// A graph node: `samples.Node`, 32 bytes (16-byte header + id + value).
final class Node {
    let id: Int
    var value: Int

    init(id: Int) {
        self.id = id
        self.value = id &* 2
    }
}

/// A leaf: `samples.Leaf` (not final), 24 bytes (16-byte header + id).
class Leaf {
    let id: Int

    init(id: Int) {
        self.id = id
    }
}

/// A cache entry: `samples.Entry`, 32 bytes (16-byte header + key + value).
final class Entry {
    let key: Int
    let value: Int

    init(key: Int, value: Int) {
        self.key = key
        self.value = value
    }
}

/// Creates one Node; never inlined, so `makeNode` is on the stack of every Node allocation.
@inline(never)
func makeNode(_ id: Int) -> Node {
    Node(id: id)
}

/// Creates one Leaf; never inlined, so `makeLeaf` is on the stack of every Leaf allocation.
@inline(never)
func makeLeaf(_ id: Int) -> Leaf {
    Leaf(id: id)
}
