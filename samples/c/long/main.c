/* sample-long: a long-running program, for traces cut short by SIGKILL.
 *
 * Usage: sample-long            runs until killed
 *        sample-long R          runs R rounds (R >= 1), then exits 0
 *        sample-long term       runs until SIGTERM, which its own handler catches: the handler sets a
 *                               flag, the loop sees it after its round, writes "sigterm handled\n" on
 *                               stdout and main returns 0 (traced or not: the recorder leaves a
 *                               program's own handler alone)
 *
 * One round = 1000 x { p = malloc(64); free(p); } then usleep(1000).
 * After the first 10 rounds (10000 malloc + 10000 free) it records the mark "ready" and then
 * writes "ready\n" to stdout (write(2), no stdio), once. Tests wait for that line, sleep > 1 s
 * (one flush interval) and SIGKILL the process: the trace must then hold at least 10000 mallocs
 * of 64 bytes, at least 9999 frees (a malloc/free pair may be cut in half only at the very end),
 * and the mark "ready", and must not be complete (no `end` record).
 * Only malloc and free are called (sleeping and writing do not allocate). At any moment at most one
 * block (64 bytes) is live: peak_bytes=64.
 *
 * With R rounds it exits normally and prints on stderr (R=20 shown):
 *   long expected: rounds=20 mallocs=20000 frees=20000 bytes=1280000 leaked_blocks=0 leaked_bytes=0 peak_bytes=64
 * R < 10 exits without printing "ready" or recording the mark.
 */
#define _GNU_SOURCE
#include <signal.h>
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

enum { PER_ROUND = 1000, SIZE = 64, READY_ROUNDS = 10 };

static void *volatile slot;

NOINLINE static void round_of_pairs(void) {
    for (int i = 0; i < PER_ROUND; i++) {
        slot = malloc(SIZE);
        if (!slot) abort();
        free(slot);
        slot = NULL;
    }
}

static volatile sig_atomic_t term_seen;

static void on_term(int sig) {
    (void)sig;
    term_seen = 1;
}

int main(int argc, char **argv) {
    long rounds = -1; /* forever */
    int handles_term = argc > 1 && strcmp(argv[1], "term") == 0;
    if (handles_term) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_term;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
    } else if (argc > 1) {
        rounds = strtol(argv[1], NULL, 10);
        if (rounds < 1) {
            static const char usage[] = "usage: sample-long [ROUNDS | term]   (ROUNDS >= 1)\n";
            (void)!write(2, usage, sizeof usage - 1);
            return 2;
        }
    }
    for (long r = 0; rounds < 0 || r < rounds; r++) {
        round_of_pairs();
        if (r + 1 == READY_ROUNDS) {
            ALLOCTRACE_MARK("ready");
            static const char ready[] = "ready\n";
            (void)!write(1, ready, sizeof ready - 1);
        }
        usleep(1000);
        if (term_seen) {
            static const char handled[] = "sigterm handled\n";
            (void)!write(1, handled, sizeof handled - 1);
            return 0;
        }
    }
    char buf[256];
    int len = snprintf(buf, sizeof buf,
        "long expected: rounds=%ld mallocs=%ld frees=%ld bytes=%ld leaked_blocks=0 leaked_bytes=0 "
        "peak_bytes=%d\n", rounds, rounds * PER_ROUND, rounds * PER_ROUND, rounds * PER_ROUND * SIZE, SIZE);
    (void)!write(2, buf, (size_t)len);
    return 0;
}
