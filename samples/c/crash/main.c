/* sample-crash MODE: allocates 5 blocks of 100 bytes (mark "allocated"), frees one, then ends by
 * MODE: "segv" (writes through a null pointer), "abort" (abort()), "_exit" (_exit(4), which skips
 * atexit handlers and destructors) or "exit" (exit(0)).
 * Expected: malloc=5 frees=1 before the end; exit status 139 (segv), 134 (abort), 4 (_exit), 0.
 * The recorder flushes on the fatal signal and on _exit: the trace is complete in every mode, its
 * end record says "fatal signal" with the signal number, or "exit" with the status. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloctrace.h"

static void *blocks[5];

__attribute__((noinline)) static void allocate(void) {
    for (int i = 0; i < 5; i++) blocks[i] = malloc(100);
    free(blocks[0]);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "exit";
    allocate();
    ALLOCTRACE_MARK("allocated");
    if (strcmp(mode, "segv") == 0) {
        volatile int *nothing = (volatile int *)(uintptr_t)(argc - argc);
        *nothing = 1;
    } else if (strcmp(mode, "abort") == 0) {
        abort();
    } else if (strcmp(mode, "_exit") == 0) {
        _exit(4);
    }
    return 0;
}
