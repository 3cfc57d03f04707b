/*
 * core.c: the protocols the replica driver can run (core.h), one row each.
 */
#include "core.h"

#include <assert.h>
#include <string.h>

static const struct glue_core_ops *const cores[] = {
    &glue_paxos_core,
    &glue_pbft_core,
};

const struct glue_core_ops *glue_core_find(const char *protocol)
{
    for (size_t i = 0; i < sizeof cores / sizeof cores[0]; i++) {
        const struct glue_core_ops *c = cores[i];
        assert(c->version == GLUE_CORE_VERSION && c->ord);
        if (strcmp(c->protocol, protocol) == 0)
            return c;
    }
    return NULL;
}
