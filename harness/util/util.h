/* util.h - the few things every module shares: error reporting, the allocation seam, a growable
 * buffer, exit codes, "did you mean", atomic file writes, time and sha256.
 *
 * Ownership: hx_buf owns its bytes (hx_buf_release frees them); every hx_malloc'd pointer is freed
 * with hx_free by whoever the returning function's doc names. */
#ifndef HX_UTIL_H
#define HX_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

/* Process exit codes (README.md lists them for `harness run`). Only main() turns a result into one
 * of these. */
enum hx_exit {
    HX_EXIT_OK = 0,           /* every check and threshold passed */
    HX_EXIT_CHECK = 1,        /* a correctness check (severity error) failed */
    HX_EXIT_USAGE = 2,        /* usage, config, scenario or plugin-load error */
    HX_EXIT_INFRA = 3,        /* a service was unreachable or broke */
    HX_EXIT_THRESHOLD = 4,    /* all checks passed but a threshold (SLA or budget) failed */
    HX_EXIT_INTERRUPTED = 130 /* SIGINT / SIGTERM */
};

/* Library return codes: 0 is success, these are the failures. The message is in an hx_err. */
enum hx_code {
    HX_OK = 0,
    HX_EUSAGE = -2, /* the user's input is wrong (scenario, flags, config): exit 2 */
    HX_EINFRA = -3, /* a service or the machine failed us: exit 3 */
    HX_EIO = -5,    /* a file could not be read or written */
    HX_ENOMEM = -12,
    HX_EINTR = -130 /* interrupted by a signal */
};

/* An error message a user can act on: lowercase, names the file (and line) and what to do. */
typedef struct hx_err {
    int code;       /* one of enum hx_code, 0 when no error */
    char msg[1024]; /* the message, without the "harness: " prefix */
} hx_err;

