/* python_names.c: the names a heap-graph snapshot's Python references go by (docs/FORMAT.md,
 * heap_snapshot part 11): each dict's keys table (where its entries lie, how many are used) and
 * the text of its str keys, each module's name and globals dict, each class's module, size and
 * shared keys (the names of its instances' attribute values).
 *
 * Why here: the snapshot holds no heap contents, and key texts, entry counts and index widths are
 * data, not pointers. The scan hands over every object whose ob_type is `dict` or `module` (a
 * part-4 word), python_types.c every class; after the scan each is read with at_read_memory (no
 * fault on a stale pointer), every pointer's target checked for the expected type before it is
 * followed. The world is stopped: no Python API, nothing allocates (tables are mapped once). */
#define _GNU_SOURCE
#include "recorder_support.h"

#include <dlfcn.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* offsets (x86-64, CPython 3.11 to 3.13 alike unless noted; gdb ptype/o on pyenv's 3.11.7, 3.12.1,
 * 3.13.0 libpython) */
#define AT_PY_MD_DICT 16          /* PyModuleObject.md_dict */
#define AT_PY_MD_NAME 48          /* PyModuleObject.md_name */
#define AT_PY_MA_KEYS 32          /* PyDictObject.ma_keys */
#define AT_PY_DK_HEADER 32        /* PyDictKeysObject up to dk_indices */
#define AT_PY_TP_BASICSIZE 32
#define AT_PY_TP_DICT 264
#define AT_PY_HT_CACHED_KEYS_311 872   /* PyHeapTypeObject.ht_cached_keys; 880 from 3.12 */
#define AT_PY_HT_CACHED_KEYS_312 880
#define AT_PY_TPFLAGS_HEAPTYPE (1ull << 9)

#define AT_PY_NOTED (1u << 21)     /* dicts and modules (bit 0 of an entry: a module) */
#define AT_PY_CLASSES (1u << 14)
#define AT_PY_SEEN (1u << 22)      /* keys tables and str objects already written (open addressing) */

static uint64_t dict_type, module_type, unicode_type;
static uint64_t *noted, *classes, *seen;
static uint32_t noted_count, class_count, seen_count;
static pid_t self;   /* this process, for batched reads of its own memory */
/* The heap's and anonymous memory's writable mappings (start, end pairs, sorted) while every other
 * thread is stopped: nothing can unmap them meanwhile, so reads there are plain loads. */
static const uint64_t *readable;
static int readable_count;

void at_python_names_readable(const uint64_t *ranges, int n) {
    readable = ranges;
    readable_count = n;
}

/* Reads [a, a + n): a copy inside the readable mappings, else at_read_memory (a stale pointer
 * into nothing reads as nothing). Returns the bytes read. */
static size_t read_at(uint64_t a, void *out, size_t n) {
    int lo = 0, hi = readable_count;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (a < readable[2 * mid]) hi = mid;
        else if (a >= readable[2 * mid + 1]) lo = mid + 1;
        else {
            if (n <= readable[2 * mid + 1] - a) {
                memcpy(out, (const void *)(uintptr_t)a, n);
                return n;
            }
            break;
        }
    }
    return at_read_memory(a, out, n);
}

int at_python_names_begin(void) {
    if (!dict_type) dict_type = (uint64_t)(uintptr_t)dlsym(RTLD_DEFAULT, "PyDict_Type");
    if (!module_type) module_type = (uint64_t)(uintptr_t)dlsym(RTLD_DEFAULT, "PyModule_Type");
    if (!unicode_type) unicode_type = (uint64_t)(uintptr_t)dlsym(RTLD_DEFAULT, "PyUnicode_Type");
    if (!noted) noted = at_map((size_t)AT_PY_NOTED * 8);
    if (!classes) classes = at_map((size_t)AT_PY_CLASSES * 8);
    if (!seen) seen = at_map((size_t)AT_PY_SEEN * 8);
    noted_count = class_count = 0;
    readable_count = 0;
    if (!dict_type || !module_type || !unicode_type || !noted || !classes || !seen) return 0;
    memset(seen, 0, (size_t)AT_PY_SEEN * 8);
    seen_count = 0;
    self = getpid();
    return 1;
}

