/* Stack capture. libunwind's unw_backtrace is a macro-renamed symbol Swift cannot import cleanly;
 * the frame-pointer walk needs the C frame layout. */
#define UNW_LOCAL_ONLY
#include "recorder_support.h"

#include <libunwind.h>
#include <string.h>

/* Drops every frame of the recorder's own code: the hooks at the top, and, with the Swift runtime
 * hook, the recorder's frames between swift_allocObject and the allocation it forwards. */
static int at_drop_own_frames(void **frames, int n) {
    int kept = 0;
    for (int i = 0; i < n; i++) {
        uint64_t ip = (uint64_t)frames[i];
        if (ip >= at_g.self_text_start && ip < at_g.self_text_end) continue;
        frames[kept++] = frames[i];
    }
    return kept;
}

int at_capture_libunwind(void **frames, int max) {
    /* ask for a few more frames than kept: the recorder's own frames are dropped afterwards */
    int n = unw_backtrace(frames, max);
    if (n < 0) return 0;
    return at_drop_own_frames(frames, n);
}

/* The code range holding `ip`, or NULL. */
static const at_code_range *at_range_of(const at_code_map *map, uint64_t ip) {
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

/* ---- per-function frame-pointer verdicts ------------------------------------------------------
 * A frame-pointer walk is only as good as the functions it passes through: the link after a
 * return address is valid only if the function holding that address keeps rbp as its frame
 * pointer. That is read from the function's FDE in .eh_frame (its prologue's call-frame program
 * says "def_cfa_register rbp"), found through .eh_frame_hdr's sorted table, and remembered per
 * return address in a lock-free table. */
enum { AT_V_UNKNOWN = 0, AT_V_FP = 1, AT_V_START = 2, AT_V_NO = 3 };
#define AT_VERDICT_SLOTS (1u << 16)
static uint64_t at_verdict_keys[AT_VERDICT_SLOTS];
static uint8_t at_verdict_values[AT_VERDICT_SLOTS];

static int32_t at_read_s32(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

/* 1 when the function around `ip` keeps a frame pointer, 0 when not or unknown. */
static int at_function_keeps_fp(uint64_t ip, const at_code_range *r) {
    const uint8_t *hdr = (const uint8_t *)r->eh_frame_hdr;
    if (!hdr || hdr[0] != 1 || hdr[2] != 0x03 || hdr[3] != 0x3b) return 0;  /* udata4 count, datarel sdata4 table */
    uint32_t count;
    memcpy(&count, hdr + 8, 4);
    const uint8_t *table = hdr + 12;
    uint32_t lo = 0, hi = count;
    while (lo < hi) {  /* last entry with initial_location <= ip */
        uint32_t mid = (lo + hi) / 2;
        uint64_t start = (uint64_t)(uintptr_t)hdr + (int64_t)at_read_s32(table + 8 * mid);
        if (start <= ip) lo = mid + 1; else hi = mid;
    }
    if (lo == 0) return 0;
    const uint8_t *fde = hdr + at_read_s32(table + 8 * (lo - 1) + 4);
    uint32_t len;
    memcpy(&len, fde, 4);
    if (len == 0 || len == 0xffffffffu) return 0;
    const uint8_t *end = fde + 4 + len;
    uint64_t pc_begin = (uint64_t)(uintptr_t)(fde + 8) + (int64_t)at_read_s32(fde + 8);
    uint32_t pc_range;
    memcpy(&pc_range, fde + 12, 4);
    if (ip < pc_begin || ip >= pc_begin + pc_range) return 0;
    const uint8_t *q = fde + 16;
    uint64_t aug = 0;
    int shift = 0;
    while (q < end) { uint8_t b = *q++; aug |= (uint64_t)(b & 0x7f) << shift; shift += 7; if (!(b & 0x80)) break; }
    q += aug;
    for (; q + 1 < end && q < fde + 16 + 40; q++)
        if (q[0] == 0x0d && q[1] == 0x06) return 1;
    return 0;
}

/* True when libc's frame at `ret` is where the thread started (__libc_start_call_main, start_thread):
 * judged once per address by a full libunwind walk, which must end within two frames after it.
 * Any other libc frame (strdup, stdio, a qsort callback) has callers worth keeping. */
static int at_is_thread_start(uint64_t ret) {
    void *frames[AT_MAX_FRAMES];
    int n = unw_backtrace(frames, AT_MAX_FRAMES);
    for (int i = 0; i < n; i++)
        if ((uint64_t)frames[i] == ret) return n - i - 1 <= 2;
    return 0;
}

static int at_verdict(uint64_t ret, const at_code_range *r) {
    uint32_t h = (uint32_t)((ret * 0x9E3779B97F4A7C15ull) >> 48);
    for (uint32_t i = 0; i < 32; i++) {
        uint32_t slot = (h + i) & (AT_VERDICT_SLOTS - 1);
        uint64_t k = __atomic_load_n(&at_verdict_keys[slot], __ATOMIC_ACQUIRE);
        if (k == ret) {
            uint8_t v = __atomic_load_n(&at_verdict_values[slot], __ATOMIC_ACQUIRE);
            if (v != AT_V_UNKNOWN) return v;
            break;
        }
        if (k == 0) {
            int v = r->frame_pointers ? (at_function_keeps_fp(ret - 1, r) ? AT_V_FP : AT_V_NO) : AT_V_NO;
            if (v == AT_V_NO && r->is_libc && at_is_thread_start(ret)) v = AT_V_START;
            uint64_t expected = 0;
            if (__atomic_compare_exchange_n(&at_verdict_keys[slot], &expected, ret, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                __atomic_store_n(&at_verdict_values[slot], (uint8_t)v, __ATOMIC_RELEASE);
            return v;
        }
    }
    int v = r->frame_pointers && at_function_keeps_fp(ret - 1, r) ? AT_V_FP : AT_V_NO;
    return v == AT_V_NO && r->is_libc && at_is_thread_start(ret) ? AT_V_START : v;
}

int at_capture_auto(void **frames, int max) {
    const at_code_map *map = __atomic_load_n(&at_g.code_map, __ATOMIC_ACQUIRE);
    if (!map) return at_capture_libunwind(frames, max);
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    const at_code_range *last = NULL;
    int n = 0;
    while (n < max) {
        if (!fp || (fp & 7)) break;
        uintptr_t next = ((uintptr_t *)fp)[0];
        uint64_t ret = ((uintptr_t *)fp)[1];
        const at_code_range *r = (last && ret >= last->lo && ret < last->hi) ? last : at_range_of(map, ret);
        if (!r) return at_capture_libunwind(frames, max);      /* not code: the chain is broken */
        last = r;
        frames[n++] = (void *)ret;
        if (r->is_self) { fp = next; continue; }               /* the recorder keeps frame pointers */
        int v = at_verdict(ret, r);
        if (v == AT_V_START) return at_drop_own_frames(frames, n); /* the thread's start in libc */
        if (v != AT_V_FP) return at_capture_libunwind(frames, max);
        if (next <= fp || next - fp > (8u << 20)) break;
        fp = next;
    }
    return at_capture_libunwind(frames, max);
}

int at_capture_frame_pointers(void **frames, int max) {
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    uintptr_t limit = fp + (64u << 20);
    int n = 0;
    while (n < max && fp && (fp & 7) == 0 && fp < limit) {
        uintptr_t next = ((uintptr_t *)fp)[0];
        uintptr_t ret = ((uintptr_t *)fp)[1];
        if (!ret) break;
        frames[n++] = (void *)ret;
        if (next <= fp) break;
        fp = next;
    }
    return at_drop_own_frames(frames, n);
}
