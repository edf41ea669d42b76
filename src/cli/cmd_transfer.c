/* nullspace files upload|download (and volumes upload|download): a local file or
 * directory to a machine or volume and back. A file goes up as a resumable upload in
 * pieces (a dropped connection is retried from the offset the daemon holds; its SHA-256
 * is checked at the end), a directory as a tar stream (local tar(1)); downloads stream
 * to the local file, or through tar(1) into the local directory. A progress line goes
 * to stderr on a terminal. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/sha256.h"
#include "../common/util.h"
#include "cli.h"

#define PIECE   (8u << 20)
#define RETRIES 5

static int sha256_file(FILE *f, char hex[65])
{
        struct sha256 s;
        static unsigned char buf[1 << 16];
        size_t n;
        sha256_init(&s);
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
                sha256_update(&s, buf, n);
        sha256_final_hex(&s, hex);
        return ferror(f) ? -1 : 0;
}

static void progress(struct cli *c, long long done, long long total)
{
        if (!c->json && isatty(2))
                fprintf(stderr, "\r%3lld%%  %lld / %lld MiB", total ? done * 100 / total : 100,
                        done >> 20, total >> 20);
}

/* The daemon's offset of upload `up` (after a failed piece); -1 when unknown. */
static long long ask_offset(struct cli *c, const char *up)
{
        struct cli_resp r;
        if (cli_request(c, "GET", up, NULL, 1, &r))
                return -1;
        long long off = r.status == 200 ? json_integer_value(json_object_get(r.doc, "offset")) : -1;
        cli_resp_free(&r);
        return off;
}

/* Sends the file's bytes from the upload's offset to its end, piece by piece. */
static int send_pieces(struct cli *c, const struct cli_cmd *cmd, FILE *f, const char *up,
                       long long size)
{
        static unsigned char buf[PIECE];
        long long off = 0;
        for (int tries = 0; off < size;) {
                size_t n = size - off < PIECE ? (size_t)(size - off) : PIECE;
                if (fseeko(f, off, SEEK_SET) < 0 || fread(buf, 1, n, f) != n)
                        return cli_usage_error(cmd, "cannot read the local file");
                char path[700];
                snprintf(path, sizeof(path), "%.600s?offset=%lld", up, off);
                struct cli_resp r = {0};
                int rc = cli_request_raw(c, "PUT", path, buf, n, &r);
                long status = rc == 0 ? r.status : 0;
                long long got = json_integer_value(json_object_get(r.doc, "offset"));
                if (status && status != 200 && status < 500) {
                        rc = cli_fail_response(c, &r);
                        cli_resp_free(&r);
                        return rc;
                }
                if (rc == 0)
                        cli_resp_free(&r);
                if (status == 200) {
                        off = got;
                        tries = 0;
                        progress(c, off, size);
                        continue;
                }
                /* the connection broke (or the daemon was stopping): go on from its offset */
                long long at = ask_offset(c, up);
                if (++tries > RETRIES || at < 0)
                        return rc ? rc : ns_code_def(NS_E_CONNECTION_FAILED)->exit_code;
                sleep((unsigned)(tries < 3 ? tries : 3));
                off = at;
        }
        return 0;
}

static int upload_file(struct cli *c, const struct cli_cmd *cmd, const char *base,
                       const char *local, const char *remote)
{
        FILE *f = fopen(local, "rb");
        struct stat st;
        char hex[65];
        if (!f || fstat(fileno(f), &st) < 0 || sha256_file(f, hex) < 0) {
                if (f)
                        fclose(f);
                return cli_usage_error(cmd, "cannot read %s", local);
        }
        char path[700], up[600];
        snprintf(path, sizeof(path), "%s/uploads", base);
        char mode[8];
        snprintf(mode, sizeof(mode), "%o", (unsigned)(st.st_mode & 0777));
        json_t *body = json_pack("{s:s,s:I,s:s,s:s}", "path", remote, "size",
                                 (json_int_t)st.st_size, "sha256", hex, "mode", mode);
        struct cli_resp r = {0};
        int rc = cli_request(c, "POST", path, body, 1, &r);
        json_decref(body);
        if (rc == 0 && r.status != 201)
                rc = cli_fail_response(c, &r);
        if (rc == 0)
                snprintf(up, sizeof(up), "%.160s/uploads/%.64s", base,
                         json_string_value(json_object_get(r.doc, "id")));
        cli_resp_free(&r);
        if (rc == 0)
                rc = send_pieces(c, cmd, f, up, (long long)st.st_size);
        fclose(f);
        if (rc == 0) {
                if (!c->json && isatty(2))
                        fputc('\n', stderr);
                snprintf(path, sizeof(path), "%.600s/complete", up);
                rc = cli_call(c, "POST", path, NULL, NULL);
        }
        return rc;
}

