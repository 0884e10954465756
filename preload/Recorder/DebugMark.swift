import CRecorderSupport
import Glibc

/// `alloctrace debug`'s gdb commands call this at a breakpoint, where the debugger has stopped every
/// thread, the writer included: a mark labelled `alloctrace_debug_label` and its heap-graph snapshot,
/// taken, written and flushed on the calling thread. Returns the trace's file descriptor (>= 0), or
/// -1 when the process is not recording, -2 when a recorder lock is held (`noWait`: a stopped thread
/// holds it; let the threads run and call again with `noWait` 0), -3 when the thread is inside the
/// recorder (a breakpoint in the allocator).
@_cdecl("alloctrace_debug_mark")
public func alloctraceDebugMark(_ noWait: Int32) -> Int32 {
    if at_load32(&G.pointee.status) != UInt32(AT_RECORDING) || getpid() != G.pointee.pid
        || at_load32(&G.pointee.child_pending) != 0 { return -1 }
    let t = T
    if t.pointee.depth != 0 || t.pointee.state == UInt32(AT_THREAD_INTERNAL) { return -3 }
    if noWait != 0 && DebugMark.lockHeld(except: t.pointee.slot) { return -2 }
    guard let me = enter() else { return -1 }
    defer { leave(me) }
    EventRecording.mark(me, label: at_debug_label())
    // the debugger holds the other threads already: the tracer task would be one more task for it
    let graph = G.pointee.heap_graph
    G.pointee.heap_graph = graph | 4
    defer { G.pointee.heap_graph = graph }
    if graph & 1 != 0 {
        HeapCapture.capture(.mark, writerLockHeld: false)
    } else {
        guard at_lock_bounded(&G.pointee.writer_lock, 200_000) != 0 else { return -2 }
        Writer.round(sync: true)
        Writer.flush()
        at_unlock(&G.pointee.writer_lock)
    }
    return G.pointee.fd
}

enum DebugMark {
    /// Whether a lock the capture takes is held by another thread (which, stopped, would keep it).
    static func lockHeld(except mine: UnsafeMutablePointer<at_slot>?) -> Bool {
        if at_load32(&G.pointee.writer_lock) != 0 || at_load32(&G.pointee.module_lock) != 0
            || at_load32(&G.pointee.pool_lock) != 0 || at_load32(&G.pointee.queue_lock) != 0
            || at_load32(&G.pointee.type_name_lock) != 0 { return true }
        if let orphan = G.pointee.orphan, at_load32(&orphan.pointee.lock) != 0 { return true }
        guard let slots = G.pointee.slots else { return false }
        for i in 0..<Int(at_load32(&G.pointee.slot_high)) where slots + i != mine {
            if at_load32(&slots[i].lock) != 0 { return true }
        }
        return false
    }
}
