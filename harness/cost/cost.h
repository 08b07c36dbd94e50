/* cost.h - FinOps: load cloud price sheets (cost-models/<name>.json, "harness.cost-model/1") and
 * price a run's measured usage under them on one production basis: usage measured at the test
 * size is projected to a production run (fixed + per-record when two sizes were measured), every
 * line is fixed or variable, per production run and per month, a database is sized by the load
 * it carried, and unit economics, per-phase attribution and metrics follow. The formulas are
 * in docs/cost-models.md; every number a breakdown shows can be recomputed by hand from its lines.
 *
 * Ownership: cost_model_load/parse hand out a cost_model the caller frees with cost_model_free.
 * A cost_breakdown borrows its model (which must outlive it) and owns its phase array; release it
 * with cost_breakdown_release. cost_model_find returns a path the caller frees with hx_free.
 * Units are static strings; components and notes are stored in the line itself. */
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

/* The priced components. Each maps to one usage quantity; see docs/cost-models.md. The first
 * nine are required in every sheet; the rest are optional (a sheet without them prices nothing
 * there). */
typedef enum cost_rate_id {
    COST_R_COMPUTE_VCPU,    /* vCPU time of the solution */
    COST_R_COMPUTE_MEMORY,  /* memory time of the solution */
    COST_R_STORAGE,         /* files the solution wrote, kept one month (object storage) */
    COST_R_EGRESS,          /* bytes out to the internet */
    COST_R_KAFKA_IN,        /* bytes produced to the streaming service */
    COST_R_KAFKA_OUT,       /* bytes consumed from it */
    COST_R_KAFKA_PARTITION, /* partition lifetime (fixed: partitions exist all month) */
    COST_R_DB_INSTANCE,     /* managed PostgreSQL instance time, when the sheet lists no classes */
    COST_R_REQUESTS,        /* write-class API requests (object-storage PUTs and the like) */
    COST_R_DB_STORAGE,      /* database storage (optional; may carry a billing minimum) */
    COST_R_KAFKA_CLUSTER,   /* the streaming service's fixed fee: cluster-hours or throughput
                               unit-hours (optional) */
    COST_R_KAFKA_EVENTS,    /* events produced, per million (Event Hubs; optional) */
    COST_R__COUNT
} cost_rate_id;

/* Rates before this one are required in every sheet. */
#define COST_R__REQUIRED COST_R_DB_STORAGE

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
    COST_U_CLUSTER_HOUR, /* one cluster (MSK Serverless) for an hour */
    COST_U_TU_HOUR,      /* one throughput unit (Event Hubs: 1 MB/s in) for an hour */
    COST_U_EVENTS_1M,    /* a million events (an event is up to 64 KiB) */
    COST_U__COUNT
} cost_unit;

/* One price. */
typedef struct cost_rate {
    bool present;    /* false for an optional rate the sheet left out */
    cost_unit unit;  /* what one unit of `price` buys */
    double price;    /* list price in the sheet's currency per unit, >= 0 */
    double discount; /* effective discount 0..1 (the rate's own, else the sheet's) */
    double minimum;  /* least quantity billed a month, in `unit` (db_storage: 20 GB-month) */
    char *source;    /* where the price comes from (owned) */
    char *as_of;     /* when the source said so (owned) */
    bool unverified; /* true when the research could not confirm the price */
    char *note;      /* why, or how it was derived; NULL if none (owned) */
} cost_rate;

/* One managed-PostgreSQL instance class. */
typedef struct cost_db_class {
    char *name;           /* "db.t4g.micro" (owned) */
    double vcpu;          /* nominal vCPUs */
    double memory_gib;    /* memory, GiB */
    double capacity_vcpu; /* vCPUs it sustains (a burstable class's baseline), <= vcpu */
    double price;         /* per instance-hour, list */
    double discount;      /* 0..1, the class's own else the sheet's */
    char *source;         /* (owned) */
    char *as_of;          /* (owned) */
    bool unverified;
    char *note; /* (owned), may be NULL */
} cost_db_class;

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

