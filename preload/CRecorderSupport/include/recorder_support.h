/* recorder_support.h: what the Swift recorder cannot express by itself.
 *
 * - initial-exec thread-local state (Swift has no __thread; pthread_getspecific costs 8 ns and may
 *   allocate);
 * - the recorder's global state as a plain C struct (a Swift global would be reached through lazy
 *   initialisers and exclusivity checks: runtime calls inside malloc);
 * - atomics on plain fields, the clock, futexes, the real allocator, libunwind.
 * Every symbol is prefixed at_ (or alloctrace_ when exported for users).
 */
#ifndef ALLOCTRACE_RECORDER_SUPPORT_H
#define ALLOCTRACE_RECORDER_SUPPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits ------------------------------------------------------------------------------ */
#define AT_MAX_FRAMES 256          /* deepest stack ALLOCTRACE_STACK_DEPTH may ask for */
#define AT_MAX_SLOTS 8192          /* threads alive at once with their own buffer */
#define AT_BUFFER_BYTES 131072
#define AT_EVENT_MAX_BYTES 320     /* room one event may need (a mark carries up to 255 label bytes) */
#define AT_MAX_BUFFERS 1024        /* 128 MiB of buffers at most before producers wait */
#define AT_MAX_MODULES 4096
#define AT_PATH_MAX 4096
#define AT_MAX_PENDING_MARKS 64

/* ---- buffers and per-thread slots ----------------------------------------------------------- */

/* A block of encoded events of one thread; becomes the payload of one `chunk` record. */
typedef struct at_buffer {
    struct at_buffer *next;
    uint64_t seq;              /* hand-off order: the writer writes buffers in this order */
    uint64_t base_ticks;       /* ticks the first event's dt is relative to */
    uint32_t thread_index;
    uint32_t used;
    uint8_t *data;             /* AT_BUFFER_BYTES, right after this header */
} at_buffer;

enum { AT_SLOT_FREE = 0, AT_SLOT_ACTIVE = 1, AT_SLOT_EXITED = 2 };

/* One thread's recording state. Slots live in an mmap'd array, never in TLS, because the writer
 * visits the slots of threads that may have exited. */
typedef struct at_slot {
    uint32_t lock;             /* 0 free, 1 held: by the owner per event, by the writer per round */
    uint32_t state;            /* AT_SLOT_* */
    uint32_t thread_index;
    int32_t tid;
    uint32_t announced;        /* the writer wrote this thread's `thread` record */
    uint32_t name_dirty;       /* pthread_setname_np was called: re-announce */
    at_buffer *buffer;         /* current buffer, or NULL */
    uint64_t last_ticks;
    uint64_t prev_addr;
    uint64_t prev_stack;
    uint64_t start_ticks;
    void **frames;             /* AT_MAX_FRAMES scratch entries for stack capture */
    char name[16];             /* the thread's name, read when it registers or is renamed */
    uint64_t stack_lo, stack_hi;  /* the thread's stack mapping, for heap-graph roots (0: not yet known) */
    uint64_t stack_hint;          /* a stack address of the thread, from its registration */
} at_slot;

static inline char *at_slot_name(at_slot *s) { return s->name; }
/* Reads the calling thread's name into its slot (prctl: no /proc, works until the thread ends). */
void at_read_own_name(at_slot *s);
/* Re-reads every live thread's name after pthread_setname_np (which may name another thread). */
void at_refresh_thread_names(void);

/* Per-thread state reached through initial-exec TLS. */
enum { AT_THREAD_NEW = 0, AT_THREAD_LIVE = 1, AT_THREAD_GONE = 2, AT_THREAD_INTERNAL = 3 };
typedef struct at_tls {
    at_slot *slot;
    uint32_t depth;            /* > 0: inside the recorder; nested calls pass straight through */
    uint32_t state;            /* AT_THREAD_* */
    const void *pending_type;  /* Swift metadata of the object swift_allocObject is allocating */
} at_tls;

extern __thread at_tls at_tls_state __attribute__((tls_model("initial-exec")));

static inline at_tls *at_thread(void) { return &at_tls_state; }

