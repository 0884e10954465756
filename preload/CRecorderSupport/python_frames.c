/* python_frames.c: the Python frames of an allocation, read from the allocating thread's own
 * CPython frame chain, merged into its native stack where the eval loop ran them.
 *
 * Why in the recorder and why like this: a Python program's native stack is CPython's C, so the
 * only place that knows which Python line allocated is the interpreter's frame chain at the moment
 * of the malloc. The chain belongs to the calling thread and cannot change under its own malloc, so
 * it is read with plain loads: no Python API that allocates or takes the GIL, no Python code (only
 * PyGILState_GetThisThreadState, a thread-specific-data lookup). Struct offsets come from CPython's
 * headers per minor version (docs/FORMAT.md, python_code) and every pointer is checked against the
 * interpreter's own type objects before it is followed; anything unexpected ends the walk and the
 * allocation keeps its native stack.
 *
 * A code object is described once (file, qualified name, first line, line table), copied at first
 * sight into an arena the writer drains: the code object may be freed before the writer runs. Its
 * key is its identity (code_identity): addresses and a little content, so a new code object at a
 * freed one's address gets its own id even when its name, file and line table reuse addresses too.
 * The content is read only when a code object may have been freed since the entry was checked:
 * free() counts the code objects it frees (at_py_code_epoch), and while the count stays put an
 * address is a code object's identity (PYTHONMALLOC=malloc; under pymalloc, content always). */
#define _GNU_SOURCE
#include "recorder_support.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

at_python at_py;
at_py_epoch_line at_py_code_epoch __attribute__((aligned(64)));
const void *at_py_watch_type;

/* offsets inside CPython's structures, per minor version (x86-64; verified with gdb's ptype/o on
 * the DWARF of pyenv's 3.11.7, 3.12.1 and 3.13.0 builds, and at run time by the type checks) */
typedef struct {
    uint32_t minor;
    int32_t ts_cframe;          /* PyThreadState.cframe, or -1 (3.13: no cframe) */
    int32_t cframe_current;     /* _PyCFrame.current_frame; 3.13: PyThreadState.current_frame */
    int32_t frame_code, frame_previous, frame_instr, frame_owner, frame_is_entry;  /* is_entry: -1 */
    int32_t code_firstlineno, code_filename, code_qualname, code_linetable, code_bytecode;
    int32_t ascii_size, compact_size; /* sizeof(PyASCIIObject), sizeof(PyCompactUnicodeObject) */
    int32_t runtime_finalizing;       /* _PyRuntime._finalizing */
    int32_t ts_datastack_top;         /* PyThreadState.datastack_top; datastack_limit follows */
} at_py_layout;

static const at_py_layout layouts[] = {
    {11, 56, 8, 32, 48, 56, 69, 68, 72, 112, 128, 136, 184, 48, 72, 24, 304},
    {12, 56, 0, 0, 8, 56, 70, -1, 68, 112, 128, 136, 192, 40, 56, 24, 240},
    {13, -1, 72, 0, 8, 56, 70, -1, 68, 112, 128, 136, 200, 40, 56, 608, 240},
};
static const at_py_layout *L;
static void choose_walker(size_t layout);

#define AT_PY_OWNED_BY_CSTACK 3 /* 3.12+: the shim frame a C call of the eval loop starts with */
#define AT_PY_BYTES_DATA 32     /* PyBytesObject.ob_sval */
#define AT_PY_MAX_STRING 4096
#define AT_PY_MAX_TABLE (256 * 1024)
#define AT_PY_CODE_SLOTS (1u << 18)
#define AT_PY_ARENA_BYTES (32u << 20)
#define AT_PY_HASH_SEED 0x243F6A8885A308D3ull

static void *(*this_thread_state)(void);
static const void *code_type, *unicode_type, *bytes_type;
static uint64_t *code_slots;       /* pairs: key, id */
static uint64_t code_count;        /* ids handed out; id 0 is "none" */
/* at_py_code_epoch can vouch for addresses (at_py_watch_type is set): else content is compared
 * at every walk */
static int epoch_trusted;

static inline uint64_t word(const void *p, int32_t off) { return *(const uint64_t *)((const char *)p + off); }
static inline uint64_t mix(uint64_t h, uint64_t v) {
    uint64_t x = (h ^ v) * 0x9E3779B97F4A7C15ull;
    return x ^ (x >> 29);
}
static inline int plausible(uint64_t p) { return p >= 4096 && (p & 7) == 0 && p < (1ull << 47); }

