/* x86-64 stack capture from .eh_frame call-frame information.
 *
 * libunwind costs ~140 ns a stack, and code without frame pointers (Swift -O, distribution
 * builds) leaves nothing cheaper to follow. Every frame here costs one cached rule: how to find the
 * caller's CFA, return address and rbp from this frame's rsp and rbp. A rule is computed once per
 * return address by running the FDE's call-frame program up to the call, and kept in a lock-free
 * table (this runs inside malloc, in any thread, in signal handlers: no malloc, no locks).
 *
 * The unwinder only vouches for what it fully understands: a CFA of rsp+N or rbp+N, the return
 * address at CFA-8, rbp saved at CFA+k or unchanged. Anything else (expressions as in PLT entries
 * and signal trampolines, a CFA in another register, a pc without an FDE, a CFA that leaves the
 * thread's stack) returns -1 and the whole stack goes to libunwind, so a recorded stack is always
 * what libunwind would have given (ALLOCTRACE_UNWIND=verify checks that). */
#include "recorder_support.h"

#include <string.h>

/* ---- rules -------------------------------------------------------------------------------------
 * One 64-bit word per return address. Low 32 bits: kind (2 bits), CFA from rbp (bit 2), rbp saved
 * (bit 3), rbp's slot relative to the CFA in 8-byte units (int8, bits 4-11), CFA offset (bits 12-31).
 * High 32 bits: a tag of the address and the code map's generation, so a word left over from an
 * unloaded module or read while another thread reuses the slot is never taken for this address. */
enum { AT_RULE_PENDING = 0, AT_RULE_OK = 1, AT_RULE_NO = 2, AT_RULE_END = 3 };
#define AT_RULE_CFA_RBP 4u
#define AT_RULE_RBP_SAVED 8u
#define AT_RULE_MAX_CFA_OFFSET ((1u << 20) - 1)
/* A pc no FDE covers (functions whose CFI went to .debug_frame only, as in SwiftPM's -O -g builds of
 * nounwind functions, or hand-written assembly): libunwind then guesses a frame-pointer frame, and so
 * does this, so that both give the same stack (when the guess is wrong, the bounds checks of the
 * walk usually decline and libunwind decides). */
#define AT_RULE_FP (AT_RULE_OK | AT_RULE_CFA_RBP | AT_RULE_RBP_SAVED | ((uint32_t)(uint8_t)(int8_t)-2 << 4) | (16u << 12))
#define AT_RULE_GUESS AT_RULE_FP

#define AT_RULE_SLOTS (1u << 16)
/* key and rule side by side: one cache line per lookup */
typedef struct { uint64_t key, value; } at_rule_entry;
static at_rule_entry at_rules[AT_RULE_SLOTS] __attribute__((aligned(64)));

/* ---- bounded reads of call-frame information ------------------------------------------------- */
typedef struct { const uint8_t *p, *end; int bad; } at_cursor;

static inline int at_has(at_cursor *c, size_t n) {
    if (c->bad || (size_t)(c->end - c->p) < n) { c->bad = 1; return 0; }
    return 1;
}
static uint8_t at_u8(at_cursor *c) { return at_has(c, 1) ? *c->p++ : 0; }
static uint64_t at_fixed(at_cursor *c, size_t n) {
    uint64_t v = 0;
    if (!at_has(c, n)) return 0;
    memcpy(&v, c->p, n);  /* little-endian */
    c->p += n;
    return v;
}
static uint64_t at_uleb128(at_cursor *c) {
    uint64_t v = 0;
    for (int shift = 0; at_has(c, 1); shift += 7) {
        uint8_t b = *c->p++;
        if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    return 0;
}
static int64_t at_sleb128(at_cursor *c) {
    uint64_t v = 0;
    int shift = 0;
    while (at_has(c, 1)) {
        uint8_t b = *c->p++;
        if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) {
            if (shift < 64 && (b & 0x40)) v |= ~(uint64_t)0 << shift;
            return (int64_t)v;
        }
    }
    return 0;
}
/* A DW_EH_PE-encoded pointer; only the encodings linkers emit for .eh_frame (absolute or pc-relative
 * 2/4/8-byte values). `pcrel` 0 reads a length (pc_range): the application bits are ignored. */
