/* File operations on many paths or on metadata: "chmod" {"path","mode"}, "chown"
 * {"path","uid","gid"} (-1 or absent: unchanged; the link itself, not its target) and
 * "write_batch" {"files":[{"path","data" (base64),"mode"}]}, each file written to a
 * temporary file and renamed over its path, in order; the first failure stops the batch
 * and names its path (the files before it are written). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/util.h"
#include "agent.h"

static void op_chmod(struct agent *a, uint32_t chan, json_t *req)
{
        const char *path = json_string_value(json_object_get(req, "path"));
        json_t *jm = json_object_get(req, "mode");
        if (!path || !*path || !json_is_integer(jm) || json_integer_value(jm) < 0 ||
            json_integer_value(jm) > 07777) {
                agent_send_error(a, chan, "invalid_request", "chmod needs 'path' and 'mode'");
                return;
        }
        if (chmod(path, (mode_t)json_integer_value(jm)) < 0)
                agent_send_errno(a, chan, errno, path);
        else
                agent_send_json(a, NSP_RESP, chan,
                                json_pack("{s:s,s:I}", "path", path, "mode",
                                          (json_int_t)json_integer_value(jm)));
}

static void op_chown(struct agent *a, uint32_t chan, json_t *req)
{
        const char *path = json_string_value(json_object_get(req, "path"));
        json_t *ju = json_object_get(req, "uid"), *jg = json_object_get(req, "gid");
        json_int_t uid = json_is_integer(ju) ? json_integer_value(ju) : -1;
        json_int_t gid = json_is_integer(jg) ? json_integer_value(jg) : -1;
        if (!path || !*path || uid < -1 || gid < -1 || uid > 0x7fffffff || gid > 0x7fffffff) {
                agent_send_error(a, chan, "invalid_request", "chown needs 'path', 'uid', 'gid'");
                return;
        }
        if (lchown(path, (uid_t)uid, (gid_t)gid) < 0)
                agent_send_errno(a, chan, errno, path);
        else
                agent_send_json(a, NSP_RESP, chan, json_pack("{s:s}", "path", path));
}

/* One file of a batch: decoded, written to PATH.nsbatch-CHAN, fsync'd, renamed. */
static int write_one(const char *path, const char *b64, unsigned mode, uint32_t chan, size_t *bytes)
{
        size_t n = strlen(b64);
        unsigned char *raw = malloc(n / 4 * 3 + 3);
        ssize_t len = raw ? base64_decode(b64, n, raw, n / 4 * 3 + 3) : -1;
        char tmp[PATH_MAX];
        int fd = -1, err = 0;
        if (len < 0)
                err = raw ? EINVAL : ENOMEM;
        else if (snprintf(tmp, sizeof(tmp), "%s.nsbatch-%u", path, chan) >= (int)sizeof(tmp))
                err = ENAMETOOLONG;
        else if (files_parent_dirs(path) < 0 ||
                 (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) < 0)
                err = errno;
        else if (write(fd, raw, (size_t)len) != len || fchmod(fd, mode) < 0 || fsync(fd) < 0)
                err = errno ? errno : EIO;
        if (fd >= 0 && close(fd) < 0 && !err)
                err = errno;
        if (fd >= 0 && !err && rename(tmp, path) < 0)
                err = errno;
        if (fd >= 0 && err)
                unlink(tmp);
        free(raw);
        *bytes += len > 0 ? (size_t)len : 0;
        return err;
}

static void op_write_batch(struct agent *a, uint32_t chan, json_t *req)
{
        json_t *files = json_object_get(req, "files"), *f;
        size_t i, bytes = 0;
        if (!json_is_array(files)) {
                agent_send_error(a, chan, "invalid_request", "write_batch needs 'files'");
                return;
        }
        json_array_foreach(files, i, f)
        {
                const char *path = json_string_value(json_object_get(f, "path"));
                const char *data = json_string_value(json_object_get(f, "data"));
                json_t *jm = json_object_get(f, "mode");
                unsigned mode =
                    json_is_integer(jm) ? (unsigned)json_integer_value(jm) & 07777 : 0644;
                int err =
                    !path || !*path || !data ? EINVAL : write_one(path, data, mode, chan, &bytes);
                if (err) {
                        agent_send_errno(a, chan, err, path ? path : "files[]");
                        return;
                }
        }
        agent_send_json(a, NSP_RESP, chan,
                        json_pack("{s:I,s:I}", "written", (json_int_t)json_array_size(files),
                                  "bytes", (json_int_t)bytes));
}

const struct agent_op files_batch_ops[] = {
    {"chmod", op_chmod},
    {"chown", op_chown},
    {"write_batch", op_write_batch},
    {NULL, NULL},
};
