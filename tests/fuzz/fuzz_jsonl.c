/* fuzz_jsonl.c - libFuzzer target for the JSONL reader of rd.h. The first byte picks tolerant
 * mode and a small record cap; the rest is the file. Each input is read in one chunk, one byte at
 * a time and through a FILE, and the three reads must agree; every record that is not malformed
 * names each field with a distinct key. */
#include "fuzz_rd_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t b = data[0];
    rd_opts o = {.format = RD_JSONL, .tolerant = b & 1, .max_record = b & 2 ? 200 : 0};
    data++, size--;
    hx_buf t;
    hx_buf_init(&t);
    read_three_ways(data, size, o, &t);
    hx_buf_release(&t);

    /* keys of good records are there and distinct (duplicates make the line malformed) */
    hx_err e = {0};
    o.tolerant = true;
    rd_reader *r = rd_open_mem(data, size, "fuzz", &o, &e);
    if (!r) abort(); /* JSONL has no header: opening memory cannot fail */
    rd_record rec;
    while (rd_next(r, &rec, &e) == 1) {
        if (rec.error) {
            if (rec.ncols) abort();
            continue;
        }
        for (size_t i = 0; i < rec.ncols && i < 64; i++) {
            if (!rec.names[i]) abort();
            for (size_t j = 0; j < i; j++)
                if (strcmp(rec.names[i], rec.names[j]) == 0) abort();
        }
    }
    rd_close(r);
    return 0;
}
