/* junit.c - junit.xml for CI: Jenkins xUnit (junit-10.xsd), GitHub test reporters, npm's
 * test-results-parser and junit-report-merger. The dialect is docs/junit.md, its schema
 * docs/junit-harness.xsd. The rules below come from trying those consumers: no count attributes on
 * <testsuites> (test-results-parser trusts them, Jenkins' schema forbids `skipped` there), times as
 * %.3f, timestamps without a zone, no <properties> on suites whose name repeats (merged shards
 * crash test-results-parser), and a testcase in every suite that has something to say
 * (test-results-parser drops suites without testcases). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rep.h"

#define ZWSP "\xe2\x80\x8b" /* U+200B ZERO WIDTH SPACE */

/* "12.345": three decimals, never negative, NaN or an exponent (the XSD's SUREFIRE_TIME). */
static void put_time(hx_buf *out, double s)
{
    if (!(s >= 0) || s > 1e12) s = 0;
    hx_buf_printf(out, "%.3f", s);
}

/* Numbers in messages and properties, in the reports' one unit style. */
static void put_num(hx_buf *out, double v, const char *unit)
{
    char tmp[96];
    rep_value(tmp, sizeof tmp, v, unit);
    hx_buf_puts(out, tmp);
}

/* test-results-parser reads "[[ATTACHMENT|path]]" and "[[PROPERTY|k=v]]" out of system-out; a
 * solution's log must not be able to attach files or set metadata, so "[[" is broken apart
 * before escaping. The copy is the caller's (hx_free). */
static char *defuse(const char *s)
{
    if (!s || !strstr(s, "[[")) return NULL;
    hx_buf b;
    hx_buf_init(&b);
    for (const char *p = s; *p; p++) {
        hx_buf_putc(&b, *p);
        if (p[0] == '[' && p[1] == '[') hx_buf_puts(&b, ZWSP);
    }
    return b.oom ? (hx_buf_release(&b), NULL) : hx_buf_steal(&b);
}

static void put_log(hx_buf *out, const char *tag, const char *log)
{
    char *safe = defuse(log);
    const char *s = safe ? safe : log;
    hx_buf_printf(out, "    <%s>", tag);
    rep_xml_cdata(out, rep_tail(s, REP_JUNIT_LOG_MAX), 0);
    hx_buf_printf(out, "</%s>\n", tag);
    hx_free(safe);
}

/* The suite's solution log: every invocation's tail, labelled, in order. */
static void put_logs(hx_buf *out, const results_scenario *sc, bool err)
{
    hx_buf all;
    hx_buf_init(&all);
    for (size_t i = 0; i < sc->ninvocations; i++) {
        const results_invocation *iv = &sc->invocations[i];
        const char *t = err ? iv->stderr_tail : iv->stdout_tail;
        if (!t || !*t) continue;
        if (sc->ninvocations > 1) hx_buf_printf(&all, "--- batch %d ---\n", iv->batch);
        hx_buf_puts(&all, t);
        if (t[strlen(t) - 1] != '\n') hx_buf_putc(&all, '\n');
    }
    if (all.len)
        put_log(out, err ? "system-err" : "system-out", all.data);
    else if (all.oom)
        out->oom = true;
    hx_buf_release(&all);
}

static void put_prop(hx_buf *out, const char *name, const char *value)
{
    hx_buf_puts(out, "      <property name=\"");
    rep_xml_attr(out, name, 200);
    hx_buf_puts(out, "\" value=\"");
    rep_xml_attr(out, value, 1000);
    hx_buf_puts(out, "\"/>\n");
}

