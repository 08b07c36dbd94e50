/* cost.h - FinOps: load cloud price sheets (cost-models/<name>.json, "harness.cost-model/1") and
 * price a run's measured usage under them: an Infracost-like breakdown per run, the projected month
 * at the challenge's production scale, unit economics and per-phase attribution. The formulas are
 * in docs/cost-models.md; every number a breakdown shows can be recomputed by hand from its lines.
 *
 * Ownership: cost_model_load/parse hand out a cost_model the caller frees with cost_model_free.
 * A cost_breakdown borrows its model (which must outlive it) and owns its phase array; release it
 * with cost_breakdown_release. cost_model_find returns a path the caller frees with hx_free.
 * Strings inside lines (component, unit) are static; notes are stored in the line itself. */
#ifndef HX_COST_H
#define HX_COST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan.h"
#include "util.h"

#define COST_SCHEMA "harness.cost-model/1"
/* A month of hours, as Infracost and OpenCost count it (8760 / 12). */
#define COST_HOURS_PER_MONTH 730.0
/* A month of days (365 / 12), for projecting per-day production volume to a month. */
#define COST_DAYS_PER_MONTH (365.0 / 12.0)

/* The priced components. Each maps to one usage quantity; see docs/cost-models.md. */
typedef enum cost_rate_id {
    COST_R_COMPUTE_VCPU,    /* vCPU time of the solution */
    COST_R_COMPUTE_MEMORY,  /* memory time of the solution */
    COST_R_STORAGE,         /* sink data kept one month */
    COST_R_EGRESS,          /* bytes out to the internet */
    COST_R_KAFKA_IN,        /* bytes produced to the streaming service */
    COST_R_KAFKA_OUT,       /* bytes consumed from it */
    COST_R_KAFKA_PARTITION, /* partition lifetime */
    COST_R_DB_INSTANCE,     /* managed PostgreSQL instance time */
    COST_R_REQUESTS,        /* write-class API requests (object-storage PUTs and the like) */
    COST_R__COUNT
} cost_rate_id;

/* Billing rule groups: minimum and increment apply to the duration a group's rates bill. */
typedef enum cost_group {
    COST_G_COMPUTE, /* compute_vcpu, compute_memory */
    COST_G_DB,      /* db_instance */
    COST_G_KAFKA,   /* kafka_partition */
    COST_G__COUNT
} cost_group;

/* Units a rate may be quoted in. GB = 1e9 bytes, GiB = 2^30 bytes; TB = 1e12, TiB = 2^40. */
typedef enum cost_unit {
    COST_U_VCPU_HOUR,
    COST_U_VCPU_SECOND,
    COST_U_GB_HOUR,
    COST_U_GIB_HOUR,
    COST_U_GB_SECOND,
    COST_U_GIB_SECOND,
    COST_U_GB_MONTH,
    COST_U_GIB_MONTH,
    COST_U_GB,
    COST_U_GIB,
    COST_U_TB,
    COST_U_TIB,
    COST_U_PARTITION_HOUR,
    COST_U_INSTANCE_HOUR,
    COST_U_REQ_1K,
    COST_U_REQ_10K,
    COST_U_REQ_1M,
    COST_U__COUNT
} cost_unit;

/* One price. */
typedef struct cost_rate {
    bool present;    /* false only for optional rates a sheet left out (none today) */
    cost_unit unit;  /* what one unit of `price` buys */
    double price;    /* list price in the sheet's currency per unit, >= 0 */
    double discount; /* effective discount 0..1 (the rate's own, else the sheet's) */
    char *source;    /* where the price comes from (owned) */
    char *as_of;     /* when the source said so (owned) */
    bool unverified; /* true when the research could not confirm the price */
    char *note;      /* why, or how it was derived; NULL if none (owned) */
} cost_rate;

/* A billing rule: billed seconds = max(minimum, ceil(seconds / increment) * increment). */
typedef struct cost_billing {
    double minimum_seconds;   /* 0 = no minimum */
    double increment_seconds; /* 0 = exact (no rounding) */
    bool always_on;           /* production keeps it running all month (a database instance) */
    char *source;             /* where the rule comes from, NULL if not given (owned) */
} cost_billing;

/* A source the sheet cites. */
typedef struct cost_source {
    char *name;     /* short name (owned) */
    char *url;      /* URL, or NULL (owned) */
    char *citation; /* repository path or other citation, or NULL (owned) */
} cost_source;

