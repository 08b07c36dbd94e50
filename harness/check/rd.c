/* rd.c - see rd.h. The input comes through one window of at most `chunk` bytes at a time; the CSV
 * parser is a state machine whose whole state lives in the reader, so a record may be cut
 * anywhere between two reads. Field bytes go into one buffer, each followed by a NUL, and the
 * record's arrays point into it once the record is complete. */
#include "rd.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

/* Bytes of bookkeeping per field counted against the record cap, so that a record of nothing but
 * delimiters cannot grow the arrays without bound. */
#define FIELD_COST 32

typedef enum csv_state {
    CS_START, /* at the start of a field */
    CS_UNQ,   /* in an unquoted field */
    CS_Q,     /* in a quoted field */
    CS_QQ     /* a quote inside a quoted field: its end, or the first of a doubled quote */
} csv_state;

struct rd_reader {
    rd_opts o;  /* options with defaults filled in */
    char *name; /* for messages */

    /* the source: exactly one of fd, fp, mem */
    int fd;                     /* -1 when not reading a descriptor */
    FILE *fp;                   /* borrowed */
    const unsigned char *mem;   /* borrowed */
    size_t mem_len, mem_pos;    /* mem: size and bytes handed out */
    unsigned char *cbuf;        /* fd, fp: the chunk buffer */
    bool eof;                   /* the source has no more bytes */
    const unsigned char *win;   /* the current window of input */
    size_t wlen, wpos;          /* its length and the bytes consumed */
    const unsigned char *stash; /* input to serve after win (the rest of a read after the BOM) */
    size_t stash_len;
    unsigned char head[3]; /* the first bytes when they were not a byte order mark */
    uint64_t line;         /* physical line of the next byte */

    /* the record being built */
    hx_buf fb;           /* field bytes, each field followed by a NUL */
    hx_buf nb;           /* JSONL: key bytes, each followed by a NUL */
    size_t *foff, *flen; /* per field: offset in fb, length */
    size_t *noff;        /* JSONL: per field, offset of its key in nb */
    bool *fnull;         /* per field: SQL NULL */
    const char **vals;   /* per field, for the record: pointers into fb */
    const char **names;  /* per field, for the record */
    size_t nf, fcap;     /* fields in the record, entries allocated */
    size_t cost;         /* bytes of this record counted against max_record */
    bool over;           /* the record passed max_record: its bytes are dropped */
    bool bad;            /* the record is malformed; errmsg says why */
    char errmsg[256];    /* the first problem of the record */
    uint64_t rec_line;   /* line where the record starts */

    /* CSV */
    csv_state st;   /* where the parser is */
    bool cr;        /* a CR outside quotes waits for its LF */
    bool started;   /* the record has consumed a byte */
    bool fquoted;   /* the current field started with a quote */
    uint64_t qline; /* line of the current field's opening quote */
    size_t fstart;  /* offset of the current field in fb */
    char **hdr;     /* header names, owned */
    size_t nhdr;    /* number of header names */
    bool have_want; /* want is known (header read, or first record seen) */
    size_t want;    /* fields every record must have */

    /* JSONL */
    hx_buf lb; /* the current line */

    bool failed; /* a fatal error happened: fail holds it */
    hx_err fail;
};

/* ---- the source ---- */

/* A fatal error: remembered, so that every later rd_next fails the same way. */
static int fatal(rd_reader *r, hx_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fatal(rd_reader *r, hx_err *e, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->fail.msg, sizeof r->fail.msg, fmt, ap);
    va_end(ap);
    r->fail.code = code;
    r->failed = true;
    if (e) *e = r->fail;
    return -1;
}

/* Make the window non-empty. 1 when there are bytes, 0 at the end, -1 on a read error. */
static int src_fill(rd_reader *r, hx_err *e)
{
    if (r->wpos < r->wlen) return 1;
    if (r->stash_len) {
        r->win = r->stash;
        r->wlen = r->stash_len;
        r->wpos = 0;
        r->stash_len = 0;
        return 1;
    }
    if (r->eof) return 0;
    r->wpos = r->wlen = 0;
    if (r->mem) {
        size_t n = r->mem_len - r->mem_pos;
        if (n > r->o.chunk) n = r->o.chunk;
        if (!n) {
            r->eof = true;
            return 0;
        }
        r->win = r->mem + r->mem_pos;
        r->mem_pos += n;
        r->wlen = n;
        return 1;
    }
    r->win = r->cbuf;
    if (r->fp) {
        size_t n = fread(r->cbuf, 1, r->o.chunk, r->fp);
        if (n == 0) {
            if (ferror(r->fp))
                return fatal(r, e, HX_EIO, "cannot read '%s': %s", r->name, strerror(errno));
            r->eof = true;
            return 0;
        }
        r->wlen = n;
        return 1;
    }
    ssize_t n;
    do
        n = read(r->fd, r->cbuf, r->o.chunk);
    while (n < 0 && errno == EINTR);
    if (n < 0) return fatal(r, e, HX_EIO, "cannot read '%s': %s", r->name, strerror(errno));
    if (n == 0) {
        r->eof = true;
        return 0;
    }
    r->wlen = (size_t)n;
    return 1;
}

