import CRecorderSupport

/// Event buffers: a free pool and the queue of filled buffers waiting for the writer.
///
/// Both are guarded by spin locks held for a few instructions; they nest inside a thread's slot
/// lock and never the other way round.
enum BufferPool {
    /// Producers wait (outside their slot lock) while more buffers than this wait for the writer.
    static let queueSoftLimit: UInt32 = 48
    static let headerBytes = 64

    /// A buffer from the pool, or a new one; nil when the hard limit is reached.
    static func take() -> UnsafeMutablePointer<at_buffer>? {
        at_lock(&G.pointee.pool_lock)
        if let b = G.pointee.pool {
            G.pointee.pool = b.pointee.next
            at_unlock(&G.pointee.pool_lock)
            b.pointee.next = nil
            b.pointee.used = 0
            return b
        }
        at_unlock(&G.pointee.pool_lock)
        if at_add32(&G.pointee.buffers_made, 1) > UInt32(AT_MAX_BUFFERS) {
            _ = at_add32(&G.pointee.buffers_made, UInt32.max)   // undo: stay at the limit
            return nil
        }
        guard let raw = at_map(headerBytes + bufferBytes) else { return nil }
        let b = raw.assumingMemoryBound(to: at_buffer.self)
        b.pointee.next = nil
        b.pointee.used = 0
        b.pointee.data = (raw + headerBytes).assumingMemoryBound(to: UInt8.self)
        return b
    }

    static func give(_ b: UnsafeMutablePointer<at_buffer>) {
        b.pointee.used = 0
        at_lock(&G.pointee.pool_lock)
        b.pointee.next = G.pointee.pool
        G.pointee.pool = b
        at_unlock(&G.pointee.pool_lock)
    }

    /// Queues a filled buffer for the writer; its sequence number fixes the order it is written in.
    static func enqueue(_ b: UnsafeMutablePointer<at_buffer>) {
        b.pointee.next = nil
        at_lock(&G.pointee.queue_lock)
        G.pointee.seq &+= 1
        b.pointee.seq = G.pointee.seq
        if let tail = G.pointee.queue_tail { tail.pointee.next = b } else { G.pointee.queue_head = b }
        G.pointee.queue_tail = b
        G.pointee.queue_length &+= 1
        at_unlock(&G.pointee.queue_lock)
    }

    /// Takes every queued buffer, oldest first.
    static func takeQueue() -> UnsafeMutablePointer<at_buffer>? {
        at_lock(&G.pointee.queue_lock)
        let head = G.pointee.queue_head
        G.pointee.queue_head = nil
        G.pointee.queue_tail = nil
        G.pointee.queue_length = 0
        at_unlock(&G.pointee.queue_lock)
        return head
    }

    /// Wakes the writer when it sleeps.
    @inline(__always)
    static func wakeWriter() {
        _ = at_add32(&G.pointee.work, 1)
        if at_load32(&G.pointee.writer_sleeping) != 0 { at_futex_wake(&G.pointee.work, 1) }
    }

    /// Called with no lock held: waits while the writer is far behind, so memory stays bounded.
    static func throttle() {
        var rounds = 0
        while at_load32(&G.pointee.queue_length) > queueSoftLimit && at_load32(&G.pointee.writer_started) != 0
                && at_load32(&G.pointee.status) == UInt32(AT_RECORDING) && rounds < 2000 {
            wakeWriter()
            let seen = at_load32(&G.pointee.work)
            at_futex_wait(&G.pointee.work, seen, 1_000_000)
            rounds += 1
        }
    }
}