/* A loaded price sheet. */
typedef struct cost_model {
    char *name;           /* file name without directory and .json, e.g. "aws-us-east-1" (owned) */
    char *path;           /* path it was loaded from (owned) */
    char *provider;       /* "aws", "gcp", "azure", ... (owned) */
    char *region;         /* (owned) */
    char *currency;       /* ISO code, "USD" (owned) */
    char *as_of;          /* when the sheet was compiled, YYYY-MM-DD (owned) */
    char sha256[65];      /* of the file bytes, for the run manifest */
    double discount;      /* sheet-wide negotiated discount 0..1 */
    cost_source *sources; /* cited sources (owned) */
    size_t nsources;
    cost_rate rates[COST_R__COUNT];      /* indexed by cost_rate_id */
    cost_billing billing[COST_G__COUNT]; /* indexed by cost_group */
} cost_model;

/* Parse a price sheet from text. path names the file in messages. On a malformed sheet returns
 * HX_EUSAGE with "path:line:col: ..." (bad JSON) or "path: $.json.path: what is wrong". On success
 * *out is a new model (free with cost_model_free). */
int cost_model_parse(const char *text, size_t len, const char *path, cost_model **out, hx_err *e);
/* Read and parse the sheet at path. HX_EIO if unreadable, else as cost_model_parse. */
int cost_model_load(const char *path, cost_model **out, hx_err *e);
/* Free a model. NULL is fine. */
void cost_model_free(cost_model *m);

/* Find the sheet called name ("aws-us-east-1", with or without ".json"; a name containing '/' is a
 * path and is used as is). Searches, in order: dir (the --cost-models flag, may be NULL),
 * $HARNESS_COST_MODELS, the installed data dir, then the source tree's cost-models/. On success
 * *path is a new string (free with hx_free); HX_EUSAGE naming the places searched otherwise. */
int cost_model_find(const char *name, const char *dir, char **path, hx_err *e);
/* cost_model_find then cost_model_load. */
int cost_model_load_named(const char *name, const char *dir, cost_model **out, hx_err *e);

/* Names, for messages and reports. */
const char *cost_rate_name(cost_rate_id r); /* JSON key: "compute_vcpu" */
const char *cost_unit_name(cost_unit u);    /* as written in sheets: "vCPU-hour" */
const char *cost_group_name(cost_group g);  /* "compute" */
/* The group whose billing rule applies to rate r, or -1 when the rate is not time-billed. */
int cost_rate_group(cost_rate_id r);

/* ---- pricing ---- */

/* Usage of one phase (ingest, a solution invocation, checks), for attribution. */
typedef struct cost_phase_usage {
    const char *name;        /* phase name (borrowed) */
    double cpu_seconds;      /* user + sys */
    double wall_seconds;     /* elapsed */
    uint64_t peak_rss_bytes; /* high-water resident memory */
    bool outside_bill;       /* the harness's own work (replay, checks): priced, not billed */
} cost_phase_usage;

/* What a run consumed. All quantities are for the whole run (every invocation of the solution).
 * Zero means "none"; negative or non-finite values are rejected. */
typedef struct cost_usage {
    double cpu_seconds;       /* user + sys of the solution's process tree */
    double wall_seconds;      /* elapsed time the solution ran (sum over invocations) */
    unsigned invocations;     /* solution launches; billing minimums apply per launch (0 = 1) */
    double provisioned_vcpus; /* vCPUs a production task would reserve (0 = 1) */
    uint64_t provisioned_memory_bytes; /* memory a production task would reserve (0 = peak RSS) */
    uint64_t peak_rss_bytes;           /* high-water resident memory */
    uint64_t mean_rss_bytes;           /* time-averaged resident memory */
    double rss_byte_seconds;           /* integral of RSS over time (0 = mean RSS x wall) */
    uint64_t storage_bytes;            /* sink data written by the run */
    uint64_t egress_bytes;             /* bytes sent to the internet */
    uint64_t kafka_bytes_in;           /* bytes produced to topics (by harness and solution) */
    uint64_t kafka_bytes_out;          /* bytes consumed from topics */
    uint32_t kafka_partitions;         /* partitions that existed during the run */
    double kafka_partition_seconds;    /* how long they existed */
    double db_instance_seconds;        /* how long the database served the run */
    uint64_t requests;                 /* write-class API requests */
    uint64_t input_records;            /* records the scenario fed in */
    uint64_t correct_output_records;   /* output records that matched the ground truth */
    const cost_phase_usage *phases;    /* optional phases (borrowed) */
    size_t nphases;
} cost_usage;

/* Which compute view a line belongs to. */
typedef enum cost_view {
    COST_VIEW_NONE,        /* not a compute line */
    COST_VIEW_USED,        /* vCPU time from CPU seconds, memory from RSS byte-seconds */
    COST_VIEW_PROVISIONED, /* reserved vCPUs and memory x billed wall time */
    COST_VIEW_BILLED       /* max(used, provisioned), what the bill says */
} cost_view;

