import TraceFormat

/// An alloctrace trace file: its header and `process` record on opening; its definitions (modules,
/// threads, stacks, types, mark labels, clock pairs) filled in as a replay reads the records.
public final class TraceReader {
    public let path: String
    /// The header's format version (always the one this reader reads; others fail to open).
    public let formatVersion: UInt16
    /// The header's flags (reserved, 0).
    public let flags: UInt16
    /// False when the file ends inside its header (a trace cut short before any record).
    public let headerComplete: Bool
    /// The `process` record; nil only when the trace was cut short before it.
    public internal(set) var process: TraceProcess?

    /// Modules in the order they were loaded (a module unloaded and loaded again appears twice).
    public internal(set) var modules: [TraceModule] = []
    /// Threads by index (the latest name for each).
    public internal(set) var threads: [UInt32: TraceThread] = [:]
    /// The stack trie.
    public internal(set) var stacks = StackTable()
    /// Swift types by id.
    public internal(set) var types = TypeTable()
    /// Python code objects by id (the `python_code` records read so far).
    public internal(set) var pythonCodes = PythonCodeTable()
    /// The interpreter the process ran, when it ran one the recorder recognised.
    public internal(set) var interpreter: TraceInterpreter?
    /// The sampling rate of a sampled trace (format version 3); nil for a full trace. Known on
    /// opening: the recorder writes it right after `process` (and `interpreter`).
    public internal(set) var sampling: TraceSampling?
    /// A replay of a sampled trace delivers estimates (each allocation weighed, `TraceSampling.weigh`):
    /// true by default, so that every view reads estimates; `dump` sets it false to show the samples.
    public var estimates = true
    /// Ticks -> nanoseconds, with the pairs read so far.
    public internal(set) var clock: TickClock

    let markLabels = MarkLabels()
    /// Index in `modules` of the latest module with each id.
    var moduleSlot: [UInt64: Int] = [:]

    /// Opens the trace: checks the header and reads the `process` record.
    public init(path: String) throws(TraceError) {
        let session = try TraceSession(path: path)
        self.path = path
        formatVersion = session.version
        flags = session.flags
        headerComplete = session.headerComplete
        if let first = try session.framer.next() {
            guard first.kind == RecordKind.process.rawValue else {
                throw .corrupt(path: path, detail: "the first record is \(TraceRecord.kindName(first.kind)), not process")
            }
            var c = ByteCursor(first.payload)
            do throws(FieldError) {
                process = try TraceProcess.parse(&c)
            } catch {
                throw .corrupt(path: path, detail: "record 1 (process, \(first.payload.count) bytes): \(error.message)")
            }
        }
        if formatVersion >= TraceFileHeader.sampledVersion {
            // the definitions right after `process`: the sampling record (a sampled trace whose
            // record was cut off is read as one, with no rate to weigh its samples by)
            var n = 2
            while n <= 3, let r = try session.framer.next() {
                if r.kind == RecordKind.sampling.rawValue {
                    var c = ByteCursor(r.payload)
                    do throws(FieldError) {
                        sampling = try TraceSampling.parse(&c)
                    } catch {
                        throw .corrupt(path: path, detail: "record \(n) (sampling, \(r.payload.count) bytes): \(error.message)")
                    }
                    break
                }
                n += 1
            }
        }
        clock = TickClock(process: process)
    }

    /// Mark labels read so far; `TraceEvent.labelIndex` indexes this.
    public var labels: [String] { markLabels.strings }

    /// The label of a `mark` event (nil if the index is not known).
    public func label(of event: TraceEvent) -> String? {
        markLabels.label(Int(event.labelIndex))
    }

    /// Threads sorted by index.
    public var threadList: [TraceThread] { threads.values.sorted { $0.index < $1.index } }

    /// Forgets every definition, before a replay reads them again.
    func resetDefinitions() {
        modules = []
        moduleSlot = [:]
        threads = [:]
        stacks = StackTable()
        types = TypeTable()
        pythonCodes = PythonCodeTable()
        interpreter = nil
        markLabels.removeAll()
        clock = TickClock(process: process)
    }
}
