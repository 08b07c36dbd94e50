/* fmt.c - see fmt.h. Hand-written number and time formatting: it is the hot path of `harness gen`
 * and the replayers, and it must not depend on the locale or the C library's printf. */
#include "fmt.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rng.h"

#define DAY_US 86400000000LL
/* Stream of the values of a column added by schema drift (fault index in the low bits). */
#define S_DRIFT(f) ((3ULL << 32) | (uint64_t)(f))

/* ---- numbers and times ---- */

static char hexdig(unsigned v)
{
    return "0123456789abcdef"[v & 15];
}

/* "00" "01" ... "99": numbers are written two digits per division. */
static const char dig2[201] = "00010203040506070809101112131415161718192021222324252627282930313233"
                              "34353637383940414243444546474849505152535455565758596061626364656667"
                              "6869707172737475767778798081828384858687888990919293949596979899";

static const uint64_t pow10_u64[] = {1ULL,
                                     10ULL,
                                     100ULL,
                                     1000ULL,
                                     10000ULL,
                                     100000ULL,
                                     1000000ULL,
                                     10000000ULL,
                                     100000000ULL,
                                     1000000000ULL,
                                     10000000000ULL,
                                     100000000000ULL,
                                     1000000000000ULL,
                                     10000000000000ULL,
                                     100000000000000ULL,
                                     1000000000000000ULL,
                                     10000000000000000ULL,
                                     100000000000000000ULL,
                                     1000000000000000000ULL,
                                     10000000000000000000ULL};

/* Number of decimal digits of v (>= 1), without a loop: log10 from the bit length (1233 / 4096
 * is just above log10(2)), corrected by one comparison. v | 1 has v's digit count and is > 0. */
static inline size_t u64_len(uint64_t v)
{
    v |= 1;
    unsigned t = (unsigned)(64 - __builtin_clzll(v)) * 1233 >> 12;
    return t + (v >= pow10_u64[t]);
}

/* The 8 digits of v < 10^8, zero-padded, as ASCII with the first digit in the lowest byte. All
 * digits at once (SWAR): v splits into two 4-digit halves in 32-bit lanes, each half into pairs in
 * 16-bit lanes (x * 10486 >> 20 is x / 100 for x < 10^4), each pair into two bytes (x * 103 >> 10
 * is x / 10 for x < 100). No lane overflows into the next. */
static inline __attribute__((always_inline)) uint64_t digits8(uint32_t v)
{
    uint64_t m = (uint64_t)(v / 10000) | ((uint64_t)(v % 10000) << 32);
    uint64_t top = ((m * 10486) >> 20) & 0x0000007F0000007FULL;
    uint64_t pairs = ((m - 100 * top) << 16) + top;
    uint64_t tens = ((pairs * 103) >> 10) & 0x000F000F000F000FULL;
    return (tens + ((pairs - 10 * tens) << 8)) | 0x3030303030303030ULL;
}

/* Store the last n (1..8) digits of v < 10^n at p, zero-padded. Writes 8 bytes: up to 8 - n
 * bytes past the digits, which the caller has room for and overwrites or ignores. */
static inline __attribute__((always_inline)) void digits_put(char *p, uint32_t v, size_t n)
{
    if (n <= 2) { /* most fractions, small counts: one pair from the table */
        memcpy(p, dig2 + 2 * v + (2 - n), 2);
        return;
    }
    uint64_t x = digits8(v) >> (8 * (8 - n)); /* drop the leading zeros we do not want */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    memcpy(p, &x, 8);
}

/* u64_put of more than 8 digits. */
static void u64_put_long(char *p, uint64_t v, size_t n)
{
    uint64_t hi = v / 100000000;
    if (n > 16) {
        digits_put(p, (uint32_t)(hi / 100000000), n - 16);
        p += n - 16;
        hi %= 100000000;
        n = 16;
    }
    digits_put(p, (uint32_t)hi, n - 8);
    digits_put(p + n - 8, (uint32_t)(v % 100000000), 8);
}

/* Write the n (1..20) digits of v < 10^n at p, zero-padded; may write 8 bytes past them. */
static inline __attribute__((always_inline)) void u64_put(char *p, uint64_t v, size_t n)
{
    if (n > 8)
        u64_put_long(p, v, n);
    else
        digits_put(p, (uint32_t)v, n);
}

/* v as text; buf holds >= 32 bytes. */
static inline __attribute__((always_inline)) size_t i64_text(char *buf, int64_t v)
{
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    size_t neg = v < 0, n = neg + u64_len(u);
    buf[0] = '-'; /* overwritten by the first digit when v >= 0 */
    u64_put(buf + neg, u, n - neg);
    buf[n] = '\0';
    return n;
}

/* v / 10^scale with exactly `scale` fraction digits. buf holds >= 48 bytes. */
static inline __attribute__((always_inline)) size_t decimal_text(char *buf, int64_t v, int scale)
{
    if (scale <= 0) return i64_text(buf, v);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v, ip, fp;
    size_t fw = (size_t)scale;
    if (scale == 2) { /* money: a constant divisor, no division instruction */
        ip = u / 100;
        fp = u % 100;
    } else if (scale < 19) {
        ip = u / pow10_u64[scale];
        fp = u % pow10_u64[scale];
    } else { /* every digit of u is a fraction digit, zero-padded on the left */
        ip = 0;
        fp = u;
    }
    size_t neg = v < 0, il = u64_len(ip), n = neg + il + 1 + fw;
    buf[0] = '-';
    u64_put(buf + neg, ip, il);
    buf[neg + il] = '.';
    if (scale < 19) {
        u64_put(buf + neg + il + 1, fp, fw);
    } else {
        size_t fl = u64_len(fp);
        memset(buf + neg + il + 1, '0', fw - fl);
        u64_put(buf + n - fl, fp, fl);
    }
    buf[n] = '\0';
    return n;
}

