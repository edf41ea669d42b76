/* Volumes: durable filesystems that outlive machines and are shared between them.
 *
 * A volume is an ext4 filesystem in a sparse image file, STATE/volumes/ID/disk.ext4,
 * loop-mounted at STATE/volumes/ID/mnt (the kernel keeps the mount across daemon
 * restarts; volumes_recover mounts it again after a reboot). Its size is the image's:
 * writes past it fail with ENOSPC everywhere. Machines see it through the runtime's
 * bind mount (gVisor's gofer) of a directory the core pins first: the volume's root,
 * or a subpath bind-mounted under STATE/volumes/ID/binds/ after a walk that refuses
 * symlinks and "..", so nothing a machine plants in the volume can point the mount
 * elsewhere. Files are reached without a machine through an nsagent confined to the
 * volume (volume_files.c). Loop thread only. */
#ifndef NS_VOLUMES_H
#define NS_VOLUMES_H

#include <jansson.h>
#include <stdint.h>

#include "../common/err.h"
#include "../runtime/agentconn.h"
#include "../runtime/driver.h"
#include "../store/store.h"

struct core;

#define VOLUME_SIZE_MIN_MB 16
#define VOLUME_SIZE_MAX_MB (16ll << 20) /* 16 TiB */
#define VOLUME_MOUNTS_MAX  8
#define VOLUME_SUBPATH_MAX 120

/* A create or delete ended: code NS_OK, or the failure with a message. */
typedef void (*volume_done_cb)(void *ud, const char *id, enum ns_code code, const char *error);

/* Starts creating volume `name` ([A-Za-z0-9_-], 1..64) of size_mb with labels
 * `metadata` (borrowed object; NULL: none). The record exists (state "creating") when
 * this returns 0 and its id is in id_out; cb runs once its filesystem is mounted (or
 * that failed: the record is gone again). -errno with e set (code volume_exists,
 * invalid_field) when it cannot start; cb is then not called. */
int volume_create(struct core *core, const char *name, int64_t size_mb, const json_t *metadata,
                  volume_done_cb cb, void *ud, char *id_out, size_t cap, struct err *e);

/* Reads the volume whose id or name is `ref` into *out (its metadata not kept) when it
 * is ready: 0; -ENOENT (volume_not_found), -EBUSY (conflict: being created or deleted)
 * or -EIO with e set. */
int volume_ready(struct core *core, const char *ref, struct volume_rec *out, struct err *e);

/* Starts deleting the volume with id or name `ref`: refused (volume_in_use, e lists
 * the machines) while a machine that is neither destroyed nor failed mounts it. Its
 * file agent stops, its mounts go, its files are removed, then its record; cb runs at
 * the end. -errno with e set when it cannot start (volume_not_found, volume_in_use,
 * conflict while it is being created); cb is then not called. */
int volume_delete(struct core *core, const char *ref, volume_done_cb cb, void *ud, struct err *e);

/* The view of volume `ref` (id or name) the API shows: id, name, state, size_mb,
 * used_bytes, capacity_bytes, metadata, created_at and, when `with_users`, the machines
 * that mount it. NULL with e set (volume_not_found, internal). */
json_t *volume_view(struct core *core, const char *ref, int with_users, struct err *e);

/* volume_view of a record read already (NULL when out of memory). */
json_t *volume_rec_view(struct core *core, const struct volume_rec *r, int with_users);

/* Mounts every ready volume that is not (after a reboot) and removes those a crash left
 * half-created. Run once at start-up, before machines are recovered; blocks briefly
 * (mount(8) per volume). Failures are logged: a volume that cannot be mounted stays
 * listed, and machines that mount it fail to start with a clear message. */
void volumes_recover(struct core *core);

/* Checks the "volumes" of a create request (borrowed; NULL or empty: none) and
 * resolves names to ids: *out (new reference) is the array stored in the machine's
 * spec, [{"volume": ID, "name", "path", "subpath", "read_only"}]. Refused (e->code
 * invalid_field, volume_not_found): a path that is not absolute, is "/", holds "." or
 * "..", or overlaps another mount; a subpath with "..", "." or an empty part; more than
 * VOLUME_MOUNTS_MAX. 0 or -errno. */
int volume_mounts_check(struct core *core, const json_t *req, json_t **out, struct err *e);

/* Pins what the machine spec's `mounts` (the array volume_mounts_check made) refer to
 * and fills *out (malloc'd, *n entries; volume_mounts_free) for the runtime: a volume
 * that no longer exists fails with volume_not_found; a subpath is created when missing,
 * and a symlink in it fails with invalid_path. 0 or -errno with e set. */
int volume_mounts_pin(struct core *core, const json_t *mounts, struct machine_mount **out,
                      size_t *n, struct err *e);

/* 0 when every volume the stored `mounts` name still exists; else -ENOENT with e set
 * (volume_not_found). */
int volume_mounts_exist(struct core *core, const json_t *mounts, struct err *e);

/* Frees what volume_mounts_pin made. */
void volume_mounts_free(struct machine_mount *m, size_t n);

/* Opens a channel with request `req` (borrowed) on the file agent of volume `id` (a
 * ready volume's id), starting the agent when none runs: an nsagent that answers file
 * operations only, rooted at the volume (chroot in a mount namespace of its own, with
 * only the capabilities file ownership needs), so no path it is given leaves it. cb
 * and *conn as machine_open_channel. Returns the channel, or 0 with e set. */
uint32_t volume_open_channel(struct core *core, const char *id, const json_t *req,
                             agent_frame_cb cb, void *ud, struct agent_conn **conn, struct err *e);

/* Stops the file agent of volume `id` (none running: nothing). */
void volume_agent_stop(struct core *core, const char *id);

/* Stops every file agent (daemon shutdown). */
void volume_agents_stop_all(struct core *core);

#endif
