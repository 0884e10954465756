/* sample-threads: 4 worker threads allocate and free; half of each worker's blocks are freed by
 * another worker (cross-thread frees). Nothing the workers allocate is leaked.
 *
 * Usage: sample-threads [N]      N = allocations per worker (default 10000, 1..1000000)
 *
 * Each worker k (0..3) first names itself "worker-k" (pthread_setname_np on itself, before it
 * allocates anything), then:
 *   phase 1: for i in 0..<N: blocks[k][i] = malloc(16 * (1 + i % 4))  (sizes 16,32,48,64,16,...)
 *            immediately after allocating block i, if i is even it frees it again (own-thread free);
 *   barrier (all 4 workers finished phase 1; pthread_barrier_wait does not allocate);
 *   phase 2: frees the odd-indexed blocks of worker (k + 1) % 4 (cross-thread frees).
 * Only malloc and free are called by the workers. The pointer tables live in an mmap'd area, not
 * in the heap.
 *
 * Expected figures per worker thread "worker-k" (every k alike), with E = ceil(N/2) even indices,
 * O = floor(N/2) odd indices, B(N) = sum over i < N of 16 * (1 + i % 4):
 *   malloc calls = N, bytes allocated = B(N), frees = N (E of its own blocks + O of worker
 *   (k+1)%4's blocks), frees of blocks allocated by another thread = O.
 *   Blocks of worker k freed by worker (k+3)%4 = O (its odd blocks).
 *   N = 10000: malloc=10000 bytes=400000 frees=10000 (own 5000, cross 5000) per worker.
 * Totals of the workers: malloc = 4N, frees = 4N, bytes = 4 * B(N); leaked: 0 blocks, 0 bytes.
 * Peak of the workers' live bytes is scheduling-dependent and is not a test figure; it is at most
 * 4 * (sum of odd block sizes + 64) and, after the barrier, at least the 4 * (odd bytes) held.
 *
 * Outside the workers (main thread, between marks "start" and "end"): glibc's pthread_create
 * allocates each new thread's DTV (dynamic thread vector) with calloc through the interposable
 * symbol: exactly 4 calloc calls on the main thread, inside pthread_create, which stay allocated
 * (the thread stacks and their DTVs go to glibc's stack cache at join). Their size is
 * 16 * (highest TLS module index + 16) bytes, which depends on the loaded libraries (320 bytes each
 * for the SwiftPM build with a small preloaded interposer). glibc also calls free(NULL) during
 * thread exit (not recorded). The main thread calls no allocation function itself. Tests should
 * select the workers' events by thread name ("worker-0".."worker-3").
 *
 * Marks: "start" (main, before the first pthread_create), "end" (main, after the last join).
 *
 * `sample-threads getattr`: one thread whose first allocation is the realloc
 * glibc's pthread_getattr_np makes while it holds the thread's own lock (as the JVM's and Rust's
 * new threads do); prints "getattr: ok" and exits 0. A recorder that called pthread_getattr_np
 * from its malloc hook would deadlock there.
 * At exit it prints on stderr (one line):
 *   threads expected: workers=4 per_worker_mallocs=N per_worker_bytes=B per_worker_frees=N
 *   per_worker_own_frees=E per_worker_cross_frees=O total_mallocs=4N total_frees=4N
 *   total_bytes=4B leaked_blocks=0 leaked_bytes=0
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "alloctrace.h"

#if defined(__clang__)
#define NOINLINE __attribute__((noinline, disable_tail_calls))
#else
#define NOINLINE __attribute__((noinline, noipa))
#endif

enum { WORKERS = 4 };

static long n_per_worker = 10000;
static void *volatile *blocks[WORKERS]; /* blocks[k][i]: mmap'd tables */
static pthread_barrier_t barrier;
static long done_mallocs[WORKERS], done_frees[WORKERS], done_bytes[WORKERS], done_cross[WORKERS];

static size_t block_size(long i) { return 16 * (size_t)(1 + i % 4); }

NOINLINE static void *worker_alloc(size_t size) { return malloc(size); }
NOINLINE static void worker_free(void *p) { free(p); }