void fmt_decimal(char *buf, size_t n, int64_t v, int scale)
{
    char tmp[48];
    size_t len = decimal_text(tmp, v, scale);
    if (n == 0) return;
    if (len >= n) len = n - 1;
    memcpy(buf, tmp, len);
    buf[len] = '\0';
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01 to a civil date (H. Hinnant's algorithm, exact for the proleptic
 * Gregorian calendar). */
static void civil(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

static size_t ts_text_slow(char *buf, int64_t us, char sep);

/* The ISO text of a timestamp ("YYYY-MM-DDTHH:MM:SS.ffffffZ", 27 bytes and a NUL; buf >= 32
 * bytes). Consecutive records mostly share a day: its text is kept per thread, and the time of
 * day is a few multiplications. */
static size_t ts_iso(char *buf, int64_t us)
{
    /* Two days, the one used last first: late records (days back) keep their own. */
    static _Thread_local struct {
        int64_t day_us; /* start of the day, or INT64_MIN */
        char text[10];  /* "YYYY-MM-DD" */
    } days[2] = {{INT64_MIN, ""}, {INT64_MIN, ""}};
    static _Thread_local unsigned last;
    unsigned slot = last;
    uint64_t rem = (uint64_t)us - (uint64_t)days[slot].day_us;
    if (days[slot].day_us == INT64_MIN || rem >= (uint64_t)DAY_US) {
        slot ^= 1;
        rem = (uint64_t)us - (uint64_t)days[slot].day_us;
        if (days[slot].day_us == INT64_MIN || rem >= (uint64_t)DAY_US) {
            size_t n = ts_text_slow(buf, us, 'T'); /* replaces the day used less recently */
            if (n != 27) return n;                 /* a year snprintf wrote: nothing to cache */
            memcpy(days[slot].text, buf, 10);
            days[slot].day_us = floor_div(us, DAY_US) * DAY_US;
            last = slot;
            return n;
        }
        last = slot;
    }
    const char *day_text = days[slot].text;
    uint64_t secs = rem / 1000000;
    uint32_t frac = (uint32_t)(rem - secs * 1000000), s = (uint32_t)secs;
    uint32_t h = s / 3600, ms = s - h * 3600, m = ms / 60, sec = ms - m * 60;
    memcpy(buf, day_text, 10);
    buf[10] = 'T';
    memcpy(buf + 11, dig2 + 2 * h, 2);
    buf[13] = ':';
    memcpy(buf + 14, dig2 + 2 * m, 2);
    buf[16] = ':';
    memcpy(buf + 17, dig2 + 2 * sec, 2);
    buf[19] = '.';
    uint32_t f1 = frac / 10000, f23 = frac - f1 * 10000, f2 = f23 / 100;
    memcpy(buf + 20, dig2 + 2 * f1, 2);
    memcpy(buf + 22, dig2 + 2 * f2, 2);
    memcpy(buf + 24, dig2 + 2 * (f23 - f2 * 100), 2);
    buf[26] = 'Z';
    buf[27] = '\0';
    return 27;
}

static size_t ts_text(char *buf, int64_t us, char sep)
{
    return sep == 'T' ? ts_iso(buf, us) : ts_text_slow(buf, us, sep);
}

/* "YYYY-MM-DD" (sep 'T': full ISO with microseconds and Z; sep ' ': "YYYY-MM-DD HH:MM:SS";
 * sep 0: date only). Returns the length. Years outside 0..9999 fall back to snprintf. */
static size_t ts_text_slow(char *buf, int64_t us, char sep)
{
    /* Consecutive records mostly share a day: keep the last date's text. */
    static _Thread_local int64_t cached_day = INT64_MIN;
    static _Thread_local char cached[10];
    int64_t day = floor_div(us, DAY_US), rem = us - day * DAY_US, y = 0;
    unsigned mo = 0, d = 0;
    unsigned secs = (unsigned)(rem / 1000000), frac = (unsigned)(rem % 1000000);
    if (day == cached_day) {
        memcpy(buf, cached, 10);
        goto time;
    }
    civil(day, &y, &mo, &d);
    if (y < 0 || y > 9999) {
        if (!sep) return (size_t)snprintf(buf, 32, "%lld-%02u-%02u", (long long)y, mo, d);
        return (size_t)snprintf(buf, 40, "%lld-%02u-%02u%c%02u:%02u:%02u.%06uZ", (long long)y, mo,
                                d, sep, secs / 3600, secs / 60 % 60, secs % 60, frac);
    }
    put2(buf, (unsigned)(y / 100));
    put2(buf + 2, (unsigned)(y % 100));
    buf[4] = '-';
    put2(buf + 5, mo);
    buf[7] = '-';
    put2(buf + 8, d);
    memcpy(cached, buf, 10);
    cached_day = day;
time:
    if (!sep) {
        buf[10] = '\0';
        return 10;
    }
    buf[10] = sep;
    put2(buf + 11, secs / 3600);
    buf[13] = ':';
    put2(buf + 14, secs / 60 % 60);
    buf[16] = ':';
    put2(buf + 17, secs % 60);
    if (sep == ' ') {
        buf[19] = '\0';
        return 19;
    }
    buf[19] = '.';
    u64_put(buf + 20, frac, 6);
    buf[26] = 'Z';
    buf[27] = '\0';
    return 27;
}

void fmt_timestamp(char *buf, size_t n, int64_t us)
{
    char tmp[48];
    size_t len = ts_text(tmp, us, 'T');
    if (n == 0) return;
    if (len >= n) len = n - 1;
    memcpy(buf, tmp, len);
    buf[len] = '\0';
}

size_t fmt_date(char *buf, int64_t us)
{
    return ts_text(buf, us, 0);
}

/* hx_buf_putc without the call: the separators of every field go through here. */
static inline bool bput(hx_buf *b, char c)
{
    if (b->len + 2 > b->cap) return hx_buf_putc(b, c);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
    return true;
}

/* hx_buf_append without the call, for the many short fields of a record. */
static inline bool bapp(hx_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) return hx_buf_append(b, s, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

/* ---- strings ---- */

static bool csv_needs_quotes(const char *s, size_t n)
{
    if (n == 0) return true; /* "" is the empty string; an empty unquoted field is NULL */
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ',' || c == '"' || c == '\n' || c == '\r') return true;
    }
    return false;
}

static bool csv_string(hx_buf *b, const char *s, size_t n)
{
    if (!csv_needs_quotes(s, n)) return bapp(b, s, n);
    if (!hx_buf_reserve(b, 2 * n + 2)) return false;
    char *p = b->data + b->len;
    *p++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') *p++ = '"';
        *p++ = s[i];
    }
    *p++ = '"';
    b->len = (size_t)(p - b->data);
    b->data[b->len] = '\0';
    return true;
}