static uint64_t at_encoded(at_cursor *c, uint8_t enc, int pcrel) {
    uint64_t field = (uint64_t)(uintptr_t)c->p, v;
    switch (enc & 0x0f) {
    case 0x00: case 0x04: case 0x0c: v = at_fixed(c, 8); break;
    case 0x02: v = at_fixed(c, 2); break;
    case 0x0a: v = (uint64_t)(int64_t)(int16_t)at_fixed(c, 2); break;
    case 0x03: v = at_fixed(c, 4); break;
    case 0x0b: v = (uint64_t)(int64_t)(int32_t)at_fixed(c, 4); break;
    default: c->bad = 1; return 0;
    }
    if (!pcrel) return v;
    switch (enc & 0xf0) {
    case 0x00: return v;
    case 0x10: return v + field;
    default: c->bad = 1; return 0;  /* datarel, funcrel, indirect: not in .eh_frame FDEs here */
    }
}

/* ---- the call-frame program -------------------------------------------------------------------- */
enum { AT_REG_RBP = 6, AT_REG_RSP = 7, AT_REG_RIP = 16 };
enum { AT_HOW_SAME = 0, AT_HOW_UNDEF = 1, AT_HOW_OFFSET = 2, AT_HOW_OTHER = 3 };
typedef struct {
    int64_t cfa_off, rbp_off, rip_off;
    int32_t cfa_reg;           /* a DWARF register, or -1 for an expression */
    uint8_t rbp_how, rip_how;
} at_row;

typedef struct {
    uint64_t caf;              /* code alignment factor */
    int64_t daf;               /* data alignment factor */
    uint8_t fde_enc;
} at_cie;

static void at_set_rule(at_row *row, uint64_t reg, uint8_t how, int64_t off) {
    if (reg == AT_REG_RBP) { row->rbp_how = how; row->rbp_off = off; }
    else if (reg == AT_REG_RIP) { row->rip_how = how; row->rip_off = off; }
}
static void at_restore_rule(at_row *row, const at_row *initial, uint64_t reg) {
    if (reg == AT_REG_RBP) { row->rbp_how = initial->rbp_how; row->rbp_off = initial->rbp_off; }
    else if (reg == AT_REG_RIP) { row->rip_how = initial->rip_how; row->rip_off = initial->rip_off; }
}

#define AT_STATE_DEPTH 8

/* Runs instructions until the row that covers `target` (the CIE's initial instructions run with
 * target = UINT64_MAX). Returns 0, or -1 on anything not understood. */
