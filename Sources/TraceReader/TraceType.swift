/// A `type` record: a Swift type whose objects typed allocation events refer to.
public struct TraceType: Sendable, Equatable {
    public var id: UInt32
    public var metadataAddress: UInt64
    /// 0: Swift class/object.
    public var kind: UInt8
    public var name: String

    public init(id: UInt32, metadataAddress: UInt64, kind: UInt8, name: String) {
        self.id = id
        self.metadataAddress = metadataAddress
        self.kind = kind
        self.name = name
    }

    static func parse(_ c: inout ByteCursor) throws(FieldError) -> TraceType {
        let id = try c.id32("type id")
        let metadata = try c.varint()
        let kind = try c.u8()
        let name = try c.string()
        return TraceType(id: id, metadataAddress: metadata, kind: kind, name: name)
    }
}
