import CRecorderSupport
import Glibc
import TraceFormat

/// Starting, finishing, forking and exec'ing: everything that happens once per process image.
enum Lifecycle {
    /// The constructor: set up tables, open the trace, start the writer. On any failure the
    /// program runs untraced.
    static func start() {
        let t = T
        t.pointee.depth = 1
        defer { t.pointee.depth = 0 }
        Config.loadQuiet()
        // first, so a program that runs untraced (any failure below) keeps its crash output too
        at_forget_swift_crash_handlers()
        guard let paths = at_map(2 * pathMax), let marks = at_map(Int(maxPendingMarks) * 8),
              let slots = at_map(maxSlots * MemoryLayout<at_slot>.stride),
              let orphan = at_map(MemoryLayout<at_slot>.stride),
              let modules = at_map(maxModules * MemoryLayout<at_module>.stride) else {
            return at_report_start_failure("the recorder's tables")
        }
        G.pointee.output_path = paths.assumingMemoryBound(to: CChar.self)
        G.pointee.exe_path = (paths + pathMax).assumingMemoryBound(to: CChar.self)
        G.pointee.mark_ticks = marks.assumingMemoryBound(to: UInt64.self)
        G.pointee.slots = slots.assumingMemoryBound(to: at_slot.self)
        G.pointee.orphan = orphan.assumingMemoryBound(to: at_slot.self)
        G.pointee.modules = modules.assumingMemoryBound(to: at_module.self)
        G.pointee.fd = -1
        _ = readlink("/proc/self/exe", G.pointee.exe_path, pathMax - 1)
        Config.load()
        at_journal_init()
        at_follow_init()
        if let off = Config.env("ALLOCTRACE_DISABLE"), off.pointee == 0x31 { return }
        if at_other_allocator_serves() != 0 { return }
        G.pointee.clock_kind = at_tsc_usable() != 0 ? UInt32(ClockKind.tsc.rawValue) : UInt32(ClockKind.monotonicNanoseconds.rawValue)
        // TSC ticks are ~0.35 ns: a 64th keeps the order any two threads can observe (a cache line
        // takes longer to move between cores) and saves a byte of entropy per event
        G.pointee.tick_shift = G.pointee.clock_kind == UInt32(ClockKind.tsc.rawValue) ? 6 : 0
        guard StackTable.setUp(), TypeTable.setUp() else { return at_report_start_failure("the stack and type tables") }
        at_find_self_text()
        at_find_getattr()
        G.pointee.type_capture = UInt32(at_install_swift_hook())
        G.pointee.pid = getpid()
        stampStart()
        _ = at_refresh_modules(G.pointee.start_ticks)
        at_python_setup()
        if PY.pointee.frames != 0 { StackTable.usePythonSize() }   // before any thread slot is prepared
        G.pointee.fd = at_open_output(G.pointee.output_path, 1)
        if G.pointee.fd < 0 { return }
        guard Writer.open() else {
            if at_trace_fd_intact(G.pointee.fd) != 0 { close(G.pointee.fd) }
            G.pointee.fd = -1
            return at_report_start_failure("the trace writer")
        }
        Writer.processRecord()
        _ = ThreadSlots.register(t)                  // the main thread is thread 1
        ThreadSlots.prepare(G.pointee.orphan, tid: 0)
        at_store32(&G.pointee.orphan.pointee.state, UInt32(AT_SLOT_ACTIVE))
        at_install_fork_handlers()
        at_install_signal_handlers()
        at_store32(&G.pointee.status, UInt32(AT_RECORDING))
        at_start_writer_thread()
    }

    static func stampStart() {
        G.pointee.start_ticks = at_ticks()
        G.pointee.start_mono_ns = at_monotonic_ns()
        G.pointee.start_wall_ns = at_wall_ns()
    }

    /// Runs `body` as the recorder: the thread's guard set (its allocations go unrecorded) and
    /// the writer lock held, waited for two seconds at most (a writer stuck in a crashed process
    /// must not hang an exit). Only in the process that owns the trace (a vfork child shares our
    /// memory) and not in a fork child that never recorded anything.
    static func asWriter(_ body: () -> Void) {
        if getpid() != G.pointee.pid || at_load32(&G.pointee.child_pending) != 0 { return }
        let t = T
        let depth = t.pointee.depth
        t.pointee.depth = depth + 1
        defer { t.pointee.depth = depth }
        guard at_lock_bounded(&G.pointee.writer_lock, 200_000) != 0 else { return }
        body()
        at_unlock(&G.pointee.writer_lock)
    }

    /// A Python program's exit heap graph is taken when its interpreter starts to shut down (atexit
    /// has run, modules are still intact): at process exit the interpreter has freed nearly every
    /// object. Guard held (a free hook).
    static func pythonShutdownBegan() {
        if at_cas32(&PY.pointee.exit_captured, 0, 1) == 0 { return }
        // A thread in Py_FinalizeEx with no Python frame left: every object still alive is held
        // by the interpreter's state (modules, sys), while its C stack holds only stale words of
        // the frames that ran before, which a scan would take for roots.
        if G.pointee.heap_graph & 2 != 0 && getpid() == G.pointee.pid {
            HeapCapture.capture(.exit, writerLockHeld: false, ownStack: at_python_runs_code() != 0)
        }
    }

