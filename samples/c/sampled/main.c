/* sample-sampled: known sizes and counts at a steady mark, for sampled recording (issue 16).
 *
 * Usage: sample-sampled          the figures below
 *        sample-sampled huge     asks for sizes no allocator gives (malloc(SIZE_MAX), calloc and
 *                                realloc that overflow, posix_memalign(SIZE_MAX)), frees its one
 *                                64-byte block and prints "huge: every call failed" on stdout
 *
 * Each site is its own function, so each has its own stack:
 *   churn:  400000 x { p = malloc(100); free(p); }              40,000,000 bytes, none live
 *   kept:    50000 x malloc(200), kept                          10,000,000 bytes
 *   grown:   10000 x { p = malloc(48); p = realloc(p, 304); }     480,000 + 3,040,000 bytes
 *                                                               (304 each live: 3,040,000)
 *   large:      10 x malloc(1048576), kept                      10,485,760 bytes
 * then the mark "steady": live = 10,000,000 + 3,040,000 + 10,485,760 = 23,525,760 bytes in
 * 60,010 blocks; then every kept block is freed and main returns 0 (nothing leaked).
 * Totals: 460,010 malloc + 10,000 realloc calls; 64,005,760 bytes allocated (the realloc's new
 * sizes counted as allocations); the top site by bytes allocated is churn (40,000,000).
 * Pointer tables live in static arrays (not part of the measurement).
 * Prints on stderr:
 *   sampled expected: allocations=470010 bytes=64005760 steady_live_bytes=23525760 steady_live_blocks=60010
 */
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

enum { CHURN = 400000, CHURN_SIZE = 100, KEPT = 50000, KEPT_SIZE = 200,
       GROWN = 10000, GROWN_FIRST = 48, GROWN_SIZE = 304, LARGE = 10, LARGE_SIZE = 1048576 };

static void *kept[KEPT];
static void *grown[GROWN];
static void *large[LARGE];
static void *volatile sink;

NOINLINE static int churn(void) {
    for (int i = 0; i < CHURN; i++) {
        void *p = malloc(CHURN_SIZE);
        if (!p) return 0;
        sink = p;
        free(p);
    }
    return 1;
}

NOINLINE static int keep(void) {
    for (int i = 0; i < KEPT; i++) if (!(kept[i] = malloc(KEPT_SIZE))) return 0;
    return 1;
}

NOINLINE static int grow(void) {
    for (int i = 0; i < GROWN; i++) {
        void *p = malloc(GROWN_FIRST);
        if (!p) return 0;
        void *q = realloc(p, GROWN_SIZE);
        if (!q) return 0;
        grown[i] = q;
    }
    return 1;
}

NOINLINE static int keep_large(void) {
    for (int i = 0; i < LARGE; i++) if (!(large[i] = malloc(LARGE_SIZE))) return 0;
    return 1;
}

NOINLINE static int huge(void) {
    size_t max = (size_t)-1;
    void *p = malloc(64);
    if (!p) return 1;
    void *volatile q = malloc(max);
    if (q) return 1;
    q = calloc(max / 2, 4);
    if (q) return 1;
    q = realloc(p, max);           /* fails: p lives on */
    if (q) return 1;
    void *r = NULL;
    if (posix_memalign(&r, 64, max) == 0) return 1;
    free(p);
    static const char line[] = "huge: every call failed\n";
    write(1, line, sizeof line - 1);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "huge") == 0) return huge();
    if (argc != 1) {
        static const char usage[] = "usage: sample-sampled [huge]\n";
        write(2, usage, sizeof usage - 1);
        return 2;
    }
    if (!churn() || !keep() || !grow() || !keep_large()) return 1;
    ALLOCTRACE_MARK("steady");
    for (int i = 0; i < KEPT; i++) free(kept[i]);
    for (int i = 0; i < GROWN; i++) free(grown[i]);
    for (int i = 0; i < LARGE; i++) free(large[i]);
    char line[160];
    int n = snprintf(line, sizeof line,
                     "sampled expected: allocations=%d bytes=%lld steady_live_bytes=%lld steady_live_blocks=%d\n",
                     CHURN + KEPT + 2 * GROWN + LARGE,
                     (long long)CHURN * CHURN_SIZE + (long long)KEPT * KEPT_SIZE
                         + (long long)GROWN * (GROWN_FIRST + GROWN_SIZE) + (long long)LARGE * LARGE_SIZE,
                     (long long)KEPT * KEPT_SIZE + (long long)GROWN * GROWN_SIZE + (long long)LARGE * LARGE_SIZE,
                     KEPT + GROWN + LARGE);
    write(2, line, (size_t)n);
    return 0;
}
