/* Pruning what template builds leave behind (prune.h): build cache entries, uploaded
 * contexts and imported images nothing uses, then the layers only they held. Loop thread
 * only. */
#include <errno.h>

#include "../common/log.h"
#include "../common/util.h"
#include "core.h"
#include "machine_internal.h"
#include "prune.h"

int templates_prune(struct core *core, int64_t older_than_ms, struct prune_report *out,
                    struct err *e)
{
        *out = (struct prune_report){0};
        if (core->builds)
                return err_say(e, EBUSY, "template builds are under way: prune when they end");
        int64_t before = time_wall_ms() - older_than_ms;
        char **images = NULL;
        size_t n;
        if (store_cache_prune(core->store, before, &out->cache_entries, e) < 0 ||
            store_images_in_use(core->store, &images, &n, e) < 0)
                return -EIO;
        out->contexts = layers_dir_sweep(core, "contexts", NULL, before, "context_pruned");
        out->images = layers_dir_sweep(core, "bases", images, before, "image_pruned");
        strv_free(images);
        out->layers = layers_collect(core);
        log_info("templates_pruned", "cache_entries=%lld contexts=%d images=%d layers=%d",
                 (long long)out->cache_entries, out->contexts, out->images, out->layers);
        return 0;
}
