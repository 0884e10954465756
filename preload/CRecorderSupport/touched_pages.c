/* Which pages of the process were ever touched, for the heap-graph scan (issue 14): a page that
 * is neither present nor swapped out (/proc/self/pagemap bits 63 and 62) was never written, or
 * was given back (MADV_DONTNEED), and reads as zeros: it holds no pointer, and reading it only
 * costs time (java -version's exit snapshot read 496 MB of a reserved, untouched Java heap).
 * Plain system calls on a descriptor opened for one capture: nothing here locks or allocates. */
#define _GNU_SOURCE
#include "recorder_support.h"

#include <fcntl.h>
#include <unistd.h>

enum { AT_PAGE = 4096, AT_PAGEMAP_BATCH = 512 };
static int at_pagemap_fd = -1;
static uint64_t at_pagemap_entries[AT_PAGEMAP_BATCH];

void at_touched_begin(void) {
    if (at_pagemap_fd < 0) at_pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
}

void at_touched_end(void) {
    if (at_pagemap_fd >= 0) close(at_pagemap_fd);
    at_pagemap_fd = -1;
}

/* The first touched page's start (at least lo) in [lo, hi), and in *end the end of the last
 * touched page (at most hi) of the pages looked at (up to AT_PAGEMAP_BATCH of them); hi when none
 * is touched. Without pagemap every page counts as touched. */
uint64_t at_touched_span(uint64_t lo, uint64_t hi, uint64_t *end) {
    *end = hi;
    if (at_pagemap_fd < 0 || lo >= hi) return lo;
    uint64_t first_page = lo / AT_PAGE, last_page = (hi - 1) / AT_PAGE;
    uint64_t n = last_page - first_page + 1;
    if (n > AT_PAGEMAP_BATCH) n = AT_PAGEMAP_BATCH;
    ssize_t got = pread(at_pagemap_fd, at_pagemap_entries, n * 8, (off_t)(first_page * 8));
    if (got < 8) return lo;                       /* unreadable: read the memory itself */
    uint64_t have = (uint64_t)got / 8;
    uint64_t first = UINT64_MAX, last = 0;
    for (uint64_t i = 0; i < have; i++) {
        if ((at_pagemap_entries[i] & (3ull << 62)) == 0) continue;
        if (first == UINT64_MAX) first = i;
        last = i;
    }
    uint64_t looked_end = (first_page + have) * AT_PAGE;
    if (looked_end > hi) looked_end = hi;
    if (first == UINT64_MAX) { *end = looked_end; return looked_end; }
    uint64_t start = (first_page + first) * AT_PAGE;
    uint64_t stop = (first_page + last + 1) * AT_PAGE;
    *end = stop < hi ? stop : hi;
    return start > lo ? start : lo;
}
