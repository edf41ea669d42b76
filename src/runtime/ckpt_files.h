/* Checkpoint image directories (driver.h's hibernate contract), shared by the drivers. */
#ifndef NS_CKPT_FILES_H
#define NS_CKPT_FILES_H

/* Marks a finished image complete (DRIVER_IMAGE_DONE, synced) and also makes it the
 * machine's own checkpoint `own` (hard links; nothing to link when image is own).
 * 0 or -1 (errno). Blocking: helpers only. */
int ckpt_image_publish(const char *image, const char *own);

#include "../common/err.h"

/* What every driver's restore checks first: `image` is a complete checkpoint
 * (-ENOENT otherwise) and the machine's directory `dir` exists (made when missing).
 * 0 or -errno with a reason in e. Runs in the caller (a stat and a mkdir). */
int ckpt_restore_prepare(const char *image, const char *dir, struct err *e);

#endif