void at_python_names_note(uint64_t object, uint64_t type) {
    if ((type != dict_type && type != module_type) || !noted || noted_count >= AT_PY_NOTED) return;
    noted[noted_count++] = object | (type == module_type);
}

void at_python_names_note_class(uint64_t type, uint64_t flags) {
    if ((flags & AT_PY_TPFLAGS_HEAPTYPE) && classes && class_count < AT_PY_CLASSES) classes[class_count++] = type;
}

/* 1 when `a` was not seen yet (and is now); 0 when it was, or the set is full */
static int first_sight(uint64_t a) {
    if (seen_count >= AT_PY_SEEN / 2) return 0;
    uint32_t mask = AT_PY_SEEN - 1, i = (uint32_t)((a * 0x9E3779B97F4A7C15ull) >> 40) & mask;
    while (seen[i] != 0) {
        if (seen[i] == a) return 0;
        i = (i + 1) & mask;
    }
    seen[i] = a;
    seen_count++;
    return 1;
}

/* The text of the str at `s` when it is a compact ASCII str (identifiers, almost every key):
 * its length, or -1. */
static int str_text(uint64_t s, char *out, int cap) {
    uint64_t head[6];   /* refcnt, type, length, hash, state, (3.11: wstr) */
    if (!s || (s & 7) || read_at(s, head, sizeof head) != sizeof head || head[1] != unicode_type) return -1;
    uint32_t state = (uint32_t)head[4];
    int compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
    if (!compact || !ascii || head[2] == 0 || head[2] >= (uint64_t)cap) return -1;
    uint64_t data = s + ((at_py.version_hex >> 16 & 0xFF) == 11 ? 48 : 40);   /* after PyASCIIObject */
    if (read_at(data, out, (size_t)head[2]) != head[2]) return -1;
    return (int)head[2];
}

/* Noted objects are read in batches, one process_vm_readv for the headers of AT_PY_BATCH objects
 * and one for the first AT_PY_KEYS_READ bytes of their dicts' keys tables (a small dict's whole
 * table): a read each would cost most of the capture on a heap of many dicts. A batch stops at the
 * first unreadable address; what follows it is read one by one. */
#define AT_PY_BATCH 128
#define AT_PY_KEYS_READ 256
static struct {
    uint32_t from, count;                      /* noted[from ..< from + count] */
    uint64_t head[AT_PY_BATCH][7];             /* refcnt, type, then the dict's or module's fields */
    uint8_t head_ok[AT_PY_BATCH];
    uint8_t keys[AT_PY_BATCH][AT_PY_KEYS_READ];
    uint8_t keys_ok[AT_PY_BATCH];
} batch;

/* Reads `n` ranges of `size` bytes each into out (consecutive); ok[i] = 1 for each range read. */
static void read_many(const uint64_t *from, uint32_t n, size_t size, void *out, uint8_t *ok) {
    struct iovec local[AT_PY_BATCH], remote[AT_PY_BATCH];
    uint32_t m = 0;
    uint32_t index[AT_PY_BATCH];
    for (uint32_t i = 0; i < n; i++) {
        ok[i] = 0;
        if (!from[i] || (from[i] & 7)) continue;
        if (readable_count && read_at(from[i], (uint8_t *)out + i * size, size) == size) { ok[i] = 1; continue; }
        local[m] = (struct iovec){ (uint8_t *)out + i * size, size };
        remote[m] = (struct iovec){ (void *)(uintptr_t)from[i], size };
        index[m++] = i;
    }
    uint32_t done = 0;
    while (done < m) {
        ssize_t got = process_vm_readv(self, local + done, m - done, remote + done, m - done, 0);
        uint32_t whole = got > 0 ? (uint32_t)((size_t)got / size) : 0;
        for (uint32_t k = 0; k < whole; k++) ok[index[done + k]] = 1;
        done += whole;
        if (done < m) {
            /* the range that failed: alone (a short read fails it), then the batch goes on */
            ok[index[done]] = read_at((uint64_t)(uintptr_t)remote[done].iov_base,
                                             local[done].iov_base, size) == size;
            done++;
        }
    }
}