/* The body of a JSON string (no quotes). Bytes >= 0x80 pass through: valid UTF-8 stays valid and
 * the invalid bytes of a BAD_UTF8 corruption are meant to reach the reader. */
static bool json_body(hx_buf *b, const char *s, size_t n)
{
    if (!hx_buf_reserve(b, 6 * n)) return false;
    char *p = b->data + b->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            *p++ = '\\';
            *p++ = 'u';
            *p++ = '0';
            *p++ = '0';
            *p++ = hexdig(c >> 4);
            *p++ = hexdig(c & 15);
        } else {
            *p++ = (char)c;
        }
    }
    b->len = (size_t)(p - b->data);
    b->data[b->len] = '\0';
    return true;
}

static bool json_string(hx_buf *b, const char *s, size_t n)
{
    return bput(b, '"') && json_body(b, s, n) && bput(b, '"');
}

bool fmt_json_string(hx_buf *out, const char *s, size_t n)
{
    return json_string(out, s, n);
}

bool fmt_csv_string(hx_buf *out, const char *s, size_t n)
{
    return csv_string(out, s, n);
}

/* ---- values ---- */

/* Text of a non-string value into buf (>= 48 bytes). */
static inline __attribute__((always_inline)) size_t scalar_text(char *buf, plan_type t, int scale,
                                                                int64_t v)
{
    switch (t) {
    case PLAN_T_DECIMAL:
        return decimal_text(buf, v, scale);
    case PLAN_T_TIMESTAMP:
        return ts_text(buf, v, 'T');
    case PLAN_T_BOOL:
        memcpy(buf, v ? "true" : "false", v ? 5 : 6);
        return v ? 4 : 5;
    default:
        return i64_text(buf, v);
    }
}

bool fmt_value(hx_buf *out, const plan_column *col, const gen_value *v)
{
    if (v->null) return true;
    if (col->type == PLAN_T_STRING || col->type == PLAN_T_UUID)
        return hx_buf_append(out, v->s, v->len);
    char tmp[48];
    size_t n = scalar_text(tmp, col->type, col->scale, v->i);
    return hx_buf_append(out, tmp, n);
}

/* ---- fields: a record as its producer sends it ---- */

static bool drift_on(const plan_dataset *ds, size_t fi, uint32_t batch)
{
    return ds->faults[fi].kind == PLAN_F_SCHEMA_DRIFT && batch >= ds->faults[fi].at_batch;
}

/* The name column c carries in batch `batch` (RENAME drift applied). */
static const char *col_name(const plan_dataset *ds, size_t c, uint32_t batch)
{
    const char *name = ds->cols[c].name;
    for (size_t fi = 0; fi < ds->nfaults; fi++)
        if (drift_on(ds, fi, batch) && ds->faults[fi].drift == PLAN_DRIFT_RENAME &&
            ds->faults[fi].column == (int)c)
            name = ds->faults[fi].name;
    return name;
}

void fmt_fields_init(fmt_fields *f)
{
    f->v = f->local;
    f->n = 0;
    f->cap = sizeof f->local / sizeof f->local[0];
    f->truncate = false;
    f->nhdr = 0;
    hx_buf_init(&f->text);
}

void fmt_fields_release(fmt_fields *f)
{
    if (f->v != f->local) hx_free(f->v);
    hx_buf_release(&f->text);
    fmt_fields_init(f);
}

static void fields_clear(fmt_fields *f)
{
    f->n = 0;
    f->truncate = false;
    f->nhdr = 0;
    hx_buf_clear(&f->text);
}

/* A new field (empty, borrowed); NULL when out of memory. Pointers into num and text are set by
 * fields_done, once nothing moves any more. */
static fmt_field *fpush(fmt_fields *f, fmt_kind k, int col, const char *name)
{
    if (f->n == f->cap) {
        size_t cap = 2 * f->cap;
        fmt_field *v = hx_malloc(cap * sizeof *v);
        if (!v) return NULL;
        memcpy(v, f->v, f->n * sizeof *v);
        if (f->v != f->local) hx_free(f->v);
        f->v = v;
        f->cap = cap;
    }
    fmt_field *x = &f->v[f->n++];
    x->s = "";
    x->len = 0;
    x->kind = k;
    x->col = col;
    x->name = name;
    x->own = 0;
    return x;
}