NOINLINE static void phase1(int k) {
    for (long i = 0; i < n_per_worker; i++) {
        void *p = worker_alloc(block_size(i));
        if (!p) abort();
        done_mallocs[k]++; done_bytes[k] += (long)block_size(i);
        if (i % 2 == 0) { worker_free(p); done_frees[k]++; blocks[k][i] = NULL; }
        else blocks[k][i] = p;
    }
}

NOINLINE static void phase2(int k) {
    int victim = (k + 1) % WORKERS;
    for (long i = 1; i < n_per_worker; i += 2) {
        worker_free(blocks[victim][i]);
        blocks[victim][i] = NULL;
        done_frees[k]++; done_cross[k]++;
    }
}

NOINLINE static void *worker_main(void *arg) {
    int k = (int)(intptr_t)arg;
    char name[16];
    snprintf(name, sizeof name, "worker-%d", k);
    pthread_setname_np(pthread_self(), name);
    phase1(k);
    pthread_barrier_wait(&barrier);
    phase2(k);
    return NULL;
}

NOINLINE static void *getattr_main(void *arg) {
    (void)arg;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return (void *)1;
    size_t size = 0;
    pthread_attr_getstacksize(&attr, &size);
    pthread_attr_destroy(&attr);
    return size > 0 ? NULL : (void *)1;
}

static int getattr_mode(void) {
    pthread_t t;
    void *result = (void *)1;
    if (pthread_create(&t, NULL, getattr_main, NULL) != 0) return 1;
    pthread_join(t, &result);
    static const char ok[] = "getattr: ok\n";
    if (result != NULL) return 1;
    (void)!write(1, ok, sizeof ok - 1);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "getattr") == 0) return getattr_mode();
    if (argc > 1) {
        n_per_worker = strtol(argv[1], NULL, 10);
        if (n_per_worker < 1 || n_per_worker > 1000000) {
            static const char usage[] = "usage: sample-threads [N]   (1 <= N <= 1000000)\n";
            (void)!write(2, usage, sizeof usage - 1);
            return 2;
        }
    }
    for (int k = 0; k < WORKERS; k++) {
        void *table = mmap(NULL, (size_t)n_per_worker * sizeof(void *), PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (table == MAP_FAILED) return 1;
        blocks[k] = table;
    }
    pthread_barrier_init(&barrier, NULL, WORKERS);

    ALLOCTRACE_MARK("start");
    pthread_t threads[WORKERS];
    for (int k = 0; k < WORKERS; k++)
        if (pthread_create(&threads[k], NULL, worker_main, (void *)(intptr_t)k) != 0) return 1;
    for (int k = 0; k < WORKERS; k++) pthread_join(threads[k], NULL);
    ALLOCTRACE_MARK("end");

    long n = n_per_worker, even = (n + 1) / 2, odd = n / 2;
    long bytes = 0;
    for (long i = 0; i < n; i++) bytes += (long)block_size(i);
    char buf[512];
    int len = snprintf(buf, sizeof buf,
        "threads expected: workers=%d per_worker_mallocs=%ld per_worker_bytes=%ld per_worker_frees=%ld "
        "per_worker_own_frees=%ld per_worker_cross_frees=%ld total_mallocs=%ld total_frees=%ld "
        "total_bytes=%ld leaked_blocks=0 leaked_bytes=0\n",
        WORKERS, n, bytes, n, even, odd, WORKERS * n, WORKERS * n, WORKERS * bytes);
    (void)!write(2, buf, (size_t)len);

    int ok = 1;
    for (int k = 0; k < WORKERS; k++)
        ok &= done_mallocs[k] == n && done_frees[k] == n && done_bytes[k] == bytes && done_cross[k] == odd;
    for (int k = 0; k < WORKERS; k++)
        for (long i = 0; i < n; i++) ok &= blocks[k][i] == NULL;
    if (!ok) {
        static const char msg[] = "threads: LEDGER MISMATCH\n";
        (void)!write(2, msg, sizeof msg - 1);
        return 1;
    }
    return 0;
}
