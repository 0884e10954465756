/* sample-graph: heap graphs with known reachability (alloctrace chains, leaks, retained).
 *
 * Usage: sample-graph              the two-hop chain and the overwritten pointer (below)
 *        sample-graph threads [R]  R marks (default 20, 1..1000) while threads allocate
 *        sample-graph roots        blocks held only by a register, TLS, a frame of another thread
 *        sample-graph busy [R]     R marks (default 5, 1..100) while a thread allocates without pause
 *        sample-graph reserve      a 256 MiB writable mapping of which one page is touched
 *        sample-graph tail         a stale pointer in the page tail of a block glibc mapped alone
 *
 * Default mode, all on the main thread:
 *   graph_root (a static global) = A = make_a(): malloc(32), A->next (offset 8) = B = make_b():
 *   malloc(48). B is reachable only through A: chain graph_root -> A (+0x8) -> B, two hops.
 *   graph_slot (a static global) = C = make_c(): malloc(64); then graph_slot = D = make_d():
 *   malloc(80). C's only pointer was overwritten: C is leaked (unreachable), D is reachable.
 *   The stack below main is overwritten with zeros (scrub_stack) before the mark.
 *   make_e(): graph_small = malloc(24), kept; then E = malloc(24), dropped at once. E is the last
 *   block carved from the heap's top chunk, so glibc's main_arena.top points 16 bytes into it (at
 *   the next chunk's header, inside E's 24 bytes): that is the allocator's pointer, no reference,
 *   and E is leaked.
 *   Mark "graph"; nothing is freed; exit 0 (a second snapshot at exit).
 *   Of the blocks the sample allocates (sites make_a, make_b, make_c, make_d, make_e): leaked
 *   exactly C (64 bytes) and E (24 bytes), both ROOT LEAKs; A, D and graph_small are held by
 *   globals, B by A.
 *   retained: A retains A and B (80 bytes, 2 blocks); D retains 80 bytes.
 *   stdout: graph: a=32 b=48 leaked=88 held=80
 *
 * Threads mode: 4 workers (named "graph-worker-0".."graph-worker-3" by themselves before they
 * allocate) loop until told to stop: slot i = (i + 1) % 64 of their row of the static table
 * graph_ring: free(graph_ring[k][i]) then graph_ring[k][i] = malloc(16 * (1 + i % 4)) (site
 * worker_alloc), with a 200 us pause after every 64 blocks. A holder thread ("graph-holder") mallocs 96 bytes in hold_on_stack (site
 * hold_on_stack), keeps the pointer only in a volatile local variable, says it is ready and waits
 * until the main thread has made all R marks "round" (while the workers allocate), then frees it.
 * At every mark the holder's block is live and held only by the holder's stack: reachable, with a
 * one-hop chain from "stack of thread N "graph-holder"". The workers' blocks are held by
 * graph_ring (a worker caught between malloc's return and the store into the table holds its new
 * block only in a register: at most one block per worker may show as unreachable).
 *   stdout: graph threads: rounds=R workers=4 held=96
 *
 * Roots mode: the main thread sets the __thread variable graph_tls = malloc(40) (site make_tls).
 * Thread "graph-register" mallocs 112 bytes (site make_register_block) and passes the pointer to
 * spin_holding (assembly), which keeps it only in r12 while it spins: it zeroes the 16 KiB below
 * its stack pointer and clears the caller-saved and xmm registers first. Thread "graph-framer"
 * mallocs 56 bytes in hold_in_frame (site hold_in_frame), keeps the pointer in a volatile local
 * and waits on a condition variable. The main thread scrubs its stack and marks "roots"; then
 * the threads are let go, everything is freed, exit 0. At the mark: the 112-byte block is held by
 * `r12 of thread N "graph-register"` (with ALLOCTRACE_STOP_THE_WORLD=0 it is leaked), the 40-byte
 * one by `TLS of thread 1 "sample-graph" (sample-graph: graph_tls)`, the 56-byte one by a frame of
 * hold_in_frame in thread "graph-framer".
 *   stdout: graph roots: tls=40 register=112 frame=56
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

struct node {
    long value;
    struct node *next;   /* offset 8 */
    char pad[16];
};

static struct node *volatile graph_root;
static void *volatile graph_slot;