static void put_props(hx_buf *out, const results_run *r, const results_scenario *sc)
{
    hx_buf name, val;
    hx_buf_init(&name);
    hx_buf_init(&val);
    hx_buf_puts(out, "    <properties>\n");
    put_prop(out, "status", results_status_name(sc->status));
    for (size_t i = 0; i < r->nseeds; i++)
        if (r->seeds[i].scenario && sc->name && strcmp(r->seeds[i].scenario, sc->name) == 0) {
            hx_buf_clear(&val);
            hx_buf_printf(&val, "%llu", (unsigned long long)r->seeds[i].seed);
            put_prop(out, "seed", val.data);
        }
    if (sc->score.scored) {
        hx_buf_clear(&val);
        put_num(&val, sc->score.value, NULL);
        put_prop(out, "score", val.data);
    }
    for (size_t i = 0; i < sc->nmetrics; i++) {
        hx_buf_clear(&name);
        hx_buf_clear(&val);
        hx_buf_printf(&name, "metric.%s", sc->metrics[i].name ? sc->metrics[i].name : "?");
        put_num(&val, sc->metrics[i].value, sc->metrics[i].unit);
        put_prop(out, name.data, val.data);
    }
    for (size_t i = 0; i < sc->ncost; i++) {
        const results_cost *c = &sc->cost[i];
        const char *model = c->model ? c->model : "?";
        hx_buf_clear(&name);
        hx_buf_clear(&val);
        hx_buf_printf(&name, "cost.%s.per_run", model);
        put_num(&val, c->per_run_total, c->currency);
        put_prop(out, name.data, val.data);
        hx_buf_clear(&name);
        hx_buf_clear(&val);
        hx_buf_printf(&name, "cost.%s.monthly", model);
        put_num(&val, c->monthly_total, c->currency);
        put_prop(out, name.data, val.data);
    }
    hx_buf_puts(out, "    </properties>\n");
    if (name.oom || val.oom) out->oom = true;
    hx_buf_release(&name);
    hx_buf_release(&val);
}

static void testcase_open(hx_buf *out, const results_run *r, const results_scenario *sc,
                          const char *name, double time_s)
{
    hx_buf_puts(out, "    <testcase classname=\"");
    rep_xml_attr(out, r->pack_name ? r->pack_name : "harness", 200);
    hx_buf_putc(out, '.');
    rep_xml_attr(out, sc->name ? sc->name : "?", 200);
    hx_buf_puts(out, "\" name=\"");
    rep_xml_attr(out, name && *name ? name : "(unnamed)", 400);
    hx_buf_puts(out, "\" time=\"");
    put_time(out, time_s);
    hx_buf_puts(out, "\"");
}

/* <tag message=".." type="..">body</tag>, the body already built as plain text. */
static void outcome(hx_buf *out, const char *tag, const char *msg, const char *type,
                    const char *body)
{
    hx_buf_printf(out, "      <%s message=\"", tag);
    rep_xml_attr(out, msg ? msg : "", REP_JUNIT_MESSAGE_MAX);
    hx_buf_putc(out, '"');
    if (type) {
        hx_buf_puts(out, " type=\"");
        rep_xml_attr(out, type, 200);
        hx_buf_putc(out, '"');
    }
    if (body && *body) {
        hx_buf_putc(out, '>');
        rep_xml_text(out, body, REP_JUNIT_BODY_MAX);
        hx_buf_printf(out, "</%s>\n", tag);
    } else {
        hx_buf_puts(out, "/>\n");
    }
}

/* Expected vs actual, where, counts and sample rows, as readable plain text. */
static void check_body(hx_buf *b, const results_check *c)
{
    if (c->expected) hx_buf_printf(b, "expected: %s\n", c->expected);
    if (c->actual) hx_buf_printf(b, "actual:   %s\n", c->actual);
    if (c->message) hx_buf_printf(b, "%s\n", c->message);
    if (c->where) hx_buf_printf(b, "at %s\n", c->where);
    for (size_t i = 0; i < c->ncounts; i++)
        hx_buf_printf(b, "%s%s=%lld%s",
                      i ? " " : "counts: ", c->counts[i].name ? c->counts[i].name : "?",
                      (long long)c->counts[i].value, i + 1 == c->ncounts ? "\n" : "");
    const results_table *t = &c->samples;
    if (t->nrows) {
        hx_buf_printf(b, "samples (%zu):\n", t->nrows);
        for (size_t k = 0; k < t->ncolumns; k++)
            hx_buf_printf(b, "%s%s", k ? " | " : "", t->columns[k] ? t->columns[k] : "");
        hx_buf_putc(b, '\n');
        for (size_t i = 0; i < t->nrows; i++) {
            for (size_t k = 0; k < t->rows[i].ncells; k++)
                hx_buf_printf(b, "%s%s", k ? " | " : "",
                              t->rows[i].cells[k] ? t->rows[i].cells[k] : "NULL");
            hx_buf_putc(b, '\n');
        }
    }
}

