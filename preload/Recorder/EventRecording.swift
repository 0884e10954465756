import CRecorderSupport
import TraceFormat

/// Encodes one event into the calling thread's buffer (see docs/FORMAT.md, "Events").
///
/// Every function here runs inside the target's malloc: no allocation, no runtime call, no lock
/// but the thread's own slot lock (taken before the ticks are read, which is what lets the writer's
/// sync watermark promise that no earlier event is still on its way).
enum EventRecording {
    /// Captures and interns the caller's stack. Guard held, slot lock not held.
    @inline(__always)
    static func stack(_ s: UnsafeMutablePointer<at_slot>) -> UInt64 {
        let mode = G.pointee.unwind_mode
        if mode == 0 { return 0 }
        guard let frames = s.pointee.frames else { return 0 }
        // the orphan slot is shared by threads past their TLS destructor: no private cache there
        let local = s == G.pointee.orphan ? nil
            : (UnsafeMutableRawPointer(frames) + ThreadSlots.localCacheOffset).assumingMemoryBound(to: UInt64.self)
        // a Python program: its Python frames first, so that the cache set they choose loads
        // while the native stack is walked
        var c: Int32 = 0
        var pyhash: UInt64 = 0
        var set: UnsafeMutablePointer<UInt64>? = nil
        let py = UnsafeMutableRawPointer(frames + maxFrames).assumingMemoryBound(to: UInt64.self)
        if PY.pointee.frames != 0 {
            c = at_python_walk(py, &pyhash)
            if c > 0, let local {
                set = StackTable.pythonSet(pyhash, local)
                at_prefetch(set)
            }
        }
        let depth = Int32(G.pointee.max_depth)
        var n: Int32
        var hash: UInt64 = 0
        if mode == 3 {
            // the auto walk hashes the frames as it finds them
            n = at_capture_auto_hashed(frames, depth, &hash)
        } else {
            n = mode == 1 ? at_capture_libunwind(frames, depth + 8) : at_capture_frame_pointers(frames, depth + 8)
            if n > depth { n = depth }
            hash = at_stack_hash(frames, n)
        }
        if c > 0 {
            // the Python frames go where the eval loop ran them; merged only when the thread's
            // cache does not know the stack already
            let m = min(c, Int32(maxFrames) - n)
            hash = at_python_key(hash, pyhash, m)
            var hot: UnsafeMutablePointer<UInt64>? = nil
            if let set, let local {
                let h = StackTable.hotSet(hash, local)
                if h[0] == hash { return h[1] }
                if h[2] == hash { return h[3] }
                hot = h
                if let id = StackTable.cachedIn(set, hash) { StackTable.rememberHot(h, hash, id); return id }
            }
            StackTable.prefetchShared(hash)
            n = at_python_insert(frames, n, py, m)
            if n == 0 { return 0 }
            let id = StackTable.shared(frames, Int(n), hash)
            if let set, let hot, id != 0 { StackTable.remember(set, hash, id); StackTable.rememberHot(hot, hash, id) }
            return id
        }
        return StackTable.intern(frames, Int(n), hash: hash, local: local)
    }

    /// The Python frame of a free (the line that let the object go), interned; 0 outside Python code.
    @inline(__always)
    static func pythonStack(_ s: UnsafeMutablePointer<at_slot>) -> UInt64 {
        guard let frames = s.pointee.frames else { return 0 }
        var hash: UInt64 = 0
        var id: UInt64 = 0
        if at_python_stack(frames, &hash, &id) != 1 { return id }   // none (0), or the last free's
        let local = s == G.pointee.orphan ? nil
            : (UnsafeMutableRawPointer(frames) + ThreadSlots.localCacheOffset).assumingMemoryBound(to: UInt64.self)
        id = StackTable.intern(frames, 1, hash: hash, local: local)
        at_python_stack_interned(id)
        return id
    }

    @inline(__always)
    static func lockedTicks(_ s: UnsafeMutablePointer<at_slot>) -> UInt64 {
        at_lock(&s.pointee.lock)
        let t = at_ticks()
        return t > s.pointee.last_ticks ? t : s.pointee.last_ticks
    }

    @inline(__always)
    static func finish(_ s: UnsafeMutablePointer<at_slot>, _ b: UnsafeMutablePointer<at_buffer>,
                       _ p: UnsafeMutablePointer<UInt8>, ticks: UInt64) {
        b.pointee.used = UInt32(truncatingIfNeeded: p - b.pointee.data)
        s.pointee.last_ticks = ticks
        at_unlock(&s.pointee.lock)
    }

    @inline(__always)
    static func dropped(_ s: UnsafeMutablePointer<at_slot>) {
        at_unlock(&s.pointee.lock)
        _ = at_add64(&G.pointee.events_dropped, 1)
    }