static void fields_done(fmt_fields *f)
{
    for (size_t i = 0; i < f->n; i++) {
        fmt_field *x = &f->v[i];
        if (x->own == 1) x->s = x->num;
        if (x->own == 2) x->s = f->text.data + x->off;
    }
}

static void set_num(fmt_field *x, fmt_kind k, size_t len)
{
    x->kind = k;
    x->len = len;
    x->own = 1;
}

static void set_borrowed(fmt_field *x, fmt_kind k, const char *s, size_t len)
{
    x->kind = k;
    x->s = s;
    x->len = len;
}

/* A clean value: strings borrowed from the record, numbers and times as text in num. */
static void value_field(fmt_field *x, const plan_column *col, const gen_value *v)
{
    plan_type t = col->type;
    if (v->null)
        x->kind = FMT_NULL;
    else if (t == PLAN_T_STRING || t == PLAN_T_UUID)
        set_borrowed(x, FMT_TEXT, v->s, v->len);
    else
        set_num(x, t == PLAN_T_TIMESTAMP ? FMT_TEXT : FMT_RAW,
                scalar_text(x->num, t, col->scale, v->i));
}

/* A value of type t written as type nt (schema drift RETYPE). The renderings:
 *   int/decimal -> string: "$12" / "$12.50" (a currency sign, as text)
 *   timestamp -> string: "2026-01-02 03:04:05" (no T, no fraction, no zone)
 *   bool -> string: "yes" / "no"
 *   int -> decimal: "12.0";  bool -> decimal: "1.0";  timestamp -> decimal: epoch seconds
 *     "1767225600.5"
 *   decimal -> int: the integer part "12";  timestamp -> int: epoch seconds;  bool -> int: 1 / 0
 *   int/decimal -> bool: true when non-zero
 * Any other pair (and string columns) is written clean. */
static void retyped_field(fmt_field *x, const plan_column *col, plan_type nt, const gen_value *v)
{
    plan_type t = col->type;
    char *tmp = x->num;
    if (v->null || t == nt || t == PLAN_T_STRING || t == PLAN_T_UUID) {
        value_field(x, col, v);
        return;
    }
    bool numeric = t == PLAN_T_INT || t == PLAN_T_DECIMAL;
    switch (nt) {
    case PLAN_T_STRING:
        if (numeric) {
            tmp[0] = '$';
            set_num(x, FMT_TEXT,
                    1 + decimal_text(tmp + 1, v->i, t == PLAN_T_DECIMAL ? col->scale : 0));
        } else if (t == PLAN_T_TIMESTAMP) {
            set_num(x, FMT_TEXT, ts_text(tmp, v->i, ' '));
        } else if (t == PLAN_T_BOOL) {
            set_borrowed(x, FMT_TEXT, v->i ? "yes" : "no", v->i ? 3 : 2);
        } else {
            break;
        }
        return;
    case PLAN_T_DECIMAL:
        if (t == PLAN_T_INT || t == PLAN_T_BOOL) {
            size_t n = i64_text(tmp, v->i);
            memcpy(tmp + n, ".0", 2);
            set_num(x, FMT_RAW, n + 2);
            return;
        }
        if (t == PLAN_T_TIMESTAMP) {
            set_num(x, FMT_RAW, decimal_text(tmp, v->i, 6));
            return;
        }
        break;
    case PLAN_T_INT:
        if (t == PLAN_T_DECIMAL) {
            int64_t p = 1;
            for (int i = 0; i < col->scale; i++)
                p *= 10;
            set_num(x, FMT_RAW, i64_text(tmp, v->i / p));
            return;
        }
        if (t == PLAN_T_TIMESTAMP) {
            set_num(x, FMT_RAW, i64_text(tmp, floor_div(v->i, 1000000)));
            return;
        }
        if (t == PLAN_T_BOOL) {
            set_num(x, FMT_RAW, i64_text(tmp, v->i));
            return;
        }
        break;
    case PLAN_T_BOOL:
        if (numeric) {
            set_borrowed(x, FMT_RAW, v->i ? "true" : "false", v->i ? 4 : 5);
            return;
        }
        break;
    default:
        break;
    }
    value_field(x, col, v);
}

/* The value of the column added by drift fault fi for record r: a pure function of (seed, fi,
 * id), so a record's added field is the same in every batch file and shard. */
static void added_field(fmt_field *x, const plan_dataset *ds, size_t fi, const gen_record *r)
{
    uint64_t key = rng_key(ds->seed, S_DRIFT(fi));
    uint64_t v = rng_draw(key, r->id, 0);
    char *tmp = x->num;
    switch (ds->faults[fi].new_type) {
    case PLAN_T_INT:
        set_num(x, FMT_RAW, i64_text(tmp, (int64_t)rng_below(v, 1000)));
        return;
    case PLAN_T_DECIMAL:
        set_num(x, FMT_RAW, decimal_text(tmp, (int64_t)rng_below(v, 100000), 2));
        return;
    case PLAN_T_TIMESTAMP:
        set_num(x, FMT_TEXT, ts_text(tmp, r->arrival_us, 'T'));
        return;
    case PLAN_T_BOOL:
        set_borrowed(x, FMT_RAW, v & 1 ? "true" : "false", v & 1 ? 4 : 5);
        return;
    case PLAN_T_UUID: {
        uint64_t w[2] = {v, rng_draw(key, r->id, 1)};
        int k = 0;
        for (int n = 0; n < 32; n++) {
            if (n == 8 || n == 12 || n == 16 || n == 20) tmp[k++] = '-';
            unsigned nib = (unsigned)(w[n / 16] >> (60 - 4 * (n % 16))) & 15u;
            tmp[k++] = hexdig(n == 12 ? 4 : n == 16 ? (8 | (nib & 3)) : nib);
        }
        set_num(x, FMT_TEXT, 36);
        return;
    }
    default:
        for (int i = 0; i < 8; i++)
            tmp[i] = (char)('a' + rng_below(rng_draw(key, r->id, (uint64_t)i + 1), 26));
        set_num(x, FMT_TEXT, 8);
        return;
    }
}

