/* Facts about the process that the writer records: loaded modules (ELF program headers and
 * build-ids), resident memory, thread names, the command line, and the trace file itself. */
#define _GNU_SOURCE
#include "recorder_support.h"
#include "elf_notes.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

const unsigned char *at_find_build_id(const unsigned char *p, size_t len, size_t *id_len) {
    size_t off = 0;
    while (off + sizeof(ElfW(Nhdr)) <= len) {
        const ElfW(Nhdr) *nh = (const void *)(p + off);
        size_t nsz = (nh->n_namesz + 3) & ~3u, dsz = (nh->n_descsz + 3) & ~3u;
        const unsigned char *name = p + off + sizeof *nh;
        if (off + sizeof *nh + nsz + dsz > len) return NULL;
        if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
            *id_len = nh->n_descsz;
            return name + nsz;
        }
        off += sizeof *nh + nsz + dsz;
    }
    return NULL;
}

typedef struct { uint64_t ticks; int changed; int seen; } at_scan;

static void at_publish_code_map(void);

/* x86-64 static TLS (variant II): every thread's block of this module lies at the same distance
 * below its thread pointer; taken from this thread's block (heap-graph TLS roots). */
static void at_note_tls(at_module *m, struct dl_phdr_info *info) {
    m->tls_offset = m->tls_size = 0;
#if defined(__x86_64__)
    if (!info->dlpi_tls_data) return;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        if (info->dlpi_phdr[i].p_type != PT_TLS) continue;
        uint64_t tp;
        __asm__("mov %%fs:0, %0" : "=r"(tp));
        uint64_t block = (uint64_t)(uintptr_t)info->dlpi_tls_data;
        /* dynamic TLS (a module dlopen'd later) lies elsewhere: only blocks below tp are static */
        if (block < tp && tp - block <= (1u << 20)) {
            m->tls_offset = tp - block;
            m->tls_size = info->dlpi_phdr[i].p_memsz;
        }
    }
#endif
}

static at_module *at_find_module(uint64_t base, const char *path) {
    for (uint32_t i = 0; i < at_g.module_count; i++) {
        at_module *m = &at_g.modules[i];
        if (m->unload_ticks == 0 && m->base == base && strcmp(m->path, path) == 0) return m;
    }
    return NULL;
}

static int at_scan_one(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    at_scan *scan = arg;
    at_g.last_dl_adds = info->dlpi_adds;
    at_g.last_dl_subs = info->dlpi_subs;
    const char *path = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : NULL;
    if (!path) {
        /* the main program comes first, with an empty name; glibc names the vdso itself */
        path = scan->seen == 0 ? at_g.exe_path : "[vdso]";
    }
    scan->seen++;
    at_module *m = at_find_module(info->dlpi_addr, path);
    if (m) { m->present = 1; return 0; }
    if (at_g.module_count >= AT_MAX_MODULES) return 0;
    m = &at_g.modules[at_g.module_count];
    memset(m, 0, sizeof *m);
    m->id = at_g.module_count + 1;
    m->base = info->dlpi_addr;
    m->load_ticks = scan->ticks;
    m->present = 1;
    size_t plen = strlen(path);
    if (plen >= AT_PATH_MAX) plen = AT_PATH_MAX - 1;
    memcpy(m->path, path, plen);
    m->path[plen] = 0;
    m->path_len = (uint32_t)plen;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && m->nsegs < 16) {
            m->seg_vaddr[m->nsegs] = ph->p_vaddr;
            m->seg_memsz[m->nsegs] = ph->p_memsz;
            m->seg_flags[m->nsegs] = (uint8_t)ph->p_flags;
            m->nsegs++;
        } else if (ph->p_type == PT_NOTE && m->build_id_len == 0) {
            size_t idl = 0;
            const unsigned char *id = at_find_build_id((const void *)(info->dlpi_addr + ph->p_vaddr), ph->p_memsz, &idl);
            if (id && idl <= sizeof m->build_id) {
                memcpy(m->build_id, id, idl);
                m->build_id_len = (uint32_t)idl;
            }
        }
    }
    uint64_t self = (uint64_t)(uintptr_t)&at_capture_libunwind;
    int is_self = 0;
    for (uint32_t k = 0; k < m->nsegs; k++)
        if (self >= m->base + m->seg_vaddr[k] && self < m->base + m->seg_vaddr[k] + m->seg_memsz[k]) is_self = 1;
    m->is_self = (uint32_t)is_self;
    m->eh_frame_hdr = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_GNU_EH_FRAME)
            m->eh_frame_hdr = (const void *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    at_note_tls(m, info);
    /* the file-backed part of the segment holding .eh_frame_hdr: the CFI unwinder reads nothing
     * outside it (linkers put .eh_frame right after the header, in the same segment) */
    for (int i = 0; i < info->dlpi_phnum && m->eh_frame_hdr; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uint64_t lo = info->dlpi_addr + ph->p_vaddr, h = (uint64_t)(uintptr_t)m->eh_frame_hdr;
        if (ph->p_type == PT_LOAD && h >= lo && h < lo + ph->p_filesz) { m->eh_lo = lo; m->eh_hi = lo + ph->p_filesz; }
    }
    __atomic_store_n(&at_g.module_count, at_g.module_count + 1, __ATOMIC_RELEASE);
    scan->changed = 1;
    return 0;
}

