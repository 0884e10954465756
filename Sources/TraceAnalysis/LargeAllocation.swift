#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CReplaySupport

/// Zero-filled memory for the replay's big randomly indexed arrays (the live table, the per-site
/// records), sized by capacity: the same capacity must be passed back to free or grow it.
///
/// From 4 MiB on, an array is its own anonymous mapping marked for transparent huge pages: past a few
/// MiB every lookup also missed the TLB (a 16 MiB table is 4,096 small pages; under a hypervisor each
/// walk is a nested one) and a prefetch waits for its translation, which on a trace with 250k live
/// blocks was most of the replay. Fresh mappings are zero, so nothing is written to initialise them
/// (a huge page's first touch costs the kernel a 2 MiB clear, so every extra page touched counts),
/// and growing is `mremap`: no copy, and the old pages are not cleared again in a new place.
/// Smaller arrays are 64-byte aligned heap blocks (the site records are one line each).
enum LargeAllocation {
    static let mappedFrom = 4 << 20

    private static func bytes<T>(_: T.Type, _ capacity: Int) -> Int { max(capacity, 1) * MemoryLayout<T>.stride }

    static func allocateZeroed<T>(_ type: T.Type, capacity: Int) -> UnsafeMutablePointer<T> {
        let size = bytes(type, capacity)
        let raw: UnsafeMutableRawPointer
        if size >= mappedFrom {
            guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                  p != MAP_FAILED else { exhausted(size) }
            _ = madvise(p, size, MADV_HUGEPAGE)
            raw = p
        } else {
            var p: UnsafeMutableRawPointer?
            guard posix_memalign(&p, 64, size) == 0, let p else { exhausted(size) }
            memset(p, 0, size)
            raw = p
        }
        return raw.bindMemory(to: T.self, capacity: max(capacity, 1))
    }

    /// Grows `p` from `old` to `new` elements: the first `old` kept (bitwise), the rest zero.
    static func reallocate<T>(_ p: UnsafeMutablePointer<T>, from old: Int, to new: Int) -> UnsafeMutablePointer<T> {
        let oldSize = bytes(T.self, old), newSize = bytes(T.self, new)
        if oldSize >= mappedFrom {
            guard let q = alloctrace_mremap_maymove(p, oldSize, newSize), q != MAP_FAILED else {
                exhausted(newSize)
            }
            _ = madvise(q, newSize, MADV_HUGEPAGE)
            return q.bindMemory(to: T.self, capacity: max(new, 1))
        }
        let fresh = allocateZeroed(T.self, capacity: new)
        memcpy(fresh, p, oldSize)
        deallocate(p, capacity: old)
        return fresh
    }

    /// Memory for a table could not be had (an address-space limit, a machine too small for the
    /// trace): one line on stderr and exit status 1, as for any other error of the analyzer, never
    /// a trap. Nothing is written by then: outputs are written once the analysis is done.
    static func exhausted(_ size: Int) -> Never {
        let reason = String(cString: strerror(errno))
        let mib = (size + (1 << 20) - 1) >> 20
        let message = "alloctrace: error: out of memory: the analysis needs a table of \(mib) MiB more and the "
            + "system refused it (\(reason)); raise the address-space limit (ulimit -v) or use a larger machine\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
        exit(1)
    }

    static func deallocate<T>(_ p: UnsafeMutablePointer<T>, capacity: Int) {
        let size = bytes(T.self, capacity)
        if size >= mappedFrom { munmap(p, size) } else { free(p) }
    }
}
