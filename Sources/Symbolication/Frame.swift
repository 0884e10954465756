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
