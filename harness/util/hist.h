/* hist.h - latency histograms: HDR-style log-linear buckets with a fixed relative precision, O(1)
 * record, fixed memory after init, exact merge, and a compact text form for run.json.
 *
 * Model: HdrHistogram_c. A histogram covers values 0..highest (int64, e.g. nanoseconds). Values are
 * grouped in buckets whose width is at most value * 10^-sigfigs (and at most the largest power of
 * two
 * <= lowest for small values), so every statistic read back is within that relative error of the
 * exact answer. Exact min and max are kept beside the buckets, so p0 == min and p100 == max.
 *
 * Accuracy guarantee of hist_percentile(): with x the exact p-th value of the recorded data (rank
 * max(1, round(p/100 * count)) in sorted order), the result r satisfies
 *     x <= r <= x + max(x * 10^-sigfigs, lowest_unit - 1),   and min <= r <= max,
 * where lowest_unit is the largest power of two <= lowest. mean and stddev are computed from bucket
 * midpoints and carry the same relative error.
 *
 * Ownership: hist_init fills caller storage and hist_release frees what it allocated; hist_new and
 * hist_decode return a heap histogram the caller frees with hist_free. hist_encode returns a string
 * the caller frees with hx_free. A hist is not thread-safe: one writer, or external locking. */
#ifndef HX_HIST_H
#define HX_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

typedef struct hist {
    int64_t lowest;         /* lowest discernible value (>= 1): the resolution of small values */
    int64_t highest;        /* highest trackable value; larger values are counted in `over` */
    int sigfigs;            /* significant decimal digits kept, 1..5 */
    int unit_magnitude;     /* floor(log2(lowest)): bucket 0 steps by 2^unit_magnitude */
    int sub_half_magnitude; /* log2 of half the sub-buckets per bucket */
    int32_t sub_count;      /* sub-buckets per bucket (a power of two >= 2 * 10^sigfigs) */
    int32_t sub_half_count; /* sub_count / 2: buckets > 0 only use their upper half */
    int64_t sub_mask;       /* (sub_count - 1) << unit_magnitude, ORed in before clz */
    int32_t bucket_count;   /* buckets needed to reach highest */
    int32_t counts_len;     /* number of counters */
    int64_t *counts;        /* counters, counts_len of them, owned */
    int64_t total;          /* values recorded (sum of counts) */
    int64_t min;            /* exact smallest recorded value; INT64_MAX when empty */
    int64_t max;            /* exact largest recorded value; 0 when empty */
    int64_t over;           /* values rejected because they were > highest */
    int64_t under;          /* values rejected because they were negative */
} hist;

/* Fill h for values 0..highest with `sigfigs` significant digits. lowest >= 1 is the smallest
 * value that must be told apart from its neighbours (1 for ns timings); highest >= 2 * lowest.
 * Returns 0, HX_EUSAGE (bad parameters) or HX_ENOMEM. On failure h needs no release. */
int hist_init(hist *h, int64_t lowest, int64_t highest, int sigfigs);
/* Free the counters of h; h may be hist_init'ed again. Safe on a zeroed hist. */
void hist_release(hist *h);
/* Heap variant of hist_init: *out is freed with hist_free. Same return codes. */
int hist_new(int64_t lowest, int64_t highest, int sigfigs, hist **out);
/* Free a hist from hist_new or hist_decode. NULL is fine. */
void hist_free(hist *h);
/* Forget every recorded value (counts, min, max, over, under); keeps the configuration. */
void hist_clear(hist *h);

/* Record v once. Returns false, and counts v in h->over or h->under, when v > highest or v < 0. */
bool hist_record(hist *h, int64_t v);
/* Record v n times (n >= 0). False when v is out of range (counted n times in over/under), when
 * n < 0, or when the total count would overflow int64 (then nothing is recorded). */
