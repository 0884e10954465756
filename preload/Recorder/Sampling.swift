import CRecorderSupport

/// realloc in sampled mode (sampler.h): the old block's free is recorded when the old block was
/// sampled, the new block's allocation when the countdown samples its size, so a realloc is a free
/// plus an allocation, each sampled as those are.
enum Sampling {
    @inline(__always)
    static func reallocation(_ kind: UInt8, _ old: UnsafeMutableRawPointer?, size: Int) -> UnsafeMutableRawPointer? {
        // forgotten before the real call may release it: another thread may get the address back
        let oldSampled = old != nil && at_sampled_forget(bits(old)) != 0
        let newSampled = size != 0 && at_sample_take(UInt64(size)) != 0
        if !oldSampled && !newSampled { return at_real_realloc(old, size) }
        guard let t = enter() else {
            let r = at_real_realloc(old, size)
            if r == nil && size != 0 && oldSampled { at_sampled_insert(bits(old)) }
            return r
        }
        let r: UnsafeMutableRawPointer?
        if newSampled {
            // old unsampled: the reader ignores the release of an address it never saw allocated
            r = EventRecording.reallocation(t, kind: kind, old, size: size)
            if r != nil { at_sampled_insert(bits(r)) }
        } else {
            r = EventRecording.freeByReallocation(t, old!, size: size)
        }
        if r == nil && size != 0 && oldSampled { at_sampled_insert(bits(old)) }
        leave(t)
        return r
    }
}
