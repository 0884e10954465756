/* The calling thread's stack bounds, which the CFI unwinder checks every read against and the
 * heap-graph capture scans. pthread_getattr_np gives them, but it reallocs while holding the
 * thread's own lock: a thread whose first allocation is that realloc (the JVM's and Rust's new
 * threads do this) would deadlock if the hook called it again. So a thread starts with unknown
 * bounds: its first stacks go through libunwind, and the first one that shows no
 * pthread_getattr_np frame (its lock is not held) asks for them. A heap-graph capture meanwhile
 * finds them in /proc/self/maps. */
#define _GNU_SOURCE
#include "recorder_support.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>

void at_find_getattr(void) {
    void *f = dlsym(RTLD_DEFAULT, "pthread_getattr_np");
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    if (!f || !dladdr1(f, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym) return;
    at_g.getattr_lo = (uint64_t)(uintptr_t)f;
    at_g.getattr_hi = at_g.getattr_lo + (sym->st_size ? sym->st_size : 1);
}

void at_learn_stack(void *const *frames, int n) {
    at_slot *s = at_thread()->slot;
    if (!s || __atomic_load_n(&s->stack_hi, __ATOMIC_ACQUIRE)) return;
    for (int i = 0; i < n; i++) {
        uint64_t ret = (uint64_t)(uintptr_t)frames[i];
        if (ret > at_g.getattr_lo && ret <= at_g.getattr_hi) return;   /* inside it: its lock is held */
    }
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
    void *addr = NULL;
    size_t size = 0;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0 && size) {
        s->stack_lo = (uint64_t)(uintptr_t)addr;
        __atomic_store_n(&s->stack_hi, (uint64_t)(uintptr_t)addr + size, __ATOMIC_RELEASE);
    }
    pthread_attr_destroy(&attr);
}

void at_note_stack(at_slot *s) {
    s->stack_lo = s->stack_hi = 0;
    s->stack_hint = at_stack_pointer();
}
