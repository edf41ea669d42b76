/* Cron expressions: each field a bit set, matched minute by minute from the next one
 * on (days that cannot match are skipped whole). */
#include "cron.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct field {
        const char *what;
        int lo, hi;
        const char *const *names; /* names of lo, lo+1, ... (NULL: numbers only) */
};

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                     "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const struct field fields[5] = {
    {"minute", 0, 59, NULL},  {"hour", 0, 23, NULL},       {"day of month", 1, 31, NULL},
    {"month", 1, 12, months}, {"day of week", 0, 7, days},
};

/* One value of field f at *p (a number or a name); -1 when none is there. */
static int value(const struct field *f, const char **p)
{
        for (int i = 0; f->names && f->names[i]; i++)
                if (strncasecmp(*p, f->names[i], 3) == 0) {
                        *p += 3;
                        return f->lo + i;
                }
        if (**p < '0' || **p > '9')
                return -1;
        char *end;
        long v = strtol(*p, &end, 10);
        *p = end;
        return v < f->lo || v > f->hi ? -1 : (int)v;
}

/* Parses one field's text (len bytes, NUL-free) into *bits. 0 or -1. */
static int parse_field(const struct field *f, const char *t, size_t len, uint64_t *bits, int *any)
{
        char buf[64];
        if (len == 0 || len >= sizeof(buf))
                return -1;
        memcpy(buf, t, len);
        buf[len] = '\0';
        *bits = 0;
        *any = strcmp(buf, "*") == 0;
        for (char *rest = buf, *part; (part = strsep(&rest, ",")) != NULL;) {
                if (!*part)
                        return -1; /* "1,,2" */
                const char *p = part;
                int a = f->lo, b = f->hi, step = 1;
                if (*p == '*') {
                        p++;
                } else {
                        if ((a = value(f, &p)) < 0)
                                return -1;
                        b = a;
                        if (*p == '-') {
                                p++;
                                if ((b = value(f, &p)) < a)
                                        return -1;
                        }
                }
                if (*p == '/') {
                        char *end;
                        long s = strtol(p + 1, &end, 10);
                        if (end == p + 1 || s < 1 || s > f->hi)
                                return -1;
                        step = (int)s;
                        p = end;
                        if (a == b)
                                b = f->hi; /* "5/15": from 5 on */
                }
                if (*p)
                        return -1;
                for (int v = a; v <= b; v += step)
                        *bits |= 1ull << v;
        }
        return *bits ? 0 : -1;
}

static int parse_every(const char *s, struct cron *c, struct err *e)
{
        char *end;
        long n = strtol(s, &end, 10);
        unsigned mult = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : 0;
        if (end == s || !mult || end[1] || n < 1 || n > 86400 || n * mult < 10 || n * mult > 86400)
                return err_set(e, EINVAL,
                               "@every takes 10s to 24h (\"@every 30s\", \"@every 5m\")");
        c->every_s = (unsigned)(n * mult);
        return 0;
}

int cron_parse(const char *s, struct cron *c, struct err *e)
{
        static const struct {
                const char *name, *expr;
        } macros[] = {{"@hourly", "0 * * * *"},
                      {"@daily", "0 0 * * *"},
                      {"@weekly", "0 0 * * 0"},
                      {"@monthly", "0 0 1 * *"},
                      {"@yearly", "0 0 1 1 *"}};
        memset(c, 0, sizeof(*c));
        if (strlen(s) > CRON_MAX)
                return err_set(e, EINVAL, "a schedule is at most %d bytes", CRON_MAX);
        if (strncmp(s, "@every ", 7) == 0)
                return parse_every(s + 7, c, e);
        for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
                if (strcmp(s, macros[i].name) == 0)
                        s = macros[i].expr;
        const char *p = s;
        uint64_t bits[5];
        int any[5];
        for (int i = 0; i < 5; i++) {
                p += strspn(p, " \t");
                size_t len = strcspn(p, " \t");
                if (parse_field(&fields[i], p, len, &bits[i], &any[i]) < 0)
                        return err_set(e, EINVAL,
                                       "schedule '%s': the %s field is not valid (five fields: "
                                       "minute hour day-of-month month day-of-week)",
                                       s, fields[i].what);
                p += len;
        }
        if (p[strspn(p, " \t")])
                return err_set(e, EINVAL, "schedule '%s': more than five fields", s);
        c->minute = bits[0];
        c->hour = (uint32_t)bits[1];
        c->dom = (uint32_t)bits[2];
        c->month = (uint32_t)bits[3];
        c->dow = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 is Sunday too */
        c->dom_any = any[2];
        c->dow_any = any[4];
        return 0;
}

static int day_matches(const struct cron *c, const struct tm *t)
{
        if (!(c->month & (1u << (t->tm_mon + 1))))
                return 0;
        int dom = (c->dom >> t->tm_mday) & 1, dow = (c->dow >> t->tm_wday) & 1;
        if (c->dom_any || c->dow_any)
                return dom && dow;
        return dom || dow;
}

int64_t cron_next(const struct cron *c, int64_t after_ms)
{
        if (c->every_s)
                return after_ms + (int64_t)c->every_s * 1000;
        time_t t = (time_t)(after_ms / 60000 + 1) * 60; /* the next whole minute */
        for (int day = 0; day < 5 * 366; day++) {
                struct tm tm;
                gmtime_r(&t, &tm);
                if (day_matches(c, &tm))
                        for (int h = tm.tm_hour; h < 24; h++) {
                                if (!(c->hour & (1u << h)))
                                        continue;
                                for (int m = h == tm.tm_hour ? tm.tm_min : 0; m < 60; m++)
                                        if (c->minute & (1ull << m))
                                                return ((int64_t)t + (h - tm.tm_hour) * 3600 +
                                                        (m - tm.tm_min) * 60) *
                                                       1000;
                        }
                t += 86400 - (tm.tm_hour * 3600 + tm.tm_min * 60); /* next midnight */
        }
        return -1;
}
