/* The overlay stack of a machine (overlay.h). */
#include <errno.h>
#include <stdio.h>

#include "overlay.h"

int overlay_lower(const struct machine_spec *s, char *out, size_t cap, struct err *e)
{
        size_t len = 0;
        for (const char *const *l = s->layers; l && *l; l++) {
                int n = snprintf(out + len, cap - len, "%s:", *l);
                if (n < 0 || (size_t)n >= cap - len)
                        return err_set(e, E2BIG, "too many layers (fork or snapshot fewer times)");
                len += (size_t)n;
        }
        if ((size_t)snprintf(out + len, cap - len, "%s", s->rootfs) >= cap - len)
                return err_set(e, E2BIG, "too many layers (fork or snapshot fewer times)");
        return 0;
}