/* ---- modules -------------------------------------------------------------------------------- */
typedef struct at_module {
    uint64_t base;             /* load bias */
    uint64_t load_ticks;
    uint64_t unload_ticks;     /* 0 while loaded */
    uint32_t id;
    uint32_t present;          /* seen in the latest dl_iterate_phdr pass */
    uint32_t announced;        /* 1: `module` written; 2: `module_unload` written too */
    uint32_t nsegs;
    uint64_t seg_vaddr[16];
    uint64_t seg_memsz[16];
    uint8_t seg_flags[16];
    uint8_t build_id[64];
    uint32_t build_id_len;
    uint32_t path_len;
    uint32_t is_self;          /* the recorder itself */
    const void *eh_frame_hdr;
    uint64_t eh_lo, eh_hi;     /* the loaded segment holding .eh_frame_hdr (and .eh_frame) */
    char path[AT_PATH_MAX];
    uint64_t tls_offset;       /* its static TLS block starts this far below a thread pointer (0: none) */
    uint64_t tls_size;
} at_module;

/* Executable ranges of the loaded modules, sorted, for the CFI walk. Rebuilt into a
 * fresh array whenever modules change and published with one pointer store (never freed: readers
 * in other threads may still hold the old one). */
typedef struct at_code_range {
    uint64_t lo, hi;
    const void *eh_frame_hdr;  /* the module's .eh_frame_hdr in memory, or NULL */
    uint32_t is_self, reserved;
    uint64_t eh_lo, eh_hi;     /* every read of call-frame information stays inside */
} at_code_range;
/* generation: bumped on every publish, so rules cached for an unloaded module's addresses expire */
typedef struct at_code_map { uint32_t count; uint32_t generation; at_code_range ranges[]; } at_code_map;

/* ---- global state --------------------------------------------------------------------------- */
enum { AT_OFF = 0, AT_RECORDING = 1, AT_FINISHED = 2 };

typedef struct at_globals {
    uint32_t status;           /* AT_OFF until the constructor succeeded */
    uint32_t unwind_mode;      /* TraceFormat.UnwindMode */
    uint32_t max_depth;
    uint32_t type_capture;     /* TraceFormat.SwiftTypeCapture */
    uint32_t flush_ms;
    uint32_t rss_ms;
    int32_t fd;
    int32_t pid;
    uint32_t clock_kind;       /* TraceFormat.ClockKind */
    uint32_t tick_shift;       /* ticks in the trace are clock >> tick_shift */
    uint32_t writer_lock;      /* held by whoever runs a writer round */
    uint32_t work;             /* futex word: bumped on every buffer hand-off */
    uint32_t writer_sleeping;
    uint32_t writer_started;
    uint32_t writer_tid;       /* the writer thread's: stopped for a capture, but no roots */
    uint64_t writer_stack_lo;  /* its stack: a thread stopped there is the writer, even before it ran */
    uint64_t writer_stack_hi;
    uint32_t child_pending;    /* after fork: the child opens its trace at its first event */
    uint32_t pool_lock;
    uint32_t queue_lock;
    uint32_t module_lock;
    uint32_t type_name_lock;   /* held around swift_getTypeName; fork waits for it */
    uint32_t heap_graph;       /* bit 0: capture at marks, bit 1: at exit */
    uint32_t snapshots;        /* heap-graph captures written */
    uint32_t thread_counter;
    uint32_t slot_high;        /* slots [0, slot_high) have ever been used */
    uint32_t queue_length;
    uint32_t buffers_made;
    uint32_t pool_waiters;
    uint32_t module_count;
    uint32_t pending_marks;    /* marks requested by signal, not yet written */
    uint32_t mark_signal;
    uint64_t *mark_ticks;      /* AT_MAX_PENDING_MARKS */
    uint64_t seq;
    uint64_t events_written;
    uint64_t events_dropped;
    at_buffer *pool;           /* free buffers */
    at_buffer *queue_head;     /* full buffers, in hand-off order */
    at_buffer *queue_tail;
    at_slot *slots;            /* AT_MAX_SLOTS */
    at_slot *orphan;           /* shared slot for threads past their TLS destructor */
    at_module *modules;        /* AT_MAX_MODULES */
    uint64_t start_ticks;
    uint64_t start_mono_ns;
    uint64_t start_wall_ns;
    uint64_t self_text_start;  /* the recorder's own code: frames inside it are dropped */
    uint64_t self_text_end;
    uint64_t getattr_lo, getattr_hi;  /* glibc's pthread_getattr_np, which reallocs under the thread's lock */
    unsigned long long last_dl_adds, last_dl_subs;
    at_code_map *code_map;     /* published with release; read with acquire */
    char *output_path;         /* AT_PATH_MAX */
    char *exe_path;            /* AT_PATH_MAX */
    uint32_t term_signal;      /* a terminating signal met inside the recorder: the writer ends the trace */
} at_globals;