NOINLINE static struct node *make_a(void) {
    struct node *a = malloc(32);
    memset(a, 0, 32);
    a->value = 1;
    return a;
}

NOINLINE static void *make_b(void) {
    void *b = malloc(48);
    memset(b, 0, 48);
    return b;
}

NOINLINE static void make_c(void) { graph_slot = malloc(64); memset(graph_slot, 0, 64); }
NOINLINE static void make_d(void) { graph_slot = malloc(80); memset(graph_slot, 0, 80); }

static void *volatile graph_small;

/* Two 24-byte blocks: the first is kept (it takes the free 32-byte chunk that the runtime's start-up
 * malloc/free left), the second, carved from the top chunk, is dropped: glibc's main_arena.top
 * then points 16 bytes into it (at the next chunk's header), which is no reference. */
NOINLINE static void make_e(void) {
    graph_small = malloc(24);
    void *volatile e = malloc(24);
    memset(e, 0, 24);
}

NOINLINE static void build(void) {
    struct node *a = make_a();
    a->next = make_b();
    graph_root = a;
    make_c();
    make_d();
    make_e();
}

/* Zeroes the stack below the caller: no stale pointer of build() is left where it is scanned. */
NOINLINE static void scrub_stack(void) {
    volatile char pad[65536];
    memset((char *)pad, 0, sizeof pad);
    __asm__ __volatile__("" : : "r"(pad) : "memory");
}

static void say(const char *s) { (void)!write(1, s, strlen(s)); }

static int run_default(void) {
    build();
    scrub_stack();
    ALLOCTRACE_MARK("graph");
    say("graph: a=32 b=48 leaked=88 held=80\n");
    return 0;
}

/* ---- threads ---------------------------------------------------------------------------- */

enum { WORKERS = 4, RING = 64 };

static void *volatile graph_ring[WORKERS][RING];
static volatile int stop_workers;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int holder_ready, marks_done;

NOINLINE static void *worker_alloc(size_t size) { return malloc(size); }

static void *worker(void *arg) {
    int k = (int)(intptr_t)arg;
    char name[16];
    snprintf(name, sizeof name, "graph-worker-%d", k);
    pthread_setname_np(pthread_self(), name);
    unsigned i = 0;
    while (!__atomic_load_n(&stop_workers, __ATOMIC_ACQUIRE)) {
        i = (i + 1) % RING;
        free(graph_ring[k][i]);
        graph_ring[k][i] = worker_alloc(16 * (1 + i % 4));
        if (i == 0) usleep(200);   /* a pause every 64 blocks: a steady stream, not a flood */
    }
    return NULL;
}

NOINLINE static void hold_on_stack(void) {
    void *volatile held = malloc(96);
    memset(held, 0x5a, 96);
    pthread_mutex_lock(&lock);
    holder_ready = 1;
    pthread_cond_broadcast(&changed);
    while (!marks_done) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    free(held);
}

static void *holder(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "graph-holder");
    hold_on_stack();
    return NULL;
}

static int run_threads(long rounds) {
    pthread_t workers[WORKERS], h;
    for (int k = 0; k < WORKERS; k++)
        if (pthread_create(&workers[k], NULL, worker, (void *)(intptr_t)k) != 0) return 1;
    if (pthread_create(&h, NULL, holder, NULL) != 0) return 1;
    pthread_mutex_lock(&lock);
    while (!holder_ready) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    for (long r = 0; r < rounds; r++) {
        ALLOCTRACE_MARK("round");
        usleep(2000);
    }
    pthread_mutex_lock(&lock);
    marks_done = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    pthread_join(h, NULL);
    __atomic_store_n(&stop_workers, 1, __ATOMIC_RELEASE);
    for (int k = 0; k < WORKERS; k++) pthread_join(workers[k], NULL);
    for (int k = 0; k < WORKERS; k++)
        for (int i = 0; i < RING; i++) { free(graph_ring[k][i]); graph_ring[k][i] = NULL; }
    char line[96];
    snprintf(line, sizeof line, "graph threads: rounds=%ld workers=%d held=96\n", rounds, WORKERS);
    say(line);
    return 0;
}

/* ---- busy: marks while a thread allocates without a pause --------------------------------- */

