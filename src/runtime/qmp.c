/* A blocking QMP client for driver helpers (qmp.h). */
#include "qmp.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Reads one line (a JSON document) into buf within timeout_ms; -1 on EOF/timeout. */
static int read_line(struct qmp *q, char *buf, size_t cap, int timeout_ms)
{
        size_t n = 0;
        while (n + 1 < cap) {
                if (q->off < q->len) {
                        char c = q->in[q->off++];
                        if (c == '\n') {
                                buf[n] = '\0';
                                return 0;
                        }
                        buf[n++] = c;
                        continue;
                }
                struct pollfd p = {q->fd, POLLIN, 0};
                if (poll(&p, 1, timeout_ms) <= 0)
                        return -1;
                ssize_t r = read(q->fd, q->in, sizeof(q->in));
                if (r <= 0)
                        return -1;
                q->off = 0;
                q->len = (size_t)r;
        }
        return -1; /* a line longer than we take: not QMP as we know it */
}

int qmp_open(struct qmp *q, const char *path, int timeout_ms, struct err *e)
{
        memset(q, 0, sizeof(*q));
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
        for (int waited = 0;; waited += 20) {
                q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (q->fd >= 0 && connect(q->fd, (struct sockaddr *)&a, sizeof(a)) == 0)
                        break;
                if (q->fd >= 0)
                        close(q->fd);
                q->fd = -1;
                if (waited >= timeout_ms)
                        return err_set(e, errno ? errno : ETIMEDOUT, "connect %s", path);
                usleep(20000);
        }
        char line[4096];
        json_t *greeting =
            read_line(q, line, sizeof(line), timeout_ms) == 0 ? json_loads(line, 0, NULL) : NULL;
        int ok = json_object_get(greeting, "QMP") != NULL;
        json_decref(greeting);
        if (!ok) {
                qmp_close(q);
                return err_set(e, EPROTO, "no QMP greeting on %s", path);
        }
        json_t *r = qmp_call(q, "qmp_capabilities", NULL, timeout_ms, e);
        if (!r) {
                qmp_close(q);
                return -EPROTO;
        }
        json_decref(r);
        return 0;
}

json_t *qmp_call(struct qmp *q, const char *command, json_t *args, int timeout_ms, struct err *e)
{
        json_t *req = json_pack("{s:s}", "execute", command);
        if (args)
                json_object_set_new(req, "arguments", args);
        char *text = json_dumps(req, JSON_COMPACT);
        json_decref(req);
        size_t len = text ? strlen(text) : 0;
        int sent = text && write(q->fd, text, len) == (ssize_t)len && write(q->fd, "\n", 1) == 1;
        free(text);
        if (!sent) {
                err_set(e, errno ? errno : EIO, "QMP %s", command);
                return NULL;
        }
        char line[65536];
        for (;;) { /* events may come first */
                if (read_line(q, line, sizeof(line), timeout_ms) < 0) {
                        err_set(e, ETIMEDOUT, "QMP %s: no answer", command);
                        return NULL;
                }
                json_t *doc = json_loads(line, 0, NULL);
                json_t *ret = json_object_get(doc, "return");
                json_t *err = json_object_get(doc, "error");
                if (ret) {
                        json_incref(ret);
                        json_decref(doc);
                        return ret;
                }
                if (err) {
                        err_set(e, EIO, "QMP %s: %s", command,
                                json_string_value(json_object_get(err, "desc")) ?: "error");
                        json_decref(doc);
                        return NULL;
                }
                json_decref(doc);
        }
}

void qmp_close(struct qmp *q)
{
        if (q->fd >= 0)
                close(q->fd);
        q->fd = -1;
}
