/* units.c - see units.h. Hand-written scanners rather than sscanf: the input is untrusted and the
 * messages must say exactly what was wrong. */
#include "units.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct unit {
    const char *name; /* as written, case-sensitive */
    double factor;    /* to the base unit */
};

static const struct unit dur_units[] = {
    {"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"ms", 1e-3}, {"s", 1},      {"sec", 1},
    {"m", 60},    {"min", 60},  {"h", 3600},         {"d", 86400}, {"w", 604800}, {NULL, 0}};
static const char *const dur_names[] = {"ns", "us", "ms", "s", "m", "min", "h", "d", "w", NULL};

static const struct unit byte_units[] = {{"B", 1},
                                         {"kB", 1e3},
                                         {"KB", 1e3},
                                         {"MB", 1e6},
                                         {"GB", 1e9},
                                         {"TB", 1e12},
                                         {"KiB", 1024.0},
                                         {"MiB", 1048576.0},
                                         {"GiB", 1073741824.0},
                                         {"TiB", 1099511627776.0},
                                         {NULL, 0}};
static const char *const byte_names[] = {"B",   "kB",  "KB",  "MB",  "GB", "TB",
                                         "KiB", "MiB", "GiB", "TiB", NULL};

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* A decimal number (sign, digits, point, exponent); no inf, nan or hex. Sets *end past it. */
static bool scan_number(const char *p, double *v, const char **end)
{
    const char *q = p;
    if (*q == '+' || *q == '-') q++;
    size_t digits = 0;
    while (*q >= '0' && *q <= '9')
        q++, digits++;
    if (*q == '.') {
        q++;
        while (*q >= '0' && *q <= '9')
            q++, digits++;
    }
    if (digits == 0) return false;
    if ((*q == 'e' || *q == 'E') &&
        ((q[1] >= '0' && q[1] <= '9') ||
         ((q[1] == '+' || q[1] == '-') && q[2] >= '0' && q[2] <= '9'))) {
        q += 2;
        while (*q >= '0' && *q <= '9')
            q++;
    }
    char buf[64];
    size_t n = (size_t)(q - p);
    if (n >= sizeof buf) return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    *v = strtod(buf, NULL);
    if (!isfinite(*v)) return false;
    *end = q;
    return true;
}

/* The unit word at p: letters, '$', '%' or the micro sign. */
static size_t unit_len(const char *p)
{
    size_t n = 0;
    for (;;) {
        unsigned char c = (unsigned char)p[n];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            n++;
        else if (c == 0xc2 && (unsigned char)p[n + 1] == 0xb5)
            n += 2;
        else
            return n;
    }
}

static const struct unit *find_unit(const struct unit *t, const char *p, size_t n)
{
    for (; t->name; t++)
        if (strlen(t->name) == n && memcmp(t->name, p, n) == 0) return t;
    return NULL;
}

/* Quote at most 40 bytes of s, printable ASCII only, so a message never carries raw garbage. */
static const char *shown(const char *s, char buf[48])
{
    size_t i = 0;
    for (; s[i] && i < 40; i++)
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (s[i]) {
        buf[i - 3] = buf[i - 2] = buf[i - 1] = '.';
    }
    buf[i] = '\0';
    return buf;
}

static int bad_unit(hx_err *e, const char *what, const char *s, const char *u, size_t n,
                    const char *const *names, const char *list)
{
    char word[32], b[48];
    size_t k = n < sizeof word - 1 ? n : sizeof word - 1;
    memcpy(word, u, k);
    word[k] = '\0';
    for (size_t i = 0; i < k; i++)
        if ((unsigned char)word[i] < 0x20 || (unsigned char)word[i] >= 0x7f) word[i] = '?';
    const char *sug = NULL;
    for (size_t i = 0; names[i] && !sug; i++)
        if (strcasecmp(names[i], word) == 0) sug = names[i]; /* "64mb": the case is the mistake */
    if (!sug) sug = hx_suggest(word, names);
    if (sug)
        return hx_fail(e, HX_EUSAGE, "bad %s '%s': unknown unit '%s' (did you mean '%s'?)", what,
                       shown(s, b), word, sug);
    return hx_fail(e, HX_EUSAGE, "bad %s '%s': unknown unit '%s' (use %s)", what, shown(s, b), word,
                   list);
}

int units_duration(const char *s, double *seconds, hx_err *e)
{
    char b[48];
    const char *p = skip_ws(s);
    double total = 0;
    int parts = 0;
    while (*p) {
        double v;
        const char *q;
        if (!scan_number(p, &v, &q))
            return hx_fail(e, HX_EUSAGE, "bad duration '%s': expected a number like '30s'",
                           shown(s, b));
        if (v < 0)
            return hx_fail(e, HX_EUSAGE, "bad duration '%s': must not be negative", shown(s, b));
        q = skip_ws(q);
        size_t n = unit_len(q);
        if (n == 0)
            return hx_fail(e, HX_EUSAGE, "bad duration '%s': missing unit (write e.g. '%gs')",
                           shown(s, b), v);
        const struct unit *u = find_unit(dur_units, q, n);
        if (!u) return bad_unit(e, "duration", s, q, n, dur_names, "ns, us, ms, s, m, h, d, w");
        total += v * u->factor;
        parts++;
        p = skip_ws(q + n);
    }
    if (parts == 0)
        return hx_fail(e, HX_EUSAGE, "bad duration '%s': empty (write e.g. '30s')", shown(s, b));
    if (!isfinite(total) || total > 1e12)
        return hx_fail(e, HX_EUSAGE, "bad duration '%s': too large", shown(s, b));
    *seconds = total;
    return 0;
}

int units_duration_us(const char *s, int64_t *us, hx_err *e)
{
    double sec;
    int rc = units_duration(s, &sec, e);
    if (rc) return rc;
    *us = (int64_t)llround(sec * 1e6);
    return 0;
}

/* number, optional spaces, then the rest must be the unit word (possibly empty). */
static int number_and_unit(const char *s, const char *what, double *v, const char **u, size_t *n,
                           hx_err *e)
{
    char b[48];
    const char *p = skip_ws(s);
    const char *q;
    if (!scan_number(p, v, &q))
        return hx_fail(e, HX_EUSAGE, "bad %s '%s': expected a number", what, shown(s, b));
    q = skip_ws(q);
    *u = q;
    *n = unit_len(q);
    if (*skip_ws(q + *n) != '\0')
        return hx_fail(e, HX_EUSAGE, "bad %s '%s': unexpected '%s' after the value", what,
                       shown(s, b), shown(q + *n, (char[48]){0}));
    return 0;
}

int units_bytes(const char *s, double *bytes, hx_err *e)
{
    double v;
    const char *u;
    size_t n;
    int rc = number_and_unit(s, "byte size", &v, &u, &n, e);
    if (rc) return rc;
    double f = 1;
    if (n) {
        const struct unit *un = find_unit(byte_units, u, n);
        if (!un)
            return bad_unit(e, "byte size", s, u, n, byte_names, "B, kB, MB, GB, KiB, MiB, GiB");
        f = un->factor;
    }
    if (v < 0) {
        char b[48];
        return hx_fail(e, HX_EUSAGE, "bad byte size '%s': must not be negative", shown(s, b));
    }
    /* 2e300 TB is a finite number of terabytes and no finite number of bytes */
    if (!isfinite(v * f)) {
        char b[48];
        return hx_fail(e, HX_EUSAGE, "bad byte size '%s': too large", shown(s, b));
    }
    *bytes = v * f;
    return 0;
}

static bool is_usd(const char *u, size_t n)
{
    return n == 3 && (memcmp(u, "usd", 3) == 0 || memcmp(u, "USD", 3) == 0);
}

int units_money(const char *s, double *usd, hx_err *e)
{
    char b[48];
    const char *p = skip_ws(s);
    if (*p == '$') {
        double v;
        const char *q;
        if (!scan_number(skip_ws(p + 1), &v, &q) || *skip_ws(q) != '\0')
            return hx_fail(e, HX_EUSAGE, "bad amount '%s': expected '$40' or '40 usd'",
                           shown(s, b));
        *usd = v;
        return 0;
    }
    double v;
    const char *u;
    size_t n;
    int rc = number_and_unit(s, "amount", &v, &u, &n, e);
    if (rc) return rc;
    if (n && !is_usd(u, n))
        return hx_fail(e, HX_EUSAGE,
                       "bad amount '%s': only US dollars are priced (write '$40' "
                       "or '40 usd')",
                       shown(s, b));
    *usd = v;
    return 0;
}

int units_percent(const char *s, double *frac, hx_err *e)
{
    char b[48];
    const char *p = skip_ws(s);
    double v;
    const char *q;
    if (!scan_number(p, &v, &q))
        return hx_fail(e, HX_EUSAGE, "bad percentage '%s': expected '5%%' or 0.05", shown(s, b));
    q = skip_ws(q);
    if (*q == '%') {
        v /= 100;
        q++;
    }
    if (*skip_ws(q) != '\0')
        return hx_fail(e, HX_EUSAGE, "bad percentage '%s': expected '5%%' or 0.05", shown(s, b));
    *frac = v;
    return 0;
}

int units_value(const char *s, double *v, units_dim *dim, hx_err *e)
{
    char b[48];
    const char *p = skip_ws(s);
    if (*p == '$') {
        *dim = UNITS_MONEY;
        return units_money(s, v, e);
    }
    double x;
    const char *q;
    if (!scan_number(p, &x, &q))
        return hx_fail(e, HX_EUSAGE,
                       "bad value '%s': expected a number with an optional unit "
                       "(30s, 64MB, $40, 5%%)",
                       shown(s, b));
    q = skip_ws(q);
    if (*q == '\0') {
        *dim = UNITS_PLAIN;
        *v = x;
        return 0;
    }
    if (*q == '%') {
        *dim = UNITS_PERCENT;
        return units_percent(s, v, e);
    }
    size_t n = unit_len(q);
    if (n == 0)
        return hx_fail(e, HX_EUSAGE, "bad value '%s': unexpected '%s'", shown(s, b),
                       shown(q, (char[48]){0}));
    if (is_usd(q, n)) {
        *dim = UNITS_MONEY;
        return units_money(s, v, e);
    }
    if (find_unit(byte_units, q, n)) {
        *dim = UNITS_BYTES;
        return units_bytes(s, v, e);
    }
    if (find_unit(dur_units, q, n)) {
        *dim = UNITS_DURATION;
        return units_duration(s, v, e);
    }
    static const char *const all[] = {"ns",  "us",  "ms",  "s",   "m",   "min", "h",  "d",
                                      "w",   "B",   "kB",  "KB",  "MB",  "GB",  "TB", "KiB",
                                      "MiB", "GiB", "TiB", "usd", "USD", NULL};
    return bad_unit(e, "value", s, q, n, all, "a time (ms, s, m, h), size (MB, GiB) or usd");
}

int units_threshold(const char *s, plan_op *op, double *v, units_dim *dim, hx_err *e)
{
    char b[48];
    const char *p = skip_ws(s);
    if (p[0] == '<' && p[1] == '=')
        *op = PLAN_OP_LE, p += 2;
    else if (p[0] == '>' && p[1] == '=')
        *op = PLAN_OP_GE, p += 2;
    else if (p[0] == '=' && p[1] == '=')
        *op = PLAN_OP_EQ, p += 2;
    else if (p[0] == '<')
        *op = PLAN_OP_LT, p += 1;
    else if (p[0] == '>')
        *op = PLAN_OP_GT, p += 1;
    else
        return hx_fail(e, HX_EUSAGE,
                       "bad threshold '%s': start with <, <=, >, >= or == "
                       "(e.g. '< 30s')",
                       shown(s, b));
    int rc = units_value(p, v, dim, e);
    if (rc) return hx_wrap(e, "bad threshold '%s'", shown(s, b));
    return 0;
}

static bool all_digits(const char *p, int n)
{
    for (int i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9') return false;
    return true;
}

static int num(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (p[i] - '0');
    return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int units_timestamp(const char *s, int64_t *us, hx_err *e)
{
    char b[48];
    const char *p = s;
    size_t len = strlen(s);
    if (len < 10 || !all_digits(p, 4) || p[4] != '-' || !all_digits(p + 5, 2) || p[7] != '-' ||
        !all_digits(p + 8, 2))
        goto bad;
    int y = num(p, 4), mo = num(p + 5, 2), d = num(p + 8, 2);
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1]) goto bad;
    int64_t frac = 0;
    int h = 0, mi = 0, se = 0;
    p += 10;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (strlen(p) < 8 || !all_digits(p, 2) || p[2] != ':' || !all_digits(p + 3, 2) ||
            p[5] != ':' || !all_digits(p + 6, 2))
            goto bad;
        h = num(p, 2), mi = num(p + 3, 2), se = num(p + 6, 2);
        if (h > 23 || mi > 59 || se > 60) goto bad;
        p += 8;
        if (*p == '.') {
            p++;
            int nd = 0;
            while (*p >= '0' && *p <= '9') {
                if (nd < 6) frac = frac * 10 + (*p - '0');
                nd++, p++;
            }
            if (nd == 0) goto bad;
            for (; nd < 6; nd++)
                frac *= 10;
        }
        if (*p == 'Z')
            p++;
        else if (strcmp(p, "+00:00") == 0)
            p += 6;
        else
            goto bad;
    }
    if (*p != '\0') goto bad;
    int64_t days = days_from_civil(y, mo, d);
    *us = ((days * 86400 + h * 3600 + mi * 60 + se) * 1000000) + frac;
    return 0;
bad:
    return hx_fail(e, HX_EUSAGE,
                   "bad timestamp '%s': expected UTC ISO 8601 like "
                   "'2026-01-01T00:00:00Z'",
                   shown(s, b));
}

