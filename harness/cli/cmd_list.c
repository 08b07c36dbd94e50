/* cmd_list.c - `harness list PACK`: the pack's scenarios with phase, tags, description and
 * datasets, as aligned text or JSON. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "scen.h"

const char list_usage[] =
    "usage: harness list PACK [--tag T] [--json]\n"
    "\n"
    "List the scenarios of the pack folder PACK: name, phase, tags, description, and datasets\n"
    "with their row counts.\n"
    "\n"
    "options:\n"
    "  --tag T        only scenarios tagged T\n"
    "  --json         one JSON document instead of a table\n"
    "  --unsafe-lua   open Lua's full standard libraries\n"
    "  -h, --help     this text\n";

static bool has_tag(const plan_scenario *s, const char *tag)
{
    for (size_t i = 0; i < s->ntags; i++)
        if (strcmp(s->tags[i], tag) == 0) return true;
    return false;
}

/* Scenario text is the author's; JSON output must stay valid whatever it holds. */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* Terminal text: control characters become '?', so a description cannot drive the terminal. */
static void plain(hx_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
        hx_buf_putc(b, *p < 0x20 || *p == 0x7f ? '?' : (char)*p);
}

int cmd_list(int argc, char **argv)
{
    static const struct option opts[] = {{"tag", required_argument, NULL, 't'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"unsafe-lua", no_argument, NULL, 'u'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    scen_opts so = {0};
    const char *tag = NULL;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            tag = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'u':
            so.unsafe_lua = true;
            break;
        case 'h':
            fputs(list_usage, stdout);
            return HX_EXIT_OK;
        default:
            fputs(list_usage, stderr);
            return HX_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        hx_error("list: expected one pack folder; see 'harness help list'");
        return HX_EXIT_USAGE;
    }
    scen *s = NULL;
    hx_err e = {0};
    int rc = scen_new(&so, &s, &e);
    if (!rc) rc = scen_load_pack(s, argv[optind], &e);
    if (rc) {
        for (size_t i = 0; s && i < scen_problem_count(s); i++)
            hx_error("%s", scen_problem(s, i));
        if (!s || scen_problem_count(s) == 0) hx_error("%s", e.msg);
        scen_free(s);
        return hx_exit_code(rc);
    }
    const plan_pack *p = scen_pack(s);
    if (json) {
        printf("{\"pack\":");
        json_str(stdout, p->name);
        printf(",\"scenarios\":[");
        bool first = true;
        for (size_t i = 0; i < p->nscenarios; i++) {
            const plan_scenario *sc = &p->scenarios[i];
            if (tag && !has_tag(sc, tag)) continue;
            printf("%s{\"name\":", first ? "" : ",");
            first = false;
            json_str(stdout, sc->name);
            printf(",\"phase\":%d,\"file\":", sc->phase);
            json_str(stdout, sc->file);
            printf(",\"description\":");
            json_str(stdout, sc->description);
            printf(",\"tags\":[");
            for (size_t t = 0; t < sc->ntags; t++) {
                if (t) putchar(',');
                json_str(stdout, sc->tags[t]);
            }
            printf("],\"datasets\":[");
            for (size_t d = 0; d < sc->ndatasets; d++) {
                printf("%s{\"name\":", d ? "," : "");
                json_str(stdout, sc->datasets[d].name);
                printf(",\"rows\":%llu,\"faults\":%zu}", (unsigned long long)sc->datasets[d].rows,
                       sc->datasets[d].nfaults);
            }
            printf("],\"checks\":%zu}", sc->nchecks);
        }
        printf("]}\n");
        scen_free(s);
        return HX_EXIT_OK;
    }
    /* aligned columns: widths from the data */
    size_t wn = 4, wt = 4;
    hx_buf b;
    hx_buf_init(&b);
    for (size_t i = 0; i < p->nscenarios; i++) {
        const plan_scenario *sc = &p->scenarios[i];
        if (strlen(sc->name) > wn) wn = strlen(sc->name);
        size_t tl = 0;
        for (size_t t = 0; t < sc->ntags; t++)
            tl += strlen(sc->tags[t]) + (t ? 1 : 0);
        if (tl > wt) wt = tl;
    }
    if (wn > 40) wn = 40;
    if (wt > 40) wt = 40;
    printf("%-*s  %-5s  %-*s  %s\n", (int)wn, "NAME", "PHASE", (int)wt, "TAGS", "DATASETS");
    for (size_t i = 0; i < p->nscenarios; i++) {
        const plan_scenario *sc = &p->scenarios[i];
        if (tag && !has_tag(sc, tag)) continue;
        hx_buf_clear(&b);
        for (size_t t = 0; t < sc->ntags; t++) {
            if (t) hx_buf_putc(&b, ',');
            plain(&b, sc->tags[t]);
        }
        size_t tagend = b.len;
        for (size_t d = 0; d < sc->ndatasets; d++) {
            hx_buf_puts(&b, d ? ", " : "");
            plain(&b, sc->datasets[d].name);
            hx_buf_printf(&b, " (%llu rows)", (unsigned long long)sc->datasets[d].rows);
        }
        size_t dsend = b.len;
        plain(&b, sc->description);
        hx_buf n;
        hx_buf_init(&n);
        plain(&n, sc->name);
        printf("%-*s  %-5d  %-*.*s  %.*s\n", (int)wn, n.data ? n.data : "", sc->phase, (int)wt,
               (int)tagend, b.data ? b.data : "", (int)(dsend - tagend),
               b.data ? b.data + tagend : "");
        if (sc->description && *sc->description) printf("%-*s  %s\n", (int)wn, "", b.data + dsend);
        hx_buf_release(&n);
    }
    hx_buf_release(&b);
    scen_free(s);
    return HX_EXIT_OK;
}
