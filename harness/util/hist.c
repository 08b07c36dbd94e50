/* hist.c - HDR-style log-linear histogram; see hist.h. The bucket arithmetic follows
 * HdrHistogram_c: bucket b covers [2^(b+u) * half, 2^(b+u) * full) in sub-buckets of width
 * 2^(b+u), where u = unit magnitude; bucket 0 also covers 0..half. */
#include "hist.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int32_t bucket_index(const hist *h, int64_t v)
{
    int pow2ceiling = 64 - __builtin_clzll((uint64_t)(v | h->sub_mask));
    return pow2ceiling - h->unit_magnitude - (h->sub_half_magnitude + 1);
}

static int32_t sub_index(const hist *h, int64_t v, int32_t b)
{
    return (int32_t)(v >> (b + h->unit_magnitude));
}

static int32_t counts_index(const hist *h, int64_t v)
{
    int32_t b = bucket_index(h, v);
    int32_t sb = sub_index(h, v, b);
    return ((b + 1) << h->sub_half_magnitude) + (sb - h->sub_half_count);
}

static int64_t value_at_index(const hist *h, int32_t i)
{
    int32_t b = (i >> h->sub_half_magnitude) - 1;
    int32_t sb = (i & (h->sub_half_count - 1)) + h->sub_half_count;
    if (b < 0) {
        sb -= h->sub_half_count;
        b = 0;
    }
    return (int64_t)sb << (b + h->unit_magnitude);
}

static int64_t range_size(const hist *h, int64_t v)
{
    int32_t b = bucket_index(h, v);
    int32_t sb = sub_index(h, v, b);
    int32_t adjusted = sb >= h->sub_count ? b + 1 : b;
    return (int64_t)1 << (h->unit_magnitude + adjusted);
}

int64_t hist_lowest_equivalent(const hist *h, int64_t v)
{
    int32_t b = bucket_index(h, v);
    return (int64_t)sub_index(h, v, b) << (b + h->unit_magnitude);
}

int64_t hist_highest_equivalent(const hist *h, int64_t v)
{
    /* Computed as lo + (size - 1) so the top bucket near INT64_MAX does not overflow. */
    return hist_lowest_equivalent(h, v) + (range_size(h, v) - 1);
}

static int64_t midpoint(const hist *h, int64_t v)
{
    return hist_lowest_equivalent(h, v) + (range_size(h, v) >> 1);
}

/* Buckets needed so that the top of the last one exceeds highest. */
static int32_t buckets_needed(int64_t highest, int32_t sub_count, int unit_magnitude)
{
    int64_t smallest_untrackable = (int64_t)sub_count << unit_magnitude;
    int32_t n = 1;
    while (smallest_untrackable <= highest) {
        if (smallest_untrackable > INT64_MAX / 2) return n + 1;
        smallest_untrackable <<= 1;
        n++;
    }
    return n;
}

/* Check parameters and fill the derived geometry of h (no allocation). */
static int geometry(hist *h, int64_t lowest, int64_t highest, int sigfigs)
{
    if (lowest < 1 || sigfigs < 1 || sigfigs > 5 || highest < 2 || lowest > highest / 2)
        return HX_EUSAGE;
    int64_t single_unit = 2;
    for (int i = 0; i < sigfigs; i++)
        single_unit *= 10;
    int sub_count_magnitude = 64 - __builtin_clzll((uint64_t)(single_unit - 1)); /* ceil(log2) */
    int unit_magnitude = 63 - __builtin_clzll((uint64_t)lowest);                 /* floor(log2) */
    if (unit_magnitude + sub_count_magnitude > 62) return HX_EUSAGE;
    memset(h, 0, sizeof *h);
    h->lowest = lowest;
    h->highest = highest;
    h->sigfigs = sigfigs;
    h->unit_magnitude = unit_magnitude;
    h->sub_half_magnitude = sub_count_magnitude - 1;
    h->sub_count = (int32_t)1 << sub_count_magnitude;
    h->sub_half_count = h->sub_count / 2;
    h->sub_mask = ((int64_t)h->sub_count - 1) << unit_magnitude;
    h->bucket_count = buckets_needed(highest, h->sub_count, unit_magnitude);
    h->counts_len = (h->bucket_count + 1) * h->sub_half_count;
    h->min = INT64_MAX;
    return 0;
}

