/* fuzz_hist.c - libFuzzer target for hist_decode, which reads histograms out of run.json files
 * from other machines. Each input is tried twice: as the text itself, and as a raw payload
 * wrapped the way the encoder wraps it (checksum + base64url) so the fuzzer reaches the checks
 * behind the checksum. Whatever decodes must re-encode to the same text (the form is canonical)
 * and answer queries without tripping the sanitizers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *wrap(const uint8_t *data, size_t n)
{
    uint8_t *raw = malloc(n + 4);
    char *s = malloc(4 + (n + 4) / 3 * 4 + 5);
    if (!raw || !s) {
        free(raw);
        free(s);
        return NULL;
    }
    memcpy(raw, data, n);
    uint32_t sum = (uint32_t)hx_hash64(data, n);
    for (int i = 0; i < 4; i++)
        raw[n + i] = (uint8_t)(sum >> (8 * i));
    memcpy(s, "hx1:", 4);
    size_t o = 4;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n + 4; i++) {
        acc = (acc << 8) | raw[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            s[o++] = b64[(acc >> bits) & 63];
        }
        acc &= (1u << bits) - 1;
    }
    if (bits) s[o++] = b64[(acc << (6 - bits)) & 63];
    s[o] = 0;
    free(raw);
    return s;
}

static void try_decode(const char *s)
{
    hist *h = NULL;
    hx_err e = {0};
    if (hist_decode(s, &h, &e) != 0) {
        if (h || e.code == 0 || e.msg[0] == 0)
            abort(); /* a failure must say why and hand out nothing */
        return;
    }
    char *again = hist_encode(h);
    if (!again || strcmp(again, s) != 0) abort();
    hx_free(again);
    static const double ps[] = {0, 50, 99.9, 100, 25};
    int64_t out[5];
    hist_curve(h, ps, 5, out);
    for (int i = 0; i < 5; i++)
        if (hist_count(h) && (out[i] < hist_min(h) || out[i] > hist_max(h))) abort();
    (void)hist_mean(h);
    (void)hist_stddev(h);
    hist_iter it = HIST_ITER_INIT;
    int64_t total = 0;
    while (hist_iter_next(h, &it))
        total += it.count;
    if (total != hist_count(h)) abort();
    hist_free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16) return 0;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    try_decode(text);
    free(text);
    char *wrapped = wrap(data, size);
    if (wrapped) try_decode(wrapped);
    free(wrapped);
    return 0;
}
