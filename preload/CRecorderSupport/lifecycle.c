/* Process lifecycle glue: the ELF constructor, exit hooks, fork handlers, fatal-signal and mark
 * signal handlers, the writer thread and the per-thread exit notification. Each forwards to Swift. */
#define _GNU_SOURCE
#include "recorder_support.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

__attribute__((constructor(101))) static void at_constructor(void) { alloctrace_recorder_start(); }

/* Runs before the on_exit handler when the library was preloaded (its handler was registered
 * before libc registered the loader's finaliser): flush only, the handler writes the end. */
__attribute__((destructor)) static void at_destructor(void) { alloctrace_recorder_flush(); }

/* on_exit learns the exit status, and runs after the program's own atexit handlers (registered
 * later, run earlier) so their frees are recorded. */
static void at_on_exit(int status, void *arg) {
    (void)arg;
    alloctrace_recorder_finish(0, status);
    /* a terminating signal met this exit inside the recorder: die of it now, as without us */
    uint32_t sig = __atomic_load_n(&at_g.term_signal, __ATOMIC_ACQUIRE);
    if (sig != 0 && getpid() == at_g.pid) at_die_of_signal((int)sig);
}

void at_install_fork_handlers(void) {
    pthread_atfork(alloctrace_fork_prepare, alloctrace_fork_parent, alloctrace_fork_child);
    on_exit(at_on_exit, NULL);
}

/* ---- fatal signals: flush what we have, then let the program's disposition act --------------
 * The handlers are installed through signal_view.c, which hides them from the program. */
static const int at_fatal_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
#define AT_NFATAL (sizeof at_fatal_signals / sizeof at_fatal_signals[0])

static void at_fatal_handler(int sig, siginfo_t *info, void *ctx) {
    /* a crash inside the recorder itself must not try to flush (locks may be held) */
    if (at_thread()->depth == 0) alloctrace_recorder_finish(1, sig);
    /* what the program set (SIG_DFL, or a handler it had before the recorder started) acts now */
    struct sigaction prev = *at_program_disposition(sig);
    at_real_sigaction(sig, &prev, NULL);
    if ((prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction) {
        prev.sa_sigaction(sig, info, ctx);
        return;
    }
    if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
        prev.sa_handler(sig);
        return;
    }
    /* a fault re-executes the instruction and dies; abort() and kill() need the signal again */
    if (info == NULL || info->si_code <= 0) raise(sig);
}

/* ---- terminating signals: end the trace, then die of the same signal ---------------------------
 * Only signals whose disposition is the default (terminate) when the recorder starts, and only while
 * the program leaves them so (signal_view.c: a program's own handler or SIG_IGN takes over for real).
 * In a thread outside the recorder the handler ends the trace itself (flush, exit heap graph, end
 * record), as exit would. A thread interrupted inside the recorder may hold its slot lock, the
 * writer lock or the allocator's: it hands the end to the writer thread and returns; the writer ends
 * the trace and delivers the signal to itself. */
static const int at_term_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM };
#define AT_NTERM (sizeof at_term_signals / sizeof at_term_signals[0])

void at_die_of_signal(int sig) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    at_real_sigaction(sig, &dfl, NULL);
    syscall(SYS_tgkill, (pid_t)getpid(), (pid_t)syscall(SYS_gettid), sig);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    /* not reached: the default action of every signal here ends the process */
    _exit(128 + sig);
}

