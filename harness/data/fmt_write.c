/* fmt_write.c - the dataset writer: one dataset (or batch) as a file's bytes, for `harness gen`
 * and the run's landing files alike. See fmt.h. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fmt.h"

/* Writing a whole dataset in parallel. Records are pure functions of (seed, id), so worker threads
 * each format a chunk of originals (plus the copies that arrive among them, gen_cursor_init_range)
 * into their own buffer, while the calling thread hashes and writes the chunks in order: the bytes
 * are exactly those of the one-thread loop. Chunks are big enough that handing one over (a mutex,
 * a condition variable) costs nothing next to making it, and small enough that a few per worker
 * keep everyone busy. Datasets with a Lua row function stay on one thread: Lua is not reentrant. */
#define PAR_CHUNK 16384        /* originals per chunk */
#define PAR_MAX_WORKERS 8      /* beyond this the writer's hashing is the bottleneck anyway */
#define PAR_SLOTS_PER_WORKER 3 /* chunks in flight per worker: one being made, two waiting */

typedef enum { SLOT_FREE, SLOT_BUSY, SLOT_READY } par_state;

typedef struct par_slot {
    hx_buf buf;       /* the chunk's bytes */
    uint64_t chunk;   /* the chunk the slot holds (BUSY / READY) */
    uint64_t emitted; /* emissions in it */
    uint64_t corrupt; /* emissions in it with a corruption applied */
    par_state state;  /* FREE: the writer is done with it */
    int rc;           /* the worker's error (READY with rc < 0), else 0 */
    hx_err err;       /* its message */
} par_slot;

typedef struct par_job {
    gen *g;              /* borrowed; only read by the workers */
    size_t ds;           /* dataset index */
    plan_format f;       /* output format */
    uint64_t rows;       /* the dataset's originals */
    uint64_t nchunks;    /* ceil(rows / PAR_CHUNK) */
    uint64_t next_chunk; /* next chunk a worker claims; chunks are claimed in order */
    bool stop;           /* the writer or a worker failed: claim nothing more */
    par_slot *slots;     /* chunk c lives in slots[c % nslots] */
    size_t nslots;       /* PAR_SLOTS_PER_WORKER * workers */
    pthread_mutex_t mu;  /* guards next_chunk, stop and every slot's state */
    pthread_cond_t cv;   /* a slot changed state or stop was set */
} par_job;

/* Format chunk c into slot->buf (cleared first). */
static int par_make(par_job *j, uint64_t c, par_slot *slot)
{
    const plan_dataset *d = &gen_scenario(j->g)->datasets[j->ds];
    uint64_t lo = c * PAR_CHUNK, hi = lo + PAR_CHUNK < j->rows ? lo + PAR_CHUNK : j->rows;
    gen_cursor cur;
    const gen_record *r;
    hx_buf_clear(&slot->buf);
    slot->corrupt = 0;
    int rc = gen_cursor_init_range(&cur, j->g, j->ds, lo, hi, &slot->err);
    if (rc < 0) return rc;
    while ((rc = gen_cursor_next(&cur, &r, &slot->err)) > 0) {
        if (!fmt_record(&slot->buf, d, j->f, r)) {
            rc = hx_fail(&slot->err, HX_ENOMEM, "out of memory writing dataset '%s'", d->name);
            break;
        }
        slot->corrupt += r->corrupt != 0;
    }
    slot->emitted = cur.emitted;
    gen_cursor_release(&cur);
    return rc < 0 ? rc : 0;
}