units_dim units_metric_dim(const char *m)
{
    /* query.<name>.<stat>: the name is the author's, only the last segment says what it is */
    if (strncmp(m, "query.", 6) == 0) {
        const char *dot = strrchr(m, '.');
        return dot > m + 5 && (dot[1] == 'p' || strcmp(dot, ".max") == 0) ? UNITS_DURATION
                                                                          : UNITS_PLAIN;
    }
    if (strncmp(m, "cost.", 5) == 0 || strstr(m, ".usd")) return UNITS_MONEY;
    if (strstr(m, "latency") || strstr(m, ".wall") || strstr(m, "lag") || strstr(m, "duration") ||
        strstr(m, "freshness") || strstr(m, ".cpu"))
        return UNITS_DURATION;
    if (strstr(m, "rss") || strstr(m, "bytes") || strstr(m, "memory")) return UNITS_BYTES;
    return UNITS_PLAIN;
}

const char *units_dim_name(units_dim d)
{
    static const char *n[] = {"a plain number", "a duration", "a byte size", "money",
                              "a percentage"};
    return (unsigned)d < sizeof n / sizeof n[0] ? n[d] : "?";
}

const char *units_op_text(plan_op op)
{
    static const char *n[] = {"<", "<=", ">", ">=", "=="};
    return (unsigned)op < sizeof n / sizeof n[0] ? n[op] : "?";
}