/* The symbol's [start, end) from the dynamic symbol table. */
static int symbol_range(const char *name, uint64_t *lo, uint64_t *hi) {
    void *p = dlsym(RTLD_DEFAULT, name);
    if (!p) return 0;
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    if (!dladdr1(p, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym || sym->st_size == 0) return 0;
    *lo = (uint64_t)(uintptr_t)p;
    *hi = *lo + sym->st_size;
    return 1;
}

static void note(const char *a, const char *b) {
    size_t n = strlen(a);
    if (n >= sizeof at_py.note) n = sizeof at_py.note - 1;
    memcpy(at_py.note, a, n);
    size_t m = b ? strlen(b) : 0;
    if (n + m >= sizeof at_py.note) m = sizeof at_py.note - 1 - n;
    if (m) memcpy(at_py.note + n, b, m);
    at_py.note[n + m] = 0;
}

/* Whether every code object is freed through free() with the object at the block's start:
 * PYTHONMALLOC=malloc exactly (malloc_debug and the debug hooks put a header first and overwrite
 * the block), and an interpreter that reads it (-E and -I ignore PYTHON* variables). */
static int frees_reach_malloc(const char *pm) {
    if (!pm || strcmp(pm, "malloc") != 0) return 0;
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0 || n == (ssize_t)sizeof buf - 1) return 0;
    buf[n] = 0;
    /* the options before the script: a group like -bE; -X and -W take an argument, -c and -m
     * end them */
    const char *a = buf + strlen(buf) + 1, *end = buf + n;
    while (a < end && a[0] == '-' && a[1] && a[1] != '-') {
        int skip = 0;
        for (const char *c = a + 1; *c; c++) {
            if (*c == 'E' || *c == 'I') return 0;
            if (*c == 'c' || *c == 'm') return 1;
            if (*c == 'X' || *c == 'W') { skip = c[1] == 0; break; }
        }
        a += strlen(a) + 1;
        if (skip && a < end) a += strlen(a) + 1;
    }
    return 1;
}

void at_python_setup(void) {
    memset(&at_py, 0, sizeof at_py);
    const unsigned long *version = dlsym(RTLD_DEFAULT, "Py_Version");
    const char *(*get_version)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "Py_GetVersion");
    if (!version && !get_version) return;                      /* not CPython */
    at_py.detected = 1;
    if (version) {
        at_py.version_hex = (uint32_t)*version;
    } else {
        /* before 3.11 (no Py_Version): "3.10.13 (main, ...)" from a static buffer */
        const char *v = get_version();
        unsigned major = 0, minor = 0, micro = 0;
        const char *p = v;
        while (*p >= '0' && *p <= '9') major = major * 10 + (unsigned)(*p++ - '0');
        if (*p == '.') p++;
        while (*p >= '0' && *p <= '9') minor = minor * 10 + (unsigned)(*p++ - '0');
        if (*p == '.') p++;
        while (*p >= '0' && *p <= '9') micro = micro * 10 + (unsigned)(*p++ - '0');
        at_py.version_hex = (major << 24) | (minor << 16) | (micro << 8);
    }
    const char *pm = getenv("PYTHONMALLOC");
    at_py.pymalloc = !(pm && (strcmp(pm, "malloc") == 0 || strcmp(pm, "malloc_debug") == 0));
    uint32_t major = at_py.version_hex >> 24, minor = (at_py.version_hex >> 16) & 0xFF;
    L = NULL;
    if (major == 3)
        for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++)
            if (layouts[i].minor == minor) { L = &layouts[i]; choose_walker(i); }
    if (!L) return note("native stacks only: the recorder reads the Python frames of CPython 3.11 to 3.13", NULL);
    this_thread_state = (void *(*)(void))dlsym(RTLD_DEFAULT, "PyGILState_GetThisThreadState");
    code_type = dlsym(RTLD_DEFAULT, "PyCode_Type");
    unicode_type = dlsym(RTLD_DEFAULT, "PyUnicode_Type");
    bytes_type = dlsym(RTLD_DEFAULT, "PyBytes_Type");
    if (!this_thread_state || !code_type || !unicode_type || !bytes_type)
        return note("native stacks only: the interpreter does not export ", "PyGILState_GetThisThreadState and its type objects");
    if (!symbol_range("_PyEval_EvalFrameDefault", &at_py.eval_lo, &at_py.eval_hi))
        return note("native stacks only: _PyEval_EvalFrameDefault not found", NULL);
    code_slots = at_map((size_t)AT_PY_CODE_SLOTS * 16);
    at_py.arena = at_map(AT_PY_ARENA_BYTES);
    if (!code_slots || !at_py.arena) return note("native stacks only: no memory for the code table", NULL);
    at_py.arena_capacity = AT_PY_ARENA_BYTES;
    const char *runtime = dlsym(RTLD_DEFAULT, "_PyRuntime");
    if (runtime) at_py.finalizing = (const uint64_t *)(runtime + L->runtime_finalizing);
    code_count = 1;
    at_py.cut_lo = at_py.eval_lo;
    at_py.cut_len = at_py.eval_hi - at_py.eval_lo;
    at_py.frames = 1;
    if (frees_reach_malloc(pm)) { epoch_trusted = 1; at_py_watch_type = code_type; }
}

