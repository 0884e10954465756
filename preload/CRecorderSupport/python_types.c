/* python_types.c: the Python type objects a heap-graph snapshot meets, so the analyzer can name
 * each object by its Python type (docs/FORMAT.md, heap_snapshot part 9).
 *
 * Why here: a snapshot writes no heap contents, and a type's name is in memory only (tp_name; a
 * class's is a heap string). During the scan every word that points into a module's data is seen
 * (part 4); in a Python process those include every object's ob_type for the built-in types
 * (list, dict, str...), and a class object's own ob_type (`type`). So the scan notes those words'
 * values and the addresses of class objects, and after the scan each candidate that really is a
 * type object (its ob_type is `type`) is described: address, tp_flags, tp_name. Reads of candidate
 * memory go through at_read_memory (no fault on a stale pointer); nothing allocates. */
#define _GNU_SOURCE
#include "recorder_support.h"

#include <dlfcn.h>
#include <string.h>

#define AT_PY_TYPE_SLOTS (1u << 16)
#define AT_PY_TP_NAME 24       /* PyTypeObject.tp_name, 3.11 to 3.13 */
#define AT_PY_TP_FLAGS 168     /* PyTypeObject.tp_flags */

static uint64_t *candidates;   /* open addressing; 0 is empty */
static uint32_t candidate_count;
static uint64_t type_type;     /* &PyType_Type */
static uint64_t list_type;     /* &PyList_Type */

/* Facts the analyzer needs to tell references from stale words (part 10): a built-in object whose
 * reference count is 0 (a free list's: its words are stale), and a list's length (its item
 * array's words past it are stale). Pairs: object address | 1 when dead, length. */
#define AT_PY_FACTS (1u << 20)
static uint64_t *facts;
static uint32_t fact_count;
static int names;              /* part 11 can be written (python_names.c) */

int at_python_names_ready(void) { return names; }

int at_python_types_begin(void) {
    if (!at_py.frames) return 0;
    if (!type_type) type_type = (uint64_t)(uintptr_t)dlsym(RTLD_DEFAULT, "PyType_Type");
    if (!list_type) list_type = (uint64_t)(uintptr_t)dlsym(RTLD_DEFAULT, "PyList_Type");
    if (!candidates) candidates = at_map((size_t)AT_PY_TYPE_SLOTS * 8);
    if (!facts) facts = at_map((size_t)AT_PY_FACTS * 16);
    if (!candidates || !type_type || !facts) return 0;
    memset(candidates, 0, (size_t)AT_PY_TYPE_SLOTS * 8);
    candidate_count = 0;
    fact_count = 0;
    names = at_python_names_begin();
    return 1;
}

static void add(uint64_t c) {
    if (c == 0 || candidate_count >= AT_PY_TYPE_SLOTS / 2) return;
    uint32_t mask = AT_PY_TYPE_SLOTS - 1, i = (uint32_t)((c * 0x9E3779B97F4A7C15ull) >> 40) & mask;
    while (candidates[i] != 0) {
        if (candidates[i] == c) return;
        i = (i + 1) & mask;
    }
    candidates[i] = c;
    candidate_count++;
}

void at_python_note_data_word(uint64_t at, uint64_t value, uint64_t before, uint64_t after) {
    /* a word holding &PyType_Type is a class object's ob_type: the class starts 8 bytes before */
    if (value == type_type) add(at - 8);
    else add(value);
    at_python_names_note(at - 8, value);
    /* if it is an ob_type: `before` is the object's reference count, `after` a list's length */
    int dead = before == 0, list = value == list_type && after != UINT64_MAX;
    if ((dead || list) && fact_count < AT_PY_FACTS) {
        facts[2 * fact_count] = (at - 8) | (uint64_t)dead;
        facts[2 * fact_count + 1] = list ? after : 0;
        fact_count++;
    }
}

int at_python_fact(uint32_t i, uint64_t *object, uint64_t *dead, uint64_t *length) {
    if (i >= fact_count) return 0;
    *object = facts[2 * i] & ~1ull;
    *dead = facts[2 * i] & 1;
    *length = facts[2 * i + 1];
    return 1;
}

int at_python_type_at(uint32_t *cursor, uint64_t *address, uint64_t *flags, char *name, int cap) {
    while (*cursor < AT_PY_TYPE_SLOTS) {
        uint64_t c = candidates[(*cursor)++];
        if (c == 0 || (c & 7)) continue;
        uint64_t head[4];                              /* refcnt, ob_type, ob_size, tp_name */
        if (at_read_memory(c, head, sizeof head) != sizeof head) continue;
        if (head[1] != type_type) {
            /* a metaclass (ABCMeta, EnumType): its own type is `type` */
            uint64_t meta[2];
            if (!head[1] || at_read_memory(head[1], meta, sizeof meta) != sizeof meta || meta[1] != type_type) continue;
        }
        if (at_read_memory(c + AT_PY_TP_FLAGS, flags, 8) != 8) continue;
        int n = head[3] ? (int)at_read_memory(head[3], name, (size_t)cap - 1) : 0;
        if (n <= 0) continue;
        name[n] = 0;
        int len = (int)strnlen(name, (size_t)n);
        if (len == 0) continue;
        *address = c;
        at_python_names_note_class(c, *flags);
        return len;
    }
    return -1;
}