    /// malloc, calloc, memalign family: `kind` is an EventKind raw value; `type` a Swift type id or 0.
    @inline(__always)
    static func allocation(_ t: UnsafeMutablePointer<at_tls>, kind: UInt8, address: UInt64, size: UInt64,
                           alignment: UInt64) {
        guard let s = ThreadSlots.current(t) else { return }
        if at_sampling() != 0 { at_sampled_insert(address) }
        var type: UInt64 = 0
        if let meta = t.pointee.pending_type {
            t.pointee.pending_type = nil
            type = TypeTable.id(for: UInt64(UInt(bitPattern: meta)))
        }
        let stack = stack(s)
        let ticks = lockedTicks(s)
        guard let b = ThreadSlots.room(s) else { return dropped(s) }
        var p = b.pointee.data + Int(b.pointee.used)
        p.pointee = type != 0 ? kind | EventKind.typedFlag : kind
        p = Varint.write(ticks &- s.pointee.last_ticks, to: p + 1)
        p = AddressDelta.write(address, against: s.pointee.prev_addr, to: p)
        p = Varint.write(size, to: p)
        p = Varint.writeSigned(Int64(bitPattern: stack &- s.pointee.prev_stack), to: p)
        if kind >= EventKind.memalign.rawValue && kind <= EventKind.alignedAlloc.rawValue {
            p = Varint.write(alignment, to: p)
        }
        if type != 0 { p = Varint.write(type, to: p) }
        s.pointee.prev_addr = address
        s.pointee.prev_stack = stack
        finish(s, b, p, ticks: ticks)
    }

    /// Records the free and releases the block while the slot lock is held: a heap-graph capture
    /// holds every slot lock, so no block it is scanning can be released under it.
    @inline(__always)
    static func free(_ t: UnsafeMutablePointer<at_tls>, _ pointer: UnsafeMutableRawPointer) {
        guard let s = ThreadSlots.current(t) else { return at_real_free(pointer) }
        let address = UInt64(UInt(bitPattern: pointer))
        let stack = PY.pointee.frames != 0 ? pythonStack(s) : 0
        let ticks = lockedTicks(s)
        guard let b = ThreadSlots.room(s) else {
            at_real_free(pointer)
            return dropped(s)
        }
        var p = b.pointee.data + Int(b.pointee.used)
        p.pointee = stack != 0 ? EventKind.free.rawValue | EventKind.freeStackFlag : EventKind.free.rawValue
        p = Varint.write(ticks &- s.pointee.last_ticks, to: p + 1)
        p = AddressDelta.write(address, against: s.pointee.prev_addr, to: p)
        if stack != 0 {
            p = Varint.writeSigned(Int64(bitPattern: stack &- s.pointee.prev_stack), to: p)
            s.pointee.prev_stack = stack
        }
        s.pointee.prev_addr = address
        at_real_free(pointer)
        finish(s, b, p, ticks: ticks)
    }

    /// realloc and reallocarray: the real call runs under the slot lock (it may release the old block).
    /// Sampled mode records only the sampled side: `recordOld` false writes old 0 (an allocation),
    /// `recordNew` false new 0 (the old block's release; the size stays, which tells it from realloc(p, 0)).
    @inline(__always)
    static func reallocation(_ t: UnsafeMutablePointer<at_tls>, kind: UInt8, _ old: UnsafeMutableRawPointer?,
                             size: Int, recordOld: Bool = true, recordNew: Bool = true) -> UnsafeMutableRawPointer? {
        guard let s = ThreadSlots.current(t) else { return at_real_realloc(old, size) }
        let stack = size != 0 && recordNew ? stack(s) : 0
        at_lock(&s.pointee.lock)
        let result = at_real_realloc(old, size)
        // a NULL for a non-zero size changed nothing; realloc(p, 0) freed p
        if result == nil && !(old != nil && size == 0) {
            at_unlock(&s.pointee.lock)
            return nil
        }
        let now = at_ticks()
        let ticks = now > s.pointee.last_ticks ? now : s.pointee.last_ticks
        guard let b = ThreadSlots.room(s) else { dropped(s); return result }
        let oldAddress = recordOld ? UInt64(UInt(bitPattern: old)) : 0
        let newAddress = recordNew ? UInt64(UInt(bitPattern: result)) : 0
        var p = b.pointee.data + Int(b.pointee.used)
        p.pointee = kind
        p = Varint.write(ticks &- s.pointee.last_ticks, to: p + 1)
        p = AddressDelta.write(oldAddress, against: s.pointee.prev_addr, to: p)
        p = AddressDelta.write(newAddress, against: oldAddress, to: p)
        p = Varint.write(UInt64(size), to: p)
        let recordedStack = newAddress != 0 ? stack : 0
        p = Varint.writeSigned(Int64(bitPattern: recordedStack &- s.pointee.prev_stack), to: p)
        s.pointee.prev_addr = newAddress != 0 ? newAddress : oldAddress
        s.pointee.prev_stack = recordedStack
        finish(s, b, p, ticks: ticks)
        return result
    }

    static func mark(_ t: UnsafeMutablePointer<at_tls>, label: UnsafePointer<CChar>?) {
        guard let s = ThreadSlots.current(t) else { return }
        var length = 0
        if let label { while length < 255 && label[length] != 0 { length += 1 } }
        let ticks = lockedTicks(s)
        guard let b = ThreadSlots.room(s) else { return dropped(s) }
        var p = b.pointee.data + Int(b.pointee.used)
        p.pointee = EventKind.mark.rawValue
        p = Varint.write(ticks &- s.pointee.last_ticks, to: p + 1)
        p = Varint.write(UInt64(length), to: p)
        if let label, length > 0 {
            UnsafeMutableRawPointer(p).copyMemory(from: label, byteCount: length)
            p += length
        }
        finish(s, b, p, ticks: ticks)
    }
}