/* Busy mode: thread "graph-busy" mallocs 16-byte blocks (site busy_alloc) into a list as fast as it
 * can, up to BUSY_CAP blocks, until the main thread has made R marks "busy" (1 ms apart, after the
 * first block); then all are freed. Between a mark's event and its heap snapshot the thread keeps
 * allocating, so the live heap at the mark's event and at its snapshot differ: what a mark's
 * figures are (one moment for `marks` and `types --at`) is what this mode checks.
 *   stdout: graph busy: rounds=R */

enum { BUSY_CAP = 1 << 20 };
static volatile int busy_started, busy_stop;

NOINLINE static void **busy_alloc(void) { return malloc(16); }

static void *busy(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "graph-busy");
    void **head = NULL;
    long n = 0;
    while (!__atomic_load_n(&busy_stop, __ATOMIC_ACQUIRE) && n < BUSY_CAP) {
        void **p = busy_alloc();
        *p = head;
        head = p;
        n++;
        if (n == 1) __atomic_store_n(&busy_started, 1, __ATOMIC_RELEASE);
    }
    while (head) { void **next = *head; free(head); head = next; }
    return NULL;
}

static int run_busy(long rounds) {
    pthread_t t;
    if (pthread_create(&t, NULL, busy, NULL) != 0) return 1;
    while (!__atomic_load_n(&busy_started, __ATOMIC_ACQUIRE)) usleep(100);
    for (long r = 0; r < rounds; r++) {
        ALLOCTRACE_MARK("busy");
        usleep(1000);
    }
    __atomic_store_n(&busy_stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    char line[64];
    snprintf(line, sizeof line, "graph busy: rounds=%ld\n", rounds);
    say(line);
    return 0;
}

/* ---- reserve: a large writable mapping, almost all of it never touched -------------------- */

/* Reserve mode: mmaps RESERVE_BYTES readable and writable (MAP_NORESERVE, as a JVM reserves its
 * heap), stores the only pointer to a malloc(72) (site reserve_block) in the middle of it, one
 * page touched, and marks "reserve"; then frees the block, unmaps, exit 0. The snapshot needs to
 * read the touched page only: the block is held by that anonymous memory.
 *   stdout: graph reserve: mapped=268435456 touched=1 */

enum { RESERVE_BYTES = 256 << 20 };

NOINLINE static void *reserve_block(void) { void *p = malloc(72); memset(p, 0, 72); return p; }

static int run_reserve(void) {
    void **m = mmap(NULL, RESERVE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) return 1;
    size_t middle = RESERVE_BYTES / 2 / sizeof(void *);
    m[middle] = reserve_block();
    scrub_stack();
    ALLOCTRACE_MARK("reserve");
    free(m[middle]);
    munmap(m, RESERVE_BYTES);
    say("graph reserve: mapped=268435456 touched=1\n");
    return 0;
}

/* ---- tail: a stale word past a mapped block's end, in its last page ----------------------- */

/* Tail mode: a malloc(256 KiB) (site tail_buffer), which glibc maps alone (a chunk 16 bytes into
 * a page), holds the only pointer to a malloc(72) (site tail_block) at byte TAIL_STALE; a realloc
 * to TAIL_SIZE bytes shrinks the mapping in place (mremap), which leaves that word past the
 * block's end but in its last page. Mark "tail": the block is leaked (no root holds it); the
 * buffer is freed, exit 0.
 *   stdout: graph tail: moved=0 */

enum { TAIL_FIRST = 256 << 10, TAIL_SIZE = 100 << 10, TAIL_STALE = TAIL_SIZE + 8 };

static void *volatile graph_tail;

NOINLINE static void *tail_block(void) { void *p = malloc(72); memset(p, 0, 72); return p; }
NOINLINE static void *tail_buffer(void) { void *p = malloc(TAIL_FIRST); memset(p, 0, TAIL_FIRST); return p; }

static int run_tail(void) {
    char *big = tail_buffer();
    *(void *volatile *)(big + TAIL_STALE) = tail_block();
    char *small = realloc(big, TAIL_SIZE);
    if (!small) return 1;
    graph_tail = small;
    int moved = small != big;
    scrub_stack();
    ALLOCTRACE_MARK("tail");
    free(graph_tail);
    say(moved ? "graph tail: moved=1\n" : "graph tail: moved=0\n");
    return 0;
}

/* ---- roots: a register, TLS, a frame of another thread ------------------------------------ */

static __thread void *graph_tls;
static volatile int spin_stop, register_ready, framer_ready, framer_done;

NOINLINE static void make_tls(void) { graph_tls = malloc(40); memset(graph_tls, 0, 40); }

NOINLINE static void *make_register_block(void) {
    void *p = malloc(112);
    memset(p, 0, 112);
    return p;
}

/* spin_holding(p): keeps p only in r12 while it spins (no copy on any stack: the 16 KiB below the
 * stack pointer, where the frames that made it were, are zeroed; the caller-saved registers and
 * xmm0-15 are cleared), says so in register_ready, and returns p once spin_stop is set. */
void *spin_holding(void *p);
__asm__(".text\n.globl spin_holding\n.type spin_holding,@function\nspin_holding:\n"
        "  push %r12\n  mov %rdi, %r12\n"
        "  lea -16384(%rsp), %rdi\n  xor %eax, %eax\n  mov $2048, %ecx\n  rep stosq\n"
        "  xor %edi, %edi\n  xor %esi, %esi\n  xor %edx, %edx\n  xor %ecx, %ecx\n  xor %r8d, %r8d\n"
        "  xor %r9d, %r9d\n  xor %r10d, %r10d\n  xor %r11d, %r11d\n"
        "  pxor %xmm0, %xmm0\n  pxor %xmm1, %xmm1\n  pxor %xmm2, %xmm2\n  pxor %xmm3, %xmm3\n"
        "  pxor %xmm4, %xmm4\n  pxor %xmm5, %xmm5\n  pxor %xmm6, %xmm6\n  pxor %xmm7, %xmm7\n"
        "  pxor %xmm8, %xmm8\n  pxor %xmm9, %xmm9\n  pxor %xmm10, %xmm10\n  pxor %xmm11, %xmm11\n"
        "  pxor %xmm12, %xmm12\n  pxor %xmm13, %xmm13\n  pxor %xmm14, %xmm14\n  pxor %xmm15, %xmm15\n"
        "  movl $1, register_ready(%rip)\n"
        "1: pause\n  cmpl $0, spin_stop(%rip)\n  je 1b\n"
        "  mov %r12, %rax\n  pop %r12\n  ret\n.size spin_holding, .-spin_holding\n");

static void *register_thread(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "graph-register");
    free(spin_holding(make_register_block()));
    return NULL;
}

