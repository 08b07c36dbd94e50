/* util.c - see util.h. */
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Before any OpenSSL header: see the sha256 section. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

extern char **environ;

int hx_fail(hx_err *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        e->code = code;
    }
    return code;
}

int hx_wrap(hx_err *e, const char *fmt, ...)
{
    if (!e) return HX_EUSAGE;
    char prefix[256], old[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    snprintf(e->msg, sizeof e->msg, "%.255s: %.760s", prefix, old);
    return e->code;
}

int hx_exit_code(int code)
{
    switch (code) {
    case HX_OK:
        return HX_EXIT_OK;
    case HX_EINFRA:
        return HX_EXIT_INFRA;
    case HX_EINTR:
        return HX_EXIT_INTERRUPTED;
    case HX_EIO:
    case HX_ENOMEM:
        return HX_EXIT_INFRA;
    default:
        return HX_EXIT_USAGE;
    }
}

/* ---- allocation seam ---- */

static long alloc_budget = -1;

static bool alloc_allowed(void)
{
    if (alloc_budget < 0) return true;
    if (alloc_budget == 0) return false;
    alloc_budget--;
    return true;
}

void hx_alloc_fail_after(long n)
{
    alloc_budget = n;
}

void *hx_malloc(size_t n)
{
    return alloc_allowed() ? malloc(n ? n : 1) : NULL;
}

void *hx_calloc(size_t n, size_t size)
{
    return alloc_allowed() ? calloc(n ? n : 1, size ? size : 1) : NULL;
}

void *hx_realloc(void *p, size_t n)
{
    return alloc_allowed() ? realloc(p, n ? n : 1) : NULL;
}

char *hx_strdup(const char *s)
{
    return s ? hx_strndup(s, strlen(s)) : NULL;
}

char *hx_strndup(const char *s, size_t n)
{
    char *d = hx_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

void hx_free(void *p)
{
    free(p);
}

void *hx_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fputs("harness: out of memory\n", stderr);
        abort();
    }
    return p;
}

char *hx_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(hx_xmalloc(n), s, n);
}

/* ---- hx_buf ---- */

void hx_buf_init(hx_buf *b)
{
    memset(b, 0, sizeof *b);
}

void hx_buf_release(hx_buf *b)
{
    hx_free(b->data);
    hx_buf_init(b);
}