/* The one-line message of a failed check: its own message, else expected vs actual. */
static void check_msg(hx_buf *m, const results_check *c)
{
    if (c->message && *c->message) {
        const char *nl = strchr(c->message, '\n');
        hx_buf_append(m, c->message, nl ? (size_t)(nl - c->message) : strlen(c->message));
    } else {
        hx_buf_printf(m, "expected %s, got %s", c->expected ? c->expected : "?",
                      c->actual ? c->actual : "?");
    }
}

static void put_check(hx_buf *out, const results_run *r, const results_scenario *sc,
                      const results_check *c)
{
    hx_buf body, msg;
    hx_buf_init(&body);
    hx_buf_init(&msg);
    testcase_open(out, r, sc, c->name, c->duration_s);
    const char *kind = c->kind ? c->kind : "check";
    switch (c->status) {
    case RESULTS_PASS:
        hx_buf_puts(out, "/>\n");
        break;
    case RESULTS_SKIP:
        hx_buf_puts(out, ">\n");
        outcome(out, "skipped", c->message, NULL, NULL);
        hx_buf_puts(out, "    </testcase>\n");
        break;
    case RESULTS_FAIL:
        hx_buf_puts(out, ">\n");
        check_body(&body, c);
        if (c->severity == RESULTS_SEV_WARN) {
            /* A warning fails nothing; CI must not count it. Say it in the case's output. */
            char *safe = defuse(body.data);
            hx_buf_puts(out, "      <system-out>warning: ");
            rep_xml_text(out, safe ? safe : body.data, REP_JUNIT_BODY_MAX);
            hx_buf_puts(out, "</system-out>\n");
            hx_free(safe);
        } else {
            check_msg(&msg, c);
            outcome(out, "failure", msg.data, kind, body.data);
        }
        hx_buf_puts(out, "    </testcase>\n");
        break;
    default:
        hx_buf_puts(out, ">\n");
        check_body(&body, c);
        outcome(out, "error", c->message ? c->message : "the check could not be evaluated", kind,
                body.data);
        hx_buf_puts(out, "    </testcase>\n");
        break;
    }
    if (body.oom || msg.oom) out->oom = true;
    hx_buf_release(&body);
    hx_buf_release(&msg);
}

static void put_threshold(hx_buf *out, const results_run *r, const results_scenario *sc,
                          const results_threshold *t)
{
    hx_buf name, msg;
    hx_buf_init(&name);
    hx_buf_init(&msg);
    /* The limit is part of the name: "threshold latency.e2e.p99 < 500 ms". */
    hx_buf_printf(&name, "threshold %s %s ", t->metric ? t->metric : "?", t->op ? t->op : "?");
    put_num(&name, t->limit, t->unit);
    testcase_open(out, r, sc, name.data, 0);
    if (t->status == RESULTS_PASS) {
        hx_buf_puts(out, "/>\n");
    } else if (t->status == RESULTS_SKIP) {
        if (t->note)
            hx_buf_printf(&msg, "%s: %s", t->metric ? t->metric : "?", t->note);
        else
            hx_buf_printf(&msg, "metric %s was not recorded", t->metric ? t->metric : "?");
        if (t->where) hx_buf_printf(&msg, " (%s)", t->where);
        hx_buf_puts(out, ">\n");
        outcome(out, "skipped", msg.data, NULL, NULL);
        hx_buf_puts(out, "    </testcase>\n");
    } else {
        if (isnan(t->actual)) {
            hx_buf_printf(&msg, "%s not measured: %s", t->metric ? t->metric : "?",
                          t->note ? t->note : "the run produced no value");
        } else {
            hx_buf_printf(&msg, "%s = ", t->metric ? t->metric : "?");
            put_num(&msg, t->actual, t->unit);
        }
        hx_buf_printf(&msg, ", limit %s ", t->op ? t->op : "?");
        put_num(&msg, t->limit, t->unit);
        if (t->where) hx_buf_printf(&msg, " (%s)", t->where);
        hx_buf_puts(out, ">\n");
        outcome(out, "failure", msg.data, "threshold", msg.data);
        hx_buf_puts(out, "    </testcase>\n");
    }
    if (name.oom || msg.oom) out->oom = true;
    hx_buf_release(&name);
    hx_buf_release(&msg);
}