/* ---- code objects ---------------------------------------------------------------------------- */

/* A str object's text as UTF-8 into out (at most cap bytes; NULL: only measure). */
static uint32_t utf8_of(const char *s, uint8_t *out, uint32_t cap) {
    if (!plausible((uint64_t)(uintptr_t)s) || (const void *)word(s, 8) != unicode_type) return 0;
    uint64_t length = word(s, 16);
    uint32_t state = *(const uint32_t *)(s + 32);
    uint32_t kind = (state >> 2) & 7, compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
    if (!compact || length > AT_PY_MAX_STRING) return 0;
    const uint8_t *data = (const uint8_t *)s + (ascii ? L->ascii_size : L->compact_size);
    uint32_t n = 0;
    for (uint64_t i = 0; i < length; i++) {
        uint32_t c = kind == 1 ? data[i] : kind == 2 ? ((const uint16_t *)data)[i] : ((const uint32_t *)data)[i];
        uint8_t b[4];
        uint32_t k;
        if (c < 0x80) { b[0] = (uint8_t)c; k = 1; }
        else if (c < 0x800) { b[0] = (uint8_t)(0xC0 | c >> 6); b[1] = (uint8_t)(0x80 | (c & 63)); k = 2; }
        else if (c < 0x10000) { b[0] = (uint8_t)(0xE0 | c >> 12); b[1] = (uint8_t)(0x80 | ((c >> 6) & 63)); b[2] = (uint8_t)(0x80 | (c & 63)); k = 3; }
        else { b[0] = (uint8_t)(0xF0 | c >> 18); b[1] = (uint8_t)(0x80 | ((c >> 12) & 63)); b[2] = (uint8_t)(0x80 | ((c >> 6) & 63)); b[3] = (uint8_t)(0x80 | (c & 63)); k = 4; }
        if (n + k > cap) break;
        if (out) memcpy(out + n, b, k);
        n += k;
    }
    return n;
}

/* Copies the code object's description into the arena for the writer. */
static void describe(const char *code, uint32_t id) {
    const char *file = (const char *)(uintptr_t)word(code, L->code_filename);
    const char *qual = (const char *)(uintptr_t)word(code, L->code_qualname);
    const char *table = (const char *)(uintptr_t)word(code, L->code_linetable);
    uint32_t fl = utf8_of(file, NULL, AT_PY_MAX_STRING), ql = utf8_of(qual, NULL, AT_PY_MAX_STRING);
    uint32_t tl = 0;
    if (plausible((uint64_t)(uintptr_t)table) && (const void *)word(table, 8) == bytes_type) {
        uint64_t n = word(table, 16);
        tl = n > AT_PY_MAX_TABLE ? 0 : (uint32_t)n;
    }
    uint32_t size = (uint32_t)((sizeof(at_py_code) + fl + ql + tl + 7) & ~7u);
    uint64_t at = __atomic_fetch_add(&at_py.arena_used, size, __ATOMIC_ACQ_REL);
    if (at + size > at_py.arena_capacity) {
        __atomic_fetch_add(&at_py.codes_dropped, 1, __ATOMIC_RELAXED);
        return;
    }
    at_py_code *c = (at_py_code *)(at_py.arena + at);
    c->size = size;
    c->id = id;
    c->first_line = *(const int32_t *)(code + L->code_firstlineno);
    uint8_t *p = (uint8_t *)(c + 1);
    c->file_length = utf8_of(file, p, fl); p += c->file_length;
    c->name_length = utf8_of(qual, p, ql); p += c->name_length;
    c->table_length = tl;
    if (tl) memcpy(p, table + AT_PY_BYTES_DATA, tl);
    __atomic_store_n(&c->ready, 1, __ATOMIC_RELEASE);
}

