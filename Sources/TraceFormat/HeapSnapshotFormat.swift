/// The numbers inside `heap_snapshot` records (docs/FORMAT.md, "Heap-graph snapshots"): the recorder
/// writes them and the reader decodes them from these definitions only.

/// The first byte of a `heap_snapshot` record: which part of a snapshot it is.
public enum HeapSnapshotPartKind: UInt8, Sendable, CaseIterable {
    /// Snapshot id, ticks, trigger, capturing thread.
    case begin = 0
    /// Regions scanned, numbered on from earlier `regions` parts.
    case regions = 1
    /// A region's words that point where heap blocks can lie.
    case words = 2
    /// The snapshot's id and what the capture cost.
    case end = 3
    /// Block-start words pointing into module data (C++ vtables, Swift metadata).
    case dataWords = 4
    /// Whether every other thread was stopped.
    case world = 5
    /// A stopped thread's registers.
    case registers = 6
    /// A thread's stack frames.
    case frames = 7
    /// Where each module's static TLS block lies below a thread pointer.
    case tlsLayout = 8
    /// Python type objects the scan met.
    case pythonTypes = 9
    /// Built-in Python objects that are dead (free lists), lists with their lengths.
    case pythonFacts = 10
    /// Names of Python references.
    case pythonNames = 11
}

/// Why a snapshot was taken (part 0's `trigger`).
public enum HeapSnapshotTrigger: UInt8, Sendable {
    /// `alloctrace_mark` / `AllocTrace.mark` in the program, or `alloctrace debug` in gdb.
    case mark = 0
    /// The program's normal exit (or a terminating signal).
    case exit = 1
    /// A mark sent from outside (`alloctrace mark PID`, `--pid`): taken by the recorder's writer.
    case outsideMark = 2

    public var name: String {
        switch self {
        case .mark: return "mark"
        case .exit: return "exit"
        case .outsideMark: return "mark from outside"
        }
    }
}

/// What a region of memory is (part 1's `kind`; the recorder's C code numbers them `AT_REGION_*`).
public enum HeapRegionKind: UInt8, Sendable, CaseIterable {
    /// A module's writable segment (globals); owner = module id.
    case module = 0
    /// A thread's stack; owner = thread index, or 2^32 + tid for a thread without a slot.
    case stack = 1
    /// Other anonymous memory: thread-local storage, mmapped blocks, malloc arenas of threads.
    case anonymous = 2
    /// The brk heap.
    case heap = 3
    /// A thread's static thread-local storage; owner as for a stack (docs/FORMAT.md).
    case tls = 4

    public var name: String {
        switch self {
        case .module: return "module"
        case .stack: return "stack"
        case .anonymous: return "anonymous"
        case .heap: return "heap"
        case .tls: return "tls"
        }
    }
}

/// Why the other threads were not stopped (part 5's `reason`; the recorder's C code numbers them
/// `AT_STW_*`).
public enum HeapWorldStopReason: UInt8, Sendable, CaseIterable {
    case stopped = 0
    case ptraceRefused = 1
    case timeout = 2
    case procUnreadable = 3
    case tooManyThreads = 4
    case noTracer = 5
    case notDumpable = 6
    case tracerDied = 7
    case disabled = 8
    case unsupported = 9

    /// In words: "ptrace refused (already traced, seccomp or Yama)".
    public var name: String {
        switch self {
        case .stopped: return "stopped"
        case .ptraceRefused: return "ptrace refused (already traced, seccomp or Yama)"
        case .timeout: return "a thread did not stop in time"
        case .procUnreadable: return "/proc unreadable"
        case .tooManyThreads: return "too many threads"
        case .noTracer: return "no tracer task"
        case .notDumpable: return "not dumpable"
        case .tracerDied: return "the tracer died"
        case .disabled: return "disabled (ALLOCTRACE_STOP_THE_WORLD=0)"
        case .unsupported: return "unsupported on this machine"
        }
    }

    /// As one word, for JSON: `ptrace_refused`, `timeout`, `disabled`.
    public var key: String {
        switch self {
        case .stopped: return "stopped"
        case .ptraceRefused: return "ptrace_refused"
        case .timeout: return "timeout"
        case .procUnreadable: return "proc_unreadable"
        case .tooManyThreads: return "too_many_threads"
        case .noTracer: return "no_tracer"
        case .notDumpable: return "not_dumpable"
        case .tracerDied: return "tracer_died"
        case .disabled: return "disabled"
        case .unsupported: return "unsupported"
        }
    }
}

/// Part 6's register numbers: DWARF x86-64 numbers for the general registers (0-16), xmm i's low
/// half as 17 + i, its high half as 64 + i.
public enum HeapRegisterNumber {
    /// DWARF numbers 0 ... 16: rax, rdx, rcx, rbx, rsi, rdi, rbp, rsp, r8-r15, rip.
    public static let generalCount = 17
    @inlinable public static func xmmLow(_ i: Int) -> UInt8 { UInt8(truncatingIfNeeded: 17 + i) }
    @inlinable public static func xmmHigh(_ i: Int) -> UInt8 { UInt8(truncatingIfNeeded: 64 + i) }
}

/// Part 7's flags byte.
public enum HeapFramesFlags {
    /// Frame 0's pc is a return address (the capturing thread's frames start above the recorder's),
    /// not the instruction the thread was stopped at.
    public static let firstIsReturnAddress: UInt8 = 1
}

/// The kind byte of each entry of part 11 (Python names).
public enum PythonNameEntryKind: UInt8, Sendable, CaseIterable {
    /// A compact ASCII str's address and text.
    case str = 1
    /// A dict keys table: address, entries' address, entry size, entries used.
    case table = 2
    /// The previous table's entry index whose key is a given str.
    case key = 3
    /// A module object, its globals dict and its name.
    case module = 4
    /// A class: basic size, shared keys table, `__module__`.
    case pythonClass = 5
}