int hist_init(hist *h, int64_t lowest, int64_t highest, int sigfigs)
{
    hist tmp;
    int rc = geometry(&tmp, lowest, highest, sigfigs);
    if (rc) return rc;
    tmp.counts = hx_calloc((size_t)tmp.counts_len, sizeof *tmp.counts);
    if (!tmp.counts) return HX_ENOMEM;
    *h = tmp;
    return 0;
}

void hist_release(hist *h)
{
    hx_free(h->counts);
    h->counts = NULL;
    h->counts_len = 0;
}

int hist_new(int64_t lowest, int64_t highest, int sigfigs, hist **out)
{
    *out = NULL;
    hist *h = hx_malloc(sizeof *h);
    if (!h) return HX_ENOMEM;
    int rc = hist_init(h, lowest, highest, sigfigs);
    if (rc) {
        hx_free(h);
        return rc;
    }
    *out = h;
    return 0;
}

void hist_free(hist *h)
{
    if (!h) return;
    hist_release(h);
    hx_free(h);
}

void hist_clear(hist *h)
{
    memset(h->counts, 0, (size_t)h->counts_len * sizeof *h->counts);
    h->total = 0;
    h->min = INT64_MAX;
    h->max = 0;
    h->over = 0;
    h->under = 0;
}

bool hist_record_n(hist *h, int64_t v, int64_t n)
{
    if (n < 0) return false;
    if (v < 0 || v > h->highest) {
        int64_t *c = v < 0 ? &h->under : &h->over;
        if (__builtin_add_overflow(*c, n, c)) *c = INT64_MAX;
        return false;
    }
    int64_t total;
    if (__builtin_add_overflow(h->total, n, &total)) return false;
    if (n == 0) return true;
    h->counts[counts_index(h, v)] += n;
    h->total = total;
    if (v < h->min) h->min = v;
    if (v > h->max) h->max = v;
    return true;
}

bool hist_unrecord(hist *h, int64_t v)
{
    if (v < 0 || v > h->highest) {
        int64_t *c = v < 0 ? &h->under : &h->over;
        if (*c > 0) (*c)--;
        return false;
    }
    int32_t i = counts_index(h, v);
    if (h->counts[i] <= 0) return false;
    h->counts[i]--;
    h->total--;
    if (!h->total) {
        h->min = INT64_MAX;
        h->max = 0;
        return true;
    }
    /* An extreme went: the next one is known to its bucket, and lies no further out than v. */
    if (v <= h->min) {
        int32_t k = 0;
        while (k < h->counts_len && !h->counts[k])
            k++;
        int64_t lo = value_at_index(h, k);
        h->min = lo > v ? lo : v;
    }
    if (v >= h->max) {
        int32_t k = h->counts_len - 1;
        while (k > 0 && !h->counts[k])
            k--;
        int64_t hi = hist_highest_equivalent(h, value_at_index(h, k));
        h->max = hi < v ? hi : v;
    }
    return true;
}

bool hist_record(hist *h, int64_t v)
{
    if (__builtin_expect(v < 0 || v > h->highest, 0)) {
        if (v < 0)
            h->under++;
        else
            h->over++;
        return false;
    }
    h->counts[counts_index(h, v)]++;
    h->total++;
    if (v < h->min) h->min = v;
    if (v > h->max) h->max = v;
    return true;
}

bool hist_record_corrected(hist *h, int64_t v, int64_t interval)
{
    if (!hist_record(h, v)) return false;
    if (interval <= 0 || v <= interval) return true;
    for (int64_t missing = v - interval; missing >= interval; missing -= interval)
        hist_record(h, missing);
    return true;
}

int64_t hist_count(const hist *h)
{
    return h->total;
}

int64_t hist_min(const hist *h)
{
    return h->total ? h->min : 0;
}

int64_t hist_max(const hist *h)
{
    return h->total ? h->max : 0;
}

double hist_mean(const hist *h)
{
    if (!h->total) return 0.0;
    double sum = 0.0;
    for (int32_t i = 0; i < h->counts_len; i++)
        if (h->counts[i]) sum += (double)h->counts[i] * (double)midpoint(h, value_at_index(h, i));
    return sum / (double)h->total;
}