extern at_globals at_g;

static inline at_globals *at_gp(void) { return &at_g; }

/* ---- atomics on plain fields (Swift cannot place Atomic<T> in C-owned memory) ---------------- */
static inline uint32_t at_load32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void at_store32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline uint64_t at_load64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void at_prefetch(const void *p) { __builtin_prefetch(p); }
static inline void at_store64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline uint32_t at_add32(uint32_t *p, uint32_t v) { return __atomic_add_fetch(p, v, __ATOMIC_ACQ_REL); }
static inline uint64_t at_add64(uint64_t *p, uint64_t v) { return __atomic_add_fetch(p, v, __ATOMIC_ACQ_REL); }
static inline int at_cas64(uint64_t *p, uint64_t expected, uint64_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
static inline int at_cas32(uint32_t *p, uint32_t expected, uint32_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
static inline void at_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}
/* Spin locks: held for a few instructions by their owner; never across a blocking call. */
static inline int at_try_lock(uint32_t *l) { return __atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE) == 0; }
void at_lock_slow(uint32_t *l);
static inline void at_lock(uint32_t *l) { if (!at_try_lock(l)) at_lock_slow(l); }
/* Waits at most `spins` rounds; returns 0 when the lock could not be had. */
int at_lock_bounded(uint32_t *l, uint64_t spins);
static inline void at_unlock(uint32_t *l) { __atomic_store_n(l, 0, __ATOMIC_RELEASE); }

/* ---- clock ---------------------------------------------------------------------------------- */
uint64_t at_monotonic_ns(void);
uint64_t at_wall_ns(void);
static inline uint64_t at_ticks(void) {
#if defined(__x86_64__)
    if (at_g.clock_kind == 1) {
        /* Plain rdtsc, not rdtscp (8 ns against 17 here): it may run a few cycles before the
         * slot lock's xchg completes, but the writer reads its watermark before it takes the
         * lock and holds it for longer than that, so an event whose lock came after a steal still
         * gets ticks above the watermark (docs/FORMAT.md, "Ordering across threads"). */
        uint32_t lo, hi;
        __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
        return (((uint64_t)hi << 32) | lo) >> at_g.tick_shift;
    }
#endif
    return at_monotonic_ns() >> at_g.tick_shift;
}
/* 1 when the TSC is the kernel's clocksource (so it is synchronised across CPUs and constant). */
int at_tsc_usable(void);

/* ---- signals (SIGRTMAX is a function-like macro Swift cannot import) ------------------------ */
int at_sigrtmin(void);
int at_sigrtmax(void);

/* ---- futex ---------------------------------------------------------------------------------- */
void at_futex_wait(uint32_t *word, uint32_t expected, uint64_t timeout_ns);
void at_futex_wake(uint32_t *word, int count);

/* ---- the real allocator (glibc's) ----------------------------------------------------------- */
void *at_real_malloc(size_t n);
void at_real_free(void *p);
void *at_real_calloc(size_t n, size_t s);
void *at_real_realloc(void *p, size_t n);
void *at_real_memalign(size_t a, size_t n);
void *at_real_valloc(size_t n);
void *at_real_pvalloc(size_t n);
/* Anonymous memory for the recorder's own tables (never malloc). NULL on failure. */
void *at_map(size_t bytes);
void at_unmap(void *p, size_t bytes);
/* Marks [p, p + bytes) as the recorder's: no heap-graph scan reads it. */
void at_note_own_mapping(void *p, size_t bytes);
/* at_map on a 2 MiB boundary; at_advise_huge asks for transparent huge pages there (a table
 * probed at random over megabytes then misses the TLB far less; it costs its whole size in RSS). */
void *at_map_huge_aligned(size_t bytes);
void at_advise_huge(void *p, size_t bytes);
int at_real_execve(const char *path, char *const argv[], char *const envp[]);

