/* Deployments' pure parts: cron schedules (parse, next firing), the streaming redactor,
 * and nullspace.toml (cli/manifest.c, linked into this test). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../src/cli/manifest.h"
#include "../../src/common/redact.h"
#include "../../src/core/cron.h"
#include "tap.h"

/* ms since the epoch of a UTC date and time */
static int64_t at(int y, int mo, int d, int h, int mi)
{
        struct tm tm = {
            .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
        return (int64_t)timegm(&tm) * 1000;
}

static int64_t next(const char *expr, int64_t after)
{
        struct cron c;
        struct err e = {0};
        return cron_parse(expr, &c, &e) < 0 ? -2 : cron_next(&c, after);
}

static void cron(void)
{
        int64_t t0 = at(2026, 12, 6, 14, 7) + 30000; /* a Sunday, 14:07:30 */
        is_int(next("* * * * *", t0), at(2026, 12, 6, 14, 8), "every minute: the next whole one");
        is_int(next("*/15 * * * *", t0), at(2026, 12, 6, 14, 15), "*/15");
        is_int(next("5 3 * * *", t0), at(2026, 12, 7, 3, 5), "daily at 03:05: tomorrow");
        is_int(next("0 9 * * mon-fri", t0), at(2026, 12, 7, 9, 0), "weekdays: Monday");
        is_int(next("0 0 1 jan *", t0), at(2027, 1, 1, 0, 0), "yearly by month name");
        is_int(next("@hourly", t0), at(2026, 12, 6, 15, 0), "@hourly");
        is_int(next("0 12 13 * 5", t0), at(2026, 12, 11, 12, 0),
               "day of month and weekday both set: either matches (Friday the 11th)");
        is_int(next("0 0 * * 7", t0), at(2026, 12, 13, 0, 0), "7 is Sunday");
        is_int(next("@every 30s", t0), t0 + 30000, "@every: the period after");
        is_int(next("0 0 30 2 *", t0), -1, "30 February never comes");
        static const char *const bad[] = {
            "",          "* * * *",     "* * * * * *", "60 * * * *", "* 24 * * *",
            "* * 0 * *", "*/0 * * * *", "5-1 * * * *", "@every 5s",  "@every 2d",
            "@every",    "a * * * *",   "1,,2 * * * *"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct cron c;
                struct err e = {0};
                ok(cron_parse(bad[i], &c, &e) < 0 && e.msg[0], "'%s' is refused: %s", bad[i],
                   e.msg);
        }
}

struct sink {
        char out[512];
        size_t n;
};

static void collect(void *ud, const char *p, size_t n)
{
        struct sink *s = ud;
        if (s->n + n < sizeof(s->out)) {
                memcpy(s->out + s->n, p, n);
                s->n += n;
                s->out[s->n] = 0;
        }
}

/* Feeds text to a redactor of TOKEN=sekrit-123 in pieces of `step` bytes. */
static void feed(const char *text, size_t step, struct sink *s)
{
        struct redactor r;
        redactor_init(&r);
        redactor_add(&r, "TOKEN", "sekrit-123");
        redactor_add(&r, "SHORT", "sek");
        redactor_add(&r, "EMPTY", "");
        memset(s, 0, sizeof(*s));
        for (size_t i = 0; i < strlen(text); i += step)
                redactor_feed(&r, text + i, strlen(text + i) < step ? strlen(text + i) : step,
                              collect, s);
        redactor_flush(&r, collect, s);
        redactor_fini(&r);
}

static void redaction(void)
{
        const char *in = "key=sekrit-123 and sek, sekrit-12 ends sekrit-123";
        const char *want = "key=[redacted:TOKEN] and [redacted:SHORT], [redacted:SHORT]rit-12 ends "
                           "[redacted:TOKEN]";
        for (size_t step = 1; step <= strlen(in); step++) {
                struct sink s;
                feed(in, step, &s);
                if (strcmp(s.out, want) != 0) {
                        is_str(s.out, want, "pieces of %zu bytes", step);
                        return;
                }
        }
        ok(1, "every value is redacted whatever the pieces' size (the longest first)");
        struct redactor r;
        redactor_init(&r);
        struct sink s = {0};
        redactor_feed(&r, "plain", 5, collect, &s);
        is_str(s.out, "plain", "with no values nothing is held back");
        redactor_fini(&r);
}

static json_t *parse(const char *text, char *err)
{
        return manifest_parse(text, strlen(text), err, 256);
}

static void manifest(void)
{
        char err[256];
        json_t *m = parse("# a job\nname = \"hi\"\ncommand = ['python3', \"main.py\",]\n"
                          "vcpus = 2\nflag = true\n\n[env]\nA = \"x\\ty\\u00e9\" # c\n"
                          "[job]\nschedule = \"*/5 * * * *\"\nlist = [\n 1,\n 2\n]\n",
                          err);
        ok(m != NULL, "a manifest parses: %s", m ? "" : err);
        is_str(json_string_value(json_object_get(m, "name")), "hi", "a string");
        is_int(json_array_size(json_object_get(m, "command")), 2, "an array, trailing comma");
        is_int(json_integer_value(json_object_get(m, "vcpus")), 2, "an integer");
        ok(json_is_true(json_object_get(m, "flag")), "a boolean");
        is_str(json_string_value(json_object_get(json_object_get(m, "env"), "A")), "x\ty\xc3\xa9",
               "escapes in a table");
        is_int(json_array_size(json_object_get(json_object_get(m, "job"), "list")), 2,
               "an array over lines");
        json_decref(m);
        static const struct {
                const char *text, *line;
        } bad[] = {{"name = \"open\n", ":1:"},
                   {"a = 1\na = 2\n", ":2:"},
                   {"[t]\n[t]\n", ":2:"},
                   {"a = 1 2\n", ":1:"},
                   {"= 1\n", ":1:"},
                   {"a = [1, 2\n", ":2:"},
                   {"a = \"\\q\"\n", ":1:"},
                   {"a = [[[[[1]]]]]\n", ":1:"},
                   {"a = \"\\u0000\"\n", ":1:"},
                   {"a = nope\n", ":1:"}};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                m = parse(bad[i].text, err);
                ok(!m && strstr(err, bad[i].line), "refused at the line (%s)", err);
                json_decref(m);
        }
}

int main(void)
{
        cron();
        redaction();
        manifest();
        return tap_done();
}