NOINLINE static void hold_in_frame(void) {
    void *volatile held = malloc(56);
    memset(held, 0, 56);
    pthread_mutex_lock(&lock);
    framer_ready = 1;
    pthread_cond_broadcast(&changed);
    while (!framer_done) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    free(held);
}

static void *framer_thread(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "graph-framer");
    hold_in_frame();
    return NULL;
}

static int run_roots(void) {
    pthread_t r, f;
    make_tls();
    if (pthread_create(&r, NULL, register_thread, NULL) != 0) return 1;
    if (pthread_create(&f, NULL, framer_thread, NULL) != 0) return 1;
    pthread_mutex_lock(&lock);
    while (!framer_ready) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    while (!__atomic_load_n(&register_ready, __ATOMIC_ACQUIRE)) usleep(1000);
    scrub_stack();
    ALLOCTRACE_MARK("roots");
    __atomic_store_n(&spin_stop, 1, __ATOMIC_RELEASE);
    pthread_mutex_lock(&lock);
    framer_done = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    pthread_join(r, NULL);
    pthread_join(f, NULL);
    free(graph_tls);
    graph_tls = NULL;
    say("graph roots: tls=40 register=112 frame=56\n");
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 1) return run_default();
    if (strcmp(argv[1], "roots") == 0) return run_roots();
    if (strcmp(argv[1], "threads") == 0) {
        long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 20;
        if (rounds < 1 || rounds > 1000) { say("usage: sample-graph [threads [R]]\n"); return 2; }
        return run_threads(rounds);
    }
    if (strcmp(argv[1], "reserve") == 0) return run_reserve();
    if (strcmp(argv[1], "tail") == 0) return run_tail();
    if (strcmp(argv[1], "busy") == 0) {
        long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 5;
        if (rounds < 1 || rounds > 100) { say("usage: sample-graph [threads [R] | roots | busy [R] | reserve | tail]\n"); return 2; }
        return run_busy(rounds);
    }
    say("usage: sample-graph [threads [R] | roots | busy [R] | reserve | tail]\n");
    return 2;
}
