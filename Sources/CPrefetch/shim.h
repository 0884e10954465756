// A cache prefetch for the replay's table lookups. Swift has no prefetch; a plain load ahead of use
// stalls retirement once the reorder buffer fills behind it (it was ~2/3 of the replay's time on a
// large live heap), a prefetch instruction does not. Inlined into the Swift caller (static inline).
static inline __attribute__((always_inline)) void alloctrace_prefetch(const void *p) {
    __builtin_prefetch(p, 1, 3);
}