double hist_stddev(const hist *h)
{
    if (!h->total) return 0.0;
    double mean = hist_mean(h), acc = 0.0;
    for (int32_t i = 0; i < h->counts_len; i++) {
        if (!h->counts[i]) continue;
        double d = (double)midpoint(h, value_at_index(h, i)) - mean;
        acc += (double)h->counts[i] * d * d;
    }
    return sqrt(acc / (double)h->total);
}

/* The rank (1-based) of the p-th percentile among total values. */
static int64_t rank_of(const hist *h, double p)
{
    if (!(p > 0.0)) /* also NaN */
        p = 0.0;
    if (p > 100.0) p = 100.0;
    double r = p / 100.0 * (double)h->total + 0.5;
    int64_t rank = r >= (double)h->total ? h->total : (int64_t)r;
    return rank < 1 ? 1 : rank;
}

static int64_t clamp_minmax(const hist *h, int64_t v)
{
    return v < h->min ? h->min : v > h->max ? h->max : v;
}

int64_t hist_percentile(const hist *h, double p)
{
    int64_t out = 0;
    hist_curve(h, &p, 1, &out);
    return out;
}

size_t hist_curve(const hist *h, const double *ps, size_t n, int64_t *out)
{
    if (!h->total) {
        for (size_t k = 0; k < n; k++)
            out[k] = 0;
        return n;
    }
    /* One walk serves an ascending run of ps; a descending step restarts the walk. */
    int32_t i = 0;
    int64_t seen = 0;
    int64_t prev_rank = 0;
    for (size_t k = 0; k < n; k++) {
        int64_t rank = rank_of(h, ps[k]);
        if (rank < prev_rank) {
            i = 0;
            seen = 0;
        }
        prev_rank = rank;
        if (rank == 1) {
            out[k] = h->min; /* the exact answer is known */
            continue;
        }
        if (rank == h->total) {
            out[k] = h->max;
            continue;
        }
        while (i < h->counts_len && seen + h->counts[i] < rank)
            seen += h->counts[i++];
        int32_t at = i < h->counts_len ? i : h->counts_len - 1;
        out[k] = clamp_minmax(h, hist_highest_equivalent(h, value_at_index(h, at)));
    }
    return n;
}

int hist_merge(hist *dst, const hist *src)
{
    if (dst->lowest != src->lowest || dst->highest != src->highest || dst->sigfigs != src->sigfigs)
        return HX_EUSAGE;
    int64_t total;
    if (__builtin_add_overflow(dst->total, src->total, &total)) return HX_EUSAGE;
    for (int32_t i = 0; i < src->counts_len; i++)
        dst->counts[i] += src->counts[i];
    dst->total = total;
    if (src->total) {
        if (src->min < dst->min) dst->min = src->min;
        if (src->max > dst->max) dst->max = src->max;
    }
    if (__builtin_add_overflow(dst->over, src->over, &dst->over)) dst->over = INT64_MAX;
    if (__builtin_add_overflow(dst->under, src->under, &dst->under)) dst->under = INT64_MAX;
    return 0;
}

bool hist_iter_next(const hist *h, hist_iter *it)
{
    while (it->index < h->counts_len && h->counts[it->index] == 0)
        it->index++;
    if (it->index >= h->counts_len) return false;
    int64_t v = value_at_index(h, it->index);
    it->lo = v;
    it->hi = hist_highest_equivalent(h, v);
    it->count = h->counts[it->index];
    it->index++;
    return true;
}

