/* Which processes are traced (ALLOCTRACE_FOLLOW, `record --follow`):
 *   all   (default) every fork child and every exec'd image
 *   exec  the process the recorder started in and the images it execs (env -> bash -> python),
 *         no other process
 *   none  only the first image
 * A process not followed runs with the library loaded but records nothing: a fork child stops
 * at fork; a program exec'd or spawned into a process not followed gets ALLOCTRACE_DISABLE=1
 * added to its environment (so none of its descendants is traced either). */
#define _GNU_SOURCE
#include "recorder_support.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int at_follow_mode;      /* 0 all, 1 exec, 2 none */
static int at_follow_root;      /* mode exec: the pid whose images are followed */
static int at_follow_dropped;   /* 1 in a fork child that is not followed */

void at_follow_init(void) {
    const char *v = getenv("ALLOCTRACE_FOLLOW");
    at_follow_mode = 0;
    if (v && strcmp(v, "exec") == 0) at_follow_mode = 1;
    else if (v && strcmp(v, "none") == 0) at_follow_mode = 2;
    at_follow_root = (int)getpid();
}

int at_follow_forks(void) { return at_follow_mode == 0; }

void at_follow_drop_child(void) { at_follow_dropped = 1; }

int at_follow_exec_untraced(void) {
    if (at_follow_mode == 0) return 0;
    if (at_follow_mode == 2) return 1;
    return at_follow_dropped || (int)getpid() != at_follow_root;   /* a vfork child too */
}

int at_follow_spawn_untraced(void) { return at_follow_mode != 0; }
