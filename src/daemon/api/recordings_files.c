/* What desktop recordings keep on the host (recordings.c makes them): their
 * descriptions (STATE/recordings/MACHINE/ID.json) and MP4s, listed, read, served and
 * deleted, also after their machine was destroyed. Loop thread only. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/cleanup.h"
#include "../../common/log.h"
#include "../../common/util.h"
#include "api.h"
#include "recordings.h"

/* What ID.json says of a recording no daemon records now: its state as written, unless
 * that is "recording" (an earlier daemon's, cut short when it stopped). NULL: none. */
static json_t *stored(struct app *app, const char *machine, const char *id)
{
        char path[PATH_MAX];
        if (recording_path(app, machine, id, ".json", path, sizeof(path)) < 0)
                return NULL;
        json_t *meta = json_load_file(path, 0, NULL);
        long long live = recording_live_bytes(app, id);
        if (meta && live >= 0) {
                json_object_set_new(meta, "bytes", json_integer(live));
        } else if (meta &&
                   !strcmp(json_string_value(json_object_get(meta, "state")) ?: "", "recording")) {
                json_object_set_new(meta, "state", json_string("stopped"));
                json_object_set_new(meta, "reason",
                                    json_string("the daemon stopped while it recorded"));
        }
        return meta;
}

/* The path's machine and recording ({id}, {rid}), checked; 0, or -1 after answering. */
static int rec_params(struct http_exchange *ex, const char **machine, const char **id)
{
        *machine = ex->match.params[0];
        *id = ex->match.nparams > 1 ? ex->match.params[1] : NULL;
        if (!is_safe_token(*machine, MACHINE_ID_MAX) || (*id && !is_safe_token(*id, 32))) {
                http_respond_error(ex, NS_E_NOT_FOUND, "no such recording");
                return -1;
        }
        return 0;
}

json_t *recording_stored_or_404(struct http_exchange *ex)
{
        const char *machine, *id;
        if (rec_params(ex, &machine, &id) < 0)
                return NULL;
        json_t *meta = stored(ex->app, machine, id);
        if (!meta)
                http_respond_error(ex, NS_E_RECORDING_NOT_FOUND, "machine %s has no recording %s",
                                   machine, id);
        return meta;
}

static int by_start(const void *a, const void *b)
{
        json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "started_at"));
        json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "started_at"));
        return x < y ? 1 : x > y ? -1 : 0;
}

void api_recordings_list(struct http_exchange *ex)
{
        struct app *app = ex->app;
        const char *machine, *id;
        char dir[PATH_MAX];
        if (rec_params(ex, &machine, &id) < 0 ||
            recording_path(app, machine, NULL, NULL, dir, sizeof(dir)) < 0)
                return;
        DIR *d = opendir(dir);
        if (!d && !machine_find(&app->core, machine)) {
                http_respond_error(ex, NS_E_MACHINE_NOT_FOUND,
                                   "no machine %s, and no recordings of one", machine);
                return;
        }
        json_t *arr = json_array();
        struct dirent *de;
        while (d && (de = readdir(d))) {
                size_t n = strlen(de->d_name);
                if (n < 6 || n > 40 || strcmp(de->d_name + n - 5, ".json") != 0)
                        continue;
                char rid[40];
                snprintf(rid, sizeof(rid), "%.*s", (int)(n - 5), de->d_name);
                json_t *meta = stored(app, machine, rid);
                if (meta)
                        json_array_append_new(arr, meta);
        }
        if (d)
                closedir(d);
        size_t n = json_array_size(arr);
        json_t **v = calloc(n ? n : 1, sizeof(*v));
        for (size_t i = 0; v && i < n; i++)
                v[i] = json_incref(json_array_get(arr, i));
        if (v)
                qsort(v, n, sizeof(*v), by_start);
        json_t *sorted = json_array();
        for (size_t i = 0; v && i < n; i++)
                json_array_append_new(sorted, v[i]);
        free(v);
        json_decref(arr);
        http_respond_json(ex, 200, json_pack("{s:o}", "recordings", sorted));
}

void api_recordings_get(struct http_exchange *ex)
{
        json_t *meta = recording_stored_or_404(ex);
        if (meta)
                http_respond_json(ex, 200, meta);
}

void api_recordings_delete(struct http_exchange *ex)
{
        json_t *meta = recording_stored_or_404(ex);
        if (!meta)
                return;
        json_decref(meta);
        const char *machine = ex->match.params[0], *id = ex->match.params[1];
        if (recording_live_bytes(ex->app, id) >= 0) {
                http_respond_error(ex, NS_E_CONFLICT, "recording %s is under way: stop it first",
                                   id);
                return;
        }
        char mp4[PATH_MAX], js[PATH_MAX];
        if (recording_path(ex->app, machine, id, ".mp4", mp4, sizeof(mp4)) == 0)
                unlink(mp4);
        if (recording_path(ex->app, machine, id, ".json", js, sizeof(js)) == 0)
                unlink(js);
        log_info("recording_deleted", "recording=%s machine=%s", id, machine);
        http_respond(ex, 204, NULL, NULL, 0);
}

/* The MP4 as it is on disk (a recording under way: what it holds so far, playable). */
struct file_src {
        int fd;
};

static ssize_t file_read(void *ctx, char *dst, size_t cap)
{
        struct file_src *f = ctx;
        ssize_t n;
        do
                n = read(f->fd, dst, cap);
        while (n < 0 && errno == EINTR);
        return n;
}

static void file_free(void *ctx)
{
        struct file_src *f = ctx;
        close(f->fd);
        free(f);
}

void api_recordings_file(struct http_exchange *ex)
{
        json_t *meta = recording_stored_or_404(ex);
        if (!meta)
                return;
        json_decref(meta);
        char path[PATH_MAX];
        struct file_src *f = malloc(sizeof(*f));
        if (!f ||
            recording_path(ex->app, ex->match.params[0], ex->match.params[1], ".mp4", path,
                           sizeof(path)) < 0 ||
            (f->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
                free(f);
                http_respond_error(ex, NS_E_RECORDING_NOT_FOUND, "the recording's file is gone");
                return;
        }
        http_add_header(ex, "Content-Disposition", "attachment; filename=\"recording.mp4\"");
        struct http_body_src src = {file_read, file_free, f};
        http_respond_stream(ex, 200, "video/mp4", src);
}