/* "solution batch 3" or "solution service". */
static void invocation_name(hx_buf *b, const results_invocation *iv)
{
    if (iv->batch < 0)
        hx_buf_puts(b, "solution service");
    else
        hx_buf_printf(b, "solution batch %d", iv->batch);
}

/* Each solution invocation is a testcase: failed on a non-zero exit, a signal or a timeout, with
 * its log tails in the failure text, so CI counts a crashed solution even when checks pass. */
static void put_invocation(hx_buf *out, const results_run *r, const results_scenario *sc,
                           const results_invocation *iv)
{
    hx_buf name, msg, body;
    hx_buf_init(&name);
    hx_buf_init(&msg);
    hx_buf_init(&body);
    invocation_name(&name, iv);
    if (name.oom) {
        out->oom = true;
        hx_buf_release(&name);
        return;
    }
    testcase_open(out, r, sc, name.data, iv->wall_s);
    if (!results_invocation_failed(iv) && iv->leftovers <= 0) {
        hx_buf_puts(out, "/>\n");
    } else {
        hx_buf_puts(out, ">\n");
        hx_buf_printf(&msg, "%s ", name.data);
        rep_invocation_outcome(&msg, iv);
        hx_buf_printf(&body, "%s\n", msg.data);
        if (iv->stderr_tail && *iv->stderr_tail)
            hx_buf_printf(&body, "stderr (tail):\n%s\n",
                          rep_tail(iv->stderr_tail, REP_JUNIT_BODY_MAX / 2));
        if (iv->stdout_tail && *iv->stdout_tail)
            hx_buf_printf(&body, "stdout (tail):\n%s\n",
                          rep_tail(iv->stdout_tail, REP_JUNIT_BODY_MAX / 4));
        char *safe = body.oom || msg.oom ? NULL : defuse(body.data);
        if (body.oom || msg.oom) {
            out->oom = true;
        } else if (results_invocation_failed(iv)) {
            /* The failure text keeps the end of the log: the error is usually there. */
            const char *b = safe ? safe : body.data;
            outcome(out, "failure", msg.data, "solution",
                    strlen(b) > REP_JUNIT_BODY_MAX ? rep_tail(b, REP_JUNIT_BODY_MAX) : b);
        } else {
            hx_buf_puts(out, "      <system-out>warning: ");
            rep_xml_text(out, safe ? safe : body.data, REP_JUNIT_BODY_MAX);
            hx_buf_puts(out, "</system-out>\n");
        }
        hx_free(safe);
        hx_buf_puts(out, "    </testcase>\n");
    }
    if (name.oom || msg.oom || body.oom) out->oom = true;
    hx_buf_release(&name);
    hx_buf_release(&msg);
    hx_buf_release(&body);
}

/* "YYYY-MM-DDTHH:MM:SS" from an ISO 8601 string, or false when it does not start like one. */
static bool junit_timestamp(const char *iso, char out[20])
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    if (!iso || strlen(iso) < 19) return false;
    for (int i = 0; i < 19; i++) {
        bool ok = shape[i] == 'd' ? iso[i] >= '0' && iso[i] <= '9' : iso[i] == shape[i];
        if (!ok) return false;
    }
    memcpy(out, iso, 19);
    out[19] = '\0';
    return true;
}

static bool name_repeats(const results_run *r, size_t k)
{
    const char *n = r->scenarios[k].name ? r->scenarios[k].name : "";
    for (size_t i = 0; i < r->nscenarios; i++)
        if (i != k && strcmp(n, r->scenarios[i].name ? r->scenarios[i].name : "") == 0) return true;
    return false;
}

