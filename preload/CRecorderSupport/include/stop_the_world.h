/* stop_the_world.h: stopping every other thread for a heap-graph capture (stop_the_world.c). */
#ifndef ALLOCTRACE_STOP_THE_WORLD_H
#define ALLOCTRACE_STOP_THE_WORLD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AT_STW_MAX_THREADS 2048

/* Why the world was not stopped (docs/FORMAT.md, heap_snapshot part 5). */
enum {
    AT_STW_OK = 0,
    AT_STW_ATTACH = 1,        /* PTRACE_SEIZE refused: already traced (gdb, strace), seccomp, Yama */
    AT_STW_TIMEOUT = 2,       /* a thread did not stop in time */
    AT_STW_PROC = 3,          /* /proc/PID/task unreadable */
    AT_STW_TOO_MANY = 4,      /* more than AT_STW_MAX_THREADS threads */
    AT_STW_CLONE = 5,         /* the tracer task could not be made */
    AT_STW_DUMPABLE = 6,      /* PR_SET_DUMPABLE refused */
    AT_STW_TRACER_DIED = 7,
    AT_STW_DISABLED = 8,      /* ALLOCTRACE_STOP_THE_WORLD=0 */
    AT_STW_UNSUPPORTED = 9,   /* not x86-64 */
};

/* One thread the tracer stopped: its registers as the kernel gave them. */
typedef struct at_stw_thread {
    int32_t tid;
    uint32_t signal;          /* a signal it was stopped on the way to receiving: given back at detach */
    uint8_t attached, stopped, gone, has_regs, has_xmm;
    uint8_t restarted;        /* an EINTR the stop caused was undone (stop_the_world.c, undo_eintr) */
    uint8_t own;              /* the recorder's writer: stopped like the others, never a root */
    uint8_t reserved[1];
    uint64_t regs[27];        /* struct user_regs_struct (NT_PRSTATUS) */
    uint64_t xmm[32];         /* xmm0-15, low and high halves (NT_PRFPREG) */
} at_stw_thread;

typedef struct at_stw {
    uint32_t state;           /* futex word between the capturer and the tracer */
    uint32_t reason;          /* AT_STW_* */
    int32_t error;            /* errno of the step that failed */
    uint32_t count;           /* threads[0, count) */
    int32_t pid, capturer_tid, tracer, dumpable;
    uint64_t start_ns, stop_ns;
    at_stw_thread threads[AT_STW_MAX_THREADS];
} at_stw;

/* Stops every thread of the process but the caller. 1: stopped, (*out)->threads hold their
 * registers; 0: every thread runs and (*out)->reason says why not (*out may be NULL when even the
 * state could not be mapped). Allocates nothing; never leaves a thread stopped on failure. */
int at_stw_stop(at_stw **out);
/* Lets the threads go and reaps the tracer; restores the dumpable flag. */
void at_stw_resume(at_stw *s);

static inline at_stw_thread *at_stw_thread_at(at_stw *s, uint32_t i) { return &s->threads[i]; }
/* A stopped program thread whose registers were read: its registers, stack and TLS are roots. */
static inline int at_stw_thread_is_root(const at_stw_thread *t) {
    return t->stopped && !t->gone && t->has_regs && !t->own;
}
static inline uint64_t at_stw_reg(const at_stw_thread *t, int i) { return t->regs[i]; }
static inline uint64_t at_stw_xmm(const at_stw_thread *t, int i) { return t->xmm[i]; }

/* user_regs_struct indexes the capture needs */
enum { AT_REG_R15 = 0, AT_REG_R14, AT_REG_R13, AT_REG_R12, AT_REG_RBP, AT_REG_RBX, AT_REG_R11, AT_REG_R10,
       AT_REG_R9, AT_REG_R8, AT_REG_RAX, AT_REG_RCX, AT_REG_RDX, AT_REG_RSI, AT_REG_RDI, AT_REG_ORIG_RAX,
       AT_REG_RIP, AT_REG_CS, AT_REG_EFLAGS, AT_REG_RSP, AT_REG_SS, AT_REG_FS_BASE };

#ifdef __cplusplus
}
#endif

#endif