/* "tar ... " run through the shell with the directory quoted. */
static FILE *tar_pipe(const char *how, const char *dir, const char *mode)
{
        char *q = malloc(strlen(dir) * 4 + 3), *p = q, cmd[8300];
        if (!q)
                return NULL;
        *p++ = '\'';
        for (const char *s = dir; *s; s++)
                p = *s == '\'' ? (memcpy(p, "'\\''", 4), p + 4) : (*p = *s, p + 1);
        *p++ = '\'';
        *p = '\0';
        int n = snprintf(cmd, sizeof(cmd), "tar -C %s %s", q, how);
        free(q);
        return n < (int)sizeof(cmd) ? popen(cmd, mode) : NULL;
}

static int transfer_args(const struct cli_cmd *cmd, int argc, char **argv, const char *prefix,
                         char *base, size_t cap, int *npos)
{
        int r = cli_parse_flags(cmd, argc, argv, NULL, NULL, npos);
        if (r)
                return r;
        if (*npos != 3)
                return cli_usage_error(cmd, "expected %s", cmd->args);
        char target[200];
        snprintf(target, sizeof(target), "%s%s", prefix, argv[0]);
        return cli_files_base(cmd, target, base, cap);
}

static int upload(struct cli *c, const char *name, const char *prefix, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find(name);
        char base[160];
        int npos, r = transfer_args(cmd, argc, argv, prefix, base, sizeof(base), &npos);
        if (r)
                return r;
        struct stat st;
        if (stat(argv[1], &st) < 0)
                return cli_usage_error(cmd, "%s: %s", argv[1], strerror(errno));
        if (!S_ISDIR(st.st_mode))
                return upload_file(c, cmd, base, argv[1], argv[2]);
        FILE *in = tar_pipe("-cf - .", argv[1], "r");
        char *esc = curl_easy_escape(NULL, argv[2], 0), url[8300];
        snprintf(url, sizeof(url), "%s/files?path=%s&format=tar", base, esc ? esc : "");
        curl_free(esc);
        r = in ? cli_transfer(c, "PUT", url, in, NULL) : cli_usage_error(cmd, "cannot run tar");
        if (in && pclose(in) != 0 && r == 0)
                r = cli_usage_error(cmd, "tar could not read %s", argv[1]);
        return r;
}

static int download(struct cli *c, const char *name, const char *prefix, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find(name);
        char base[160];
        int npos, r = transfer_args(cmd, argc, argv, prefix, base, sizeof(base), &npos);
        if (r)
                return r;
        char *esc = curl_easy_escape(NULL, argv[1], 0), url[8300];
        snprintf(url, sizeof(url), "%s/files/stat?path=%s", base, esc ? esc : "");
        struct cli_resp s;
        if ((r = cli_request(c, "GET", url, NULL, 1, &s))) {
                curl_free(esc);
                return r;
        }
        int dir = s.status == 200 &&
                  !strcmp(json_string_value(json_object_get(s.doc, "type")) ?: "", "dir");
        if (s.status != 200)
                r = cli_fail_response(c, &s);
        cli_resp_free(&s);
        snprintf(url, sizeof(url), "%s/files?path=%s%s", base, esc ? esc : "",
                 dir ? "&format=tar" : "");
        curl_free(esc);
        if (r)
                return r;
        if (dir && mkdir(argv[2], 0755) < 0 && errno != EEXIST)
                return cli_usage_error(cmd, "cannot make %s: %s", argv[2], strerror(errno));
        FILE *out = dir ? tar_pipe("-xf -", argv[2], "w") : fopen(argv[2], "wb");
        if (!out)
                return cli_usage_error(cmd, "cannot write %s", argv[2]);
        r = cli_transfer(c, "GET", url, NULL, out);
        int closed = dir ? pclose(out) : fclose(out);
        if (closed != 0 && r == 0)
                r = cli_usage_error(cmd, "could not write %s", argv[2]);
        if (r == 0 && c->json) {
                json_t *doc = json_pack("{s:s,s:s,s:s}", "path", argv[1], "local", argv[2], "type",
                                        dir ? "dir" : "file");
                cli_print_json(doc);
                json_decref(doc);
        }
        return r;
}

int cmd_files_upload(struct cli *c, int argc, char **argv)
{
        return upload(c, "files upload", "", argc, argv);
}

int cmd_files_download(struct cli *c, int argc, char **argv)
{
        return download(c, "files download", "", argc, argv);
}

int cmd_volumes_upload(struct cli *c, int argc, char **argv)
{
        return upload(c, "volumes upload", "volume:", argc, argv);
}

int cmd_volumes_download(struct cli *c, int argc, char **argv)
{
        return download(c, "volumes download", "volume:", argc, argv);
}
