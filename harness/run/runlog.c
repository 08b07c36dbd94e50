/* runlog.c - the runner's helpers that need no running process (runner.h): the tail of a
 * solution's log, read back as a regular file only, and a signal's name. */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *runner_signal_name(int sig, char *buf, size_t cap)
{
    const char *ab = sigabbrev_np(sig);
    if (ab)
        snprintf(buf, cap, "SIG%s", ab);
    else
        snprintf(buf, cap, "SIG%d", sig);
    return buf;
}

int runner_log_tail(const char *path, size_t max, char **out, size_t *len, hx_err *e)
{
    *out = NULL;
    *len = 0;
    /* A log the harness made, yet in a folder a solution may reach: regular files only. */
    struct stat sb;
    int fd = hx_open_input(path, HX_IN_STREAM, 0, &sb, e);
    if (fd < 0 && (lstat(path, &sb) == 0 || errno != ENOENT)) return fd;
    size_t n = 0;
    if (fd >= 0 && fstat(fd, &sb) == 0) n = (size_t)sb.st_size < max ? (size_t)sb.st_size : max;
    char *buf = hx_malloc(n + 1);
    if (!buf) {
        if (fd >= 0) close(fd);
        return hx_fail(e, HX_ENOMEM, "out of memory reading '%s'", path);
    }
    size_t got = 0;
    if (fd >= 0) {
        off_t at = sb.st_size - (off_t)n;
        while (got < n) {
            ssize_t r = pread(fd, buf + got, n - got, at + (off_t)got);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            got += (size_t)r;
        }
        close(fd);
    }
    buf[got] = 0;
    *out = buf;
    *len = got;
    return 0;
}