void hx_buf_clear(hx_buf *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

bool hx_buf_reserve(hx_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *d = hx_realloc(b->data, cap);
    if (!d) {
        b->oom = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

bool hx_buf_append(hx_buf *b, const void *p, size_t n)
{
    if (!hx_buf_reserve(b, n)) return false;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

bool hx_buf_puts(hx_buf *b, const char *s)
{
    return hx_buf_append(b, s, strlen(s));
}

bool hx_buf_putc(hx_buf *b, char c)
{
    if (b->len + 2 > b->cap && !hx_buf_reserve(b, 1)) return false;
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
    return true;
}

bool hx_buf_vprintf(hx_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, cp);
    va_end(cp);
    if (n < 0) return false;
    if ((size_t)n < sizeof small) return hx_buf_append(b, small, (size_t)n);
    if (!hx_buf_reserve(b, (size_t)n)) return false;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return true;
}

bool hx_buf_printf(hx_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool ok = hx_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return ok;
}

char *hx_buf_steal(hx_buf *b)
{
    char *d = b->data;
    if (!d) d = hx_strdup("");
    hx_buf_init(b);
    return d;
}

char *hx_vasprintf(const char *fmt, va_list ap)
{
    hx_buf b;
    hx_buf_init(&b);
    if (!hx_buf_vprintf(&b, fmt, ap) || b.oom) {
        hx_buf_release(&b);
        return NULL;
    }
    return hx_buf_steal(&b);
}

char *hx_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = hx_vasprintf(fmt, ap);
    va_end(ap);
    return s;
}

/* ---- UTF-8 ---- */

size_t hx_utf8_next(const char *s, size_t len, int32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned c = u[0];
    size_t need;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = (int32_t)c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        need = 1, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3, v = c & 0x07, min = 0x10000;
    } else {
        *cp = -1;
        return 1;
    }
    if (len <= need) {
        *cp = -1;
        return 1;
    }
    for (size_t i = 1; i <= need; i++) {
        if ((u[i] & 0xc0) != 0x80) {
            *cp = -1;
            return 1;
        }
        v = (v << 6) | (u[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
        *cp = -1;
        return 1;
    }
    *cp = (int32_t)v;
    return need + 1;
}

bool hx_utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        int32_t cp;
        i += hx_utf8_next(s + i, n - i, &cp);
        if (cp < 0) return false;
    }
    return true;
}

bool hx_buf_put_utf8(hx_buf *b, const char *s, size_t n)
{
    static const char fffd[] = "\xef\xbf\xbd";
    /* The common case, ASCII without NUL, is one copy. */
    size_t i = 0;
    while (i < n && (unsigned char)s[i] - 1u < 0x7fu)
        i++;
    if (!hx_buf_append(b, s, i)) return false;
    while (i < n) {
        int32_t cp;
        size_t k = hx_utf8_next(s + i, n - i, &cp);
        if (!(cp > 0 ? hx_buf_append(b, s + i, k) : hx_buf_append(b, fffd, 3))) return false;
        i += k;
    }
    return true;
}

void hx_fmt_num(char *buf, size_t n, double v)
{
    if (isnan(v)) {
        snprintf(buf, n, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, n, v < 0 ? "-inf" : "inf");
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, n, "%.*g", p, v);
        double back = strtod(buf, NULL);
        bool done = back == v;
        if (!done && p == 15) {
            /* Float noise: v is a few ulps from this 15-digit decimal. */
            double lo = back, hi = back;
            for (int k = 0; k < 4; k++) {
                lo = nextafter(lo, -INFINITY);
                hi = nextafter(hi, INFINITY);
            }
            done = v >= lo && v <= hi;
        }
        if (!done) continue;
        /* The same digits without an exponent where a plain number reads: 14000, not 1.4e+04. */
        double a = fabs(back);
        if (strchr(buf, 'e') && a >= 1e-5 && a < 1e15) {
            int dec = p - 1 - (int)floor(log10(a));
            snprintf(buf, n, "%.*f", dec > 0 ? dec : 0, back);
        }
        return;
    }
}

bool hx_buf_put_term(hx_buf *b, const char *s, size_t n)
{
    bool line_start = true;
    for (size_t i = 0; i < n;) {
        int32_t cp;
        size_t k = hx_utf8_next(s + i, n - i, &cp);
        if (line_start && (cp == ' ' || cp == '\t')) {
            /* Blanks before a workflow command still start its line. */
        } else if (line_start && ((cp == ':' && i + 1 < n && s[i + 1] == ':') ||
                                  (cp == '#' && n - i >= 3 && memcmp(s + i, "##[", 3) == 0))) {
            hx_buf_printf(b, "\\x%02x", (unsigned)cp);
            i += k;
            line_start = false;
            continue;
        } else {
            line_start = cp == '\n';
        }
        if (cp < 0 || (cp < 0x20 && cp != '\n' && cp != '\t') || cp == 0x7f ||
            (cp >= 0x80 && cp < 0xa0)) {
            /* An invalid byte, or a control character's UTF-8 bytes, each as \xNN. */
            for (size_t j = 0; j < k; j++)
                hx_buf_printf(b, "\\x%02x", (unsigned char)s[i + j]);
        } else {
            hx_buf_append(b, s + i, k);
        }
        i += k;
    }
    return !b->oom;
}

