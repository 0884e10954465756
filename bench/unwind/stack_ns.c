/* ns per stack of the recorder's unwinders, measured inside a traced process.
 *
 *   gcc -O2 -fomit-frame-pointer -o stack_ns stack_ns.c -ldl
 *   LD_PRELOAD=.../libAllocTracePreload.so ALLOCTRACE_OUTPUT=/tmp/s.atrace ./stack_ns [DEPTH] [N]
 *
 * Recurses DEPTH frames (no frame pointers, like distribution code and Swift -O) and captures the
 * stack N times with each of the library's capture functions (found with dlsym), 7 rounds each;
 * prints the median ns per stack and the frames each returned.
 *
 *   ./stack_ns DEPTH N vary
 *
 * instead recurses to a random depth 1..DEPTH before every capture, as bench/workloads/churn.c
 * does (built with -fno-omit-frame-pointer it is churn's case): the time of the same recursion
 * around an empty function is subtracted. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
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

static int vary_depth;

static int nothing(void **frames, int max) { (void)frames; return max; }
static uint64_t vary_rng = 0x9E3779B97F4A7C15ull;
static capture_fn vary_fn;
static void **vary_frames;
__attribute__((noinline)) static int vary(int d) {
    volatile char pad[24];
    pad[0] = (char)d;
    int r = d == 0 ? vary_fn(vary_frames, 72) : vary(d - 1);
    return r + pad[0] * 0;
}
/* median ns per call of fn at random depths, recursion included */
static double vary_round(capture_fn fn, void **frames, int *found) {
    double r[7];
    vary_fn = fn;
    vary_frames = frames;
    for (int k = 0; k < 7; k++) {
        vary_rng = 0x9E3779B97F4A7C15ull;
        double t0 = now_ns();
        for (long i = 0; i < rounds_n; i++) {
            vary_rng ^= vary_rng >> 12; vary_rng ^= vary_rng << 25; vary_rng ^= vary_rng >> 27;
            *found = vary((int)((vary_rng * 0x2545F4914F6CDD1Dull) >> 40) % vary_depth);
        }
        r[k] = (now_ns() - t0) / rounds_n;
    }
    qsort(r, 7, sizeof r[0], cmp);
    return r[3];
}

__attribute__((noinline)) static int measure(void) {
    void *frames[256];
    for (int m = 0; m < 3; m++) {
        capture_fn fn = (capture_fn)dlsym(RTLD_DEFAULT, names[m]);
        if (!fn) { fprintf(stderr, "%s not found: run under LD_PRELOAD=libAllocTracePreload.so\n", names[m]); exit(1); }
        if (vary_depth) {
            int ignored;
            results[m] = vary_round(fn, frames, &frames_found[m]) - vary_round(nothing, frames, &ignored);
            continue;
        }
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
    if (argc > 3 && strcmp(argv[3], "vary") == 0) vary_depth = depth > 0 ? depth : 1;
    free(malloc(16));  /* registers this thread with the recorder (its stack bounds) */
    recurse(depth);
    for (int m = 0; m < 3; m++) printf("%-26s %7.1f ns/stack  %d frames\n", names[m], results[m], frames_found[m]);
    return 0;
}
