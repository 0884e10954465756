/* bump_allocator.c: a stand-in for jemalloc or tcmalloc, a malloc of its own that a test preloads
 * before the recorder (LD_PRELOAD="libbump.so libAllocTracePreload.so") to check that the recorder
 * says another allocator serves the program. Not a SwiftPM target: the test builds it with
 * `cc -shared -fPIC`. Blocks come from one 256 MiB anonymous mapping and are never reused. */
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

static char *arena;
static size_t used;

static void *grab(size_t n) {
    if (!arena) arena = mmap(NULL, (size_t)1 << 28, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    n = (n + 15) & ~(size_t)15;
    size_t *p = (size_t *)(arena + used);
    used += n + 16;
    p[0] = n;
    return p + 2;
}

void *malloc(size_t n) { return grab(n); }
void free(void *p) { (void)p; }
void *calloc(size_t a, size_t b) { return grab(a * b); }   /* fresh mapping pages are zero */
void *realloc(void *p, size_t n) {
    void *q = grab(n);
    if (p) { size_t old = ((size_t *)p)[-2]; memcpy(q, p, old < n ? old : n); }
    return q;
}
void *memalign(size_t a, size_t n) { char *p = grab(n + a); return (void *)(((size_t)p + a - 1) & ~(a - 1)); }
void *aligned_alloc(size_t a, size_t n) { return memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) { *out = memalign(a, n); return 0; }
size_t malloc_usable_size(void *p) { return ((size_t *)p)[-2]; }