/* BAD_TYPE text: what a broken upstream export writes into a number or time. */
static const char *bad_type_text(uint64_t id)
{
    return id & 1 ? "12,5O" : "n/a";
}

/* A string with invalid UTF-8 in the middle: 0xC3 0x28 (a lead byte followed by a
 * non-continuation) or a lone 0xFF, inserted where it breaks no character. */
static bool bad_utf8_field(fmt_fields *f, fmt_field *x, const gen_value *v, uint64_t id)
{
    const char *bad = id & 1 ? "\xff" : "\xc3\x28";
    size_t nb = strlen(bad), n = v->null ? 0 : v->len, half = n / 2;
    const char *s = v->null ? "" : v->s;
    while (half > 0 && ((unsigned char)s[half] & 0xC0) == 0x80)
        half--;
    x->kind = FMT_TEXT;
    x->own = 2;
    x->off = f->text.len;
    x->len = n + nb;
    return hx_buf_append(&f->text, s, half) && hx_buf_append(&f->text, bad, nb) &&
           hx_buf_append(&f->text, s + half, n - half);
}

bool fmt_fields_of(fmt_fields *f, const plan_dataset *ds, const gen_record *r)
{
    fields_clear(f);
    bool drift = false, ok = true;
    for (size_t fi = 0; fi < ds->nfaults && !drift; fi++)
        drift = drift_on(ds, fi, r->batch);
    f->nhdr = ds->ncols;
    for (size_t c = 0; c < ds->ncols; c++) {
        if (r->corrupt == PLAN_C_MISSING_COLUMN && r->corrupt_col == (int)c) continue;
        fmt_field *x =
            fpush(f, FMT_NULL, (int)c, drift ? col_name(ds, c, r->batch) : ds->cols[c].name);
        if (!x) return false;
        const plan_column *col = &ds->cols[c];
        const gen_value *v = &r->vals[c];
        if (r->corrupt_col == (int)c && r->corrupt == PLAN_C_BAD_TYPE) {
            const char *t = bad_type_text(r->id);
            set_borrowed(x, FMT_TEXT, t, strlen(t));
            continue;
        }
        if (r->corrupt_col == (int)c && r->corrupt == PLAN_C_BAD_UTF8) {
            ok &= bad_utf8_field(f, x, v, r->id);
            continue;
        }
        bool retyped = false;
        for (size_t fi = 0; drift && fi < ds->nfaults && !retyped; fi++)
            if (drift_on(ds, fi, r->batch) && ds->faults[fi].drift == PLAN_DRIFT_RETYPE &&
                ds->faults[fi].column == (int)c) {
                retyped_field(x, col, ds->faults[fi].new_type, v);
                retyped = true;
            }
        if (!retyped) value_field(x, col, v);
    }
    for (size_t fi = 0; drift && fi < ds->nfaults; fi++)
        if (drift_on(ds, fi, r->batch) && ds->faults[fi].drift == PLAN_DRIFT_ADD) {
            fmt_field *x = fpush(f, FMT_NULL, (int)f->nhdr++, ds->faults[fi].name);
            if (!x) return false;
            added_field(x, ds, fi, r);
        }
    if (r->corrupt == PLAN_C_EXTRA_COLUMN) {
        fmt_field *x = fpush(f, FMT_TEXT, -1, "_extra");
        if (!x) return false;
        set_borrowed(x, FMT_TEXT, "extra", 5);
    }
    f->truncate = r->corrupt == PLAN_C_TRUNCATE;
    fields_done(f);
    return ok && !f->text.oom;
}

bool fmt_fields_header(fmt_fields *f, const plan_dataset *ds, uint32_t batch)
{
    fields_clear(f);
    for (size_t c = 0; c < ds->ncols; c++) {
        const char *n = col_name(ds, c, batch);
        fmt_field *x = fpush(f, FMT_TEXT, (int)c, n);
        if (!x) return false;
        set_borrowed(x, FMT_TEXT, n, strlen(n));
    }
    for (size_t fi = 0; fi < ds->nfaults; fi++)
        if (drift_on(ds, fi, batch) && ds->faults[fi].drift == PLAN_DRIFT_ADD) {
            const char *n = ds->faults[fi].name;
            fmt_field *x = fpush(f, FMT_TEXT, (int)f->n, n);
            if (!x) return false;
            set_borrowed(x, FMT_TEXT, n, strlen(n));
        }
    f->nhdr = f->n;
    fields_done(f);
    return true;
}

bool fmt_header(hx_buf *out, const plan_dataset *ds, plan_format f, uint32_t batch)
{
    if (f != PLAN_FMT_CSV) return true;
    fmt_fields h;
    fmt_fields_init(&h);
    bool ok = fmt_fields_header(&h, ds, batch) && fmt_fields_csv(out, &h);
    fmt_fields_release(&h);
    return ok;
}

