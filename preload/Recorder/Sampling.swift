import CRecorderSupport

/// realloc in sampled mode (sampler.h): a free of the old block when it was sampled plus an
/// allocation of the new one when the countdown samples its size, each recorded only when sampled
/// (one realloc event with the unsampled side 0).
enum Sampling {
    @inline(__always)
    static func reallocation(_ kind: UInt8, _ old: UnsafeMutableRawPointer?, size: Int) -> UnsafeMutableRawPointer? {
        // forgotten before the real call may release it: another thread may get the address back
        let oldSampled = old != nil && at_sampled_forget(bits(old)) != 0
        let newSampled = size != 0 && at_sample_take(requested(size)) != 0
        if !oldSampled && !newSampled { return at_real_realloc(old, size) }
        let r: UnsafeMutableRawPointer?
        if let t = enter() {
            r = EventRecording.reallocation(t, kind: kind, old, size: size, recordOld: oldSampled, recordNew: newSampled)
            if r != nil && newSampled { at_sampled_insert(bits(r)) }
            leave(t)
        } else {
            r = at_real_realloc(old, size)
        }
        // a failed realloc (NULL for a non-zero size) left the old block as it was
        if r == nil && size != 0 && oldSampled { at_sampled_insert(bits(old)) }
        return r
    }
}
