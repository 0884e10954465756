/* sample-dlopen: loads libz.so.1 at run time, compresses 64 KiB with compress2() (zlib allocates
 * its deflate state with malloc and frees it before returning), unloads it, and allocates once more.
 * Marks: "loaded" after dlopen, "unloaded" after dlclose.
 * Expected: the trace's module map gains libz.so.1 after "loaded" and records its unload; the
 * allocations made inside compress2 have stacks through libz.so.1 into compress_once (this file);
 * everything zlib allocated is freed. stdout: "dlopen: compressed 65536 -> N bytes" with N fixed
 * for a given zlib. Exit status 0 (2 if libz.so.1 cannot be loaded). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloctrace.h"

typedef int (*compress2_fn)(unsigned char *, unsigned long *, const unsigned char *, unsigned long, int);

static unsigned char input[65536], output[70000];

__attribute__((noinline)) static unsigned long compress_once(compress2_fn compress2) {
    unsigned long out = sizeof output;
    if (compress2(output, &out, input, sizeof input, 6) != 0) return 0;
    return out;
}

int main(void) {
    for (size_t i = 0; i < sizeof input; i++) input[i] = (unsigned char)("alloctrace"[i % 10] + i / 4096);
    void *z = dlopen("libz.so.1", RTLD_NOW);
    if (!z) return 2;
    ALLOCTRACE_MARK("loaded");
    compress2_fn compress2 = (compress2_fn)dlsym(z, "compress2");
    unsigned long n = compress2 ? compress_once(compress2) : 0;
    dlclose(z);
    ALLOCTRACE_MARK("unloaded");
    void *after = malloc(48);
    free(after);
    char line[80];
    int len = snprintf(line, sizeof line, "dlopen: compressed %zu -> %lu bytes\n", sizeof input, n);
    if (write(1, line, (size_t)len) < 0) return 1;
    return n ? 0 : 1;
}
