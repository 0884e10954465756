/// The few protobuf wire-format pieces pprof needs: varints and length-delimited fields.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }

    mutating func key(_ field: Int, _ wireType: Int) { varint(UInt64(field << 3 | wireType)) }

    /// An integer field (omitted when zero, as proto3 does).
    mutating func int(_ field: Int, _ v: Int64) {
        guard v != 0 else { return }
        key(field, 0)
        varint(UInt64(bitPattern: v))
    }

    mutating func uint(_ field: Int, _ v: UInt64) {
        guard v != 0 else { return }
        key(field, 0)
        varint(v)
    }

    mutating func bool(_ field: Int, _ v: Bool) { if v { key(field, 0); varint(1) } }

    mutating func bytes(_ field: Int, _ b: [UInt8]) {
        key(field, 2)
        varint(UInt64(b.count))
        bytes.append(contentsOf: b)
    }

    mutating func string(_ field: Int, _ s: String) { bytes(field, Array(s.utf8)) }

    mutating func message(_ field: Int, _ build: (inout ProtobufWriter) -> Void) {
        var inner = ProtobufWriter()
        build(&inner)
        bytes(field, inner.bytes)
    }
}
