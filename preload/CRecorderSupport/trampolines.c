/* The exported C names. Each forwards to the Swift entry point or wraps the real function:
 * Swift cannot export these names itself (they are reserved, and Swift binds its own calls to
 * them inside the module), and it cannot write variadic functions (execl*). */
#define _GNU_SOURCE
#include "recorder_support.h"
#include "sampler.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define AT_EXPORT __attribute__((visibility("default")))

/* malloc and free jump to their hooks (the target is built -fno-optimize-sibling-calls): the
 * trampoline's frame would be one more for every stack capture to walk and then drop. */
/* Sampled mode (sampler.h) decides here, for the calls that are most of a program's: an
 * allocation the countdown passes over, or the free of a block that was not sampled, goes to
 * glibc at once (a TLS load and a subtraction; one load of the page counters). */
extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);

AT_EXPORT void *malloc(size_t n) {
    if (at_sampling() && !at_sample_take(n)) __attribute__((musttail)) return __libc_malloc(n);
    __attribute__((musttail)) return alloctrace_hook_malloc(n);
}
AT_EXPORT void free(void *p) {
    at_python_note_free(p);      /* before sampling: every code object's free counts */
    if (at_sampling() && !at_sampled_forget((uint64_t)(uintptr_t)p)) __attribute__((musttail)) return __libc_free(p);
    __attribute__((musttail)) return alloctrace_hook_free(p);
}
AT_EXPORT void cfree(void *p) { free(p); }
AT_EXPORT void *calloc(size_t n, size_t s) {
    size_t total;
    if (at_sampling() && (__builtin_mul_overflow(n, s, &total) || !at_sample_take(total))) return __libc_calloc(n, s);
    return alloctrace_hook_calloc(n, s);
}
AT_EXPORT void *realloc(void *p, size_t n) { return alloctrace_hook_realloc(p, n); }
AT_EXPORT void *reallocarray(void *p, size_t n, size_t s) { return alloctrace_hook_reallocarray(p, n, s); }
AT_EXPORT int posix_memalign(void **out, size_t a, size_t n) { return alloctrace_hook_posix_memalign(out, a, n); }
AT_EXPORT void *aligned_alloc(size_t a, size_t n) { return alloctrace_hook_aligned_alloc(a, n); }
AT_EXPORT void *memalign(size_t a, size_t n) { return alloctrace_hook_memalign(a, n); }
AT_EXPORT void *valloc(size_t n) { return alloctrace_hook_valloc(n); }
AT_EXPORT void *pvalloc(size_t n) { return alloctrace_hook_pvalloc(n); }

/* ---- Swift objects (interposition fallback; with the runtime hook this only forwards) ------ */
typedef void *(*at_swift_alloc_fn)(const void *, size_t, size_t);
static at_swift_alloc_fn real_swift_alloc_object;

AT_EXPORT void *swift_allocObject(const void *metadata, size_t size, size_t align_mask) {
    at_swift_alloc_fn real = __atomic_load_n(&real_swift_alloc_object, __ATOMIC_ACQUIRE);
    if (!real) {
        real = (at_swift_alloc_fn)dlsym(RTLD_NEXT, "swift_allocObject");
        __atomic_store_n(&real_swift_alloc_object, real, __ATOMIC_RELEASE);
    }
    return alloctrace_hook_swift_alloc_object(metadata, size, align_mask, real);
}

/* ---- exit paths ------------------------------------------------------------------------------ */
AT_EXPORT void _exit(int status) {
    alloctrace_recorder_finish(0, status);
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

AT_EXPORT void _Exit(int status) { _exit(status); }

/* ---- exec: finish this image's trace first (exec runs no destructor) ------------------------ */
typedef int (*at_execve_fn)(const char *, char *const[], char *const[]);
typedef int (*at_fexecve_fn)(int, char *const[], char *const[]);
typedef int (*at_execvpe_fn)(const char *, char *const[], char *const[]);

int at_real_execve(const char *path, char *const argv[], char *const envp[]) {
    static at_execve_fn real;
    if (!real) real = (at_execve_fn)dlsym(RTLD_NEXT, "execve");
    return real(path, argv, envp);
}

/* An environment with ALLOCTRACE_DISABLE=1 first, for a program that is not followed (follow.c),
 * built on the caller's stack (no allocation: a vfork child shares our memory). */
#define AT_MAX_ENV 8192
#define AT_WITH_ENV(untraced, envp, body)                                    \
    do {                                                                     \
        size_t n_ = 0;                                                       \
        while ((envp) && (envp)[n_]) n_++;                                   \
        if ((untraced) && n_ < AT_MAX_ENV) {                                 \
            char *e_[n_ + 2];                                                \
            e_[0] = (char *)"ALLOCTRACE_DISABLE=1";                          \
            for (size_t i_ = 0; i_ < n_; i_++) e_[i_ + 1] = (envp)[i_];      \
            e_[n_ + 1] = NULL;                                               \
            char *const *env_ = e_;                                          \
            body;                                                            \
        } else {                                                             \
            char *const *env_ = (envp);                                      \
            body;                                                            \
        }                                                                    \
    } while (0)

AT_EXPORT int execve(const char *path, char *const argv[], char *const envp[]) {
    alloctrace_before_exec(path);
    int r;
    AT_WITH_ENV(at_follow_exec_untraced(), envp, r = at_real_execve(path, argv, env_));
    return r;   /* exec failed: the trace goes on after its `exec` record */
}

AT_EXPORT int execv(const char *path, char *const argv[]) { return execve(path, argv, environ); }

AT_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[]) {
    static at_execvpe_fn real;
    if (!real) real = (at_execvpe_fn)dlsym(RTLD_NEXT, "execvpe");
    alloctrace_before_exec(file);
    int r;
    AT_WITH_ENV(at_follow_exec_untraced(), envp, r = real(file, argv, env_));
    return r;   /* exec failed: the trace goes on after its `exec` record */
}

