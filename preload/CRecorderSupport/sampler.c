/* Sampled recording: the per-thread byte countdown and the set of sampled addresses (sampler.h). */
#include "sampler.h"
#include "recorder_support.h"

#include <math.h>

uint64_t at_sample_bytes;
__thread at_sampler at_sampler_state __attribute__((tls_model("initial-exec")));

static uint64_t seed_base;     /* ALLOCTRACE_SAMPLE_SEED, else the start clock */
static uint64_t seeded_threads;

/* The set: open addressing over a fixed mmap'd table of addresses (0 empty, 1 a removed entry).
 * An address is inserted and forgotten in an order the allocator itself imposes (a block is
 * released only after its free forgot it, and handed out again only after that), so no two
 * threads ever work on the same key at once: a compare-and-swap per slot is all it needs.
 * Entries never return to empty, so a lookup may stop at the first empty slot; probes are
 * bounded (AT_SET_PROBES). Removed entries pile up over hours and empty slots grow rare, so that
 * bound would become the cost of every unsampled free: at_sampled_pages counts the live entries
 * by the page their address is in, and a free whose page counts none (nearly every unsampled free)
 * stops after that one load (sampler.h). */
#define AT_SET_BITS 20
#define AT_SET_SLOTS (1u << AT_SET_BITS)     /* 8 MiB of address space, touched as used */
#define AT_SET_PROBES 64
#define AT_SET_REMOVED 1u

static uint64_t *set_slots;
uint32_t *at_sampled_pages;
uint32_t at_sampled_overflowed;
static uint64_t set_overflows;

static inline uint32_t set_home(uint64_t a) {
    return (uint32_t)(((a >> 4) * 0x9E3779B97F4A7C15ull) >> (64 - AT_SET_BITS));
}

void at_sampled_insert(uint64_t a) {
    uint64_t *t = set_slots;
    if (!t) return;
    uint32_t *page = &at_sampled_pages[at_sampled_page(a)], i = set_home(a);
    at_add32(page, 1);    /* before the entry shows: a lookup that finds 0 finds no entry */
    for (int k = 0; k < AT_SET_PROBES; k++, i = (i + 1) & (AT_SET_SLOTS - 1)) {
        uint64_t v = __atomic_load_n(&t[i], __ATOMIC_RELAXED);
        if ((v == 0 || v == AT_SET_REMOVED) && at_cas64(&t[i], v, a)) return;
    }
    at_add32(page, (uint32_t)-1);
    /* full around here: from now on every free is recorded (a reader ignores a free of an
     * address it never saw allocated), which keeps the estimates right at the cost of events */
    at_add64(&set_overflows, 1);
    at_store32(&at_sampled_overflowed, 1);
}

/* The page of `a` holds a live sampled block: is it this one? */
int at_sampled_forget_slow(uint64_t a) {
    uint64_t *t = set_slots;
    uint32_t i = set_home(a);
    for (int k = 0; k < AT_SET_PROBES; k++, i = (i + 1) & (AT_SET_SLOTS - 1)) {
        uint64_t v = __atomic_load_n(&t[i], __ATOMIC_ACQUIRE);
        if (v == a) {
            __atomic_store_n(&t[i], AT_SET_REMOVED, __ATOMIC_RELEASE);
            at_add32(&at_sampled_pages[at_sampled_page(a)], (uint32_t)-1);
            return 1;
        }
        if (v == 0) break;
    }
    return __atomic_load_n(&at_sampled_overflowed, __ATOMIC_RELAXED) != 0;
}

uint64_t at_sampled_overflows(void) { return at_load64(&set_overflows); }

static inline uint64_t next_random(at_sampler *s) {
    /* xorshift64* (Vigna): enough for drawing intervals, three shifts and a multiply */
    uint64_t x = s->rng;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    s->rng = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static inline uint64_t mix(uint64_t z) {
    /* splitmix64's finaliser: distinct thread numbers give unrelated generator states */
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* An exponentially distributed interval of mean R: -ln(u) * R, u uniform in (0, 1].
 * glibc's log allocates nothing. */
static int64_t draw_interval(at_sampler *s) {
    double u = (double)((next_random(s) >> 11) + 1) * 0x1.0p-53;
    double bytes = -log(u) * (double)at_sample_bytes;
    if (bytes < 1) bytes = 1;
    if (bytes > 0x1p62) bytes = 0x1p62;
    return (int64_t)bytes;
}

int at_sample_slow(at_sampler *s, uint64_t n) {
    if (s->rng == 0) {
        /* a thread's first allocation: seed, then start counting from a fresh interval */
        uint64_t k = at_add64(&seeded_threads, 1);
        s->rng = mix(seed_base ^ mix(k)) | 1;
        s->countdown = draw_interval(s);
        int64_t c = s->countdown - (int64_t)n;
        if (c > 0) { s->countdown = c; return 0; }
    }
    /* the countdown crossed zero inside this allocation; by memorylessness the bytes past the
     * crossing need no carrying over: the next interval starts afresh */
    s->countdown = draw_interval(s);
    return 1;
}

int at_sampler_start(uint64_t mean_bytes, uint64_t seed) {
    if (mean_bytes == 0) return 1;
    set_slots = at_map((size_t)AT_SET_SLOTS * sizeof(uint64_t));
    at_sampled_pages = at_map((size_t)AT_SAMPLED_PAGES * sizeof(uint32_t));
    if (!set_slots || !at_sampled_pages) return 0;
    seed_base = seed ? seed : at_ticks() ^ ((uint64_t)at_monotonic_ns() << 17);
    /* bind log() now, in the constructor, not inside the first sampled malloc */
    volatile double half = 0.5;
    (void)log(half);
    at_sample_bytes = mean_bytes;
    return 1;
}
