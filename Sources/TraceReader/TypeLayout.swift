/// A `type_layout` record: a Swift class's instance size and stored properties, superclass chain
/// included, as the recorder read them from the class's metadata.
public struct TypeLayout: Sendable, Equatable {
    /// How a stored property holds its value.
    public enum Ownership: UInt8, Sendable {
        case strong = 0
        case weak = 1
        case unowned = 2
        case unownedUnsafe = 3

        public var name: String {
            switch self {
            case .strong: return "strong"
            case .weak: return "weak"
            case .unowned: return "unowned"
            case .unownedUnsafe: return "unowned(unsafe)"
            }
        }
    }

    public struct Field: Sendable, Equatable {
        /// Byte offset in the object.
        public var offset: UInt64
        public var ownershipRaw: UInt8
        public var name: String

        public var ownership: Ownership? { Ownership(rawValue: ownershipRaw) }

        public init(offset: UInt64, ownershipRaw: UInt8, name: String) {
            self.offset = offset
            self.ownershipRaw = ownershipRaw
            self.name = name
        }
    }

    public var typeID: UInt32
    /// The object's size without tail-allocated elements (what `swift_allocObject` asks for a plain class).
    public var instanceSize: UInt64
    /// In record order: the class's own properties, then its superclass's, and so on.
    public var fields: [Field]
    /// Indexes into `fields`, by ascending offset.
    private var byOffset: [Int]

    public init(typeID: UInt32, instanceSize: UInt64, fields: [Field]) {
        self.typeID = typeID
        self.instanceSize = instanceSize
        self.fields = fields
        byOffset = fields.indices.sorted { (fields[$0].offset, $0) < (fields[$1].offset, $1) }
    }

    public static func == (a: TypeLayout, b: TypeLayout) -> Bool {
        a.typeID == b.typeID && a.instanceSize == b.instanceSize && a.fields == b.fields
    }

    /// The stored property whose storage holds byte `offset`: the one with the largest start at or
    /// below it, if `offset` is below the instance size. Nil for the header and for tail elements.
    public func field(containing offset: UInt64) -> Field? {
        guard offset < instanceSize else { return nil }
        var lo = 0, hi = byOffset.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if fields[byOffset[mid]].offset <= offset { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        return fields[byOffset[lo - 1]]
    }

    static func parse(_ c: inout ByteCursor) throws(FieldError) -> TypeLayout {
        let id = try c.id32("type id")
        let size = try c.varint()
        let count = try c.varint()
        // every field takes at least 3 bytes
        guard count <= UInt64(c.remaining / 3) else { throw .short }
        var fields: [Field] = []
        fields.reserveCapacity(Int(count))
        for _ in 0..<count {
            let offset = try c.varint()
            let ownership = try c.u8()
            let name = try c.string()
            fields.append(Field(offset: offset, ownershipRaw: ownership, name: name))
        }
        return TypeLayout(typeID: id, instanceSize: size, fields: fields)
    }
}
