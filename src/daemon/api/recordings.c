/* Desktop recordings (docs/desktop.md, "Recordings"): ffmpeg in the machine grabs the
 * screen (x11grab) and writes fragmented MP4 to its stdout, which the daemon streams into
 * STATE/recordings/MACHINE/ID.mp4 on the host through the machine's agent (machine_cmd).
 * A fragment a second: a recording cut short (a crash, the machine going away) is still
 * a playable file up to its last second. ID.json beside it says what the recording is
 * (written whole, then renamed). Recordings outlive their machine until deleted
 * (recordings_files.c serves what is kept). A stop
 * interrupts ffmpeg (SIGINT: it ends its last fragment) and answers once it ended; a
 * hibernate or checkpoint ends a recording first; REC_MAX_BYTES ends one too. Loop
 * thread only. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/cleanup.h"
#include "../../common/log.h"
#include "../../common/util.h"
#include "../../core/machine_cmd.h"
#include "api.h"
#include "preview.h"
#include "recordings.h"

#define REC_MAX_BYTES (2ull << 30)
#define FPS_MAX       30
#define FPS_DEFAULT   10
#define ERR_TAIL      400

struct recording {
        struct app *app;
        char id[32];
        char machine[MACHINE_ID_MAX];
        int fd; /* the MP4 */
        struct machine_cmd *cmd;
        int fps;
        int64_t started_at;
        uint64_t bytes;
        int stopping;
        char reason[160];              /* why it ended, when not asked to */
        char err[ERR_TAIL];            /* ffmpeg's last words */
        struct http_exchange *waiter;  /* a stop waiting for the end */
        struct http_exchange *starter; /* the start, answered once ffmpeg writes */
        struct recording *next;
};

int recording_path(const struct app *app, const char *machine, const char *id, const char *ext,
                   char *out, size_t cap)
{
        int n = snprintf(out, cap, "%s/recordings/%s%s%s%s", app->core.state_dir, machine,
                         id ? "/" : "", id ? id : "", ext ? ext : "");
        return n > 0 && (size_t)n < cap ? 0 : -1;
}

static json_t *meta_of(const struct recording *r, const char *state)
{
        json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:I,s:n,s:I}", "id", r->id, "machine_id",
                              r->machine, "state", state, "fps", r->fps, "started_at",
                              (json_int_t)r->started_at, "ended_at", "bytes", (json_int_t)r->bytes);
        if (strcmp(state, "recording") != 0) {
                int64_t now = time_wall_ms();
                json_object_set_new(o, "ended_at", json_integer(now));
                json_object_set_new(o, "duration_ms", json_integer(now - r->started_at));
        }
        if (r->reason[0])
                json_object_set_new(o, "reason", json_string(r->reason));
        return o;
}

/* ID.json, whole or not at all (written beside, then renamed). */
static void write_meta(const struct recording *r, json_t *meta)
{
        char path[PATH_MAX], tmp[PATH_MAX + 8];
        if (recording_path(r->app, r->machine, r->id, ".json", path, sizeof(path)) < 0)
                return;
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        if (json_dump_file(meta, tmp, JSON_COMPACT) == 0 && rename(tmp, path) == 0)
                return;
        log_warn("recording_meta", "recording=%s path=%s error=%s", r->id, path, strerror(errno));
}

static struct recording *find(const struct app *app, const char *id)
{
        for (struct recording *r = app->recordings; r; r = r->next)
                if (strcmp(r->id, id) == 0)
                        return r;
        return NULL;
}

long long recording_live_bytes(const struct app *app, const char *id)
{
        const struct recording *r = find(app, id);
        return r ? (long long)r->bytes : -1;
}

static void unlist(struct recording *r)
{
        for (struct recording **p = &r->app->recordings; *p; p = &(*p)->next)
                if (*p == r) {
                        *p = r->next;
                        return;
                }
}