/* ---- did you mean ---- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return (size_t)-1;
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(size_t) * (lb + 1));
    }
    return prev[lb];
}

const char *hx_suggest(const char *word, const char *const *candidates)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; candidates && candidates[i]; i++) {
        size_t d = edit_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    size_t len = strlen(word);
    size_t limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
    return best_d <= limit ? best : NULL;
}

bool hx_env_public(const char *entry)
{
    static const char *const names[] = {"PATH", "HOME", "TMPDIR", "USER",     "LOGNAME", "SHELL",
                                        "TERM", "TZ",   "LANG",   "LANGUAGE", NULL};
    size_t n = strcspn(entry, "=");
    if (n > 3 && memcmp(entry, "LC_", 3) == 0) return true;
    for (size_t i = 0; names[i]; i++)
        if (strlen(names[i]) == n && memcmp(names[i], entry, n) == 0) return true;
    return false;
}

char **hx_env_public_list(const char *const *also, size_t nalso)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **v = hx_calloc(n + 1, sizeof *v);
    if (!v) return NULL;
    for (size_t i = 0, k = 0; i < n; i++) {
        bool keep = hx_env_public(environ[i]);
        size_t kl = strcspn(environ[i], "=");
        for (size_t j = 0; j < nalso && !keep; j++)
            keep = strlen(also[j]) == kl && memcmp(also[j], environ[i], kl) == 0;
        if (keep) v[k++] = environ[i];
    }
    return v;
}

/* ---- files ---- */

static bool dir_usage(int dfd, int depth, const hx_usage_opts *o, hx_usage *u)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return false;
    }
    bool ok = true;
    struct dirent *de;
    while (ok && (de = readdir(d))) {
        const char *n = de->d_name;
        if (n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2]))) continue;
        if (o->max_files && u->files > o->max_files) break;
        struct stat st;
        if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (S_ISDIR(st.st_mode) && o->skip && st.st_dev == o->skip->st_dev &&
            st.st_ino == o->skip->st_ino)
            continue;
        u->files++;
        u->bytes += (uint64_t)st.st_blocks * 512;
        if (!S_ISDIR(st.st_mode)) continue;
        if (depth >= o->max_depth) {
            u->deep = true;
            ok = false;
            break;
        }
        int sub = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0 && errno == ENOENT) continue; /* removed since the fstatat */
        if (sub < 0) {
            u->closed = true;
            ok = false;
            break;
        }
        ok = dir_usage(sub, depth + 1, o, u);
    }
    closedir(d);
    return ok;
}

bool hx_dir_usage(int dfd, const hx_usage_opts *o, hx_usage *u)
{
    memset(u, 0, sizeof *u);
    return dir_usage(dfd, 0, o, u);
}

int hx_afile_open(hx_afile *a, const char *path, unsigned flags, hx_err *e)
{
    memset(a, 0, sizeof *a);
    if ((flags & HX_AFILE_STDOUT) && strcmp(path, "-") == 0) {
        a->f = stdout;
        return 0;
    }
    int rc = 0;
    struct stat st;
    if (!(a->path = hx_strdup(path))) {
        rc = hx_fail(e, HX_ENOMEM, "out of memory writing '%s'", path);
    } else if ((flags & HX_AFILE_IN_PLACE) && stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (!(a->f = fopen(path, "w")))
            rc = hx_fail(e, HX_EIO, "cannot write '%s': %s", path, strerror(errno));
    } else {
        const char *slash = strrchr(path, '/');
        int dlen = slash ? (int)(slash - path + 1) : 0;
        int fd = -1;
        if (!(a->tmp = hx_asprintf("%.*s.%s.tmp-XXXXXX", dlen, path, path + dlen))) {
            rc = hx_fail(e, HX_ENOMEM, "out of memory writing '%s'", path);
        } else if ((fd = mkstemp(a->tmp)) < 0) {
            rc = hx_fail(e, HX_EIO, "cannot create a temp file beside '%s': %s", path,
                         strerror(errno));
            hx_free(a->tmp);
            a->tmp = NULL;
        } else if (fchmod(fd, 0644), !(a->f = fdopen(fd, "w"))) {
            rc = hx_fail(e, HX_EIO, "cannot write '%s': %s", a->tmp, strerror(errno));
            close(fd);
        }
    }
    if (rc) hx_afile_abort(a);
    return rc;
}

