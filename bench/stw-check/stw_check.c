/* Checks what the recorder's stop-the-world (preload/CRecorderSupport/stop_the_world.c) does to a
 * program: threads blocked in futex, nanosleep, read, poll, select, epoll_wait, sigtimedwait and
 * spinning ones are stopped N times; every blocking call must return only when its own condition
 * is met (no EINTR, no early return). Prints what each thread saw and the stop times.
 *
 *   cc -O2 -pthread -I preload/CRecorderSupport/include bench/stw-check/stw_check.c \
 *      preload/CRecorderSupport/stop_the_world.c -o /tmp/stw-check && /tmp/stw-check [N] [SPINNERS]
 */
#define _GNU_SOURCE
#include "stop_the_world.h"
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* what stop_the_world.c needs from the recorder */
void *at_map(size_t n) { void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); return p == MAP_FAILED ? NULL : p; }
uint64_t at_monotonic_ns(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec; }
int at_gettid(void) { return (int)syscall(SYS_gettid); }

static volatile int stop;
static int pipefd[2], epfd;
static uint32_t futex_word;
enum { KINDS = 8 };
static const char *names[KINDS] = { "futex", "nanosleep", "read", "poll", "select", "epoll_wait", "sigtimedwait", "cond_timedwait" };
static long calls[KINDS], eintr[KINDS], early[KINDS];

static void *blocker(void *arg) {
    int k = (int)(long)arg;
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    while (!stop) {
        long r = 0;
        uint64_t t0 = at_monotonic_ns();
        switch (k) {
        case 0: { struct timespec ts = { 0, 50000000 }; r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0); if (r < 0 && errno == ETIMEDOUT) r = 0; break; }
        case 1: { struct timespec ts = { 0, 50000000 }; r = nanosleep(&ts, NULL); break; }
        case 2: { char b; r = read(pipefd[0], &b, 1); if (r == 1) r = 0; break; }
        case 3: { struct pollfd p = { pipefd[0], POLLIN, 0 }; r = poll(&p, 1, 50); if (r == 0 || r == 1) { if (r == 1) { char b; (void)!read(pipefd[0], &b, 1); } r = 0; } break; }
        case 4: { struct timeval tv = { 0, 50000 }; fd_set s; FD_ZERO(&s); r = select(0, &s, NULL, NULL, &tv); break; }
        case 5: { struct epoll_event e; r = epoll_wait(epfd, &e, 1, 50); break; }
        case 6: { sigset_t s; sigemptyset(&s); sigaddset(&s, SIGUSR2); struct timespec ts = { 0, 50000000 }; r = sigtimedwait(&s, NULL, &ts); if (r < 0 && errno == EAGAIN) r = 0; break; }
        case 7: { struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts); ts.tv_nsec += 50000000; if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
                  pthread_mutex_lock(&m); int e = pthread_cond_timedwait(&c, &m, &ts); pthread_mutex_unlock(&m); r = e == ETIMEDOUT ? 0 : -1; errno = e; break; }
        }
        uint64_t took = at_monotonic_ns() - t0;
        calls[k]++;
        if (r < 0 && errno == EINTR) eintr[k]++;
        else if (k != 2 && k != 3 && took < 45000000) early[k]++;   /* timed calls must take their 50 ms */
    }
    return NULL;
}

static void *spinner(void *arg) { (void)arg; while (!stop) __asm__ __volatile__("" ::: "memory"); return NULL; }

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 50, spinners = argc > 2 ? atoi(argv[2]) : 2;
    sigset_t s; sigemptyset(&s); sigaddset(&s, SIGUSR2); pthread_sigmask(SIG_BLOCK, &s, NULL);
    if (pipe(pipefd) != 0) return 1;
    epfd = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = pipefd[0] };
    epoll_ctl(epfd, EPOLL_CTL_ADD, pipefd[0], &ev);
    pthread_t t[KINDS + 64];
    for (long k = 0; k < KINDS; k++) pthread_create(&t[k], NULL, blocker, (void *)k);
    for (int k = 0; k < spinners; k++) pthread_create(&t[KINDS + k], NULL, spinner, NULL);
    usleep(100000);
    uint64_t total = 0, worst = 0;
    int stopped = 0;
    for (int i = 0; i < rounds; i++) {
        at_stw *w;
        uint64_t t0 = at_monotonic_ns();
        int ok = at_stw_stop(&w);
        uint64_t took = at_monotonic_ns() - t0;
        if (ok) {
            stopped++;
            total += took;
            if (took > worst) worst = took;
            int regs = 0;
            for (uint32_t j = 0; j < w->count; j++) regs += w->threads[j].has_regs;
            if (i == 0) printf("stopped %u threads, registers of %d\n", w->count, regs);
        } else {
            printf("not stopped: reason %u errno %d\n", w ? w->reason : 99, w ? w->error : 0);
        }
        at_stw_resume(w);
        usleep(20000 + (i % 7) * 3000);
    }
    stop = 1;
    (void)!write(pipefd[1], "xxxxxxxx", 8);
    for (int k = 0; k < KINDS + spinners; k++) pthread_join(t[k], NULL);
    printf("stops %d/%d, mean %.1f us, worst %.1f us (%d spinning threads)\n", stopped, rounds,
           stopped ? total / 1e3 / stopped : 0.0, worst / 1e3, spinners);
    int bad = 0;
    for (int k = 0; k < KINDS; k++) {
        printf("%-15s calls %4ld  EINTR %ld  early %ld\n", names[k], calls[k], eintr[k], early[k]);
        bad |= eintr[k] || early[k];
    }
    return bad;
}
