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

/* How one output field is written. */
typedef enum { F_RAW, F_TEXT } field_style; /* unquoted literal / string (quoted in JSON) */

static bool put_field(hx_buf *b, plan_format f, field_style st, const char *s, size_t n)
{
    if (st == F_RAW) return bapp(b, s, n);
    return f == PLAN_FMT_CSV ? csv_string(b, s, n) : json_string(b, s, n);
}

/* A clean value in format f. */
static bool put_value(hx_buf *b, plan_format f, plan_type t, int scale, const gen_value *v)
{
    if (v->null) return f == PLAN_FMT_CSV ? true : bapp(b, "null", 4);
    if (t == PLAN_T_STRING || t == PLAN_T_UUID) return put_field(b, f, F_TEXT, v->s, v->len);
    /* Numbers, times and bools are written straight into b: their text never needs CSV quotes or
     * JSON escapes (a timestamp is only quoted in JSON). */
    if (!hx_buf_reserve(b, 64)) return false;
    char *p = b->data + b->len;
    bool q = f == PLAN_FMT_JSONL && t == PLAN_T_TIMESTAMP;
    if (q) *p++ = '"';
    p += scalar_text(p, t, scale, v->i);
    if (q) *p++ = '"';
    *p = '\0';
    b->len = (size_t)(p - b->data);
    return true;
}

/* A value of type t written as type nt (schema drift RETYPE). The renderings:
 *   int/decimal -> string: "$12" / "$12.50" (a currency sign, as text)
 *   timestamp -> string: "2026-01-02 03:04:05" (no T, no fraction, no zone)
 *   bool -> string: "yes" / "no"
 *   int -> decimal: "12.0";  bool -> decimal: "1.0";  timestamp -> decimal: epoch seconds
 * "1767225600.5" decimal -> int: the integer part "12";  timestamp -> int: epoch seconds;  bool ->
 * int: 1 / 0 int/decimal -> bool: true when non-zero Any other pair (and string columns) is written
 * clean. */
static bool put_retyped(hx_buf *b, plan_format f, const plan_column *col, plan_type nt,
                        const gen_value *v)
{
    plan_type t = col->type;
    char tmp[64];
    size_t n;
    if (v->null || t == nt || t == PLAN_T_STRING || t == PLAN_T_UUID)
        return put_value(b, f, t, col->scale, v);
    bool numeric = t == PLAN_T_INT || t == PLAN_T_DECIMAL;
    switch (nt) {
    case PLAN_T_STRING:
        if (numeric) {
            tmp[0] = '$';
            n = 1 + decimal_text(tmp + 1, v->i, t == PLAN_T_DECIMAL ? col->scale : 0);
        } else if (t == PLAN_T_TIMESTAMP) {
            n = ts_text(tmp, v->i, ' ');
        } else if (t == PLAN_T_BOOL) {
            n = v->i ? 3 : 2;
            memcpy(tmp, v->i ? "yes" : "no", n);
        } else {
            break;
        }
        return put_field(b, f, F_TEXT, tmp, n);
    case PLAN_T_DECIMAL:
        if (t == PLAN_T_INT || t == PLAN_T_BOOL) {
            n = i64_text(tmp, v->i);
            memcpy(tmp + n, ".0", 2);
            return put_field(b, f, F_RAW, tmp, n + 2);
        }
        if (t == PLAN_T_TIMESTAMP) return put_field(b, f, F_RAW, tmp, decimal_text(tmp, v->i, 6));
        break;
    case PLAN_T_INT:
        if (t == PLAN_T_DECIMAL) {
            int64_t p = 1;
            for (int i = 0; i < col->scale; i++)
                p *= 10;
            return put_field(b, f, F_RAW, tmp, i64_text(tmp, v->i / p));
        }
        if (t == PLAN_T_TIMESTAMP)
            return put_field(b, f, F_RAW, tmp, i64_text(tmp, floor_div(v->i, 1000000)));
        if (t == PLAN_T_BOOL) return put_field(b, f, F_RAW, tmp, i64_text(tmp, v->i));
        break;
    case PLAN_T_BOOL:
        if (numeric) return put_field(b, f, F_RAW, v->i ? "true" : "false", v->i ? 4 : 5);
        break;
    default:
        break;
    }
    return put_value(b, f, t, col->scale, v);
}

/* The value of column added by drift fault fi for record id: a pure function of (seed, fi, id),
 * so a record's added field is the same in every batch file and shard. */
