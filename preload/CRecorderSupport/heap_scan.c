/* Heap-graph capture support: which memory to scan (from /proc/self/maps, the module table and the
 * thread slots) and a read that cannot fault. The scan itself is in Swift (HeapCapture.swift). */
#define _GNU_SOURCE
#include "recorder_support.h"
#include "stop_the_world.h"

#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

/* ---- the recorder's own mappings, left out of every scan ------------------------------------- */
#define AT_OWN_MAX 4096
static uint64_t at_own_lo[AT_OWN_MAX], at_own_hi[AT_OWN_MAX];
static uint32_t at_own_count;

void at_note_own_mapping(void *p, size_t bytes) {
    uint32_t i = __atomic_fetch_add(&at_own_count, 1, __ATOMIC_ACQ_REL);
    if (i >= AT_OWN_MAX) return;
    at_own_lo[i] = (uint64_t)(uintptr_t)p;
    at_own_hi[i] = (uint64_t)(uintptr_t)p + bytes;
}

static int at_add_region(at_region *out, int n, int max, uint64_t lo, uint64_t hi, uint32_t kind, uint64_t owner);

/* Adds [lo, hi) without the recorder's own mappings (the kernel merges neighbouring anonymous
 * mappings, so one line of /proc/self/maps may hold ours and the program's). */
static int at_add_foreign(at_region *out, int n, int max, uint64_t lo, uint64_t hi, uint32_t kind, uint64_t owner) {
    uint32_t count = __atomic_load_n(&at_own_count, __ATOMIC_ACQUIRE);
    if (count > AT_OWN_MAX) count = AT_OWN_MAX;
    for (uint32_t i = 0; i < count; i++) {
        if (at_own_hi[i] <= lo || at_own_lo[i] >= hi) continue;
        if (at_own_lo[i] > lo) n = at_add_foreign(out, n, max, lo, at_own_lo[i], kind, owner);
        if (at_own_hi[i] < hi) n = at_add_foreign(out, n, max, at_own_hi[i], hi, kind, owner);
        return n;
    }
    return at_add_region(out, n, max, lo, hi, kind, owner);
}

size_t at_read_memory(uint64_t address, void *buffer, size_t length) {
    struct iovec local = { buffer, length };
    struct iovec remote = { (void *)(uintptr_t)address, length };
    ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
    return n < 0 ? 0 : (size_t)n;
}

