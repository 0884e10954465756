/* ALLOCTRACE_UNWIND=verify: the CFI unwinder checked against libunwind on every stack.
 *
 * The analyzer's reports and tests take libunwind's stacks as the truth, so the CFI unwinder must
 * give the same frames or decline. This mode runs both, records the CFI unwinder's stack, and
 * prints at exit how many stacks there were, how many it declined (and where), and the first
 * disagreements with symbol names. Slow and stderr-printing: a tool for checking, not for use. */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include "recorder_support.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <libunwind.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

uint32_t at_unwind_verify;
/* a copy of stderr taken at start-up: programs such as ls close stderr before destructors run */
static int at_v_fd = 2;

void at_set_unwind_verify(uint32_t on) {
    at_unwind_verify = on;
    int fd = fcntl(2, F_DUPFD_CLOEXEC, 900);
    if (fd >= 0) at_v_fd = fd;
}

static uint64_t at_v_stacks, at_v_declined, at_v_mismatches, at_v_hash_mismatches;

#define AT_V_KEEP 4
#define AT_V_FRAMES 48
static uint32_t at_v_kept;
static struct { int n_cfi, n_lib; uint64_t cfi[AT_V_FRAMES], lib[AT_V_FRAMES]; } at_v_samples[AT_V_KEEP];

/* Return addresses the CFI unwinder could not pass, with counts (0: no stack bounds). */
#define AT_V_DECLINE_SITES 16
static uint64_t at_v_decline_site[AT_V_DECLINE_SITES], at_v_decline_count[AT_V_DECLINE_SITES];

static void at_v_note_decline(uint64_t site) {
    site |= 1ull << 63;  /* 0 stays the empty marker */
    for (int i = 0; i < AT_V_DECLINE_SITES; i++) {
        uint64_t k = __atomic_load_n(&at_v_decline_site[i], __ATOMIC_RELAXED);
        if (k == 0) {
            uint64_t expected = 0;
            if (__atomic_compare_exchange_n(&at_v_decline_site[i], &expected, site, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) k = site;
            else k = expected;
        }
        if (k == site) { __atomic_add_fetch(&at_v_decline_count[i], 1, __ATOMIC_RELAXED); return; }
    }
}

int at_capture_verify(void **frames, int max) {
    void *cfi[AT_MAX_FRAMES], *lib[AT_MAX_FRAMES];
    __atomic_add_fetch(&at_v_stacks, 1, __ATOMIC_RELAXED);
    uint64_t declined = 0, hash = 0;
    int nc = at_capture_cfi_hashed(cfi, AT_MAX_FRAMES, &declined, &hash);
    /* the walk's hash, continued from the last stack's partial sums, must be the stack's own */
    if (nc >= 0 && hash != at_stack_hash(cfi, nc)) {
        __atomic_add_fetch(&at_v_hash_mismatches, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&at_v_mismatches, 1, __ATOMIC_RELAXED);
    }
    int nl = unw_backtrace(lib, AT_MAX_FRAMES);
    if (nl < 0) nl = 0;
    /* as at_capture_auto does: without the bounds the CFI walk declines every stack, and there
     * would be nothing to compare */
    at_learn_stack(lib, nl);
    nl = at_python_cut(lib, at_drop_own_frames(lib, nl));   /* where the CFI walk stops too */
    const void *const *use = (const void *const *)lib;
    int n = nl;
    if (nc < 0) {
        __atomic_add_fetch(&at_v_declined, 1, __ATOMIC_RELAXED);
        at_v_note_decline(declined);
    } else {
        nc = at_drop_own_frames(cfi, nc);  /* none left: the walk dropped them */
        if (nc != nl || memcmp(cfi, lib, (size_t)nc * sizeof(void *)) != 0) {
            __atomic_add_fetch(&at_v_mismatches, 1, __ATOMIC_RELAXED);
            uint32_t k = __atomic_fetch_add(&at_v_kept, 1, __ATOMIC_RELAXED);
            if (k < AT_V_KEEP) {
                at_v_samples[k].n_cfi = nc < AT_V_FRAMES ? nc : AT_V_FRAMES;
                at_v_samples[k].n_lib = nl < AT_V_FRAMES ? nl : AT_V_FRAMES;
                memcpy(at_v_samples[k].cfi, cfi, (size_t)at_v_samples[k].n_cfi * 8);
                memcpy(at_v_samples[k].lib, lib, (size_t)at_v_samples[k].n_lib * 8);
            }
        }
        use = (const void *const *)cfi;
        n = nc;
    }
    if (n > max) n = max;
    memcpy(frames, use, (size_t)n * sizeof(void *));
    return n;
}

static void at_v_print_frame(const char *side, int i, uint64_t ip) {
    Dl_info info;
    char line[512];
    const char *name = "?", *module = "?";
    uint64_t off = 0;
    if (dladdr((void *)(uintptr_t)(ip - 1), &info)) {
        if (info.dli_sname) { name = info.dli_sname; off = ip - (uint64_t)(uintptr_t)info.dli_saddr; }
        else off = ip - (uint64_t)(uintptr_t)info.dli_fbase;
        if (info.dli_fname) { module = strrchr(info.dli_fname, '/'); module = module ? module + 1 : info.dli_fname; }
    }
    int len = snprintf(line, sizeof line, "alloctrace:   %s #%d 0x%llx %s+0x%llx (%s)\n", side, i,
                       (unsigned long long)ip, name, (unsigned long long)off, module);
    if (len > 0) at_write_all(at_v_fd, line, (size_t)(len < (int)sizeof line ? len : (int)sizeof line - 1));
}

__attribute__((destructor))
static void at_v_report(void) {
    if (!at_unwind_verify) return;
    char line[256];
    int len = snprintf(line, sizeof line, "alloctrace: unwind verify (pid %d): %llu stacks, %llu declined (libunwind), %llu mismatches\n",
                       (int)getpid(), (unsigned long long)at_v_stacks, (unsigned long long)at_v_declined,
                       (unsigned long long)at_v_mismatches);
    at_write_all(at_v_fd, line, (size_t)len);
    if (at_v_hash_mismatches) {
        len = snprintf(line, sizeof line, "alloctrace:   of which %llu had a walk hash other than at_stack_hash's\n",
                       (unsigned long long)at_v_hash_mismatches);
        at_write_all(at_v_fd, line, (size_t)len);
    }
    for (int i = 0; i < AT_V_DECLINE_SITES && at_v_decline_site[i]; i++) {
        len = snprintf(line, sizeof line, "alloctrace:   declined %llu stacks at:\n",
                       (unsigned long long)at_v_decline_count[i]);
        at_write_all(at_v_fd, line, (size_t)len);
        at_v_print_frame("   ", 0, at_v_decline_site[i] & ~(1ull << 63));
    }
    uint32_t kept = at_v_kept < AT_V_KEEP ? at_v_kept : AT_V_KEEP;
    for (uint32_t k = 0; k < kept; k++) {
        len = snprintf(line, sizeof line, "alloctrace:   mismatch %u: cfi %d frames, libunwind %d frames\n",
                       k + 1, at_v_samples[k].n_cfi, at_v_samples[k].n_lib);
        at_write_all(at_v_fd, line, (size_t)len);
        for (int i = 0; i < at_v_samples[k].n_cfi; i++) at_v_print_frame("cfi", i, at_v_samples[k].cfi[i]);
        for (int i = 0; i < at_v_samples[k].n_lib; i++) at_v_print_frame("lib", i, at_v_samples[k].lib[i]);
    }
}