/* ---- stacks --------------------------------------------------------------------------------- */
/* Fills frames (innermost first) and returns how many; drops the recorder's own frames. */
int at_capture_libunwind(void **frames, int max);
int at_capture_frame_pointers(void **frames, int max);
/* Frame pointers where every module on the way keeps them and the walk reaches the thread's start
 * in libc; libunwind otherwise. */
int at_capture_auto(void **frames, int max);
/* The unwinder of cfi_unwind.c: fills frames (the recorder's own included) and returns how many,
 * or -1 when it cannot vouch for the stack (the caller then asks libunwind); `declined` (or NULL)
 * receives the return address it could not pass (0: no stack bounds to trust). */
int at_capture_cfi(void **frames, int max, uint64_t *declined);
/* at_capture_cfi that also drops the recorder's own frames and gives the stack's at_stack_hash
 * (hash may be NULL). */
int at_capture_cfi_hashed(void **frames, int max, uint64_t *declined, uint64_t *hash);
/* at_capture_auto that also gives the stack's at_stack_hash. */
int at_capture_auto_hashed(void **frames, int max, uint64_t *hash);

/* The whole-stack hash StackTable keys its caches by (never 0): a polynomial over the mixed
 * addresses, sum of mix(frame) * R^c where c is the frame's index from the outermost. An unchanged
 * outer part of a stack then keeps its partial sum, so the CFI walk hashes only the frames above
 * the part it replays from the thread's last stack (cfi_unwind.c). */
#define AT_STACK_HASH_R 0x9E3779B97F4A7C15ull
static inline uint64_t at_stack_mix(uint64_t x) {
    x ^= x >> 33; x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33; x *= 0xC4CEB9FE1A85EC53ull;
    return x ^ (x >> 33);
}
static inline uint64_t at_stack_hash_finish(uint64_t sum, uint64_t n) {
    return at_stack_mix(sum + n * 0xD6E8FEB86659FD93ull) | 1;
}
static inline uint64_t at_stack_hash(void *const *frames, int n) {
    uint64_t sum = 0;
    for (int i = 0; i < n; i++) sum = sum * AT_STACK_HASH_R + at_stack_mix((uint64_t)(uintptr_t)frames[i]);
    return at_stack_hash_finish(sum, (uint64_t)n);
}
/* Removes the recorder's own frames in place; returns how many are left. */
int at_drop_own_frames(void **frames, int n);
/* ALLOCTRACE_UNWIND=verify: auto mode that also runs libunwind on every stack and counts
 * disagreements (unwind_verify.c; printed at exit). */
extern uint32_t at_unwind_verify;
void at_set_unwind_verify(uint32_t on);
int at_capture_verify(void **frames, int max);
/* Finds the recorder's own code range (at_g.self_text_*). */
void at_find_self_text(void);

/* ---- process facts (slow path; may allocate, always called with the guard held) ------------- */
int at_gettid(void);
/* Scans loaded modules into at_g.modules; returns 1 when something changed. */
int at_refresh_modules(uint64_t ticks);
/* 1 when dl_iterate_phdr's load/unload counters moved since the last scan (cheap). */
int at_modules_maybe_changed(void);
static inline at_module *at_module_at(uint32_t i) { return &at_g.modules[i]; }
static inline const char *at_module_path(at_module *m) { return m->path; }
static inline const uint8_t *at_module_build_id(at_module *m) { return m->build_id; }
static inline uint64_t at_module_seg_vaddr(at_module *m, uint32_t i) { return m->seg_vaddr[i]; }
static inline uint64_t at_module_seg_memsz(at_module *m, uint32_t i) { return m->seg_memsz[i]; }
static inline uint8_t at_module_seg_flags(at_module *m, uint32_t i) { return m->seg_flags[i]; }
/* Reads resident set size from /proc/self/statm; 0 on failure. */
uint64_t at_rss_bytes(void);
/* Reads /proc/self/task/TID/comm into buf; returns its length. */
int at_thread_name(int tid, char *buf, int cap);
/* Reads the command line into buf as NUL-separated strings; returns bytes used. */
int at_cmdline(char *buf, int cap);
/* Opens the trace file for this process (O_EXCL, 0600, no symlinks); -1 and a message on failure. */
int at_open_output(const char *pattern, int first_process);
void at_message(const char *text);
/* The recording journal (journal.c): ALLOCTRACE_INDEX read at start; one line per trace opened,
 * exec and end. */
