/* The private discriminator of a Swift private type's enclosing context, for type names that hold
 * across runs (issue 14). The runtime names a private type's anonymous context
 * "(unknown context at $ADDR)", an address that moves with every run. The discriminator (a hash
 * of the declaring file, "_" + 32 hex digits) exists only in the module's local symbols: the
 * symbol at ADDR is the anonymous context descriptor, "$s<module><name>33_<32 hex>LL...MXX".
 * Writer thread only (it opens and maps the module's file); never in a snapshot or a hook. */
#define _GNU_SOURCE
#include "recorder_support.h"

#include <elf.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int at_is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }

/* Copies the "_<32 hex>" after "33" in a mangled name into out (33 bytes and a NUL). */
static int at_discriminator_in(const char *name, const char *end, char out[34]) {
    for (const char *p = name; p + 37 <= end; p++) {
        if (p[0] != '3' || p[1] != '3' || p[2] != '_') continue;
        int ok = p[35] == 'L' && p[36] == 'L';
        for (int k = 3; ok && k < 35; k++) ok = at_is_hex(p[k]);
        if (!ok) continue;
        memcpy(out, p + 2, 33);
        out[33] = 0;
        return 1;
    }
    return 0;
}

/* The symbol whose value is `offset` in the ELF file at `path` (its .symtab); 1 with the
 * discriminator in out when the symbol's name holds one. */
/* The last module file mapped: a program's private types mostly lie in one or two modules, and
 * each type is named once, so one cached mapping saves a map per type. */
static char at_mapped_path[AT_PATH_MAX];
static const unsigned char *at_mapped;
static size_t at_mapped_size;

static const unsigned char *at_map_file(const char *path, size_t *size) {
    if (at_mapped && strcmp(path, at_mapped_path) == 0) { *size = at_mapped_size; return at_mapped; }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr) || strlen(path) >= sizeof at_mapped_path) {
        close(fd);
        return NULL;
    }
    const unsigned char *f = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (f == MAP_FAILED) return NULL;
    if (at_mapped) munmap((void *)at_mapped, at_mapped_size);
    at_mapped = f;
    at_mapped_size = (size_t)st.st_size;
    strcpy(at_mapped_path, path);
    *size = at_mapped_size;
    return f;
}

static int at_discriminator_in_file(const char *path, uint64_t offset, char out[34]) {
    size_t size = 0;
    const unsigned char *f = at_map_file(path, &size);
    if (!f) return 0;
    int found = 0;
    const Elf64_Ehdr *eh = (const void *)f;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_ident[EI_CLASS] == ELFCLASS64 &&
        eh->e_shentsize == sizeof(Elf64_Shdr) && eh->e_shoff < size &&
        (size - eh->e_shoff) / sizeof(Elf64_Shdr) >= eh->e_shnum) {
        const Elf64_Shdr *sh = (const void *)(f + eh->e_shoff);
        for (unsigned i = 0; i < eh->e_shnum && !found; i++) {
            if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum) continue;
            const Elf64_Shdr *strs = &sh[sh[i].sh_link];
            if (sh[i].sh_offset > size || sh[i].sh_size > size - sh[i].sh_offset ||
                strs->sh_offset > size || strs->sh_size > size - strs->sh_offset) continue;
            const Elf64_Sym *sym = (const void *)(f + sh[i].sh_offset);
            size_t n = sh[i].sh_size / sizeof(Elf64_Sym);
            const char *names = (const char *)(f + strs->sh_offset);
            for (size_t k = 0; k < n && !found; k++) {
                if (sym[k].st_value != offset || sym[k].st_name >= strs->sh_size) continue;
                const char *name = names + sym[k].st_name;
                const char *end = memchr(name, 0, strs->sh_size - sym[k].st_name);
                if (end) found = at_discriminator_in(name, end, out);
            }
        }
    }
    return found;
}

int at_private_discriminator(uint64_t address, char out[34], uint32_t *module_id, uint64_t *module_offset) {
    *module_id = 0;
    *module_offset = 0;
    uint32_t count = at_load32(&at_g.module_count);
    for (uint32_t i = 0; i < count; i++) {
        at_module *m = at_module_at(i);
        if (m->unload_ticks != 0) continue;
        for (uint32_t s = 0; s < m->nsegs; s++) {
            uint64_t lo = m->base + m->seg_vaddr[s];
            if (address < lo || address - lo >= m->seg_memsz[s]) continue;
            *module_id = m->id;
            *module_offset = address - m->base;
            return m->path[0] == '/' && at_discriminator_in_file(m->path, address - m->base, out);
        }
    }
    return 0;
}
