/* replay_files.c - landing files, written atomically. See replay.h. */
#include "replay.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmt.h"

void replay_file_name(const plan_dataset *d, const plan_step *st, int64_t b, char *buf, size_t n)
{
    const char *ext = st->format == PLAN_FMT_JSONL ? "jsonl" : "csv";
    if (b >= 0)
        snprintf(buf, n, "%s-%04lld.%s", d->name, (long long)b, ext);
    else
        snprintf(buf, n, "%s.%s", d->name, ext);
}

/* A relative folder that stays inside the landing dir. */
static bool safe_rel(const char *p)
{
    if (!p[0] || p[0] == '/') return false;
    for (const char *s = p; *s;) {
        size_t n = strcspn(s, "/");
        if (n == 2 && s[0] == '.' && s[1] == '.') return false;
        s += n;
        while (*s == '/')
            s++;
    }
    return true;
}

/* One file: the header of `batch` (0 for all), then the emissions of `batch` (-1 all), by the
 * dataset writer `harness gen` uses, into a temp file renamed when complete. */
static int write_one(gen *g, size_t ds, const plan_step *st, const char *dir, int64_t batch,
                     bool per_batch, replay_stats *out, hx_sha256 *sha, hx_err *e)
{
    const plan_dataset *d = &gen_scenario(g)->datasets[ds];
    char name[512], path[PATH_MAX];
    replay_file_name(d, st, per_batch ? batch : -1, name, sizeof name);
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return hx_fail(e, HX_EIO, "path too long: '%s/%s'", dir, name);
    /* A hidden temp file renamed when complete: the solution never sees a partial file. */
    hx_afile a;
    int rc = hx_afile_open(&a, path, 0, e);
    if (rc) return rc;
    fmt_write_stats ws;
    rc = fmt_write_dataset(g, ds, st->format, batch, a.f, sha, &ws, e);
    if (rc) {
        hx_afile_abort(&a);
        return rc;
    }
    out->rows += ws.rows;
    out->corrupt += ws.corrupt;
    out->bytes += ws.bytes;
    if ((rc = hx_afile_commit(&a, e))) return rc;
    out->files++;
    return 0;
}

int replay_files(gen *g, size_t ds, const plan_step *st, const char *landing_dir, int64_t batch,
                 replay_stats *out, hx_err *e)
{
    int64_t t0 = hx_now_ns();
    memset(out, 0, sizeof *out);
    const plan_dataset *d = &gen_scenario(g)->datasets[ds];
    const char *where = st->where ? st->where : "replay";
    if (strchr(d->name, '/') || !d->name[0] || d->name[0] == '.')
        return hx_fail(e, HX_EUSAGE, "%s: dataset name '%s' cannot be a file name", where, d->name);
    const char *sub = st->dir && st->dir[0] ? st->dir : d->name;
    if (!safe_rel(sub))
        return hx_fail(e, HX_EUSAGE,
                       "%s: dir '%s' must be a relative folder inside the landing dir (no '..')",
                       where, sub);
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s/%s", landing_dir, sub) >= (int)sizeof dir)
        return hx_fail(e, HX_EIO, "path too long: '%s/%s'", landing_dir, sub);
    int rc = hx_mkdir_p(dir, e);
    if (rc) return rc;
    hx_sha256 sha;
    hx_sha256_init(&sha);
    uint32_t nb = gen_batches(g, ds);
    if (batch >= (int64_t)nb)
        return hx_fail(e, HX_EUSAGE, "%s: batch %lld out of range (dataset '%s' has %u)", where,
                       (long long)batch, d->name, nb);
    if (st->per_batch && batch < 0) {
        for (uint32_t b = 0; b < nb && !rc; b++, out->batches++)
            rc = write_one(g, ds, st, dir, b, true, out, &sha, e);
    } else {
        rc = write_one(g, ds, st, dir, batch, st->per_batch, out, &sha, e);
        out->batches = batch >= 0 ? 1 : nb;
    }
    if (rc) return rc;
    /* The renames are durable once the folder is. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    hx_sha256_final(&sha, out->sha256);
    out->seconds = (double)(hx_now_ns() - t0) / 1e9;
    return 0;
}
