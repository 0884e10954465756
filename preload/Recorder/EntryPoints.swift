import CRecorderSupport
import Glibc
import TraceFormat

// C-ABI entry points called from CRecorderSupport's constructor, exit, fork, exec and signal glue.

@_cdecl("alloctrace_recorder_start")
public func alloctraceRecorderStart() { Lifecycle.start() }

@_cdecl("alloctrace_recorder_finish")
public func alloctraceRecorderFinish(_ reason: Int32, _ status: Int32) {
    Lifecycle.finish(reason: UInt8(truncatingIfNeeded: reason), status: status)
}

@_cdecl("alloctrace_recorder_flush")
public func alloctraceRecorderFlush() { Lifecycle.flushFromDestructor() }

@_cdecl("alloctrace_before_exec")
public func alloctraceBeforeExec(_ path: UnsafePointer<CChar>?) { Lifecycle.beforeExec(path) }


@_cdecl("alloctrace_fork_prepare")
public func alloctraceForkPrepare() { Lifecycle.forkPrepare() }

@_cdecl("alloctrace_fork_parent")
public func alloctraceForkParent() { Lifecycle.forkParent() }

@_cdecl("alloctrace_fork_child")
public func alloctraceForkChild() { Lifecycle.forkChild() }

@_cdecl("alloctrace_thread_exit")
public func alloctraceThreadExit() {
    let t = T
    at_note_thread_exit()
    if at_load32(&G.pointee.status) != UInt32(AT_RECORDING) { return }
    t.pointee.depth += 1
    ThreadSlots.exit(t)
    t.pointee.depth -= 1
}

@_cdecl("alloctrace_thread_renamed")
public func alloctraceThreadRenamed() {
    let t = T
    t.pointee.depth += 1
    at_refresh_thread_names()
    t.pointee.depth -= 1
}

@_cdecl("alloctrace_modules_changed")
public func alloctraceModulesChanged() {
    let t = T
    if at_load32(&G.pointee.status) != UInt32(AT_RECORDING) { return }
    t.pointee.depth += 1
    _ = at_refresh_modules(at_ticks())
    t.pointee.depth -= 1
}

/// The writer thread: a round whenever a buffer is handed over, a sync round at least every
/// 10 ms, an RSS sample every ALLOCTRACE_RSS_MS, a flush every ALLOCTRACE_FLUSH_MS.
@_cdecl("alloctrace_writer_main")
public func alloctraceWriterMain(_ unused: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    T.pointee.state = UInt32(AT_THREAD_INTERNAL)
    at_store32(&G.pointee.writer_tid, UInt32(bitPattern: at_gettid()))
    // The first round waits 2 ms (or for a buffer handed over): a short-lived program, such as
    // the helpers a shell or make execs, has ended by then, and its exit writes everything
    // without meeting the writer at the lock (on 2 busy cores, a wait of a timeslice or more).
    let first = at_load32(&G.pointee.work)
    at_store32(&G.pointee.writer_sleeping, 1)
    at_futex_wait(&G.pointee.work, first, 2_000_000)
    at_store32(&G.pointee.writer_sleeping, 0)
    while at_load32(&G.pointee.status) == UInt32(AT_RECORDING) {
        // main called pthread_exit and every other thread is gone: leaving lets the process end
        if at_writer_alone() != 0 { break }
        let seen = at_load32(&G.pointee.work)
        let now = at_monotonic_ns()
        let flushDue = Writer.lastFlushNs &+ UInt64(G.pointee.flush_ms) * 1_000_000
        let syncDue = Writer.lastSyncNs &+ Writer.syncIntervalNs
        let rssDue = Writer.lastRssNs &+ UInt64(G.pointee.rss_ms) * 1_000_000
        let due = min(flushDue, syncDue, rssDue)
        if at_load32(&G.pointee.queue_length) == 0 && now < due {
            at_store32(&G.pointee.writer_sleeping, 1)
            at_futex_wait(&G.pointee.work, seen, due - now)
            at_store32(&G.pointee.writer_sleeping, 0)
        }
        let signal = at_load32(&G.pointee.term_signal)
        if signal != 0 {
            // a terminating signal met a thread inside the recorder: the end is ours to write
            Lifecycle.finish(reason: EndReason.signal.rawValue, status: Int32(signal))
            at_wait_for_end()   // when the exit path was ending it already
            at_die_of_signal(Int32(signal))
        }
        guard at_lock_bounded(&G.pointee.writer_lock, 1000) != 0 else { continue }
        if at_load32(&G.pointee.status) == UInt32(AT_RECORDING) {
            let t = at_monotonic_ns()
            Writer.round(sync: t >= syncDue || Writer.signalMarksToCapture > 0)
            if Writer.signalMarksToCapture > 0 {
                Writer.signalMarksToCapture = 0
                // on disk now, for `--pid` waiting for it (a capture flushes at its end)
                if G.pointee.heap_graph & 1 != 0 { HeapCapture.capture(.outsideMark, writerLockHeld: true) } else { Writer.flush() }
            }
            if t >= flushDue { Writer.flush() }
        }
        at_unlock(&G.pointee.writer_lock)
    }
    return nil
}
