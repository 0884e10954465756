/* The recording journal (docs/FORMAT.md, "Recordings"): when the launcher names a journal file in
 * ALLOCTRACE_INDEX, each process image appends one line when it opens its trace, one before it
 * calls execve and one when its trace ends. Each line is one write(2) of fewer than PIPE_BUF bytes
 * to a file opened O_APPEND, so lines of concurrent processes never interleave. The file is never
 * created here (a process that outlives the launcher finds it gone and writes nothing). No
 * allocation, no stdio: the end line is written from a fatal-signal handler too. */
#define _GNU_SOURCE
#include "recorder_support.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define AT_JOURNAL_LINE 4000   /* < PIPE_BUF (4096) */

static char at_journal_path[AT_PATH_MAX];

void at_journal_init(void) {
    const char *p = getenv("ALLOCTRACE_INDEX");
    at_journal_path[0] = 0;
    if (p == NULL || p[0] == 0 || strlen(p) >= sizeof at_journal_path) return;
    memcpy(at_journal_path, p, strlen(p) + 1);
}

typedef struct { char buf[AT_JOURNAL_LINE]; size_t n; } at_line;

static void at_line_str(at_line *l, const char *s) {
    /* a path keeps its bytes; a newline would end the line early, so it is written as '?' */
    for (; s && *s && l->n + 2 < sizeof l->buf; s++) l->buf[l->n++] = (*s == '\n') ? '?' : *s;
}

static void at_line_int(at_line *l, long long v) {
    char tmp[24];
    int i = 0;
    unsigned long long u = v < 0 ? (unsigned long long)(-(v + 1)) + 1 : (unsigned long long)v;
    do { tmp[i++] = (char)('0' + u % 10); u /= 10; } while (u && i < 22);
    if (v < 0) tmp[i++] = '-';
    while (i > 0 && l->n + 2 < sizeof l->buf) l->buf[l->n++] = tmp[--i];
}

static void at_line_pid_wall(at_line *l, const char *tag) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    at_line_str(l, tag);
    at_line_int(l, getpid());
    at_line_str(l, " ");
    at_line_int(l, (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    at_line_str(l, " ");
}

static void at_line_write(at_line *l) {
    if (at_journal_path[0] == 0) return;
    l->buf[l->n++] = '\n';
    int saved = errno;
    int fd = open(at_journal_path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
        ssize_t r;
        do { r = write(fd, l->buf, l->n); } while (r < 0 && errno == EINTR);
        close(fd);
    }
    errno = saved;
}

/* A string field after a tab: tab, newline and backslash escaped as \t, \n, \\. */
static void at_line_field(at_line *l, const char *s, size_t len) {
    if (l->n + 2 < sizeof l->buf) l->buf[l->n++] = '\t';
    for (size_t i = 0; i < len && l->n + 3 < sizeof l->buf; i++) {
        char c = s[i];
        if (c == '\t' || c == '\n' || c == '\\') {
            l->buf[l->n++] = '\\';
            l->buf[l->n++] = c == '\t' ? 't' : c == '\n' ? 'n' : '\\';
        } else {
            l->buf[l->n++] = c;
        }
    }
}

/* "T pid wall-ns ppid\ttrace-path\texecutable\targ0\targ1...": this image writes its trace to
 * trace-path (the arguments as far as the line has room: the trace's process record has them
 * all, when the process lived long enough to write it). */
void at_journal_trace(const char *trace_path) {
    if (at_journal_path[0] == 0) return;
    at_line l = { .n = 0 };
    at_line_pid_wall(&l, "T ");
    at_line_int(&l, getppid());
    at_line_field(&l, trace_path, strlen(trace_path));
    at_line_field(&l, at_g.exe_path, strlen(at_g.exe_path));
    static char cmdline[AT_JOURNAL_LINE];   /* one image opens one trace at a time */
    int n = at_cmdline(cmdline, (int)sizeof cmdline);
    for (int i = 0; i < n;) {
        size_t len = strnlen(cmdline + i, (size_t)(n - i));
        at_line_field(&l, cmdline + i, len);
        i += (int)len + 1;
    }
    at_line_write(&l);
}

/* "X pid wall-ns path": this image calls execve(path) (an exec that fails leaves the trace going on). */
void at_journal_exec(const char *path) {
    if (at_journal_path[0] == 0) return;
    at_line l = { .n = 0 };
    at_line_pid_wall(&l, "X ");
    at_line_str(&l, path ? path : "");
    at_line_write(&l);
}

/* "E pid wall-ns reason status": this image's trace ended (reason and status as in the `end` record). */
void at_journal_end(int reason, int status) {
    if (at_journal_path[0] == 0) return;
    at_line l = { .n = 0 };
    at_line_pid_wall(&l, "E ");
    at_line_int(&l, reason);
    at_line_str(&l, " ");
    at_line_int(&l, status);
    at_line_write(&l);
}
