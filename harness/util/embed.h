/* embed.h - files compiled into the binary at build time (tools/embed.py): the Lua helper
 * libraries of scenarios/lib and the report templates. Tables end with a NULL name. */
#ifndef HX_EMBED_H
#define HX_EMBED_H

#include <stddef.h>

struct hx_embedded {
    const char *name; /* logical name, e.g. "lib/ecommerce.lua" */
    const char *data; /* contents, NUL-terminated */
    size_t len;       /* length without the NUL */
};

/* The entry called name in table, or NULL. */
const struct hx_embedded *hx_embedded_find(const struct hx_embedded *table, const char *name);

#endif