    /// Ends the trace: last round, `end` record, close. Runs once, in whichever thread exits.
    static func finish(reason: UInt8, status: Int32) {
        if getpid() != G.pointee.pid { return }
        if at_cas32(&G.pointee.status, UInt32(AT_RECORDING), UInt32(AT_FINISHED)) == 0 { return }
        // the writer is not woken: it would only compete for the lock (it stops at its next check
        // of the status, or with the process)
        asWriter {
            // not after a fatal signal: the heap may be what went wrong (a terminating one is fine)
            if (reason == 0 || reason == EndReason.signal.rawValue) && G.pointee.heap_graph & 2 != 0 && PY.pointee.exit_captured == 0 {
                HeapCapture.capture(.exit, writerLockHeld: true)
            }
            Writer.round(sync: true)
            Writer.endRecord(reason: reason, status: status)
            // never a descriptor the program reused for a file of its own
            if at_trace_fd_intact(G.pointee.fd) != 0 { close(G.pointee.fd) }
            G.pointee.fd = -1
            at_journal_end(Int32(reason), status)
        }
    }

    /// The ELF destructor. With a preloaded library it usually runs *before* the on_exit handler
    /// that knows the exit status, so it only makes the data safe; `finish` writes the end.
    static func flushFromDestructor() {
        if at_load32(&G.pointee.status) != UInt32(AT_RECORDING) { return }
        asWriter {
            if at_load32(&G.pointee.status) == UInt32(AT_RECORDING) {
                Writer.round(sync: true)
                Writer.flush()
            }
        }
    }

    /// Before execve: everything so far reaches the file, followed by an `exec` record.
    static func beforeExec(_ path: UnsafePointer<CChar>?) {
        if at_load32(&G.pointee.status) != UInt32(AT_RECORDING) { return }
        asWriter {
            Writer.round(sync: true)
            Writer.execRecord(path)
            Writer.flush()
            at_journal_exec(path)
        }
    }

    // MARK: fork

    static func forkPrepare() {
        at_lock(&G.pointee.type_name_lock)
        at_lock(&G.pointee.module_lock)
    }

    static func forkParent() {
        at_unlock(&G.pointee.module_lock)
        at_unlock(&G.pointee.type_name_lock)
    }

    /// In the child: forget the parent's unwritten events and file; the child opens its own trace
    /// at its first event and writes every definition again so that trace stands alone.
    static func forkChild() {
        let t = T
        G.pointee.pid = getpid()
        G.pointee.module_lock = 0
        G.pointee.type_name_lock = 0
        G.pointee.writer_lock = 0
        G.pointee.pool_lock = 0
        G.pointee.queue_lock = 0
        G.pointee.writer_started = 0
        G.pointee.writer_tid = 0
        G.pointee.writer_sleeping = 0
        if at_load32(&G.pointee.status) != UInt32(AT_RECORDING) { return }
        if at_trace_fd_intact(G.pointee.fd) != 0 { close(G.pointee.fd) }
        G.pointee.fd = -1
        if at_follow_forks() == 0 {   // --follow exec or none: this child records nothing
            at_follow_drop_child()
            at_store32(&G.pointee.status, UInt32(AT_FINISHED))
            return
        }
        Writer.cctx = nil   // the parent's compressor state may be mid-write: leave it
        var queued = BufferPool.takeQueue()
        while let b = queued { queued = b.pointee.next; BufferPool.give(b) }
        let mine = t.pointee.slot
        if let slots = G.pointee.slots {
            for i in 0..<Int(G.pointee.slot_high) {
                let s = slots + i
                s.pointee.lock = 0
                if s == mine { continue }
                if let b = s.pointee.buffer { s.pointee.buffer = nil; BufferPool.give(b) }
                s.pointee.state = UInt32(AT_SLOT_FREE)
            }
        }
        if let orphan = G.pointee.orphan {
            orphan.pointee.lock = 0
            if let b = orphan.pointee.buffer { b.pointee.used = 0 }
            orphan.pointee.announced = 0
        }
        if let s = mine {
            s.pointee.tid = at_gettid()
            s.pointee.announced = 0
            if let b = s.pointee.buffer { s.pointee.buffer = nil; BufferPool.give(b) }
        }
        StackTable.sealAfterFork()
        TypeTable.sealAfterFork()
        at_python_after_fork()
        for i in 0..<Int(G.pointee.module_count) { at_module_at(UInt32(i)).pointee.announced = 0 }
        G.pointee.events_dropped = 0
        stampStart()
        if let s = mine { s.pointee.last_ticks = G.pointee.start_ticks; s.pointee.start_ticks = G.pointee.start_ticks }
        at_store32(&G.pointee.child_pending, 1)
    }

    /// The first event of a fork child opens its trace and starts its writer.
    static func startChild() {
        if at_cas32(&G.pointee.child_pending, 1, 2) == 0 { return }
        if let pattern = Config.outputPattern(), pattern.pointee != 0 {
            G.pointee.fd = at_open_output(pattern, 0)
        } else {
            G.pointee.fd = TraceFileName.defaultPattern.withUTF8Buffer { b in
                b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { at_open_output($0, 0) }
            }
        }
        if G.pointee.fd < 0 || !Writer.open() {
            at_store32(&G.pointee.status, UInt32(AT_FINISHED))
            at_store32(&G.pointee.child_pending, 0)
            return
        }
        Writer.processRecord()
        at_store32(&G.pointee.child_pending, 0)
        at_start_writer_thread()
    }
}