/* Drop a UTF-8 byte order mark at the start of the input. The first three bytes are gathered
 * (over several reads when chunks are tiny); when they are not a BOM they are served first. */
static int skip_bom(rd_reader *r, hx_err *e)
{
    static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
    size_t nh = 0;
    while (nh < 3) {
        int rc = src_fill(r, e);
        if (rc < 0) return -1;
        if (rc == 0) break;
        while (nh < 3 && r->wpos < r->wlen)
            r->head[nh++] = r->win[r->wpos++];
    }
    if (nh == 3 && memcmp(r->head, bom, 3) == 0) return 0;
    r->stash = r->win ? r->win + r->wpos : NULL;
    r->stash_len = r->wlen - r->wpos;
    r->win = r->head;
    r->wlen = nh;
    r->wpos = 0;
    return 0;
}

/* ---- the record being built ---- */

static void rec_reset(rd_reader *r)
{
    hx_buf_clear(&r->fb);
    hx_buf_clear(&r->nb);
    r->nf = 0;
    r->cost = 0;
    r->over = false;
    r->bad = false;
    r->errmsg[0] = '\0';
    r->rec_line = r->line;
}

static void mark_bad(rd_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mark_bad(rd_reader *r, const char *fmt, ...)
{
    if (r->bad) return; /* the first problem is the one to fix */
    r->bad = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->errmsg, sizeof r->errmsg, fmt, ap);
    va_end(ap);
}

/* Count n bytes against the cap. False when the record is (now) over it; in strict mode that is
 * fatal at once, so that a runaway quote does not read the rest of a large file first. */
static bool charge(rd_reader *r, size_t n, hx_err *e, int *rc)
{
    if (r->over) return false;
    r->cost += n;
    if (r->cost <= r->o.max_record) return true;
    r->over = true;
    hx_buf_clear(&r->fb);
    r->nf = 0;
    mark_bad(r, "record longer than %zu bytes", r->o.max_record);
    if (!r->o.tolerant)
        *rc = fatal(r, e, HX_EUSAGE, "%s:%llu: record longer than %zu bytes", r->name,
                    (unsigned long long)r->rec_line, r->o.max_record);
    return false;
}

/* Append field bytes. Returns -1 on a fatal error, else 0. */
static int put(rd_reader *r, const void *p, size_t n, hx_err *e)
{
    int rc = 0;
    if (!n || !charge(r, n, e, &rc)) return rc;
    if (!hx_buf_append(&r->fb, p, n))
        return fatal(r, e, HX_ENOMEM, "out of memory reading '%s'", r->name);
    return 0;
}

static bool grow_fields(rd_reader *r)
{
    if (r->nf < r->fcap) return true;
    size_t n = r->fcap ? 2 * r->fcap : 16;
    size_t *foff = hx_realloc(r->foff, n * sizeof *foff);
    if (foff) r->foff = foff;
    size_t *flen = hx_realloc(r->flen, n * sizeof *flen);
    if (flen) r->flen = flen;
    size_t *noff = hx_realloc(r->noff, n * sizeof *noff);
    if (noff) r->noff = noff;
    bool *fnull = hx_realloc(r->fnull, n * sizeof *fnull);
    if (fnull) r->fnull = fnull;
    const char **vals = hx_realloc(r->vals, n * sizeof *vals);
    if (vals) r->vals = vals;
    const char **names = hx_realloc(r->names, n * sizeof *names);
    if (names) r->names = names;
    if (!foff || !flen || !noff || !fnull || !vals || !names) return false;
    r->fcap = n;
    return true;
}

