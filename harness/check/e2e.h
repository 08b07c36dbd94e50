/* e2e.h - end-to-end latency matching (metrics latency.e2e.*, docs/scenarios.md
 * "Streaming"): the send times of the records the harness
 * replayed into Kafka, found again from an output message, by the record id the solution forwarded
 * (header harness-id) or else by the message key.
 *
 * A record id or a key seen twice (a duplicate the scenario sent on purpose) keeps its first send
 * time: latency is counted from the first chance the solution had.
 *
 * Ownership: e2e_new hands out a table freed by e2e_free; keys are copied in. */
#ifndef HX_E2E_H
#define HX_E2E_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

typedef struct e2e e2e; /* opaque */

/* A new, empty table. Returns 0 and *out, or HX_ENOMEM. */
int e2e_new(e2e **out);

/* Free t and its keys. NULL is a no-op. */
void e2e_free(e2e *t);

/* Remember an input message sent at sent_ns (ns since the epoch): under its id when has_id, and
 * under its key when key is not NULL. Returns false only when out of memory. */
bool e2e_add(e2e *t, bool has_id, uint64_t id, const void *key, size_t key_len, int64_t sent_ns);

/* The send time of the input an output message answers: by id when has_id and the id is known,
 * else by key. Returns false when neither matches. */
bool e2e_find(const e2e *t, bool has_id, uint64_t id, const void *key, size_t key_len,
              int64_t *sent_ns);

/* Entries held (ids and keys counted apart). */
size_t e2e_size(const e2e *t);

#endif