void at_journal_init(void);
/* ALLOCTRACE_FOLLOW (follow.c): which processes are traced. */
void at_follow_init(void);
int at_follow_forks(void);
void at_follow_drop_child(void);
int at_follow_exec_untraced(void);
int at_follow_spawn_untraced(void);
void at_journal_trace(const char *trace_path);
void at_journal_exec(const char *path);
void at_journal_end(int reason, int status);
void at_message2(const char *a, const char *b);
int at_write_all(int fd, const void *data, size_t n);
void at_install_fork_handlers(void);
void at_install_signal_handlers(void);
/* Resets `sig` to SIG_DFL and delivers it to the calling thread: the process dies of it. */
void at_die_of_signal(int sig);
/* While another thread or the exit path ends the trace: waits (two seconds at most) for the file to close. */
void at_wait_for_end(void);
void at_start_writer_thread(void);
void at_register_thread_exit(void);
int at_is_thread_main(void);

/* ---- heap-graph capture (docs/FORMAT.md, heap_snapshot) ---------------------------------------- */
enum { AT_REGION_MODULE = 0, AT_REGION_STACK = 1, AT_REGION_ANON = 2, AT_REGION_HEAP = 3, AT_REGION_TLS = 4 };
typedef struct at_region {
    uint64_t start, end;
    uint32_t kind;             /* AT_REGION_*: module data, a thread's stack, other anonymous, the brk heap */
    uint64_t owner;            /* module id, or thread index (AT_OWNER_TID | tid: a thread without a slot) */
} at_region;
#define AT_OWNER_TID (1ull << 32)
/* Takes the anonymous mapping each stopped thread's stack pointer lies in for its stack (threads
 * without a slot). `w` is a struct at_stw (stop_the_world.h). */
struct at_stw;
void at_label_thread_stacks(at_region *regions, int count, struct at_stw *w);
/* Static TLS areas [tp - largest module offset, tp) of the given thread pointers, as regions of kind
 * AT_REGION_TLS to list before the others; returns how many were written to `out`. */
int at_tls_regions(at_region *out, int max, const uint64_t *tps, const uint64_t *owners, int n);
/* Writable memory worth scanning, after the `first` regions already in `out` (TLS), sorted:
 * modules' writable segments, thread stacks, anonymous memory; without the recorder's own
 * mappings. Returns the count (at most `max`). Allocates nothing. */
int at_collect_regions_after(at_region *out, int max, int first);
/* The frames of a stack from (pc, sp) up to `hi`, by the return addresses found on it (a word
 * pointing right after a call instruction in a module's code): pcs[0] = pc, slots[0] = sp, then
 * each return address and where it lies. `scratch` takes 64 KiB. Returns the count. */
int at_stack_frames(uint64_t pc, uint64_t sp, uint64_t hi, uint64_t *pcs, uint64_t *slots, int max, uint64_t *scratch);
static inline uint64_t at_thread_pointer(void) {
    uint64_t tp = 0;
#if defined(__x86_64__)
    __asm__("mov %%fs:0, %0" : "=r"(tp));
#endif
    return tp;
}
/* Copies memory that another thread may unmap meanwhile: 0 bytes instead of a crash. */
size_t at_read_memory(uint64_t address, void *buffer, size_t length);

/* heap_scan.c: resident bytes of the recorder's own mappings (writer thread). */
uint64_t at_own_resident_bytes(void);

/* touched_pages.c: pages never touched (neither present nor swapped) are left out of the
 * heap-graph scan. at_touched_span returns the first touched page's start in [lo, hi) (hi: none
 * among those looked at, which end at *end) and sets *end to the end of the last touched one. */
void at_touched_begin(void);
void at_touched_end(void);
uint64_t at_touched_span(uint64_t lo, uint64_t hi, uint64_t *end);

/* private_names.c: the private discriminator ("_" + 32 hex digits, in out) of the anonymous
 * context descriptor at `address`, from the local symbols of the module it lies in; 1 when found.
 * module_id / module_offset say where the address lies (0: in no module). Writer thread only. */