static void *par_worker(void *arg)
{
    par_job *j = arg;
    pthread_mutex_lock(&j->mu);
    while (!j->stop && j->next_chunk < j->nchunks) {
        uint64_t c = j->next_chunk;
        par_slot *slot = &j->slots[c % j->nslots];
        if (slot->state != SLOT_FREE) { /* the writer has not taken chunk c - nslots yet */
            pthread_cond_wait(&j->cv, &j->mu);
            continue;
        }
        j->next_chunk++;
        slot->state = SLOT_BUSY;
        slot->chunk = c;
        pthread_mutex_unlock(&j->mu);
        int rc = par_make(j, c, slot);
        pthread_mutex_lock(&j->mu);
        slot->rc = rc;
        slot->state = SLOT_READY;
        if (rc < 0) j->stop = true; /* the chunks before this one are claimed and will finish */
        pthread_cond_broadcast(&j->cv);
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* Worker threads for a dataset of `rows` originals, 0 when one thread should do. */
static int par_workers(const plan_dataset *d, int64_t batch)
{
    if (batch >= 0 || d->row_hook || d->rows < 4 * (uint64_t)PAR_CHUNK) return 0;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 2) return 0;
    return n > PAR_MAX_WORKERS ? PAR_MAX_WORKERS : (int)n;
}

/* fmt_write_dataset with nw worker threads; the header is already in b. */
static int par_write(gen *g, size_t ds, plan_format f, int nw, hx_buf *b, FILE *out, hx_sha256 *sha,
                     fmt_write_stats *st, hx_err *e)
{
    const plan_dataset *d = &gen_scenario(g)->datasets[ds];
    par_job j = {.g = g, .ds = ds, .f = f, .rows = d->rows};
    pthread_t th[PAR_MAX_WORKERS];
    int started = 0, rc = 0;
    j.nchunks = (d->rows + PAR_CHUNK - 1) / PAR_CHUNK;
    j.nslots = (size_t)nw * PAR_SLOTS_PER_WORKER;
    j.slots = hx_calloc(j.nslots, sizeof *j.slots);
    if (!j.slots) return hx_fail(e, HX_ENOMEM, "out of memory writing dataset '%s'", d->name);
    for (size_t i = 0; i < j.nslots; i++)
        hx_buf_init(&j.slots[i].buf);
    pthread_mutex_init(&j.mu, NULL);
    pthread_cond_init(&j.cv, NULL);
    /* The header goes first, through the same hash and write as the chunks. */
    if (sha) hx_sha256_update(sha, b->data, b->len);
    if (fwrite(b->data, 1, b->len, out) != b->len) {
        rc = hx_fail(e, HX_EIO, "cannot write dataset '%s': %s", d->name, strerror(errno));
        goto done;
    }
    st->bytes += b->len;
    for (; started < nw; started++)
        if (pthread_create(&th[started], NULL, par_worker, &j) != 0) break;
    if (!started) {
        rc = hx_fail(e, HX_EINFRA, "cannot start a thread to write dataset '%s'", d->name);
        goto done;
    }
    for (uint64_t c = 0; c < j.nchunks; c++) {
        par_slot *slot = &j.slots[c % j.nslots];
        pthread_mutex_lock(&j.mu);
        while (!(slot->state == SLOT_READY && slot->chunk == c))
            pthread_cond_wait(&j.cv, &j.mu);
        pthread_mutex_unlock(&j.mu);
        if (slot->rc < 0) {
            rc = slot->rc;
            if (e) *e = slot->err;
            break;
        }
        if (sha) hx_sha256_update(sha, slot->buf.data, slot->buf.len);
        if (fwrite(slot->buf.data, 1, slot->buf.len, out) != slot->buf.len) {
            rc = hx_fail(e, HX_EIO, "cannot write dataset '%s': %s", d->name, strerror(errno));
            break;
        }
        st->rows += slot->emitted;
        st->corrupt += slot->corrupt;
        st->bytes += slot->buf.len;
        pthread_mutex_lock(&j.mu);
        slot->state = SLOT_FREE;
        pthread_cond_broadcast(&j.cv);
        pthread_mutex_unlock(&j.mu);
    }
    pthread_mutex_lock(&j.mu);
    j.stop = true; /* on success every chunk is claimed already; on failure, claim no more */
    pthread_cond_broadcast(&j.cv);
    pthread_mutex_unlock(&j.mu);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
done:
    for (size_t i = 0; i < j.nslots; i++)
        hx_buf_release(&j.slots[i].buf);
    hx_free(j.slots);
    pthread_cond_destroy(&j.cv);
    pthread_mutex_destroy(&j.mu);
    return rc;
}

int fmt_write_dataset(gen *g, size_t ds, plan_format f, int64_t batch, FILE *out, hx_sha256 *sha,
                      fmt_write_stats *st, hx_err *e)
{
    const plan_scenario *s = gen_scenario(g);
    fmt_write_stats mine;
    if (!st) st = &mine;
    memset(st, 0, sizeof *st);
    gen_cursor cur;
    hx_buf b;
    int rc = gen_cursor_init(&cur, g, ds, batch, e);
    if (rc < 0) return rc;
    const plan_dataset *d = &s->datasets[ds];
    hx_buf_init(&b);
    int nw = par_workers(d, batch);
    if (!hx_buf_reserve(&b, nw > 0 ? 1 << 12 : 1 << 17) ||
        !fmt_header(&b, d, f, batch < 0 ? 0 : (uint32_t)batch)) {
        rc = hx_fail(e, HX_ENOMEM, "out of memory writing dataset '%s'", d->name);
        goto done;
    }
    if (nw > 0) {
        rc = par_write(g, ds, f, nw, &b, out, sha, st, e);
        if (rc < 0) goto done;
        goto flush;
    }
    const gen_record *r;
    for (;;) {
        rc = gen_cursor_next(&cur, &r, e);
        if (rc < 0) goto done;
        if (rc > 0) {
            if (!fmt_record(&b, d, f, r)) {
                rc = hx_fail(e, HX_ENOMEM, "out of memory writing dataset '%s'", d->name);
                goto done;
            }
            st->rows++;
            st->corrupt += r->corrupt != 0;
        }
        if (b.len >= (1 << 16) || (rc == 0 && b.len)) {
            if (sha) /* hashing costs as much as generating: only when asked */
                hx_sha256_update(sha, b.data, b.len);
            if (fwrite(b.data, 1, b.len, out) != b.len) {
                rc = hx_fail(e, HX_EIO, "cannot write dataset '%s': %s", d->name, strerror(errno));
                goto done;
            }
            st->bytes += b.len;
            hx_buf_clear(&b);
        }
        if (rc == 0) break;
    }
flush:
    if (fflush(out) != 0) {
        rc = hx_fail(e, HX_EIO, "cannot write dataset '%s': %s", d->name, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    hx_buf_release(&b);
    gen_cursor_release(&cur);
    return rc;
}
