import CRecorderSupport
import CZstd
import Glibc
import TraceFormat

/// Turns buffers, tables and process facts into records, compresses them and writes the file.
///
/// Runs on the writer thread, or on a thread that finishes the trace (exit, exec, fatal signal);
/// `writer_lock` makes one writer at a time. Allocations here are the recorder's own: the thread
/// is marked internal or holds the guard, so they pass straight to glibc unrecorded.
enum Writer {
    static let scratchBytes = 1 << 20
    static let syncIntervalNs: UInt64 = 10_000_000

    nonisolated(unsafe) static var cctx: OpaquePointer? = nil
    nonisolated(unsafe) static var out: UnsafeMutablePointer<UInt8>! = nil
    nonisolated(unsafe) static var outCapacity = 0
    nonisolated(unsafe) static var scratch: UnsafeMutablePointer<UInt8>! = nil
    nonisolated(unsafe) static var recorderChunk: UnsafeMutablePointer<UInt8>! = nil
    nonisolated(unsafe) static var lastFlushNs: UInt64 = 0
    nonisolated(unsafe) static var lastRssNs: UInt64 = 0
    /// The highest RSS sample so far, and the recorder's own resident bytes at it (`end` record).
    nonisolated(unsafe) static var peakRss: UInt64 = 0
    nonisolated(unsafe) static var ownRssAtPeak: UInt64 = 0
    nonisolated(unsafe) static var lastSyncNs: UInt64 = 0
    nonisolated(unsafe) static var recorderTicks: UInt64 = 0
    nonisolated(unsafe) static var marksWritten: UInt32 = 0
    nonisolated(unsafe) static var eventBytes: UInt64 = 0
    nonisolated(unsafe) static var failed = false
    /// Marks sent from outside since the last heap-graph capture.
    nonisolated(unsafe) static var signalMarksToCapture = 0

    // MARK: opening

