/* runlog.c - the runner's helpers that need no running process (runner.h): a command's
 * size-capped log and its tail, read back as a regular file only, a signal's name, and the words
 * for a place over its disk or file limit (runner_int.h). */
#include "runner.h"
#include "runner_int.h"

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

void runner_size(char *buf, size_t n, uint64_t bytes)
{
    if (bytes && bytes % (1ULL << 30) == 0)
        snprintf(buf, n, "%llu GiB", (unsigned long long)(bytes >> 30));
    else if (bytes >= 1ULL << 20)
        snprintf(buf, n, "%llu MiB", (unsigned long long)(bytes >> 20));
    else
        snprintf(buf, n, "%llu KiB", (unsigned long long)(bytes >> 10));
}

void runner_usage_limit(char *out, size_t n, const solution_limits *lim,
                        const hx_usage used[PLACE_N], int unmeasured, bool files_over, bool db_over,
                        uint64_t db_used)
{
    static const char *const places[] = {"its output folder", "its /tmp", "its own folder"};
    char sz[32], held[32];
    runner_size(sz, sizeof sz, lim->disk_bytes);
    if (db_over) {
        runner_size(sz, sizeof sz, lim->database_bytes);
        runner_size(held, sizeof held, db_used);
        snprintf(out, n,
                 "database limit %s reached: its PostgreSQL database held %s on disk (the pack's "
                 "tables included): stopped",
                 sz, held);
        return;
    }
    if (unmeasured >= 0) {
        const hx_usage *u = &used[unmeasured];
        char what[48];
        if (lim->disk_bytes)
            snprintf(what, sizeof what, "disk limit %s", sz);
        else
            snprintf(what, sizeof what, "file limit %llu", (unsigned long long)lim->files);
        if (u->deep)
            snprintf(out, n, "%s reached: %s nests deeper than %d folders: stopped", what,
                     places[unmeasured], RUNNER_DISK_DEPTH);
        else
            snprintf(out, n, "%s reached: %s holds a folder the harness cannot open: stopped", what,
                     places[unmeasured]);
        return;
    }
    char o[32], t[32], g[32];
    if (files_over) {
        snprintf(
            out, n,
            "file limit %llu reached: it made at least %llu files and folders (output folder %llu, "
            "/tmp %llu, its own folder %llu): stopped",
            (unsigned long long)lim->files,
            (unsigned long long)(used[0].files + used[1].files + used[2].files),
            (unsigned long long)used[0].files, (unsigned long long)used[1].files,
            (unsigned long long)used[2].files);
        return;
    }
    char d[80] = "";
    if (used[PLACE_HELD].bytes) {
        char hb[32];
        runner_size(hb, sizeof hb, used[PLACE_HELD].bytes);
        snprintf(d, sizeof d, ", %s in %llu deleted files it holds open", hb,
                 (unsigned long long)used[PLACE_HELD].files);
    }
    runner_size(held, sizeof held,
                used[0].bytes + used[1].bytes + used[2].bytes + used[PLACE_HELD].bytes);
    runner_size(o, sizeof o, used[0].bytes);
    runner_size(t, sizeof t, used[1].bytes);
    runner_size(g, sizeof g, used[2].bytes);
    snprintf(out, n,
             "disk limit %s reached: it wrote %s (output folder %s, /tmp %s, its own folder %s "
             "more than at the start%s): stopped",
             sz, held, o, t, g, d);
}

static void write_all(logcap *l, const char *p, size_t n)
{
    while (n && !l->werr) {
        ssize_t w = write(l->fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            l->werr = true;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

void runner_log_put(logcap *l, const char *p, size_t n)
{
    l->total += n;
    if (l->head_len < l->head_cap) {
        size_t k = n < l->head_cap - l->head_len ? n : l->head_cap - l->head_len;
        write_all(l, p, k);
        l->head_len += k;
        p += k;
        n -= k;
    }
    if (!n) return;
    if (!l->ring && !(l->ring = hx_malloc(l->tail_cap))) {
        l->werr = true; /* tail lost; the head and the marker still say how much there was */
        return;
    }
    if (n >= l->tail_cap) {
        memcpy(l->ring, p + n - l->tail_cap, l->tail_cap);
        l->ring_pos = 0;
        l->ring_len = l->tail_cap;
        return;
    }
    size_t first = l->tail_cap - l->ring_pos < n ? l->tail_cap - l->ring_pos : n;
    memcpy(l->ring + l->ring_pos, p, first);
    memcpy(l->ring, p + first, n - first);
    l->ring_pos = (l->ring_pos + n) % l->tail_cap;
    l->ring_len = l->ring_len + n > l->tail_cap ? l->tail_cap : l->ring_len + n;
}

void runner_log_finish(logcap *l)
{
    if (l->fd < 0) return;
    uint64_t omitted = l->total - l->head_len - l->ring_len;
    if (omitted) {
        char mark[RUNNER_LOG_MARK_MAX];
        int k = snprintf(mark, sizeof mark, "\n[harness: %llu bytes omitted]\n",
                         (unsigned long long)omitted);
        write_all(l, mark, (size_t)k);
    }
    if (l->ring_len) {
        size_t start = (l->ring_pos + l->tail_cap - l->ring_len) % l->tail_cap;
        size_t first = l->tail_cap - start < l->ring_len ? l->tail_cap - start : l->ring_len;
        write_all(l, l->ring + start, first);
        write_all(l, l->ring, l->ring_len - first);
    }
    close(l->fd);
    l->fd = -1;
    hx_free(l->ring);
    l->ring = NULL;
}
