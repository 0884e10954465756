import TraceFormat

/// A record as it comes in file order (what `dump --raw` shows). Tables (stacks, types, threads,
/// modules) are already updated when a record is delivered.
public enum TraceRecord: Sendable, Equatable {
    case process(TraceProcess)
    case module(TraceModule)
    case moduleUnload(id: UInt64, ticks: UInt64)
    case thread(TraceThread)
    /// Nodes `firstID ..< firstID + count`, now in `TraceReader.stacks`.
    case stackNodes(firstID: UInt32, count: UInt32)
    case type(TraceType)
    /// A chunk of one thread's events (`eventBytes` bytes of them); the events come through the
    /// event callback (at once in file order, after a later sync in merged order).
    case chunk(thread: UInt32, baseTicks: UInt64, eventBytes: Int)
    case sync(TraceSync)
    case exec(TraceExec)
    case end(TraceEnd)
    /// A part of a heap-graph snapshot (`heap_snapshot`).
    case heapSnapshot(HeapSnapshotPart)
    /// A Swift class's layout, now also in `TraceReader.types` (`layout(of:)`).
    case typeLayout(TypeLayout)
    /// A Python code object, now also in `TraceReader.pythonCodes`.
    case pythonCode(PythonCode)
    /// The process's interpreter, now also `TraceReader.interpreter`.
    case interpreter(TraceInterpreter)
    /// A sampled trace's rate, also `TraceReader.sampling`.
    case sampling(TraceSampling)
    /// A record kind this reader does not know (or a reserved one, or a heap-snapshot part it does
    /// not know); skipped.
    case unknown(kind: UInt8, length: Int)
}

extension TraceRecord {
    /// The format's name for a record kind ("process", "module_unload", ..., "kind 42").
    public static func kindName(_ kind: UInt8) -> String {
        switch RecordKind(rawValue: kind) {
        case .process: return "process"
        case .module: return "module"
        case .moduleUnload: return "module_unload"
        case .thread: return "thread"
        case .stackNodes: return "stack_nodes"
        case .type: return "type"
        case .chunk: return "chunk"
        case .sync: return "sync"
        case .exec: return "exec"
        case .end: return "end"
        case .heapSnapshot: return "heap_snapshot"
        case .checkpoint: return "checkpoint"
        case .typeLayout: return "type_layout"
        case .pythonCode: return "python_code"
        case .interpreter: return "interpreter"
        case .sampling: return "sampling"
        case nil: return "kind \(kind)"
        }
    }
}
