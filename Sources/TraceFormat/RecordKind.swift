/// Kinds of top-level records in the decompressed stream; each record is `kind, varint length, payload`.
public enum RecordKind: UInt8, Sendable {
    case process = 1
    case module = 2
    case moduleUnload = 3
    case thread = 4
    case stackNodes = 5
    case type = 6
    case chunk = 7
    case sync = 8
    case exec = 9
    case end = 10
    /// A part of a heap-graph snapshot (begin, regions, pointer words, end).
    case heapSnapshot = 11
    /// Reserved: seek checkpoint (live-heap summary for random access).
    case checkpoint = 12
    /// A Swift class's instance size and stored properties (offsets, names, ownership).
    case typeLayout = 13
    /// A Python code object: file, qualified name, first line and line table (version 2).
    case pythonCode = 14
    /// The interpreter the process runs (CPython's version) and whether its frames are recorded.
    case interpreter = 15
    /// Sampled recording: the mean sampling interval and method (version 3, sampled traces only).
    case sampling = 16
}

/// How a sampled trace chose its allocations (the `sampling` record).
public enum SamplingMethod: UInt8, Sendable {
    /// Bytes sampled as a Poisson process: a per-thread countdown of exponentially distributed
    /// intervals of mean `mean_bytes`; an allocation under `mean_bytes` is sampled with
    /// probability 1 - exp(-size / mean_bytes), one of `mean_bytes` or more always.
    case poissonBytes = 1
}

/// Python frames inside stacks (version 2): a stack node's `ip` with the high bit set is a Python
/// frame, not a return address.
public enum PythonFrame {
    public static let tag: UInt64 = 1 << 63
    @inlinable public static func isPython(_ ip: UInt64) -> Bool { ip & tag != 0 }
    /// The `python_code` id of a Python frame.
    @inlinable public static func codeID(_ ip: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: (ip >> 32) & 0x7FFF_FFFF) }
    /// The byte offset of the frame's current instruction in its code object's bytecode.
    @inlinable public static func instructionOffset(_ ip: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: ip & 0x7FFF_FFFF) }
}

/// What the `interpreter` record says about the frames of a process's interpreter.
public enum InterpreterFrames: UInt8, Sendable {
    /// Only native stacks (an interpreter version or build the recorder cannot read; see the note).
    case native = 0
    /// Allocations made while Python code runs carry their Python frames.
    case python = 1
}

/// Kinds of events inside a `chunk` record. The high bit of an allocation kind says "a type id follows".
public enum EventKind: UInt8, Sendable, CaseIterable {
    case malloc = 1
    case calloc = 2
    case memalign = 3
    case posixMemalign = 4
    case alignedAlloc = 5
    case valloc = 6
    case pvalloc = 7
    case realloc = 8
    case reallocarray = 9
    case free = 10
    case mark = 11
    case rss = 12
    case threadExit = 13

    /// Set on an allocation event's kind byte when a Swift type id follows the stack id.
    public static let typedFlag: UInt8 = 0x80
    /// Set on a free event's kind byte (version 2) when a stack id follows the address: the Python
    /// frames that freed the block.
    public static let freeStackFlag: UInt8 = 0x80

    /// The highest kind (kinds are numbered from 1 without gaps): a table indexed by raw value
    /// has `lastRawValue + 1` entries.
    @inlinable public static var lastRawValue: UInt8 { 13 }
    /// Kinds 1 ... `lastTypedRawValue` (the allocations and reallocations) may carry a type id.
    @inlinable public static var lastTypedRawValue: UInt8 { 9 }
    /// The kinds that are calls of the program's (not marks, RSS samples or thread exits).
    @inlinable public var isCall: Bool { rawValue >= 1 && rawValue <= EventKind.free.rawValue }

    /// The allocation kinds that carry (address, size, stack[, alignment]).
    @inlinable public var isPlainAllocation: Bool { rawValue >= 1 && rawValue <= 7 }
    /// Kinds that carry an alignment after the size.
    @inlinable public var hasAlignment: Bool { self == .memalign || self == .posixMemalign || self == .alignedAlloc }

    /// The name of the C entry point, as `dump` prints it.
    public var name: String {
        switch self {
        case .malloc: return "malloc"
        case .calloc: return "calloc"
        case .memalign: return "memalign"
        case .posixMemalign: return "posix_memalign"
        case .alignedAlloc: return "aligned_alloc"
        case .valloc: return "valloc"
        case .pvalloc: return "pvalloc"
        case .realloc: return "realloc"
        case .reallocarray: return "reallocarray"
        case .free: return "free"
        case .mark: return "mark"
        case .rss: return "rss"
        case .threadExit: return "thread_exit"
        }
    }
}

/// How the recorder learnt Swift object types (recorded in the `process` record).
public enum SwiftTypeCapture: UInt8, Sendable {
    /// The Swift runtime is not loaded or type capture is off.
    case none = 0
    /// The runtime's `_swift_allocObject` hook: every object, including those made inside libswiftCore.
    case hook = 1
    /// Interposed `swift_allocObject`: only objects allocated from outside libswiftCore.
    case interpose = 2

    public var name: String {
        switch self {
        case .none: return "none"
        case .hook: return "hook"
        case .interpose: return "interpose"
        }
    }
}

/// How stacks were captured.
public enum UnwindMode: UInt8, Sendable {
    case none = 0
    case libunwind = 1
    case framePointers = 2
    /// Frame pointers through modules that keep them, libunwind elsewhere (the default).
    case auto = 3

    public var name: String {
        switch self {
        case .none: return "none"
        case .libunwind: return "libunwind"
        case .framePointers: return "frame-pointers"
        case .auto: return "auto"
        }
    }
}

/// Why a trace ended (the `end` record).
public enum EndReason: UInt8, Sendable {
    case exit = 0
    case fatalSignal = 1
    case explicitFinish = 2
    /// A terminating signal (SIGTERM, SIGINT, ...) with its default action: the process died of it.
    case signal = 3

    public var name: String {
        switch self {
        case .exit: return "exit"
        case .fatalSignal: return "fatal signal"
        case .explicitFinish: return "finished"
        case .signal: return "signal"
        }
    }
}

/// Which clock the tick values use (the `process` record).
public enum ClockKind: UInt8, Sendable {
    /// Ticks are CLOCK_MONOTONIC nanoseconds.
    case monotonicNanoseconds = 0
    /// Ticks are the x86 time-stamp counter; `sync` records pair ticks with nanoseconds.
    case tsc = 1
}