/* The start still waiting for ffmpeg's first bytes, to be answered now (NULL: none). */
static struct http_exchange *take_starter(struct recording *r)
{
        struct http_exchange *ex = r->starter;
        if (ex) {
                ex->on_abort = NULL;
                ex->owner = NULL;
                r->starter = NULL;
        }
        return ex;
}

/* The recording ended: its file closed, its meta written, a waiting stop answered. */
static void finish(struct recording *r, const char *state)
{
        struct http_exchange *starter = take_starter(r);
        if (starter) /* ended before ffmpeg wrote anything */
                http_respond_error(starter, NS_E_MACHINE_NOT_RUNNING,
                                   "recording %s ended before it started: %s", r->id,
                                   r->reason[0] ? r->reason : "stopped");
        unlist(r);
        close(r->fd);
        json_t *meta = meta_of(r, state);
        write_meta(r, meta);
        log_info("recording_end", "recording=%s machine=%s state=%s bytes=%llu reason=\"%s\"",
                 r->id, r->machine, state, (unsigned long long)r->bytes, r->reason);
        if (r->waiter) {
                r->waiter->on_abort = NULL;
                r->waiter->owner = NULL;
                http_respond_json(r->waiter, 200, meta);
        } else {
                json_decref(meta);
        }
        free(r);
}

/* Ends r now: the recorder killed, what the file holds kept (it plays to its last second). */
static void end_now(struct recording *r, const char *reason)
{
        machine_cmd_cancel(r->cmd);
        r->cmd = NULL;
        if (reason != r->reason)
                snprintf(r->reason, sizeof(r->reason), "%s", reason);
        finish(r, "stopped");
}

static void on_stop_output(void *ud, int stream, const char *p, size_t n)
{
        (void)ud, (void)stream, (void)p, (void)n;
}

static void on_stop_done(void *ud, int exit_code, const char *error)
{
        (void)ud, (void)exit_code, (void)error; /* the recording's own end says the rest */
}

static const struct machine_cmd_ops stop_ops = {on_stop_output, on_stop_done};

/* Asks ffmpeg to end (SIGINT: it closes its last fragment); its exit finishes r. When
 * that cannot be asked, r ends now (the file holds what came). */
static void request_stop(struct recording *r, const char *reason)
{
        if (r->stopping)
                return;
        r->stopping = 1;
        if (reason)
                snprintf(r->reason, sizeof(r->reason), "%s", reason);
        struct machine *m = machine_find(&r->app->core, r->machine);
        char cmd[96];
        snprintf(cmd, sizeof(cmd), "pkill -INT -f 'comment=nsrec-%s'", r->id);
        json_t *req = json_pack("{s:s,s:s,s:i}", "op", "exec", "cmd", cmd, "timeout_ms", 10000);
        struct machine_cmd *stop = m && req ? machine_cmd_start(m, req, -1, &stop_ops, NULL) : NULL;
        json_decref(req);
        if (!stop)
                end_now(r, r->reason[0] ? r->reason : "the recorder could not be asked to end");
}

/* ffmpeg wrote its first bytes (the MP4's header, once its encoder runs): the recording
 * starts now, and its start is answered (ffmpeg takes a second or more to get there in
 * a machine; a start answered before would lose that much of what follows it). */
static void started(struct recording *r)
{
        r->started_at = time_wall_ms();
        json_t *meta = meta_of(r, "recording");
        write_meta(r, meta);
        struct http_exchange *starter = take_starter(r);
        if (starter)
                http_respond_json(starter, 201, meta);
        else
                json_decref(meta);
}