/* Start of field j of a CSV line (no newline), honouring quotes; sets *quoted. */
static size_t csv_field_start(const char *s, size_t n, size_t j, bool *quoted)
{
    size_t i = 0, field = 0;
    bool inq = false;
    for (; i < n && field < j; i++) {
        if (s[i] == '"')
            inq = !inq;
        else if (s[i] == ',' && !inq)
            field++;
    }
    *quoted = i < n && s[i] == '"';
    return i;
}

/* Field index at byte offset pos, and the number of fields. */
static size_t csv_field_at(const char *s, size_t n, size_t pos, size_t *nfields)
{
    size_t field = 0, at = 0;
    bool inq = false;
    for (size_t i = 0; i < n; i++) {
        if (i == pos) at = field;
        if (s[i] == '"')
            inq = !inq;
        else if (s[i] == ',' && !inq)
            field++;
    }
    *nfields = field + 1;
    return at;
}

/* Cut the line that starts at `start` (and ends in '\n') so that it cannot parse as a record:
 * CSV keeps fewer fields than the schema has and never stops inside a quoted field (the damage
 * stays on this line); JSONL keeps a proper prefix of the object, never valid JSON. */
static void truncate_line(hx_buf *b, size_t start, plan_format f)
{
    char *s = b->data + start;
    size_t n = b->len - start - 1, cut;
    if (n == 0) return;
    if (f == PLAN_FMT_CSV) {
        size_t nf, j = csv_field_at(s, n, n / 2, &nf);
        if (j + 1 >= nf && nf >= 2) j = nf - 2;
        bool quoted;
        size_t fs = csv_field_start(s, n, j, &quoted), fe = fs;
        while (fe < n && s[fe] != ',')
            fe++;
        cut = quoted ? fs : fs + (fe - fs) / 2;
        if (nf < 2) cut = n / 2;
    } else {
        cut = n / 2 ? n / 2 : 1;
    }
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    s[cut] = '\n';
    b->len = start + cut + 1;
    b->data[b->len] = '\0';
}

/* memcpy of a field: short ones (category names, codes) as two overlapping loads and stores,
 * without a call. Reads only s[0..n). */
static inline void copy_short(char *p, const char *s, size_t n)
{
    if (n >= 8 && n <= 16) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(p, &a, 8);
        memcpy(p + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(p, &a, 4);
        memcpy(p + n - 4, &b, 4);
    } else if (n >= 2 && n < 4) {
        uint16_t a, b;
        memcpy(&a, s, 2);
        memcpy(&b, s + n - 2, 2);
        memcpy(p, &a, 2);
        memcpy(p + n - 2, &b, 2);
    } else if (n == 1) {
        *p = *s;
    } else {
        memcpy(p, s, n);
    }
}

/* Bytes a clean non-string field may take, with its separator and the NUL scalar_text writes. */
#define CSV_FIELD_MAX 48

/* fmt_record of the common record: CSV, no drift in effect, no corruption. Every field is written
 * in place after one reservation (strings longer than the field budget reserve their own). */
static bool csv_clean(hx_buf *out, const plan_dataset *ds, const gen_record *r)
{
    size_t nc = ds->ncols;
    if (!hx_buf_reserve(out, CSV_FIELD_MAX * nc + 2)) return false;
    char *p = out->data + out->len;
    const plan_column *col = ds->cols;
    const gen_value *v = r->vals;
    for (size_t c = 0; c < nc; c++, col++, v++) {
        *p = ','; /* every field but the first follows a comma */
        p += c != 0;
        if (v->null) continue;
        plan_type t = col->type;
        if (t != PLAN_T_STRING && t != PLAN_T_UUID) {
            p += scalar_text(p, t, col->scale, v->i);
            continue;
        }
        size_t n = v->len;
        if (2 * n + 2 > CSV_FIELD_MAX - 1) { /* room for the worst case, quoted and doubled */
            out->len = (size_t)(p - out->data);
            if (!hx_buf_reserve(out, 2 * n + 2 + CSV_FIELD_MAX * (nc - c))) return false;
            p = out->data + out->len;
        }
        if (!csv_needs_quotes(v->s, n)) {
            copy_short(p, v->s, n);
            p += n;
            continue;
        }
        *p++ = '"';
        for (size_t i = 0; i < n; i++) {
            if (v->s[i] == '"') *p++ = '"';
            *p++ = v->s[i];
        }
        *p++ = '"';
    }
    *p++ = '\n';
    *p = '\0';
    out->len = (size_t)(p - out->data);
    return true;
}

/* ---- encoders ---- */

bool fmt_fields_csv(hx_buf *out, const fmt_fields *f)
{
    size_t start = out->len;
    bool ok = true;
    for (size_t i = 0; i < f->n; i++) {
        const fmt_field *x = &f->v[i];
        if (i) ok &= bput(out, ',');
        if (x->kind == FMT_RAW)
            ok &= bapp(out, x->s, x->len);
        else if (x->kind == FMT_TEXT)
            ok &= csv_string(out, x->s, x->len);
    }
    ok &= bput(out, '\n');
    if (ok && f->truncate) truncate_line(out, start, PLAN_FMT_CSV);
    return ok && !out->oom;
}

bool fmt_fields_jsonl(hx_buf *out, const fmt_fields *f)
{
    size_t start = out->len;
    bool ok = bput(out, '{');
    for (size_t i = 0; i < f->n; i++) {
        const fmt_field *x = &f->v[i];
        if (i) ok &= bput(out, ',');
        ok &= json_string(out, x->name, strlen(x->name)) && bput(out, ':');
        if (x->kind == FMT_NULL)
            ok &= bapp(out, "null", 4);
        else if (x->kind == FMT_RAW)
            ok &= bapp(out, x->s, x->len);
        else
            ok &= json_string(out, x->s, x->len);
    }
    ok &= bput(out, '}') && bput(out, '\n');
    if (ok && f->truncate) truncate_line(out, start, PLAN_FMT_JSONL);
    return ok && !out->oom;
}