AT_EXPORT int execvp(const char *file, char *const argv[]) { return execvpe(file, argv, environ); }

AT_EXPORT int fexecve(int fd, char *const argv[], char *const envp[]) {
    static at_fexecve_fn real;
    if (!real) real = (at_fexecve_fn)dlsym(RTLD_NEXT, "fexecve");
    alloctrace_before_exec("(fexecve)");
    int r;
    AT_WITH_ENV(at_follow_exec_untraced(), envp, r = real(fd, argv, env_));
    return r;   /* exec failed: the trace goes on after its `exec` record */
}

/* execl* collect their variadic arguments on the stack (no malloc) and call the vector forms. */
#define AT_COLLECT_ARGS(first, argv, extra)                                  \
    va_list ap;                                                              \
    size_t argc = 1;                                                         \
    va_start(ap, first);                                                     \
    while (va_arg(ap, char *)) argc++;                                       \
    va_end(ap);                                                              \
    char *argv[argc + 1];                                                    \
    va_start(ap, first);                                                     \
    argv[0] = (char *)(first);                                               \
    for (size_t i = 1; i <= argc; i++) argv[i] = va_arg(ap, char *);         \
    extra;                                                                   \
    va_end(ap);

AT_EXPORT int execl(const char *path, const char *arg, ...) {
    AT_COLLECT_ARGS(arg, argv, (void)0)
    return execve(path, argv, environ);
}

AT_EXPORT int execlp(const char *file, const char *arg, ...) {
    AT_COLLECT_ARGS(arg, argv, (void)0)
    return execvpe(file, argv, environ);
}

AT_EXPORT int execle(const char *path, const char *arg, ...) {
    char **envp;
    AT_COLLECT_ARGS(arg, argv, envp = va_arg(ap, char **))
    return execve(path, argv, envp);
}

/* ---- posix_spawn: a spawned program is another process (not followed by --follow exec|none) -- */
typedef int (*at_spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                           const posix_spawnattr_t *, char *const[], char *const[]);

AT_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                          const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
    static at_spawn_fn real;
    if (!real) real = (at_spawn_fn)dlsym(RTLD_NEXT, "posix_spawn");
    int r;
    AT_WITH_ENV(at_follow_spawn_untraced(), envp, r = real(pid, path, fa, attr, argv, env_));
    return r;
}

AT_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                           const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
    static at_spawn_fn real;
    if (!real) real = (at_spawn_fn)dlsym(RTLD_NEXT, "posix_spawnp");
    int r;
    AT_WITH_ENV(at_follow_spawn_untraced(), envp, r = real(pid, file, fa, attr, argv, env_));
    return r;
}

/* ---- modules and thread names ---------------------------------------------------------------- */
typedef void *(*at_dlopen_fn)(const char *, int);
typedef int (*at_dlclose_fn)(void *);
typedef int (*at_setname_fn)(pthread_t, const char *);

AT_EXPORT void *dlopen(const char *file, int mode) {
    static at_dlopen_fn real;
    if (!real) real = (at_dlopen_fn)dlvsym(RTLD_NEXT, "dlopen", "GLIBC_2.34");
    if (!real) real = (at_dlopen_fn)dlsym(RTLD_NEXT, "dlopen");
    void *h = real(file, mode);
    if (h) alloctrace_modules_changed();
    return h;
}

AT_EXPORT int dlclose(void *handle) {
    static at_dlclose_fn real;
    if (!real) real = (at_dlclose_fn)dlvsym(RTLD_NEXT, "dlclose", "GLIBC_2.34");
    if (!real) real = (at_dlclose_fn)dlsym(RTLD_NEXT, "dlclose");
    int r = real(handle);
    alloctrace_modules_changed();
    return r;
}

AT_EXPORT int pthread_setname_np(pthread_t thread, const char *name) {
    static at_setname_fn real;
    if (!real) real = (at_setname_fn)dlsym(RTLD_NEXT, "pthread_setname_np");
    int r = real(thread, name);
    if (r == 0) alloctrace_thread_renamed();
    return r;
}
