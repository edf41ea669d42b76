/* Volumes: records, their filesystems' creation, deletion and mounting (volumes.h). */
#include "volumes.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../runtime/run.h"
#include "core.h"
#include "volumes_internal.h"

int volume_dir(const struct core *core, const char *id, const char *sub, char *out, size_t cap)
{
        int n =
            snprintf(out, cap, "%s/volumes/%s%s%s", core->state_dir, id, sub[0] ? "/" : "", sub);
        return n >= 0 && (size_t)n < cap ? 0 : -ENAMETOOLONG;
}

int volume_is_mounted(const struct core *core, const char *id)
{
        char dir[PATH_MAX], mnt[PATH_MAX];
        struct stat a, b;
        volume_dir(core, id, "", dir, sizeof(dir));
        volume_dir(core, id, "mnt", mnt, sizeof(mnt));
        return stat(dir, &a) == 0 && stat(mnt, &b) == 0 && a.st_dev != b.st_dev;
}

/* The image on a loop device with direct I/O (no second page cache under the volume's:
 * an fsync'd write then costs what it does on the host, not several times that),
 * mounted on mnt; the device is let go once mounted (losetup -d: it is freed at the
 * unmount). noinit_itable: the image is sparse, its unwritten inode tables read as
 * zeros already, so the kernel need not write them in the background. */
static const char mount_script[] =
    "set -e\n"
    "dev=$(losetup --find --show --direct-io=on \"$1\")\n"
    "mount -t ext4 -o nosuid,nodev,noatime,noinit_itable \"$dev\" \"$2\" ||\n"
    "  { losetup -d \"$dev\"; exit 1; }\n"
    "losetup -d \"$dev\"\n";

static int mount_image(const struct core *core, const char *id)
{
        char img[PATH_MAX], mnt[PATH_MAX];
        volume_dir(core, id, "disk.ext4", img, sizeof(img));
        volume_dir(core, id, "mnt", mnt, sizeof(mnt));
        const char *argv[] = {"sh", "-c", mount_script, "nullspace-volume-mount", img, mnt, NULL};
        return run_cmd(argv, NULL, 0) == 0 ? 0 : -EIO;
}

/* In a child: the sparse image, its filesystem, the mount. Exits 0 when all is done. */
static void make_volume(const struct core *core, const char *id, int64_t size_mb)
{
        char img[PATH_MAX], mnt[PATH_MAX], lf[PATH_MAX + 16];
        volume_dir(core, id, "disk.ext4", img, sizeof(img));
        volume_dir(core, id, "mnt", mnt, sizeof(mnt));
        int fd = open(img, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || ftruncate(fd, (off_t)size_mb << 20) < 0 || close(fd) < 0)
                _exit(1);
        const char *mkfs[] = {"mkfs.ext4",
                              "-q",
                              "-F",
                              "-m",
                              "0",
                              "-E",
                              "lazy_itable_init=1,lazy_journal_init=1,root_owner=0:0",
                              img,
                              NULL};
        if (mkdir(mnt, 0755) < 0 || run_cmd(mkfs, NULL, 0) != 0 || mount_image(core, id) < 0)
                _exit(1);
        snprintf(lf, sizeof(lf), "%s/lost+found", mnt);
        rmdir(lf); /* e2fsck makes it again when it needs it */
        _exit(0);
}

/* Every bind and the volume's own mount go, then its directory (a delete's child, or
 * start-up finishing one cut short). 0 or -1. */
