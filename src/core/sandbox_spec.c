/* The one place a machine's sandbox spec is put together, for a start and a restore
 * alike (machine_internal.h). */
#include <errno.h>
#include <string.h>

#include "../common/util.h"
#include "machine_internal.h"
#include "volumes.h"

int machine__sandbox_spec(struct machine *m, const char *rootfs, struct sandbox_spec *s,
                          struct err *e)
{
        struct core *core = m->core;
        memset(s, 0, sizeof(*s));
        s->env = machine__env_list(m);
        s->layers = layers_paths(core, m->conf.layers);
        s->planned = machine_net_plan(m, &s->plan);
        s->spec = (struct machine_spec){.id = m->id,
                                        .hostname = m->id,
                                        .rootfs = rootfs,
                                        .layers = (const char *const *)s->layers,
                                        .dir = m->dir,
                                        .vcpus = m->conf.vcpus,
                                        .memory_mb = m->conf.memory_mb,
                                        .env = s->env,
                                        .net = s->planned > 0 ? &s->plan : NULL};
        int r = !s->env || !s->layers || s->planned < 0
                    ? err_set(e, ENOMEM, "sandbox spec")
                    : volume_mounts_pin(core, m->conf.volumes, &s->mounts, &s->spec.nmounts, e);
        s->spec.mounts = s->mounts;
        if (r < 0)
                machine__sandbox_spec_fini(s);
        return r;
}

void machine__sandbox_spec_fini(struct sandbox_spec *s)
{
        if (s->planned > 0)
                net_plan_free(&s->plan);
        strv_free(s->env);
        strv_free(s->layers);
        volume_mounts_free(s->mounts, s->spec.nmounts);
        memset(s, 0, sizeof(*s));
}