int hx_afile_commit(hx_afile *a, hx_err *e)
{
    int rc = 0;
    if (a->f == stdout) {
        a->f = NULL;
        rc = fflush(stdout) == 0 ? 0 : hx_fail(e, HX_EIO, "cannot write to standard output");
    } else if (a->f) {
        const char *name = a->tmp ? a->tmp : a->path;
        bool bad = fflush(a->f) != 0 || ferror(a->f);
        int err = errno;
        /* A file system that cannot sync (EINVAL, EROFS) still gets the atomic rename. */
        if (!bad && a->tmp && fsync(fileno(a->f)) != 0 && errno != EINVAL && errno != EROFS)
            bad = true, err = errno;
        if (fclose(a->f) != 0 && !bad) bad = true, err = errno;
        a->f = NULL;
        if (bad)
            rc = hx_fail(e, HX_EIO, "cannot write '%s': %s", name, strerror(err));
        else if (a->tmp && rename(a->tmp, a->path) != 0)
            rc = hx_fail(e, HX_EIO, "cannot rename '%s' to '%s': %s", a->tmp, a->path,
                         strerror(errno));
        else if (a->tmp) {
            hx_free(a->tmp);
            a->tmp = NULL;
        }
    }
    hx_afile_abort(a);
    return rc;
}

void hx_afile_abort(hx_afile *a)
{
    if (a->f && a->f != stdout) fclose(a->f);
    if (a->tmp) unlink(a->tmp);
    hx_free(a->tmp);
    hx_free(a->path);
    memset(a, 0, sizeof *a);
}

int hx_write_atomic(const char *path, const void *data, size_t len, hx_err *e)
{
    hx_afile a;
    int rc = hx_afile_open(&a, path, 0, e);
    if (rc) return rc;
    if (len && fwrite(data, 1, len, a.f) != len) {
        rc = hx_fail(e, HX_EIO, "cannot write '%s': %s", a.tmp, strerror(errno));
        hx_afile_abort(&a);
        return rc;
    }
    return hx_afile_commit(&a, e);
}

/* ---- reading input files ---- */

/* One row an hx_input, in its order: what the file is called in messages and its cap. */
static const struct {
    const char *name;
    size_t cap;
} input_kinds[] = {
    [HX_IN_ANY] = {"a file", (size_t)64 << 20},
    [HX_IN_SOLUTION] = {"a solution.json", (size_t)1 << 20},
    [HX_IN_LUA] = {"a pack's Lua file", (size_t)4 << 20},
    [HX_IN_COST_MODEL] = {"a cost model", (size_t)4 << 20},
    [HX_IN_RUN] = {"a run.json or journal", (size_t)256 << 20},
    [HX_IN_DOC] = {"a README or ADR", (size_t)4 << 20},
    [HX_IN_SECRET] = {"a seed file", (size_t)4 << 10},
    [HX_IN_QUERY] = {"a query file", (size_t)1 << 20},
    [HX_IN_STREAM] = {"a file", 0},
};

size_t hx_input_cap(hx_input k)
{
    return (unsigned)k < sizeof input_kinds / sizeof *input_kinds ? input_kinds[k].cap : 0;
}

const char *hx_input_name(hx_input k)
{
    return (unsigned)k < sizeof input_kinds / sizeof *input_kinds ? input_kinds[k].name : "a file";
}

static const char *file_type_name(mode_t m)
{
    return S_ISDIR(m)    ? "a directory"
           : S_ISFIFO(m) ? "a FIFO (named pipe)"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISSOCK(m) ? "a socket"
           : S_ISLNK(m)  ? "a symbolic link"
                         : "not a regular file";
}

/* "1 MiB", "4 KiB", "5.2 MiB": a size for a message. */
static void size_words(char *buf, size_t n, unsigned long long v)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    double x = (double)v;
    size_t u = 0;
    while (x >= 1024 && u + 1 < sizeof units / sizeof *units)
        x /= 1024, u++;
    if (u == 0)
        snprintf(buf, n, "%llu bytes", v);
    else if (x == (double)(unsigned long long)x)
        snprintf(buf, n, "%.0f %s", x, units[u]);
    else
        snprintf(buf, n, "%.1f %s", x, units[u]);
}