/* Close the current field (its bytes are fb[fstart..]). */
static int end_field(rd_reader *r, hx_err *e)
{
    int rc = 0;
    if (!charge(r, FIELD_COST, e, &rc)) return rc;
    if (!grow_fields(r) || !hx_buf_putc(&r->fb, '\0'))
        return fatal(r, e, HX_ENOMEM, "out of memory reading '%s'", r->name);
    size_t len = r->fb.len - 1 - r->fstart;
    if (r->o.utf8 && !hx_utf8_valid(r->fb.data + r->fstart, len))
        mark_bad(r, "invalid UTF-8 in field %zu", r->nf + 1);
    r->foff[r->nf] = r->fstart;
    r->flen[r->nf] = len;
    r->fnull[r->nf] = !r->fquoted && len == 0;
    r->nf++;
    r->fstart = r->fb.len;
    r->fquoted = false;
    return 0;
}

/* Point the record at the finished fields. */
static void emit(rd_reader *r, rd_record *rec)
{
    for (size_t i = 0; i < r->nf; i++)
        r->vals[i] = r->fnull[i] ? NULL : r->fb.data + r->foff[i];
    rec->ncols = r->nf;
    rec->names = r->names;
    rec->values = r->vals;
    rec->lengths = r->flen;
    rec->line = r->rec_line;
    rec->error = r->bad ? r->errmsg : NULL;
}

/* ---- CSV ---- */

/* Scan one CSV record into the fields. 1 when a record ended, 0 at the end of the input with no
 * record, -1 on a fatal error. */
static int csv_scan(rd_reader *r, hx_err *e)
{
    const unsigned char d = (unsigned char)r->o.delim;
    r->st = CS_START;
    r->cr = false;
    r->started = false;
    r->fquoted = false;
    r->fstart = 0;
    for (;;) {
        int rc = src_fill(r, e);
        if (rc < 0) return -1;
        if (rc == 0) {
            if (!r->started) return 0;
            if (r->st == CS_Q)
                mark_bad(r, "unterminated quoted field (its quote opens on line %llu)",
                         (unsigned long long)r->qline);
            return end_field(r, e) < 0 ? -1 : 1;
        }
        const unsigned char *p = r->win + r->wpos, *end = r->win + r->wlen;
        r->started = true;
        while (p < end) {
            unsigned char c = *p;
            if (r->cr) { /* a CR outside quotes: a line end with LF, else data */
                r->cr = false;
                if (c == '\n') {
                    r->line++;
                    r->wpos = (size_t)(p + 1 - r->win);
                    return end_field(r, e) < 0 ? -1 : 1;
                }
                if (r->st == CS_QQ) mark_bad(r, "text after a closing quote");
                r->st = CS_UNQ;
                if (put(r, "\r", 1, e) < 0) return -1;
                continue;
            }
            if (r->st == CS_Q) {
                const unsigned char *q = p;
                while (q < end && *q != '"') {
                    r->line += *q == '\n';
                    q++;
                }
                if (put(r, p, (size_t)(q - p), e) < 0) return -1;
                p = q;
                if (p < end) {
                    p++;
                    r->st = CS_QQ;
                }
                continue;
            }
            if (r->st == CS_QQ && c == '"') { /* a doubled quote */
                if (put(r, "\"", 1, e) < 0) return -1;
                r->st = CS_Q;
                p++;
                continue;
            }
            if (r->st == CS_START && c == '"') {
                r->fquoted = true;
                r->qline = r->line;
                r->st = CS_Q;
                p++;
                continue;
            }
            if (c == d) {
                p++;
                r->st = CS_START;
                if (end_field(r, e) < 0) return -1;
                continue;
            }
            if (c == '\n') {
                r->line++;
                r->wpos = (size_t)(p + 1 - r->win);
                return end_field(r, e) < 0 ? -1 : 1;
            }
            if (c == '\r') {
                r->cr = true;
                p++;
                continue;
            }
            if (r->st == CS_QQ) {
                mark_bad(r, "text after a closing quote");
                r->st = CS_UNQ;
            }
            if (c == '"') {
                mark_bad(r, "stray quote in an unquoted field (quote the whole field and double "
                            "the quote)");
                if (put(r, "\"", 1, e) < 0) return -1;
                p++;
                continue;
            }
            /* plain bytes of an unquoted field, as a run */
            r->st = CS_UNQ;
            const unsigned char *q = p;
            while (q < end && *q != d && *q != '\n' && *q != '\r' && *q != '"')
                q++;
            if (put(r, p, (size_t)(q - p), e) < 0) return -1;
            p = q;
        }
        r->wpos = r->wlen;
    }
}

/* A record with nothing on its line. */
static bool csv_blank(const rd_reader *r)
{
    return r->nf == 1 && r->fnull[0] && !r->bad;
}

