/// Swift types from `type` records, by id; fills as records arrive.
public struct TypeTable: Sendable {
    private var byID: [UInt32: TraceType] = [:]
    private var layouts: [UInt32: TypeLayout] = [:]

    public init() {}

    /// The type with this id, or nil when its definition has not arrived.
    public subscript(id: UInt32) -> TraceType? { byID[id] }

    public var count: Int { byID.count }

    /// All known types, by id.
    public var all: [TraceType] { byID.values.sorted { $0.id < $1.id } }

    mutating func define(_ type: TraceType) { byID[type.id] = type }

    /// The layout (instance size, stored properties) of the type with this id, when the recorder
    /// could read it and its `type_layout` record has arrived.
    public func layout(of id: UInt32) -> TypeLayout? { layouts[id] }

    /// Number of types with a layout.
    public var layoutCount: Int { layouts.count }

    mutating func defineLayout(_ layout: TypeLayout) { layouts[layout.typeID] = layout }
}