/* ---- serialisation ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char prefix[] = "hx1:";

static bool put_varint(hx_buf *b, uint64_t v)
{
    char tmp[10];
    size_t n = 0;
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        tmp[n++] = (char)(byte | (v ? 0x80 : 0));
    } while (v);
    return hx_buf_append(b, tmp, n);
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static uint32_t checksum(const void *p, size_t n)
{
    return (uint32_t)hx_hash64(p, n);
}

char *hist_encode(const hist *h)
{
    hx_buf raw, out;
    hx_buf_init(&raw);
    hx_buf_init(&out);
    bool empty = h->total == 0;
    put_varint(&raw, (uint64_t)h->lowest);
    put_varint(&raw, (uint64_t)h->highest);
    put_varint(&raw, (uint64_t)h->sigfigs);
    put_varint(&raw, empty ? 0 : (uint64_t)h->min);
    put_varint(&raw, empty ? 0 : (uint64_t)h->max);
    put_varint(&raw, (uint64_t)h->over);
    put_varint(&raw, (uint64_t)h->under);
    int64_t zeros = 0;
    for (int32_t i = 0; i < h->counts_len; i++) {
        if (!h->counts[i]) {
            zeros++;
            continue;
        }
        if (zeros) put_varint(&raw, zigzag(-zeros));
        zeros = 0;
        put_varint(&raw, zigzag(h->counts[i]));
    }
    uint32_t sum = checksum(raw.data, raw.len);
    uint8_t sb[4] = {(uint8_t)sum, (uint8_t)(sum >> 8), (uint8_t)(sum >> 16), (uint8_t)(sum >> 24)};
    hx_buf_append(&raw, sb, 4);
    if (raw.oom || !hx_buf_reserve(&out, sizeof prefix + raw.len / 3 * 4 + 4)) {
        hx_buf_release(&raw);
        hx_buf_release(&out);
        return NULL;
    }
    hx_buf_puts(&out, prefix);
    const uint8_t *p = (const uint8_t *)raw.data;
    size_t i = 0;
    for (; i + 3 <= raw.len; i += 3) {
        uint32_t w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        char q[4] = {b64[w >> 18], b64[(w >> 12) & 63], b64[(w >> 6) & 63], b64[w & 63]};
        hx_buf_append(&out, q, 4);
    }
    if (raw.len - i == 1) {
        uint32_t w = (uint32_t)p[i] << 16;
        char q[2] = {b64[w >> 18], b64[(w >> 12) & 63]};
        hx_buf_append(&out, q, 2);
    } else if (raw.len - i == 2) {
        uint32_t w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        char q[3] = {b64[w >> 18], b64[(w >> 12) & 63], b64[(w >> 6) & 63]};
        hx_buf_append(&out, q, 3);
    }
    hx_buf_release(&raw);
    if (out.oom) {
        hx_buf_release(&out);
        return NULL;
    }
    return hx_buf_steal(&out);
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

/* Strict base64url without padding: rejects foreign characters, impossible lengths and non-zero
 * unused bits, so each byte string has one text form. */
static int unb64(const char *s, size_t n, uint8_t *out, size_t *outlen, hx_err *e)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)s[i]);
        if (v < 0)
            return hx_fail(e, HX_EUSAGE,
                           "histogram: invalid character at offset %zu of the base64 text",
                           i + sizeof prefix - 1);
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (n % 4 == 1)
        return hx_fail(e, HX_EUSAGE, "histogram: base64 text has an impossible length (%zu)", n);
    if (acc != 0) return hx_fail(e, HX_EUSAGE, "histogram: base64 text has non-zero padding bits");
    *outlen = o;
    return 0;
}

typedef struct reader {
    const uint8_t *p; /* next byte */
    const uint8_t *end;
} reader;

/* A canonical LEB128 varint of at most 64 bits. */
static bool get_varint(reader *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return false;
        uint8_t byte = *r->p++;
        if (shift == 63 && byte > 1) return false;
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            if (byte == 0 && shift > 0) return false; /* overlong */
            *out = v;
            return true;
        }
    }
    return false;
}

static const char *field_names[] = {"lowest", "highest", "sigfigs", "min", "max", "over", "under"};