/* Read the header into r->hdr. */
static int csv_header(rd_reader *r, hx_err *e)
{
    int rc;
    do {
        rec_reset(r);
        rc = csv_scan(r, e);
    } while (rc == 1 && csv_blank(r));
    if (rc <= 0) return rc;
    if (r->bad)
        return fatal(r, e, HX_EUSAGE, "%s:%llu: header: %s", r->name,
                     (unsigned long long)r->rec_line, r->errmsg);
    r->hdr = hx_calloc(r->nf, sizeof *r->hdr);
    if (!r->hdr) return fatal(r, e, HX_ENOMEM, "out of memory reading '%s'", r->name);
    for (size_t i = 0; i < r->nf; i++) {
        r->hdr[i] = hx_strdup(r->fb.data + r->foff[i]);
        if (!r->hdr[i]) return fatal(r, e, HX_ENOMEM, "out of memory reading '%s'", r->name);
        r->nhdr++;
    }
    r->want = r->nhdr;
    r->have_want = true;
    return 0;
}

static int csv_next(rd_reader *r, rd_record *rec, hx_err *e)
{
    int rc;
    for (;;) {
        rec_reset(r);
        rc = csv_scan(r, e);
        if (rc <= 0) return rc;
        /* An empty line is a NULL when there is one column, else nothing. */
        if (csv_blank(r) && (!r->have_want || r->want != 1)) continue;
        break;
    }
    if (!r->over && !r->have_want) {
        r->want = r->nf;
        r->have_want = true;
    } else if (!r->over && r->nf != r->want) {
        if (r->nhdr)
            mark_bad(r, "%zu fields, the header has %zu", r->nf, r->want);
        else
            mark_bad(r, "%zu fields, the first record has %zu", r->nf, r->want);
    }
    if (r->bad && !r->o.tolerant)
        return fatal(r, e, HX_EUSAGE, "%s:%llu: %s", r->name, (unsigned long long)r->rec_line,
                     r->errmsg);
    for (size_t i = 0; i < r->nf; i++)
        r->names[i] = i < r->nhdr ? r->hdr[i] : NULL;
    emit(r, rec);
    return 1;
}

/* ---- JSONL ---- */

/* Read the next physical line (without its LF) into r->lb. 1 with a line, 0 at the end. */
static int jsonl_line(rd_reader *r, hx_err *e)
{
    hx_buf_clear(&r->lb);
    bool any = false;
    for (;;) {
        int rc = src_fill(r, e);
        if (rc < 0) return -1;
        if (rc == 0) return any;
        any = true;
        const unsigned char *p = r->win + r->wpos;
        size_t n = r->wlen - r->wpos;
        const unsigned char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        r->wpos += take + (nl != NULL);
        int frc = 0;
        if (take && charge(r, take, e, &frc) && !hx_buf_append(&r->lb, p, take))
            return fatal(r, e, HX_ENOMEM, "out of memory reading '%s'", r->name);
        if (frc < 0) return -1;
        if (nl) {
            r->line++;
            return 1;
        }
    }
}

static size_t json_skip_string(const char *s, size_t i, size_t n)
{
    for (i++; i < n && s[i] != '"'; i++)
        if (s[i] == '\\') i++;
    return i + 1;
}

static size_t json_skip_ws(const char *s, size_t i, size_t n)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
        i++;
    return i;
}

/* End of the value starting at s[i], in text jansson has accepted. */
static size_t json_skip_value(const char *s, size_t i, size_t n)
{
    if (i >= n) return n;
    if (s[i] == '"') return json_skip_string(s, i, n);
    if (s[i] == '{' || s[i] == '[') {
        size_t depth = 0;
        while (i < n) {
            char c = s[i];
            if (c == '"') {
                i = json_skip_string(s, i, n);
                continue;
            }
            i++;
            if (c == '{' || c == '[')
                depth++;
            else if ((c == '}' || c == ']') && --depth == 0)
                break;
        }
        return i;
    }
    while (i < n && !strchr(",}] \t\r\n", s[i]))
        i++;
    return i;
}

/* Append the JSON text s[a..b) without the whitespace between tokens. */
static bool json_minify(hx_buf *out, const char *s, size_t a, size_t b)
{
    size_t run = a;
    for (size_t i = a; i < b;) {
        if (s[i] == '"') {
            i = json_skip_string(s, i, b);
            continue;
        }
        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
            if (!hx_buf_append(out, s + run, i - run)) return false;
            i = json_skip_ws(s, i, b);
            run = i;
            continue;
        }
        i++;
    }
    return hx_buf_append(out, s + run, b - run);
}

