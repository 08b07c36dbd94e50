/* cmd_gen.c - `harness gen SCENARIO.lua`: write one dataset of a scenario (and optionally its
 * ledger) as CSV or JSONL, so contestants can develop against the exact data a run replays. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "fmt.h"
#include "gen.h"
#include "ledger.h"
#include "replay.h"
#include "scen.h"

const char gen_usage[] =
    "usage: harness gen PACK/SCENARIO.lua --out FILE [--dataset NAME] [--format csv|jsonl]\n"
    "                  [--ledger FILE] [--seed N] [--batch K] [--unsafe-lua]\n"
    "       harness gen PACK/SCENARIO.lua --landing DIR [--dataset NAME] [--seed N]\n"
    "\n"
    "Generate one dataset of a scenario (faults included) and write it to FILE ('-' for\n"
    "standard output): all its records with one header (the shape of batch 0; records of a\n"
    "drifted batch carry their own), as a files step without per = \"batch\" lands it, or with\n"
    "--batch K the file a per = \"batch\" step lands for batch K, header of that batch.\n"
    "--landing DIR writes what the scenario's files steps land, exactly as a run does: the\n"
    "same folders, names and bytes (one file per batch where the step says per = \"batch\").\n"
    "Prints the record count and the sha256 of the bytes to standard error. Files are written\n"
    "to a temporary name and renamed, so a failed run leaves no partial file.\n"
    "\n"
    "options:\n"
    "  --out FILE      where to write the records ('-' = stdout; required without --landing)\n"
    "  --landing DIR   write the landing files of the scenario's files steps under DIR\n"
    "  --dataset NAME  which dataset (required when the scenario has several)\n"
    "  --format F      csv (default, or from a .jsonl FILE) or jsonl\n"
    "  --ledger FILE   also write the ground truth: one JSON line per fault hit\n"
    "  --seed N        XOR the scenario seed with N (as 'harness run --seed N')\n"
    "  --batch K       only batch K (0-based)\n"
    "  --unsafe-lua    open Lua's full standard libraries\n"
    "  -h, --help      this text\n";

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Whether step st lands dataset ds as files. */
static bool files_step_of(const plan_step *st, int ds)
{
    return st->kind == PLAN_STEP_INTO && st->target == PLAN_TGT_FILES &&
           (ds < 0 || st->dataset == (size_t)ds);
}

/* --landing DIR: every files step of the scenario (of dataset dsname only, when given) writes its
 * files under DIR through the replayer a run uses, so the bytes and names are the run's. */
static int gen_landing(const char *file, const scen_opts *so, const char *dsname,
                       const char *landing)
{
    int ret = HX_EXIT_OK, rc;
    hx_err e = {0};
    scen *s = NULL;
    gen *g = NULL;
    rc = scen_new(so, &s, &e);
    if (!rc) rc = scen_load_file(s, file, &e);
    if (rc) {
        for (size_t i = 0; s && i < scen_problem_count(s); i++)
            hx_error("%s", hx_g.verbose ? scen_problem_detail(s, i) : scen_problem(s, i));
        if (!s || scen_problem_count(s) == 0) hx_error("%s", e.msg);
        ret = hx_exit_code(rc);
        goto cleanup;
    }
    const plan_scenario *sc = &scen_pack(s)->scenarios[0];
    int ds = -1;
    if (dsname && (ds = plan_scenario_dataset(sc, dsname)) < 0) {
        hx_error("gen: scenario '%s' has no dataset '%s'", sc->name, dsname);
        ret = HX_EXIT_USAGE;
        goto cleanup;
    }
    size_t nsteps = 0;
    for (size_t i = 0; i < sc->nsteps; i++)
        nsteps += files_step_of(&sc->steps[i], ds);
    if (!nsteps) {
        hx_error("gen: scenario '%s' lands no files%s%s%s (its replay has no into = \"files\" "
                 "step); use --out FILE",
                 sc->name, ds >= 0 ? " of dataset '" : "", ds >= 0 ? dsname : "",
                 ds >= 0 ? "'" : "");
        ret = HX_EXIT_USAGE;
        goto cleanup;
    }
    rc = gen_new(sc, &g, &e);
    if (!rc) rc = hx_mkdir_p(landing, &e);
    if (rc) goto fail;
    for (size_t i = 0; i < sc->nsteps; i++) {
        const plan_step *st = &sc->steps[i];
        if (!files_step_of(st, ds)) continue;
        replay_stats rst;
        rc = replay_files(g, st->dataset, st, landing, -1, &rst, &e);
        if (rc) goto fail;
        const plan_dataset *d = &sc->datasets[st->dataset];
        fprintf(stderr,
                "harness: wrote %llu records of dataset '%s' to %s/%s (%u file%s, sha256 %s)\n",
                (unsigned long long)rst.rows, d->name, landing,
                st->dir && st->dir[0] ? st->dir : d->name, rst.files, rst.files == 1 ? "" : "s",
                rst.sha256);
    }
    goto cleanup;
fail:
    hx_error("%s", e.msg);
    ret = hx_exit_code(rc);
cleanup:
    gen_free(g);
    scen_free(s);
    return ret;
}