int at_private_discriminator(uint64_t address, char out[34], uint32_t *module_id, uint64_t *module_offset);
/* Records the calling thread's stack mapping in its slot (registration; may allocate). */
/* thread_stack.c: the calling thread's stack bounds (0 while unknown) */
void at_find_getattr(void);
void at_note_stack(at_slot *s);
/* Sets the calling thread's bounds, when still unknown, from pthread_getattr_np unless `frames`
 * (its libunwind stack) is inside it. */
void at_learn_stack(void *const *frames, int n);

/* signal_view.c: the recorder's handlers, hidden from the program's sigaction/signal calls */
struct sigaction;
int at_real_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
void at_own_signal(int sig, const struct sigaction *handler, const struct sigaction *previous);
int at_owns_signal(int sig);
const struct sigaction *at_program_disposition(int sig);
/* Calls body(context) with every callee-saved register of its callers spilled onto the stack. */
void at_run_spilled(void (*body)(void *), void *context);
static inline uint64_t at_stack_pointer(void) { return (uint64_t)(uintptr_t)__builtin_frame_address(0); }

/* target_guard.c: keeping out of the program's way (its files, fds, crash output, allocator, exit) */
void at_set_quiet(int quiet);               /* ALLOCTRACE_QUIET=1 (record -q): no messages */
int at_is_quiet(void);
void at_trace_fd_remember(int fd);          /* the trace file's identity, at open */
int at_trace_fd_intact(int fd);             /* 1 while fd is still the trace file */
int at_write_trace(int fd, const void *data, size_t n);   /* at_write_all without SIGXFSZ */
void at_note_map_failure(size_t bytes, int err);
void at_report_start_failure(const char *what);   /* one message naming the address-space limit */
void at_report_writer_failure(const char *what, int maybe_memory);
int at_other_allocator_serves(void);        /* 1 (and a message) when malloc is not ours */
int at_program_needs_swift(void);          /* a module other than the Swift runtime needs libswiftCore */
void at_forget_swift_crash_handlers(void);  /* libswiftCore's backtracer, in a non-Swift program */
void at_note_thread_exit(void);
int at_writer_alone(void);                  /* main called pthread_exit and only the writer is left */

/* ---- Swift object types ---------------------------------------------------------------------- */
/* Installs the _swift_allocObject hook when libswiftCore's retain adapter can be repaired safely;
 * returns TraceFormat.SwiftTypeCapture (1 hook, 2 interpose). */
int at_install_swift_hook(void);


/* ---- Python frames (python_frames.c) ---------------------------------------------------------- */
/* A Python frame in a stack: bit 63 set, the code object's id in bits 32-62, the byte offset of its
 * current instruction in bits 0-30 (docs/FORMAT.md, "Python frames"). */
#define AT_PY_FRAME_TAG (1ull << 63)
#define AT_PY_SEGMENT_END (1ull << 31)   /* scratch only: the last frame of one eval-loop call */
/* One code object's description, copied at first sight for the writer (python_code record). */
typedef struct at_py_code {
    uint32_t size;             /* of this entry, header included, 8-aligned */
    uint32_t ready;            /* 0 being copied, 1 ready, 2 abandoned (fork) */
    uint32_t id;
    int32_t first_line;
    uint32_t file_length, name_length, table_length, reserved;
    /* then file (UTF-8), qualified name (UTF-8), line table (co_linetable's bytes) */
} at_py_code;
static inline const uint8_t *at_py_code_bytes(const at_py_code *c) { return (const uint8_t *)(c + 1); }
typedef struct at_python {
    uint32_t detected;         /* the process runs CPython */
    uint32_t frames;           /* Python frames are recorded */
    uint32_t version_hex;      /* PY_VERSION_HEX */
    uint32_t pymalloc;         /* PYTHONMALLOC is not malloc: small objects are in pymalloc's arenas */
    uint64_t eval_lo, eval_hi; /* _PyEval_EvalFrameDefault */
    /* where native stacks end: eval_lo and eval_hi - eval_lo once frames are recorded (0, 0:
     * never) */
    uint64_t cut_lo, cut_len;
    uint8_t *arena;            /* at_py_code entries */
    uint64_t arena_used, arena_capacity;
    uint64_t emitted;          /* the writer's position in the arena */
    uint64_t codes_dropped;    /* code objects not described: the arena was full */
    const uint64_t *finalizing;  /* _PyRuntime._finalizing: set once Py_FinalizeEx has run atexit */
    uint32_t exit_captured;    /* the exit heap graph was taken when finalization began */
    char note[160];            /* why frames are not recorded, when they are not */
} at_python;
extern at_python at_py;
static inline at_python *at_pyp(void) { return &at_py; }
/* 1 once the interpreter began to shut down (atexit done, modules still intact), until claimed. */
static inline int at_python_finalizing(void) {
    return at_py.finalizing && __atomic_load_n(at_py.finalizing, __ATOMIC_RELAXED) != 0 && at_py.exit_captured == 0;
}
/* A native stack with Python frames ends at its innermost _PyEval_EvalFrameDefault frame: what
 * lies outside it is the Python frames merged from the frame chain (at_python_insert) and the
 * outer eval-loop calls that ran them, so the unwinders stop there (one compare a frame). */
