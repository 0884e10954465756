/* ns per stack of the recorder's unwinders, measured inside a traced process.
 *
 *   gcc -O2 -fomit-frame-pointer -o stack_ns stack_ns.c -ldl
 *   LD_PRELOAD=.../libAllocTracePreload.so ALLOCTRACE_OUTPUT=/tmp/s.atrace ./stack_ns [DEPTH] [N]
 *
 * Recurses DEPTH frames (no frame pointers, like distribution code and Swift -O) and captures the
 * stack N times with each of the library's capture functions (found with dlsym), 7 rounds each;
 * prints the median ns per stack and the frames each returned. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int (*capture_fn)(void **, int);
static const char *names[] = { "at_capture_auto", "at_capture_libunwind", "at_capture_frame_pointers" };
static double results[3];
static int frames_found[3];
static long rounds_n;

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }

__attribute__((noinline)) static int measure(void) {
    void *frames[256];
    for (int m = 0; m < 3; m++) {
        capture_fn fn = (capture_fn)dlsym(RTLD_DEFAULT, names[m]);
        if (!fn) { fprintf(stderr, "%s not found: run under LD_PRELOAD=libAllocTracePreload.so\n", names[m]); exit(1); }
        double r[7];
        for (int k = 0; k < 7; k++) {
            double t0 = now_ns();
            for (long i = 0; i < rounds_n; i++) frames_found[m] = fn(frames, 72);
            r[k] = (now_ns() - t0) / rounds_n;
        }
        qsort(r, 7, sizeof r[0], cmp);
        results[m] = r[3];
    }
    return frames_found[0];
}

__attribute__((noinline)) static int recurse(int d) {
    volatile char pad[24];
    pad[0] = (char)d;
    int r = d == 0 ? measure() : recurse(d - 1);
    return r + pad[0] * 0;  /* work after the call: no tail call */
}

int main(int argc, char **argv) {
    int depth = argc > 1 ? atoi(argv[1]) : 20;
    rounds_n = argc > 2 ? atol(argv[2]) : 200000;
    free(malloc(16));  /* registers this thread with the recorder (its stack bounds) */
    recurse(depth);
    for (int m = 0; m < 3; m++) printf("%-26s %7.1f ns/stack  %d frames\n", names[m], results[m], frames_found[m]);
    return 0;
}