/* The utilisation a database class is sized to when the sheet does not say. */
#define COST_DB_TARGET_DEFAULT 0.6
/* Event Hubs: a throughput unit takes 1 MB/s in; an event is billed per 64 KiB. */
#define COST_TU_BYTES_PER_SECOND 1e6
#define COST_EVENT_BYTES 65536.0

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
    double db_target;     /* utilisation a database class is sized to, 0..1 (default 0.6) */
    char *streaming;      /* the streaming service priced, e.g. "MSK Serverless" (owned, or NULL) */
    cost_source *sources; /* cited sources (owned) */
    size_t nsources;
    cost_rate rates[COST_R__COUNT];      /* indexed by cost_rate_id */
    cost_billing billing[COST_G__COUNT]; /* indexed by cost_group */
    cost_db_class *db_classes;           /* cheapest first (owned); none = db_instance alone */
    size_t ndb_classes;
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

/* Usage of one phase (replay, a solution invocation, checks), for attribution. */
typedef struct cost_phase_usage {
    const char *name;        /* phase name (borrowed) */
    double cpu_seconds;      /* user + sys */
    double wall_seconds;     /* elapsed */
    uint64_t peak_rss_bytes; /* high-water resident memory */
    bool outside_bill;       /* the harness's own work (replay, checks): priced, not billed */
} cost_phase_usage;

/* What one run (one scenario at its test size) consumed: the fields the engine fills. Zero means
 * "none" or "not measured", and each has a safe default (noted); negative or non-finite values
 * are rejected. */
typedef struct cost_usage {
    /* The solution's own processes, over every invocation of the run. */
    double cpu_seconds;  /* user + sys of the solution's process trees */
    double wall_seconds; /* elapsed, summed over invocations */
    bool wall_paced; /* a service: the wall is the paced stream's duration, projected linearly */
    unsigned invocations;              /* launches a run (0 = 1); minimums apply per launch */
    double provisioned_vcpus;          /* a production task's vCPUs (0 = 1) */
    uint64_t provisioned_memory_bytes; /* a production task's memory (0 = peak RSS) */
    uint64_t peak_rss_bytes;           /* high-water resident memory */
    uint64_t mean_rss_bytes;           /* time-averaged resident memory */
    double rss_byte_seconds;           /* integral of RSS over time (0 = mean RSS x wall) */
    /* The database server (PostgreSQL), when the pack uses one. */
    bool uses_db;                  /* the pack has a PostgreSQL source or sink: price a database */
    double db_cpu_steps_seconds;   /* its CPU during the solution's steps (0 = none measured) */
    double db_cpu_served_seconds;  /* its CPU serving the product's workload (analyst queries) */
    double db_cpu_harness_seconds; /* its CPU for the harness (replay, checks): shown only */
    uint64_t db_storage_bytes;     /* the solution's own tables, indexes and matviews (0 = the
                                      sheet's minimum) */
    /* The streaming service, when the pack uses one. */
    bool uses_streaming;        /* the pack has a Kafka source or sink */
    uint64_t kafka_bytes_in;    /* bytes produced to topics (harness and solution) */
    uint64_t kafka_bytes_out;   /* bytes consumed from topics */
    uint64_t kafka_messages_in; /* messages produced (0 = bytes / 64 KiB, at least) */
    uint32_t kafka_partitions;  /* partitions the pack's topics have */
    /* Files and network. */
    uint64_t landing_bytes; /* files the solution wrote (file sinks), kept one month */
    uint64_t egress_bytes;  /* bytes sent to the internet */
    uint64_t requests;      /* write-class API requests */
    /* Volume and result. */
    uint64_t input_records;          /* records the scenario fed in */
    uint64_t correct_output_records; /* output records that matched the ground truth */
    const cost_phase_usage *phases;  /* optional phases (borrowed) */
    size_t nphases;
    /* The same scenario measured at another size (a probe at k times the records), or NULL:
     * with it, each quantity is fitted as fixed + per-record instead of scaled linearly. The
     * probe's own probe is ignored. (borrowed) */
    const struct cost_usage *probe;
} cost_usage;

/* Whether a line grows with the records processed or is paid whatever the volume. */
typedef enum cost_kind {
    COST_VARIABLE,
    COST_FIXED,
} cost_kind;

/* One line of a breakdown, like an Infracost cost component, for one production month. */
typedef struct cost_line {
    cost_rate_id rate;  /* which rate priced it (db classes: COST_R_DB_INSTANCE) */
    cost_kind kind;     /* fixed or variable */
    char component[80]; /* display name */
    double quantity;    /* a month's, in `unit` */
    const char *unit;   /* the rate's unit name, static */
    double list_price;  /* per unit, before discount */
    double unit_price;  /* per unit, after discount */
    double monthly;     /* quantity x unit_price */
    double run;         /* per production run: monthly / runs a month */
    char note[240];     /* how the quantity was derived, billing rules, unverified flags */
} cost_line;