static bool put_added(hx_buf *b, plan_format f, const plan_dataset *ds, size_t fi,
                      const gen_record *r)
{
    uint64_t key = rng_key(ds->seed, S_DRIFT(fi));
    uint64_t x = rng_draw(key, r->id, 0);
    char tmp[48];
    switch (ds->faults[fi].new_type) {
    case PLAN_T_INT:
        return put_field(b, f, F_RAW, tmp, i64_text(tmp, (int64_t)rng_below(x, 1000)));
    case PLAN_T_DECIMAL:
        return put_field(b, f, F_RAW, tmp, decimal_text(tmp, (int64_t)rng_below(x, 100000), 2));
    case PLAN_T_TIMESTAMP:
        return put_field(b, f, F_TEXT, tmp, ts_text(tmp, r->arrival_us, 'T'));
    case PLAN_T_BOOL:
        return put_field(b, f, F_RAW, x & 1 ? "true" : "false", x & 1 ? 4 : 5);
    case PLAN_T_UUID: {
        uint64_t w[2] = {x, rng_draw(key, r->id, 1)};
        int k = 0;
        for (int n = 0; n < 32; n++) {
            if (n == 8 || n == 12 || n == 16 || n == 20) tmp[k++] = '-';
            unsigned nib = (unsigned)(w[n / 16] >> (60 - 4 * (n % 16))) & 15u;
            tmp[k++] = hexdig(n == 12 ? 4 : n == 16 ? (8 | (nib & 3)) : nib);
        }
        return put_field(b, f, F_TEXT, tmp, 36);
    }
    default:
        for (int i = 0; i < 8; i++)
            tmp[i] = (char)('a' + rng_below(rng_draw(key, r->id, (uint64_t)i + 1), 26));
        return put_field(b, f, F_TEXT, tmp, 8);
    }
}

/* ---- header and records ---- */

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

bool fmt_header(hx_buf *out, const plan_dataset *ds, plan_format f, uint32_t batch)
{
    if (f != PLAN_FMT_CSV) return true;
    bool ok = true, first = true;
    for (size_t c = 0; c < ds->ncols; c++) {
        if (!first) ok &= bput(out, ',');
        first = false;
        const char *n = col_name(ds, c, batch);
        ok &= csv_string(out, n, strlen(n));
    }
    for (size_t fi = 0; fi < ds->nfaults; fi++)
        if (drift_on(ds, fi, batch) && ds->faults[fi].drift == PLAN_DRIFT_ADD) {
            if (!first) ok &= bput(out, ',');
            first = false;
            ok &= csv_string(out, ds->faults[fi].name, strlen(ds->faults[fi].name));
        }
    return bput(out, '\n') && ok;
}

/* BAD_TYPE text: what a broken upstream export writes into a number or time. */
static const char *bad_type_text(uint64_t id)
{
    return id & 1 ? "12,5O" : "n/a";
}

/* A string field with invalid UTF-8 in the middle: 0xC3 0x28 (a lead byte followed by a
 * non-continuation) or a lone 0xFF. */
