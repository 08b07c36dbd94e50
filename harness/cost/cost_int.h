/* cost_int.h - what the cost module's files share and nothing else reads: the unit and rate
 * tables live in cost_sheet.c, the pricer (cost.c) and the metrics (cost_metric.c) ask them
 * through these. Not part of cost.h's API. */
#ifndef HX_COST_INT_H
#define HX_COST_INT_H

#include "cost.h"

/* Base quantity (seconds, bytes, count) in one unit u: 3600 for "vCPU-hour"; 1 for an unknown u. */
double cost_unit_base(cost_unit u);

/* Display name of a rate's line: "compute vCPU", "database storage"; "?" for an unknown r. */
const char *cost_rate_component(cost_rate_id r);

#endif