static uint64_t at_hex(const char **p) {
    uint64_t v = 0;
    for (;; (*p)++) {
        char c = **p;
        if (c >= '0' && c <= '9') v = v * 16 + (uint64_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v = v * 16 + (uint64_t)(c - 'a' + 10);
        else return v;
    }
}

static int at_region_order(const void *a, const void *b) {
    const at_region *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Adds [lo, hi) minus the parts already listed (module segments and stacks are listed first). */
static int at_add_region(at_region *out, int n, int max, uint64_t lo, uint64_t hi, uint32_t kind, uint64_t owner) {
    if (lo >= hi || n >= max) return n;
    for (int i = 0; i < n; i++) {
        if (out[i].end <= lo || out[i].start >= hi) continue;
        /* overlap: keep the pieces outside out[i] */
        if (out[i].start > lo) n = at_add_region(out, n, max, lo, out[i].start, kind, owner);
        if (out[i].end < hi) n = at_add_region(out, n, max, out[i].end, hi, kind, owner);
        return n;
    }
    out[n].start = lo;
    out[n].end = hi;
    out[n].kind = kind;
    out[n].owner = owner;
    return n + 1;
}

/* Calls `fn` for each line of /proc/self/maps with its bounds, permissions and path (no malloc). */
static void at_each_mapping(void (*fn)(uint64_t lo, uint64_t hi, const char *perms, const char *path, void *ctx),
                            void *ctx) {
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buf[8192];
    size_t have = 0;
    for (;;) {
        ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
        if (r <= 0 && have == 0) break;
        have += r > 0 ? (size_t)r : 0;
        buf[have] = 0;
        char *line = buf, *nl;
        while ((nl = strchr(line, '\n')) || (r <= 0 && *line)) {
            if (nl) *nl = 0;
            const char *p = line;
            uint64_t lo = at_hex(&p);
            if (*p == '-') p++;
            uint64_t hi = at_hex(&p);
            while (*p == ' ') p++;
            /* offset, device, inode, then the path */
            const char *path = p;
            for (int field = 0; field < 4 && *path; field++) {
                while (*path && *path != ' ') path++;
                while (*path == ' ') path++;
            }
            fn(lo, hi, p, path, ctx);
            if (!nl) { line += strlen(line); break; }
            line = nl + 1;
        }
        size_t rest = strlen(line);
        memmove(buf, line, rest);
        have = rest;
        if (r <= 0) break;
    }
    close(fd);
}

/* A thread's stack is the writable anonymous mapping holding the address it registered with (a
 * stack the program placed inside the brk heap or a file mapping is left to those regions). */
static void at_stack_of_mapping(uint64_t lo, uint64_t hi, const char *perms, const char *path, void *ctx) {
    (void)ctx;
    int anon = *path == 0 || strcmp(path, "[stack]") == 0 || strncmp(path, "[anon", 5) == 0;
    if (perms[0] != 'r' || perms[1] != 'w' || !anon) return;
    uint32_t high = __atomic_load_n(&at_g.slot_high, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < high; i++) {
        at_slot *s = &at_g.slots[i];
        if (s->state != AT_SLOT_ACTIVE || s->stack_hi || s->stack_hint < lo || s->stack_hint >= hi) continue;
        s->stack_lo = lo;
        s->stack_hi = hi;
    }
}

typedef struct { at_region *out; int n, max; } at_region_list;

/* The rest of the writable private memory: the heap, other anonymous mappings. */
static void at_add_anonymous(uint64_t lo, uint64_t hi, const char *perms, const char *path, void *ctx) {
    at_region_list *list = ctx;
    int heap = strcmp(path, "[heap]") == 0;
    int stack = strcmp(path, "[stack]") == 0;
    int anon = *path == 0 || heap || stack || strncmp(path, "[anon", 5) == 0;
    if (perms[0] != 'r' || perms[1] != 'w' || perms[3] != 'p' || !anon) return;
    uint32_t kind = heap ? AT_REGION_HEAP : (stack ? AT_REGION_STACK : AT_REGION_ANON);
    list->n = at_add_foreign(list->out, list->n, list->max, lo, hi, kind, kind == AT_REGION_STACK ? 1 : 0);
}

int at_tls_regions(at_region *out, int max, const uint64_t *tps, const uint64_t *owners, int n) {
    uint64_t below = 0;
    uint32_t modules = __atomic_load_n(&at_g.module_count, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < modules; i++)
        if (!at_g.modules[i].unload_ticks && at_g.modules[i].tls_offset > below) below = at_g.modules[i].tls_offset;
    if (!below) return 0;
    int count = 0;
    for (int i = 0; i < n && count < max; i++) {
        if (!tps[i] || tps[i] < below) continue;
        count = at_add_region(out, count, max, (tps[i] - below) & ~7ull, tps[i], AT_REGION_TLS, owners[i]);
    }
    return count;
}

/* 1 when `v` points right after a call instruction in a module's code (not the recorder's). */
static int at_return_address(uint64_t v) {
    at_code_map *map = __atomic_load_n(&at_g.code_map, __ATOMIC_ACQUIRE);
    if (!map) return 0;
    uint32_t lo = 0, hi = map->count;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (v < map->ranges[mid].lo) hi = mid; else if (v >= map->ranges[mid].hi) lo = mid + 1; else break;
    }
    if (lo >= hi || map->ranges[lo].is_self || v - 8 < map->ranges[lo].lo) return 0;
    uint8_t c[8];
    if (at_read_memory(v - 8, c, 8) != 8) return 0;
    if (c[3] == 0xe8) return 1;                                          /* call rel32 */
    if (c[6] == 0xff && (c[7] & 0xf8) == 0xd0) return 1;                 /* call *%reg */
    if (c[5] == 0x41 && c[6] == 0xff && (c[7] & 0xf8) == 0xd0) return 1; /* call *%r8-15 */
    if (c[5] == 0xff && (c[6] & 0xf8) == 0x50) return 1;                 /* call *disp8(%reg) */
    if (c[2] == 0xff && (c[3] == 0x15 || (c[3] & 0xf8) == 0x90)) return 1; /* call *disp32(%rip / %reg) */
    if (c[4] == 0xff && c[5] == 0x54) return 1;                          /* call *disp8(%reg,%reg) */
    if (c[5] == 0xff && (c[6] & 0xf8) == 0x10) return 1;                 /* call *(%reg) (+ a SIB byte) */
    return 0;
}

int at_stack_frames(uint64_t pc, uint64_t sp, uint64_t hi, uint64_t *pcs, uint64_t *slots, int max, uint64_t *scratch) {
    if (max < 1) return 0;
    int n = 0;
    pcs[n] = pc;
    slots[n++] = sp;
    enum { WORDS = 8192 };
    for (uint64_t at = sp & ~7ull; at < hi && n < max;) {
        size_t want = (size_t)(hi - at < WORDS * 8 ? hi - at : WORDS * 8);
        size_t got = at_read_memory(at, scratch, want) / 8;
        if (!got) break;
        for (size_t i = 0; i < got && n < max; i++) {
            if (!at_return_address(scratch[i])) continue;
            pcs[n] = scratch[i];
            slots[n++] = at + i * 8;
        }
        at += got * 8;
    }
    return n;
}

int at_collect_regions_after(at_region *out, int max, int first) {
    int n = first;
    /* modules' writable segments (.data, .bss): globals */
    uint32_t modules = __atomic_load_n(&at_g.module_count, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < modules; i++) {
        at_module *m = &at_g.modules[i];
        if (m->unload_ticks || m->is_self) continue;
        for (uint32_t k = 0; k < m->nsegs; k++)
            if (m->seg_flags[k] & PF_W)
                n = at_add_region(out, n, max, (m->base + m->seg_vaddr[k]) & ~7ull,
                                  m->base + m->seg_vaddr[k] + m->seg_memsz[k], AT_REGION_MODULE, m->id);
    }
    /* thread stacks, as far as they are known */
    at_each_mapping(at_stack_of_mapping, NULL);
    uint32_t high = __atomic_load_n(&at_g.slot_high, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < high; i++) {
        at_slot *s = &at_g.slots[i];
        if (s->state != AT_SLOT_ACTIVE || !s->stack_hi) continue;
        n = at_add_region(out, n, max, s->stack_lo, s->stack_hi, AT_REGION_STACK, s->thread_index);
    }
    at_region_list list = { out, n, max };
    at_each_mapping(at_add_anonymous, &list);
    n = list.n;
    qsort(out, (size_t)n, sizeof(at_region), at_region_order);
    return n;
}

void at_label_thread_stacks(at_region *regions, int count, at_stw *w) {
    for (uint32_t i = 0; i < w->count; i++) {
        at_stw_thread *t = &w->threads[i];
        if (!at_stw_thread_is_root(t)) continue;
        uint64_t sp = t->regs[AT_REG_RSP];
        for (int k = 0; k < count; k++) {
            if (sp < regions[k].start || sp >= regions[k].end) continue;
            /* a thread that never allocated has no slot and so no known stack: the mapping its
             * stack pointer is in is its stack */
            if (regions[k].kind == AT_REGION_ANON) {
                regions[k].kind = AT_REGION_STACK;
                regions[k].owner = AT_OWNER_TID | (uint32_t)t->tid;
            }
            break;
        }
    }
}

__attribute__((noinline)) void at_run_spilled(void (*body)(void *), void *context) {
    /* the callee-saved registers of every caller stay in this frame while `body` scans the stack */
    __builtin_unwind_init();
    body(context);
    __asm__ __volatile__("" ::: "memory");
}

/* Bytes of the recorder's own mappings (at_map) that are resident: its share of the process's
 * RSS, for the `end` record (docs/FORMAT.md). Writer thread only: mincore over each mapping. */
uint64_t at_own_resident_bytes(void) {
    static unsigned char vec[4096];
    uint32_t count = __atomic_load_n(&at_own_count, __ATOMIC_ACQUIRE);
    if (count > AT_OWN_MAX) count = AT_OWN_MAX;
    uint64_t pages = 0;
    for (uint32_t i = 0; i < count; i++) {
        for (uint64_t a = at_own_lo[i] & ~4095ull; a < at_own_hi[i]; a += sizeof vec * 4096ull) {
            uint64_t len = at_own_hi[i] - a;
            if (len > sizeof vec * 4096ull) len = sizeof vec * 4096ull;
            if (mincore((void *)(uintptr_t)a, (size_t)len, vec) != 0) break;
            for (uint64_t k = 0; k < (len + 4095) / 4096; k++) pages += vec[k] & 1;
        }
    }
    return pages * 4096;
}
