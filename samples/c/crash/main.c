/* sample-crash MODE: allocates 5 blocks of 100 bytes (mark "allocated"), frees one, then ends by
 * MODE: "segv" (writes through a null pointer), "abort" (abort()), "_exit" (_exit(4), which skips
 * atexit handlers and destructors) or "exit" (exit(0)).
 * Expected: malloc=5 frees=1 before the end; exit status 139 (segv), 134 (abort), 4 (_exit), 0.
 * The recorder flushes on the fatal signal and on _exit: the trace is complete in every mode, its
 * end record says "fatal signal" with the signal number, or "exit" with the status.
 *
 * MODE "dispositions": before anything else, counts the signals whose disposition is not SIG_DFL
 * (none in a plain process: the recorder's own handlers must not show), installs its own SIGSEGV
 * handler with signal() and reads it back with sigaction(), sets SIGABRT to SIG_DFL explicitly,
 * prints "dispositions: custom=0 own=ok", then allocates as above and calls abort() (status 134;
 * the recorder still ends the trace with "fatal signal 6"). */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloctrace.h"

static void *blocks[5];

__attribute__((noinline)) static void allocate(void) {
    for (int i = 0; i < 5; i++) blocks[i] = malloc(100);
    free(blocks[0]);
}

static void own_segv_handler(int sig) { (void)sig; _exit(99); }

/* Prints what the program sees of its signal dispositions, as described at the top. */
static void show_dispositions(void) {
    int custom = 0;
    for (int sig = 1; sig < NSIG; sig++) {
        struct sigaction old;
        if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &old) != 0) continue;
        if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) custom++;
    }
    int own = signal(SIGSEGV, own_segv_handler) == SIG_DFL;
    struct sigaction now;
    own = own && sigaction(SIGSEGV, NULL, &now) == 0 && now.sa_handler == own_segv_handler;
    own = own && signal(SIGSEGV, SIG_DFL) == own_segv_handler;
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    own = own && sigaction(SIGABRT, &dfl, NULL) == 0;
    char line[64];
    int n = snprintf(line, sizeof line, "dispositions: custom=%d own=%s\n", custom, own ? "ok" : "wrong");
    (void)!write(1, line, (size_t)n);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "exit";
    if (strcmp(mode, "dispositions") == 0) show_dispositions();
    allocate();
    ALLOCTRACE_MARK("allocated");
    if (strcmp(mode, "segv") == 0) {
        volatile int *nothing = (volatile int *)(uintptr_t)(argc - argc);
        *nothing = 1;
    } else if (strcmp(mode, "abort") == 0 || strcmp(mode, "dispositions") == 0) {
        abort();
    } else if (strcmp(mode, "_exit") == 0) {
        _exit(4);
    }
    return 0;
}
