/* harness/plugin.h - the validator plugin ABI: the one header a plugin includes. A plugin is a
 * shared object that exports one function, harness_plugin_entry(), returning a descriptor of its
 * checks. The harness hands each check a table of host services (SQL, parameters, results,
 * metrics, logs); a plugin links against nothing of the harness.
 *
 * Compatibility rules (the contract between this header and every built plugin):
 * - hx_plugin_descriptor starts with abi_version and struct_size; the host refuses a plugin whose
 *   abi_version differs from its own HX_PLUGIN_ABI_VERSION and names both numbers.
 * - Within one ABI version structs only grow at the end; the host reads a field only when the
 *   plugin's struct_size (or check_size / param_size) covers it.
 * - hx_plugin_host starts with its own version and size; services are only ever appended. A
 *   service the host cannot offer in this run (no database, no Kafka, no ledger) is NULL: test it.
 *
 * Ownership: everything the plugin hands the host (descriptor, names, param specs) is static and
 * must outlive the plugin. Everything the host hands the plugin (strings, rows) is owned by the
 * host and lives until the check's run function returns, unless a doc below says sooner. */
#ifndef HARNESS_PLUGIN_H
#define HARNESS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped only when a struct below changes in a way that is not an append. */
#define HX_PLUGIN_ABI_VERSION 1
/* The host table version; bumped each time services are appended. */
#define HX_PLUGIN_HOST_VERSION 1
/* The one symbol the host looks up with dlsym. */
#define HX_PLUGIN_ENTRY_NAME "harness_plugin_entry"

#if defined(__GNUC__)
#define HX_PLUGIN_EXPORT __attribute__((visibility("default")))
#define HX_PLUGIN_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define HX_PLUGIN_EXPORT
#define HX_PLUGIN_PRINTF(a, b)
#endif

/* A check's verdict. */
typedef enum hx_plugin_status {
    HX_PLUGIN_PASS = 0, /* the data satisfies the check */
    HX_PLUGIN_FAIL = 1, /* the data violates it: a finding about the solution */
    HX_PLUGIN_ERROR = 2 /* the check could not run (bad table, SQL error): not a finding */
} hx_plugin_status;

/* Log levels for host->log. */
typedef enum hx_plugin_log_level {
    HX_PLUGIN_LOG_DEBUG = 0,
    HX_PLUGIN_LOG_INFO = 1,
    HX_PLUGIN_LOG_WARN = 2
} hx_plugin_log_level;

/* Parameter types a check declares. Values come from the scenario as JSON. */
typedef enum hx_plugin_param_type {
    HX_PARAM_STRING = 0,      /* a JSON string */
    HX_PARAM_NUMBER = 1,      /* a JSON number */
    HX_PARAM_BOOL = 2,        /* true or false */
    HX_PARAM_STRING_LIST = 3, /* an array of strings (a lone string counts as a list of one) */
    HX_PARAM_JSON = 4         /* anything; read it with param_json */
} hx_plugin_param_type;

/* One declared parameter. `harness check` validates scenarios against these. */
typedef struct hx_plugin_param_spec {
    const char *name; /* key in the scenario: plugin "x".check { name = ... } */
    int type;         /* hx_plugin_param_type */
    int required;     /* nonzero: the scenario must give it */
    const char *help; /* one line for `harness check` and docs */
} hx_plugin_param_spec;

typedef struct hx_plugin_ctx hx_plugin_ctx;   /* one check invocation, opaque */
typedef struct hx_plugin_rows hx_plugin_rows; /* a query result, opaque */
typedef struct hx_plugin_host hx_plugin_host;

/* A check's body. Report the verdict with host->report(); the return value is 0, or nonzero for
 * "could not run" (the host turns it into an error result carrying the last reported message). */
typedef int (*hx_plugin_run_fn)(const hx_plugin_host *host, hx_plugin_ctx *ctx);

/* One check a plugin offers. */
typedef struct hx_plugin_check {
    const char *name;                   /* [a-z0-9_], unique in the plugin */
    const char *description;            /* one line */
    const hx_plugin_param_spec *params; /* declared parameters, n_params of them */
    size_t n_params;
    hx_plugin_run_fn run; /* the body */
} hx_plugin_check;

/* What harness_plugin_entry() returns. Fill it with HX_PLUGIN_DESCRIPTOR_HEAD so the sizes and
 * version are the ones of the header the plugin was compiled against. No padding before
 * the pointers on any ABI we target: two uint32_t then pointer-aligned fields. */
typedef struct hx_plugin_descriptor {
    uint32_t abi_version;          /* HX_PLUGIN_ABI_VERSION the plugin was built with */
    uint32_t struct_size;          /* sizeof(hx_plugin_descriptor) the plugin was built with */
    uint32_t check_size;           /* sizeof(hx_plugin_check): the stride of checks[] */
    uint32_t param_size;           /* sizeof(hx_plugin_param_spec): the stride of params[] */
    const char *name;              /* the plugin's name, equal to its file name without ".so" */
    const char *version;           /* the plugin's own version, free text ("1.2.0") */
    const char *description;       /* one line */
    const hx_plugin_check *checks; /* the checks, n_checks of them */
    size_t n_checks;
    /* Optional, called after loading, in the worker that loaded the plugin (never in the harness
     * process, unless it runs with --no-isolate): once when the harness reads the descriptor and
     * once in each check's worker. Return 0, or nonzero with a message in err to refuse loading;
     * a crash is an error of the plugin's checks. */
    int (*init)(const hx_plugin_host *host, char *err, size_t errlen);
    /* Optional, called before unloading, where init was called. */
    void (*fini)(void);
} hx_plugin_descriptor;