/* What tells a code object from a later one at its address (0: not a code object). Addresses
 * alone do not: a program that compiles and runs generated sources in a loop gets the code
 * object, its name, file and line table all back at the same addresses (PythonCodeReuseTests).
 * So a little content too, read with plain loads from objects a code object always holds (once
 * its type is PyCode_Type, co_linetable is a bytes object and co_filename a compact str): the
 * first line, the line table's length and first and last 8 bytes, the file name's length and
 * last 8 bytes (files differ at their end: "gen7.py", "a/mod.py"). */
static inline uint64_t code_identity_of(const at_py_layout *l, uint64_t code) {
    const char *c = (const char *)(uintptr_t)code;
    if (!plausible(code) || (const void *)word(c, 8) != code_type) return 0;
    uint64_t table = word(c, l->code_linetable), file = word(c, l->code_filename), qual = word(c, l->code_qualname);
    uint64_t first = *(const uint32_t *)(c + l->code_firstlineno);
    const char *t = (const char *)(uintptr_t)table, *s = (const char *)(uintptr_t)file;
    uint64_t tl = word(t, 16), head = word(t, AT_PY_BYTES_DATA);
    /* a table shorter than 8 bytes: only its bytes (what follows them is not part of it) */
    uint64_t tb = tl >= 8 ? head ^ (word(t, AT_PY_BYTES_DATA + (int32_t)tl - 8) * 0xC2B2AE3D27D4EB4Full)
                          : head & ((1ull << (8 * tl)) - 1);
    uint64_t fl = word(s, 16), tail = 0;
    uint32_t state = *(const uint32_t *)(s + 32);
    if ((state >> 5) & 1) {              /* compact: the text follows the header */
        int32_t data = (state >> 6) & 1 ? l->ascii_size : l->compact_size;
        /* ends at the text's end; a text under 8 bytes takes header bytes too, still the str's */
        tail = word(s, data + (int32_t)(fl * ((state >> 2) & 7)) - 8);
    }
    uint64_t a = table ^ (qual * 0x9E3779B97F4A7C15ull) ^ tb ^ (tl << 48);
    uint64_t b = file ^ tail ^ (fl << 48) ^ (first << 32);
    return (code ^ (a * 0xFF51AFD7ED558CCDull) ^ (b * 0xC4CEB9FE1A85EC53ull)) | 1;
}

/* The code-freed epoch as the walks compare it, never 0; 0 when addresses cannot be trusted
 * (an entry that holds 0 is always checked by content) */
static inline uint32_t current_epoch(void) {
    return epoch_trusted ? __atomic_load_n(&at_py_code_epoch.value, __ATOMIC_RELAXED) + 1 : 0;
}

/* Per-thread front of the code table: the hot code objects of a thread hit here. An entry made or
 * checked at the current epoch (current_epoch) is the same code object still if its address is. */
typedef struct { const void *code; uint64_t identity; uint64_t id; uint32_t epoch; } at_py_seen;
#define AT_PY_SEEN 64
static __thread at_py_seen seen[AT_PY_SEEN] __attribute__((tls_model("initial-exec")));

static uint64_t code_id_slow(const char *code, uint64_t identity, at_py_seen *f, uint32_t epoch);

/* The id of a code object (0: none), *identity its code_identity_of (0: not a code object). */
static inline uint64_t code_id(const at_py_layout *l, const char *code, uint32_t epoch, uint64_t *identity) {
    at_py_seen *f = &seen[((uintptr_t)code >> 4) & (AT_PY_SEEN - 1)];
    if (f->code == code && f->epoch == epoch && epoch) { *identity = f->identity; return f->id; }
    uint64_t i = code_identity_of(l, (uint64_t)(uintptr_t)code);
    *identity = i;
    if (!i) return 0;
    if (f->code == code && f->identity == i) { f->epoch = epoch; return f->id; }
    return code_id_slow(code, i, f, epoch);
}

