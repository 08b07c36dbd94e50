/* hist_bench.c - what a latency histogram costs: ns per hist_record, against the plain approach
 * of keeping every value in an array and sorting it (qsort + index) for percentiles, in one run.
 *
 *   ninja -C build bench/hist_bench && build/bench/hist_bench [values] [sigfigs]
 *
 * Default 100M values (the array side then holds 800 MB). Values are drawn inline from the same
 * cheap generator on both sides, and the generator's own cost is measured and subtracted. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"

static inline uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Latency-like values: a 1..2^30 ns span with most mass at small values. */
static inline int64_t value(uint64_t r)
{
    return (int64_t)((r >> 34) >> (r & 15)) + 1;
}

static int cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static const double ps[] = {50, 90, 99, 99.9, 99.99, 100};
#define NPS (sizeof ps / sizeof ps[0])

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000000ull;
    int sigfigs = argc > 2 ? atoi(argv[2]) : 3;
    if (n == 0 || sigfigs < 1 || sigfigs > 5) {
        fprintf(stderr, "usage: hist_bench [values > 0] [sigfigs 1..5]\n");
        return 2;
    }

    uint64_t s = 42, sink = 0;
    int64_t t0 = hx_now_ns();
    for (uint64_t i = 0; i < n; i++)
        sink += (uint64_t)value(next(&s));
    int64_t t_rng = hx_now_ns() - t0;

    hist h;
    if (hist_init(&h, 1, 3600LL * 1000000000LL, sigfigs) != 0) {
        fprintf(stderr, "hist_init failed\n");
        return 1;
    }
    s = 42;
    t0 = hx_now_ns();
    for (uint64_t i = 0; i < n; i++)
        hist_record(&h, value(next(&s)));
    int64_t t_rec = hx_now_ns() - t0;
    int64_t hp[NPS];
    t0 = hx_now_ns();
    hist_curve(&h, ps, NPS, hp);
    int64_t t_hq = hx_now_ns() - t0;

    int64_t *arr = malloc(n * sizeof *arr);
    if (!arr) {
        fprintf(stderr, "cannot allocate %" PRIu64 " bytes for the array side; pass fewer values\n",
                n * 8);
        return 1;
    }
    s = 42;
    t0 = hx_now_ns();
    for (uint64_t i = 0; i < n; i++)
        arr[i] = value(next(&s));
    int64_t t_app = hx_now_ns() - t0;
    t0 = hx_now_ns();
    qsort(arr, n, sizeof *arr, cmp);
    int64_t ap[NPS];
    for (size_t k = 0; k < NPS; k++) {
        double r = ps[k] / 100.0 * (double)n + 0.5;
        uint64_t rank = r >= (double)n ? n : (uint64_t)r;
        ap[k] = arr[(rank ? rank : 1) - 1];
    }
    int64_t t_sort = hx_now_ns() - t0;

    double per = (double)n;
    double rec_ns = (double)(t_rec - t_rng) / per;
    double hist_total = (double)(t_rec - t_rng + t_hq) / per;
    double arr_total = (double)(t_app - t_rng + t_sort) / per;
    printf("values %" PRIu64 ", sigfigs %d (generator %.2f ns/value, subtracted)\n", n, sigfigs,
           (double)t_rng / per);
    printf("hist_record          %8.2f ns/value   memory %zu bytes (fixed)\n", rec_ns,
           (size_t)h.counts_len * sizeof *h.counts);
    printf("hist percentiles     %8.3f ms for %zu percentiles\n", (double)t_hq / 1e6, NPS);
    printf("array append         %8.2f ns/value\n", (double)(t_app - t_rng) / per);
    printf("array qsort+index    %8.2f ns/value   memory %" PRIu64 " bytes (grows)\n",
           (double)t_sort / per, n * 8);
    printf("ratio (array total / hist total): %.1fx\n", arr_total / hist_total);
    for (size_t k = 0; k < NPS; k++)
        printf("  p%-6g hist %12" PRId64 "  exact %12" PRId64 "  rel.err %.2e\n", ps[k], hp[k],
               ap[k], ap[k] ? (double)(hp[k] - ap[k]) / (double)ap[k] : 0.0);
    fprintf(stderr, "%" PRIu64 "\n", sink & 1); /* keeps the generator loop */
    free(arr);
    hist_release(&h);
    return 0;
}