static int too_large(hx_err *e, const char *path, hx_input k, unsigned long long size,
                     bool at_least)
{
    char got[32], cap[32];
    size_words(got, sizeof got, size);
    size_words(cap, sizeof cap, hx_input_cap(k));
    return hx_fail(e, HX_EUSAGE, "'%s' is %s%s, more than the %s %s may be: refused", path,
                   at_least ? "over " : "", got, cap, hx_input_name(k));
}

int hx_open_input(const char *path, hx_input k, unsigned flags, struct stat *st, hx_err *e)
{
    struct stat sb;
    if (!st) st = &sb;
    int of = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    if (flags & HX_OPEN_NOFOLLOW) of |= O_NOFOLLOW;
    int fd = open(path, of);
    if (fd < 0) {
        int err = errno;
        struct stat ls;
        if (err == ELOOP && (flags & HX_OPEN_NOFOLLOW) && lstat(path, &ls) == 0 &&
            S_ISLNK(ls.st_mode))
            return hx_fail(e, HX_EUSAGE,
                           "'%s' is a symbolic link: refused (put the file itself there)", path);
        /* open() of a UNIX socket fails (ENXIO) before fstat could name it. */
        if (err == ENXIO && stat(path, &ls) == 0 && !S_ISREG(ls.st_mode))
            return hx_fail(e, HX_EUSAGE,
                           "'%s' is %s, not a regular file: the harness reads only regular files",
                           path, file_type_name(ls.st_mode));
        return hx_fail(e, err == ENOENT || err == ENOTDIR ? HX_EUSAGE : HX_EIO,
                       "cannot open '%s': %s", path, strerror(err));
    }
    if (fstat(fd, st) != 0) {
        int err = errno;
        close(fd);
        return hx_fail(e, HX_EIO, "cannot stat '%s': %s", path, strerror(err));
    }
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        /* A link to /dev/zero says where it leads: the name alone would look like a file. */
        char via[PATH_MAX + 32] = "";
        struct stat ls;
        char *real = NULL;
        if (lstat(path, &ls) == 0 && S_ISLNK(ls.st_mode) && (real = realpath(path, NULL)))
            snprintf(via, sizeof via, " (a link to '%s')", real);
        free(real);
        return hx_fail(e, HX_EUSAGE,
                       "'%s'%s is %s, not a regular file: the harness reads only regular files",
                       path, via, file_type_name(st->st_mode));
    }
    size_t cap = hx_input_cap(k);
    if (cap && (unsigned long long)st->st_size > cap) {
        close(fd);
        return too_large(e, path, k, (unsigned long long)st->st_size, false);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

/* Read the open regular file fd (named path in messages) whole, at most k's cap; closes fd. */
static int read_input_fd(int fd, const struct stat *stp, const char *path, hx_input k, char **out,
                         size_t *len, hx_err *e)
{
    struct stat st = *stp;
    size_t cap = hx_input_cap(k);
    hx_buf b;
    hx_buf_init(&b);
    int rc = 0;
    /* st_size is a hint only: /proc files say 0, and a file may grow while it is read. */
    if (st.st_size > 0 && !hx_buf_reserve(&b, (size_t)st.st_size + 1))
        rc = hx_fail(e, HX_ENOMEM, "out of memory reading '%s'", path);
    while (!rc) {
        /* Never more than one byte past the cap: enough to know the file is over it. */
        size_t want = cap && cap + 1 - b.len < 65536 ? cap + 1 - b.len : 65536;
        if (!hx_buf_reserve(&b, want)) {
            rc = hx_fail(e, HX_ENOMEM, "out of memory reading '%s'", path);
            break;
        }
        size_t room = b.cap - b.len - 1;
        if (cap && room > cap + 1 - b.len) room = cap + 1 - b.len;
        ssize_t r = read(fd, b.data + b.len, room);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = hx_fail(e, HX_EIO, "cannot read '%s': %s", path, strerror(errno));
            break;
        }
        if (r == 0) break;
        b.len += (size_t)r;
        b.data[b.len] = '\0';
        if (cap && b.len > cap) rc = too_large(e, path, k, cap, true);
    }
    close(fd);
    if (rc) {
        hx_buf_release(&b);
        return rc;
    }
    if (b.data) b.data[b.len] = '\0';
    if (len) *len = b.len;
    *out = hx_buf_steal(&b);
    return *out ? 0 : hx_fail(e, HX_ENOMEM, "out of memory reading '%s'", path);
}

