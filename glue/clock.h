/*
 * clock.h: the glue's clocks. Wall time only for leader timestamps; the
 * monotonic clock for every timeout and measurement.
 */
#ifndef STRATA_GLUE_CLOCK_H
#define STRATA_GLUE_CLOCK_H

#include <stdint.h>

uint64_t glue_now_ms(void);  /* CLOCK_REALTIME */
uint64_t glue_mono_ms(void); /* CLOCK_MONOTONIC */
uint64_t glue_mono_us(void); /* CLOCK_MONOTONIC */

#endif
