/* Resumable uploads, the agent's part: pieces written straight into the upload's
 * temporary file from an offset (kept when a stream breaks), and the end: every byte
 * there, its SHA-256 checked, the file renamed into place. The daemon keeps the record
 * (daemon/api/uploads.c); the bytes live where they are going. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/sha256.h"
#include "agent.h"

/* The SHA-256 of an upload's bytes as pieces write them, so its end need not read the
 * file again: kept while the pieces follow one another (a piece from offset 0 starts
 * one; one from anywhere but where the hash is drops it, and the end reads the file).
 * A few at a time; the oldest goes first. */
#define HASHES 8

static struct up_hash {
        char path[4097];
        uint64_t at; /* bytes hashed */
        struct sha256 s;
        uint64_t used; /* 0: free; else when last used */
} hashes[HASHES];

static uint64_t ticks;

static struct up_hash *find_hash(const char *path)
{
        for (int i = 0; i < HASHES; i++)
                if (hashes[i].used && strcmp(hashes[i].path, path) == 0)
                        return &hashes[i];
        return NULL;
}

static void follow_piece(const char *path, uint64_t offset)
{
        struct up_hash *h = find_hash(path);
        if (h && h->at != offset)
                h->used = 0; /* a piece from elsewhere: the end hashes the file */
        if (offset != 0 || strlen(path) >= sizeof(h->path))
                return;
        if (!h) {
                h = &hashes[0];
                for (int i = 1; i < HASHES; i++)
                        if (hashes[i].used < h->used)
                                h = &hashes[i];
        }
        snprintf(h->path, sizeof(h->path), "%s", path);
        h->at = 0;
        sha256_init(&h->s);
        h->used = ++ticks;
}

void upload_hash(const char *path, const unsigned char *p, size_t n)
{
        struct up_hash *h = find_hash(path);
        if (h) {
                sha256_update(&h->s, p, n);
                h->at += n;
                h->used = ++ticks;
        }
}

/* A piece of a resumable upload: bytes go straight into `path` (the upload's temporary
 * file) from `offset`, which may not lie past what it holds; what arrived stays when
 * the stream breaks. The answer's "size" is the file's length after it. */
void upload_piece(struct agent *a, uint32_t chan, const char *path, json_int_t offset)
{
        struct stat st;
        int fd =
            files_parent_dirs(path) < 0 ? -1 : open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0 || fstat(fd, &st) < 0) {
                agent_send_errno(a, chan, errno, path);
                if (fd >= 0)
                        close(fd);
                return;
        }
        if (offset < 0 || offset > st.st_size) {
                close(fd);
                agent_send_error(a, chan, "conflict",
                                 "offset %lld is past the %lld bytes the upload holds",
                                 (long long)offset, (long long)st.st_size);
                return;
        }
        struct chan *c = agent_chan_new(a, chan, CHAN_WRITE);
        if (!c || ftruncate(fd, offset) < 0 || lseek(fd, offset, SEEK_SET) < 0) {
                int err = errno;
                close(fd);
                if (c)
                        agent_chan_free(a, c);
                agent_send_errno(a, chan, c ? err : EMFILE, path);
                return;
        }
        c->fd = fd;
        c->path = strdup(path);
        c->offset = (uint64_t)offset;
        c->resume = 1;
        follow_piece(path, (uint64_t)offset);
}

/* {"op":"upload_finish","tmp","path","size","sha256"?,"mode"}: the upload's bytes are
 * all there (else conflict) and hash to sha256 when given (else checksum_mismatch, and
 * they are dropped); then tmp becomes path. RESP {"path","size","sha256"}. */
static void op_upload_finish(struct agent *a, uint32_t chan, json_t *req)
{
        const char *tmp = json_string_value(json_object_get(req, "tmp"));
        const char *path = json_string_value(json_object_get(req, "path"));
        const char *want = json_string_value(json_object_get(req, "sha256"));
        json_int_t size = json_integer_value(json_object_get(req, "size"));
        unsigned mode = (unsigned)json_integer_value(json_object_get(req, "mode")) & 07777;
        if (!path || !*path || !tmp || !*tmp) {
                agent_send_error(a, chan, "invalid_request", "upload_finish needs path and tmp");
                return;
        }
        struct stat st;
        int fd = open(tmp, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
                agent_send_errno(a, chan, errno, tmp);
                if (fd >= 0)
                        close(fd);
                return;
        }
        if (st.st_size != size) {
                close(fd);
                agent_send_error(a, chan, "conflict", "the upload holds %lld of its %lld bytes",
                                 (long long)st.st_size, (long long)size);
                return;
        }
        struct sha256 h;
        struct up_hash *kept = find_hash(tmp);
        ssize_t n = 0;
        if (kept && kept->at == (uint64_t)size) { /* the pieces hashed it as they came */
                h = kept->s;
        } else {
                static unsigned char buf[1 << 16];
                sha256_init(&h);
                while ((n = read(fd, buf, sizeof(buf))) > 0)
                        sha256_update(&h, buf, (size_t)n);
        }
        if (kept)
                kept->used = 0;
        int err = n < 0 ? errno : 0;
        int synced = fsync(fd);
        err = err ? err : synced < 0 ? errno : 0;
        close(fd);
        char hex[65];
        sha256_final_hex(&h, hex);
        if (err) {
                agent_send_errno(a, chan, err, tmp);
        } else if (want && *want && strcmp(want, hex) != 0) {
                unlink(tmp);
                agent_send_error(a, chan, "checksum_mismatch",
                                 "the upload's sha256 is %s, not %.64s; it was dropped", hex, want);
        } else if (chmod(tmp, mode ? mode : 0644) < 0 || files_parent_dirs(path) < 0 ||
                   rename(tmp, path) < 0) {
                agent_send_errno(a, chan, errno, path);
        } else {
                agent_send_json(a, NSP_RESP, chan,
                                json_pack("{s:s,s:I,s:s}", "path", path, "size", (json_int_t)size,
                                          "sha256", hex));
        }
}

const struct agent_op upload_ops[] = {
    {"upload_finish", op_upload_finish},
    {NULL, NULL},
};
