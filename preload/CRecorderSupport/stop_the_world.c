/* Stop-the-world for a heap-graph capture, the way LeakSanitizer does it: a tracer task that shares
 * our memory (clone, not a thread of this process) attaches every other thread with PTRACE_SEIZE +
 * PTRACE_INTERRUPT (no signal is sent, so no handler runs and restartable system calls restart),
 * reads their registers into shared memory, and holds them stopped until the capturer says the scan
 * is done. Stopped threads may hold any lock (malloc's, the loader's): the tracer uses raw system
 * calls only, and nothing here allocates. Any failure leaves every thread running and is reported;
 * the capture then goes on as without it. */
#define _GNU_SOURCE
#include "recorder_support.h"
#include "stop_the_world.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PTRACE_SEIZE
#define PTRACE_SEIZE 0x4206
#define PTRACE_INTERRUPT 0x4207
#endif
#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif
#ifndef __WALL
#define __WALL 0x40000000
#endif

enum { STW_IDLE, STW_GO, STW_STOPPED, STW_FAILED, STW_RELEASE, STW_FINISHED };

#define STW_STACK_BYTES (64 * 1024)
#define STW_STOP_TIMEOUT_NS 2000000000ull   /* a thread in uninterruptible sleep may take a while */

static at_stw *at_stw_state;
static void *at_stw_stack;