int hist_decode(const char *s, hist **out, hx_err *e)
{
    *out = NULL;
    if (!s) return hx_fail(e, HX_EUSAGE, "histogram: missing value");
    size_t plen = sizeof prefix - 1;
    if (strncmp(s, prefix, plen) != 0)
        return hx_fail(e, HX_EUSAGE,
                       "histogram: does not start with '%s' (not a harness histogram, or a newer "
                       "format: upgrade harness)",
                       prefix);
    size_t n = strlen(s + plen);
    uint8_t *raw = hx_malloc(n / 4 * 3 + 3);
    if (!raw) return hx_fail(e, HX_ENOMEM, "histogram: out of memory");
    size_t rawlen = 0;
    hist *h = NULL;
    int rc = unb64(s + plen, n, raw, &rawlen, e);
    if (rc) goto done;
    if (rawlen < 4 + 7) {
        rc = hx_fail(e, HX_EUSAGE, "histogram: truncated (%zu bytes)", rawlen);
        goto done;
    }
    rawlen -= 4;
    uint32_t want = (uint32_t)raw[rawlen] | (uint32_t)raw[rawlen + 1] << 8 |
                    (uint32_t)raw[rawlen + 2] << 16 | (uint32_t)raw[rawlen + 3] << 24;
    if (checksum(raw, rawlen) != want) {
        rc = hx_fail(e, HX_EUSAGE, "histogram: checksum mismatch (corrupted or truncated)");
        goto done;
    }
    reader r = {raw, raw + rawlen};
    uint64_t f[7];
    for (int i = 0; i < 7; i++) {
        if (!get_varint(&r, &f[i]) || f[i] > INT64_MAX) {
            rc = hx_fail(e, HX_EUSAGE, "histogram: bad or missing field '%s'", field_names[i]);
            goto done;
        }
    }
    if (f[2] < 1 || f[2] > 5) {
        rc = hx_fail(e, HX_EUSAGE, "histogram: sigfigs %llu out of range 1..5",
                     (unsigned long long)f[2]);
        goto done;
    }
    hist geo;
    if (geometry(&geo, (int64_t)f[0], (int64_t)f[1], (int)f[2])) {
        rc = hx_fail(e, HX_EUSAGE, "histogram: invalid range lowest=%llu highest=%llu",
                     (unsigned long long)f[0], (unsigned long long)f[1]);
        goto done;
    }
    rc = hist_new((int64_t)f[0], (int64_t)f[1], (int)f[2], &h);
    if (rc) {
        hx_fail(e, rc, "histogram: out of memory");
        goto done;
    }
    int64_t idx = 0, total = 0;
    bool last_skip = false;
    while (r.p < r.end) {
        uint64_t z;
        if (!get_varint(&r, &z)) {
            rc = hx_fail(e, HX_EUSAGE, "histogram: bad varint in counts");
            goto done;
        }
        /* zig-zag: even = count z/2, odd = skip (z+1)/2 zero counters */
        uint64_t mag = (z >> 1) + (z & 1);
        if (mag == 0) {
            rc = hx_fail(e, HX_EUSAGE, "histogram: zero-length run in counts");
            goto done;
        }
        if ((uint64_t)(h->counts_len - idx) < (z & 1 ? mag : 1)) {
            rc = hx_fail(e, HX_EUSAGE, "histogram: counts run past the last bucket (%d)",
                         (int)h->counts_len);
            goto done;
        }
        if (z & 1) {
            if (last_skip) {
                rc = hx_fail(e, HX_EUSAGE, "histogram: two skips in a row (not canonical)");
                goto done;
            }
            idx += (int64_t)mag;
            last_skip = true;
            continue;
        }
        if (__builtin_add_overflow(total, (int64_t)mag, &total)) {
            rc = hx_fail(e, HX_EUSAGE, "histogram: total count overflows");
            goto done;
        }
        h->counts[idx++] = (int64_t)mag;
        last_skip = false;
    }
    if (last_skip) {
        rc = hx_fail(e, HX_EUSAGE, "histogram: trailing skip (not canonical)");
        goto done;
    }
    int64_t mn = (int64_t)f[3], mx = (int64_t)f[4];
    h->total = total;
    h->over = (int64_t)f[5];
    h->under = (int64_t)f[6];
    if (!total) {
        if (mn || mx) {
            rc = hx_fail(e, HX_EUSAGE, "histogram: min/max set on an empty histogram");
            goto done;
        }
        goto done;
    }
    int32_t first = 0, last = h->counts_len - 1;
    while (!h->counts[first])
        first++;
    while (!h->counts[last])
        last--;
    if (mn > mx || mx > h->highest || counts_index(h, mn) != first || counts_index(h, mx) != last) {
        rc = hx_fail(e, HX_EUSAGE, "histogram: min/max do not match the counts");
        goto done;
    }
    h->min = mn;
    h->max = mx;
done:
    hx_free(raw);
    if (rc) {
        hist_free(h);
        return rc;
    }
    *out = h;
    return 0;
}
