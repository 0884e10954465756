#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Memory for the replay's big randomly indexed arrays (the live table, the per-site records).
///
/// Past a few MiB every lookup in them also misses the TLB (a 16 MiB table is 4,096 small pages;
/// under a hypervisor each walk is a nested one), and a prefetch waits for its translation: on a
/// trace with 250k live blocks that stall was most of the replay. Such arrays are placed on
/// 2 MiB boundaries and marked for transparent huge pages (`madvise` mode is the common default).
/// Always released with `free` (posix_memalign or malloc memory either way).
enum LargeAllocation {
    static let hugePage = 2 << 20

    static func allocate<T>(_ type: T.Type, capacity: Int) -> UnsafeMutablePointer<T> {
        let bytes = max(capacity, 1) * MemoryLayout<T>.stride
        var raw: UnsafeMutableRawPointer?
        if bytes >= 2 * hugePage {
            let rounded = (bytes + hugePage - 1) & ~(hugePage - 1)
            if posix_memalign(&raw, hugePage, rounded) == 0, let raw {
                _ = madvise(raw, rounded, MADV_HUGEPAGE)
            }
        }
        // Cache-line aligned at least: the site records are one line each.
        if raw == nil, posix_memalign(&raw, 64, bytes) != 0 { raw = nil }
        guard let raw else { fatalError("out of memory (\(bytes) bytes)") }
        return raw.bindMemory(to: T.self, capacity: max(capacity, 1))
    }

    static func deallocate<T>(_ p: UnsafeMutablePointer<T>) { free(p) }
}
