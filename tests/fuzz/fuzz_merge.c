/* fuzz_merge.c - libFuzzer target for harness merge: the shards' run.json files come from other
 * machines. The input is up to four run.json documents separated by NUL bytes. Whatever merges
 * must keep every scenario exactly once, survive a write and read back equal, and merge its
 * histograms without crashing; whatever is refused must leave every input its scenarios. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merge.h"
#include "runjson.h"

#define MAX_INPUTS 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    merge_input in[MAX_INPUTS] = {0};
    size_t had[MAX_INPUTS] = {0}, n = 0, total = 0;
    static const char *const names[MAX_INPUTS] = {"a.json", "b.json", "c.json", "d.json"};
    const char *p = (const char *)data, *end = p + size;
    bool ok = true;
    while (ok && n < MAX_INPUTS && p <= end) {
        const char *nul = memchr(p, '\0', (size_t)(end - p));
        size_t len = nul ? (size_t)(nul - p) : (size_t)(end - p);
        hx_err e = {0};
        in[n].name = names[n];
        ok = runjson_parse(p, len, names[n], &in[n].run, &e) == 0;
        if (ok) total += had[n] = in[n].run->nscenarios;
        n++;
        if (!nul) break;
        p = nul + 1;
    }
    if (ok) {
        results_run *m = NULL;
        merge_notes notes = {0};
        hx_err e = {0};
        if (merge_runs(in, n, &m, &notes, &e) == 0) {
            if (m->nscenarios != total || m->totals.scenarios != (int64_t)total) abort();
            char *text = runjson_dump(m, false, &e);
            if (text) {
                results_run *b = NULL;
                if (runjson_parse(text, strlen(text), "merged", &b, &e) != 0) abort();
                if (!results_run_equal(m, b, NULL, 0)) abort();
                results_run_free(b);
                hx_free(text);
            }
            for (size_t s = 0; s < m->nscenarios && s < 4; s++)
                for (size_t h = 0; h < m->scenarios[s].nhistograms; h++) {
                    hist *x = NULL;
                    if (merge_hist(m, m->scenarios[s].histograms[h].name, &x, NULL, &e) == 0)
                        hist_free(x);
                }
        } else {
            if (m) abort();
            for (size_t i = 0; i < n; i++)
                if (in[i].run->nscenarios != had[i]) abort();
        }
        merge_notes_release(&notes);
        results_run_free(m);
    }
    for (size_t i = 0; i < n; i++)
        results_run_free(in[i].run);
    return 0;
}
