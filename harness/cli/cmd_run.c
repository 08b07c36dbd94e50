/* cmd_run.c - `harness run`: usage, options, and one call into the run engine (run/engine.h),
 * which does the work: load the pack, start the services, replay, run the solution, check,
 * measure, price, score and write the reports. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "cmd.h"
#include "engine.h"
#include "units.h"

const char run_usage[] =
    "usage: harness run PACK --solution DIR [options]\n"
    "\n"
    "Run a challenge pack's scenarios against a solution and write run.json, junit.xml,\n"
    "summary.md and report.html.\n"
    "\n"
    "  -s, --solution DIR      the solution folder (with solution.json)              (required)\n"
    "  -o, --out DIR           where the reports go (default runs/<UTC time>-<pack>[-N], a new\n"
    "                          folder each run; runs/latest points at it; DIR is reused)\n"
    "      --pg URL            use this PostgreSQL server instead of a throwaway one\n"
    "      --kafka HOST:PORT   use this Kafka cluster instead of the in-process mock\n"
    "                          (topics hx_<scenario>_<topic>; never deleted)\n"
    "      --scenario GLOB     only scenarios whose name matches (repeatable)\n"
    "      --tag TAG           only scenarios with this tag (repeatable)\n"
    "      --phase N           include scenarios up to phase N (default 1; 2 adds the twists)\n"
    "      --shard I/N         run the I-th of N deterministic slices of the scenarios\n"
    "  -j, --jobs N            run N scenarios at once (forked workers, default 1); run.json\n"
    "                          is the same apart from timings; CPU and latency get noisier\n"
    "      --seed N            override every scenario's seed (XORed in)\n"
    "      --seed-file FILE    the same, read from FILE, kept out of the reports (official\n"
    "                          runs; $HARNESS_SEED does the same when neither is given)\n"
    "      --sandbox MODE      bwrap (default): each solution command in a bubblewrap box;\n"
    "                          auto: bwrap, else none with a warning; none: a trusted run\n"
    "      --pass-env NAME     give the solution this variable of ours too (repeatable); it\n"
    "                          gets only PATH, HOME, LANG, LC_*, TZ, ... and its own\n"
    "      --cost-model LIST   price sheets, comma separated\n"
    "                          (default aws-us-east-1,gcp-us-central1,azure-eastus)\n"
    "      --cost-models DIR   folder of price sheets to search first\n"
    "      --timeout DUR       per solution invocation (default: solution.json, then 120s)\n"
    "      --plugin-path DIR   extra folder of validator plugins\n"
    "      --no-isolate        run plugin checks in-process (for gdb)\n"
    "      --plugin-timeout DUR  limit of one isolated plugin check (default 30s)\n"
    "      --unsafe-lua        give scenarios the full Lua standard library\n"
    "      --keep              keep the scenario databases and landing files\n"
    "      --probe K           cost probe: rerun each batch scenario at K times its records\n"
    "                          to fit fixed + per-record cost (default: the pack's scale.probe;\n"
    "                          0 = none)\n"
    "  -q, --quiet             no progress on stderr\n"
    "\n"
    "exit: 0 pass, 1 a check failed, 4 only thresholds failed, 2 usage or scenario error,\n"
    "      3 infrastructure error, 130 interrupted\n";

/* A seed: a non-negative integer (decimal, 0x hex). The message never echoes a secret one. */
static bool parse_seed(const char *what, const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 0);
    if (!text[0] || *end || errno || text[0] == '-') {
        if (strcmp(what, "--seed") == 0)
            hx_error("--seed: expected a non-negative integer, got '%s'", text);
        else
            hx_error("%s: expected a non-negative integer (decimal or 0x hex)", what);
        return false;
    }
    *out = v;
    return true;
}

/* --out DIR: a folder, or a path where one can be made. A file there (or on the way there) is a
 * usage error now rather than an infrastructure error once the services are up. */
static bool out_ok(const char *dir)
{
    if (!dir[0]) {
        hx_error("--out: expected a folder, got ''");
        return false;
    }
    char *p = hx_xstrdup(dir);
    bool ok = true;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s) continue;
        char c = *s;
        *s = '\0';
        struct stat st;
        if (stat(p, &st) == 0 && !S_ISDIR(st.st_mode)) {
            hx_error("--out '%s': '%s' exists and is not a folder; name a folder for the "
                     "reports",
                     dir, p);
            ok = false;
        }
        *s = c;
        if (!ok || !c) break;
    }
    hx_free(p);
    return ok;
}