static bool put_bad_utf8(hx_buf *b, plan_format f, const gen_value *v, uint64_t id)
{
    const char *bad = id & 1 ? "\xff" : "\xc3\x28";
    size_t nb = strlen(bad), n = v->null ? 0 : v->len, half = n / 2;
    const char *s = v->null ? "" : v->s;
    while (half > 0 && ((unsigned char)s[half] & 0xC0) == 0x80)
        half--; /* break the text only where we mean to */
    if (f == PLAN_FMT_JSONL)
        return bput(b, '"') && json_body(b, s, half) && hx_buf_append(b, bad, nb) &&
               json_body(b, s + half, n - half) && bput(b, '"');
    bool q = csv_needs_quotes(s, n) && n > 0;
    bool ok = !q || bput(b, '"');
    for (size_t i = 0; i <= n; i++) {
        if (i == half) ok &= hx_buf_append(b, bad, nb);
        if (i == n) break;
        if (q && s[i] == '"') ok &= bput(b, '"');
        ok &= bput(b, s[i]);
    }
    return ok && (!q || bput(b, '"'));
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

bool fmt_record(hx_buf *out, const plan_dataset *ds, plan_format f, const gen_record *r)
{
    size_t start = out->len;
    bool ok = true, first = true, json = f == PLAN_FMT_JSONL, drift = false;
    /* Most records have no drift in effect: look once, not once per column. */
    for (size_t fi = 0; fi < ds->nfaults && !drift; fi++)
        drift = drift_on(ds, fi, r->batch);
    if (!json && !drift && !r->corrupt) return csv_clean(out, ds, r);
    if (json) ok &= bput(out, '{');
    for (size_t c = 0; c < ds->ncols; c++) {
        if (r->corrupt == PLAN_C_MISSING_COLUMN && r->corrupt_col == (int)c) continue;
        if (!first) ok &= bput(out, ',');
        first = false;
        const plan_column *col = &ds->cols[c];
        if (json) {
            const char *n = col_name(ds, c, r->batch);
            ok &= json_string(out, n, strlen(n)) && bput(out, ':');
        }
        const gen_value *v = &r->vals[c];
        if (r->corrupt_col == (int)c && r->corrupt == PLAN_C_BAD_TYPE) {
            const char *t = bad_type_text(r->id);
            ok &= put_field(out, f, F_TEXT, t, strlen(t));
            continue;
        }
        if (r->corrupt_col == (int)c && r->corrupt == PLAN_C_BAD_UTF8) {
            ok &= put_bad_utf8(out, f, v, r->id);
            continue;
        }
        bool retyped = false;
        for (size_t fi = 0; drift && fi < ds->nfaults && !retyped; fi++)
            if (drift_on(ds, fi, r->batch) && ds->faults[fi].drift == PLAN_DRIFT_RETYPE &&
                ds->faults[fi].column == (int)c) {
                ok &= put_retyped(out, f, col, ds->faults[fi].new_type, v);
                retyped = true;
            }
        if (!retyped) ok &= put_value(out, f, col->type, col->scale, v);
    }
    for (size_t fi = 0; drift && fi < ds->nfaults; fi++)
        if (drift_on(ds, fi, r->batch) && ds->faults[fi].drift == PLAN_DRIFT_ADD) {
            if (!first) ok &= bput(out, ',');
            first = false;
            if (json)
                ok &= json_string(out, ds->faults[fi].name, strlen(ds->faults[fi].name)) &&
                      bput(out, ':');
            ok &= put_added(out, f, ds, fi, r);
        }
    if (r->corrupt == PLAN_C_EXTRA_COLUMN) {
        if (json)
            ok &= hx_buf_puts(out, first ? "\"_extra\":\"extra\"" : ",\"_extra\":\"extra\"");
        else
            ok &= hx_buf_puts(out, first ? "extra" : ",extra");
    }
    if (json) ok &= bput(out, '}');
    ok &= bput(out, '\n');
    if (ok && r->corrupt == PLAN_C_TRUNCATE) truncate_line(out, start, f);
    return ok && !out->oom;
}

/* ---- whole datasets ---- */

/* Writing a whole dataset in parallel. Records are pure functions of (seed, id), so worker threads
 * each format a chunk of originals (plus the copies that arrive among them, gen_cursor_init_range)
 * into their own buffer, while the calling thread hashes and writes the chunks in order: the bytes
 * are exactly those of the one-thread loop. Chunks are big enough that handing one over (a mutex,
 * a condition variable) costs nothing next to making it, and small enough that a few per worker
 * keep everyone busy. Datasets with a Lua row function stay on one thread: Lua is not reentrant. */
#define PAR_CHUNK 16384        /* originals per chunk */
#define PAR_MAX_WORKERS 8      /* beyond this the writer's hashing is the bottleneck anyway */
#define PAR_SLOTS_PER_WORKER 3 /* chunks in flight per worker: one being made, two waiting */

typedef enum { SLOT_FREE, SLOT_BUSY, SLOT_READY } par_state;

typedef struct par_slot {
    hx_buf buf;       /* the chunk's bytes */
    uint64_t chunk;   /* the chunk the slot holds (BUSY / READY) */
    uint64_t emitted; /* emissions in it */
    par_state state;  /* FREE: the writer is done with it */
    int rc;           /* the worker's error (READY with rc < 0), else 0 */
    hx_err err;       /* its message */
} par_slot;

typedef struct par_job {
    gen *g;              /* borrowed; only read by the workers */
    size_t ds;           /* dataset index */
    plan_format f;       /* output format */
    uint64_t rows;       /* the dataset's originals */
    uint64_t nchunks;    /* ceil(rows / PAR_CHUNK) */
    uint64_t next_chunk; /* next chunk a worker claims; chunks are claimed in order */
    bool stop;           /* the writer or a worker failed: claim nothing more */
    par_slot *slots;     /* chunk c lives in slots[c % nslots] */
    size_t nslots;       /* PAR_SLOTS_PER_WORKER * workers */
    pthread_mutex_t mu;  /* guards next_chunk, stop and every slot's state */
    pthread_cond_t cv;   /* a slot changed state or stop was set */
} par_job;

/* Format chunk c into slot->buf (cleared first). */
static int par_make(par_job *j, uint64_t c, par_slot *slot)
{
    const plan_dataset *d = &gen_scenario(j->g)->datasets[j->ds];
    uint64_t lo = c * PAR_CHUNK, hi = lo + PAR_CHUNK < j->rows ? lo + PAR_CHUNK : j->rows;
    gen_cursor cur;
    const gen_record *r;
    hx_buf_clear(&slot->buf);
    int rc = gen_cursor_init_range(&cur, j->g, j->ds, lo, hi, &slot->err);
    if (rc < 0) return rc;
    while ((rc = gen_cursor_next(&cur, &r, &slot->err)) > 0)
        if (!fmt_record(&slot->buf, d, j->f, r)) {
            rc = hx_fail(&slot->err, HX_ENOMEM, "out of memory writing dataset '%s'", d->name);
            break;
        }
    slot->emitted = cur.emitted;
    gen_cursor_release(&cur);
    return rc < 0 ? rc : 0;
}

static void *par_worker(void *arg)
{
    par_job *j = arg;
    pthread_mutex_lock(&j->mu);
    while (!j->stop && j->next_chunk < j->nchunks) {
        uint64_t c = j->next_chunk;
        par_slot *slot = &j->slots[c % j->nslots];
        if (slot->state != SLOT_FREE) { /* the writer has not taken chunk c - nslots yet */
            pthread_cond_wait(&j->cv, &j->mu);
            continue;
        }
        j->next_chunk++;
        slot->state = SLOT_BUSY;
        slot->chunk = c;
        pthread_mutex_unlock(&j->mu);
        int rc = par_make(j, c, slot);
        pthread_mutex_lock(&j->mu);
        slot->rc = rc;
        slot->state = SLOT_READY;
        if (rc < 0) j->stop = true; /* the chunks before this one are claimed and will finish */
        pthread_cond_broadcast(&j->cv);
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* Worker threads for a dataset of `rows` originals, 0 when one thread should do. */
static int par_workers(const plan_dataset *d, int64_t batch)
{
    if (batch >= 0 || d->row_hook || d->rows < 4 * (uint64_t)PAR_CHUNK) return 0;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 2) return 0;
    return n > PAR_MAX_WORKERS ? PAR_MAX_WORKERS : (int)n;
}

/* gen_write_dataset with nw worker threads; the header is already in b (empty, reserved). */
static int par_write(gen *g, size_t ds, plan_format f, int nw, hx_buf *b, FILE *out, hx_sha256 *sha,
                     uint64_t *emitted, hx_err *e)
{
    const plan_dataset *d = &gen_scenario(g)->datasets[ds];
    par_job j = {.g = g, .ds = ds, .f = f, .rows = d->rows};
    pthread_t th[PAR_MAX_WORKERS];
    int started = 0, rc = 0;
    j.nchunks = (d->rows + PAR_CHUNK - 1) / PAR_CHUNK;
    j.nslots = (size_t)nw * PAR_SLOTS_PER_WORKER;
    j.slots = hx_calloc(j.nslots, sizeof *j.slots);
    if (!j.slots) return hx_fail(e, HX_ENOMEM, "out of memory writing dataset '%s'", d->name);
    for (size_t i = 0; i < j.nslots; i++)
        hx_buf_init(&j.slots[i].buf);
    pthread_mutex_init(&j.mu, NULL);
    pthread_cond_init(&j.cv, NULL);
    /* The header goes first, through the same hash and write as the chunks. */
    if (sha) hx_sha256_update(sha, b->data, b->len);
    if (fwrite(b->data, 1, b->len, out) != b->len) {
        rc = hx_fail(e, HX_EIO, "cannot write dataset '%s': %s", d->name, strerror(errno));
        goto done;
    }
    for (; started < nw; started++)
        if (pthread_create(&th[started], NULL, par_worker, &j) != 0) break;
    if (!started) {
        rc = hx_fail(e, HX_EINFRA, "cannot start a thread to write dataset '%s'", d->name);
        goto done;
    }
    *emitted = 0;
    for (uint64_t c = 0; c < j.nchunks; c++) {
        par_slot *slot = &j.slots[c % j.nslots];
        pthread_mutex_lock(&j.mu);
        while (!(slot->state == SLOT_READY && slot->chunk == c))
            pthread_cond_wait(&j.cv, &j.mu);
        pthread_mutex_unlock(&j.mu);
        if (slot->rc < 0) {
            rc = slot->rc;
            if (e) *e = slot->err;
            break;
        }
        if (sha) hx_sha256_update(sha, slot->buf.data, slot->buf.len);
        if (fwrite(slot->buf.data, 1, slot->buf.len, out) != slot->buf.len) {
            rc = hx_fail(e, HX_EIO, "cannot write dataset '%s': %s", d->name, strerror(errno));
            break;
        }
        *emitted += slot->emitted;
        pthread_mutex_lock(&j.mu);
        slot->state = SLOT_FREE;
        pthread_cond_broadcast(&j.cv);
        pthread_mutex_unlock(&j.mu);
    }
    pthread_mutex_lock(&j.mu);
    j.stop = true; /* on success every chunk is claimed already; on failure, claim no more */
    pthread_cond_broadcast(&j.cv);
    pthread_mutex_unlock(&j.mu);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
done:
    for (size_t i = 0; i < j.nslots; i++)
        hx_buf_release(&j.slots[i].buf);
    hx_free(j.slots);
    pthread_cond_destroy(&j.cv);
    pthread_mutex_destroy(&j.mu);
    return rc;
}

int gen_write_dataset(gen *g, size_t ds, plan_format f, int64_t batch, FILE *out,
                      char sha256_hex[65], uint64_t *emitted, hx_err *e)
{
    const plan_scenario *s = gen_scenario(g);
    gen_cursor cur;
    hx_sha256 sha;
    hx_buf b;
    int rc = gen_cursor_init(&cur, g, ds, batch, e);
    if (rc < 0) return rc;
    const plan_dataset *d = &s->datasets[ds];
    hx_sha256_init(&sha);
    hx_buf_init(&b);
    int nw = par_workers(d, batch);
    if (nw > 0) {
        uint64_t n = 0;
        if (!hx_buf_reserve(&b, 1 << 12) || !fmt_header(&b, d, f, 0)) {
            rc = hx_fail(e, HX_ENOMEM, "out of memory writing dataset '%s'", d->name);
            goto done;
        }
        rc = par_write(g, ds, f, nw, &b, out, sha256_hex ? &sha : NULL, &n, e);
        if (rc < 0) goto done;
        cur.emitted = n;
        goto flush;
    }
    if (!hx_buf_reserve(&b, 1 << 17) || !fmt_header(&b, d, f, batch < 0 ? 0 : (uint32_t)batch)) {
        rc = hx_fail(e, HX_ENOMEM, "out of memory writing dataset '%s'", d->name);
        goto done;
    }
    const gen_record *r;
    for (;;) {
        rc = gen_cursor_next(&cur, &r, e);
        if (rc < 0) goto done;
        if (rc > 0 && !fmt_record(&b, d, f, r)) {
            rc = hx_fail(e, HX_ENOMEM, "out of memory writing dataset '%s'", d->name);
            goto done;
        }
        if (b.len >= (1 << 16) || (rc == 0 && b.len)) {
            if (sha256_hex) /* hashing costs as much as generating: only when asked */
                hx_sha256_update(&sha, b.data, b.len);
            if (fwrite(b.data, 1, b.len, out) != b.len) {
                rc = hx_fail(e, HX_EIO, "cannot write dataset '%s': %s", d->name, strerror(errno));
                goto done;
            }
            hx_buf_clear(&b);
        }
        if (rc == 0) break;
    }
flush:
    if (fflush(out) != 0) {
        rc = hx_fail(e, HX_EIO, "cannot write dataset '%s': %s", d->name, strerror(errno));
        goto done;
    }
    if (sha256_hex) hx_sha256_final(&sha, sha256_hex);
    if (emitted) *emitted = cur.emitted;
    rc = 0;
done:
    hx_buf_release(&b);
    gen_cursor_release(&cur);
    return rc;
}