bool hist_record_n(hist *h, int64_t v, int64_t n);
/* Take back one v recorded before (a value superseded: an answer replaced by a later one).
 * Returns false when no value of v's bucket is recorded (nothing changes; out of range: one
 * over or under is taken back). When v was the minimum or the maximum, the new one is known to
 * its bucket: the nearest bound of the next non-empty bucket, never further out than v. */
bool hist_unrecord(hist *h, int64_t v);
/* Record v, then correct for coordinated omission like HdrHistogram/wrk2: when v exceeds the
 * expected interval between requests, the requests that should have been sent while this one was
 * stalled are back-filled as v - interval, v - 2*interval, ... down to values >= interval.
 * interval <= 0 records v alone. Returns false when v is out of range (nothing is back-filled). */
bool hist_record_corrected(hist *h, int64_t v, int64_t interval);

/* The p-th percentile, p in [0, 100] (clamped; NaN reads as 0), as the highest value equivalent to
 * the bucket holding that rank, clamped to [min, max]; see the accuracy guarantee above. 0 when
 * empty. */
int64_t hist_percentile(const hist *h, double p);
/* Percentiles for n values of ps (any order, each as in hist_percentile) into out[n], in one pass
 * over the counters when ps is ascending. Returns n. For the reports' percentile curve. */
size_t hist_curve(const hist *h, const double *ps, size_t n, int64_t *out);

int64_t hist_count(const hist *h); /* values recorded (not counting over/under) */
int64_t hist_min(const hist *h);   /* exact minimum, 0 when empty */
int64_t hist_max(const hist *h);   /* exact maximum, 0 when empty */
double hist_mean(const hist *h);   /* mean of bucket midpoints, 0 when empty */
double hist_stddev(const hist *h); /* population standard deviation, 0 when empty */

/* The lowest and highest value that land in the same bucket as v (v in range). */
int64_t hist_lowest_equivalent(const hist *h, int64_t v);
int64_t hist_highest_equivalent(const hist *h, int64_t v);

/* Add src's counts, min, max, over and under to dst. Exact: the result equals recording both
 * streams into one histogram. Both must have the same lowest, highest and sigfigs, else HX_EUSAGE
 * and dst is unchanged; HX_EUSAGE also when the total count would overflow. */
int hist_merge(hist *dst, const hist *src);

/* Walks the non-zero buckets in ascending value order, for drawing a histogram. */
typedef struct hist_iter {
    int32_t index; /* next counter to look at; start at 0 (or use HIST_ITER_INIT) */
    int64_t lo;    /* current bucket: lowest equivalent value */
    int64_t hi;    /* current bucket: highest equivalent value */
    int64_t count; /* current bucket: values recorded in [lo, hi] */
} hist_iter;
#define HIST_ITER_INIT                                                                             \
    {                                                                                              \
        0, 0, 0, 0                                                                                 \
    }
/* Advance it to the next non-zero bucket; false at the end. */
bool hist_iter_next(const hist *h, hist_iter *it);

/* Encode h as "hx1:" followed by unpadded base64url of: varints lowest, highest, sigfigs, min,
 * max, over, under, then zig-zag varint runs over the counters (a positive n is a counter of
 * n, a negative -k skips k zero counters), then a 4-byte checksum. Empty histograms encode in a few
 * bytes; 100k lognormal latencies spread over five decades at 3 sigfigs take ~17 kB. The form is
 * canonical: one histogram has exactly one encoding. Returns NULL when out of memory. Free the
 * string with hx_free. */
char *hist_encode(const hist *h);
/* Decode a string from hist_encode. The input is untrusted (run.json from another machine): every
 * field, length, run and sum is checked, and any mismatch is HX_EUSAGE with a message saying
 * what is wrong; HX_ENOMEM when out of memory. On success *out is a new hist (free with
 * hist_free); on failure *out is NULL. */
int hist_decode(const char *s, hist **out, hx_err *e);

#endif