/* The shared code table: the id of a code object the thread's front did not have. */
__attribute__((noinline))
static uint64_t code_id_slow(const char *code, uint64_t identity, at_py_seen *f, uint32_t epoch) {
    uint64_t key = mix(mix(AT_PY_HASH_SEED, (uint64_t)(uintptr_t)code), identity) | 1;
    uint32_t mask = AT_PY_CODE_SLOTS - 1, slot = (uint32_t)(key >> 20) & mask;
    for (uint32_t probe = 0; probe < 64; probe++, slot = (slot + 1) & mask) {
        uint64_t *e = code_slots + 2 * slot;
        uint64_t k = at_load64(e);
        if (k == 0) {
            if (!at_cas64(e, 0, key)) { k = at_load64(e); if (k != key) continue; }
            else {
                uint64_t id = at_add64(&code_count, 1) - 1;
                if (id > 0x7FFFFFFF) return 0;
                at_store64(e + 1, id);
                describe(code, (uint32_t)id);
                f->code = code; f->identity = identity; f->id = id; f->epoch = epoch;
                return id;
            }
        }
        if (k == key) {
            uint64_t id = 0;
            for (int spins = 0; spins < 1000 && (id = at_load64(e + 1)) == 0; spins++) at_pause();
            if (id) { f->code = code; f->identity = identity; f->id = id; f->epoch = epoch; }
            return id;
        }
    }
    return 0;
}

/* ---- frames ---------------------------------------------------------------------------------- */

/* ---- walking the frame chain ----------------------------------------------------------------- */

/* A thread's successive allocations mostly share the outer part of their Python stacks. The last
 * walk is kept per thread, outermost first: each frame's address, instruction pointer and
 * `previous`, and what it gave (a token, 0 for a frame that gives none, AT_PY_SHIM for a C call's
 * shim frame) with the hash of the tokens from the outermost through it. A new walk that meets a
 * kept frame unchanged checks the rest of the chain with two loads a frame and reuses the rest. */
#define AT_PY_LAST 128
#define AT_PY_SHIM 1ull
typedef struct {
    uint32_t n;
    /* 1 when the last at_python_walk wrote its tokens to py itself (its walk could not be
     * kept); else at_python_insert makes them from the kept walk, which a stack the thread's
     * cache knows never needs */
    uint32_t py_written;
    uint64_t addr[AT_PY_LAST], instr[AT_PY_LAST], prev[AT_PY_LAST], token[AT_PY_LAST], hash[AT_PY_LAST];
    uint32_t count[AT_PY_LAST];  /* tokens of frames from the outermost through this one */
    /* the frame's code object's identity: a freed code object's address can come back as another
     * code object whose instructions lie at the same addresses */
    uint64_t code[AT_PY_LAST];
    uint64_t code_at[AT_PY_LAST];  /* its address: enough while the epoch stays `epoch` */
    uint32_t epoch;                /* current_epoch at the last walk */
    uint8_t slot[256];           /* frame address -> index, checked against addr[] */
} at_py_last;
static __thread at_py_last last __attribute__((tls_model("initial-exec")));

/* The identity of a frame's code object (code_identity_of). */
static inline uint64_t code_identity(const at_py_layout *l, const char *frame) {
    return code_identity_of(l, word(frame, l->frame_code));
}

static inline uint32_t slot_of(uint64_t frame) { return (uint32_t)((frame * 0x9E3779B97F4A7C15ull) >> 56); }

/* One frame's token: 0 when it gives none (an incomplete frame, an unknown code object).
 * *identity: the frame's code_identity (0: not a code object, *bad set). */
static inline uint64_t frame_token(const at_py_layout *l, const char *frame, uint64_t instr, uint32_t epoch,
                                   uint64_t *identity, int *bad) {
    uint64_t code = word(frame, l->frame_code);
    uint64_t start = code + (uint64_t)l->code_bytecode;
    if (instr < start || instr - start >= (1u << 30)) {
        if (!(*identity = code_identity_of(l, code))) *bad = 1;
        return 0;
    }
    uint64_t id = code_id(l, (const char *)(uintptr_t)code, epoch, identity);
    if (!*identity) { *bad = 1; return 0; }
    uint64_t t = id ? AT_PY_FRAME_TAG | (id << 32) | (instr - start) : 0;
    if (t && l->frame_is_entry >= 0 && frame[l->frame_is_entry]) t |= AT_PY_SEGMENT_END;
    return t;
}