static uint32_t walk_next_noted(void);

static void read_batch(void) {
    uint64_t at[AT_PY_BATCH];
    batch.from = walk_next_noted();
    batch.count = noted_count - batch.from < AT_PY_BATCH ? noted_count - batch.from : AT_PY_BATCH;
    for (uint32_t i = 0; i < batch.count; i++) at[i] = noted[batch.from + i] & ~1ull;
    read_many(at, batch.count, sizeof batch.head[0], batch.head, batch.head_ok);
    for (uint32_t i = 0; i < batch.count; i++) {
        uint64_t *o = batch.head[i];
        int dict = batch.head_ok[i] && !(noted[batch.from + i] & 1) && o[0] != 0 && o[1] == dict_type;
        at[i] = dict ? o[AT_PY_MA_KEYS / 8] : 0;
    }
    read_many(at, batch.count, AT_PY_KEYS_READ, batch.keys, batch.keys_ok);
}

/* the walk's position: which noted object or class, and inside which keys table */
static struct {
    uint32_t next_noted, next_class;
    uint64_t table, entries, used, at;   /* the keys table being walked, its next entry */
    uint32_t entry_size, key_offset;
    int header_due;                      /* the table's own entry is not written yet */
    uint64_t pending_index, pending_key; /* a key waiting for its str, written first */
    int pending;
    uint64_t buffer[3 * 128];            /* entries read in batches */
    uint64_t buffer_from, buffer_count;
} walk;

static uint32_t walk_next_noted(void) { return walk.next_noted; }

void at_python_names_rewind(void) {
    memset(&walk, 0, sizeof walk);
    batch.from = batch.count = 0;
}

/* Starts the walk of the keys table at `keys`, when it is one and was not written yet; `pre`:
 * its first AT_PY_KEYS_READ bytes when they were read already. */
static int start_table(uint64_t keys, const uint8_t *pre) {
    uint8_t h[AT_PY_DK_HEADER];
    if (!keys || (keys & 7) || !first_sight(keys)) return 0;
    if (pre) memcpy(h, pre, sizeof h);
    else if (read_at(keys, h, sizeof h) != sizeof h) return 0;
    uint8_t log2_size = h[8], log2_index_bytes = h[9], kind = h[10];
    uint64_t nentries;
    memcpy(&nentries, h + 24, 8);
    if (log2_size < 3 || log2_size > 32 || log2_index_bytes < log2_size || log2_index_bytes > log2_size + 3 || kind > 2
        || nentries > (1ull << log2_size)) return 0;
    walk.table = keys;
    walk.entries = AT_PY_DK_HEADER + (1ull << log2_index_bytes);
    walk.entry_size = kind == 0 ? 24 : 16;   /* DICT_KEYS_GENERAL: PyDictKeyEntry (hash, key, value) */
    walk.key_offset = kind == 0 ? 8 : 0;
    walk.used = nentries;
    walk.at = 0;
    walk.buffer_from = walk.buffer_count = 0;
    /* a small table's entries came with its header */
    if (pre && walk.entries + nentries * walk.entry_size <= AT_PY_KEYS_READ && nentries <= 128) {
        memcpy(walk.buffer, pre + walk.entries, (size_t)(nentries * walk.entry_size));
        walk.buffer_count = nentries;
    }
    walk.header_due = 1;
    return 1;
}

/* The `__module__` str of a class's dict (tp_dict), when there is one. */
static int class_module(uint64_t type, char *out, int cap) {
    uint64_t d[6], keys;
    if (read_at(type + AT_PY_TP_DICT, &d[0], 8) != 8 || !d[0]) return -1;
    if (read_at(d[0], d, sizeof d) != sizeof d || d[1] != dict_type || d[5] != 0) return -1;
    keys = d[4];
    uint8_t h[AT_PY_DK_HEADER];
    if (!keys || read_at(keys, h, sizeof h) != sizeof h || h[9] > 35 || h[10] > 2) return -1;
    uint64_t n, entries = keys + AT_PY_DK_HEADER + (1ull << h[9]);
    memcpy(&n, h + 24, 8);
    uint32_t size = h[10] == 0 ? 24 : 16, key = h[10] == 0 ? 8 : 0;
    char text[16];
    for (uint64_t i = 0; i < n && i < 64; i++) {
        uint64_t kv[2];
        if (read_at(entries + i * size + key, kv, sizeof kv) != sizeof kv) return -1;
        if (str_text(kv[0], text, sizeof text) == 10 && memcmp(text, "__module__", 10) == 0) return str_text(kv[1], out, cap);
    }
    return -1;
}