static bool parse_opts(int argc, char **argv, run_engine_opts *o)
{
    enum {
        O_PG = 256,
        O_SCEN,
        O_TAG,
        O_PHASE,
        O_SHARD,
        O_SEED,
        O_COST,
        O_COSTDIR,
        O_TIMEOUT,
        O_PLUGPATH,
        O_NOISO,
        O_UNSAFE,
        O_KEEP,
        O_PROBE,
        O_JOBS,
        O_KAFKA,
        O_PLUGTIMEOUT,
        O_SEEDFILE,
        O_SANDBOX,
        O_PASSENV
    };
    static const struct option lo[] = {{"solution", required_argument, 0, 's'},
                                       {"out", required_argument, 0, 'o'},
                                       {"pg", required_argument, 0, O_PG},
                                       {"scenario", required_argument, 0, O_SCEN},
                                       {"tag", required_argument, 0, O_TAG},
                                       {"phase", required_argument, 0, O_PHASE},
                                       {"shard", required_argument, 0, O_SHARD},
                                       {"seed", required_argument, 0, O_SEED},
                                       {"seed-file", required_argument, 0, O_SEEDFILE},
                                       {"sandbox", required_argument, 0, O_SANDBOX},
                                       {"pass-env", required_argument, 0, O_PASSENV},
                                       {"cost-model", required_argument, 0, O_COST},
                                       {"cost-models", required_argument, 0, O_COSTDIR},
                                       {"timeout", required_argument, 0, O_TIMEOUT},
                                       {"plugin-path", required_argument, 0, O_PLUGPATH},
                                       {"no-isolate", no_argument, 0, O_NOISO},
                                       {"unsafe-lua", no_argument, 0, O_UNSAFE},
                                       {"plugin-timeout", required_argument, 0, O_PLUGTIMEOUT},
                                       {"keep", no_argument, 0, O_KEEP},
                                       {"probe", required_argument, 0, O_PROBE},
                                       {"jobs", required_argument, 0, O_JOBS},
                                       {"kafka", required_argument, 0, O_KAFKA},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    static const char *globs[64], *tags[64], *pass[64];
    o->globs = globs;
    o->tags = tags;
    o->pass_env = pass;
    o->phase = 1;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "s:o:qhj:", lo, NULL)) != -1) {
        hx_err e = {0};
        switch (ch) {
        case 's':
            o->solution = optarg;
            break;
        case 'o':
            if (!out_ok(optarg)) return false;
            o->out = optarg;
            break;
        case 'q':
            hx_g.quiet = 1;
            break;
        case 'h':
            fputs(run_usage, stdout);
            exit(0);
        case O_PG:
            o->pg_url = optarg;
            break;
        case O_SCEN:
            if (o->nglobs < 64) globs[o->nglobs++] = optarg;
            break;
        case O_TAG:
            if (o->ntags < 64) tags[o->ntags++] = optarg;
            break;
        case O_PHASE: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 9) {
                hx_error("--phase: expected a phase number like 1 or 2, got '%s'", optarg);
                return false;
            }
            o->phase = (int)v;
            break;
        }
        case O_SHARD:
            if (sscanf(optarg, "%d/%d", &o->shard_i, &o->shard_n) != 2 || o->shard_n < 1 ||
                o->shard_i < 1 || o->shard_i > o->shard_n) {
                hx_error("--shard: expected I/N with 1 <= I <= N, like 2/4, got '%s'", optarg);
                return false;
            }
            break;
        case O_SEED:
            if (!parse_seed("--seed", optarg, &o->seed)) return false;
            o->has_seed = true;
            o->seed_secret = false;
            break;
        case O_SEEDFILE: {
            char *text = NULL;
            size_t len = 0;
            if (hx_read_input(optarg, HX_IN_SECRET, &text, &len, &e) != 0) {
                hx_error("--seed-file: %s", e.msg);
                return false;
            }
            text[strcspn(text, " \t\r\n")] = '\0';
            bool ok = parse_seed("--seed-file", text, &o->seed);
            explicit_bzero(text, len);
            hx_free(text);
            if (!ok) return false;
            o->has_seed = o->seed_secret = true;
            break;
        }
        case O_SANDBOX:
            if (sandbox_mode_parse(optarg, &o->sandbox, &e) != 0) {
                hx_error("%s", e.msg);
                return false;
            }
            break;
        case O_PASSENV: {
            size_t n = strspn(optarg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
                                      "0123456789");
            if (!optarg[0] || optarg[n] || (optarg[0] >= '0' && optarg[0] <= '9')) {
                hx_error("--pass-env: '%s' is not a variable name (letters, digits and _)", optarg);
                return false;
            }
            if (strncmp(optarg, "HARNESS_SEED", 12) == 0) {
                hx_error("--pass-env: %s: the seed never reaches the solution", optarg);
                return false;
            }
            if (o->npass_env == 64) {
                hx_error("--pass-env: more than 64 variables");
                return false;
            }
            pass[o->npass_env++] = optarg;
            break;
        }
        case O_COST:
            o->cost_models = optarg;
            break;
        case O_COSTDIR:
            o->cost_dir = optarg;
            break;
        case O_TIMEOUT:
            if (units_duration_us(optarg, &o->timeout_us, &e) != 0 || o->timeout_us <= 0) {
                hx_error("--timeout: %s", e.msg[0] ? e.msg : "must be positive");
                return false;
            }
            break;
        case O_PLUGPATH:
            o->plugin_path = optarg;
            break;
        case O_NOISO:
            o->no_isolate = true;
            break;
        case O_PLUGTIMEOUT:
            if (units_duration_us(optarg, &o->plugin_timeout_us, &e) != 0 ||
                o->plugin_timeout_us <= 0) {
                hx_error("--plugin-timeout: %s", e.msg[0] ? e.msg : "must be positive");
                return false;
            }
            break;
        case O_UNSAFE:
            o->unsafe_lua = true;
            break;
        case O_KEEP:
            o->keep = true;
            break;
        case O_PROBE: {
            char *end = NULL;
            o->probe = strtod(optarg, &end);
            o->probe_set = true;
            if (!end || *end || !(o->probe == 0 || (o->probe >= 1.5 && o->probe <= 100))) {
                hx_error("--probe: '%s' is not a factor between 1.5 and 100 (or 0 for none)",
                         optarg);
                return false;
            }
            break;
        }
        case 'j':
        case O_JOBS: {
            char *end = NULL;
            errno = 0;
            long n = strtol(optarg, &end, 10);
            if (!optarg[0] || !end || *end || errno || n < 1 || n > 64) {
                hx_error("--jobs: expected how many scenarios run at once, 1 to 64, got '%s'",
                         optarg);
                return false;
            }
            o->jobs = (int)n;
            break;
        }
        case O_KAFKA:
            o->kafka_url = optarg;
            break;
        default:
            fputs(run_usage, stderr);
            return false;
        }
    }
    if (optind >= argc) {
        hx_error("run: which challenge pack? usage: harness run PACK --solution DIR");
        return false;
    }
    o->pack = argv[optind++];
    if (optind < argc) {
        hx_error("run: unexpected argument '%s'", argv[optind]);
        return false;
    }
    if (!o->solution) {
        hx_error("run: --solution DIR is required (a folder with solution.json)");
        return false;
    }
    /* A CI secret: the official seed from the environment, so no process listing shows it. */
    const char *env_seed = getenv("HARNESS_SEED");
    if (!o->has_seed && env_seed && env_seed[0]) {
        if (!parse_seed("$HARNESS_SEED", env_seed, &o->seed)) return false;
        o->has_seed = o->seed_secret = true;
    }
    return true;
}

int cmd_run(int argc, char **argv)
{
    run_engine_opts o;
    memset(&o, 0, sizeof o);
    if (!parse_opts(argc, argv, &o)) return HX_EXIT_USAGE;
    /* Not dumpable: a solution running as our user (--sandbox none, or auto without bwrap) can
     * neither read our /proc/PID/environ (a CI job's tokens), mem or fds nor ptrace us. Each
     * program we exec is dumpable again. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    o.argc = argc;
    o.argv = argv;
    return run_engine(&o);
}
