/* Job schedules: a cron expression of five fields (minute hour day-of-month month
 * day-of-week, each *, N, A-B, a list of those and /STEP; month and weekday names in
 * English; day-of-week 0 or 7 is Sunday), one of @hourly @daily @weekly @monthly
 * @yearly, or "@every N{s,m,h}" (N from 10 s to 24 h). Times are UTC. Pure functions,
 * thread-safe; cron_parse takes untrusted input (tests/fuzz/fuzz_cron.c). */
#ifndef NS_CRON_H
#define NS_CRON_H

#include <stdint.h>

#include "../common/err.h"

#define CRON_MAX 128 /* bytes of an expression */

struct cron {
        uint64_t minute; /* bit N: minute N matches */
        uint32_t hour, dom, month;
        uint8_t dow;
        int dom_any, dow_any; /* "*": with both restricted a day matches either */
        unsigned every_s;     /* @every: the period (0: the fields) */
};

/* Parses s into c. 0, or -EINVAL with e saying what is wrong. */
int cron_parse(const char *s, struct cron *c, struct err *e);

/* The first time (ms since the epoch) the schedule fires strictly after after_ms, at a
 * whole minute (the fields) or after_ms + the period (@every); -1 when none does within
 * five years (30 February). */
int64_t cron_next(const struct cron *c, int64_t after_ms);

#endif