/* The number of the calling thread's Python frames (at most `room`), *pyhash their hash. The
 * frames are kept in `last` (kept_tokens makes them, innermost first), or, when the walk cannot be
 * kept, written to py[0..<return) at once, with AT_PY_SEGMENT_END on the last frame each C call of
 * the eval loop ran. `e` is scratch for 5 x AT_PY_LAST words. */
static inline __attribute__((always_inline))
int walk(const at_py_layout *lp, uint64_t f, int room, uint64_t *py, uint64_t *e, uint64_t *pyhash) {
    const at_py_layout l = *lp;      /* constants in each version's copy (walk_for) */
    uint64_t *ea = e, *ei = e + AT_PY_LAST, *ep = e + 2 * AT_PY_LAST, *et = e + 3 * AT_PY_LAST, *ec = e + 4 * AT_PY_LAST;
    int v = 0, joined = -1, bad = 0;
    /* kept entries at or above `changed` differ from this chain: no join can use them */
    uint32_t changed = last.n;
    /* no code object freed since the last walk (and that walk's entries checked): a kept frame's
     * code object is the same if its address is */
    uint32_t epoch = current_epoch();
    int same = epoch && epoch == last.epoch;
    last.epoch = epoch;
    while (plausible(f) && v < AT_PY_LAST) {
        const char *frame = (const char *)(uintptr_t)f;
        uint64_t prev = word(frame, l.frame_previous), instr = word(frame, l.frame_instr);
        uint32_t j = last.slot[slot_of(f)];
        if (j < changed && last.addr[j] == f && last.instr[j] == instr && last.prev[j] == prev
            && (same ? last.code_at[j] == word(frame, l.frame_code) : last.code[j] == code_identity(&l, frame))) {
            /* the same frame in the same place: is the chain outside it unchanged too? */
            uint64_t g = prev;
            int k = (int)j - 1;
            for (; k >= 0; k--) {
                if (g != last.addr[k]) break;
                const char *o = (const char *)(uintptr_t)g;
                if (word(o, l.frame_instr) != last.instr[k] || word(o, l.frame_previous) != last.prev[k]
                    || (same ? word(o, l.frame_code) != last.code_at[k] : code_identity(&l, o) != last.code[k])) break;
                g = last.prev[k];
            }
            if (k < 0) { joined = (int)j; break; }
            changed = (uint32_t)k;
        }
        uint64_t identity, t;
        if (frame[l.frame_owner] == AT_PY_OWNED_BY_CSTACK) { identity = code_identity(&l, frame); t = AT_PY_SHIM; }
        else t = frame_token(&l, frame, instr, epoch, &identity, &bad);
        if (bad) break;
        ea[v] = f; ei[v] = instr; ep[v] = prev; et[v] = t; ec[v] = identity;
        v++;
        f = prev;
    }
    if (v == AT_PY_LAST && joined < 0) { last.n = 0; }
    /* the kept outer part, then the new frames outwards-in: hashes and the kept walk */
    int base = joined + 1;                         /* kept entries [0, base) */
    uint64_t h = base ? last.hash[base - 1] : AT_PY_HASH_SEED;
    if (base + v <= AT_PY_LAST && !(v == AT_PY_LAST && joined < 0)) {
        uint32_t c = base ? last.count[base - 1] : 0;
        for (int i = v - 1, at = base; i >= 0; i--, at++) {
            uint64_t t = et[i];
            if (t > AT_PY_SHIM) { h = mix(h, t & ~AT_PY_SEGMENT_END); c++; }
            last.addr[at] = ea[i]; last.instr[at] = ei[i]; last.prev[at] = ep[i];
            last.token[at] = t; last.hash[at] = h; last.code[at] = ec[i]; last.count[at] = c;
            last.code_at[at] = word((const char *)(uintptr_t)ea[i], l.frame_code);
            last.slot[slot_of(ea[i])] = (uint8_t)at;
        }
        last.n = (uint32_t)(base + v);
        last.py_written = 0;
        *pyhash = h;
        return (int)c > room ? room : (int)c;
    }
    for (int i = v - 1; i >= 0; i--) if (et[i] > AT_PY_SHIM) h = mix(h, et[i] & ~AT_PY_SEGMENT_END);
    *pyhash = h;
    /* tokens innermost first: the new frames, then the kept ones; a shim ends the segment of the
     * frame inside it */
    int m = 0;
    for (int i = 0; i < v && m < room; i++) {
        if (et[i] == AT_PY_SHIM) { if (m) py[m - 1] |= AT_PY_SEGMENT_END; }
        else if (et[i]) py[m++] = et[i];
    }
    for (int k = base - 1; k >= 0 && m < room; k--) {
        uint64_t t = last.token[k];
        if (t == AT_PY_SHIM) { if (m) py[m - 1] |= AT_PY_SEGMENT_END; }
        else if (t) py[m++] = t;
    }
    last.n = 0;
    last.py_written = 1;
    return m;
}