static const char *json_type_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    default:
        return "an object";
    }
}

/* The fields of the object on line lb (already parsed into obj): keys and values in order. */
static int jsonl_fields(rd_reader *r, json_t *obj, hx_err *e)
{
    const char *s = r->lb.data;
    size_t n = r->lb.len;
    /* jansson keeps members in the order of the text and duplicate keys are refused, so the i-th
     * member of the object is the i-th key = value of the text: the text gives numbers and
     * nested values as written, jansson the decoded keys and strings. */
    size_t i = json_skip_ws(s, 0, n) + 1; /* past '{' */
    void *it = json_object_iter(obj);
    for (; it; it = json_object_iter_next(obj, it)) {
        i = json_skip_ws(s, i, n);
        i = json_skip_string(s, i, n); /* the key */
        i = json_skip_ws(s, i, n) + 1; /* past ':' */
        i = json_skip_ws(s, i, n);
        size_t vs = i;
        i = json_skip_value(s, i, n);
        size_t ve = i;
        i = json_skip_ws(s, i, n) + 1; /* past ',' or '}' */
        if (ve < vs || ve > n) { /* the scanner and jansson disagree: never read past the line */
            mark_bad(r, "invalid JSON: value of member %zu could not be delimited", r->nf + 1);
            return 0;
        }

        json_t *v = json_object_iter_value(it);
        const char *key = json_object_iter_key(it);
        size_t klen = json_object_iter_key_len(it);
        size_t before = r->fb.len;
        int rc = 0;
        if (!charge(r, FIELD_COST, e, &rc)) /* the text was charged as the line was read */
            return rc;
        if (!grow_fields(r)) return fatal(r, e, HX_ENOMEM, "out of memory reading '%s'", r->name);
        r->noff[r->nf] = r->nb.len;
        bool ok = hx_buf_append(&r->nb, key, klen) && hx_buf_putc(&r->nb, '\0');
        r->fnull[r->nf] = json_is_null(v);
        if (json_is_string(v))
            ok = ok && hx_buf_append(&r->fb, json_string_value(v), json_string_length(v));
        else if (json_is_object(v) || json_is_array(v))
            ok = ok && json_minify(&r->fb, s, vs, ve);
        else if (!json_is_null(v))
            ok = ok && hx_buf_append(&r->fb, s + vs, ve - vs);
        ok = ok && hx_buf_putc(&r->fb, '\0');
        if (!ok) return fatal(r, e, HX_ENOMEM, "out of memory reading '%s'", r->name);
        r->foff[r->nf] = before;
        r->flen[r->nf] = r->fb.len - 1 - before;
        r->nf++;
    }
    for (size_t k = 0; k < r->nf; k++)
        r->names[k] = r->nb.data + r->noff[k];
    return 0;
}

static int jsonl_next(rd_reader *r, rd_record *rec, hx_err *e)
{
    for (;;) {
        rec_reset(r);
        int rc = jsonl_line(r, e);
        if (rc <= 0) return rc;
        if (!r->over) {
            size_t n = r->lb.len;
            if (n && r->lb.data[n - 1] == '\r') r->lb.data[--n] = '\0', r->lb.len = n;
            if (json_skip_ws(r->lb.data, 0, n) == n) continue;
            /* jansson skips a raw NUL byte as if it were not there, so it would accept text that
             * is not JSON and that the field scanner below reads differently; RFC 8259 allows a
             * NUL only escaped, inside a string. */
            const char *nul = memchr(r->lb.data, '\0', n);
            json_error_t je;
            json_t *j = NULL;
            if (nul)
                mark_bad(r,
                         "invalid JSON at column %zu: a raw NUL byte (write \\u0000 inside a "
                         "string)",
                         (size_t)(nul - r->lb.data) + 1);
            else if (!(j = json_loadb(r->lb.data, n,
                                      JSON_REJECT_DUPLICATES | JSON_DECODE_ANY |
                                          JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL,
                                      &je)))
                mark_bad(r, "invalid JSON at column %d: %s", je.column, je.text);
            else if (!json_is_object(j))
                mark_bad(r, "expected a JSON object, got %s", json_type_name(j));
            else if (jsonl_fields(r, j, e) < 0) {
                json_decref(j);
                return -1;
            }
            json_decref(j);
            if (r->bad) r->nf = 0; /* a line that is not an object has no fields to offer */
        }
        if (r->bad && !r->o.tolerant)
            return fatal(r, e, HX_EUSAGE, "%s:%llu: %s", r->name, (unsigned long long)r->rec_line,
                         r->errmsg);
        emit(r, rec);
        return 1;
    }
}

