import CRecorderSupport
import Glibc
import TraceFormat

// The malloc family as the target calls it (through the C trampolines in CRecorderSupport).
// Each hook has one shape: check the guard, call the real allocator, record, release the guard.
// An allocation is recorded after the real call returns and a free before it releases the block,
// so a reused address always has a later timestamp than the free that gave it back.
// In sampled mode (sampler.h) an allocation the countdown passes over, and the free of a block that
// was not sampled, go straight to glibc before the guard: no stack, no lock, no event. malloc, free
// and calloc decide in their C trampolines (what reaches these hooks was sampled), the rest here.

/// Returns this thread's state when the call should be recorded, and sets the guard.
@inline(__always)
func enter() -> UnsafeMutablePointer<at_tls>? {
    let t = T
    if t.pointee.depth != 0 || G.pointee.status != UInt32(AT_RECORDING) { return nil }
    if t.pointee.state == UInt32(AT_THREAD_INTERNAL) { return nil }
    t.pointee.depth = 1
    if G.pointee.child_pending != 0 { Lifecycle.startChild() }
    return t
}

@inline(__always)
func leave(_ t: UnsafeMutablePointer<at_tls>) {
    t.pointee.depth = 0
    if at_load32(&G.pointee.queue_length) > BufferPool.queueSoftLimit { BufferPool.throttle() }
}

@inline(__always)
func bits(_ p: UnsafeMutableRawPointer?) -> UInt64 { UInt64(UInt(bitPattern: p)) }

/// A size_t argument (passed as Int) as the unsigned count it is: malloc(SIZE_MAX) must not trap.
@inline(__always)
func requested(_ n: Int) -> UInt64 { UInt64(UInt(bitPattern: n)) }

@_cdecl("alloctrace_hook_malloc")
public func hookMalloc(_ n: Int) -> UnsafeMutableRawPointer? {
    guard let t = enter() else { return at_real_malloc(n) }
    let p = at_real_malloc(n)
    if p != nil { EventRecording.allocation(t, kind: EventKind.malloc.rawValue, address: bits(p), size: UInt64(n), alignment: 0) }
    leave(t)
    return p
}

@_cdecl("alloctrace_hook_free")
public func hookFree(_ p: UnsafeMutableRawPointer?) {
    guard let p else { return }
    guard let t = enter() else { return at_real_free(p) }
    if PY.pointee.frames != 0 && at_python_finalizing() != 0 { Lifecycle.pythonShutdownBegan() }
    EventRecording.free(t, p)
    leave(t)
}

@_cdecl("alloctrace_hook_calloc")
public func hookCalloc(_ n: Int, _ size: Int) -> UnsafeMutableRawPointer? {
    guard let t = enter() else { return at_real_calloc(n, size) }
    let p = at_real_calloc(n, size)
    if p != nil {
        EventRecording.allocation(t, kind: EventKind.calloc.rawValue, address: bits(p), size: UInt64(n) &* UInt64(size), alignment: 0)
    }
    leave(t)
    return p
}

@_cdecl("alloctrace_hook_realloc")
public func hookRealloc(_ old: UnsafeMutableRawPointer?, _ n: Int) -> UnsafeMutableRawPointer? {
    if at_sampling() != 0 { return Sampling.reallocation(EventKind.realloc.rawValue, old, size: n) }
    guard let t = enter() else { return at_real_realloc(old, n) }
    let p = EventRecording.reallocation(t, kind: EventKind.realloc.rawValue, old, size: n)
    leave(t)
    return p
}

@_cdecl("alloctrace_hook_reallocarray")
public func hookReallocarray(_ old: UnsafeMutableRawPointer?, _ n: Int, _ size: Int) -> UnsafeMutableRawPointer? {
    let (total, overflow) = n.multipliedReportingOverflow(by: size)
    if overflow {
        errno = 12 // ENOMEM, as glibc's reallocarray
        return nil
    }
    if at_sampling() != 0 { return Sampling.reallocation(EventKind.reallocarray.rawValue, old, size: total) }
    guard let t = enter() else { return at_real_realloc(old, total) }
    let p = EventRecording.reallocation(t, kind: EventKind.reallocarray.rawValue, old, size: total)
    leave(t)
    return p
}

