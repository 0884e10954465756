/* sample-hostile MODE: programs that do what a careful program may do and a recorder must survive
 * unchanged (issue 17). Output is write(2) of snprintf'd lines; exit status 0 unless said.
 *
 * first-fd     opens /dev/null and prints "first fd=3": the recorder holds no low descriptor.
 * close-range  closes every descriptor from 3 up (close_range), opens victim.txt (in the current
 *              folder) 1000 times, writes one byte through the first, then allocates 200000
 *              blocks of 64 bytes over about 1.5 s (so the recorder's writer runs and flushes),
 *              and prints "victim=1 bytes".
 * pthread-exit starts a thread that allocates 3 blocks of 48 bytes (frees none) and returns after
 *              0.2 s; main allocates one of 32 bytes and calls pthread_exit: the process ends with
 *              its last thread, exit status 0, and prints "worker done".
 * segv         allocates one block of 100 bytes and writes through a null pointer (status 139,
 *              nothing printed).
 * one-block    malloc(100), free, prints "one block": with `cc`, the whole trace is those two.
 * odd-label    marks "red\x1b[31m\tline\nnext\\" (escape sequence, tab, newline, backslash) and
 *              prints "marked".
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "alloctrace.h"

static void say(const char *line) { (void)!write(1, line, strlen(line)); }

static int first_fd(void) {
    int fd = open("/dev/null", O_RDONLY);
    char line[64];
    snprintf(line, sizeof line, "first fd=%d\n", fd);
    say(line);
    return 0;
}

static int close_range_mode(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1100 && rl.rlim_max >= 1100) {
        rl.rlim_cur = 1100;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    syscall(SYS_close_range, 3u, ~0u, 0u);
    int first = -1;
    for (int i = 0; i < 1000; i++) {
        int fd = open("victim.txt", O_WRONLY | O_CREAT | (i == 0 ? O_TRUNC : 0), 0644);
        if (fd < 0) { say("cannot open victim.txt\n"); return 1; }
        if (first < 0) first = fd;
    }
    (void)!write(first, "x", 1);
    for (int round = 0; round < 15; round++) {
        for (int i = 0; i < 200000 / 15; i++) {
            void *volatile p = malloc(64);
            free(p);
        }
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    struct stat st;
    if (stat("victim.txt", &st) != 0) return 1;
    char line[64];
    snprintf(line, sizeof line, "victim=%lld bytes\n", (long long)st.st_size);
    say(line);
    return 0;
}

static void *worker(void *arg) {
    (void)arg;
    static void *keep[3];
    for (int i = 0; i < 3; i++) keep[i] = malloc(48);
    struct timespec ts = { 0, 200 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    say("worker done\n");
    return NULL;
}

static int pthread_exit_mode(void) {
    static void *mine;
    mine = malloc(32);
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL) != 0) return 1;
    pthread_detach(t);
    pthread_exit(NULL);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "first-fd") == 0) return first_fd();
    if (strcmp(mode, "close-range") == 0) return close_range_mode();
    if (strcmp(mode, "pthread-exit") == 0) return pthread_exit_mode();
    if (strcmp(mode, "segv") == 0) {
        void *volatile p = malloc(100);
        (void)p;
        *(volatile int *)(uintptr_t)0 = 1;
        return 0;
    }
    if (strcmp(mode, "one-block") == 0) {
        void *volatile p = malloc(100);
        free(p);
        say("one block\n");
        return 0;
    }
    if (strcmp(mode, "odd-label") == 0) {
        ALLOCTRACE_MARK("red\x1b[31m\tline\nnext\\");
        say("marked\n");
        return 0;
    }
    say("usage: sample-hostile first-fd|close-range|pthread-exit|segv|one-block|odd-label\n");
    return 2;
}