static void on_output(void *ud, int stream, const char *p, size_t n)
{
        struct recording *r = ud;
        if (stream == 2) {
                size_t have = strlen(r->err), room = sizeof(r->err) - 1;
                if (n >= room || have + n > room) { /* keep the end */
                        size_t keep = n >= room ? 0 : room - n;
                        memmove(r->err, r->err + have - (have < keep ? have : keep),
                                have < keep ? have : keep);
                        have = have < keep ? have : keep;
                        if (n > room) {
                                p += n - room;
                                n = room;
                        }
                }
                memcpy(r->err + have, p, n);
                r->err[have + n] = '\0';
                return;
        }
        if (r->bytes == 0 && n)
                started(r);
        while (n) {
                ssize_t w = write(r->fd, p, n);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0) {
                        log_warn("recording_write", "recording=%s error=%s", r->id,
                                 strerror(errno));
                        request_stop(r, "the host could not write the file");
                        return;
                }
                r->bytes += (uint64_t)w;
                p += w;
                n -= (size_t)w;
        }
        if (r->bytes >= REC_MAX_BYTES)
                request_stop(r, "it reached the size limit (2 GiB)");
}

static void on_done(void *ud, int exit_code, const char *error)
{
        struct recording *r = ud;
        r->cmd = NULL;
        const char *state = "stopped";
        if (exit_code == 127 && r->bytes == 0) {
                state = "failed";
                snprintf(r->reason, sizeof(r->reason), "the machine has no desktop");
        } else if (!r->stopping && !r->reason[0]) { /* ffmpeg ended by itself */
                snprintf(r->reason, sizeof(r->reason), "%.150s",
                         error       ? error
                         : r->err[0] ? r->err
                                     : "the recorder ended");
                if (r->bytes == 0)
                        state = "failed";
        }
        struct http_exchange *ex = take_starter(r);
        if (ex) { /* it never started */
                if (exit_code == 127)
                        http_respond_error(ex, NS_E_DESKTOP_NOT_AVAILABLE,
                                           "machine %s has no desktop to record", r->machine);
                else
                        http_respond_error(ex, NS_E_INTERNAL, "the recorder did not start: %s",
                                           r->reason);
        }
        finish(r, state);
}

static const struct machine_cmd_ops rec_ops = {on_output, on_done};

/* ---- the API ---- */

