/* sample-entrypoints: calls every allocation entry point the recorder interposes a known number
 * of times with known sizes, between the marks "start" and "end".
 *
 * Nothing else in this program allocates (no stdio: output is snprintf into a stack buffer + write(2)).
 *
 * Counting rules (the same as docs/FORMAT.md):
 *   - every call that returns a block, and realloc(p, 0), is one recorded allocation-call event;
 *   - realloc/reallocarray of a non-NULL block to a non-zero size frees the old block (its bytes
 *     leave the live heap) and allocates the new size, whether or not the address changes;
 *   - realloc(NULL, n) / reallocarray(NULL, a, b) only allocates;
 *   - realloc(p, 0) frees p and returns NULL (glibc): one realloc event, one block freed, none made;
 *   - free(NULL) is called once and is NOT recorded;
 *   - sizes are the requested sizes (calloc/reallocarray: nmemb * size).
 *
 * The measured part, in order (live = requested bytes of live blocks after the step):
 *   malloc        x10  sizes 16,32,48,...,160                      (880 B)      live  880
 *   calloc        x3   (2,8)=16 (3,16)=48 (4,32)=128               (192 B)      live 1072
 *   realloc       x4   realloc(NULL,100)                                        live 1172
 *                      realloc(r,200)  grows: frees 100, allocates 200          live 1272
 *                      realloc(r,400)  grows: frees 200, allocates 400          live 1472
 *                      realloc(m[9],0) frees the 160-byte malloc block          live 1312
 *   reallocarray  x2   reallocarray(NULL,5,24)=120                              live 1432
 *                      reallocarray(ra,10,24)=240 grows: frees 120              live 1552
 *   posix_memalign x2  align 64:  64, 256                                       live 1872
 *   aligned_alloc  x2  align 128: 128, 384                                      live 2384
 *   memalign       x2  align 32:  96, 200                                       live 2680
 *   valloc         x1  1000                                                     live 3680
 *   pvalloc        x1  4096 (a whole page, so requested == rounded size)        live 7776  <- peak
 *   free(NULL)     x1  (not recorded)
 *   free           x15 pvalloc 4096, valloc 1000, malloc 16,32,48,64,80, calloc 16,48,128,
 *                      realloc'd 400, reallocarray'd 240, posix_memalign 64, aligned_alloc 128,
 *                      memalign 96                                              live 1320
 *
 * Expected figures (the measured part; also the whole process, which allocates nothing else):
 *   calls:   malloc=10 calloc=3 realloc=4 reallocarray=2 posix_memalign=2 aligned_alloc=2
 *            memalign=2 valloc=1 pvalloc=1  (27 allocation-call events)  free=15 (+1 free(NULL))
 *   blocks allocated=26 (realloc(p,0) makes none), bytes allocated=8356
 *   blocks freed=19 (15 free + 3 growing reallocs + 1 realloc(p,0)), bytes freed=7036
 *   leaked_blocks=7 leaked_bytes=1320: malloc 96,112,128,144; posix_memalign 256;
 *            aligned_alloc 384; memalign 200
 *   peak live requested bytes=7776 (right after pvalloc)
 *
 * At exit it prints on stderr:
 *   entrypoints expected: malloc=10 calloc=3 realloc=4 reallocarray=2 posix_memalign=2
 *   aligned_alloc=2 memalign=2 valloc=1 pvalloc=1 frees=15 free_null=1 alloc_calls=27
 *   blocks_allocated=26 bytes_allocated=8356 leaked_blocks=7 leaked_bytes=1320 peak_bytes=7776
 * (one line). The program also keeps its own ledger of what it did and exits 1 if the ledger
 * disagrees with these constants or any allocation fails.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloctrace.h"

#if defined(__clang__)
#define NOINLINE __attribute__((noinline, disable_tail_calls))
#else
#define NOINLINE __attribute__((noinline, noipa))
#endif

/* The ground truth, as constants. */
enum {
    EXP_MALLOC = 10, EXP_CALLOC = 3, EXP_REALLOC = 4, EXP_REALLOCARRAY = 2, EXP_POSIX_MEMALIGN = 2,
    EXP_ALIGNED_ALLOC = 2, EXP_MEMALIGN = 2, EXP_VALLOC = 1, EXP_PVALLOC = 1,
    EXP_FREES = 15, EXP_FREE_NULL = 1, EXP_ALLOC_CALLS = 27, EXP_BLOCKS_ALLOCATED = 26,
    EXP_BYTES_ALLOCATED = 8356, EXP_LEAKED_BLOCKS = 7, EXP_LEAKED_BYTES = 1320, EXP_PEAK_BYTES = 7776,
};

