/* Stack capture. libunwind's unw_backtrace is a macro-renamed symbol Swift cannot import cleanly;
 * the frame-pointer walk needs the C frame layout. */
#define UNW_LOCAL_ONLY
#include "recorder_support.h"

#include <libunwind.h>

static int at_drop_own_frames(void **frames, int n) {
    int skip = 0;
    while (skip < n && (uint64_t)frames[skip] >= at_g.self_text_start &&
           (uint64_t)frames[skip] < at_g.self_text_end)
        skip++;
    if (skip == 0) return n;
    for (int i = skip; i < n; i++) frames[i - skip] = frames[i];
    return n - skip;
}

int at_capture_libunwind(void **frames, int max) {
    /* ask for a few more frames than kept: the recorder's own frames are dropped afterwards */
    int n = unw_backtrace(frames, max);
    if (n < 0) return 0;
    return at_drop_own_frames(frames, n);
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
