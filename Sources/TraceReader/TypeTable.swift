/// Swift types from `type` records, by id; fills as records arrive.
public struct TypeTable: Sendable {
    private var byID: [UInt32: TraceType] = [:]

    public init() {}

    /// The type with this id, or nil when its definition has not arrived.
    public subscript(id: UInt32) -> TraceType? { byID[id] }

    public var count: Int { byID.count }

    /// All known types, by id.
    public var all: [TraceType] { byID.values.sorted { $0.id < $1.id } }

    mutating func define(_ type: TraceType) { byID[type.id] = type }
}