int cmd_gen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},    {"dataset", required_argument, NULL, 'd'},
        {"format", required_argument, NULL, 'f'}, {"ledger", required_argument, NULL, 'l'},
        {"seed", required_argument, NULL, 's'},   {"batch", required_argument, NULL, 'b'},
        {"unsafe-lua", no_argument, NULL, 'u'},   {"landing", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    scen_opts so = {0};
    const char *out = NULL, *dsname = NULL, *format = NULL, *ledger = NULL, *landing = NULL;
    long long batch = -1;
    int c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'd':
            dsname = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'l':
            ledger = optarg;
            break;
        case 's':
            errno = 0;
            so.seed = strtoull(optarg, &end, 0);
            if (errno || *end || !*optarg || optarg[0] == '-') {
                hx_error("gen: --seed takes a non-negative integer, got '%s'", optarg);
                return HX_EXIT_USAGE;
            }
            so.has_seed = true;
            break;
        case 'b':
            errno = 0;
            batch = strtoll(optarg, &end, 10);
            if (errno || *end || !*optarg || batch < 0) {
                hx_error("gen: --batch takes a batch number (0-based), got '%s'", optarg);
                return HX_EXIT_USAGE;
            }
            break;
        case 'u':
            so.unsafe_lua = true;
            break;
        case 'L':
            landing = optarg;
            break;
        case 'h':
            fputs(gen_usage, stdout);
            return HX_EXIT_OK;
        default:
            fputs(gen_usage, stderr);
            return HX_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        hx_error("gen: expected one scenario file (PACK/SCENARIO.lua); see 'harness help gen'");
        return HX_EXIT_USAGE;
    }
    if (landing && (out || format || ledger || batch >= 0)) {
        hx_error("gen: --landing DIR writes the scenario's landing files as a run does; it takes "
                 "no --out, --format, --ledger or --batch");
        return HX_EXIT_USAGE;
    }
    if (!out && !landing) {
        hx_error("gen: --out FILE is required ('-' for standard output), or --landing DIR");
        return HX_EXIT_USAGE;
    }
    if (landing) return gen_landing(argv[optind], &so, dsname, landing);
    plan_format fmt = ends_with(out, ".jsonl") ? PLAN_FMT_JSONL : PLAN_FMT_CSV;
    if (format && strcmp(format, "csv") == 0)
        fmt = PLAN_FMT_CSV;
    else if (format && strcmp(format, "jsonl") == 0)
        fmt = PLAN_FMT_JSONL;
    else if (format) {
        hx_error("gen: --format is csv or jsonl, got '%s'", format);
        return HX_EXIT_USAGE;
    }

    int ret = HX_EXIT_OK, rc;
    hx_err e = {0};
    scen *s = NULL;
    gen *g = NULL;
    /* "-" is stdout; a device or FIFO (/dev/null, a pipe) is written in place. */
    const unsigned oflags = HX_AFILE_STDOUT | HX_AFILE_IN_PLACE;
    hx_afile of = {0}, lf = {0};
    rc = scen_new(&so, &s, &e);
    if (!rc) rc = scen_load_file(s, argv[optind], &e);
    if (rc) {
        for (size_t i = 0; s && i < scen_problem_count(s); i++)
            hx_error("%s", hx_g.verbose ? scen_problem_detail(s, i) : scen_problem(s, i));
        if (!s || scen_problem_count(s) == 0) hx_error("%s", e.msg);
        ret = hx_exit_code(rc);
        goto cleanup;
    }
    const plan_scenario *sc = &scen_pack(s)->scenarios[0];
    int ds = -1;
    if (dsname) {
        ds = plan_scenario_dataset(sc, dsname);
    } else if (sc->ndatasets == 1) {
        ds = 0;
    }
    if (ds < 0) {
        hx_buf names;
        hx_buf_init(&names);
        for (size_t i = 0; i < sc->ndatasets; i++)
            hx_buf_printf(&names, "%s%s", i ? ", " : "", sc->datasets[i].name);
        if (sc->ndatasets == 0)
            hx_error("gen: scenario '%s' has no datasets", sc->name);
        else if (dsname)
            hx_error("gen: scenario '%s' has no dataset '%s' (it has: %s)", sc->name, dsname,
                     names.data);
        else
            hx_error("gen: scenario '%s' has several datasets; choose one with --dataset (%s)",
                     sc->name, names.data);
        hx_buf_release(&names);
        ret = HX_EXIT_USAGE;
        goto cleanup;
    }
    rc = gen_new(sc, &g, &e);
    if (rc) goto fail;
    if (batch >= 0 && (uint64_t)batch >= gen_batches(g, (size_t)ds)) {
        hx_error("gen: dataset '%s' has batches 0..%u, not %lld", sc->datasets[ds].name,
                 gen_batches(g, (size_t)ds) - 1, batch);
        ret = HX_EXIT_USAGE;
        goto cleanup;
    }
    rc = hx_afile_open(&of, out, oflags, &e);
    if (rc) goto fail;
    char sha[65];
    hx_sha256 h;
    fmt_write_stats ws = {0};
    hx_sha256_init(&h);
    rc = fmt_write_dataset(g, (size_t)ds, fmt, batch, of.f, &h, &ws, &e);
    hx_sha256_final(&h, sha);
    if (!rc) rc = hx_afile_commit(&of, &e);
    if (rc) goto fail;
    if (ledger) {
        rc = hx_afile_open(&lf, ledger, oflags, &e);
        if (!rc) rc = ledger_write(g, (size_t)ds, lf.f, &e);
        if (!rc) rc = hx_afile_commit(&lf, &e);
        if (rc) goto fail;
    }
    fprintf(stderr, "harness: wrote %llu records of dataset '%s' to %s (sha256 %s)\n",
            (unsigned long long)ws.rows, sc->datasets[ds].name, strcmp(out, "-") ? out : "stdout",
            sha);
    for (size_t i = 0; batch < 0 && fmt == PLAN_FMT_CSV && i < sc->nsteps; i++)
        if (files_step_of(&sc->steps[i], ds) && sc->steps[i].per_batch &&
            sc->steps[i].format == PLAN_FMT_CSV && gen_batches(g, (size_t)ds) > 1) {
            fprintf(stderr,
                    "harness: note: a run lands '%s' as one file per batch, each with its "
                    "batch's header; --batch K writes one of them, --landing DIR all of them\n",
                    sc->datasets[ds].name);
            break;
        }
    goto cleanup;
fail:
    hx_error("%s", e.msg);
    ret = hx_exit_code(rc);
cleanup:
    hx_afile_abort(&of);
    hx_afile_abort(&lf);
    gen_free(g);
    scen_free(s);
    return ret;
}
