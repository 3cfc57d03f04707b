/*
 * ord_config.h: what the protocol cores' config checks share (internal to
 * ordering/): ORD_REFUSE writes one sentence naming the field into the
 * caller's `err` (may be NULL; the function's parameters must be named
 * err and err_len) and returns SMR_ECONFIG.
 */
#ifndef STRATA_ORD_CONFIG_H
#define STRATA_ORD_CONFIG_H

#include <stdio.h>

#include "smr.h"

#define ORD_REFUSE(...)                                                        \
    do {                                                                       \
        if (err)                                                               \
            snprintf(err, err_len, __VA_ARGS__);                               \
        return SMR_ECONFIG;                                                    \
    } while (0)

#endif
