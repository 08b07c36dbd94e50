/* fuzz_runjson.c - libFuzzer target for the run.json and journal readers: compare and merge read
 * files from other machines. Whatever parses must survive a write and read back equal. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    results_run *r = NULL;
    hx_err e = {0};
    if (runjson_parse((const char *)data, size, "fuzz", &r, &e) == 0) {
        results_run_settle(r);
        char *text = runjson_dump(r, false, &e);
        if (text) {
            results_run *b = NULL;
            if (runjson_parse(text, strlen(text), "fuzz2", &b, &e) != 0)
                abort(); /* the writer produced something the reader refuses */
            if (!results_run_equal(r, b, NULL, 0)) abort();
            results_run_free(b);
            hx_free(text);
        }
        results_run_free(r);
    }
    size_t torn;
    if (runjson_journal_parse((const char *)data, size, "fuzz", &r, &torn, &e) == 0)
        results_run_free(r);
    return 0;
}
