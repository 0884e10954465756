/* Installs the Swift runtime's _swift_allocObject hook, which sees every object (also those that
 * libswiftCore allocates internally), but only where it is proven safe.
 *
 * Swift 6.3 on Linux: once the hook is set, swift_allocObject turns on the runtime's swizzling flag
 * and swift_retain then jumps through the local variable _swift_retain_adapter, whose default
 * (_swift_retain_adapterImpl) masks the pointer before the tagged-pointer check and crashes on
 * small-string words (fixed upstream in swiftlang/swift#88924). We point the adapter at the
 * runtime's own plain retain (__swift_retain_) first, and install the hook only when every symbol,
 * value and the on-disk build-id agree with what was verified; otherwise we fall back to
 * interposing swift_allocObject and the trace says so. */
#define _GNU_SOURCE
#include "recorder_support.h"
#include "elf_notes.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef void *(*at_alloc_fn)(const void *, size_t, size_t);
static at_alloc_fn at_original_alloc;

static void *at_swift_alloc_hook(const void *metadata, size_t size, size_t align_mask) {
    return alloctrace_hook_swift_alloc_object(metadata, size, align_mask, at_original_alloc);
}

typedef struct { uintptr_t base; const char *path; const ElfW(Phdr) *ph; int phnum; } at_core;

static int at_find_core(struct dl_phdr_info *i, size_t sz, void *arg) {
    (void)sz;
    const char *n = i->dlpi_name, *s = n ? strrchr(n, '/') : NULL;
    if (n && strcmp(s ? s + 1 : n, "libswiftCore.so") == 0) {
        at_core *c = arg;
        c->base = i->dlpi_addr; c->path = n; c->ph = i->dlpi_phdr; c->phnum = i->dlpi_phnum;
        return 1;
    }
    return 0;
}

/* [a, a+8) lies in a writable PT_LOAD and outside PT_GNU_RELRO */
static int at_writable_slot(const at_core *c, uintptr_t a) {
    int in_writable = 0;
    for (int k = 0; k < c->phnum; k++) {
        const ElfW(Phdr) *p = &c->ph[k];
        uintptr_t lo = c->base + p->p_vaddr, hi = lo + p->p_memsz;
        if (p->p_type == PT_LOAD && (p->p_flags & PF_W) && a >= lo && a + 8 <= hi) in_writable = 1;
        if (p->p_type == PT_GNU_RELRO && a + 8 > lo && a < hi) return 0;
    }
    return in_writable && (a & 7) == 0;
}

enum { S_ADAPTER, S_ADAPTER_IMPL, S_RETAIN_DEFAULT, S_ALLOC_DEFAULT, S_ALLOC_SLOT, S_RETAIN_SLOT, S_SWIFT_RETAIN, S_N };
static const char *const at_wanted[S_N] = {
    "_ZL21_swift_retain_adapter", "_ZL25_swift_retain_adapterImplPN5swift10HeapObjectE",
    "__swift_retain_", "__swift_allocObject_", "_swift_allocObject", "_swift_retain", "swift_retain" };
static const unsigned char at_wanted_type[S_N] = {
    STT_OBJECT, STT_FUNC, STT_FUNC, STT_FUNC, STT_OBJECT, STT_OBJECT, STT_FUNC };