int at_refresh_modules(uint64_t ticks) {
    at_lock(&at_g.module_lock);
    for (uint32_t i = 0; i < at_g.module_count; i++) at_g.modules[i].present = 0;
    at_scan scan = { ticks, 0, 0 };
    dl_iterate_phdr(at_scan_one, &scan);
    for (uint32_t i = 0; i < at_g.module_count; i++) {
        at_module *m = &at_g.modules[i];
        if (!m->present && m->unload_ticks == 0) {
            m->unload_ticks = ticks ? ticks : 1;
            scan.changed = 1;
        }
    }
    if (scan.changed) at_publish_code_map();
    at_unlock(&at_g.module_lock);
    return scan.changed;
}

static int at_peek_counters(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    int *changed = arg;
    *changed = info->dlpi_adds != at_g.last_dl_adds || info->dlpi_subs != at_g.last_dl_subs;
    return 1;
}

int at_modules_maybe_changed(void) {
    int changed = 0;
    dl_iterate_phdr(at_peek_counters, &changed);
    return changed;
}

static int at_read_small_file(const char *path, char *buf, int cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int total = 0;
    while (total < cap) {
        ssize_t n = read(fd, buf + total, (size_t)(cap - total));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        total += (int)n;
    }
    close(fd);
    return total;
}

uint64_t at_rss_bytes(void) {
    static long page;
    if (!page) page = sysconf(_SC_PAGESIZE);
    char buf[128];
    int n = at_read_small_file("/proc/self/statm", buf, (int)sizeof buf - 1);
    if (n <= 0) return 0;
    buf[n] = 0;
    unsigned long long size = 0, resident = 0;
    if (sscanf(buf, "%llu %llu", &size, &resident) != 2) return 0;
    return resident * (uint64_t)page;
}

int at_thread_name(int tid, char *buf, int cap) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", tid);
    int n = at_read_small_file(path, buf, cap);
    if (n < 0) return 0;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == 0)) n--;
    return n;
}

int at_cmdline(char *buf, int cap) {
    int n = at_read_small_file("/proc/self/cmdline", buf, cap);
    return n < 0 ? 0 : n;
}