/* Every pointer is stored here so that no allocation can be optimised away. */
static void *volatile keep[64];

/* The program's own ledger. */
static long n_malloc, n_calloc, n_realloc, n_reallocarray, n_posix_memalign, n_aligned_alloc,
    n_memalign, n_valloc, n_pvalloc, n_free, n_free_null, blocks_allocated, bytes_allocated;
static long live_blocks, live_bytes, peak_bytes;
static int failed;

static void got(void *p, size_t size) {
    if (!p) { failed = 1; return; }
    blocks_allocated++; bytes_allocated += (long)size;
    live_blocks++; live_bytes += (long)size;
    if (live_bytes > peak_bytes) peak_bytes = live_bytes;
}
static void gone(size_t size) { live_blocks--; live_bytes -= (long)size; }

NOINLINE static void *do_malloc(size_t n) { void *p = malloc(n); n_malloc++; got(p, n); return p; }
NOINLINE static void *do_calloc(size_t a, size_t b) { void *p = calloc(a, b); n_calloc++; got(p, a * b); return p; }
NOINLINE static void *do_realloc(void *old, size_t old_size, size_t n) {
    void *p = realloc(old, n);
    n_realloc++;
    if (old) gone(old_size);
    if (n != 0) got(p, n); else if (p) failed = 1; /* glibc frees and returns NULL for realloc(p, 0) */
    return p;
}
NOINLINE static void *do_reallocarray(void *old, size_t old_size, size_t a, size_t b) {
    void *p = reallocarray(old, a, b);
    n_reallocarray++;
    if (old) gone(old_size);
    got(p, a * b);
    return p;
}
NOINLINE static void *do_posix_memalign(size_t align, size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, align, n) != 0) p = NULL;
    n_posix_memalign++; got(p, n);
    if (p && ((uintptr_t)p % align)) failed = 1;
    return p;
}
NOINLINE static void *do_aligned_alloc(size_t align, size_t n) {
    void *p = aligned_alloc(align, n); n_aligned_alloc++; got(p, n);
    if (p && ((uintptr_t)p % align)) failed = 1;
    return p;
}
NOINLINE static void *do_memalign(size_t align, size_t n) {
    void *p = memalign(align, n); n_memalign++; got(p, n);
    if (p && ((uintptr_t)p % align)) failed = 1;
    return p;
}
NOINLINE static void *do_valloc(size_t n) { void *p = valloc(n); n_valloc++; got(p, n); return p; }
NOINLINE static void *do_pvalloc(size_t n) { void *p = pvalloc(n); n_pvalloc++; got(p, n); return p; }
NOINLINE static void do_free(void *p, size_t size) {
    free(p);
    if (p) { n_free++; gone(size); } else n_free_null++;
}

