/* Structured logs: one logfmt line per event on stderr,
 *   ts=2026-11-28T23:00:00.123Z level=info msg=request method=GET status=200 ...
 * The daemon's single thread owns the level; helper threads may log too
 * (a line is written with one write(2), so lines never interleave). */
#ifndef NS_LOG_H
#define NS_LOG_H

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

/* Sets the minimum level written. Call before starting threads. */
void log_set_level(enum log_level lvl);

/* Parses "debug|info|warn|error"; returns 0 or -1 when unknown. */
int log_parse_level(const char *s, enum log_level *out);

/* True when a line at `lvl` would be written (to skip building costly fields). */
int log_enabled(enum log_level lvl);

/* Writes one line: `msg` is a bare word, `fmt` the remaining logfmt fields
 * (the caller quotes values that may contain spaces with log_quote()). */
void log_write(enum log_level lvl, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copies `s` into `out` (size `cap`) as a logfmt value: quoted and escaped when it
 * contains spaces, quotes, '=' or control bytes. Returns `out`. */
const char *log_quote(char *out, unsigned cap, const char *s);

#define log_debug(msg, ...) log_write(LOG_LVL_DEBUG, msg, __VA_ARGS__)
#define log_info(msg, ...)  log_write(LOG_LVL_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...)  log_write(LOG_LVL_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_write(LOG_LVL_ERROR, msg, __VA_ARGS__)

#endif
