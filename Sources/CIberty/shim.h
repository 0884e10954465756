// GNU libiberty's demangler (Debian libiberty-dev, a static PIC library): Rust symbols, both the v0
// mangling (`_R...`) and the legacy one (`_ZN...17h<hash>E`), which __cxa_demangle cannot read.
#include <libiberty/demangle.h>
