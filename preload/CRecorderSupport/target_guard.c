/* What keeps the recorder out of the program's way (issue 17): the program's own files, its fd
 * numbers, its crash output, its allocator, its exit; and the messages that say why recording
 * stopped. */
#define _GNU_SOURCE
#include "recorder_support.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define AT_EXPORT __attribute__((visibility("default")))

/* ---- messages -------------------------------------------------------------------------------- */
static int at_quiet;
void at_set_quiet(int quiet) { at_quiet = quiet; }
int at_is_quiet(void) { return at_quiet; }

/* ---- the trace's file descriptor: written only while it is still the trace --------------------
 * A program may close_range() every descriptor, or dup2() onto ours, and then open a file of its
 * own under the same number: its identity (device, inode) is checked before every write. */
static dev_t at_trace_dev;
static ino_t at_trace_ino;

void at_trace_fd_remember(int fd) {
    struct stat st;
    if (fstat(fd, &st) == 0) { at_trace_dev = st.st_dev; at_trace_ino = st.st_ino; }
}

int at_trace_fd_intact(int fd) {
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) return 0;
    return st.st_dev == at_trace_dev && st.st_ino == at_trace_ino;
}

/* Writes trace bytes without SIGXFSZ: past a file-size limit (ulimit -f) the write fails (the
 * recorder stops with a message) instead of the signal killing the program from whichever thread
 * wrote, its exit path included. A SIGXFSZ that the write raised is taken off again. */