/* Expands %p (pid) and %n (program name) in the output pattern. */
static void at_expand(const char *pattern, char *out, size_t cap, int *had_pid) {
    const char *name = strrchr(at_g.exe_path, '/');
    name = name ? name + 1 : at_g.exe_path;
    size_t o = 0;
    *had_pid = 0;
    for (const char *p = pattern; *p && o + 1 < cap; p++) {
        if (p[0] == '%' && (p[1] == 'p' || p[1] == 'n')) {
            char tmp[AT_PATH_MAX];
            if (p[1] == 'p') { snprintf(tmp, sizeof tmp, "%d", (int)getpid()); *had_pid = 1; }
            else snprintf(tmp, sizeof tmp, "%s", name);
            for (char *t = tmp; *t && o + 1 < cap; t++) out[o++] = *t;
            p++;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = 0;
}

int at_open_output(const char *pattern, int first_process) {
    char base[AT_PATH_MAX];
    int had_pid = 0;
    at_expand(pattern, base, sizeof base, &had_pid);
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    for (int attempt = 0; attempt < 100; attempt++) {
        char path[AT_PATH_MAX];
        if (attempt == 0 && (first_process || had_pid)) snprintf(path, sizeof path, "%s", base);
        else if (attempt <= 1) snprintf(path, sizeof path, "%s.%d", base, (int)getpid());
        else snprintf(path, sizeof path, "%s.%d.%d", base, (int)getpid(), attempt - 1);
        int fd = open(path, flags, 0600);
        if (fd >= 0) {
            /* keep out of the low numbers a program may dup2() onto or expect to be free */
            int high = fcntl(fd, F_DUPFD_CLOEXEC, 900);
            if (high >= 0) { close(fd); fd = high; }
            at_trace_fd_remember(fd);
            snprintf(at_g.output_path, AT_PATH_MAX, "%s", path);
            return fd;
        }
        if (errno != EEXIST) {
            char msg[AT_PATH_MAX + 128];
            snprintf(msg, sizeof msg, "cannot write the trace to %s: %s; the program runs untraced", path, strerror(errno));
            at_message(msg);
            return -1;
        }
    }
    at_message("cannot find a free trace file name; the program runs untraced");
    return -1;
}

/* The recorder's own executable code, so stack capture can drop the recorder's frames. */
static int at_self_cb(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    uintptr_t probe = (uintptr_t)arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (probe >= lo && probe < hi) {
            at_g.self_text_start = lo;
            at_g.self_text_end = hi;
            return 1;
        }
    }
    return 0;
}

void at_find_self_text(void) { dl_iterate_phdr(at_self_cb, (void *)(uintptr_t)&at_capture_libunwind); }

void at_read_own_name(at_slot *s) {
    char buf[17] = {0};
    if (prctl(PR_GET_NAME, buf, 0, 0, 0) != 0) buf[0] = 0;
    memcpy(s->name, buf, sizeof s->name);
    s->name[sizeof s->name - 1] = 0;
}

void at_refresh_thread_names(void) {
    if (!at_g.slots) return;
    uint32_t high = __atomic_load_n(&at_g.slot_high, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < high; i++) {
        at_slot *s = &at_g.slots[i];
        if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != AT_SLOT_ACTIVE) continue;
        char buf[32];
        int n = at_thread_name(s->tid, buf, (int)sizeof buf - 1);
        if (n <= 0) continue;
        if (n > 15) n = 15;
        buf[n] = 0;
        if (strcmp(buf, s->name) != 0) {
            memcpy(s->name, buf, (size_t)n + 1);
            __atomic_store_n(&s->name_dirty, 1, __ATOMIC_RELEASE);
        }
    }
}

static int at_range_order(const void *a, const void *b) {
    const at_code_range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Builds and publishes the sorted code map of the modules loaded now (module_lock held). */
static void at_publish_code_map(void) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < at_g.module_count; i++) {
        at_module *m = &at_g.modules[i];
        if (m->unload_ticks) continue;
        for (uint32_t k = 0; k < m->nsegs; k++) if (m->seg_flags[k] & PF_X) n++;
    }
    at_code_map *map = at_map(sizeof(at_code_map) + (n + 1) * sizeof(at_code_range));
    if (!map) return;
    for (uint32_t i = 0; i < at_g.module_count; i++) {
        at_module *m = &at_g.modules[i];
        if (m->unload_ticks) continue;
        for (uint32_t k = 0; k < m->nsegs; k++) {
            if (!(m->seg_flags[k] & PF_X)) continue;
            at_code_range *r = &map->ranges[map->count++];
            r->lo = m->base + m->seg_vaddr[k];
            r->hi = r->lo + m->seg_memsz[k];
            r->is_self = m->is_self;
            r->eh_frame_hdr = m->eh_frame_hdr;
            r->eh_lo = m->eh_lo;
            r->eh_hi = m->eh_hi;
        }
    }
    qsort(map->ranges, map->count, sizeof(at_code_range), at_range_order);
    static uint32_t generation;
    map->generation = ++generation;
    __atomic_store_n(&at_g.code_map, map, __ATOMIC_RELEASE);
}
