import CRecorderSupport
import TraceFormat

/// Gives each thread its own slot (buffer and lock), and hands a thread's events to the writer
/// when its buffer fills or the thread exits.
enum ThreadSlots {
    /// The calling thread's slot, registering the thread on its first event. Guard held.
    @inline(__always)
    static func current(_ t: UnsafeMutablePointer<at_tls>) -> UnsafeMutablePointer<at_slot>? {
        if let s = t.pointee.slot { return s }
        return register(t)
    }

    static func register(_ t: UnsafeMutablePointer<at_tls>) -> UnsafeMutablePointer<at_slot>? {
        if t.pointee.state == UInt32(AT_THREAD_GONE) { return G.pointee.orphan }
        guard let slots = G.pointee.slots else { return nil }
        for i in 0..<maxSlots {
            let s = slots + i
            if at_load32(&s.pointee.state) == UInt32(AT_SLOT_FREE) && at_cas32(&s.pointee.state, UInt32(AT_SLOT_FREE), UInt32(AT_SLOT_ACTIVE)) != 0 {
                prepare(s, tid: at_gettid())
                at_read_own_name(s)
                at_note_stack(s)
                if UInt32(i) >= at_load32(&G.pointee.slot_high) { raiseHigh(UInt32(i) + 1) }
                t.pointee.slot = s
                t.pointee.state = UInt32(AT_THREAD_LIVE)
                at_register_thread_exit()
                return s
            }
        }
        t.pointee.state = UInt32(AT_THREAD_GONE)
        return G.pointee.orphan
    }

    static func raiseHigh(_ v: UInt32) {
        while true {
            let old = at_load32(&G.pointee.slot_high)
            if old >= v || at_cas32(&G.pointee.slot_high, old, v) != 0 { return }
        }
    }

    /// Where a slot's stack-cache front starts in its frames mapping: after the frame scratch
    /// (`maxFrames` words) and the Python-frame scratch (`maxFrames + 640` words).
    static let localCacheOffset = (maxFrames + maxFrames + 640) * 8

    /// Resets a slot for a new thread.
    static func prepare(_ s: UnsafeMutablePointer<at_slot>, tid: Int32) {
        at_lock(&s.pointee.lock)
        // frame scratch, Python-frame scratch, the thread's stack-cache front (StackTable.intern)
        if s.pointee.frames == nil, let f = at_map(localCacheOffset + StackTable.localBytes) {
            s.pointee.frames = f.assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
        }
        s.pointee.thread_index = at_add32(&G.pointee.thread_counter, 1)
        s.pointee.tid = tid
        s.pointee.announced = 0
        s.pointee.name_dirty = 0
        s.pointee.last_ticks = at_ticks()
        s.pointee.start_ticks = s.pointee.last_ticks
        s.pointee.prev_addr = 0
        s.pointee.prev_stack = 0
        if let b = s.pointee.buffer { b.pointee.used = 0; b.pointee.base_ticks = s.pointee.last_ticks }
        at_unlock(&s.pointee.lock)
    }

    /// A buffer with room for one more event; hands the full one over. Slot lock held.
    @inline(__always)
    static func room(_ s: UnsafeMutablePointer<at_slot>) -> UnsafeMutablePointer<at_buffer>? {
        if let b = s.pointee.buffer, Int(b.pointee.used) + eventMaxBytes <= bufferBytes { return b }
        return refill(s)
    }

    static func refill(_ s: UnsafeMutablePointer<at_slot>) -> UnsafeMutablePointer<at_buffer>? {
        if let full = s.pointee.buffer {
            s.pointee.buffer = nil
            if full.pointee.used > 0 {
                BufferPool.enqueue(full)
                BufferPool.wakeWriter()
            } else {
                BufferPool.give(full)
            }
        }
        guard let b = BufferPool.take() else { return nil }
        start(b, in: s)
        s.pointee.buffer = b
        return b
    }

    /// Begins a buffer: events are delta-encoded against state that restarts with every chunk.
    @inline(__always)
    static func start(_ b: UnsafeMutablePointer<at_buffer>, in s: UnsafeMutablePointer<at_slot>) {
        b.pointee.used = 0
        b.pointee.thread_index = s.pointee.thread_index
        b.pointee.base_ticks = s.pointee.last_ticks
        s.pointee.prev_addr = 0
        s.pointee.prev_stack = 0
    }

    /// The thread is exiting (TLS destructor): its last events go to the writer.
    static func exit(_ t: UnsafeMutablePointer<at_tls>) {
        guard let s = t.pointee.slot else { return }
        at_lock(&s.pointee.lock)
        var ticks = at_ticks()
        if ticks < s.pointee.last_ticks { ticks = s.pointee.last_ticks }
        if let b = room(s) {
            var p = b.pointee.data + Int(b.pointee.used)
            p.pointee = 13   // EventKind.threadExit
            p = Varint.write(ticks &- s.pointee.last_ticks, to: p + 1)
            b.pointee.used = UInt32(p - b.pointee.data)
            s.pointee.last_ticks = ticks
        }
        if let b = s.pointee.buffer {
            s.pointee.buffer = nil
            if b.pointee.used > 0 { BufferPool.enqueue(b) } else { BufferPool.give(b) }
        }
        at_store32(&s.pointee.state, UInt32(AT_SLOT_EXITED))
        at_unlock(&s.pointee.lock)
        t.pointee.slot = nil
        t.pointee.state = UInt32(AT_THREAD_GONE)
        BufferPool.wakeWriter()
    }
}
