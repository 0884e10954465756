/* sample-exec: allocation counts across execv() of the same program.
 *
 * Usage: sample-exec            phase 1, which execs "/proc/self/exe phase2"
 *        sample-exec phase2     phase 2 (normally only run by phase 1)
 *
 * Phase 1: mark "phase1-start"; 4 x malloc(512); frees the first one; mark "phase1-end"; prints its
 *          line; execv("/proc/self/exe", {argv[0], "phase2", NULL}). The 3 blocks still allocated
 *          are live when the image is replaced (execv does not free them; they vanish with the image).
 * Phase 2: mark "phase2-start"; 6 x malloc(2048); frees the first two; mark "phase2-end"; prints
 *          its line; exits 0. The pid is the same in both phases.
 * Only malloc and free are called; execv and write do not allocate (no stdio).
 *
 * Expected figures per process image:
 *   phase 1: malloc=4 bytes_allocated=2048 frees=1 live_at_exec_blocks=3 live_at_exec_bytes=1536
 *            peak_bytes=2048; ends with execv (trace's last record: exec)
 *   phase 2: malloc=6 bytes_allocated=12288 frees=2 leaked_blocks=4 leaked_bytes=8192
 *            peak_bytes=12288; exits with status 0
 *
 * Output on stderr (phase 1's line first):
 *   exec expected: phase=1 pid=<pid> mallocs=4 bytes=2048 frees=1 live_blocks=3 live_bytes=1536 peak_bytes=2048
 *   exec expected: phase=2 pid=<pid> mallocs=6 bytes=12288 frees=2 leaked_blocks=4 leaked_bytes=8192 peak_bytes=12288
 * If execv fails phase 1 prints "exec: execv failed" and exits 1.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloctrace.h"

#if defined(__clang__)
#define NOINLINE __attribute__((noinline, disable_tail_calls))
#else
#define NOINLINE __attribute__((noinline, noipa))
#endif

static void *volatile blocks[6];

NOINLINE static void *phase1_alloc(size_t n) { void *p = malloc(n); if (!p) abort(); return p; }
NOINLINE static void *phase2_alloc(size_t n) { void *p = malloc(n); if (!p) abort(); return p; }
NOINLINE static void release(void *p) { free(p); }

static void say(const char *buf, int len) { (void)!write(2, buf, (size_t)len); }

NOINLINE static int phase1(char *argv0) {
    ALLOCTRACE_MARK("phase1-start");
    for (int i = 0; i < 4; i++) blocks[i] = phase1_alloc(512);
    release(blocks[0]); blocks[0] = NULL;
    ALLOCTRACE_MARK("phase1-end");
    char buf[256];
    int len = snprintf(buf, sizeof buf,
        "exec expected: phase=1 pid=%d mallocs=4 bytes=2048 frees=1 live_blocks=3 live_bytes=1536 "
        "peak_bytes=2048\n", (int)getpid());
    say(buf, len);
    char *args[] = {argv0, (char *)"phase2", NULL};
    execv("/proc/self/exe", args);
    static const char msg[] = "exec: execv failed\n";
    say(msg, (int)sizeof msg - 1);
    return 1;
}

NOINLINE static int phase2(void) {
    ALLOCTRACE_MARK("phase2-start");
    for (int i = 0; i < 6; i++) blocks[i] = phase2_alloc(2048);
    for (int i = 0; i < 2; i++) { release(blocks[i]); blocks[i] = NULL; }
    ALLOCTRACE_MARK("phase2-end");
    char buf[256];
    int len = snprintf(buf, sizeof buf,
        "exec expected: phase=2 pid=%d mallocs=6 bytes=12288 frees=2 leaked_blocks=4 leaked_bytes=8192 "
        "peak_bytes=12288\n", (int)getpid());
    say(buf, len);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "phase2") == 0) return phase2();
    return phase1(argv[0]);
}