/* The bytes field x takes in a CSV line, and whether they are quoted. */
static size_t csv_width(const fmt_field *x, bool *quoted)
{
    *quoted = false;
    if (x->kind == FMT_NULL) return 0;
    if (x->kind == FMT_RAW || !csv_needs_quotes(x->s, x->len)) return x->len;
    size_t q = 0;
    for (size_t i = 0; i < x->len; i++)
        q += x->s[i] == '"';
    *quoted = true;
    return x->len + q + 2;
}

/* Byte i of x's CSV text (quoted: its quotes and doubled quotes). */
static unsigned char csv_byte(const fmt_field *x, bool quoted, size_t i)
{
    if (!quoted) return (unsigned char)x->s[i];
    if (i == 0) return '"';
    size_t at = 1;
    for (size_t k = 0; k < x->len; k++) {
        size_t w = x->s[k] == '"' ? 2 : 1;
        if (i < at + w) return (unsigned char)x->s[k];
        at += w;
    }
    return '"';
}

/* The cut truncate_line makes, in fields: the same offsets computed from the fields' CSV widths
 * instead of the line's bytes, then what a reader splits from the bytes before the cut. */
static void cut_csv(fmt_fields *f)
{
    size_t nf = f->n, n = 0;
    if (nf == 0) return;
    for (size_t i = 0; i < nf; i++) {
        bool q;
        n += csv_width(&f->v[i], &q) + (i > 0);
    }
    if (n == 0) return; /* truncate_line leaves an empty line alone */
    /* the field holding byte n / 2 (a comma belongs to the field it ends) */
    size_t j = 0, p = 0, pj = 0;
    for (size_t i = 0, at = 0; i < nf; i++) {
        bool q;
        if (at > n / 2) break;
        j = i;
        pj = at;
        at += csv_width(&f->v[i], &q) + 1;
    }
    if (j + 1 >= nf && nf >= 2) {
        j = nf - 2;
        pj = 0;
        for (size_t i = 0; i < j; i++) {
            bool q;
            pj += csv_width(&f->v[i], &q) + 1;
        }
    }
    bool quoted;
    size_t wj = csv_width(&f->v[j], &quoted), cut = quoted ? pj : pj + wj / 2;
    if (nf < 2) cut = n / 2;
    /* back over UTF-8 continuation bytes; a comma or the field's first byte stops it */
    for (size_t i = 0, at = 0; i < nf; i++) {
        bool q;
        size_t w = csv_width(&f->v[i], &q);
        if (cut >= at && cut < at + w) {
            while (cut > 0 && cut >= at && (csv_byte(&f->v[i], q, cut - at) & 0xC0) == 0x80)
                cut--;
            break;
        }
        at += w + 1;
    }
    /* the reader's fields of bytes [0, cut): whole ones, then the one the cut falls in */
    for (size_t i = 0; i < nf; i++, p += 1) {
        fmt_field *x = &f->v[i];
        bool q;
        size_t w = csv_width(x, &q);
        if (cut > p + w) {
            p += w;
            continue;
        }
        size_t keep = cut - p; /* bytes of this field's CSV text before the cut */
        f->n = i + 1;
        if (keep == w) return;
        if (keep == 0) { /* an empty unquoted field */
            x->kind = FMT_NULL;
            x->len = 0;
            return;
        }
        if (!q) {
            x->len = keep;
            return;
        }
        /* a quoted field cut open: its characters whose text fits after the opening quote (a
         * lone half of a doubled quote closes it), less a CR the reader takes for a line end */
        size_t k = 0, used = 1;
        while (k < x->len && used + (x->s[k] == '"' ? 2 : 1) <= keep)
            used += x->s[k++] == '"' ? 2 : 1;
        if (k > 0 && x->s[k - 1] == '\r' && used == keep) k--;
        x->kind = FMT_TEXT;
        x->len = k;
        return;
    }
}

void fmt_fields_csv_read(fmt_fields *f)
{
    if (f->truncate) cut_csv(f);
    f->truncate = false;
    /* An empty line still splits into one (empty) field; with the record's only column missing
     * it is a surplus one. */
    if (f->n == 0) {
        fmt_field *x = fpush(f, FMT_TEXT, -1, "_extra");
        if (x) x->kind = FMT_TEXT;
    }
}

/* s[0..n) with each invalid UTF-8 sequence and NUL as U+FFFD (the database is UTF8 and refuses
 * both), escaped for COPY text when `copy`. */
static bool put_fixed(hx_buf *b, const char *s, size_t n, bool copy)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && u[run] >= 0x01 && u[run] < 0x80 &&
               (!copy || (u[run] != '\\' && u[run] != '\n' && u[run] != '\r' && u[run] != '\t')))
            run++;
        if (run > i && !bapp(b, s + i, run - i)) return false;
        i = run;
        if (i == n) break;
        unsigned char c = u[i];
        if (copy && (c == '\\' || c == '\n' || c == '\r' || c == '\t')) {
            char esc[2] = {'\\', c == '\\' ? '\\' : c == '\n' ? 'n' : c == '\r' ? 'r' : 't'};
            if (!bapp(b, esc, 2)) return false;
            i++;
            continue;
        }
        int32_t cp;
        size_t len = hx_utf8_next(s + i, n - i, &cp); /* 1 when invalid */
        if (!(cp > 0 ? bapp(b, s + i, len) : bapp(b, "\xef\xbf\xbd", 3))) return false;
        i += len;
    }
    return true;
}

