/* sampler.h: sampled recording (ALLOCTRACE_SAMPLE_BYTES, docs/FORMAT.md "sampling").
 *
 * Bytes are sampled as a Poisson process of mean interval R: each thread counts down a random
 * number of bytes drawn from an exponential distribution of mean R, and the allocation during
 * which the countdown crosses zero is sampled (probability 1 - exp(-size/R), by memorylessness).
 * Allocations of R bytes or more are always sampled and leave the countdown alone. Only the frees
 * of sampled blocks are recorded: their addresses are kept in a lock-free set.
 *
 * The hot path of an unsampled allocation is at_sample_take: one TLS load, a subtraction, a store.
 */
#ifndef ALLOCTRACE_SAMPLER_H
#define ALLOCTRACE_SAMPLER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Mean sampling interval in bytes; 0: full tracing (every call recorded). Set once, at start. */
extern uint64_t at_sample_bytes;

typedef struct at_sampler {
    int64_t countdown;         /* bytes left before the next sample */
    uint64_t rng;              /* xorshift64* state; 0: not seeded yet */
} at_sampler;

extern __thread at_sampler at_sampler_state __attribute__((tls_model("initial-exec")));

/* Draws the next interval (seeding the thread's generator first) and says whether this
 * allocation of n bytes is sampled. */
int at_sample_slow(at_sampler *s, uint64_t n);

static inline int at_sampling(void) { return at_sample_bytes != 0; }
static inline uint64_t at_sample_interval(void) { return at_sample_bytes; }

/* 1: record this allocation of n bytes. Only called when at_sampling(). */
static inline int at_sample_take(uint64_t n) {
    if (n >= at_sample_bytes) return 1;
    at_sampler *s = &at_sampler_state;
    int64_t c = s->countdown - (int64_t)n;
    if (__builtin_expect(c > 0, 1)) { s->countdown = c; return 0; }
    return at_sample_slow(s, n);
}

/* The set of sampled addresses. Insert after the block is allocated and recorded; forget before
 * it is released, so that an address is in the set only while its sampled block lives. */
void at_sampled_insert(uint64_t address);
int at_sampled_forget_slow(uint64_t address);

/* Live sampled blocks per 4 KiB page of address space, pages folded AT_SAMPLED_PAGES ways (256 KiB
 * of counters): a free of an unsampled block finds 0 in one load, in a line its neighbours' frees
 * share (a hash of the address spread them over the whole table: a cache miss per free). */
#define AT_SAMPLED_PAGES (1u << 16)
extern uint32_t *at_sampled_pages;
extern uint32_t at_sampled_overflowed;   /* the set was full once: every free is recorded since */

static inline uint32_t at_sampled_page(uint64_t a) { return (uint32_t)(a >> 12) & (AT_SAMPLED_PAGES - 1); }

/* 1: the block was sampled (removed from the set), or the set once overflowed and every free is
 * recorded from then on; 0: an unsampled block. Only called when at_sampling(). */
static inline int at_sampled_forget(uint64_t a) {
    if (__builtin_expect(__atomic_load_n(&at_sampled_pages[at_sampled_page(a)], __ATOMIC_ACQUIRE) == 0, 1))
        return __atomic_load_n(&at_sampled_overflowed, __ATOMIC_RELAXED) != 0;
    return at_sampled_forget_slow(a);
}

/* Reads ALLOCTRACE_SAMPLE_BYTES' value (already parsed) and ALLOCTRACE_SAMPLE_SEED, maps the set.
 * Constructor time, guard held. Returns 0 when the set could not be mapped (sampling stays off). */
int at_sampler_start(uint64_t mean_bytes, uint64_t seed);
/* Addresses the set could not hold (then every free is recorded: readers ignore unknown frees). */
uint64_t at_sampled_overflows(void);

#ifdef __cplusplus
}
#endif
#endif
