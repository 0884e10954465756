/* The recorder's signal handlers are invisible to the program. A program that asks for the
 * disposition of a signal the recorder handles (a crash signal, the mark signal) sees what it set
 * itself, SIG_DFL at first, as if the recorder were absent: gdb, for one, warns about "custom
 * handlers preinstalled", and a program may save a disposition to restore it later. A program that
 * installs a handler of its own takes the signal over for real (the JVM turns SIGSEGV into null
 * pointer exceptions: the recorder must not flush and end its trace on those); setting SIG_DFL
 * keeps the recorder's handler, which ends in the default action anyway. */
#define _GNU_SOURCE
#include "recorder_support.h"

#include <signal.h>
#include <string.h>

#define AT_EXPORT __attribute__((visibility("default")))
#define AT_NSIG 65

/* glibc's own sigaction under its exported internal name: the real one, whatever is interposed */
extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);
/* glibc's BSD signal() under another of its names, for signals the recorder does not own */
extern __sighandler_t bsd_signal(int sig, __sighandler_t handler);

static struct sigaction at_view[AT_NSIG];  /* what the program set, for the signals we own */
static uint8_t at_owned[AT_NSIG];

int at_real_sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
    return __sigaction(sig, act, old);
}

void at_own_signal(int sig, const struct sigaction *handler, const struct sigaction *previous) {
    if (sig <= 0 || sig >= AT_NSIG) return;
    if (__sigaction(sig, handler, NULL) != 0) return;
    at_view[sig] = *previous;
    __atomic_store_n(&at_owned[sig], 1, __ATOMIC_RELEASE);
}

int at_owns_signal(int sig) {
    return sig > 0 && sig < AT_NSIG && __atomic_load_n(&at_owned[sig], __ATOMIC_ACQUIRE);
}

/* The disposition the program set (or found) for a signal we own. */
const struct sigaction *at_program_disposition(int sig) { return &at_view[sig]; }

static int at_is_default(const struct sigaction *act) {
    return !(act->sa_flags & SA_SIGINFO) && act->sa_handler == SIG_DFL;
}

AT_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
    if (!at_owns_signal(sig)) return __sigaction(sig, act, old);
    struct sigaction previous = at_view[sig];
    if (act) {
        if (!at_is_default(act)) {
            if (__sigaction(sig, act, NULL) != 0) return -1;
            __atomic_store_n(&at_owned[sig], 0, __ATOMIC_RELEASE);
        }
        at_view[sig] = *act;
    }
    if (old) *old = previous;
    return 0;
}

AT_EXPORT __sighandler_t signal(int sig, __sighandler_t handler) {
    if (!at_owns_signal(sig)) return bsd_signal(sig, handler);
    /* what glibc's signal() asks for: BSD semantics */
    struct sigaction act, old;
    memset(&act, 0, sizeof act);
    act.sa_handler = handler;
    sigemptyset(&act.sa_mask);
    sigaddset(&act.sa_mask, sig);
    act.sa_flags = SA_RESTART;
    if (sigaction(sig, &act, &old) != 0) return SIG_ERR;
    return old.sa_handler;
}
