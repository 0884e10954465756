// What the replay needs from C that Swift does not offer.
#include <stddef.h>

// A cache prefetch for the replay's table lookups. Swift has no prefetch; a plain load ahead of use
// stalls retirement once the reorder buffer fills behind it (it was ~2/3 of the replay's time on a
// large live heap), a prefetch instruction does not. Inlined into the Swift caller (static inline).
static inline __attribute__((always_inline)) void alloctrace_prefetch(const void *p) {
    __builtin_prefetch(p, 1, 3);
}

// glibc's mremap (declared by <sys/mman.h> only under _GNU_SOURCE, which the Glibc module is not
// built with): grows the replay's big arrays without copying them.
extern void *mremap(void *old_address, size_t old_size, size_t new_size, int flags, ...);

static inline void *alloctrace_mremap_maymove(void *p, size_t old_size, size_t new_size) {
    return mremap(p, old_size, new_size, 1 /* MREMAP_MAYMOVE */);
}