NOINLINE static void measured(void) {
    void *m[10];
    for (int i = 0; i < 10; i++) keep[i] = m[i] = do_malloc(16 * (size_t)(i + 1));

    void *c0 = do_calloc(2, 8), *c1 = do_calloc(3, 16), *c2 = do_calloc(4, 32);
    keep[10] = c0; keep[11] = c1; keep[12] = c2;

    void *r = do_realloc(NULL, 0, 100);
    keep[13] = r = do_realloc(r, 100, 200);
    keep[13] = r = do_realloc(r, 200, 400);
    keep[9] = do_realloc(m[9], 160, 0); /* frees m[9]; returns NULL */
    m[9] = NULL;

    void *ra = do_reallocarray(NULL, 0, 5, 24);
    keep[14] = ra = do_reallocarray(ra, 120, 10, 24);

    void *pm0 = do_posix_memalign(64, 64), *pm1 = do_posix_memalign(64, 256);
    void *aa0 = do_aligned_alloc(128, 128), *aa1 = do_aligned_alloc(128, 384);
    void *ma0 = do_memalign(32, 96), *ma1 = do_memalign(32, 200);
    void *v = do_valloc(1000);
    void *pv = do_pvalloc(4096);
    keep[15] = pm0; keep[16] = pm1; keep[17] = aa0; keep[18] = aa1; keep[19] = ma0; keep[20] = ma1;
    keep[21] = v; keep[22] = pv;

    do_free(NULL, 0);
    do_free(pv, 4096);
    do_free(v, 1000);
    for (int i = 0; i < 5; i++) do_free(m[i], 16 * (size_t)(i + 1));
    do_free(c0, 16); do_free(c1, 48); do_free(c2, 128);
    do_free(r, 400);
    do_free(ra, 240);
    do_free(pm0, 64);
    do_free(aa0, 128);
    do_free(ma0, 96);
    /* Leaked on purpose: m[5..8] (96,112,128,144), pm1 (256), aa1 (384), ma1 (200). */
}

int main(void) {
    ALLOCTRACE_MARK("start");
    measured();
    ALLOCTRACE_MARK("end");

    long alloc_calls = n_malloc + n_calloc + n_realloc + n_reallocarray + n_posix_memalign +
                       n_aligned_alloc + n_memalign + n_valloc + n_pvalloc;
    char buf[512];
    int len = snprintf(buf, sizeof buf,
        "entrypoints expected: malloc=%d calloc=%d realloc=%d reallocarray=%d posix_memalign=%d "
        "aligned_alloc=%d memalign=%d valloc=%d pvalloc=%d frees=%d free_null=%d alloc_calls=%d "
        "blocks_allocated=%d bytes_allocated=%d leaked_blocks=%d leaked_bytes=%d peak_bytes=%d\n",
        EXP_MALLOC, EXP_CALLOC, EXP_REALLOC, EXP_REALLOCARRAY, EXP_POSIX_MEMALIGN, EXP_ALIGNED_ALLOC,
        EXP_MEMALIGN, EXP_VALLOC, EXP_PVALLOC, EXP_FREES, EXP_FREE_NULL, EXP_ALLOC_CALLS,
        EXP_BLOCKS_ALLOCATED, EXP_BYTES_ALLOCATED, EXP_LEAKED_BLOCKS, EXP_LEAKED_BYTES, EXP_PEAK_BYTES);
    (void)!write(2, buf, (size_t)len);

    int ok = !failed && n_malloc == EXP_MALLOC && n_calloc == EXP_CALLOC && n_realloc == EXP_REALLOC &&
        n_reallocarray == EXP_REALLOCARRAY && n_posix_memalign == EXP_POSIX_MEMALIGN &&
        n_aligned_alloc == EXP_ALIGNED_ALLOC && n_memalign == EXP_MEMALIGN && n_valloc == EXP_VALLOC &&
        n_pvalloc == EXP_PVALLOC && n_free == EXP_FREES && n_free_null == EXP_FREE_NULL &&
        alloc_calls == EXP_ALLOC_CALLS && blocks_allocated == EXP_BLOCKS_ALLOCATED &&
        bytes_allocated == EXP_BYTES_ALLOCATED && live_blocks == EXP_LEAKED_BLOCKS &&
        live_bytes == EXP_LEAKED_BYTES && peak_bytes == EXP_PEAK_BYTES;
    if (!ok) {
        len = snprintf(buf, sizeof buf,
            "entrypoints: LEDGER MISMATCH failed=%d alloc_calls=%ld frees=%ld blocks_allocated=%ld "
            "bytes_allocated=%ld leaked_blocks=%ld leaked_bytes=%ld peak_bytes=%ld\n",
            failed, alloc_calls, n_free, blocks_allocated, bytes_allocated, live_blocks, live_bytes, peak_bytes);
        (void)!write(2, buf, (size_t)len);
        return 1;
    }
    return 0;
}