static int at_run_cfa(at_cursor *c, const at_cie *cie, at_row *row, const at_row *initial,
                      uint64_t loc, uint64_t target) {
    at_row saved[AT_STATE_DEPTH];
    int depth = 0;
    while (c->p < c->end && !c->bad) {
        uint8_t op = at_u8(c);
        uint64_t reg, delta = 0;
        switch (op & 0xc0) {
        case 0x40: delta = (uint64_t)(op & 0x3f) * cie->caf; goto advance;
        case 0x80: reg = op & 0x3f; at_set_rule(row, reg, AT_HOW_OFFSET, (int64_t)at_uleb128(c) * cie->daf); continue;
        case 0xc0: at_restore_rule(row, initial, op & 0x3f); continue;
        }
        switch (op) {
        case 0x00: continue;                                                    /* nop */
        case 0x02: delta = at_fixed(c, 1) * cie->caf; goto advance;
        case 0x03: delta = at_fixed(c, 2) * cie->caf; goto advance;
        case 0x04: delta = at_fixed(c, 4) * cie->caf; goto advance;
        case 0x05: reg = at_uleb128(c); at_set_rule(row, reg, AT_HOW_OFFSET, (int64_t)at_uleb128(c) * cie->daf); continue;
        case 0x06: at_restore_rule(row, initial, at_uleb128(c)); continue;
        case 0x07: at_set_rule(row, at_uleb128(c), AT_HOW_UNDEF, 0); continue;
        case 0x08: at_set_rule(row, at_uleb128(c), AT_HOW_SAME, 0); continue;
        case 0x09: reg = at_uleb128(c); (void)at_uleb128(c); at_set_rule(row, reg, AT_HOW_OTHER, 0); continue;
        case 0x0a: if (depth == AT_STATE_DEPTH) return -1; saved[depth++] = *row; continue;
        case 0x0b: if (depth == 0) return -1; *row = saved[--depth]; continue;  /* the CFA too, as GCC's epilogues expect */
        case 0x0c: row->cfa_reg = (int32_t)at_uleb128(c); row->cfa_off = (int64_t)at_uleb128(c); continue;
        case 0x0d: if (row->cfa_reg < 0) return -1; row->cfa_reg = (int32_t)at_uleb128(c); continue;
        case 0x0e: row->cfa_off = (int64_t)at_uleb128(c); continue;
        case 0x0f: {                                                            /* def_cfa_expression */
            uint64_t n = at_uleb128(c);
            if (!at_has(c, n)) return -1;
            c->p += n;
            row->cfa_reg = -1;
            continue;
        }
        case 0x10: case 0x16: {                                                 /* (val_)expression */
            reg = at_uleb128(c);
            uint64_t n = at_uleb128(c);
            if (!at_has(c, n)) return -1;
            c->p += n;
            at_set_rule(row, reg, AT_HOW_OTHER, 0);
            continue;
        }
        case 0x11: reg = at_uleb128(c); at_set_rule(row, reg, AT_HOW_OFFSET, at_sleb128(c) * cie->daf); continue;
        case 0x12: row->cfa_reg = (int32_t)at_uleb128(c); row->cfa_off = at_sleb128(c) * cie->daf; continue;
        case 0x13: row->cfa_off = at_sleb128(c) * cie->daf; continue;
        case 0x14: case 0x15: reg = at_uleb128(c); (void)at_uleb128(c); at_set_rule(row, reg, AT_HOW_OTHER, 0); continue;
        case 0x2e: (void)at_uleb128(c); continue;                               /* GNU_args_size */
        default: return -1;                                                     /* set_loc, vendor ops */
        }
    advance:
        if (c->bad) return -1;
        if (target - loc < delta) return 0;                                     /* the next row starts past target */
        loc += delta;
    }
    return c->bad ? -1 : 0;
}

/* The FDE whose start is the last at or before `pc`, through .eh_frame_hdr's sorted table: 1 and
 * *fde when there is one, 0 when there is none (no table, or pc before the first function), -1 when
 * the table is in a form not read here. */
static int at_find_fde(const at_code_range *r, uint64_t pc, const uint8_t **fde) {
    const uint8_t *hdr = r->eh_frame_hdr;
    uint64_t h = (uint64_t)(uintptr_t)hdr;
    if (!hdr) return 0;
    if (h < r->eh_lo || r->eh_hi < 12 || h > r->eh_hi - 12) return -1;
    if (hdr[0] != 1 || hdr[2] != 0x03 || hdr[3] != 0x3b) return -1;  /* udata4 count, datarel sdata4 table */
    uint32_t count;
    memcpy(&count, hdr + 8, 4);
    const uint8_t *table = hdr + 12;
    if (count > (r->eh_hi - (h + 12)) / 8) return -1;
    uint32_t lo = 0, hi = count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int32_t start;
        memcpy(&start, table + 8 * (size_t)mid, 4);
        if (h + (uint64_t)(int64_t)start <= pc) lo = mid + 1; else hi = mid;
    }
    if (lo == 0) return 0;
    int32_t off;
    memcpy(&off, table + 8 * (size_t)(lo - 1) + 4, 4);
    *fde = (const uint8_t *)(uintptr_t)(h + (uint64_t)(int64_t)off);
    return 1;
}