/* Fill e (may be NULL) and return code, so callers write `return hx_fail(e, HX_EIO, ...)`. */
int hx_fail(hx_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prefix an existing message: "context: old message". Returns e->code. */
int hx_wrap(hx_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Map a library code to a process exit code. */
int hx_exit_code(int code);

/* The allocation seam. Tests call hx_alloc_fail_after(n) to make the n+1-th allocation fail
 * (n < 0 disables). hx_malloc & co. return NULL on failure like malloc; the x-variants abort with
 * a message, for the few places where failing is not worth a code path (CLI argument copies). */
void *hx_malloc(size_t n);
void *hx_calloc(size_t n, size_t size);
void *hx_realloc(void *p, size_t n);
char *hx_strdup(const char *s);
char *hx_strndup(const char *s, size_t n);
void hx_free(void *p);
void *hx_xmalloc(size_t n);
char *hx_xstrdup(const char *s);
void hx_alloc_fail_after(long n);

/* A growable byte buffer, always NUL-terminated (data may be NULL while len == 0 and cap == 0). */
typedef struct hx_buf {
    char *data; /* the bytes, owned */
    size_t len; /* bytes used, excluding the terminating NUL */
    size_t cap; /* bytes allocated */
    bool oom;   /* an append failed; the buffer keeps what fitted before */
} hx_buf;

void hx_buf_init(hx_buf *b);
void hx_buf_release(hx_buf *b); /* frees data; b can be init'ed again */
void hx_buf_clear(hx_buf *b);   /* len = 0, keeps the allocation */
bool hx_buf_reserve(hx_buf *b, size_t extra);
bool hx_buf_append(hx_buf *b, const void *p, size_t n);
bool hx_buf_puts(hx_buf *b, const char *s);
bool hx_buf_putc(hx_buf *b, char c);
bool hx_buf_printf(hx_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool hx_buf_vprintf(hx_buf *b, const char *fmt, va_list ap);
/* Hand the bytes to the caller (free with hx_free); b is left empty. */
char *hx_buf_steal(hx_buf *b);

/* printf into a new string (free with hx_free); NULL when out of memory, never a partial one. */
char *hx_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *hx_vasprintf(const char *fmt, va_list ap);

/* ---- UTF-8: the one decoder; reports, run.json, the plugin host, readers and replay use it ----
 */

/* Decode one UTF-8 sequence at s (len > 0 bytes left). Returns the bytes consumed (>= 1) and sets
 * *cp to the code point, or to -1 for an invalid, overlong, surrogate or truncated sequence or a
 * value past U+10FFFF (one byte consumed). A NUL byte decodes as code point 0. */
size_t hx_utf8_next(const char *s, size_t len, int32_t *cp);
/* Whether s[0..n) is entirely valid UTF-8 (NUL bytes included). */
bool hx_utf8_valid(const char *s, size_t n);
/* Append s[0..n) to b with every invalid sequence (as hx_utf8_next) and every NUL byte replaced
 * by U+FFFD, one per byte. Returns false when out of memory. */
bool hx_buf_put_utf8(hx_buf *b, const char *s, size_t n);

/* Format v for people as the shortest decimal that reads back (strtod) as v: 0.1, 94379.58, 1e+300.
 * A value within four units in the last place of a 15-significant-digit decimal (the noise of
 * summing decimals in binary, 94379.580000000002) prints as that decimal. NaN as "nan", infinities
 * as "inf" / "-inf". buf needs 32 bytes. */
void hx_fmt_num(char *buf, size_t n, double v);

/* Append s[0..n) to b as text safe to print on a terminal or into a CI log: C0 controls other
 * than \n and \t (ESC, CR, BEL, ...), DEL, C1 controls and invalid UTF-8 bytes are shown escaped
 * as \xNN, and a line whose first non-blank characters are "::" (a GitHub Actions workflow command
 * such as ::error::) or "##[" (Azure Pipelines) has that first character escaped, so untrusted
 * text (solution, plugin and query output) can neither drive the terminal nor the CI runner.
 * Returns false when out of memory. */
bool hx_buf_put_term(hx_buf *b, const char *s, size_t n);

/* The candidate closest to word by edit distance, or NULL when none is close enough to suggest.
 * candidates is NULL-terminated. */
const char *hx_suggest(const char *word, const char *const *candidates);

/* Whether the environment entry `entry` ("NAME=value" or a bare NAME) is one of the harness's
 * own that a solution command and the servers it can reach may see (docs/solutions.md "What the
 * solution gets"): PATH, HOME, TMPDIR, USER, LOGNAME, SHELL, TERM, TZ, LANG, LANGUAGE and
 * LC_*. None of them holds a secret; every other variable of the harness's environment (tokens,
 * cloud credentials, the seed) stays with the harness unless `harness run --pass-env` names it. */
bool hx_env_public(const char *entry);

/* environ's public entries (hx_env_public) and those the nalso names in also name (`--pass-env`),
 * NULL-ended: the strings are environ's, the array is the caller's (hx_free). For the programs the
 * harness starts that a solution could look at (its commands, the PostgreSQL server, the box's
 * helpers). NULL when out of memory. */
char **hx_env_public_list(const char *const *also, size_t nalso);

/* The git commit the harness binary was built from (HX_COMMIT), "unknown" outside a checkout.
 * Defined in the build-generated hx_commit.c, linked into the harness executable only. */
const char *hx_build_commit(void);

/* A file that appears at its path complete or not at all: written to a hidden temp file beside it
 * (".<name>.tmp-XXXXXX", mode 0644), then flushed, fsynced and renamed over path on commit, so a
 * reader (a solution watching its landing folder, a CI step) never sees a partial file. */
typedef struct hx_afile {
    char *path; /* the final name (owned); NULL for standard output */
    char *tmp;  /* the temp file's name (owned); NULL when written in place */
    FILE *f;    /* write here between open and commit or abort */
} hx_afile;
enum {
    HX_AFILE_STDOUT = 1,  /* the path "-" is standard output (flushed on commit, never closed) */
    HX_AFILE_IN_PLACE = 2 /* a path that exists and is not a regular file (/dev/null, a FIFO) is
                             written in place: a rename would replace the device itself */
};
/* Open a (caller storage) for writing path. Returns 0, or HX_EIO / HX_ENOMEM with a left
 * cleared. */
int hx_afile_open(hx_afile *a, const char *path, unsigned flags, hx_err *e);
/* Flush, sync and rename into place. Returns 0 or HX_EIO; either way a is released (on failure the
 * temp file is removed and path is untouched). */
int hx_afile_commit(hx_afile *a, hx_err *e);
/* Give up: close, remove the temp file, release. Safe on a cleared or committed a. */
void hx_afile_abort(hx_afile *a);
/* data as the whole of path, through an hx_afile. */
int hx_write_atomic(const char *path, const void *data, size_t len, hx_err *e);

/* ---- reading what a pack, a solution or a run folder hands us: the one way in ----
 * A solution can leave a FIFO, a device or a link to /dev/zero where the harness expects a file,
 * and a pack can ship one: every such file is opened without blocking and without becoming a
 * controlling terminal, checked with fstat to be a regular file, and read up to a cap set by what
 * the file is (the table in util.c; docs/solutions.md and docs/scenarios.md list the caps). */
typedef enum hx_input {
    HX_IN_ANY,        /* any other file read whole: 64 MiB */
    HX_IN_SOLUTION,   /* a solution's solution.json: 1 MiB */
    HX_IN_LUA,        /* a pack's .lua file (challenge, scenario, require'd module): 4 MiB */
    HX_IN_COST_MODEL, /* a cost-model sheet: 4 MiB */
    HX_IN_RUN,        /* run.json or a run's journal (report, merge, compare): 256 MiB */
    HX_IN_DOC,        /* a README or ADR the adr and readme checks read: 4 MiB */
    HX_IN_SECRET,     /* --seed-file: 4 KiB */
    HX_IN_QUERY,      /* a workload's query file, of the pack or the solution's queries/: 1 MiB */
    HX_IN_STREAM      /* read as a stream in bounded memory (a file check's output file): no cap */
} hx_input;
enum {
    HX_OPEN_NOFOLLOW = 1 /* refuse a symbolic link as the last part of the path */
};
/* The cap for files of kind k in bytes (0: none), and how a message names such a file ("a
 * solution.json"). */
size_t hx_input_cap(hx_input k);
const char *hx_input_name(hx_input k);
/* Open path for reading as a file of kind k: O_RDONLY|O_NONBLOCK|O_NOCTTY|O_CLOEXEC (and
 * O_NOFOLLOW with HX_OPEN_NOFOLLOW), then fstat. Returns the descriptor (blocking again; the caller
 * closes it) with *st filled when st is not NULL, or a negative code with e naming the file:
 * HX_EUSAGE when it does not exist, is not a regular file ("is a FIFO", "is a character device",
 * a link to one says where it leads) or is larger than k's cap; HX_EIO for any other failure. */
int hx_open_input(const char *path, hx_input k, unsigned flags, struct stat *st, hx_err *e);
/* Read a whole file of kind k through hx_open_input; a file that grows past the cap while read is
 * refused too. *out is NUL-terminated (free with hx_free), *len (len may be NULL) its size. */
int hx_read_input(const char *path, hx_input k, char **out, size_t *len, hx_err *e);
/* hx_read_input for a file that must lie inside folder root once every link is followed (a
 * solution's own files, which the harness reads with its own rights): anything else is
 * HX_EUSAGE, decided on the opened descriptor, so a link swapped meanwhile changes nothing. */
int hx_read_input_in(const char *root, const char *path, hx_input k, char **out, size_t *len,
                     hx_err *e);
/* hx_read_input(path, HX_IN_ANY, ...): the harness's own files (a server's pid file, /proc). */
int hx_read_file(const char *path, char **out, size_t *len, hx_err *e);
/* mkdir -p with mode 0755 for created directories. */
int hx_mkdir_p(const char *path, hx_err *e);
/* rm -rf; returns 0 or HX_EIO. Refuses "" and "/". */
int hx_rm_rf(const char *path);
/* What a folder holds (the runner's disk and file limits). */
typedef struct hx_usage {
    uint64_t bytes; /* allocated blocks under it, in bytes (links not followed) */
    uint64_t files; /* entries under it: files, folders, links, ... (not the folder itself) */
    bool deep;      /* it nests deeper than max_depth folders: not walked below */
    bool closed;    /* it holds a folder the caller cannot open: not walked inside */
} hx_usage;

/* How hx_dir_usage walks. */
typedef struct hx_usage_opts {
    int max_depth;           /* folders below the top it enters */
    uint64_t max_files;      /* stop counting once past this many entries (0: count all) */
    const struct stat *skip; /* a folder (st_dev, st_ino) not counted nor entered, or NULL */
} hx_usage_opts;

/* Measure the folder open at dfd, which it closes, into *u. Returns true when it was walked
 * whole (or stopped at max_files); false when it could not be (u->deep, u->closed), so that
 * nothing hides below a walk (a caller limiting what it holds treats that as over). */
bool hx_dir_usage(int dfd, const hx_usage_opts *o, hx_usage *u);

/* Monotonic nanoseconds, and wall-clock nanoseconds since the epoch. */
int64_t hx_now_ns(void);
int64_t hx_wall_ns(void);

/* SHA-256, streaming (OpenSSL's libcrypto underneath). Caller storage, nothing to free. */
typedef struct hx_sha256 {
    _Alignas(16) unsigned char ctx[128]; /* libcrypto's SHA256_CTX; util.c checks that it fits */
} hx_sha256;
void hx_sha256_init(hx_sha256 *s);
void hx_sha256_update(hx_sha256 *s, const void *p, size_t n);
/* Writes 64 lowercase hex digits and a NUL into hex[65]. */
void hx_sha256_final(hx_sha256 *s, char hex[65]);

/* FNV-1a, for deriving per-name seeds and hashing keys in tables. */
uint64_t hx_hash64(const void *p, size_t n);

#endif
