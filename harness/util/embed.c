/* embed.c - see embed.h. */
#include "embed.h"

#include <string.h>

const struct hx_embedded *hx_embedded_find(const struct hx_embedded *table, const char *name)
{
    for (; table && table->name; table++)
        if (strcmp(table->name, name) == 0) return table;
    return NULL;
}