/* How one usage quantity was projected from the test size to a production run. */
typedef struct cost_fit {
    const char *name;  /* "solution CPU s", "database CPU s", ... static */
    double measured;   /* at the run's input records */
    double probe;      /* at the probe's, NAN without a probe */
    double fixed;      /* a run's fixed part (0 when linear) */
    double per_record; /* growth per input record */
    double projected;  /* at a production run's records: fixed + per_record x records */
    double slope;      /* log-log growth between the two sizes (1 = linear), NAN without probe */
    bool two_sizes;    /* fitted from two sizes, else scaled linearly */
} cost_fit;

/* Per-phase attribution of the billed compute: each phase weighs its raw usage (max of CPU and
 * provisioned vCPUs x wall, and peak RSS x wall, at the compute rates, with no minimum or
 * increment); the production run's compute lines are split among the billed phases by those
 * weights. A phase outside the bill costs its raw weight scaled to a production run: what that
 * work would cost at the same rates. */
typedef struct cost_phase_cost {
    char *name;          /* (owned) */
    double vcpu_seconds; /* raw vCPU-seconds of the phase, as measured */
    double gib_seconds;  /* raw GiB-seconds of memory, as measured */
    double cost;         /* per production run */
    double share;        /* of the billed phases' weights, 0..1 (0 outside the bill) */
    bool outside_bill;   /* copied from the usage */
    double slope;        /* log-log growth of the phase's CPU + wall against the probe's phase of
                            the same name, NAN when there is none */
} cost_phase_cost;

#define COST_MAX_LINES 16
#define COST_MAX_FITS 12

/* A run priced under one model, on the production basis. */
typedef struct cost_breakdown {
    const cost_model *model;         /* borrowed */
    cost_line lines[COST_MAX_LINES]; /* the non-zero lines, variable first */
    size_t nlines;
    /* Assumptions of the projection. */
    double records_per_run; /* input records of a production run */
    double runs_per_month;  /* production runs a month */
    double scale_factor;    /* records_per_run / the run's input records (1 = as measured) */
    bool scale_assumed;     /* the pack declared no scale: one run a day, as measured */
    bool two_sizes;         /* a probe was measured: quantities fitted fixed + per-record */
    cost_fit fits[COST_MAX_FITS];
    size_t nfits;
    /* Database sizing (db_class NULL when no database is priced). */
    const cost_db_class *db_class; /* borrowed from the model */
    double db_load_vcpu;           /* projected sustained database CPU load, vCPUs */
    double db_utilisation;         /* of the chosen class's capacity, 0.. */
    char db_reason[240];           /* why that class */
    /* Compute views, per production run (the billed line is the max of the two). */
    double used_vcpu_seconds;
    double provisioned_vcpu_seconds;
    double billed_vcpu_seconds;
    double compute_used;
    double compute_provisioned;
    /* Totals. */
    double total;                   /* per production run: monthly / runs_per_month */
    double monthly;                 /* a month: monthly_fixed + monthly_variable */
    double monthly_fixed;           /* lines paid whatever the volume */
    double monthly_variable;        /* lines that grow with the records */
    double monthly_input_records;   /* records_per_run x runs_per_month */
    double monthly_correct_outputs; /* correct outputs scaled the same way */
    double per_million_input;       /* monthly / monthly_input_records x 1e6; NAN when none */
    double per_correct_record;      /* monthly / monthly_correct_outputs; NAN when none */
    double harness_monthly;         /* the harness's own work (replay, checks), outside the bill */
    cost_phase_cost *phases;        /* (owned) */
    size_t nphases;
} cost_breakdown;

/* A production run's input records and the runs a month. With records_per_day and runs_per_day
 * declared: records_per_day / runs_per_day and runs_per_day x 365/12. With records_per_day only
 * (a service): a production run is a day. With neither: one run a day the size of the measured
 * one (*assumed = true). */
void cost_basis(const plan_scale *scale, uint64_t input_records, double *records_per_run,
                double *runs_per_month, bool *assumed);
/* Production runs a month, as cost_basis. */
double cost_runs_per_month(const plan_scale *scale, uint64_t input_records);
/* records_per_run / input_records (1 when either is unknown). */
double cost_scale_factor(const plan_scale *scale, uint64_t input_records);
/* Billed seconds for `seconds` of use under rule b, for `launches` separate launches (each pays
 * the minimum): max(minimum x launches, ceil(seconds / increment) x increment). */
