import Symbolication
import TraceFormat
import TraceReader

/// Names the stacks of one trace: symbolized frames, and the function that made the allocation.
///
/// Frames of the allocator itself (operator new, the Swift runtime's allocation entry points) are
/// dropped from the inside of each stack, so a stack starts at the code that asked for memory.
/// A stack that holds Python frames shows only those (memray's default), unless `native`: then the
/// interpreter's C frames too, each eval-loop frame after the Python frames it ran.
public final class StackResolver {
    public let reader: TraceReader
    public let symbolizer: Symbolizer
    /// Show the native frames of stacks that have Python frames.
    public let native: Bool
    private var framesCache: [UInt32: [Frame]] = [:]

    /// Frames kept of a stack, innermost first: the recorder writes at most 240 (AT_MAX_FRAMES is
    /// 256). A crafted trace can have 50,000-deep stacks at every one of thousands of sites, which
    /// cost sites x depth to name and to keep.
    public static let maxFrames = 256

    /// The return addresses of `stack` up to `maxFrames`, innermost first.
    private func addresses(_ stack: UInt32) -> [UInt64]? {
        reader.stacks.frames(stack, limit: StackResolver.maxFrames)
    }

    public init(reader: TraceReader, native: Bool = false) {
        self.reader = reader
        self.native = native
        symbolizer = SymbolizerWarmup.take(for: reader) ?? Symbolizer(modules: reader.modules)
        symbolizer.pythonCodes = { [unowned reader] id in reader.pythonCodes[id] }
    }

    /// The entries of `stack` a report shows, innermost first (see the type's comment).
    private func shown(_ stack: UInt32) -> [UInt64]? {
        guard let ips = addresses(stack) else { return nil }
        if native || !ips.contains(where: PythonFrame.isPython) { return ips }
        return ips.filter(PythonFrame.isPython)
    }

    /// Warnings about modules that could not be symbolized (changed or missing binaries).
    public var warnings: [String] { symbolizer.warnings }

    /// Frames of `stack`, innermost first, allocator frames dropped; empty for stack 0 or unknown ids.
    public func frames(_ stack: UInt32) -> [Frame] {
        if let known = framesCache[stack] { return known }
        var frames: [Frame] = []
        if let ips = shown(stack) {
            frames = symbolizer.symbolize(stack: ips)
            let firstUser = frames.firstIndex { !StackResolver.isAllocatorFrame($0) } ?? frames.count
            if firstUser < frames.count { frames.removeFirst(firstUser) }
            // below the thread's start: a frame-pointer walk stops at __libc_start_call_main or
            // start_thread, libunwind goes on to _start or clone3; show both the same way
            while let last = frames.last, frames.count > 1, StackResolver.belowThreadStart.contains(last.function) {
                frames.removeLast()
            }
        }
        framesCache[stack] = frames
        return frames
    }

    /// The innermost user frame of `stack` (the first of `frames(stack)`), symbolizing only the
    /// return addresses up to it: a report that names sites without their stacks then loads no debug
    /// information for the modules further out (e.g. libc's, tens of milliseconds, for `main`'s caller).
    public func innermostUserFrame(_ stack: UInt32) -> Frame? {
        if case .frame(let f) = innermost(stack) { return f }
        return nil
    }

    private enum Innermost {
        case unknown, allocator, frame(Frame)
    }
    /// Per stack, once: reports ask for a site's name many times (a walk of the stack each).
    private var innermostCache: [UInt32: Innermost] = [:]

    private func innermost(_ stack: UInt32) -> Innermost {
        if let known = innermostCache[stack] { return known }
        var result = Innermost.unknown
        if let known = framesCache[stack] {
            result = known.first.map { .frame($0) } ?? .allocator
        } else if let ips = shown(stack) {
            result = .allocator
            search: for ip in ips {
                for f in symbolizer.frames(for: ip) where !StackResolver.isAllocatorFrame(f) {
                    result = .frame(f)
                    break search
                }
            }
        }
        innermostCache[stack] = result
        return result
    }