/* A cursor over one CIE or FDE at `entry` (its length word included), inside [lo, hi). */
static int at_entry(const uint8_t *entry, uint64_t lo, uint64_t hi, at_cursor *c) {
    uint64_t e = (uint64_t)(uintptr_t)entry;
    if (e < lo || hi < 8 || e > hi - 8 || (e & 3)) return -1;
    uint32_t len;
    memcpy(&len, entry, 4);
    if (len == 0 || len == 0xffffffffu || len > hi - e - 4) return -1;  /* no 64-bit DWARF in .eh_frame here */
    c->p = entry + 4;
    c->end = entry + 4 + len;
    c->bad = 0;
    return 0;
}

/* Computes the rule for return address `ret` in range `r`. */
static uint32_t at_compute_rule(uint64_t ret, const at_code_range *r) {
    uint64_t pc = ret - 1;  /* the call: a noreturn call may be the function's last instruction */
    const uint8_t *fde = NULL;
    int found = at_find_fde(r, pc, &fde);
    if (found == 0) return AT_RULE_GUESS;
    at_cursor f, c;
    if (found < 0 || at_entry(fde, r->eh_lo, r->eh_hi, &f) < 0) return AT_RULE_NO;
    const uint8_t *cie_id_field = f.p;
    uint32_t cie_ptr = (uint32_t)at_fixed(&f, 4);
    if (cie_ptr == 0 || cie_ptr > (uint64_t)(uintptr_t)cie_id_field) return AT_RULE_NO;
    if (at_entry(cie_id_field - cie_ptr, r->eh_lo, r->eh_hi, &c) < 0) return AT_RULE_NO;

    /* CIE: id, version, augmentation, alignment factors, return address register, augmentation data */
    at_cie cie = { 0, 0, 0x00 };
    if (at_fixed(&c, 4) != 0) return AT_RULE_NO;
    uint8_t version = at_u8(&c);
    if (version != 1 && version != 3 && version != 4) return AT_RULE_NO;
    const uint8_t *aug = c.p;
    while (at_has(&c, 1) && *c.p) c.p++;
    if (!at_has(&c, 1)) return AT_RULE_NO;
    const uint8_t *aug_end = c.p++;
    if (version == 4 && (at_u8(&c) != 8 || at_u8(&c) != 0)) return AT_RULE_NO;  /* address, segment size */
    cie.caf = at_uleb128(&c);
    cie.daf = at_sleb128(&c);
    uint64_t ra_reg = version == 1 ? at_u8(&c) : at_uleb128(&c);
    if (ra_reg != AT_REG_RIP || c.bad) return AT_RULE_NO;
    int has_z = aug < aug_end && aug[0] == 'z';
    if (aug < aug_end && !has_z) return AT_RULE_NO;
    if (has_z) {
        uint64_t n = at_uleb128(&c);
        if (!at_has(&c, n)) return AT_RULE_NO;
        at_cursor d = { c.p, c.p + n, 0 };
        c.p += n;
        for (const uint8_t *a = aug + 1; a < aug_end; a++) {
            if (*a == 'R') cie.fde_enc = at_u8(&d);
            else if (*a == 'L') (void)at_u8(&d);
            else if (*a == 'P') { uint8_t enc = at_u8(&d); if (enc & 0x80) enc &= 0x7f; (void)at_encoded(&d, enc, 0); }
            else return AT_RULE_NO;  /* 'S' (a signal frame) and anything unknown */
            if (d.bad) return AT_RULE_NO;
        }
    }

    /* FDE: pc_begin, pc_range, augmentation data, instructions */
    uint64_t pc_begin = at_encoded(&f, cie.fde_enc, 1);
    uint64_t pc_range = at_encoded(&f, cie.fde_enc, 0);
    if (f.bad) return AT_RULE_NO;
    if (pc < pc_begin || pc - pc_begin >= pc_range) return AT_RULE_GUESS;
    if (has_z) {
        uint64_t n = at_uleb128(&f);
        if (!at_has(&f, n)) return AT_RULE_NO;
        f.p += n;
    }

    at_row initial = { 0, 0, 0, AT_REG_RSP, AT_HOW_SAME, AT_HOW_SAME };
    if (at_run_cfa(&c, &cie, &initial, &initial, 0, UINT64_MAX) < 0) return AT_RULE_NO;
    at_row row = initial;
    if (at_run_cfa(&f, &cie, &row, &initial, pc_begin, pc) < 0) return AT_RULE_NO;

    if (row.rip_how == AT_HOW_UNDEF) return AT_RULE_END;  /* the outermost frame (_start, clone3) */
    if (row.rip_how != AT_HOW_OFFSET || row.rip_off != -8) return AT_RULE_NO;
    if (row.cfa_reg != AT_REG_RSP && row.cfa_reg != AT_REG_RBP) return AT_RULE_NO;
    if (row.cfa_off < 8 || row.cfa_off > AT_RULE_MAX_CFA_OFFSET) return AT_RULE_NO;
    uint32_t rule = AT_RULE_OK | ((uint32_t)row.cfa_off << 12);
    if (row.cfa_reg == AT_REG_RBP) rule |= AT_RULE_CFA_RBP;
    if (row.rbp_how == AT_HOW_OFFSET) {
        /* saved below the return address, within what an int8 of 8-byte units holds */
        if (row.rbp_off > -16 || row.rbp_off < -1024 || (row.rbp_off & 7)) return AT_RULE_NO;
        rule |= AT_RULE_RBP_SAVED | ((uint32_t)(uint8_t)(int8_t)(row.rbp_off / 8) << 4);
    } else if (row.rbp_how != AT_HOW_SAME) {
        return AT_RULE_NO;
    }
    return rule;
}

