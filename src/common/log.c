#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_LVL_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level lvl)
{
        min_level = lvl;
}

int log_parse_level(const char *s, enum log_level *out)
{
        for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
                if (strcmp(s, level_names[i]) == 0) {
                        *out = (enum log_level)i;
                        return 0;
                }
        }
        return -1;
}

int log_enabled(enum log_level lvl)
{
        return lvl >= min_level;
}

void log_write(enum log_level lvl, const char *msg, const char *fmt, ...)
{
        if (lvl < min_level)
                return;
        char line[2048];
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        int n =
            snprintf(line, sizeof(line), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s msg=%s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, level_names[lvl], msg);
        if (n < 0)
                return;
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
        va_end(ap);
        size_t len = (size_t)n + (m > 0 ? (size_t)m : 0);
        if (len > sizeof(line) - 2)
                len = sizeof(line) - 2;
        line[len++] = '\n';
        ssize_t w = write(STDERR_FILENO, line, len);
        (void)w;
}

const char *log_quote(char *out, unsigned cap, const char *s)
{
        int needs = s[0] == '\0';
        for (const char *p = s; *p && !needs; p++)
                needs = *p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20;
        if (!needs) {
                snprintf(out, cap, "%s", s);
                return out;
        }
        unsigned o = 0;
        out[o++] = '"';
        for (const char *p = s; *p && o + 5 < cap; p++) {
                unsigned char c = (unsigned char)*p;
                if (c == '"' || c == '\\') {
                        out[o++] = '\\';
                        out[o++] = (char)c;
                } else if (c < 0x20) {
                        o += (unsigned)snprintf(out + o, cap - o, "\\x%02x", c);
                } else {
                        out[o++] = (char)c;
                }
        }
        out[o++] = '"';
        out[o] = '\0';
        return out;
}
