/* pgsvc_int.h - what pgsvc.c (the server) and pgsvc_db.c (databases and roles) share; private
 * to harness/services. */
#ifndef HX_PGSVC_INT_H
#define HX_PGSVC_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "pgsvc.h"

/* The admin role the harness makes in an embedded cluster. */
#define PG_SUPERUSER "harness"

/* Fill e with an out-of-memory error; returns HX_ENOMEM. */
int pgsvc_oom(hx_err *e);
/* nbytes random bytes as 2*nbytes hex digits and a NUL into out; false when the kernel has none. */
bool pgsvc_random_hex(char *out, size_t nbytes);
/* Free the scenario roles (pgsvc_db.c). NULL is fine. */
void pgsvc_roles_free(struct pgsvc_roles *r);

#endif