bool fmt_fields_copy(hx_buf *out, const fmt_fields *f)
{
    bool ok = true;
    size_t slot = 0;
    for (size_t i = 0; i < f->n; i++) {
        const fmt_field *x = &f->v[i];
        size_t to = x->col < 0 ? f->nhdr : (size_t)x->col;
        for (; slot < to; slot++)
            ok &= bapp(out, "\t\\N", 3);
        ok &= bput(out, '\t');
        if (x->kind == FMT_NULL)
            ok &= bapp(out, "\\N", 2);
        else
            ok &= put_fixed(out, x->s, x->len, true);
        slot++;
    }
    for (; slot <= f->nhdr; slot++)
        ok &= bapp(out, "\t\\N", 3);
    return ok && !out->oom;
}

bool fmt_fields_values(const fmt_fields *f, hx_buf *store, const char **vals)
{
    size_t off[f->nhdr + 1];
    bool null[f->nhdr + 1];
    for (size_t c = 0; c <= f->nhdr; c++)
        null[c] = true;
    hx_buf_clear(store);
    for (size_t i = 0; i < f->n; i++) {
        const fmt_field *x = &f->v[i];
        size_t c = x->col < 0 ? f->nhdr : (size_t)x->col;
        if (x->kind == FMT_NULL || c > f->nhdr) continue;
        null[c] = false;
        off[c] = store->len;
        if (!put_fixed(store, x->s, x->len, false) || !hx_buf_putc(store, '\0')) return false;
    }
    for (size_t c = 0; c <= f->nhdr; c++)
        vals[c] = null[c] ? NULL : store->data + off[c];
    return !store->oom;
}

/* fmt_record_copy of the common record (no drift in effect, no corruption): straight from the
 * values, as csv_clean. */
static bool copy_clean(hx_buf *out, const plan_dataset *ds, const gen_record *r)
{
    size_t nc = ds->ncols;
    if (!hx_buf_reserve(out, CSV_FIELD_MAX * (nc + 1))) return false;
    const plan_column *col = ds->cols;
    const gen_value *v = r->vals;
    for (size_t c = 0; c < nc; c++, col++, v++) {
        plan_type t = col->type;
        if (v->null) {
            if (!bapp(out, "\t\\N", 3)) return false;
        } else if (t == PLAN_T_STRING || t == PLAN_T_UUID) {
            if (!bput(out, '\t') || !put_fixed(out, v->s, v->len, true)) return false;
        } else {
            if (!hx_buf_reserve(out, CSV_FIELD_MAX + 16)) return false;
            char *p = out->data + out->len;
            *p++ = '\t';
            p += scalar_text(p, t, col->scale, v->i);
            *p = '\0';
            out->len = (size_t)(p - out->data);
        }
    }
    return bapp(out, "\t\\N", 3); /* _harness_extra */
}

static bool has_drift(const plan_dataset *ds, uint32_t batch)
{
    for (size_t fi = 0; fi < ds->nfaults; fi++)
        if (drift_on(ds, fi, batch)) return true;
    return false;
}

/* fmt_fields_jsonl of the common record, straight from its values. */
static bool json_clean(hx_buf *out, const plan_dataset *ds, const gen_record *r)
{
    bool ok = bput(out, '{');
    for (size_t c = 0; c < ds->ncols; c++) {
        const plan_column *col = &ds->cols[c];
        const gen_value *v = &r->vals[c];
        if (c) ok &= bput(out, ',');
        ok &= json_string(out, col->name, strlen(col->name)) && bput(out, ':');
        if (v->null) {
            ok &= bapp(out, "null", 4);
        } else if (col->type == PLAN_T_STRING || col->type == PLAN_T_UUID) {
            ok &= json_string(out, v->s, v->len);
        } else if (hx_buf_reserve(out, CSV_FIELD_MAX + 16)) {
            char *p = out->data + out->len;
            bool q = col->type == PLAN_T_TIMESTAMP;
            *p = '"';
            p += q;
            p += scalar_text(p, col->type, col->scale, v->i);
            *p = '"';
            p += q;
            *p = '\0';
            out->len = (size_t)(p - out->data);
        } else {
            return false;
        }
    }
    return ok && bput(out, '}') && bput(out, '\n') && !out->oom;
}

bool fmt_record(hx_buf *out, const plan_dataset *ds, plan_format f, const gen_record *r)
{
    /* Most records have no drift in effect and no corruption: they are written in one pass. */
    if (!r->corrupt && !has_drift(ds, r->batch))
        return f == PLAN_FMT_CSV ? csv_clean(out, ds, r) : json_clean(out, ds, r);
    fmt_fields fl;
    fmt_fields_init(&fl);
    bool ok = fmt_fields_of(&fl, ds, r) &&
              (f == PLAN_FMT_JSONL ? fmt_fields_jsonl(out, &fl) : fmt_fields_csv(out, &fl));
    fmt_fields_release(&fl);
    return ok;
}

bool fmt_record_copy(hx_buf *out, fmt_fields *scratch, const plan_dataset *ds, const gen_record *r)
{
    if (!r->corrupt && !has_drift(ds, r->batch)) return copy_clean(out, ds, r);
    if (!fmt_fields_of(scratch, ds, r)) return false;
    fmt_fields_csv_read(scratch);
    return fmt_fields_copy(out, scratch);
}