static int unmake_volume(const struct core *core, const char *id)
{
        char binds[PATH_MAX], mnt[PATH_MAX], dir[PATH_MAX];
        volume_dir(core, id, "binds", binds, sizeof(binds));
        volume_dir(core, id, "mnt", mnt, sizeof(mnt));
        volume_dir(core, id, "", dir, sizeof(dir));
        volume_unbind_all(binds);
        if (umount2(mnt, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
                return -1;
        const char *rm[] = {"rm", "-rf", "--one-file-system", dir, NULL};
        return run_cmd(rm, NULL, 0) == 0 ? 0 : -1;
}

struct volume_job {
        struct child_watch w;
        struct core *core;
        char id[MACHINE_ID_MAX];
        int deleting;
        volume_done_cb cb;
        void *ud;
        struct core_cause cause; /* who asked (the job's events say so) */
};

/* The event of a volume's change: volume.<what>, an error when it failed. */
static void volume_event(struct volume_job *j, const char *what, const char *why)
{
        struct core_cause c = j->cause;
        if (why)
                snprintf(c.reason, sizeof(c.reason), "error");
        char type[EVENT_TYPE_MAX];
        snprintf(type, sizeof(type), "volume.%s", what);
        core_event(j->core, type, "volume", j->id, &c,
                   why ? json_pack("{s:s}", "error", why) : NULL);
}

static void on_job_exit(struct child_watch *w, int status)
{
        struct volume_job *j = (struct volume_job *)w;
        int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        struct err e = {0};
        const char *why = NULL;
        if (j->deleting) {
                if (ok && store_volume_delete(j->core->store, j->id, &e) < 0 && e.msg[0])
                        why = e.msg;
                else if (!ok) {
                        why = "its files could not be removed (see the daemon log)";
                        store_volume_set_state(j->core->store, j->id, "ready", NULL);
                }
        } else if (ok) {
                if (store_volume_set_state(j->core->store, j->id, "ready", &e) < 0)
                        why = e.msg;
        } else {
                why = "its filesystem could not be made (see the daemon log)";
                store_volume_delete(j->core->store, j->id, NULL);
        }
        log_info(j->deleting ? "volume_deleted" : "volume_created", "volume=%s ok=%d", j->id,
                 why == NULL);
        volume_event(
            j, j->deleting ? (why ? "delete_failed" : "deleted") : (why ? "failed" : "ready"), why);
        if (j->cb)
                j->cb(j->ud, j->id, why ? NS_E_IO_ERROR : NS_OK, why);
        free(j);
}

/* Forks a child running fn for j (taken); -errno with e set. */
static int start_job(struct volume_job *j, int64_t size_mb, struct err *e)
{
        pid_t pid = fork_child();
        if (pid < 0) {
                int r = err_set(e, errno, "fork");
                free(j);
                return r;
        }
        if (pid == 0) {
                if (j->deleting)
                        _exit(unmake_volume(j->core, j->id) == 0 ? 0 : 1);
                make_volume(j->core, j->id, size_mb);
        }
        j->w.pid = pid;
        j->w.on_exit = on_job_exit;
        children_watch(&j->core->children, &j->w);
        return 0;
}

int volume_ready(struct core *core, const char *ref, struct volume_rec *out, struct err *e)
{
        int rc = store_volume_get(core->store, ref, out, e);
        if (rc == -ENOENT)
                return err_coded(e, NS_E_VOLUME_NOT_FOUND, ENOENT, "no volume '%s'", ref);
        if (rc < 0)
                return rc;
        store_volume_rec_free(out);
        if (strcmp(out->state, "ready") != 0)
                return err_coded(e, NS_E_CONFLICT, EBUSY, "volume %s is %s", out->id, out->state);
        return 0;
}

static int check_name(const char *name, struct err *e)
{
        size_t n = strlen(name);
        if (n == 0 || n > VOLUME_NAME_MAX ||
            strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != n)
                return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                 "field 'name': 1 to %d characters of A-Z a-z 0-9 _ -",
                                 VOLUME_NAME_MAX);
        if (strncmp(name, "v_", 2) == 0)
                return err_coded(e, NS_E_INVALID_FIELD, EINVAL,
                                 "field 'name': 'v_' begins volume IDs, not names");
        return 0;
}

int volume_create(struct core *core, const char *name, int64_t size_mb, const json_t *metadata,
                  volume_done_cb cb, void *ud, char *id_out, size_t cap, struct err *e)
{
        if (check_name(name, e) < 0)
                return -EINVAL;
        if (size_mb < VOLUME_SIZE_MIN_MB || size_mb > VOLUME_SIZE_MAX_MB)
                return err_coded(e, NS_E_INVALID_FIELD, EINVAL, "field 'size_mb': %d to %lld",
                                 VOLUME_SIZE_MIN_MB, VOLUME_SIZE_MAX_MB);
        struct volume_job *j = calloc(1, sizeof(*j));
        _cleanup_free_ char *meta = metadata ? json_dumps(metadata, JSON_COMPACT) : NULL;
        struct volume_rec r = {.size_bytes = size_mb << 20, .created_at = time_wall_ms()};
        if (!j || rand_id("v_", 8, r.id, sizeof(r.id)) < 0) {
                free(j);
                return err_set(e, ENOMEM, "volume");
        }
        snprintf(r.name, sizeof(r.name), "%s", name);
        snprintf(r.state, sizeof(r.state), "creating");
        r.metadata = meta;
        int rc = store_volume_insert(core->store, &r, e);
        if (rc < 0) {
                free(j);
                if (rc == -EEXIST)
                        e->code = NS_E_VOLUME_EXISTS;
                return rc;
        }
        char dir[PATH_MAX];
        volume_dir(core, r.id, "", dir, sizeof(dir));
        if (mkdir(dir, 0700) < 0) {
                rc = err_set(e, errno, "mkdir %s", dir);
                store_volume_delete(core->store, r.id, NULL);
                free(j);
                return rc;
        }
        *j = (struct volume_job){.core = core, .cb = cb, .ud = ud, .cause = core_cause_now(core)};
        snprintf(j->id, sizeof(j->id), "%s", r.id);
        core_event(core, "volume.creating", "volume", r.id, &j->cause,
                   json_pack("{s:s,s:I}", "name", name, "size_mb", (json_int_t)size_mb));
        snprintf(id_out, cap, "%s", r.id);
        log_info("volume_create", "volume=%s name=%s size_mb=%lld", r.id, name, (long long)size_mb);
        return start_job(j, size_mb, e);
}

int volume_delete(struct core *core, const char *ref, volume_done_cb cb, void *ud, struct err *e)
{
        struct volume_rec r;
        int rc = volume_ready(core, ref, &r, e);
        if (rc < 0)
                return rc;
        char **users = NULL;
        size_t n = 0;
        if ((rc = store_volume_users(core->store, r.id, &users, &n, e)) < 0)
                return rc;
        if (n > 0) {
                err_coded(e, NS_E_VOLUME_IN_USE, EBUSY, "volume %s is mounted by %s%s", r.id,
                          users[0], n > 1 ? " and others" : "");
                strv_free(users);
                return -EBUSY;
        }
        strv_free(users);
        if (store_volume_set_state(core->store, r.id, "deleting", e) < 0)
                return -EIO;
        volume_agent_stop(core, r.id);
        struct volume_job *j = calloc(1, sizeof(*j));
        if (!j)
                return err_set(e, ENOMEM, "volume");
        *j = (struct volume_job){
            .core = core, .deleting = 1, .cb = cb, .ud = ud, .cause = core_cause_now(core)};
        snprintf(j->id, sizeof(j->id), "%s", r.id);
        volume_event(j, "deleting", NULL);
        return start_job(j, 0, e);
}

json_t *volume_rec_view(struct core *core, const struct volume_rec *r, int with_users)
{
        json_t *meta = json_loads(r->metadata ? r->metadata : "{}", 0, NULL);
        json_t *v = json_pack("{s:s,s:s,s:s,s:I,s:o,s:I}", "id", r->id, "name", r->name, "state",
                              r->state, "size_mb", (json_int_t)(r->size_bytes >> 20), "metadata",
                              meta ? meta : json_object(), "created_at", (json_int_t)r->created_at);
        char mnt[PATH_MAX];
        struct statvfs sv;
        volume_dir(core, r->id, "mnt", mnt, sizeof(mnt));
        if (v && volume_is_mounted(core, r->id) && statvfs(mnt, &sv) == 0) {
                json_object_set_new(
                    v, "used_bytes",
                    json_integer((json_int_t)((sv.f_blocks - sv.f_bfree) * sv.f_frsize)));
                json_object_set_new(v, "capacity_bytes",
                                    json_integer((json_int_t)(sv.f_blocks * sv.f_frsize)));
        }
        char **users = NULL;
        size_t n = 0;
        if (v && with_users && store_volume_users(core->store, r->id, &users, &n, NULL) == 0) {
                json_t *arr = json_array();
                for (size_t i = 0; i < n; i++)
                        json_array_append_new(arr, json_string(users[i]));
                json_object_set_new(v, "machines", arr);
                strv_free(users);
        }
        return v;
}

json_t *volume_view(struct core *core, const char *ref, int with_users, struct err *e)
{
        struct volume_rec r;
        int rc = store_volume_get(core->store, ref, &r, e);
        if (rc < 0) {
                if (rc == -ENOENT)
                        err_coded(e, NS_E_VOLUME_NOT_FOUND, ENOENT, "no volume '%s'", ref);
                return NULL;
        }
        json_t *v = volume_rec_view(core, &r, with_users);
        store_volume_rec_free(&r);
        if (!v)
                err_set(e, ENOMEM, "volume view");
        return v;
}

static void recover_one(struct core *core, const struct volume_rec *r)
{
        if (strcmp(r->state, "ready") != 0) { /* a create or delete cut short */
                unmake_volume(core, r->id);
                store_volume_delete(core->store, r->id, NULL);
                log_info("volume_dropped", "volume=%s state=%s", r->id, r->state);
                return;
        }
        if (!volume_is_mounted(core, r->id) && mount_image(core, r->id) < 0)
                log_error("volume_mount_failed", "volume=%s", r->id);
}

void volumes_recover(struct core *core)
{
        int64_t after = 0;
        for (;;) {
                struct volume_rec *rs = NULL;
                size_t n = 0;
                struct err e = {0};
                if (store_volume_list(core->store, after, 100, &rs, &n, &e) < 0) {
                        log_error("volume_recover_failed", "error=%s", e.msg);
                        return;
                }
                for (size_t i = 0; i < n; i++) {
                        recover_one(core, &rs[i]);
                        after = rs[i].seq;
                        store_volume_rec_free(&rs[i]);
                }
                free(rs);
                if (n < 100)
                        return;
        }
}