#define HX_PLUGIN_DESCRIPTOR_HEAD                                                                  \
    .abi_version = HX_PLUGIN_ABI_VERSION, .struct_size = sizeof(hx_plugin_descriptor),             \
    .check_size = sizeof(hx_plugin_check), .param_size = sizeof(hx_plugin_param_spec)

/* The entry point every plugin defines:
 *     HX_PLUGIN_EXPORT const hx_plugin_descriptor *harness_plugin_entry(void) { return &desc; }
 * A function, not a data symbol, because dlsym is only guaranteed for functions (the PostgreSQL
 * PG_MODULE_MAGIC reasoning). */
typedef const hx_plugin_descriptor *(*hx_plugin_entry_fn)(void);
HX_PLUGIN_EXPORT const hx_plugin_descriptor *harness_plugin_entry(void);

/* The services. Any of them may be NULL when the host cannot offer it in this run. */
struct hx_plugin_host {
    uint32_t version; /* HX_PLUGIN_HOST_VERSION of the host */
    uint32_t size;    /* sizeof(hx_plugin_host) of the host: a plugin built against a newer header
                       * must not read past it */

    /* ---- version 1 ---- */

    /* A log line, kept with the check's result and shown with -v. ctx may be NULL in init. */
    void (*log)(hx_plugin_ctx *ctx, int level, const char *fmt, ...) HX_PLUGIN_PRINTF(3, 4);

    /* Parameters, already validated against the check's spec: a getter returns def when the
     * scenario did not give the parameter. Strings are host-owned. */
    const char *(*param_string)(hx_plugin_ctx *ctx, const char *name, const char *def);
    double (*param_number)(hx_plugin_ctx *ctx, const char *name, double def);
    int (*param_bool)(hx_plugin_ctx *ctx, const char *name, int def);
    /* Number of items of a string list (0 when absent); item i with param_list_item. */
    size_t (*param_list_len)(hx_plugin_ctx *ctx, const char *name);
    const char *(*param_list_item)(hx_plugin_ctx *ctx, const char *name, size_t i);
    /* The parameter's JSON text, or NULL when absent. */
    const char *(*param_json)(hx_plugin_ctx *ctx, const char *name);

    /* Quote a name for SQL: "a.b" becomes "a"."b" (each dot-separated part quoted). Host-owned. */
    const char *(*quote_ident)(hx_plugin_ctx *ctx, const char *name);
    /* Run one SQL statement with text parameters $1..$n (NULL entries are SQL NULL). Returns the
     * rows (host-owned; free early with rows_free or leave them to the host), or NULL on failure
     * with the reason in last_error. NULL service: no database in this run. */
    hx_plugin_rows *(*sql_query)(hx_plugin_ctx *ctx, const char *sql, int nparams,
                                 const char *const *params);
    size_t (*rows_count)(const hx_plugin_rows *r);
    size_t (*rows_ncols)(const hx_plugin_rows *r);
    const char *(*rows_colname)(const hx_plugin_rows *r, size_t col);
    /* The value as text, or NULL for SQL NULL. */
    const char *(*rows_value)(const hx_plugin_rows *r, size_t row, size_t col);
    void (*rows_free)(hx_plugin_ctx *ctx, hx_plugin_rows *r);
    /* Up to max messages of a Kafka topic as rows (key, value, partition, offset, timestamp_ms).
     * NULL service until the harness offers topics to plugins. */
    hx_plugin_rows *(*topic_read)(hx_plugin_ctx *ctx, const char *topic, size_t max);
    /* The reason the last sql_query / topic_read / ledger_scalar failed. Host-owned. */
    const char *(*last_error)(hx_plugin_ctx *ctx);

    /* A scalar from the ground-truth ledger: agg is "count", "count_distinct", "sum", "min",
     * "max" or "avg" over dataset's valid, deduplicated records; column may be NULL for count.
     * Returns 0 and sets *out, or nonzero (see last_error). NULL service: no ledger in this run. */
    int (*ledger_scalar)(hx_plugin_ctx *ctx, const char *dataset, const char *agg,
                         const char *column, double *out);

    /* The verdict. expected and actual are short display strings (NULL for none); the message
     * says what was found. A later call replaces an earlier one. */
    void (*report)(hx_plugin_ctx *ctx, int status, const char *expected, const char *actual,
                   const char *fmt, ...) HX_PLUGIN_PRINTF(5, 6);
    /* One offending example (a key, a row) shown under the result; the host keeps the first
     * few and counts the rest. */
    void (*sample)(hx_plugin_ctx *ctx, const char *fmt, ...) HX_PLUGIN_PRINTF(2, 3);
    /* A named metric of this check ("rows_scanned"), with a unit ("", "s", "bytes"). */
    void (*metric)(hx_plugin_ctx *ctx, const char *name, double value, const char *unit);
    /* One value into a named histogram of this check (e.g. a latency in seconds). */
    void (*hist_record)(hx_plugin_ctx *ctx, const char *name, double value);

    /* Names of what is running, for messages. Host-owned. */
    const char *(*check_name)(hx_plugin_ctx *ctx);
};

#ifdef __cplusplus
}
#endif

#endif
