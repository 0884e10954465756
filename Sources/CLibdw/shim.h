// The system's elfutils libdw/libdwfl (Debian libdw-dev): offline symbolization of the return
// addresses in a trace (ELF symbol tables, DWARF line tables and inline chains) for Symbolication.
#include <elfutils/libdwfl.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdw.h>
#include <dwarf.h>
#include <gelf.h>