static int mkdirs(const char *path)
{
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s", path);
        for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
                *s = '\0';
                if (mkdir(p, 0700) < 0 && errno != EEXIST)
                        return -1;
                *s = '/';
        }
        return mkdir(p, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

struct start_req {
        int64_t fps;
};

static const struct jv_field start_fields[] = {
    {"fps", JV_INT, 0, offsetof(struct start_req, fps), 0, 1, FPS_MAX},
};

static void abort_start(struct http_exchange *ex)
{
        struct recording *r = ex->owner;
        r->starter = NULL; /* it records on: stop it or let it run */
}

static void start_running(struct http_exchange *ex, struct machine *m, void *ctx)
{
        struct app *app = ex->app;
        int fps = (int)(intptr_t)ctx;
        for (struct recording *o = app->recordings; o; o = o->next)
                if (strcmp(o->machine, m->id) == 0) {
                        http_respond_error(ex, NS_E_CONFLICT, "machine %s records already (%s)",
                                           m->id, o->id);
                        return;
                }
        struct recording *r = calloc(1, sizeof(*r));
        char dir[PATH_MAX], file[PATH_MAX];
        if (!r) {
                http_respond_error(ex, NS_E_INTERNAL, "out of memory");
                return;
        }
        r->app = app;
        r->fps = fps;
        r->started_at = time_wall_ms();
        snprintf(r->machine, sizeof(r->machine), "%s", m->id);
        rand_id("rec_", 8, r->id, sizeof(r->id));
        r->fd = -1;
        if (recording_path(app, m->id, NULL, NULL, dir, sizeof(dir)) < 0 || mkdirs(dir) < 0 ||
            recording_path(app, m->id, r->id, ".mp4", file, sizeof(file)) < 0 ||
            (r->fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
                http_respond_error(ex, NS_E_INTERNAL, "cannot create the recording's file: %s",
                                   strerror(errno));
                free(r);
                return;
        }
        /* one fragment a second (a key frame each): a file cut anywhere plays. No probing
         * of the screen: the frames ffmpeg reads to probe its input come before its first
         * bytes (started_at), up to a second of video more than the recording's duration
         * on a loaded host */
        char cmd[700];
        snprintf(
            cmd, sizeof(cmd),
            "[ -r /run/nullspace-desktop/env ] || exit 127; . /run/nullspace-desktop/env; "
            "exec ffmpeg -nostdin "
            "-loglevel error -probesize 32 -analyzeduration 0 -f x11grab -framerate %d "
            "-draw_mouse 1 -i \"$DISPLAY\" -c:v "
            "libx264 -preset ultrafast -tune zerolatency -pix_fmt yuv420p -g %d -vf "
            "'pad=ceil(iw/2)*2:ceil(ih/2)*2' -movflags "
            "frag_keyframe+empty_moov+default_base_moof -frag_duration 1000000 -flush_packets 1 "
            "-metadata "
            "comment=nsrec-%s -f mp4 pipe:1",
            fps, fps, r->id);
        json_t *req = json_pack("{s:s,s:s}", "op", "exec", "cmd", cmd);
        r->cmd = req ? machine_cmd_start(m, req, -1, &rec_ops, r) : NULL;
        json_decref(req);
        if (!r->cmd) {
                close(r->fd);
                unlink(file);
                free(r);
                http_respond_error(ex, NS_E_INTERNAL, "machine %s: the agent refused the recorder",
                                   m->id);
                return;
        }
        r->next = app->recordings;
        app->recordings = r;
        json_t *meta = meta_of(r, "recording"); /* from the first instant: a crash leaves it */
        write_meta(r, meta);
        json_decref(meta);
        log_info("recording_start", "recording=%s machine=%s fps=%d", r->id, m->id, fps);
        r->starter = ex; /* answered once ffmpeg writes (started) */
        ex->owner = r;
        ex->on_abort = abort_start;
}

void api_recordings_start(struct http_exchange *ex)
{
        struct start_req in = {0};
        uint64_t present;
        if (api_decode(ex, start_fields, ARRAY_SIZE(start_fields), &in, &present) < 0)
                return;
        intptr_t fps = present & 1 ? (intptr_t)in.fps : FPS_DEFAULT;
        api_when_running(ex, start_running, (void *)fps, NULL);
}

static void abort_stop(struct http_exchange *ex)
{
        struct recording *r = ex->owner;
        r->waiter = NULL;
}

void api_recordings_stop(struct http_exchange *ex)
{
        json_t *meta = recording_stored_or_404(ex);
        if (!meta)
                return;
        struct recording *r = find(ex->app, ex->match.params[1]);
        if (!r) { /* ended already: as it ended */
                http_respond_json(ex, 200, meta);
                return;
        }
        json_decref(meta);
        if (r->waiter) {
                http_respond_error(ex, NS_E_CONFLICT, "a stop of %s is under way", r->id);
                return;
        }
        r->waiter = ex;
        ex->owner = r;
        ex->on_abort = abort_stop;
        request_stop(r, NULL); /* may finish r and answer ex at once */
}

void api_recordings_end_all(struct app *app)
{
        while (app->recordings)
                end_now(app->recordings, "the daemon stopped");
}

/* Ends machine_id's recordings now (what the file holds stays playable), after dropping
 * its relays (preview_drop_machine): nothing of either may be open in a checkpoint. */
static void api_recordings_before_checkpoint(struct app *app, const char *machine_id)
{
        struct recording *r = app->recordings;
        preview_drop_machine(&app->core, machine_id);
        while (r) {
                struct recording *next = r->next;
                if (strcmp(r->machine, machine_id) == 0)
                        end_now(r, "the machine was checkpointed (hibernate, snapshot or fork)");
                r = next;
        }
}

void api_before_checkpoint(struct core *core, const char *machine_id)
{
        api_recordings_before_checkpoint(app_of(core), machine_id);
}