    /// The return addresses of `stack`, innermost first, without the allocator's own.
    public func userAddresses(_ stack: UInt32) -> [UInt64] {
        guard var ips = shown(stack) else { return [] }
        let firstUser = ips.firstIndex { ip in !symbolizer.frames(for: ip).allSatisfy(StackResolver.isAllocatorFrame) } ?? ips.count
        ips.removeFirst(firstUser)
        return ips
    }

    /// The allocating function of `stack` (its innermost user frame), or `(unknown)`.
    public func function(_ stack: UInt32) -> String {
        if stack == 0 { return "(no stack)" }
        switch innermost(stack) {
        case .unknown: return "(unknown stack \(stack))"
        case .allocator: return "(allocator)"
        case .frame(let f): return StackResolver.shortName(f)
        }
    }

    /// `function at file:line` for the innermost user frame.
    public func location(_ stack: UInt32) -> String {
        guard let f = innermostUserFrame(stack) else { return function(stack) }
        return StackResolver.describe(f)
    }

    /// C++ names without return type, template arguments and parameter lists
    /// (`swift::ConcurrentReadableHashMap::resize`, Demangler.shortCxxName); Swift and C names as they are.
    public static func shortName(_ f: Frame) -> String {
        guard f.rawName?.hasPrefix("_Z") == true else { return f.function }
        return Demangler.shortCxxName(f.function)
    }

    /// A frame's name in a flame graph or collapsed stacks: its short name, and for a Python frame
    /// the file and line too (`my_func (my_func.py:3)`, as py-spy writes them), since every module's
    /// top level is `<module>`.
    public static func label(_ f: Frame) -> String {
        guard f.isPython, let file = f.file else { return shortName(f) }
        let base = file.split(separator: "/").last.map(String.init) ?? file
        return "\(f.function) (\(base)" + (f.line.map { ":\($0)" } ?? "") + ")"
    }

    public static func describe(_ f: Frame) -> String {
        var s = shortName(f)
        if let file = f.file {
            s += " at " + file
            if let line = f.line { s += ":\(line)" }
        } else {
            s += " (\(f.module)+0x" + String(f.moduleOffset, radix: 16) + ")"
        }
        return s
    }

    static let belowThreadStart: Set<String> = [
        "_start", "__libc_start_main_impl", "__libc_start_main", "clone3", "clone", "__clone", "__clone3",
    ]

    static let allocatorFunctions: Set<String> = [
        "malloc", "calloc", "realloc", "free", "reallocarray", "posix_memalign", "aligned_alloc", "memalign",
        "valloc", "pvalloc", "operator new(unsigned long)", "operator new[](unsigned long)",
        "operator new(unsigned long, std::align_val_t)", "operator new[](unsigned long, std::align_val_t)",
        "operator new(unsigned long, std::nothrow_t const&)", "operator new[](unsigned long, std::nothrow_t const&)",
        "swift_slowAlloc", "swift_allocObject", "_swift_allocObject_", "__swift_allocObject_", "swift_allocBox",
        "swift_bufferAllocate", "swift_allocEmptyBox", "swift::swift_slowAlloc(unsigned long, unsigned long)",
        "swift_slowAllocTyped",
    ]

    /// True for frames that belong to the allocator rather than to the code that asked for memory.
    public static func isAllocatorFrame(_ f: Frame) -> Bool {
        if allocatorFunctions.contains(f.function) { return true }
        if f.function.hasPrefix("operator new") { return true }
        if f.module == "libswiftCore.so" && (f.function.hasPrefix("swift_alloc") || f.function.hasPrefix("swift_slowAlloc")
            || f.function.hasPrefix("swift::swift_slowAlloc") || f.function.hasPrefix("_swift_alloc")
            || f.function.hasPrefix("__swift_alloc")) { return true }
        return false
    }
}
