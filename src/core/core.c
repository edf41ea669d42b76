/* Setting a core up: what the daemon and the core's unit tests share (core.h). */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "trust.h"
#include "vm_guest.h"

int core_init(struct core *core, struct err *e)
{
        static const char *const subdirs[] = {"machines", "layers", "snapshots", "images",
                                              "volumes"};
        for (unsigned i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
                char dir[PATH_MAX + 16];
                snprintf(dir, sizeof(dir), "%s/%s", core->state_dir, subdirs[i]);
                if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                        return err_set(e, errno, "mkdir %s", dir);
        }
        if (!core->cache_dir[0] && snprintf(core->cache_dir, sizeof(core->cache_dir), "%.*s/cache",
                                            PATH_MAX - 7, core->state_dir) >= PATH_MAX)
                return err_set(e, ENAMETOOLONG, "cache dir");
        int r =
            base_rootfs_init(&core->templates, &core->loop, &core->children, core->cache_dir, e);
        if (r == 0)
                r = vm_guest_init(&core->vm_guest, &core->loop, &core->children, core->lib_dir,
                                  core->cache_dir, e);
        if (r == 0)
                r = core_ssh_init(core, e);
        if (r == 0)
                r = trust_init(core, core->machine_ca, e);
        if (r < 0)
                return r;
        core->driver_ctx = (struct driver_ctx){.state_dir = core->state_dir,
                                               .agent_path = core->agent_path,
                                               .shim_path = core->shim_path,
                                               .net = &core->net,
                                               .cache_dir = core->cache_dir};
        return 0;
}