@inline(__always)
func alignedHook(_ kind: EventKind, _ alignment: Int, _ n: Int,
                 _ real: () -> UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    if at_sampling() != 0 && at_sample_take(requested(n)) == 0 { return real() }
    guard let t = enter() else { return real() }
    let p = real()
    if p != nil { EventRecording.allocation(t, kind: kind.rawValue, address: bits(p), size: UInt64(n), alignment: UInt64(alignment)) }
    leave(t)
    return p
}

@_cdecl("alloctrace_hook_posix_memalign")
public func hookPosixMemalign(_ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ alignment: Int, _ n: Int) -> Int32 {
    // glibc's rules: a power of two that is a multiple of sizeof(void *)
    if alignment % 8 != 0 || alignment == 0 || (alignment & (alignment - 1)) != 0 { return 22 /* EINVAL */ }
    let p = alignedHook(.posixMemalign, alignment, n) { at_real_memalign(alignment, n) }
    guard let p else { return 12 /* ENOMEM */ }
    out?.pointee = p
    return 0
}

@_cdecl("alloctrace_hook_aligned_alloc")
public func hookAlignedAlloc(_ alignment: Int, _ n: Int) -> UnsafeMutableRawPointer? {
    alignedHook(.alignedAlloc, alignment, n) { at_real_memalign(alignment, n) }
}

@_cdecl("alloctrace_hook_memalign")
public func hookMemalign(_ alignment: Int, _ n: Int) -> UnsafeMutableRawPointer? {
    alignedHook(.memalign, alignment, n) { at_real_memalign(alignment, n) }
}

@_cdecl("alloctrace_hook_valloc")
public func hookValloc(_ n: Int) -> UnsafeMutableRawPointer? {
    if at_sampling() != 0 && at_sample_take(requested(n)) == 0 { return at_real_valloc(n) }
    guard let t = enter() else { return at_real_valloc(n) }
    let p = at_real_valloc(n)
    if p != nil { EventRecording.allocation(t, kind: EventKind.valloc.rawValue, address: bits(p), size: UInt64(n), alignment: 0) }
    leave(t)
    return p
}

@_cdecl("alloctrace_hook_pvalloc")
public func hookPvalloc(_ n: Int) -> UnsafeMutableRawPointer? {
    if at_sampling() != 0 && at_sample_take(requested(n)) == 0 { return at_real_pvalloc(n) }
    guard let t = enter() else { return at_real_pvalloc(n) }
    let p = at_real_pvalloc(n)
    if p != nil { EventRecording.allocation(t, kind: EventKind.pvalloc.rawValue, address: bits(p), size: UInt64(n), alignment: 0) }
    leave(t)
    return p
}

/// Every Swift object: remember its metadata so that the malloc inside names its type.
@_cdecl("alloctrace_hook_swift_alloc_object")
public func hookSwiftAllocObject(_ metadata: UnsafeRawPointer?, _ size: Int, _ alignMask: Int,
                                 _ original: (@convention(c) (UnsafeRawPointer?, Int, Int) -> UnsafeMutableRawPointer?)?) -> UnsafeMutableRawPointer? {
    let t = T
    let outer = t.pointee.pending_type
    t.pointee.pending_type = metadata
    let object = original!(metadata, size, alignMask)
    t.pointee.pending_type = outer
    return object
}

@_cdecl("alloctrace_mark")
public func alloctraceMark(_ label: UnsafePointer<CChar>?) {
    guard let t = enter() else { return }
    EventRecording.mark(t, label: label)
    if G.pointee.heap_graph & 1 != 0 { HeapCapture.capture(.mark, writerLockHeld: false) }
    leave(t)
}
