import TraceFormat
import TraceReader

/// One source-level frame of a return address: a function, and where in it the call was made.
///
/// One address yields several frames when the call sits in inlined code: the inlined functions
/// first (innermost first, `isInlined` true), then the function the machine code belongs to.
public struct Frame: Sendable, Hashable {
    /// A readable name: demangled and simplified for Swift (`samples.Cache.insert(_:)`), demangled
    /// for C++, as is for C; `module+0xoffset` when nothing better is known.
    public var function: String
    /// The name as the binary spells it (mangled), when one was found.
    public var rawName: String?
    /// The source file (as the debug information names it, usually an absolute path).
    public var file: String?
    /// The line of the call in `file`; nil when unknown (no line table, or compiler-generated code).
    public var line: Int?
    /// The module's file name without its directory (`libc.so.6`), or `[unknown]`.
    public var module: String
    /// The return address relative to the module's load bias (what `addr2line -e module` expects,
    /// plus one).
    public var moduleOffset: UInt64
    /// True when this frame's function was inlined into the frame that follows it.
    public var isInlined: Bool
    /// True for a Python frame: `function` is the code object's qualified name, `file` and `line`
    /// the Python source, `moduleOffset` the instruction's byte offset in the bytecode.
    public var isPython = false

    public init(function: String, rawName: String? = nil, file: String? = nil, line: Int? = nil,
                module: String, moduleOffset: UInt64, isInlined: Bool = false) {
        self.function = function
        self.rawName = rawName
        self.file = file
        self.line = line
        self.module = module
        self.moduleOffset = moduleOffset
        self.isInlined = isInlined
    }
}

extension Frame {
    /// The module name of Python frames.
    public static let pythonModule = "[python]"

    /// A Python frame of `code`, at the instruction `ip` (a stack entry with `PythonFrame.tag`) names.
    public init(python code: PythonCode, ip: UInt64) {
        let offset = PythonFrame.instructionOffset(ip)
        self.init(function: code.qualifiedName.isEmpty ? "<python>" : code.qualifiedName, file: code.file,
                  line: code.line(atByteOffset: offset), module: Frame.pythonModule, moduleOffset: UInt64(offset))
        isPython = true
    }

    /// A Python frame whose code object the trace does not describe (cut short, or too many objects).
    public init(pythonCodeID id: UInt32, ip: UInt64) {
        self.init(function: "<python code \(id)>", module: Frame.pythonModule,
                  moduleOffset: UInt64(PythonFrame.instructionOffset(ip)))
        isPython = true
    }
}

extension Frame: CustomStringConvertible {
    /// `function at file:line (module+0xoffset)`, `[inlined]` marking inlined frames.
    public var description: String {
        var s = function
        if let file {
            s += " at " + file
            if let line { s += ":\(line)" }
        }
        s += " (\(module)+0x" + String(moduleOffset, radix: 16) + ")"
        if isInlined { s += " [inlined]" }
        return s
    }
}
