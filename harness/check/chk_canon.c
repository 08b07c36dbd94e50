/* chk_canon.c - the canonical text of a value, one per type, on both sides: decimals at the
 * column's scale, timestamps as epoch microseconds, booleans as true/false, so that "12.5" and
 * "12.50" or two spellings of one instant compare equal, and nothing else does. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <strings.h>

#include "check_int.h"
#include "fmt.h"
#include "units.h"

/* Bring a decimal text to exactly `scale` fraction digits. Digits beyond the scale are kept when
 * they are not zeros, so that 12.501 never equals 12.50. Returns false for non-numbers. */
bool chk_canon_decimal(const char *s, int scale, char *out, size_t n)
{
    while (isspace((unsigned char)*s))
        s++;
    bool neg = false;
    if (*s == '+' || *s == '-') neg = *s++ == '-';
    const char *ip = s;
    while (isdigit((unsigned char)*s))
        s++;
    size_t ilen = (size_t)(s - ip);
    const char *fp = "";
    size_t flen = 0;
    if (*s == '.') {
        fp = ++s;
        while (isdigit((unsigned char)*s))
            s++;
        flen = (size_t)(s - fp);
    }
    while (isspace((unsigned char)*s))
        s++;
    if (*s || (ilen == 0 && flen == 0)) return false;
    while (ilen > 1 && *ip == '0')
        ip++, ilen--;
    while (flen > (size_t)scale && fp[flen - 1] == '0')
        flen--;
    char frac[64];
    size_t fl = 0;
    for (size_t i = 0; i < flen && fl < sizeof frac - 1; i++)
        frac[fl++] = fp[i];
    while (fl < (size_t)scale && fl < sizeof frac - 1)
        frac[fl++] = '0';
    frac[fl] = '\0';
    bool zero = true;
    for (size_t i = 0; i < ilen; i++)
        zero &= ip[i] == '0';
    for (size_t i = 0; i < fl; i++)
        zero &= frac[i] == '0';
    snprintf(out, n, "%s%.*s%s%s", neg && !zero ? "-" : "", (int)(ilen ? ilen : 1), ilen ? ip : "0",
             fl ? "." : "", frac);
    return true;
}

/* The truth's value of column col in canonical text, or NULL for SQL NULL. */
const char *chk_canon_truth(const plan_column *col, const gen_value *v, char *buf, size_t n)
{
    if (v->null) return NULL;
    switch (col->type) {
    case PLAN_T_INT:
        snprintf(buf, n, "%lld", (long long)v->i);
        return buf;
    case PLAN_T_DECIMAL: {
        char tmp[48];
        fmt_decimal(tmp, sizeof tmp, v->i, col->scale);
        chk_canon_decimal(tmp, col->scale, buf, n);
        return buf;
    }
    case PLAN_T_TIMESTAMP:
        snprintf(buf, n, "%lld", (long long)v->i);
        return buf;
    case PLAN_T_BOOL:
        snprintf(buf, n, "%s", v->i ? "true" : "false");
        return buf;
    default:
        return v->s;
    }
}

/* SQL expression reading column `q` (quoted) of the sink as the canonical text of type t. */
void chk_canon_sql(hx_buf *b, const char *q, plan_type t)
{
    switch (t) {
    case PLAN_T_INT:
        hx_buf_printf(b, "(%s)::numeric::text", q);
        break;
    case PLAN_T_DECIMAL:
        hx_buf_printf(b, "(%s)::numeric::text", q);
        break;
    case PLAN_T_TIMESTAMP:
        hx_buf_printf(b, "(extract(epoch from (%s)::timestamptz) * 1000000)::numeric(30,0)::text",
                      q);
        break;
    case PLAN_T_BOOL:
        hx_buf_printf(b, "(%s)::boolean::text", q);
        break;
    default:
        hx_buf_printf(b, "(%s)::text", q);
        break;
    }
}