static inline int at_python_eval_range(uint64_t ret) { return ret - 1 - at_py.cut_lo < at_py.cut_len; }
/* frames[0..<n] up to and including the first eval-loop frame: the count kept. */
static inline int at_python_cut(void *const *frames, int n) {
    for (int i = 0; i < n; i++)
        if (at_python_eval_range((uint64_t)(uintptr_t)frames[i])) return i + 1;
    return n;
}
/* Code objects freed: free() bumps it when the block's word at +8 (ob_type; code objects are not
 * GC-tracked, so the block is the object) is PyCode_Type. While it stays put no code object has
 * been freed, so no code object's address can be another's: the frame walks compare addresses
 * alone (python_frames.c). at_py_watch_type is PyCode_Type only when that holds: frames recorded
 * and every code object freed through free() (PYTHONMALLOC=malloc, read by the interpreter). */
typedef struct { uint32_t value; uint8_t pad[60]; } at_py_epoch_line;
extern at_py_epoch_line at_py_code_epoch;
extern const void *at_py_watch_type;
static inline void at_python_note_free(const void *p) {
    const void *type = at_py_watch_type;
    if (type && p && ((uintptr_t)p & 7) == 0 && *(const void *const *)((const char *)p + 8) == type)
        __atomic_fetch_add(&at_py_code_epoch.value, 1, __ATOMIC_RELAXED);
}
/* Finds the interpreter (constructor time): version, offsets, tables. */
void at_python_setup(void);
/* The number of the calling thread's Python frames (0: none), *pyhash their hash; `py` has room
 * for AT_MAX_FRAMES + 640 words (scratch after the first AT_MAX_FRAMES). Only when at_py.frames.
 * The frames themselves are made by at_python_insert, which must come next if at all (a stack
 * the thread's cache knows needs none); no other walk in between. */
int at_python_walk(uint64_t *py, uint64_t *pyhash);
/* The merged stack's StackTable key: the native stack's at_stack_hash and its m Python frames'
 * hash (the merge is a function of both), so a stack already interned needs no merge at all. */
static inline uint64_t at_python_key(uint64_t native, uint64_t pyhash, int m) {
    return at_stack_mix(native ^ (pyhash * 0xC2B2AE3D27D4EB4Full) ^ (uint64_t)m) | 1;
}
/* A free's stack: the innermost Python frame alone. Returns 2 with its stack id in *id when it is
 * the thread's last free's; 1 with the frame in frames[0] and its StackTable key, to be interned
 * and the id handed to at_python_stack_interned; 0: none. */
int at_python_stack(void **frames, uint64_t *hash, uint64_t *id);
void at_python_stack_interned(uint64_t id);
/* Inserts the first m Python frames of the last at_python_walk (made in its `py`) into the native
 * stack frames[0..<n] (room for n + m), each eval-loop call's frames before that call's
 * _PyEval_EvalFrameDefault frame; returns n + m. */
int at_python_insert(void **frames, int n, uint64_t *py, int m);
/* python_types.c: a heap-graph capture's Python type objects (part 9). begin: 1 when the process
 * runs Python with frames (then every part-4 word goes to note_data_word). type_at: the next
 * candidate that is a type object, from *cursor (0 first): its address, tp_flags, tp_name (up to
 * cap - 1 bytes, NUL-terminated); returns the name's length, or -1 when there are no more. */
