/* For a debugger: `alloctrace debug` (analyzer/gdb/alloctrace.py) writes a mark's label here with
 * its own memory writes (a string argument to an inferior call would make gdb malloc in the
 * program) and calls alloctrace_debug_mark (preload/Recorder/DebugMark.swift). */
#include "recorder_support.h"

__attribute__((visibility("default"))) char alloctrace_debug_label[256];

const char *at_debug_label(void) {
    alloctrace_debug_label[sizeof alloctrace_debug_label - 1] = 0;
    return alloctrace_debug_label;
}
