/* What every driver that reads a machine's layers shares: the overlay stack of a
 * machine_spec (its layers, top first, over its rootfs). */
#ifndef NS_RUNTIME_OVERLAY_H
#define NS_RUNTIME_OVERLAY_H

#include <stddef.h>

#include "../common/err.h"
#include "driver.h"

/* The kernel takes one page of mount options: the lowerdir list must fit in this. */
#define OVERLAY_LOWER_MAX 3072

/* Writes overlayfs' "LAYER1:LAYER2:...:ROOTFS" (top first) of s into out. -E2BIG when
 * it does not fit cap (too many layers). Pure; any thread. */
int overlay_lower(const struct machine_spec *s, char *out, size_t cap, struct err *e);

#endif