/* The kept walk's tokens into py[0..<m], innermost first; a shim ends the segment of the frame
 * inside it. */
static void kept_tokens(uint64_t *py, int m) {
    int j = 0;
    for (int k = (int)last.n - 1; k >= 0 && j < m; k--) {
        uint64_t t = last.token[k];
        if (t == AT_PY_SHIM) { if (j) py[j - 1] |= AT_PY_SEGMENT_END; }
        else if (t) py[j++] = t;
    }
}

/* walk with one version's offsets as constants: fewer registers and loads a frame */
typedef int (*at_py_walker)(uint64_t, int, uint64_t *, uint64_t *, uint64_t *);
#define AT_PY_WALKER(i) \
    static int walk_##i(uint64_t f, int room, uint64_t *py, uint64_t *e, uint64_t *h) { return walk(&layouts[i], f, room, py, e, h); }
AT_PY_WALKER(0)
AT_PY_WALKER(1)
AT_PY_WALKER(2)
static const at_py_walker walkers[] = {walk_0, walk_1, walk_2};
_Static_assert(sizeof walkers / sizeof walkers[0] == sizeof layouts / sizeof layouts[0], "a walker per layout");
static at_py_walker walker;
static void choose_walker(size_t layout) { walker = walkers[layout]; }

/* The calling thread's innermost Python frame (0: none). */
static uint64_t current_frame(void) {
    void *ts = this_thread_state();
    if (!ts || !plausible((uint64_t)(uintptr_t)ts)) return 0;
    if (L->ts_cframe < 0) return word(ts, L->cframe_current);
    uint64_t cf = word(ts, L->ts_cframe);
    return plausible(cf) ? word((const void *)(uintptr_t)cf, L->cframe_current) : 0;
}

int at_python_walk(uint64_t *py, uint64_t *pyhash) {
    uint64_t f = current_frame();
    if (!f) return 0;
    return walker(f, AT_MAX_FRAMES, py, py + AT_MAX_FRAMES, pyhash);
}

/* The last free's innermost frame and its stack id, per thread: frees come in runs from one line
 * (a container's items, a function's locals), which then skip the token and the stack cache. The
 * frame's code object by its identity, as in the kept walk. */
typedef struct { uint64_t frame, instr, code, code_at, id; uint32_t epoch; } at_py_free_memo;
static __thread at_py_free_memo free_memo __attribute__((tls_model("initial-exec")));

int at_python_stack(void **frames, uint64_t *hash, uint64_t *id) {
    /* a free needs only the line that let the object go: the innermost Python frame, no walk of
     * the chain (frees are as many as allocations) */
    uint64_t f = current_frame();
    if (!plausible(f)) return 0;
    const char *innermost = (const char *)(uintptr_t)f;
    uint64_t instr0 = word(innermost, L->frame_instr), at0 = word(innermost, L->frame_code);
    uint32_t epoch = current_epoch();
    at_py_free_memo *memo = &free_memo;
    if (memo->frame == f && memo->instr == instr0 && memo->id
        && (epoch && memo->epoch == epoch ? memo->code_at == at0 : memo->code == code_identity(L, innermost))) {
        memo->epoch = epoch;
        *id = memo->id;
        return 2;
    }
    memo->id = 0;
    int bad = 0;
    for (int hops = 0; hops < 4 && plausible(f); hops++) {
        const char *frame = (const char *)(uintptr_t)f;
        uint64_t at = f;
        f = word(frame, L->frame_previous);
        if (frame[L->frame_owner] == AT_PY_OWNED_BY_CSTACK) continue;
        uint64_t identity;
        uint64_t t = frame_token(L, frame, word(frame, L->frame_instr), epoch, &identity, &bad);
        if (bad) return 0;
        if (!t) continue;
        t &= ~AT_PY_SEGMENT_END;
        frames[0] = (void *)(uintptr_t)t;
        *hash = at_stack_mix(mix(AT_PY_HASH_SEED, t)) | 1;
        /* remembered only when the innermost frame gave the token: its state is the key */
        if (at == (uint64_t)(uintptr_t)innermost) {
            memo->frame = at; memo->instr = instr0; memo->code = identity; memo->code_at = at0; memo->epoch = epoch;
        }
        else memo->frame = 0;
        return 1;
    }
    return 0;
}