int at_write_trace(int fd, const void *data, size_t n) {
    sigset_t xfsz, old, pending;
    sigemptyset(&xfsz);
    sigaddset(&xfsz, SIGXFSZ);
    pthread_sigmask(SIG_BLOCK, &xfsz, &old);
    sigpending(&pending);
    int was_pending = sigismember(&pending, SIGXFSZ);
    int rc = at_write_all(fd, data, n);
    if (rc != 0 && !was_pending) {
        sigpending(&pending);
        if (sigismember(&pending, SIGXFSZ)) {
            struct timespec zero = { 0, 0 };
            sigtimedwait(&xfsz, NULL, &zero);
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* ---- descriptors the recorder's libraries open keep out of the program's low numbers -----------
 * libunwind opens a pipe (to check addresses) at its first stack: under the recorder's guard, a
 * pipe goes above 900 like the trace, so the program's first open() still returns 3. */
static void at_move_high(int *fds, int flags) {
    for (int i = 0; i < 2; i++) {
        int high = fcntl(fds[i], (flags & O_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 900);
        if (high >= 0) { close(fds[i]); fds[i] = high; }
    }
}

AT_EXPORT int pipe2(int fds[2], int flags) {
    int rc = (int)syscall(SYS_pipe2, fds, flags);
    if (rc == 0 && at_thread()->depth > 0) at_move_high(fds, flags);
    return rc;
}

AT_EXPORT int pipe(int fds[2]) { return pipe2(fds, 0); }

/* ---- the recorder's own registration with the Swift runtime ------------------------------------
 * swiftrt.o, linked into this library, registers the library's Swift metadata from an ELF
 * constructor that runs right after the recorder's own: its 16-byte malloc and free are the
 * recorder's, not the program's. This hidden definition takes the library's call (and no one
 * else's) and makes it with the guard set. */
__attribute__((visibility("hidden"))) void swift_addNewDSOImage(const void *sections) {
    at_tls *t = at_thread();
    t->depth++;
    void (*real)(const void *) = (void (*)(const void *))dlsym(RTLD_NEXT, "swift_addNewDSOImage");
    if (real) real(sections);
    t->depth--;
}

/* ---- the address-space limit: say what happened ------------------------------------------------ */
static size_t at_failed_bytes;
static int at_failed_errno;

void at_note_map_failure(size_t bytes, int err) {
    if (!at_failed_bytes) { at_failed_bytes = bytes; at_failed_errno = err; }
}

static void at_limit_text(char *out, size_t cap) {
    struct rlimit rl;
    out[0] = 0;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        snprintf(out, cap, " under the address-space limit of %llu KiB (ulimit -v)", (unsigned long long)rl.rlim_cur / 1024);
}

void at_report_start_failure(const char *what) {
    char limit[96], msg[512];
    at_limit_text(limit, sizeof limit);
    if (at_failed_bytes)
        snprintf(msg, sizeof msg, "cannot map %zu KiB for %s (%s)%s; the program runs untraced",
                 at_failed_bytes / 1024, what, strerror(at_failed_errno), limit);
    else
        snprintf(msg, sizeof msg, "cannot set up %s%s; the program runs untraced", what, limit);
    at_message(msg);
}

void at_report_writer_failure(const char *what, int maybe_memory) {
    char limit[96], msg[512];
    at_limit_text(limit, sizeof limit);
    if (!maybe_memory) limit[0] = 0;
    snprintf(msg, sizeof msg, "%s%s%s; recording stops, the program goes on", what,
             limit[0] ? " (out of memory?)" : "", limit);
    at_message(msg);
}

/* ---- another allocator serving the program ---------------------------------------------------
 * An allocator preloaded before the recorder (LD_PRELOAD=libjemalloc.so:libAllocTracePreload.so)
 * takes the program's malloc calls: the recorder would see none. Returns 1 (and says so) then. */
int at_other_allocator_serves(void) {
    void *found = dlsym(RTLD_DEFAULT, "malloc");
    Dl_info self, other;
    const ElfW(Sym) *sym = NULL;
    if (!found || !dladdr((void *)&at_other_allocator_serves, &self) ||
        !dladdr1(found, &other, (void **)&sym, RTLD_DL_SYMENT)) return 0;
    if (other.dli_fbase == self.dli_fbase) return 0;
    if (strstr(other.dli_fname ? other.dli_fname : "", "/libc.so")) return 0;
    /* an executable that takes malloc's address has a PLT entry for it that stands for the
     * definition (ours): only a real definition named malloc is another allocator */
    if (!sym || sym->st_shndx == SHN_UNDEF || !other.dli_sname || strcmp(other.dli_sname, "malloc") != 0) return 0;
    char msg[AT_PATH_MAX + 256];
    snprintf(msg, sizeof msg,
             "malloc is served by %s, loaded before the recorder: the program's allocations cannot be seen; "
             "put libAllocTracePreload.so first in LD_PRELOAD. The program runs untraced",
             other.dli_fname ? other.dli_fname : "another library");
    at_message(msg);
    return 1;
}

/* ---- the Swift runtime's crash handlers in a program that is not a Swift one ------------------
 * libswiftCore, loaded only because the recorder is written in Swift, installs its backtracer's
 * signal handlers unless SWIFT_BACKTRACE says otherwise: a crashing C program would print a Swift
 * crash report. When no module of the program itself needs libswiftCore, those dispositions go
 * back to what the program would have had: SIG_DFL. */
static int at_needs_swift_core(struct dl_phdr_info *info) {
    for (int i = 0; i < info->dlpi_phnum; i++) {
        if (info->dlpi_phdr[i].p_type != PT_DYNAMIC) continue;
        const ElfW(Dyn) *dyn = (const void *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
        const char *strtab = NULL;
        for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++)
            if (d->d_tag == DT_STRTAB) strtab = (const char *)d->d_un.d_ptr;
        if (!strtab) return 0;
        /* glibc relocates DT_STRTAB to an address; a few odd loaders leave the offset */
        if ((uintptr_t)strtab < info->dlpi_addr) strtab += info->dlpi_addr;
        for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++)
            if (d->d_tag == DT_NEEDED && strstr(strtab + d->d_un.d_val, "libswiftCore.so")) return 1;
    }
    return 0;
}

typedef struct { const char *swift_dir; size_t dir_len; uintptr_t self_base; int swift_program; } at_swift_scan;

static int at_swift_cb(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    at_swift_scan *s = arg;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    if (info->dlpi_addr == s->self_base && name[0]) return 0;       /* the recorder itself */
    if (s->dir_len && strncmp(name, s->swift_dir, s->dir_len) == 0) return 0;  /* the runtime's own libraries */
    if (at_needs_swift_core(info)) { s->swift_program = 1; return 1; }
    return 0;
}

/* Whether a loaded object other than the recorder and the Swift runtime's own libraries needs
 * libswiftCore: the recorder itself loads it into every program, C or Python alike. Decided once,
 * at start (before the program's own code runs). */
static int at_swift_program = -1;
static uintptr_t at_core_base;
static const char *at_core_path;

static int at_core_cb(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size; (void)arg;
    const char *n = info->dlpi_name, *s = n ? strrchr(n, '/') : NULL;
    if (!n || strcmp(s ? s + 1 : n, "libswiftCore.so") != 0) return 0;
    at_core_base = info->dlpi_addr; at_core_path = n;
    return 1;
}

int at_program_needs_swift(void) {
    if (at_swift_program >= 0) return at_swift_program;
    Dl_info self;
    at_swift_program = 0;
    if (!dl_iterate_phdr(at_core_cb, NULL) || !at_core_path || !dladdr((void *)&at_program_needs_swift, &self))
        return 0;
    const char *slash = strrchr(at_core_path, '/');
    at_swift_scan scan = { at_core_path, slash ? (size_t)(slash - at_core_path + 1) : 0,
                           (uintptr_t)self.dli_fbase, 0 };
    dl_iterate_phdr(at_swift_cb, &scan);
    at_swift_program = scan.swift_program;
    return at_swift_program;
}

void at_forget_swift_crash_handlers(void) {
    if (at_program_needs_swift() || !at_core_path) return;
    static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGQUIT, SIGSYS };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old;
        if (at_real_sigaction(sigs[i], NULL, &old) != 0) continue;
        void *h = (old.sa_flags & SA_SIGINFO) ? (void *)old.sa_sigaction : (void *)old.sa_handler;
        if (h == (void *)SIG_DFL || h == (void *)SIG_IGN) continue;
        Dl_info where;
        if (!dladdr(h, &where) || (uintptr_t)where.dli_fbase != at_core_base) continue;
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        at_real_sigaction(sigs[i], &dfl, NULL);
    }
}

/* ---- pthread_exit from main -------------------------------------------------------------------
 * The process ends when its last thread does; the writer thread is one, so once main has called
 * pthread_exit the writer leaves as soon as it is the only thread left (glibc then calls exit(0)
 * in it, as it would have in the program's last thread). */
static uint32_t at_main_gone;
void at_note_thread_exit(void) { if (at_is_thread_main()) __atomic_store_n(&at_main_gone, 1, __ATOMIC_RELEASE); }

int at_writer_alone(void) {
    if (!__atomic_load_n(&at_main_gone, __ATOMIC_ACQUIRE)) return 0;
    /* the writer thread only: once per 10 ms at most, however busy the other threads keep it */
    static uint64_t last_ns;
    uint64_t now = at_monotonic_ns();
    if (now - last_ns < 10000000ull) return 0;
    last_ns = now;
    char buf[2048];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    const char *line = strstr(buf, "\nThreads:");
    if (!line) return 0;
    /* the exited main thread stays counted until the whole group ends: it and the writer */
    return atoi(line + 9) <= 2;
}