/* ---- the API ---- */

static rd_reader *reader_new(const char *name, const rd_opts *o, hx_err *e)
{
    rd_opts def = {0};
    if (!o) o = &def;
    if (o->delim == '"' || o->delim == '\r' || o->delim == '\n') {
        hx_fail(e, HX_EUSAGE, "reading '%s': the CSV delimiter cannot be a quote, CR or LF", name);
        return NULL;
    }
    if (o->format != RD_CSV && o->format != RD_JSONL) {
        hx_fail(e, HX_EUSAGE, "reading '%s': unknown format %d", name, (int)o->format);
        return NULL;
    }
    rd_reader *r = hx_calloc(1, sizeof *r);
    if (!r || !(r->name = hx_strdup(name ? name : "input"))) {
        hx_free(r);
        hx_fail(e, HX_ENOMEM, "out of memory opening '%s'", name);
        return NULL;
    }
    r->o = *o;
    if (!r->o.delim) r->o.delim = ',';
    if (!r->o.chunk) r->o.chunk = RD_DEFAULT_CHUNK;
    if (!r->o.max_record) r->o.max_record = RD_DEFAULT_MAX_RECORD;
    r->fd = -1;
    r->line = 1;
    hx_buf_init(&r->fb);
    hx_buf_init(&r->nb);
    hx_buf_init(&r->lb);
    return r;
}

/* Skip the BOM and read the header: the common tail of the rd_open variants. */
static rd_reader *reader_start(rd_reader *r, hx_err *e)
{
    if (!r->mem && !(r->cbuf = hx_malloc(r->o.chunk))) {
        hx_fail(e, HX_ENOMEM, "out of memory opening '%s'", r->name);
        rd_close(r);
        return NULL;
    }
    if (skip_bom(r, e) < 0 || (r->o.format == RD_CSV && !r->o.no_header && csv_header(r, e) < 0)) {
        rd_close(r);
        return NULL;
    }
    return r;
}

rd_reader *rd_open(const char *path, const rd_opts *o, hx_err *e)
{
    rd_reader *r = reader_new(path, o, e);
    if (!r) return NULL;
    /* Regular files only: a FIFO or a device the solution left there must not block or stream
     * forever. */
    r->fd = hx_open_input(path, HX_IN_STREAM, 0, NULL, e);
    if (r->fd < 0) {
        r->fd = -1;
        rd_close(r);
        return NULL;
    }
    return reader_start(r, e);
}

rd_reader *rd_open_file(FILE *f, const char *name, const rd_opts *o, hx_err *e)
{
    rd_reader *r = reader_new(name, o, e);
    if (!r) return NULL;
    r->fp = f;
    return reader_start(r, e);
}

rd_reader *rd_open_mem(const void *data, size_t len, const char *name, const rd_opts *o, hx_err *e)
{
    rd_reader *r = reader_new(name, o, e);
    if (!r) return NULL;
    /* An empty input still needs a non-NULL base to mark the source as memory. */
    r->mem = data ? data : (const unsigned char *)"";
    r->mem_len = data ? len : 0;
    return reader_start(r, e);
}

int rd_next(rd_reader *r, rd_record *rec, hx_err *e)
{
    memset(rec, 0, sizeof *rec);
    if (r->failed) {
        if (e) *e = r->fail;
        return -1;
    }
    return r->o.format == RD_CSV ? csv_next(r, rec, e) : jsonl_next(r, rec, e);
}

size_t rd_columns(const rd_reader *r, const char *const **names)
{
    if (names) *names = (const char *const *)r->hdr;
    return r->nhdr;
}

void rd_close(rd_reader *r)
{
    if (!r) return;
    if (r->fd >= 0) close(r->fd);
    for (size_t i = 0; i < r->nhdr; i++)
        hx_free(r->hdr[i]);
    hx_free(r->hdr);
    hx_free(r->cbuf);
    hx_buf_release(&r->fb);
    hx_buf_release(&r->nb);
    hx_buf_release(&r->lb);
    hx_free(r->foff);
    hx_free(r->flen);
    hx_free(r->noff);
    hx_free(r->fnull);
    hx_free(r->vals);
    hx_free(r->names);
    hx_free(r->name);
    hx_free(r);
}