double cost_billed_seconds(const cost_billing *b, double seconds, unsigned launches);
/* Fit quantity q measured at r records (and q2 at r2 when two_sizes) and project it to R
 * records; see docs/cost-models.md "The projection". */
cost_fit cost_fit_project(const char *name, double q, double r, double q2, double r2, double R,
                          bool two_sizes);
/* The wall time a production run keeps its task for, from the wall q at r records (q2 at r2 when
 * two_sizes): its per-record part is busy_per_record (the solution's and its database steps' CPU
 * a record) and its fixed part the remainder q - busy x r (at least 0; with two sizes the smaller
 * of the two measurements'), so a test machine's run queue does not grow with the records; the
 * slope stays the measured walls'. busy_per_record NAN (a paced service): as cost_fit_project.
 * See docs/cost-models.md "The projection". */
cost_fit cost_fit_wall(const char *name, double q, double r, double q2, double r2, double R,
                       bool two_sizes, double busy_per_record);
/* The smallest class (cheapest first) whose capacity x target covers load_vcpu; the largest
 * when none does. NULL when the sheet lists no classes. */
const cost_db_class *cost_db_pick(const cost_model *m, double load_vcpu);

/* Price usage u under model m on the production basis of scale (NULL = as measured, one run a
 * day). Fills out (which the caller releases with cost_breakdown_release). Returns 0, HX_EUSAGE
 * for invalid usage, or HX_ENOMEM. */
int cost_price(const cost_model *m, const cost_usage *u, const plan_scale *scale,
               cost_breakdown *out, hx_err *e);
/* Price under n models at once into outs[0..n-1]. On failure every out is released. */
int cost_price_all(const cost_model *const *models, size_t n, const cost_usage *u,
                   const plan_scale *scale, cost_breakdown *outs, hx_err *e);
/* Free what a breakdown owns; it can be priced into again. */
void cost_breakdown_release(cost_breakdown *b);

/* Append the breakdown as a plain-text table (for the terminal and logs) to out. */
bool cost_breakdown_format(const cost_breakdown *b, hx_buf *out);

/* Money with significant digits: "11.68 USD", "0.000412 USD", "-3.1 USD"; with sign, a leading
 * "+" on positive values (for deltas). NAN reads "n/a". Returns buf. */
const char *cost_money(char *buf, size_t n, double v, const char *currency, bool sign);

/* The pack's monthly figure from its scenarios' monthly totals: their mean. Each scenario is the
 * same pipeline for a month under different data, so the fixed lines are paid once, and a sum
 * would pay them once per scenario. NAN when n is 0 or a value is not finite. */
double cost_pack_monthly(const double *monthly, size_t n);

/* ---- metrics ---- */

/* The value of a cost metric, for budgets (thresholds on cost). Grammar:
 * "cost.[<model>.]<quantity>.<currency>" where quantity is run, monthly, monthly.fixed,
 * monthly.variable, per_million_input, per_correct_record, compute_used or compute_provisioned,
 * and currency (any case) must match the model's. Without a model name the first breakdown (the
 * primary model) is used. Examples: "cost.monthly.usd", "cost.gcp-us-central1.run.usd",
 * "cost.monthly.variable.eur". Returns 0 and *out (NAN when not available), or HX_EUSAGE naming
 * the metric and the fix (a budget in another currency than the model's is refused). */
int cost_metric_value(const cost_breakdown *bs, size_t n, const char *metric, double *out,
                      hx_err *e);
/* Check a budget's metric name against the models a run will price under, before the run:
 * HX_EUSAGE naming it when it is not a cost metric these models produce (unknown quantity,
 * unknown model, another currency). */
int cost_metric_check(const cost_model *const *models, size_t n, const char *metric, hx_err *e);

/* One metric a breakdown produces. */
typedef struct cost_metric {
    char name[160]; /* "cost.aws-us-east-1.monthly.variable.usd" */
    double value;
} cost_metric;

/* The metrics of breakdown b: model-qualified names, and with primary also the unqualified
 * names budgets use ("cost.monthly.usd"). The currency part is the sheet's, lower case. Fills
 * out[0..max-1]; returns how many there are (COST_MAX_METRICS at most). */
#define COST_MAX_METRICS 12
size_t cost_metrics(const cost_breakdown *b, bool primary, cost_metric *out, size_t max);

#endif