void at_python_stack_interned(uint64_t id) {
    if (free_memo.frame) free_memo.id = id;
}

int at_python_insert(void **frames, int n, uint64_t *py, int m) {
    if (!last.py_written) kept_tokens(py, m);
    /* segment k (0: innermost) goes right before the k-th eval-loop frame; segments beyond the
     * native stack's last eval frame (a truncated native stack) go after its end. Filled from the
     * back, in place: only insertions, so the write position never passes the read position. */
    int evals = 0;
    for (int i = 0; i < n; i++) {
        uint64_t a = (uint64_t)(uintptr_t)frames[i];
        if (a > at_py.eval_lo && a <= at_py.eval_hi) evals++;
    }
    int seg_first[AT_MAX_FRAMES + 1], segs = 0;   /* index of each segment's first frame */
    seg_first[0] = 0;
    for (int j = 0; j < m; j++)
        if ((py[j] & AT_PY_SEGMENT_END) || j == m - 1) { seg_first[++segs] = j + 1; }
    int w = n + m - 1;
    for (int k = segs - 1; k >= evals; k--)
        for (int j = seg_first[k + 1] - 1; j >= seg_first[k]; j--) frames[w--] = (void *)(uintptr_t)(py[j] & ~AT_PY_SEGMENT_END);
    int e = evals;
    for (int i = n - 1; i >= 0; i--) {
        uint64_t a = (uint64_t)(uintptr_t)frames[i];
        frames[w--] = frames[i];
        if (a > at_py.eval_lo && a <= at_py.eval_hi) {
            int k = --e;
            if (k < segs)
                for (int j = seg_first[k + 1] - 1; j >= seg_first[k]; j--) frames[w--] = (void *)(uintptr_t)(py[j] & ~AT_PY_SEGMENT_END);
        }
    }
    return n + m;
}

/* ---- heap-graph captures --------------------------------------------------------------------- */

int at_python_runs_code(void) { return at_py.frames && current_frame() != 0; }

int at_python_dead_stack(uint64_t *lo, uint64_t *hi) {
    if (!at_py.frames) return 0;
    void *ts = this_thread_state();
    if (!ts || !plausible((uint64_t)(uintptr_t)ts)) return 0;
    uint64_t top = word(ts, L->ts_datastack_top), limit = word(ts, L->ts_datastack_top + 8);
    if (!plausible(top) || !plausible(limit) || limit <= top || limit - top > (1ull << 30)) return 0;
    *lo = top;
    *hi = limit;
    return 1;
}

/* ---- the writer's side ----------------------------------------------------------------------- */

const at_py_code *at_python_next_code(void) {
    if (!at_py.arena) return NULL;
    uint64_t used = at_load64(&at_py.arena_used);
    if (used > at_py.arena_capacity) used = at_py.arena_capacity;
    if (at_py.emitted >= used) return NULL;
    at_py_code *c = (at_py_code *)(at_py.arena + at_py.emitted);
    uint32_t ready = at_load32(&c->ready);
    if (ready == 0) return NULL;                         /* still being copied: next round */
    at_py.emitted += c->size;
    return ready == 1 ? c : at_python_next_code();
}

void at_python_after_fork(void) {
    /* the child's trace describes every code object again; one a vanished thread was copying
     * is skipped (its id shows as an unknown code object) */
    at_py.emitted = 0;
    uint64_t used = at_py.arena ? at_load64(&at_py.arena_used) : 0;
    uint64_t at = 0;
    while (at < used && at < at_py.arena_capacity) {
        at_py_code *c = (at_py_code *)(at_py.arena + at);
        if (c->size == 0) {                              /* space reserved, header never written */
            at_py.arena_used = at;
            break;
        }
        if (at_load32(&c->ready) == 0) at_store32(&c->ready, 2);
        at += c->size;
    }
    for (int i = 0; i < AT_PY_SEEN; i++) seen[i].code = NULL;
    free_memo.frame = 0;
}