int at_python_types_begin(void);
/* 1 when the calling thread has a Python frame (it runs Python code, or C code Python called). */
int at_python_runs_code(void);
/* The calling thread's Python data stack above its top frame, [lo, hi): popped frames' stale
 * locals, which a capture does not scan. 0 when there is none. */
int at_python_dead_stack(uint64_t *lo, uint64_t *hi);
/* `before` and `after`: the words around it (UINT64_MAX: not read). */
void at_python_note_data_word(uint64_t at, uint64_t value, uint64_t before, uint64_t after);
/* Part 10's i-th entry: a built-in object at `object`, dead (reference count 0) or a list of
 * `length` items. 0 past the last. */
int at_python_fact(uint32_t i, uint64_t *object, uint64_t *dead, uint64_t *length);
int at_python_type_at(uint32_t *cursor, uint64_t *address, uint64_t *flags, char *name, int cap);
/* python_names.c: the names of a capture's Python references (part 11). begin: 1 when they can be
 * read (the types' addresses resolved); note: an object whose ob_type word holds `type` (dicts and
 * modules are kept); note_class: a type object part 9 describes (classes are kept); name_next: the
 * next entry, AT_PY_NAME_* (0: no more), its values in v[0..3] and its text (str, module name,
 * class module) in text[0..<*text_length] (not NUL-terminated); rewind before the first. */
#define AT_PY_NAME_STR 1      /* v: str address; text */
#define AT_PY_NAME_TABLE 2    /* v: keys table address, entries offset, entry size, used entries */
#define AT_PY_NAME_KEY 3      /* v: entry index, str address (of the last table) */
#define AT_PY_NAME_MODULE 4   /* v: module address, globals dict address; text: name */
#define AT_PY_NAME_CLASS 5    /* v: type address, tp_basicsize, shared keys address; text: __module__ */
int at_python_names_begin(void);
/* The ranges ([start, end) pairs, sorted) that stay mapped while the world is stopped: read there
 * with plain loads. Only when every other thread is stopped; after begin. */
void at_python_names_readable(const uint64_t *ranges, int n);
/* 1 when this capture writes part 11 (at_python_types_begin began the names too). */
int at_python_names_ready(void);
void at_python_names_note(uint64_t object, uint64_t type);
void at_python_names_note_class(uint64_t type, uint64_t flags);
void at_python_names_rewind(void);
int at_python_name_next(uint64_t *v, char *text, int cap, int *text_length);
/* The writer's next described code object, or NULL (none ready yet). */
const at_py_code *at_python_next_code(void);
/* In a fork child: describe every code object again in the child's trace. */
void at_python_after_fork(void);

/* ---- entry points implemented in Swift (preload/Recorder) ------------------------------------ */
void *alloctrace_hook_malloc(size_t n);
void alloctrace_hook_free(void *p);
void *alloctrace_hook_calloc(size_t n, size_t s);
void *alloctrace_hook_realloc(void *p, size_t n);
void *alloctrace_hook_reallocarray(void *p, size_t n, size_t s);
int alloctrace_hook_posix_memalign(void **out, size_t a, size_t n);
void *alloctrace_hook_aligned_alloc(size_t a, size_t n);
void *alloctrace_hook_memalign(size_t a, size_t n);
void *alloctrace_hook_valloc(size_t n);
void *alloctrace_hook_pvalloc(size_t n);
void *alloctrace_hook_swift_alloc_object(const void *metadata, size_t size, size_t align_mask,
                                          void *(*original)(const void *, size_t, size_t));
void alloctrace_recorder_start(void);
void alloctrace_recorder_finish(int reason, int status);
void alloctrace_recorder_flush(void);
void alloctrace_before_exec(const char *path);
void alloctrace_fork_prepare(void);
void alloctrace_fork_parent(void);
void alloctrace_fork_child(void);
void alloctrace_thread_exit(void);
void alloctrace_thread_renamed(void);
void alloctrace_modules_changed(void);
void alloctrace_signal_mark(void);
int alloctrace_debug_mark(int no_wait);
/* The label alloctrace_debug_mark uses (debug_mark.c), written by the debugger. */
const char *at_debug_label(void);
void *alloctrace_writer_main(void *unused);

#ifdef __cplusplus
}
#endif

#endif
