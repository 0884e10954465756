/* sample-fork: allocation counts per process across fork().
 *
 * Parent (before fork):  A = 3 x malloc(1000)                              [mark "start" before]
 * fork()
 * Child (after fork):    mark "child-start"; B = 7 x malloc(200); frees C = 4 of them (its first
 *                        four); mark "child-end"; prints its line; exit(0). The child never
 *                        touches the three blocks it inherited from the parent.
 * Parent (after fork):   waitpid(child); mark "after-wait"; D = 5 x malloc(3000); frees the 5 D
 *                        blocks and 2 of the 3 A blocks (the first two); mark "end"; prints its line.
 * Only malloc and free are called; fork, waitpid, exit and write do not allocate (no stdio).
 *
 * Expected figures (each process's own trace; the child's counts only what it did after fork):
 *   parent: malloc=8 (3 x 1000 + 5 x 3000) bytes_allocated=18000 frees=7
 *           leaked_blocks=1 leaked_bytes=1000 (the third A block) peak_bytes=18000
 *   child:  malloc=7 (7 x 200) bytes_allocated=1400 frees=4
 *           leaked_blocks=3 leaked_bytes=600 peak_bytes=1400 (counting only blocks it allocated;
 *           the 3 inherited 1000-byte blocks are still mapped in the child but were never
 *           allocated or freed by it)
 * Marks: parent "start", "after-wait", "end"; child "child-start", "child-end".
 *
 * Output on stderr, one line per process, the child's first (the parent prints after waitpid):
 *   fork expected: role=child pid=<child pid> ppid=<parent pid> mallocs=7 bytes=1400 frees=4 leaked_blocks=3 leaked_bytes=600 peak_bytes=1400
 *   fork expected: role=parent pid=<parent pid> child=<child pid> mallocs=8 bytes=18000 frees=7 leaked_blocks=1 leaked_bytes=1000 peak_bytes=18000 child_status=0
 * The parent exits 1 if the child did not exit with status 0.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloctrace.h"

#if defined(__clang__)
#define NOINLINE __attribute__((noinline, disable_tail_calls))
#else
#define NOINLINE __attribute__((noinline, noipa))
#endif

static void *volatile a_blocks[3], *volatile b_blocks[7], *volatile d_blocks[5];

NOINLINE static void *parent_alloc(size_t n) { void *p = malloc(n); if (!p) abort(); return p; }
NOINLINE static void *child_alloc(size_t n) { void *p = malloc(n); if (!p) abort(); return p; }
NOINLINE static void release(void *p) { free(p); }

static void say(const char *buf, int len) { (void)!write(2, buf, (size_t)len); }

NOINLINE static void child(void) {
    ALLOCTRACE_MARK("child-start");
    for (int i = 0; i < 7; i++) b_blocks[i] = child_alloc(200);
    for (int i = 0; i < 4; i++) { release(b_blocks[i]); b_blocks[i] = NULL; }
    ALLOCTRACE_MARK("child-end");
    char buf[256];
    int len = snprintf(buf, sizeof buf,
        "fork expected: role=child pid=%d ppid=%d mallocs=7 bytes=1400 frees=4 leaked_blocks=3 "
        "leaked_bytes=600 peak_bytes=1400\n", (int)getpid(), (int)getppid());
    say(buf, len);
    exit(0);
}

int main(void) {
    ALLOCTRACE_MARK("start");
    for (int i = 0; i < 3; i++) a_blocks[i] = parent_alloc(1000);

    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) child();

    int status = -1;
    if (waitpid(pid, &status, 0) != pid) return 1;
    ALLOCTRACE_MARK("after-wait");
    for (int i = 0; i < 5; i++) d_blocks[i] = parent_alloc(3000);
    for (int i = 0; i < 5; i++) { release(d_blocks[i]); d_blocks[i] = NULL; }
    for (int i = 0; i < 2; i++) { release(a_blocks[i]); a_blocks[i] = NULL; }
    ALLOCTRACE_MARK("end");

    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    char buf[256];
    int len = snprintf(buf, sizeof buf,
        "fork expected: role=parent pid=%d child=%d mallocs=8 bytes=18000 frees=7 leaked_blocks=1 "
        "leaked_bytes=1000 peak_bytes=18000 child_status=%d\n", (int)getpid(), (int)pid, code);
    say(buf, len);
    return code == 0 ? 0 : 1;
}