static const char *at_repair_and_install(void) {
#if !defined(__x86_64__)
    return "not x86_64";
#else
    at_core c = {0};
    if (!dl_iterate_phdr(at_find_core, &c) || !c.path || !*c.path) return "libswiftCore not loaded";
    int fd = open(c.path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "cannot open libswiftCore";
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(ElfW(Ehdr))) { close(fd); return "bad file"; }
    size_t fsz = (size_t)st.st_size;
    const unsigned char *f = mmap(NULL, fsz, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (f == MAP_FAILED) return "mmap failed";
    const char *why = "unexpected ELF";
    const ElfW(Ehdr) *eh = (const void *)f;
    uintptr_t v[S_N] = {0};
    size_t sz[S_N] = {0};
    const unsigned char *fid = NULL, *mid = NULL;
    size_t fidl = 0, midl = 0;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_machine != EM_X86_64 || eh->e_shentsize != sizeof(ElfW(Shdr)) || eh->e_shoff > fsz ||
        eh->e_shnum > (fsz - eh->e_shoff) / sizeof(ElfW(Shdr)))
        goto out;
    const ElfW(Shdr) *sh = (const void *)(f + eh->e_shoff);
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type == SHT_NOTE && sh[i].sh_offset + sh[i].sh_size <= fsz && !fid)
            fid = at_find_build_id(f + sh[i].sh_offset, sh[i].sh_size, &fidl);
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum) continue;
        const ElfW(Shdr) *ss = &sh[sh[i].sh_link];
        if (sh[i].sh_offset + sh[i].sh_size > fsz || ss->sh_offset + ss->sh_size > fsz) goto out;
        const ElfW(Sym) *sym = (const void *)(f + sh[i].sh_offset);
        const char *str = (const char *)(f + ss->sh_offset);
        for (size_t j = 0; j < sh[i].sh_size / sizeof *sym; j++) {
            if (sym[j].st_name >= ss->sh_size || sym[j].st_shndx == SHN_UNDEF) continue;
            const char *nm = str + sym[j].st_name;
            if (!memchr(nm, 0, ss->sh_size - sym[j].st_name)) continue;
            for (int k = 0; k < S_N; k++)
                if (strcmp(nm, at_wanted[k]) == 0) {
                    if (v[k] || ELF64_ST_TYPE(sym[j].st_info) != at_wanted_type[k]) {
                        why = "duplicate or mistyped symbol";
                        goto out;
                    }
                    v[k] = c.base + sym[j].st_value;
                    sz[k] = sym[j].st_size;
                }
        }
    }
    why = "adapter symbols not found (stripped or different runtime)";
    for (int k = 0; k < S_N; k++) if (!v[k]) goto out;
    why = "on-disk libswiftCore does not match the loaded one (build-id)";
    for (int k = 0; k < c.phnum; k++)
        if (c.ph[k].p_type == PT_NOTE && !mid)
            mid = at_find_build_id((const void *)(c.base + c.ph[k].p_vaddr), c.ph[k].p_memsz, &midl);
    if (!fid || !mid || fidl != midl || memcmp(fid, mid, fidl)) goto out;
    why = "hook slots not in writable data";
    if (sz[S_ADAPTER] != 8 || sz[S_ALLOC_SLOT] != 8 || !at_writable_slot(&c, v[S_ADAPTER]) ||
        !at_writable_slot(&c, v[S_ALLOC_SLOT]))
        goto out;
    why = "swift_retain does not read the adapter";  /* 48 8b 05 disp32: mov disp(%rip),%rax */
    {
        const unsigned char *p = (const void *)v[S_SWIFT_RETAIN];
        int hit = 0;
        for (size_t i = 0; i + 7 <= sz[S_SWIFT_RETAIN] && !hit; i++)
            if (p[i] == 0x48 && p[i + 1] == 0x8b && p[i + 2] == 0x05) {
                int32_t d;
                memcpy(&d, p + i + 3, 4);
                hit = (uintptr_t)(p + i + 7) + d == v[S_ADAPTER];
            }
        if (!hit) goto out;
    }
    void **adapter = (void **)v[S_ADAPTER], **alloc_slot = (void **)v[S_ALLOC_SLOT];
    void **retain_slot = (void **)v[S_RETAIN_SLOT];
    void *cur = __atomic_load_n(adapter, __ATOMIC_ACQUIRE);
    why = "hook slots not at their defaults (another tool hooked the runtime?)";
    if (__atomic_load_n(alloc_slot, __ATOMIC_ACQUIRE) != (void *)v[S_ALLOC_DEFAULT] ||
        __atomic_load_n(retain_slot, __ATOMIC_ACQUIRE) != (void *)v[S_RETAIN_DEFAULT] ||
        (cur != (void *)v[S_ADAPTER_IMPL] && cur != (void *)v[S_RETAIN_DEFAULT]))
        goto out;
    /* repair first, then install: the flag turns on at the first hooked allocation */
    __atomic_store_n(adapter, (void *)v[S_RETAIN_DEFAULT], __ATOMIC_SEQ_CST);
    why = "adapter write did not stick";
    if (__atomic_load_n(adapter, __ATOMIC_SEQ_CST) != (void *)v[S_RETAIN_DEFAULT]) goto out;
    at_original_alloc = (at_alloc_fn)v[S_ALLOC_DEFAULT];
    void *expected = (void *)v[S_ALLOC_DEFAULT];
    why = "allocObject hook slot changed concurrently";
    if (!__atomic_compare_exchange_n(alloc_slot, &expected, (void *)at_swift_alloc_hook, 0,
                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        goto out;
    why = NULL;
out:
    munmap((void *)f, fsz);
    return why;
#endif
}

int at_install_swift_hook(void) {
    /* no Swift code loaded at start: reading libswiftCore's symbol table from disk, most of the
     * hook's set-up cost, would buy nothing; a Swift library dlopen'd later gets interposition */
    if (!at_program_needs_swift()) return 2;
    const char *why = at_repair_and_install();
    if (!why) return 1;
    if (strcmp(why, "libswiftCore not loaded") != 0) at_message2("Swift type capture falls back to interposition: ", why);
    return 2;
}
