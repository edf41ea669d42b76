/* A build's log: one JSON object per line, {"ts","step","stream","text"}, appended to
 * STATE/builds/ID.log; command output split into lines (at most 4 KiB each). */
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/util.h"
#include "core.h"
#include "build_internal.h"

/* A JSON string of n bytes of output: bytes that are not UTF-8 become '?'. */
static json_t *text_json(const char *p, size_t n)
{
        json_t *s = json_stringn(p, n);
        if (s)
                return s;
        char *copy = malloc(n ? n : 1);
        if (!copy)
                return json_string("");
        for (size_t i = 0; i < n; i++)
                copy[i] = (unsigned char)p[i] < 0x80 ? p[i] : '?';
        s = json_stringn(copy, n);
        free(copy);
        return s ? s : json_string("");
}

static void write_line(struct build *b, const char *stream, const char *p, size_t n)
{
        int system = !strcmp(stream, "system");
        if (b->log_fd < 0 || (b->log_full && !system))
                return;
        if (!system && b->log_bytes + n > BUILD_LOG_MAX) {
                b->log_full = 1;
                p = "(output past the log's limit is dropped)";
                n = strlen(p);
                stream = "system";
        }
        json_t *o = json_pack("{s:I,s:I,s:s,s:o}", "ts", (json_int_t)time_wall_ms(), "step",
                              (json_int_t)b->step_no, "stream", stream, "text", text_json(p, n));
        char *line = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (!line)
                return;
        size_t len = strlen(line);
        line[len] = '\n'; /* one write: a reader never sees half a line */
        if (write(b->log_fd, line, len + 1) == (ssize_t)(len + 1))
                b->log_bytes += len + 1;
        free(line);
        if (b->core->hooks.build_log)
                b->core->hooks.build_log(b->core, b->id, 0);
}

void build_log(struct build *b, const char *stream, const char *fmt, ...)
{
        char text[1024];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        write_line(b, stream, text,
                   n < 0                      ? 0
                   : (size_t)n < sizeof(text) ? (size_t)n
                                              : sizeof(text) - 1);
}

void build_output(struct build *b, int stream, const char *p, size_t n)
{
        if (stream != 1 && stream != 2)
                return;
        const char *name = stream == 1 ? "stdout" : "stderr";
        char *data = b->line[stream].data;
        size_t *len = &b->line[stream].len;
        for (size_t i = 0; i < n; i++) {
                char c = p[i];
                if (c == '\n' || *len == sizeof(b->line[stream].data)) {
                        write_line(b, name, data, *len);
                        *len = 0;
                        if (c == '\n')
                                continue;
                }
                if (c != '\r')
                        data[(*len)++] = c;
        }
}

void build_output_flush(struct build *b)
{
        for (int s = 1; s <= 2; s++) {
                if (b->line[s].len)
                        write_line(b, s == 1 ? "stdout" : "stderr", b->line[s].data,
                                   b->line[s].len);
                b->line[s].len = 0;
        }
}

json_t *build_log_lines(const struct core *core, const char *id, uint64_t cursor, uint64_t *next,
                        int *more)
{
        char path[PATH_MAX + 64];
        build_log_path(core, id, path, sizeof(path));
        json_t *lines = json_array();
        *next = cursor;
        *more = 0;
        /* only what was written past the cursor is read (this runs for every new line
         * while WebSocket readers follow a build) */
        struct stat st;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        size_t want = fd >= 0 && fstat(fd, &st) == 0 && (uint64_t)st.st_size > cursor
                          ? (size_t)((uint64_t)st.st_size - cursor)
                          : 0;
        if (want > BUILD_LOG_PAGE)
                want = BUILD_LOG_PAGE;
        char *data = want ? malloc(want) : NULL;
        ssize_t n = data ? pread(fd, data, want, (off_t)cursor) : 0;
        if (fd >= 0)
                close(fd);
        size_t used = 0;
        for (ssize_t i = 0; n > 0 && i < n; i++) {
                if (data[i] != '\n')
                        continue;
                json_t *line = json_loadb(data + used, (size_t)i - used, 0, NULL);
                if (line)
                        json_array_append_new(lines, line);
                used = (size_t)i + 1;
        }
        free(data);
        *next = cursor + used;
        *more = n == (ssize_t)BUILD_LOG_PAGE;
        return lines;
}