/* ---- the rule cache ----------------------------------------------------------------------------- */
static const at_code_range *at_code_range_of(const at_code_map *map, uint64_t ip) {
    uint32_t lo = 0, hi = map->count;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        const at_code_range *r = &map->ranges[mid];
        if (ip < r->lo) hi = mid;
        else if (ip >= r->hi) lo = mid + 1;
        else return r;
    }
    return NULL;
}

/* The rule for `ret`, 0 when `ret` is not in the loaded code. */
static uint32_t at_rule_slow(uint64_t ret, uint32_t tag, const at_code_map *map, uint32_t slot_hint) {
    const at_code_range *r = at_code_range_of(map, ret);
    if (!r || ret == r->lo) return 0;
    uint32_t rule = at_compute_rule(ret, r);
    uint64_t word = ((uint64_t)tag << 32) | rule;
    for (uint32_t i = 0; i < 16; i++) {
        uint32_t slot = (slot_hint + i) & (AT_RULE_SLOTS - 1);
        uint64_t k = __atomic_load_n(&at_rules[slot].key, __ATOMIC_ACQUIRE);
        if (k == 0) {
            uint64_t expected = 0;
            if (!__atomic_compare_exchange_n(&at_rules[slot].key, &expected, ret, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) k = expected;
            else k = ret;
        }
        if (k == ret) { __atomic_store_n(&at_rules[slot].value, word, __ATOMIC_RELEASE); break; }
    }
    return rule;
}

static inline uint32_t at_rule_hash(uint64_t ret) { return (uint32_t)((ret * 0x9E3779B97F4A7C15ull) >> 48); }
static inline uint32_t at_rule_tag(uint64_t ret, uint32_t generation) {
    return (uint32_t)ret ^ (uint32_t)(ret >> 32) ^ (generation * 0x9E3779B9u);
}

static inline uint32_t at_rule(uint64_t ret, const at_code_map *map) {
    uint32_t h = at_rule_hash(ret), tag = at_rule_tag(ret, map->generation);
    for (uint32_t i = 0; i < 16; i++) {
        uint32_t slot = (h + i) & (AT_RULE_SLOTS - 1);
        uint64_t k = __atomic_load_n(&at_rules[slot].key, __ATOMIC_ACQUIRE);
        if (k == ret) {
            uint64_t v = __atomic_load_n(&at_rules[slot].value, __ATOMIC_ACQUIRE);
            if ((uint32_t)(v >> 32) == tag && (uint32_t)v != AT_RULE_PENDING) return (uint32_t)v;
            break;
        }
        if (k == 0) break;
    }
    return at_rule_slow(ret, tag, map, h);
}

/* ---- the per-thread rule cache -------------------------------------------------------------------
 * The shared table is 1 MiB touched at random: in a program that works through a lot of memory its
 * probes miss the caches, and the probe loop (hash, key, tag, generation) sits on the walk's
 * dependency chain, ra -> rule -> cfa -> next ra. A thread's hot return addresses fit in a small
 * direct-mapped table in front of it, one load and one compare; it is emptied when the code map
 * changes, so it holds no tag. */
#define AT_TC_SLOTS 256
typedef struct { uint64_t ret, rule; } at_tc_entry;
typedef struct {
    uint32_t generation;
    at_tc_entry e[AT_TC_SLOTS] __attribute__((aligned(64)));
} at_thread_rules;

static __thread at_thread_rules at_tc __attribute__((tls_model("initial-exec")));

static inline uint32_t at_tc_index(uint64_t ret) { return (uint32_t)((ret * 0x9E3779B97F4A7C15ull) >> 56); }

__attribute__((noinline))
static uint32_t at_tc_fill(at_thread_rules *tc, uint64_t ret, const at_code_map *map) {
    uint32_t rule = at_rule(ret, map);
    at_tc_entry *e = &tc->e[at_tc_index(ret)];
    e->ret = ret;
    e->rule = rule;
    return rule;
}

static inline uint32_t at_tc_rule(at_thread_rules *tc, uint64_t ret, const at_code_map *map) {
    const at_tc_entry *e = &tc->e[at_tc_index(ret)];
    if (__builtin_expect(e->ret == ret, 1)) return (uint32_t)e->rule;
    return at_tc_fill(tc, ret, map);
}

/* ---- the walk ------------------------------------------------------------------------------------
 * A thread's successive stacks mostly share their outer part. The last complete stack of each
 * thread is kept (outermost frame first, so a shared outer part keeps its place): when the walk
 * meets one of its frames in the same state (rsp, rbp, return address), the rest is that stack
 * again, provided each caller's return address and saved rbp are still in their stack slots. That
 * check is one or two independent loads per frame instead of a dependent rule lookup. */
#define AT_MAX_FRAME_BYTES (8u << 20)
#define AT_LAST_FRAMES 96

typedef struct {
    uint32_t n;                /* frames held; 0: nothing to reuse */
    uint32_t generation;       /* the code map's when they were recorded */
    uint64_t sp[AT_LAST_FRAMES], rbp[AT_LAST_FRAMES], ra[AT_LAST_FRAMES];
    uint64_t rbp_at[AT_LAST_FRAMES];  /* where the caller's rbp is read; 0: the caller's rbp is this one */
    /* at_stack_hash's sum over the kept frames from the outermost to this one, and the power of R
     * the next kept frame inwards takes */
    uint64_t hsum[AT_LAST_FRAMES], hpow[AT_LAST_FRAMES];
} at_last_stack;

static __thread at_last_stack at_last __attribute__((tls_model("initial-exec")));

/* The recorder's own frames (the hooks at the top, and with the Swift runtime hook the recorder's
 * frames between swift_allocObject and malloc) are walked through but not kept. */
#define AT_EMIT(value)                                                        \
    do {                                                                      \
        uint64_t r_ = (value);                                                \
        if (r_ - self_lo >= self_len) frames[n++] = (void *)(uintptr_t)r_;    \
    } while (0)

__attribute__((noinline))
int at_capture_cfi_hashed(void **frames, int max, uint64_t *declined, uint64_t *hash) {
    const at_code_map *map = __atomic_load_n(&at_g.code_map, __ATOMIC_ACQUIRE);
    at_slot *s = at_thread()->slot;
    if (declined) *declined = 0;
    if (!map || !s) return -1;
    /* every read below stays inside this thread's stack; elsewhere (sigaltstack, a fiber, the
     * shared orphan slot) there are no bounds to trust */
    uint64_t stack_lo = s->stack_lo, stack_hi = s->stack_hi;
    uint64_t fp = (uint64_t)(uintptr_t)__builtin_frame_address(0);
    if (fp < stack_lo || stack_hi < 16 || fp > stack_hi - 16 || (fp & 7)) return -1;
    /* this function keeps its frame pointer: its caller's state is at fp */
    uint64_t ra = ((const uint64_t *)(uintptr_t)fp)[1];
    uint64_t sp = fp + 16;
    uint64_t rbp = ((const uint64_t *)(uintptr_t)fp)[0];
    const uint64_t self_lo = at_g.self_text_start, self_len = at_g.self_text_end - self_lo;

    at_thread_rules *tc = &at_tc;
    if (__builtin_expect(tc->generation != map->generation, 0)) {
        memset(tc->e, 0, sizeof tc->e);
        tc->generation = map->generation;
    }
    at_last_stack *last = &at_last;
    int32_t j = last->generation == map->generation ? (int32_t)last->n - 1 : -1;
    /* this walk's frames (own frames included) before it joined the last stack, for the next capture */
    uint64_t new_sp[AT_LAST_FRAMES], new_rbp[AT_LAST_FRAMES], new_at[AT_LAST_FRAMES], new_ra[AT_LAST_FRAMES];
    int n = 0, w = 0, ended = 0;   /* frames kept, frames walked */
    while (n < max && ra) {
        while (j >= 0 && last->sp[j] < sp) j--;
        if (j >= 0 && last->sp[j] == sp && last->ra[j] == ra && last->rbp[j] == rbp) {
            /* replay the last stack from frame j outwards, checking each link */
            int top = w;
            int32_t e = j;
            for (;;) {
                if (n >= max) goto done;  /* truncated: the last stack stays as it is */
                AT_EMIT(last->ra[e]);
                if (e == 0) break;
                uint64_t csp = last->sp[e - 1];
                uint64_t at = last->rbp_at[e];
                if (((const uint64_t *)(uintptr_t)csp)[-1] != last->ra[e - 1] ||
                    (at && *(const uint64_t *)(uintptr_t)at != last->rbp[e - 1])) break;
                e--;
            }
            if (e == 0) {
                /* joined to the end: put this walk's own frames above the shared part, hashing
                 * them on from its partial sum */
                if (j + top + 1 > AT_LAST_FRAMES) { last->n = 0; goto done; }
                uint64_t h = last->hsum[j], p = last->hpow[j];
                for (int t = top - 1; t >= 0; t--) {
                    int32_t k = j + top - t;
                    uint64_t f = new_ra[t];
                    if (f - self_lo >= self_len) { h += at_stack_mix(f) * p; p *= AT_STACK_HASH_R; }
                    last->sp[k] = new_sp[t]; last->rbp[k] = new_rbp[t];
                    last->ra[k] = f; last->rbp_at[k] = new_at[t];
                    last->hsum[k] = h; last->hpow[k] = p;
                }
                last->n = (uint32_t)(j + top + 1);
                if (hash) *hash = at_stack_hash_finish(h, (uint64_t)n);
                return n;
            }
            /* a link changed below frame e: keep what was checked, walk on from e's caller */
            for (int32_t k = j; k >= e; k--) {
                int t = top + (j - k);
                if (t < AT_LAST_FRAMES) {
                    new_sp[t] = last->sp[k]; new_rbp[t] = last->rbp[k];
                    new_at[t] = last->rbp_at[k]; new_ra[t] = last->ra[k];
                }
            }
            w = top + (j - e) + 1;
            sp = last->sp[e - 1];
            ra = ((const uint64_t *)(uintptr_t)sp)[-1];
            if (last->rbp_at[e]) rbp = *(const uint64_t *)(uintptr_t)last->rbp_at[e];
            else rbp = last->rbp[e];
            j = e - 1;
            continue;
        }
        uint32_t rule = at_tc_rule(tc, ra, map);
        if (rule == AT_RULE_FP) {
            /* the general case below with the rule's constants: the rbp chain does not wait for
             * the rule's load (the branch is predicted), and the checks are the same */
            if (w < AT_LAST_FRAMES) { new_sp[w] = sp; new_rbp[w] = rbp; new_at[w] = rbp; new_ra[w] = ra; }
            w++;
            AT_EMIT(ra);
            if (__builtin_expect(at_python_eval_range(ra), 0)) { ended = 1; break; }
            uint64_t cfa = rbp + 16;
            if ((cfa & 7) || rbp < sp || cfa > stack_hi || cfa - sp > AT_MAX_FRAME_BYTES) goto decline;
            sp = cfa;
            ra = ((const uint64_t *)(uintptr_t)cfa)[-1];
            rbp = ((const uint64_t *)(uintptr_t)cfa)[-2];
            continue;
        }
        uint32_t kind = rule & 3;
        if (kind != AT_RULE_OK && kind != AT_RULE_END) goto decline;
        if (w < AT_LAST_FRAMES) { new_sp[w] = sp; new_rbp[w] = rbp; new_at[w] = 0; new_ra[w] = ra; }
        w++;
        AT_EMIT(ra);
        if (kind == AT_RULE_END || __builtin_expect(at_python_eval_range(ra), 0)) { ended = 1; break; }
        uint64_t cfa = ((rule & AT_RULE_CFA_RBP) ? rbp : sp) + (rule >> 12);
        /* the return address and the saved rbp lie in [sp, cfa): both ends checked */
        if ((cfa & 7) || cfa < sp + 8 || cfa > stack_hi || cfa - sp > AT_MAX_FRAME_BYTES) goto decline;
        uint64_t next_ra = ((const uint64_t *)(uintptr_t)cfa)[-1];
        if (rule & AT_RULE_RBP_SAVED) {
            uint64_t at = cfa + (uint64_t)(int64_t)(int8_t)(uint8_t)(rule >> 4) * 8;
            if (at < sp) goto decline;
            rbp = *(const uint64_t *)(uintptr_t)at;
            if (w - 1 < AT_LAST_FRAMES) new_at[w - 1] = at;
        }
        sp = cfa;
        ra = next_ra;
    }
    /* only a stack that ended at its outermost frame (or at the Python cut, which every later walk
     * through the same frames makes too) can stand for the next one's outer part */
    if (ended && w <= AT_LAST_FRAMES) {
        uint64_t h = 0, p = 1;
        for (int t = w - 1; t >= 0; t--) {
            int32_t k = w - 1 - t;
            uint64_t f = new_ra[t];
            if (f - self_lo >= self_len) { h += at_stack_mix(f) * p; p *= AT_STACK_HASH_R; }
            last->sp[k] = new_sp[t]; last->rbp[k] = new_rbp[t];
            last->ra[k] = f; last->rbp_at[k] = new_at[t];
            last->hsum[k] = h; last->hpow[k] = p;
        }
        last->n = (uint32_t)w;
        last->generation = map->generation;
        if (hash) *hash = at_stack_hash_finish(h, (uint64_t)n);
        return n;
    }
    last->n = 0;
done:
    /* truncated, or deeper than the last stack holds */
    if (hash) *hash = at_stack_hash(frames, n);
    return n;
decline:
    if (declined) *declined = ra;
    last->n = 0;
    return -1;
}

int at_capture_cfi(void **frames, int max, uint64_t *declined) {
    return at_capture_cfi_hashed(frames, max, declined, NULL);
}
