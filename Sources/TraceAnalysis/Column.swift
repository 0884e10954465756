/// A growable array of plain values in manually managed memory, for the replay's per-event state:
/// no reference counting and no uniqueness or exclusivity checks, so that a loop over a local copy
/// of the state compiles to plain loads and stores. Copies share the memory; the one owner calls
/// `deallocate()` exactly once. Indexing is checked in debug builds only: callers index within
/// `count` (they `grow` first).
struct Column<Element: BitwiseCopyable> {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var count: Int
    private(set) var capacity: Int
    /// Elements from here to `capacity` were never written: still zero bytes.
    private var zeroFrom = 0

    init(capacity: Int = 16) {
        self.capacity = max(capacity, 1)
        base = LargeAllocation.allocateZeroed(Element.self, capacity: self.capacity)
        count = 0
    }

    init(repeating value: Element, count: Int) {
        self.init(capacity: count)
        base.initialize(repeating: value, count: count)
        self.count = count
    }

    func deallocate() { LargeAllocation.deallocate(base, capacity: capacity) }

    @inline(__always)
    subscript(i: Int) -> Element {
        get {
            assert(i >= 0 && i < count, "column index out of range")
            return base[i]
        }
        nonmutating set {
            assert(i >= 0 && i < count, "column index out of range")
            base[i] = newValue
        }
    }

    @inline(__always)
    mutating func append(_ value: Element) {
        if count == capacity { reserve(capacity * 2) }
        (base + count).initialize(to: value)
        count &+= 1
        if count > zeroFrom { zeroFrom = count }
    }

    /// Removes and returns the last element; the column must not be empty.
    @inline(__always)
    mutating func removeLast() -> Element {
        count &-= 1
        return base[count]
    }

    /// Grows to at least `n` elements, new ones set to `value` (at least doubling the capacity).
    mutating func grow(to n: Int, filling value: Element) {
        guard n > count else { return }
        if n > capacity { reserve(max(n, capacity * 2)) }
        // Never-written elements are zero already: filling them with a zero value would only touch
        // (fault in and clear) pages that the replay may reach much later or never.
        let written = min(max(zeroFrom, count), n)
        (base + count).initialize(repeating: value, count: written - count)
        if written < n && !Column.isZero(value) {
            (base + written).initialize(repeating: value, count: n - written)
        }
        count = n
        if count > zeroFrom { zeroFrom = count }
    }

    private static func isZero(_ value: Element) -> Bool {
        withUnsafeBytes(of: value) { $0.allSatisfy { $0 == 0 } }
    }

    @inline(never)
    mutating func reserve(_ n: Int) {
        guard n > capacity else { return }
        base = LargeAllocation.reallocate(base, from: capacity, to: n)
        capacity = n
    }

    /// The elements as an array.
    var array: [Element] { Array(UnsafeBufferPointer(start: base, count: count)) }
}