static void put_suite(hx_buf *out, const results_run *r, size_t k)
{
    const results_scenario *sc = &r->scenarios[k];
    results_counts c = results_counts_of(r, sc);
    char ts[20];
    hx_buf_puts(out, "  <testsuite name=\"");
    rep_xml_attr(out, sc->name ? sc->name : "?", 200);
    hx_buf_printf(
        out, "\" tests=\"%lld\" failures=\"%lld\" errors=\"%lld\" skipped=\"%lld\" time=\"",
        (long long)c.tests, (long long)c.failures, (long long)c.errors, (long long)c.skipped);
    put_time(out, sc->duration_s);
    hx_buf_putc(out, '"');
    if (junit_timestamp(sc->started, ts) || junit_timestamp(r->started, ts))
        hx_buf_printf(out, " timestamp=\"%s\"", ts);
    if (r->machine.hostname) {
        hx_buf_puts(out, " hostname=\"");
        rep_xml_attr(out, r->machine.hostname, 200);
        hx_buf_putc(out, '"');
    }
    if (sc->file) {
        hx_buf_puts(out, " file=\"");
        rep_xml_attr(out, sc->file, 400);
        hx_buf_putc(out, '"');
    }
    hx_buf_puts(out, ">\n");
    if (!name_repeats(r, k)) put_props(out, r, sc);
    if (sc->error) {
        testcase_open(out, r, sc, "scenario", sc->duration_s);
        hx_buf_puts(out, ">\n");
        outcome(out, "error", sc->error,
                sc->error_exit == HX_EXIT_INFRA ? "infrastructure" : "scenario", sc->error);
        hx_buf_puts(out, "    </testcase>\n");
    }
    for (size_t i = 0; i < sc->nchecks; i++)
        put_check(out, r, sc, &sc->checks[i]);
    for (size_t i = 0; i < sc->nthresholds; i++)
        put_threshold(out, r, sc, &sc->thresholds[i]);
    for (size_t i = 0; i < sc->ninvocations; i++)
        put_invocation(out, r, sc, &sc->invocations[i]);
    put_logs(out, sc, false);
    put_logs(out, sc, true);
    hx_buf_puts(out, "  </testsuite>\n");
}

/* A run that did not finish cleanly (an error outside its scenarios, an interrupt, a journal of
 * a run that died) says so as one error testcase, so CI never reads it as green. */
static void put_run_suite(hx_buf *out, const results_run *r)
{
    if (!r->error && !r->interrupted && !r->partial) return;
    hx_buf msg;
    hx_buf_init(&msg);
    const char *type;
    if (r->interrupted) {
        type = "interrupted";
        hx_buf_puts(&msg, "the run was interrupted before every scenario ran");
    } else if (r->error) {
        type = r->error_exit == HX_EXIT_USAGE ? "usage" : "infrastructure";
        hx_buf_puts(&msg, r->error);
    } else {
        type = "partial";
        hx_buf_puts(&msg, "the run did not finish (rebuilt from a journal, or merged without "
                          "every shard); scenarios that did not run are not listed");
    }
    if (r->interrupted && r->error) hx_buf_printf(&msg, ": %s", r->error);
    char ts[20];
    hx_buf_puts(out, "  <testsuite name=\"harness run\" tests=\"1\" failures=\"0\" errors=\"1\" "
                     "skipped=\"0\" time=\"0.000\"");
    if (junit_timestamp(r->started, ts)) hx_buf_printf(out, " timestamp=\"%s\"", ts);
    hx_buf_puts(out, ">\n    <testcase classname=\"");
    rep_xml_attr(out, r->pack_name ? r->pack_name : "harness", 200);
    hx_buf_puts(out, ".run\" name=\"run\" time=\"0.000\">\n");
    outcome(out, "error", msg.data, type, msg.data);
    hx_buf_puts(out, "    </testcase>\n  </testsuite>\n");
    if (msg.oom) out->oom = true;
    hx_buf_release(&msg);
}

bool rep_junit_render(hx_buf *out, const results_run *r)
{
    hx_buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"");
    hx_buf_puts(out, "harness");
    if (r->pack_name) {
        hx_buf_puts(out, ": ");
        rep_xml_attr(out, r->pack_name, 200);
    }
    hx_buf_puts(out, "\" time=\"");
    put_time(out, r->duration_s);
    hx_buf_puts(out, "\">\n");
    for (size_t k = 0; k < r->nscenarios; k++)
        put_suite(out, r, k);
    put_run_suite(out, r);
    return hx_buf_puts(out, "</testsuites>\n");
}

int rep_junit_write(const results_run *r, const char *path, hx_err *e)
{
    hx_buf b;
    hx_buf_init(&b);
    if (!rep_junit_render(&b, r)) {
        hx_buf_release(&b);
        return hx_fail(e, HX_ENOMEM, "out of memory rendering '%s'", path);
    }
    int rc = hx_write_atomic(path, b.data, b.len, e);
    hx_buf_release(&b);
    return rc;
}