    /// Writes the file header and prepares compression. False when the trace cannot be written.
    static func open() -> Bool {
        if scratch == nil {
            guard let s = at_map(scratchBytes), let r = at_map(64 * 1024) else { return false }
            scratch = s.assumingMemoryBound(to: UInt8.self)
            recorderChunk = r.assumingMemoryBound(to: UInt8.self)
        }
        cctx = ZSTD_createCCtx()
        guard let cctx else { return false }
        // Level 1: events are mostly fresh addresses, sizes and tick deltas, which level 3
        // compressed only a little better (traces of bench/ churn 1.3%, sqlite 7%, python 11% smaller)
        // at a third to a half of the speed, and on a small machine the writer's time is the
        // program's: 5M churn pairs cost the writer 376 ms of zstd at level 3, 70 ms at level 1.
        let level = Config.number("ALLOCTRACE_ZSTD_LEVEL", default: 1)
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, Int32(Config.clamp(level, 1, 19)))
        if out == nil {
            outCapacity = ZSTD_CStreamOutSize()
            guard let o = at_map(outCapacity) else { return false }
            out = o.assumingMemoryBound(to: UInt8.self)
        }
        failed = false
        eventBytes = 0
        marksWritten = at_load32(&G.pointee.pending_marks)
        var header = (UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &header) { h in
            let m = TraceFileHeader.magic
            h[0] = m.0; h[1] = m.1; h[2] = m.2; h[3] = m.3; h[4] = m.4; h[5] = m.5; h[6] = m.6; h[7] = m.7
            let version = at_sampling() != 0 ? TraceFileHeader.sampledVersion : TraceFileHeader.version
            h[8] = UInt8(version & 0xFF)
            h[9] = UInt8(version >> 8)
            if at_write_trace(G.pointee.fd, h.baseAddress, TraceFileHeader.size) != 0 { failed = true }
        }
        let now = at_monotonic_ns()
        lastFlushNs = now
        lastRssNs = 0
        peakRss = 0
        ownRssAtPeak = 0
        lastSyncNs = 0          // the first round runs at once: an RSS sample near the start
        recorderTicks = G.pointee.start_ticks
        return !failed
    }

    // MARK: compression

    static func compress(_ data: UnsafeRawPointer?, _ n: Int, _ mode: ZSTD_EndDirective) {
        guard let cctx, !failed else { return }
        var input = ZSTD_inBuffer(src: data, size: n, pos: 0)
        while true {
            var output = ZSTD_outBuffer(dst: out, size: outCapacity, pos: 0)
            let remaining = ZSTD_compressStream2(cctx, &output, &input, mode)
            if ZSTD_isError(remaining) != 0 { return fail("compression failed", memory: true) }
            if output.pos > 0 && at_trace_fd_intact(G.pointee.fd) == 0 {
                // the program closed the trace's descriptor (close_range, dup2) and may have
                // opened a file of its own under its number: not one more byte goes there
                G.pointee.fd = -1
                return fail("the program closed the trace file's descriptor")
            }
            if output.pos > 0 && at_write_trace(G.pointee.fd, out, output.pos) != 0 {
                return fail("writing the trace failed")
            }
            if mode == ZSTD_e_continue ? input.pos == input.size : remaining == 0 { return }
        }
    }

    static func fail(_ why: StaticString, memory: Bool = false) {
        failed = true
        why.withUTF8Buffer { b in b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { at_report_writer_failure($0, memory ? 1 : 0) } }
        at_store32(&G.pointee.status, UInt32(AT_FINISHED))
    }

    /// Writes `kind, length, payload` for a payload built in scratch.
    static func emit(_ kind: RecordKind, _ r: RecordBuilder) {
        var head = (UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &head) { h in
            let base = h.baseAddress!.assumingMemoryBound(to: UInt8.self)
            base.pointee = kind.rawValue
            let e = Varint.write(UInt64(r.count), to: base + 1)
            compress(base, e - base, ZSTD_e_continue)
        }
        compress(r.start, r.count, ZSTD_e_continue)
    }

    static func builder() -> RecordBuilder { RecordBuilder(scratch, capacity: scratchBytes) }

    // MARK: records

    static func processRecord() {
        var r = builder()
        r.varint(UInt64(getpid()))
        r.varint(UInt64(getppid()))
        r.varint(G.pointee.start_wall_ns)
        r.varint(G.pointee.start_ticks)
        r.varint(G.pointee.start_mono_ns)
        r.byte(UInt8(G.pointee.clock_kind))
        r.byte(UInt8(G.pointee.type_capture))
        r.byte(UInt8(G.pointee.unwind_mode))
        r.varint(UInt64(G.pointee.max_depth))
        r.varint(UInt64(G.pointee.flush_ms))
        r.cString(G.pointee.exe_path)
        // the command line, as NUL-separated strings, read into the upper half of scratch
        let cmd = scratch + scratchBytes / 2
        let n = Int(at_cmdline(UnsafeMutableRawPointer(cmd).assumingMemoryBound(to: CChar.self), Int32(scratchBytes / 4)))
        var argc = 0
        var i = 0
        while i < n { if cmd[i] == 0 { argc += 1 }; i += 1 }
        r.varint(UInt64(argc))
        var startArg = 0
        i = 0
        while i < n {
            if cmd[i] == 0 { r.bytes(cmd + startArg, i - startArg); startArg = i + 1 }
            i += 1
        }
        r.staticString(recorderVersion)
        emit(.process, r)
        interpreterRecord()
        samplingRecord()
    }

    /// Sampled recording's rate (sampled traces only, right after `process` and `interpreter`).
    static func samplingRecord() {
        if at_sampling() == 0 { return }
        var r = builder()
        r.varint(at_sample_interval())
        r.byte(SamplingMethod.poissonBytes.rawValue)
        emit(.sampling, r)
    }

    /// What the recorder found of a Python interpreter (only in processes that run one).
    static func interpreterRecord() {
        let py = PY
        if py.pointee.detected == 0 { return }
        var r = builder()
        r.byte(1)                                       // language: CPython
        r.varint(UInt64(py.pointee.version_hex))
        r.byte(py.pointee.frames != 0 ? InterpreterFrames.python.rawValue : InterpreterFrames.native.rawValue)
        r.byte(py.pointee.pymalloc != 0 ? 1 : 0)
        withUnsafePointer(to: &py.pointee.note) { $0.withMemoryRebound(to: CChar.self, capacity: 160) { r.cString($0) } }
        emit(.interpreter, r)
    }

    /// Code objects first seen since the last round.
    static func pythonCodeRecords() {
        while let c = at_python_next_code() {
            var r = builder()
            r.varint(UInt64(c.pointee.id))
            let text = at_py_code_bytes(c)!
            r.bytes(text, Int(c.pointee.file_length))
            r.bytes(text + Int(c.pointee.file_length), Int(c.pointee.name_length))
            r.signed(Int64(c.pointee.first_line))
            r.bytes(text + Int(c.pointee.file_length) + Int(c.pointee.name_length), Int(c.pointee.table_length))
            emit(.pythonCode, r)
        }
    }

    static func moduleRecords() {
        at_lock(&G.pointee.module_lock)
        let count = at_load32(&G.pointee.module_count)
        var i: UInt32 = 0
        while i < count {
            let m = at_module_at(i)!
            if m.pointee.announced == 0 {
                var r = builder()
                r.varint(UInt64(m.pointee.id))
                r.varint(m.pointee.base)
                r.varint(m.pointee.load_ticks)
                r.bytes(at_module_path(m), Int(m.pointee.path_len))
                r.bytes(at_module_build_id(m), Int(m.pointee.build_id_len))
                r.varint(UInt64(m.pointee.nsegs))
                var k: UInt32 = 0
                while k < m.pointee.nsegs {
                    r.varint(at_module_seg_vaddr(m, k))
                    r.varint(at_module_seg_memsz(m, k))
                    r.byte(at_module_seg_flags(m, k))
                    k += 1
                }
                emit(.module, r)
                m.pointee.announced = 1
            }
            if m.pointee.announced == 1 && m.pointee.unload_ticks != 0 {
                var r = builder()
                r.varint(UInt64(m.pointee.id))
                r.varint(m.pointee.unload_ticks)
                emit(.moduleUnload, r)
                m.pointee.announced = 2
            }
            i += 1
        }
        at_unlock(&G.pointee.module_lock)
    }

    static func threadRecord(_ s: UnsafeMutablePointer<at_slot>, orphan: Bool) {
        var r = builder()
        r.varint(UInt64(s.pointee.thread_index))
        r.varint(UInt64(s.pointee.tid))
        r.varint(s.pointee.start_ticks)
        if orphan {
            r.staticString("(threads after exit)")
        } else {
            r.cString(at_slot_name(s))
        }
        emit(.thread, r)
        s.pointee.announced = 1
        s.pointee.name_dirty = 0
    }

    static func stackRecords() {
        let end = min(at_load64(StackTable.count), UInt64(StackTable.nodeCapacity))
        while StackTable.emitted < end {
            var r = builder()
            let first = StackTable.emitted
            r.varint(first)
            let countAt = r.reserveCount()
            var id = first
            while id < end && r.room > 32 {
                let node = StackTable.nodes + Int(id)
                if at_load32(&node.pointee.ready) == 0 { break }
                r.varint(UInt64(node.pointee.parent))
                r.varint(node.pointee.ip)
                id += 1
            }
            if id == first { return }
            RecordBuilder.patchCount(countAt, id - first)
            emit(.stackNodes, r)
            StackTable.emitted = id
        }
    }

    static func typeRecords() {
        let end = min(at_load64(TypeTable.count), UInt64(TypeTable.capacity))
        while TypeTable.emitted < end {
            let id = TypeTable.emitted
            let meta = at_load64(TypeTable.metadata + Int(id))
            if meta == 0 { return }                     // still being registered: next round
            if meta == TypeTable.abandoned { TypeTable.emitted = id + 1; continue }
            var r = builder()
            r.varint(id)
            r.varint(meta)
            r.byte(0)
            TypeNames.append(meta, to: &r)
            emit(.type, r)
            var layout = builder()
            layout.varint(id)
            if TypeLayouts.append(meta, to: &layout) { emit(.typeLayout, layout) }
            TypeTable.emitted = id + 1
        }
    }

    // MARK: rounds

    /// One pass: new definitions, every queued buffer, and (with `sync`) a watermark that promises
    /// no event older than it is still held by a thread.
    static func round(sync: Bool, slotsHeld: Bool = false) {
        let nowNs = at_monotonic_ns()
        recorderEvents(nowNs: nowNs)
        let watermark = at_ticks()
        let monoAtWatermark = at_monotonic_ns()
        if at_modules_maybe_changed() != 0 { _ = at_refresh_modules(watermark) }
        moduleRecords()
        let high = Int(at_load32(&G.pointee.slot_high))
        if let slots = G.pointee.slots {
            for i in 0..<high {
                let s = slots + i
                let state = at_load32(&s.pointee.state)
                if state == UInt32(AT_SLOT_FREE) { continue }
                if s.pointee.announced == 0 || s.pointee.name_dirty != 0 { threadRecord(s, orphan: false) }
                if sync { steal(s, locked: slotsHeld) }
                if state == UInt32(AT_SLOT_EXITED) && s.pointee.buffer == nil && sync {
                    at_store32(&s.pointee.state, UInt32(AT_SLOT_FREE))
                }
            }
        }
        if let orphan = G.pointee.orphan {
            if sync { steal(orphan, locked: slotsHeld) }
            if orphan.pointee.announced == 0 && orphan.pointee.buffer != nil { threadRecord(orphan, orphan: true) }
        }
        var b = BufferPool.takeQueue()
        stackRecords()
        pythonCodeRecords()
        typeRecords()
        while let buffer = b {
            b = buffer.pointee.next
            chunk(buffer)
            BufferPool.give(buffer)
        }
        recorderChunkRecord()
        if sync {
            var r = builder()
            r.varint(watermark)
            r.varint(monoAtWatermark)
            r.varint(at_wall_ns())
            emit(.sync, r)
            lastSyncNs = nowNs
        }
    }

    /// Takes a thread's partly filled buffer so its events reach the file by the next sync.
    static func steal(_ s: UnsafeMutablePointer<at_slot>, locked: Bool = false) {
        if !locked { at_lock(&s.pointee.lock) }
        if let b = s.pointee.buffer, b.pointee.used > 0 {
            s.pointee.buffer = nil
            BufferPool.enqueue(b)
        }
        if !locked { at_unlock(&s.pointee.lock) }
    }

    static func chunk(_ b: UnsafeMutablePointer<at_buffer>) {
        let used = Int(b.pointee.used)
        var head = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &head) { h in
            let base = h.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let inner = Varint.size(UInt64(b.pointee.thread_index)) + Varint.size(b.pointee.base_ticks)
            base.pointee = RecordKind.chunk.rawValue
            var e = Varint.write(UInt64(inner + used), to: base + 1)
            e = Varint.write(UInt64(b.pointee.thread_index), to: e)
            e = Varint.write(b.pointee.base_ticks, to: e)
            compress(base, e - base, ZSTD_e_continue)
        }
        compress(b.pointee.data, used, ZSTD_e_continue)
        eventBytes &+= UInt64(used)
    }

    // MARK: the recorder's own events (thread index 0)

    nonisolated(unsafe) static var recorderUsed = 0
    nonisolated(unsafe) static var recorderBase: UInt64 = 0

    static func recorderEvent(_ kind: EventKind, ticks: UInt64, value: UInt64, label: UnsafePointer<CChar>?, labelLength: Int) {
        if recorderUsed + 300 > 64 * 1024 { return }
        if recorderUsed == 0 { recorderBase = recorderTicks }
        let t = max(ticks, recorderTicks)
        var p = recorderChunk + recorderUsed
        p.pointee = kind.rawValue
        p = Varint.write(t &- recorderTicks, to: p + 1)
        if kind == .mark {
            p = Varint.write(UInt64(labelLength), to: p)
            if let label, labelLength > 0 { UnsafeMutableRawPointer(p).copyMemory(from: label, byteCount: labelLength); p += labelLength }
        } else {
            p = Varint.write(value, to: p)
        }
        recorderTicks = t
        recorderUsed = p - recorderChunk
    }

    static func recorderEvents(nowNs: UInt64) {
        let requested = at_load32(&G.pointee.pending_marks)
        while marksWritten != requested {
            let ticks = at_load64(G.pointee.mark_ticks + Int(marksWritten % maxPendingMarks))
            Marks.writeSignalMark(ticks: ticks)
            marksWritten &+= 1
            signalMarksToCapture &+= 1
        }
        if nowNs &- lastRssNs >= UInt64(G.pointee.rss_ms) * 1_000_000 || lastRssNs == 0 {
            let rss = at_rss_bytes()
            recorderEvent(.rss, ticks: at_ticks(), value: rss, label: nil, labelLength: 0)
            // the first sample as high as the peak is the analyzer's peak too
            if rss > peakRss {
                peakRss = rss
                ownRssAtPeak = at_own_resident_bytes()
            }
            lastRssNs = nowNs
        }
    }

    static func recorderChunkRecord() {
        if recorderUsed == 0 { return }
        var r = builder()
        r.varint(0)
        r.varint(recorderBase)
        UnsafeMutableRawPointer(r.p).copyMemory(from: recorderChunk, byteCount: recorderUsed)
        r.p += recorderUsed
        emit(.chunk, r)
        recorderUsed = 0
    }

    /// Makes everything written so far readable (a killed process leaves a trace up to here).
    static func flush() {
        compress(nil, 0, ZSTD_e_flush)
        lastFlushNs = at_monotonic_ns()
    }

    static func endRecord(reason: UInt8, status: Int32) {
        var r = builder()
        r.varint(at_ticks())
        r.varint(at_monotonic_ns())
        r.byte(reason)
        r.signed(Int64(status))
        r.varint(eventBytes)
        r.varint(at_load64(&G.pointee.events_dropped))
        r.varint(peakRss)
        r.varint(ownRssAtPeak)
        emit(.end, r)
        compress(nil, 0, ZSTD_e_end)
    }

    static func execRecord(_ path: UnsafePointer<CChar>?) {
        var r = builder()
        r.varint(at_ticks())
        r.cString(path)
        emit(.exec, r)
    }
}

let recorderVersion: StaticString = "alloctrace-recorder 0.1.0"