int hx_read_input(const char *path, hx_input k, char **out, size_t *len, hx_err *e)
{
    *out = NULL;
    if (len) *len = 0;
    struct stat st;
    int fd = hx_open_input(path, k, 0, &st, e);
    if (fd < 0) return fd;
    return read_input_fd(fd, &st, path, k, out, len, e);
}

int hx_read_input_in(const char *root, const char *path, hx_input k, char **out, size_t *len,
                     hx_err *e)
{
    *out = NULL;
    if (len) *len = 0;
    struct stat st;
    int fd = hx_open_input(path, k, 0, &st, e);
    if (fd < 0) return fd;
    /* Where the opened file really is, read from the descriptor: a link swapped after a check
     * of the name cannot move it. */
    char link[64], real[PATH_MAX], top[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, real, sizeof real - 1);
    if (n < 0 || !realpath(root, top)) {
        int err = errno;
        close(fd);
        return hx_fail(e, HX_EIO, "cannot resolve '%s': %s", path, strerror(err));
    }
    real[n] = '\0';
    size_t tl = strlen(top);
    if (strcmp(top, "/") != 0 && (strncmp(real, top, tl) != 0 || real[tl] != '/')) {
        close(fd);
        return hx_fail(e, HX_EUSAGE,
                       "'%s' leads outside its folder: refused (the harness reads only files "
                       "inside '%s'; put the file itself there)",
                       path, root);
    }
    return read_input_fd(fd, &st, path, k, out, len, e);
}

int hx_read_file(const char *path, char **out, size_t *len, hx_err *e)
{
    return hx_read_input(path, HX_IN_ANY, out, len, e);
}

int hx_mkdir_p(const char *path, hx_err *e)
{
    char *p = hx_strdup(path);
    if (!p) return hx_fail(e, HX_ENOMEM, "out of memory");
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int rc = hx_fail(e, HX_EIO, "cannot create directory '%s': %s", p, strerror(errno));
            hx_free(p);
            return rc;
        }
        *s = '/';
    }
    int rc = 0;
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        rc = hx_fail(e, HX_EIO, "cannot create directory '%s': %s", p, strerror(errno));
    hx_free(p);
    return rc;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

int hx_rm_rf(const char *path)
{
    if (!path || !*path || strcmp(path, "/") == 0) return HX_EUSAGE;
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 || errno == ENOENT ? 0 : HX_EIO;
}

/* ---- time ---- */

int64_t hx_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t hx_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- sha256 ---- */

/* The hash of every generated byte is on the hot path of `harness gen` (a hand-written FIPS 180-4
 * loop took half its time), so this is OpenSSL's libcrypto, which picks SHA-NI or AVX2 at run
 * time. Its low-level SHA256_* calls are deprecated in OpenSSL 3 in favour of EVP, but EVP
 * allocates a context that could fail and leak; the low-level calls run the same assembly from
 * storage we own, so hx_sha256_init cannot fail. */
_Static_assert(sizeof(SHA256_CTX) <= sizeof(((hx_sha256 *)0)->ctx), "hx_sha256.ctx too small");
_Static_assert(_Alignof(SHA256_CTX) <= _Alignof(hx_sha256), "hx_sha256 under-aligned");

void hx_sha256_init(hx_sha256 *s)
{
    SHA256_Init((SHA256_CTX *)s->ctx);
}

void hx_sha256_update(hx_sha256 *s, const void *data, size_t n)
{
    SHA256_Update((SHA256_CTX *)s->ctx, data, n);
}

void hx_sha256_final(hx_sha256 *s, char hex[65])
{
    static const char dig[] = "0123456789abcdef";
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256_Final(md, (SHA256_CTX *)s->ctx);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        hex[2 * i] = dig[md[i] >> 4];
        hex[2 * i + 1] = dig[md[i] & 15];
    }
    hex[64] = '\0';
}

uint64_t hx_hash64(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
