/* Internal to the volume files of src/core. Loop thread (or a child of it). */
#ifndef NS_VOLUMES_INTERNAL_H
#define NS_VOLUMES_INTERNAL_H

#include <stddef.h>

struct core;

/* STATE/volumes/ID[/sub] into out: 0, or -ENAMETOOLONG (the state directory's path
 * is far shorter than PATH_MAX: never in practice). */
int volume_dir(const struct core *core, const char *id, const char *sub, char *out, size_t cap);

/* True when the volume's filesystem is mounted on its mnt. */
int volume_is_mounted(const struct core *core, const char *id);

/* Unmounts (detached) every bind in the directory `binds` (volume_mounts_pin's). */
void volume_unbind_all(const char *binds);

#endif