int at_python_name_next(uint64_t *v, char *text, int cap, int *text_length) {
    *text_length = 0;
    for (;;) {
        if (walk.pending) {
            walk.pending = 0;
            v[0] = walk.pending_index;
            v[1] = walk.pending_key;
            return AT_PY_NAME_KEY;
        }
        if (walk.table && walk.header_due) {
            walk.header_due = 0;
            v[0] = walk.table;
            v[1] = walk.entries;
            v[2] = walk.entry_size;
            v[3] = walk.used;
            return AT_PY_NAME_TABLE;
        }
        while (walk.table && walk.at < walk.used) {
            uint64_t i = walk.at++;
            if (i >= walk.buffer_from + walk.buffer_count) {
                uint64_t n = walk.used - i < 128 ? walk.used - i : 128;
                size_t bytes = (size_t)(n * walk.entry_size);
                if (read_at(walk.table + walk.entries + i * walk.entry_size, walk.buffer, bytes) != bytes) { walk.table = 0; break; }
                walk.buffer_from = i;
                walk.buffer_count = n;
            }
            uint64_t key;
            memcpy(&key, (uint8_t *)walk.buffer + (i - walk.buffer_from) * walk.entry_size + walk.key_offset, 8);
            if (!key || (key & 7)) continue;
            if (!first_sight(key | 1)) {
                /* a str written before (bit 0 marks strs in the set; keys tables are 8-aligned) */
                v[0] = i;
                v[1] = key;
                return AT_PY_NAME_KEY;
            }
            int n = str_text(key, text, cap);
            if (n <= 0) continue;   /* not a str we name: the entry keeps its offset */
            walk.pending = 1;
            walk.pending_index = i;
            walk.pending_key = key;
            v[0] = key;
            *text_length = n;
            return AT_PY_NAME_STR;
        }
        walk.table = 0;
        if (walk.next_noted < noted_count) {
            if (walk.next_noted >= batch.from + batch.count) read_batch();
            uint32_t b = walk.next_noted - batch.from;
            uint64_t e = noted[walk.next_noted++], object = e & ~1ull;
            const uint64_t *o = batch.head[b];
            if (!batch.head_ok[b] || o[0] == 0) continue;
            if (e & 1) {
                if (o[1] != module_type) continue;
                int n = str_text(o[AT_PY_MD_NAME / 8], text, cap);
                uint64_t d[2];
                if (n <= 0 || !o[AT_PY_MD_DICT / 8] || read_at(o[AT_PY_MD_DICT / 8], d, sizeof d) != sizeof d || d[1] != dict_type) continue;
                v[0] = object;
                v[1] = o[AT_PY_MD_DICT / 8];
                *text_length = n;
                return AT_PY_NAME_MODULE;
            }
            if (o[1] == dict_type) start_table(o[AT_PY_MA_KEYS / 8], batch.keys_ok[b] ? batch.keys[b] : NULL);
            continue;
        }
        if (walk.next_class < class_count) {
            uint64_t t = classes[walk.next_class++], size = 0, keys = 0;
            uint32_t minor = at_py.version_hex >> 16 & 0xFF;
            read_at(t + AT_PY_TP_BASICSIZE, &size, 8);
            read_at(t + (minor == 11 ? AT_PY_HT_CACHED_KEYS_311 : AT_PY_HT_CACHED_KEYS_312), &keys, 8);
            int n = class_module(t, text, cap);
            v[0] = t;
            v[1] = size;
            v[2] = keys;
            *text_length = n > 0 ? n : 0;
            start_table(keys, NULL);
            return AT_PY_NAME_CLASS;
        }
        return 0;
    }
}