void chk_canon_sql_exact(hx_buf *b, const char *q, const plan_column *col)
{
    if (col->type != PLAN_T_INT && col->type != PLAN_T_DECIMAL) {
        chk_canon_sql(b, q, col->type);
        return;
    }
    /* chk_canon_decimal in SQL: exactly `scale` fraction digits, more only when they are not
     * zeros (12.501 stays, 12.500 is 12.50); NaN and infinities as PostgreSQL spells them. */
    int sc = col->type == PLAN_T_DECIMAL ? col->scale : 0;
    hx_buf_printf(b,
                  "(case when (%s)::numeric = round((%s)::numeric, %d) then round((%s)::numeric, "
                  "%d)::text else trim_scale((%s)::numeric)::text end)",
                  q, q, sc, q, sc, q);
}

const char *chk_display(const plan_column *col, const char *canon, char *buf, size_t n)
{
    if (!canon || col->type != PLAN_T_TIMESTAMP) return canon;
    char *end = NULL;
    errno = 0;
    long long us = strtoll(canon, &end, 10);
    if (end == canon || *end || errno) return canon;
    long long secs = us / 1000000, frac = us % 1000000;
    if (frac < 0) secs--, frac += 1000000;
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) return canon;
    char day[40];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    if (frac)
        snprintf(buf, n, "%s.%06lldZ", day, frac);
    else
        snprintf(buf, n, "%sZ", day);
    return buf;
}

/* Canonicalise what the sink returned for a column of type t. */
const char *chk_canon_sink(const plan_column *col, const char *s, char *buf, size_t n)
{
    if (!s) return NULL;
    if (col->type == PLAN_T_DECIMAL || col->type == PLAN_T_INT) {
        if (chk_canon_decimal(s, col->type == PLAN_T_DECIMAL ? col->scale : 0, buf, n)) return buf;
    }
    return s;
}

bool chk_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* A timestamp as a file may hold it: ISO 8601 with 'T' or ' ', zone Z, +00:00, +00 or none
 * (UTC).
 */
static bool file_timestamp(const char *s, int64_t *us)
{
    if (units_timestamp(s, us, NULL) == 0) return true;
    char b[64];
    size_t n = strlen(s);
    if (n < 10 || n + 4 >= sizeof b) return false;
    memcpy(b, s, n + 1);
    if (n > 3 && strcmp(b + n - 3, "+00") == 0)
        memcpy(b + n, ":00", 4);
    else
        memcpy(b + n, "Z", 2);
    return units_timestamp(b, us, NULL) == 0;
}

/* Canonicalise a value read from a file like canon_sql does for the database: numbers at the
 * column's scale, timestamps as epoch microseconds, booleans as true/false. Text that is not of
 * the column's type stays as it is (and then differs from the truth). */
const char *chk_canon_file(const plan_column *col, const char *s, char *buf, size_t n)
{
    if (!s) return NULL;
    switch (col->type) {
    case PLAN_T_INT:
    case PLAN_T_DECIMAL:
        return chk_canon_sink(col, s, buf, n);
    case PLAN_T_TIMESTAMP: {
        int64_t us;
        if (!file_timestamp(s, &us)) return s;
        snprintf(buf, n, "%lld", (long long)us);
        return buf;
    }
    case PLAN_T_BOOL: {
        static const char *const yes[] = {"true", "t", "1", "yes", "y", "on"};
        static const char *const no[] = {"false", "f", "0", "no", "n", "off"};
        for (size_t i = 0; i < 6; i++) {
            if (strcasecmp(s, yes[i]) == 0) return snprintf(buf, n, "true"), buf;
            if (strcasecmp(s, no[i]) == 0) return snprintf(buf, n, "false"), buf;
        }
        return s;
    }
    default:
        return s;
    }
}

/* Index of the field named name in rec (guess first), or -1. */
int chk_field_index(const rd_record *rec, const char *name, int guess)
{
    if (guess >= 0 && (size_t)guess < rec->ncols && rec->names[guess] &&
        strcmp(rec->names[guess], name) == 0)
        return guess;
    for (size_t i = 0; i < rec->ncols; i++)
        if (rec->names[i] && strcmp(rec->names[i], name) == 0) return (int)i;
    return -1;
}
