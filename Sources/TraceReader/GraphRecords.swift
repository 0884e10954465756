import TraceFormat

extension TraceReader {
    /// Decodes a `heap_snapshot` or `type_layout` payload (the latter also goes into `types`).
    /// A heap-snapshot part this reader does not know is `.unknown`, skipped like an unknown kind.
    func readGraphRecord(_ kind: UInt8, _ c: inout ByteCursor) throws(FieldError) -> TraceRecord {
        if kind == RecordKind.typeLayout.rawValue {
            let layout = try TypeLayout.parse(&c)
            types.defineLayout(layout)
            return .typeLayout(layout)
        }
        let length = c.remaining
        guard kind == RecordKind.heapSnapshot.rawValue, let part = try HeapSnapshotPart.parse(&c) else {
            return .unknown(kind: kind, length: length)
        }
        return .heapSnapshot(part)
    }
}
