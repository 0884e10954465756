import TraceFormat

// Here, not in TraceFormat: building the names would link String code into the recorder, which
// writes only the numbers.
extension HeapRegisterNumber {
    /// `rbx`, `xmm3`, `xmm3.hi`.
    public static func name(_ n: UInt8) -> String {
        let general = ["rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11",
                       "r12", "r13", "r14", "r15", "rip"]
        if n < generalCount { return general[Int(n)] }
        if n < xmmLow(16) { return "xmm\(n - xmmLow(0))" }
        if n >= xmmHigh(0) && n < xmmHigh(16) { return "xmm\(n - xmmHigh(0)).hi" }
        return "register \(n)"
    }
}
