import CRecorderSupport
import Glibc
import TraceFormat

/// Reads the ALLOCTRACE_* environment into the global state (constructor time, guard held).
enum Config {

    static func load() {
        G.pointee.unwind_mode = UInt32(UnwindMode.auto.rawValue)
        if let v = env("ALLOCTRACE_UNWIND") {
            if equals(v, "libunwind") { G.pointee.unwind_mode = UInt32(UnwindMode.libunwind.rawValue) }
            if equals(v, "fp") || equals(v, "frame-pointers") { G.pointee.unwind_mode = UInt32(UnwindMode.framePointers.rawValue) }
            else if equals(v, "none") { G.pointee.unwind_mode = UInt32(UnwindMode.none.rawValue) }
            else if equals(v, "verify") { at_set_unwind_verify(1) }  // auto, checked against libunwind
        }
        G.pointee.max_depth = UInt32(clamp(number("ALLOCTRACE_STACK_DEPTH", default: 64), 1, maxFrames - 16))
        G.pointee.flush_ms = UInt32(clamp(number("ALLOCTRACE_FLUSH_MS", default: 1000), 10, 60_000))
        G.pointee.rss_ms = UInt32(clamp(number("ALLOCTRACE_RSS_MS", default: 20), 1, 60_000))
        G.pointee.mark_signal = UInt32(markSignal())
        // ALLOCTRACE_HEAP_GRAPH: marks,exit (default), marks, exit or off
        G.pointee.heap_graph = 3
        if let v = env("ALLOCTRACE_HEAP_GRAPH") {
            if equals(v, "off") || equals(v, "0") || equals(v, "none") { G.pointee.heap_graph = 0 }
            else if equals(v, "marks") { G.pointee.heap_graph = 1 }
            else if equals(v, "exit") { G.pointee.heap_graph = 2 }
        }
        // ALLOCTRACE_STOP_THE_WORLD=0: captures do not stop the other threads (bit 2)
        if let v = env("ALLOCTRACE_STOP_THE_WORLD"), equals(v, "0") || equals(v, "off") { G.pointee.heap_graph |= 4 }
        // ALLOCTRACE_SAMPLE_BYTES=N (K, M, G: KiB, MiB, GiB): sampled recording of mean interval N
        let rate = byteCount("ALLOCTRACE_SAMPLE_BYTES")
        if rate > 0 && at_sampler_start(rate, UInt64(bitPattern: Int64(number("ALLOCTRACE_SAMPLE_SEED", default: 0)))) == 0 {
            at_report_start_failure("the sampled-address set")
        }
        let out = env("ALLOCTRACE_OUTPUT")
        let dst = G.pointee.output_path!
        if let out, out.pointee != 0 {
            _ = strncpy(dst, out, pathMax - 1)
        } else {
            TraceFileName.defaultPattern.withUTF8Buffer { b in
                b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { _ = strncpy(dst, $0, pathMax - 1) }
            }
        }
        dst[pathMax - 1] = 0
    }

    /// ALLOCTRACE_QUIET=1 (record -q): no message of the recorder's; read before anything may fail.
    static func loadQuiet() {
        if let q = env("ALLOCTRACE_QUIET"), q.pointee == 0x31 { at_set_quiet(1) }
    }

    /// The pattern the output path came from, kept for fork children.
    static func outputPattern() -> UnsafePointer<CChar>? { env("ALLOCTRACE_OUTPUT") }

    /// ALLOCTRACE_MARK_SIGNAL: a number, `RTMIN+N`, `RTMAX-N`, `USR1`, `USR2`, or `off`. Default RTMAX-2.
    static func markSignal() -> Int32 {
        guard let v = env("ALLOCTRACE_MARK_SIGNAL") else { return at_sigrtmax() - 2 }
        if equals(v, "off") || equals(v, "0") { return 0 }
        if equals(v, "USR1") || equals(v, "SIGUSR1") { return SIGUSR1 }
        if equals(v, "USR2") || equals(v, "SIGUSR2") { return SIGUSR2 }
        if strncmp(v, "RTMAX-", 6) == 0 { return at_sigrtmax() - Int32(atoi(v + 6)) }
        if strncmp(v, "RTMIN+", 6) == 0 { return at_sigrtmin() + Int32(atoi(v + 6)) }
        let n = atoi(v)
        return n > 0 && n < 65 ? n : at_sigrtmax() - 2
    }

    static func env(_ name: StaticString) -> UnsafePointer<CChar>? {
        name.withUTF8Buffer { b in
            b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { UnsafePointer(getenv($0)) }
        }
    }

    static func equals(_ s: UnsafePointer<CChar>, _ literal: StaticString) -> Bool {
        literal.withUTF8Buffer { b in
            b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { strcmp(s, $0) == 0 }
        }
    }

    static func number(_ name: StaticString, default value: Int) -> Int {
        guard let v = env(name), v.pointee != 0 else { return value }
        return atol(v)
    }

    /// A byte count with an optional binary suffix (512K, 2M, 1G); 0 when absent or malformed.
    static func byteCount(_ name: StaticString) -> UInt64 {
        guard let v = env(name), v.pointee != 0 else { return 0 }
        var end: UnsafeMutablePointer<CChar>? = nil
        let n = strtoull(v, &end, 10)
        guard let e = end else { return 0 }
        switch UInt8(bitPattern: e.pointee) | 0x20 {   // lower case
        case 0x6B: return n << 10       // k
        case 0x6D: return n << 20       // m
        case 0x67: return n << 30       // g
        default: return e.pointee == 0 ? n : 0
        }
    }

    static func clamp(_ v: Int, _ lo: Int, _ hi: Int) -> Int { min(max(v, lo), hi) }
}
