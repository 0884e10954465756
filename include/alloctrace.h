/* alloctrace.h: mark a moment in a traced program.
 *
 * alloctrace_mark is defined by the recorder (libAllocTracePreload.so). The declaration is weak so a
 * program that includes this header runs unchanged without the recorder: call
 * ALLOCTRACE_MARK("label"), which does nothing when the recorder is not loaded.
 */
#ifndef ALLOCTRACE_H
#define ALLOCTRACE_H

#ifdef __cplusplus
extern "C" {
#endif

/* Records a mark with this label (copied; at most 255 bytes kept) at the current moment. */
void alloctrace_mark(const char *label) __attribute__((weak));

#define ALLOCTRACE_MARK(label) do { if (alloctrace_mark) alloctrace_mark(label); } while (0)

#ifdef __cplusplus
}
#endif

#endif
