/* Stack capture. libunwind's unw_backtrace is a macro-renamed symbol Swift cannot import cleanly;
 * the frame-pointer walk needs the C frame layout; the default (auto) walk is cfi_unwind.c's. */
#define UNW_LOCAL_ONLY
#include "recorder_support.h"

#include <libunwind.h>
#include <string.h>

/* Drops every frame of the recorder's own code: the hooks at the top, and, with the Swift runtime
 * hook, the recorder's frames between swift_allocObject and the allocation it forwards. */
int at_drop_own_frames(void **frames, int n) {
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
    n = at_drop_own_frames(frames, n);
    return at_python_cut(frames, n);
}

/* The CFI unwinder for every frame; libunwind for the stacks it cannot vouch for. `max` counts
 * kept frames; `frames` holds AT_MAX_FRAMES. */
int at_capture_auto_hashed(void **frames, int max, uint64_t *hash) {
    if (__builtin_expect(at_unwind_verify == 0, 1)) {
        int n = at_capture_cfi_hashed(frames, max, NULL, hash);
        if (n >= 0) return n;
    }
    int n;
    if (at_unwind_verify) {
        n = at_capture_verify(frames, max);
    } else {
        /* a few more than max: the recorder's own frames are dropped afterwards */
        n = unw_backtrace(frames, max + 8 < AT_MAX_FRAMES ? max + 8 : AT_MAX_FRAMES);
        if (n < 0) n = 0;
        /* the CFI walk needs the thread's stack bounds: learn them once libunwind shows it is safe */
        at_learn_stack(frames, n);
        n = at_python_cut(frames, at_drop_own_frames(frames, n));
        if (n > max) n = max;
    }
    *hash = at_stack_hash(frames, n);
    return n;
}

int at_capture_auto(void **frames, int max) {
    uint64_t hash;
    return at_capture_auto_hashed(frames, max, &hash);
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
    return at_python_cut(frames, at_drop_own_frames(frames, n));
}