#if defined(__x86_64__)
/* ---- raw system calls: the tracer shares our TLS pointer, so libc's wrappers (errno) are out ---- */
static inline long rsys6(long n, long a, long b, long c, long d, long e, long f) {
    long r;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ __volatile__("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                         : "rcx", "r11", "memory");
    return r;
}

static inline long rsys(long n, long a, long b, long c, long d, long e) { return rsys6(n, a, b, c, d, e, 0); }

static uint64_t rnow(void) {
    struct timespec ts;
    rsys(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0, 0, 0);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void rfutex_wait(uint32_t *w, uint32_t expected, uint64_t ns) {
    struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };
    rsys(SYS_futex, (long)w, FUTEX_WAIT_PRIVATE, expected, (long)&ts, 0);
}

static void rfutex_wake(uint32_t *w) { rsys(SYS_futex, (long)w, FUTEX_WAKE_PRIVATE, 1, 0, 0); }

static void rpause(uint64_t ns) {
    struct timespec ts = { 0, (long)ns };
    rsys(SYS_nanosleep, (long)&ts, 0, 0, 0, 0);
}

static char *put_uint(char *p, uint64_t v) {
    char tmp[24];
    int n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

static uint64_t parse_uint(const char *s, int *ok) {
    uint64_t v = 0;
    *ok = *s != 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') { *ok = 0; return 0; }
        v = v * 10 + (uint64_t)(*s - '0');
    }
    return v;
}

/* Reads /proc/PID/task/TID/NAME (NAME with its leading slash) into buf, NUL-terminated, with raw
 * syscalls only; the byte count, or <= 0. */
static long read_task_file(int pid, int tid, const char *name, char *buf, long size) {
    char path[64], *p = path;
    memcpy(p, "/proc/", 6); p = put_uint(p + 6, (uint64_t)pid);
    memcpy(p, "/task/", 6); p = put_uint(p + 6, (uint64_t)tid);
    while ((*p++ = *name++)) {}
    long fd = rsys(SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0, 0);
    if (fd < 0) return fd;
    long n = rsys(SYS_read, fd, (long)buf, size - 1, 0, 0);
    rsys(SYS_close, fd, 0, 0, 0, 0);
    if (n > 0) buf[n] = 0;
    return n;
}

/* 1 when the thread is a zombie or dead: it will never stop, and has nothing to scan. */
static int thread_is_dead(int pid, int tid) {
    char buf[512];
    long n = read_task_file(pid, tid, "/stat", buf, sizeof buf);
    if (n <= 0) return 1;
    char *close_paren = NULL;
    for (long i = 0; i < n; i++) if (buf[i] == ')') close_paren = buf + i;
    return !close_paren || close_paren[2] == 'Z' || close_paren[2] == 'X';
}

static int find_thread(at_stw *s, int tid) {
    for (uint32_t i = 0; i < s->count; i++) if (s->threads[i].tid == tid) return (int)i;
    return -1;
}

static int fail(at_stw *s, int reason, long error) {
    s->reason = (uint32_t)reason;
    s->error = (int32_t)-error;
    return -1;
}

/* Attaches threads not yet attached; returns how many were new, or -1 (s->reason says why). */
static int attach_new(at_stw *s) {
    char path[48], *p = path;
    memcpy(p, "/proc/", 6); p = put_uint(p + 6, (uint64_t)s->pid);
    memcpy(p, "/task", 6);
    long fd = rsys(SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, 0);
    if (fd < 0) return fail(s, AT_STW_PROC, fd);
    int added = 0;
    char buf[4096];
    for (;;) {
        long n = rsys(SYS_getdents64, fd, (long)buf, sizeof buf, 0, 0);
        if (n < 0) { rsys(SYS_close, fd, 0, 0, 0, 0); return fail(s, AT_STW_PROC, n); }
        if (n == 0) break;
        for (long off = 0; off < n;) {
            struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *d = (void *)(buf + off);
            off += d->reclen;
            int ok;
            int tid = (int)parse_uint(d->name, &ok);
            if (!ok || tid == s->capturer_tid || find_thread(s, tid) >= 0) continue;
            if (s->count >= AT_STW_MAX_THREADS) { rsys(SYS_close, fd, 0, 0, 0, 0); return fail(s, AT_STW_TOO_MANY, 0); }
            long r = rsys(SYS_ptrace, PTRACE_SEIZE, tid, 0, 0, 0);
            if (r == -ESRCH) continue;   /* it exited meanwhile */
            if (r < 0) { rsys(SYS_close, fd, 0, 0, 0, 0); return fail(s, AT_STW_ATTACH, r); }
            at_stw_thread *t = &s->threads[s->count++];
            memset(t, 0, sizeof *t);
            t->tid = tid;
            t->attached = 1;
            t->own = (uint32_t)tid == __atomic_load_n(&at_g.writer_tid, __ATOMIC_RELAXED);
            rsys(SYS_ptrace, PTRACE_INTERRUPT, tid, 0, 0, 0);
            added++;
        }
    }
    rsys(SYS_close, fd, 0, 0, 0, 0);
    return added;
}

/* Waits until every attached thread is stopped (or gone); -1 on timeout. */
static int wait_stopped(at_stw *s, uint64_t deadline) {
    for (;;) {
        int pending = 0;
        for (uint32_t i = 0; i < s->count; i++) pending += s->threads[i].attached && !s->threads[i].stopped && !s->threads[i].gone;
        if (!pending) return 0;
        int status = 0;
        long tid = rsys(SYS_wait4, -1, (long)&status, __WALL | WNOHANG, 0, 0);
        if (tid > 0) {
            int i = find_thread(s, (int)tid);
            if (i < 0) continue;
            at_stw_thread *t = &s->threads[i];
            if (WIFEXITED(status) || WIFSIGNALED(status)) { t->gone = 1; continue; }
            if (!WIFSTOPPED(status)) continue;
            /* a signal-delivery-stop (no event) holds a signal on its way in: it goes in at detach */
            if ((status >> 16) == 0 && WSTOPSIG(status) != SIGTRAP) t->signal = (uint32_t)WSTOPSIG(status);
            t->stopped = 1;
            continue;
        }
        if (rnow() > deadline) {
            /* a zombie thread is listed but never stops */
            int stuck = 0;
            for (uint32_t i = 0; i < s->count; i++) {
                at_stw_thread *t = &s->threads[i];
                if (t->attached && !t->stopped && !t->gone) {
                    if (thread_is_dead(s->pid, t->tid)) t->gone = 1; else stuck = 1;
                }
            }
            if (stuck) return fail(s, AT_STW_TIMEOUT, 0);
            continue;
        }
        rpause(20000);
    }
}

static void undo_eintr(at_stw *s, at_stw_thread *t);

static void read_registers(at_stw *s, at_stw_thread *t) {
    struct iovec io = { t->regs, sizeof t->regs };
    t->has_regs = rsys(SYS_ptrace, PTRACE_GETREGSET, t->tid, NT_PRSTATUS, (long)&io, 0) == 0 && io.iov_len >= 27 * 8;
    uint64_t fp[64];   /* struct user_fpregs_struct: xmm0-15 at byte 160 */
    struct iovec fio = { fp, sizeof fp };
    if (rsys(SYS_ptrace, PTRACE_GETREGSET, t->tid, NT_PRFPREG, (long)&fio, 0) == 0 && fio.iov_len >= 416) {
        memcpy(t->xmm, (char *)fp + 160, sizeof t->xmm);
        t->has_xmm = 1;
    }
    if (t->has_regs) undo_eintr(s, t);
    /* the writer's tid is known once it runs; a writer not yet scheduled is known by its stack */
    uint64_t sp = t->regs[AT_REG_RSP];
    if (t->has_regs && sp >= __atomic_load_n(&at_g.writer_stack_lo, __ATOMIC_RELAXED)
        && sp < __atomic_load_n(&at_g.writer_stack_hi, __ATOMIC_RELAXED)) t->own = 1;
}

static uint64_t parse_hex(const char *p) {
    uint64_t v = 0;
    for (;; p++) {
        if (*p >= '0' && *p <= '9') v = v * 16 + (uint64_t)(*p - '0');
        else if (*p >= 'a' && *p <= 'f') v = v * 16 + (uint64_t)(*p - 'a' + 10);
        else return v;
    }
}

/* 1 when a signal is pending for the thread and not blocked: a handler is about to run, so an EINTR
 * it sees is the program's own. */
static int signal_coming(int pid, int tid) {
    char buf[4096];
    long n = read_task_file(pid, tid, "/status", buf, sizeof buf);
    if (n <= 0) return 1;
    uint64_t pending = 0, blocked = 0;
    for (char *line = buf; *line;) {
        if (!strncmp(line, "SigPnd:", 7) || !strncmp(line, "ShdPnd:", 7)) {
            char *v = line + 7;
            while (*v == ' ' || *v == '\t') v++;
            pending |= parse_hex(v);
        } else if (!strncmp(line, "SigBlk:", 7)) {
            char *v = line + 7;
            while (*v == ' ' || *v == '\t') v++;
            blocked = parse_hex(v);
        }
        while (*line && *line != '\n') line++;
        if (*line) line++;
    }
    return (pending & ~blocked) != 0;
}

/* The stop made a system call that cannot restart by itself (epoll_wait, sigtimedwait, semop: see
 * signal(7)) return EINTR, with no signal on its way. Rewinds the thread to the syscall
 * instruction, as the kernel does for calls that restart: the program never sees the EINTR (a
 * timed wait starts its timeout again). */
static void undo_eintr(at_stw *s, at_stw_thread *t) {
    if (t->regs[AT_REG_RAX] != (uint64_t)-EINTR || (int64_t)t->regs[AT_REG_ORIG_RAX] < 0 || t->signal) return;
    const uint8_t *ip = (const uint8_t *)(uintptr_t)t->regs[AT_REG_RIP];
    uint8_t code[2];
    struct iovec local = { code, 2 }, remote = { (void *)(ip - 2), 2 };
    if (rsys(SYS_process_vm_readv, s->pid, (long)&local, 1, (long)&remote, 1) != 2) return;
    if (code[0] != 0x0f || code[1] != 0x05 || signal_coming(s->pid, t->tid)) return;
    uint64_t regs[27];
    memcpy(regs, t->regs, sizeof regs);
    regs[AT_REG_RAX] = regs[AT_REG_ORIG_RAX];
    regs[AT_REG_RIP] -= 2;
    struct iovec io = { regs, sizeof regs };
    if (rsys(SYS_ptrace, PTRACE_SETREGSET, t->tid, NT_PRSTATUS, (long)&io, 0) == 0) t->restarted = 1;
}

static void detach_all(at_stw *s) {
    for (uint32_t i = 0; i < s->count; i++) {
        at_stw_thread *t = &s->threads[i];
        if (t->attached && !t->gone) rsys(SYS_ptrace, PTRACE_DETACH, t->tid, 0, t->signal, 0);
    }
}

static int tracer_main(void *arg) {
    at_stw *s = arg;
    while (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == STW_IDLE) rfutex_wait(&s->state, STW_IDLE, 100000000ull);
    uint64_t deadline = rnow() + STW_STOP_TIMEOUT_NS;
    int ok = 0;
    for (int round = 0; round < 64; round++) {
        int added = attach_new(s);
        if (added < 0) break;
        if (wait_stopped(s, deadline) < 0) break;
        if (added == 0) { ok = 1; break; }   /* nothing new since the last listing: all stopped */
    }
    if (ok) {
        for (uint32_t i = 0; i < s->count; i++)
            if (s->threads[i].stopped && !s->threads[i].gone) read_registers(s, &s->threads[i]);
        s->stop_ns = rnow() - s->start_ns;
        __atomic_store_n(&s->state, STW_STOPPED, __ATOMIC_RELEASE);
        rfutex_wake(&s->state);
        /* until the scan is done, or the process is gone (we would be reparented) */
        while (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == STW_STOPPED) {
            rfutex_wait(&s->state, STW_STOPPED, 100000000ull);
            if (rsys(SYS_getppid, 0, 0, 0, 0, 0) != s->pid) break;
        }
    } else if (s->reason == AT_STW_OK) {
        s->reason = AT_STW_TIMEOUT;
    }
    /* on failure too: threads already stopped go on exactly where they were */
    detach_all(s);
    if (!ok) {
        __atomic_store_n(&s->state, STW_FAILED, __ATOMIC_RELEASE);
        rfutex_wake(&s->state);
    }
    rsys(SYS_exit, 0, 0, 0, 0, 0);
    return 0;
}

int at_stw_stop(at_stw **out) {
    *out = NULL;
    if (!at_stw_state) {
        at_stw_state = at_map(sizeof(at_stw));
        at_stw_stack = at_map(STW_STACK_BYTES);
        if (!at_stw_state || !at_stw_stack) { at_stw_state = NULL; return 0; }
    }
    at_stw *s = at_stw_state;
    *out = s;
    memset(s, 0, offsetof(at_stw, threads));
    s->start_ns = at_monotonic_ns();
    s->pid = getpid();
    s->capturer_tid = at_gettid();
    s->tracer = -1;
    s->dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    if (s->dumpable != 1 && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) { s->reason = AT_STW_DUMPABLE; s->error = errno; return 0; }
    /* the tracer starts with every signal blocked: a handler of the program must never run in it */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int tracer = clone(tracer_main, (char *)at_stw_stack + STW_STACK_BYTES,
                       CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_UNTRACED, s);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (tracer < 0) {
        if (s->dumpable != 1) prctl(PR_SET_DUMPABLE, s->dumpable, 0, 0, 0);
        s->reason = AT_STW_CLONE;
        s->error = clone_errno;
        return 0;
    }
    s->tracer = tracer;
    prctl(PR_SET_PTRACER, tracer, 0, 0, 0);   /* only matters under Yama ptrace_scope 1 */
    __atomic_store_n(&s->state, STW_GO, __ATOMIC_RELEASE);
    rfutex_wake(&s->state);
    uint64_t give_up = s->start_ns + 2 * STW_STOP_TIMEOUT_NS;
    for (;;) {
        uint32_t st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
        if (st == STW_STOPPED) return 1;
        if (st == STW_FAILED) break;
        if (at_monotonic_ns() > give_up) {
            /* the kernel detaches a dead tracer's tracees: they go on as if nothing happened */
            kill(tracer, SIGKILL);
            if (s->reason == AT_STW_OK) s->reason = AT_STW_TIMEOUT;
            break;
        }
        int status;
        if (waitpid(tracer, &status, __WALL | WNOHANG) == tracer) { s->tracer = -1; if (s->reason == AT_STW_OK) s->reason = AT_STW_TRACER_DIED; break; }
        rfutex_wait(&s->state, st, 10000000ull);
    }
    at_stw_resume(s);
    return 0;
}

void at_stw_resume(at_stw *s) {
    if (!s) return;
    if (s->tracer > 0) {
        __atomic_store_n(&s->state, STW_RELEASE, __ATOMIC_RELEASE);
        rfutex_wake(&s->state);
        int status;
        while (waitpid(s->tracer, &status, __WALL) < 0 && errno == EINTR) {}
        s->tracer = -1;
    }
    if (s->dumpable != 1) prctl(PR_SET_DUMPABLE, s->dumpable, 0, 0, 0);
    s->dumpable = 1;
}

#else
int at_stw_stop(at_stw **out) { *out = NULL; return 0; }   /* reason: AT_STW_UNSUPPORTED */
void at_stw_resume(at_stw *s) { (void)s; }
#endif
