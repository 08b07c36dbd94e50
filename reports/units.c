/* units.c - one human style for numbers in every report (summary.md, report.html, junit.xml):
 * durations as "1.2 s" / "350 ms" / "12 µs", sizes in binary units ("512 MiB"), money with
 * significant digits ("0.00123 USD", "12.35 USD"), counts as integers, never an exponent where a
 * plain number reads, and "n/a" (with no unit) for a value that was not measured. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rep.h"

/* Drop trailing zeros after a decimal point, then the point itself: "1.500" -> "1.5". */
static void trim_zeros(char *s)
{
    char *dot = strchr(s, '.');
    if (!dot) return;
    char *end = s + strlen(s);
    while (end > dot + 1 && end[-1] == '0')
        *--end = '\0';
    if (end == dot + 1) *dot = '\0';
}

void rep_sig(char *buf, size_t n, double v, int digits)
{
    if (!isfinite(v)) {
        snprintf(buf, n, "n/a");
        return;
    }
    if (v == 0) {
        snprintf(buf, n, "0");
        return;
    }
    double a = fabs(v);
    if (a >= 1e15 || a < 1e-9) {
        /* Out of the range where a plain number reads better than an exponent. */
        snprintf(buf, n, "%.*g", digits, v);
        return;
    }
    int mag = (int)floor(log10(a));
    int dec = digits - 1 - mag;
    if (dec < 0) dec = 0;
    snprintf(buf, n, "%.*f", dec, v);
    trim_zeros(buf);
    if (strcmp(buf, "-0") == 0) snprintf(buf, n, "0");
}

static void with_unit(char *buf, size_t n, double v, int digits, const char *unit)
{
    char num[48];
    rep_sig(num, sizeof num, v, digits);
    snprintf(buf, n, "%s %s", num, unit);
}

void rep_duration(char *buf, size_t n, double s)
{
    double a = fabs(s);
    if (!isfinite(s))
        snprintf(buf, n, "n/a");
    else if (s == 0)
        snprintf(buf, n, "0 s");
    else if (a < 1e-3)
        with_unit(buf, n, s * 1e6, 3, "\xc2\xb5s");
    else if (a < 1)
        with_unit(buf, n, s * 1e3, 3, "ms");
    else
        with_unit(buf, n, s, 3, "s");
}

void rep_bytes(char *buf, size_t n, double b)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    if (!isfinite(b)) {
        snprintf(buf, n, "n/a");
        return;
    }
    size_t u = 0;
    double v = b;
    while (fabs(v) >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024;
        u++;
    }
    with_unit(buf, n, v, 3, units[u]);
}

void rep_money(char *buf, size_t n, double v, const char *currency)
{
    char num[48];
    if (!isfinite(v)) {
        snprintf(buf, n, "n/a");
        return;
    }
    if (fabs(v) >= 1) {
        snprintf(num, sizeof num, "%.2f", v);
        trim_zeros(num);
    } else {
        rep_sig(num, sizeof num, v, 3);
    }
    if (currency && *currency) {
        char cur[16];
        size_t k = rep_utf8_cut(currency, strlen(currency), 8);
        snprintf(cur, sizeof cur, "%.*s", (int)k, currency);
        snprintf(buf, n, "%s %s", num, cur);
    } else {
        snprintf(buf, n, "%s", num);
    }
}

/* Currencies a cost model writes; a value in one of them is money. */
static bool is_currency(const char *unit)
{
    return strcmp(unit, "USD") == 0 || strcmp(unit, "EUR") == 0 || strcmp(unit, "GBP") == 0;
}

void rep_value(char *buf, size_t n, double v, const char *unit)
{
    if (!isfinite(v)) {
        snprintf(buf, n, "n/a");
    } else if (unit && strcmp(unit, "s") == 0) {
        rep_duration(buf, n, v);
    } else if (unit && strcmp(unit, "bytes") == 0) {
        rep_bytes(buf, n, v);
    } else if (unit && is_currency(unit)) {
        rep_money(buf, n, v, unit);
    } else {
        char num[48];
        if (v == floor(v) && fabs(v) < 1e15)
            snprintf(num, sizeof num, "%.0f", v);
        else
            rep_sig(num, sizeof num, v, 4);
        if (unit && *unit) {
            /* The unit may come from a foreign run.json: capped here, escaped by the writer. */
            size_t k = rep_utf8_cut(unit, strlen(unit), 24);
            snprintf(buf, n, "%s %.*s", num, (int)k, unit);
        } else {
            snprintf(buf, n, "%s", num);
        }
    }
}

void rep_percent(char *buf, size_t n, double pct)
{
    if (!isfinite(pct))
        snprintf(buf, n, "n/a");
    else
        with_unit(buf, n, pct, 3, "%");
}

void rep_invocation_outcome(hx_buf *b, const results_invocation *iv)
{
    char dur[64];
    rep_duration(dur, sizeof dur, iv->wall_s);
    if (iv->timed_out)
        hx_buf_printf(b, "timed out after %s", dur);
    else if (iv->signal)
        hx_buf_printf(b, "killed by %s after %s", iv->signal, dur);
    else
        hx_buf_printf(b, "exited with %d after %s", iv->exit_code, dur);
    if (iv->leftovers > 0)
        hx_buf_printf(b, "; left %d process%s running (stopped by the harness)", iv->leftovers,
                      iv->leftovers == 1 ? "" : "es");
}