/* Another thread (or exit) is ending the trace: wait for the file to be closed, two seconds at most. */
void at_wait_for_end(void) {
    for (int i = 0; i < 2000; i++) {
        if (__atomic_load_n(&at_g.status, __ATOMIC_ACQUIRE) != AT_FINISHED) return;
        if (__atomic_load_n(&at_g.fd, __ATOMIC_ACQUIRE) < 0) return;
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
}

static void at_term_handler(int sig, siginfo_t *info, void *ctx) {
    (void)info; (void)ctx;
    int saved = errno;
    at_tls *t = at_thread();
    if (t->depth != 0 || t->state == AT_THREAD_INTERNAL) {
        uint32_t status = __atomic_load_n(&at_g.status, __ATOMIC_ACQUIRE);
        uint32_t none = 0;
        if (getpid() == at_g.pid && status == AT_RECORDING && __atomic_load_n(&at_g.writer_started, __ATOMIC_ACQUIRE)) {
            if (__atomic_compare_exchange_n(&at_g.term_signal, &none, (uint32_t)sig, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                __atomic_add_fetch(&at_g.work, 1, __ATOMIC_ACQ_REL);
                at_futex_wake(&at_g.work, 1);
            }
            errno = saved;
            return;
        }
        if (getpid() == at_g.pid && status == AT_FINISHED && __atomic_load_n(&at_g.fd, __ATOMIC_ACQUIRE) >= 0) {
            /* the trace is being ended, perhaps by this very thread (exit): the exit path dies of
             * the signal once the end is written */
            __atomic_compare_exchange_n(&at_g.term_signal, &none, (uint32_t)sig, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
            errno = saved;
            return;
        }
        at_die_of_signal(sig);
    }
    alloctrace_recorder_finish(3, sig);
    at_wait_for_end();
    at_die_of_signal(sig);
}

static void at_mark_handler(int sig, siginfo_t *info, void *ctx) {
    (void)sig; (void)info; (void)ctx;
    alloctrace_signal_mark();
}

void at_install_signal_handlers(void) {
    for (size_t i = 0; i < AT_NFATAL; i++) {
        struct sigaction old;
        if (at_real_sigaction(at_fatal_signals[i], NULL, &old) != 0) continue;
        if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN) continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = at_fatal_handler;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        at_own_signal(at_fatal_signals[i], &sa, &old);
    }
    for (size_t i = 0; i < AT_NTERM; i++) {
        int sig = at_term_signals[i];
        if (sig == (int)at_g.mark_signal) continue;
        struct sigaction old;
        if (at_real_sigaction(sig, NULL, &old) != 0) continue;
        if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = at_term_handler;
        /* restart: a thread inside the recorder returns from it (the writer ends the trace) */
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        for (size_t k = 0; k < AT_NTERM; k++) sigaddset(&sa.sa_mask, at_term_signals[k]);
        at_own_signal(sig, &sa, &old);
    }
    if (at_g.mark_signal > 0) {
        struct sigaction old;
        if (at_real_sigaction((int)at_g.mark_signal, NULL, &old) == 0 &&
            !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_sigaction = at_mark_handler;
            sa.sa_flags = SA_SIGINFO | SA_RESTART;
            sigemptyset(&sa.sa_mask);
            at_own_signal((int)at_g.mark_signal, &sa, &old);
        }
    }
}

/* ---- the writer thread ----------------------------------------------------------------------- */
/* the writer's stack: its rounds and captures use a few pages of it (only touched pages count) */
#define AT_WRITER_STACK_BYTES (2u << 20)

void at_start_writer_thread(void) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* its stack (and the static TLS glibc puts at the stack's top) is one of the recorder's own
     * mappings, which no heap-graph scan reads: the words it leaves there are addresses from the
     * events it compressed, stale ones a scan would take for roots. A guard page below; when even
     * that cannot be mapped, glibc's default stack (scanned as anonymous memory) */
    const size_t guard = 4096, bytes = AT_WRITER_STACK_BYTES;
    char *stack = mmap(NULL, guard + bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (stack != MAP_FAILED) {
        mprotect(stack, guard, PROT_NONE);
        at_note_own_mapping(stack, guard + bytes);
        pthread_attr_setstack(&attr, stack + guard, bytes);
        __atomic_store_n(&at_g.writer_stack_lo, (uint64_t)(uintptr_t)(stack + guard), __ATOMIC_RELAXED);
        __atomic_store_n(&at_g.writer_stack_hi, (uint64_t)(uintptr_t)(stack + guard + bytes), __ATOMIC_RELAXED);
    }
    /* the writer must not receive the target's signals, but it takes the mark signal: a target
     * (or the launcher's parent) may block that signal in every one of its own threads */
    sigset_t all, old;
    sigfillset(&all);
    if (at_g.mark_signal > 0) sigdelset(&all, (int)at_g.mark_signal);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (pthread_create(&t, &attr, alloctrace_writer_main, NULL) == 0) {
        pthread_setname_np(t, "alloctrace");
        __atomic_store_n(&at_g.writer_started, 1, __ATOMIC_RELEASE);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
}

/* ---- thread exit: a TLS destructor hands the thread's last buffer to the writer -------------- */
static pthread_key_t at_exit_key;
static int at_exit_key_made;

static void at_thread_exit_destructor(void *value) {
    (void)value;
    alloctrace_thread_exit();
}

void at_register_thread_exit(void) {
    if (!at_exit_key_made) {
        if (pthread_key_create(&at_exit_key, at_thread_exit_destructor) != 0) return;
        at_exit_key_made = 1;
    }
    pthread_setspecific(at_exit_key, (void *)1);
}
