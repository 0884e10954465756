/* The recorder's global and thread-local state, spin locks, clock, futex and the real allocator. */
#define _GNU_SOURCE
#include "recorder_support.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

at_globals at_g;
__thread at_tls at_tls_state __attribute__((tls_model("initial-exec")));

/* glibc's allocator under its internal names: calling these never re-enters our own exports. */
extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

void *at_real_malloc(size_t n) { return __libc_malloc(n); }
void at_real_free(void *p) { __libc_free(p); }
void *at_real_calloc(size_t n, size_t s) { return __libc_calloc(n, s); }
void *at_real_realloc(void *p, size_t n) { return __libc_realloc(p, n); }
void *at_real_memalign(size_t a, size_t n) { return __libc_memalign(a, n); }
void *at_real_valloc(size_t n) { return __libc_valloc(n); }
void *at_real_pvalloc(size_t n) { return __libc_pvalloc(n); }

void *at_map(size_t bytes) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) { at_note_map_failure(bytes, errno); return NULL; }
    at_note_own_mapping(p, bytes);
    return p;
}

void at_unmap(void *p, size_t bytes) { munmap(p, bytes); }

void *at_map_huge_aligned(size_t bytes) {
    /* 2 MiB-aligned, so that transparent huge pages can back it whole when asked (at_advise_huge) */
    const size_t huge = 2u << 20;
    size_t padded = bytes + huge;
    char *p = mmap(NULL, padded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) { at_note_map_failure(padded, errno); return NULL; }
    char *start = (char *)(((uintptr_t)p + huge - 1) & ~(uintptr_t)(huge - 1));
    if (start > p) munmap(p, (size_t)(start - p));
    if (p + padded > start + bytes) munmap(start + bytes, (size_t)(p + padded - (start + bytes)));
    at_note_own_mapping(start, bytes);
    return start;
}

void at_advise_huge(void *p, size_t bytes) { (void)madvise(p, bytes, MADV_HUGEPAGE); }

void at_lock_slow(uint32_t *l) {
    /* a heap-graph capture may hold this lock a while and scan this thread's stack meanwhile:
     * put the callee-saved registers (pointers the caller may hold) where the scan sees them */
    __builtin_unwind_init();
    for (unsigned spins = 0;; spins++) {
        if (__atomic_load_n(l, __ATOMIC_RELAXED) == 0 && at_try_lock(l)) return;
        if (spins < 64) at_pause();
        else sched_yield();
    }
}

int at_lock_bounded(uint32_t *l, uint64_t spins) {
    for (uint64_t i = 0; i < spins; i++) {
        if (__atomic_load_n(l, __ATOMIC_RELAXED) == 0 && at_try_lock(l)) return 1;
        if (i < 64) at_pause();
        else sched_yield();
    }
    return 0;
}

uint64_t at_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t at_wall_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int at_tsc_usable(void) {
#if defined(__x86_64__)
    char buf[32] = {0};
    int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n >= 3 && memcmp(buf, "tsc", 3) == 0;
#else
    return 0;
#endif
}

void at_futex_wait(uint32_t *word, uint32_t expected, uint64_t timeout_ns) {
    struct timespec ts = { (time_t)(timeout_ns / 1000000000ull), (long)(timeout_ns % 1000000000ull) };
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, &ts, NULL, 0);
}

void at_futex_wake(uint32_t *word, int count) {
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}

int at_gettid(void) { return (int)syscall(SYS_gettid); }

int at_is_thread_main(void) { return at_gettid() == getpid(); }

/* One write per message: the launcher writes to the same stderr at the same moment, and two
 * writes could be split by its line. Plain copies, no stdio: this runs in signal handlers too. */
void at_message2(const char *a, const char *b) {
    if (at_is_quiet()) return;
    char line[1024];
    size_t n = 0;
    const char *parts[3] = { "alloctrace: ", a, b };
    for (int i = 0; i < 3; i++)
        for (const char *p = parts[i]; p && *p && n < sizeof line - 1; p++) line[n++] = *p;
    line[n++] = '\n';
    at_write_all(2, line, n);
}

void at_message(const char *text) { at_message2(text, NULL); }

int at_write_all(int fd, const void *data, size_t n) {
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

#include <signal.h>
int at_sigrtmin(void) { return SIGRTMIN; }
int at_sigrtmax(void) { return SIGRTMAX; }