/* One line of a breakdown, like an Infracost cost component. */
typedef struct cost_line {
    cost_rate_id rate; /* which rate priced it */
    cost_view view;    /* compute view, COST_VIEW_NONE for other rates */
    bool billed;       /* counts in the totals (the USED and PROVISIONED views are shown only) */
    const char *component; /* display name, static */
    double quantity;       /* in `unit` */
    const char *unit;      /* the rate's unit name, static */
    double list_price;     /* per unit, before discount */
    double unit_price;     /* per unit, after discount */
    double cost;           /* quantity x unit_price, per run */
    double monthly;        /* projected per month (0 when not projected) */
    char note[200];        /* billing rules applied, conversions, unverified flags */
} cost_line;

/* Per-phase attribution of the billed compute: each phase weighs its raw usage (max of CPU and
 * provisioned vCPUs x wall, and peak RSS x wall, at the compute rates, with no minimum or
 * increment); the run's billed compute lines are split among the billed phases by those weights.
 * A phase outside the bill costs its raw weight: what that work would cost at the same rates. */
typedef struct cost_phase_cost {
    char *name;          /* (owned) */
    double vcpu_seconds; /* raw vCPU-seconds of the phase */
    double gib_seconds;  /* raw GiB-seconds of memory */
    double cost;         /* share x the run's billed compute (vCPU + memory lines) */
    double share;        /* of the billed phases' weights, 0..1 (0 outside the bill) */
    bool outside_bill;   /* copied from the usage */
} cost_phase_cost;

#define COST_MAX_LINES 16

/* A run priced under one model. */
typedef struct cost_breakdown {
    const cost_model *model;         /* borrowed */
    cost_line lines[COST_MAX_LINES]; /* billed lines first, then the shown-only compute views */
    size_t nlines;
    double used_vcpu_seconds;        /* CPU seconds */
    double provisioned_vcpu_seconds; /* vCPUs x billed wall seconds */
    double billed_vcpu_seconds;      /* max of the two */
    double compute_used;             /* cost of the used view (vCPU + memory) */
    double compute_provisioned;      /* cost of the provisioned view */
    double total;                    /* per run: sum of billed lines */
    bool projected;                  /* the scale allowed a monthly projection */
    double runs_per_month;           /* production runs a month stands for */
    double scale_factor;             /* a production run's volume / this run's (1 = as measured) */
    double monthly;                  /* projected per month: sum of billed lines' monthly */
    double per_million_input;        /* total / input_records x 1e6; NAN when no input records */
    double per_correct_record;       /* total / correct_output_records; NAN when none */
    cost_phase_cost *phases;         /* (owned) */
    size_t nphases;
} cost_breakdown;

/* Production runs a month: runs_per_day x 365/12 when declared; else, with only a volume,
 * records_per_day / input_records x 365/12 (runs the size of this one); else 0 (no projection). */
double cost_runs_per_month(const plan_scale *scale, uint64_t input_records);
/* How much bigger a production run is than the measured one: records_per_day / runs_per_day /
 * input_records when the scale declares both and the run fed records, else 1. Usage that grows
 * with volume (CPU, wall, memory-time, bytes, requests) is multiplied by it before the billing
 * rules apply, so a minimum is paid once per production run, not once per test-sized run. */
double cost_scale_factor(const plan_scale *scale, uint64_t input_records);
/* Billed seconds for `seconds` of use under rule b, for `launches` separate launches (each pays
 * the minimum): max(minimum x launches, ceil(seconds / increment) x increment). */
double cost_billed_seconds(const cost_billing *b, double seconds, unsigned launches);

/* Price usage u under model m, projected with scale (NULL = no projection). Fills out (which the
 * caller releases with cost_breakdown_release). Returns 0, HX_EUSAGE for invalid usage, or
 * HX_ENOMEM. */
int cost_price(const cost_model *m, const cost_usage *u, const plan_scale *scale,
               cost_breakdown *out, hx_err *e);
/* Price under n models at once into outs[0..n-1]. On failure every out is released. */
int cost_price_all(const cost_model *const *models, size_t n, const cost_usage *u,
                   const plan_scale *scale, cost_breakdown *outs, hx_err *e);
/* Free what a breakdown owns; it can be priced into again. */
void cost_breakdown_release(cost_breakdown *b);

/* Append the breakdown as a plain-text table (for the terminal and logs) to out. */
bool cost_breakdown_format(const cost_breakdown *b, hx_buf *out);

/* The value of a cost metric, for budgets (thresholds on cost). Grammar:
 * "cost.[<model>.]<quantity>.<currency>" where quantity is run, monthly, per_million_input,
 * per_correct_record, compute_used or compute_provisioned, and currency (any case) must match the
 * model's. Without a model name the first breakdown (the primary model) is used. Examples:
 * "cost.monthly.usd", "cost.gcp-us-central1.run.usd". Returns 0 and *out (NAN when the quantity
 * is not available, e.g. monthly without a scale), or HX_EUSAGE naming the metric and the fix. */
int cost_metric_value(const cost_breakdown *bs, size_t n, const char *metric, double *out,
                      hx_err *e);

#endif
